import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'drizzle-orm';
import { afterEach, describe, expect, it } from 'vitest';
import { openDatabase, redactUrl } from '../../src/db/client.js';
import { addresses } from '../../src/db/schema.js';
import { createTestDatabaseUrl } from '../support/database.js';

const children: ChildProcess[] = [];
const dirs: string[] = [];

afterEach(() => {
  for (const child of children.splice(0)) child.kill('SIGKILL');
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'satbell-db-'));
  dirs.push(dir);
  return dir;
}

/** Start a process that opens the database and holds it; resolves once it has written a row. */
function holdDatabase(url: string): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'test/support/hold-database.ts', url], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  return new Promise((resolve, reject) => {
    let err = '';
    child.stderr!.on('data', (d) => (err += d));
    child.stdout!.on('data', (d) => String(d).includes('ready') && resolve(child));
    child.on('exit', (code) => reject(new Error(`holder exited with ${code}: ${err}`)));
  });
}

const killed = (child: ChildProcess) => new Promise((resolve) => child.once('exit', resolve));

describe('embedded database (PGlite on disk)', () => {
  it('refuses a second process on the same data directory with a clear message', async () => {
    const url = `file:${join(tempDir(), 'db')}`;
    const holder = await holdDatabase(url);
    await expect(openDatabase(url)).rejects.toThrow(
      new RegExp(`in use by another satbell process \\(pid ${holder.pid}\\)`),
    );
  });

  it('refuses to open the same directory twice in one process', async () => {
    const url = `file:${join(tempDir(), 'db')}`;
    const first = await openDatabase(url);
    try {
      await expect(openDatabase(url)).rejects.toThrow(/in use by this satbell process/);
    } finally {
      await first.close();
    }
  });

  it('opens normally after its process was killed with SIGKILL, keeping what it wrote', async () => {
    const dir = join(tempDir(), 'db');
    const url = `file:${dir}`;
    for (let trial = 0; trial < 3; trial++) {
      const holder = await holdDatabase(url);
      holder.kill('SIGKILL');
      await killed(holder);
      expect(existsSync(`${dir}.lock`)).toBe(true); // left behind by the killed process
    }
    const handle = await openDatabase(url);
    try {
      const rows = await handle.db.select().from(addresses);
      expect(rows).toHaveLength(3);
    } finally {
      await handle.close();
    }
    expect(existsSync(`${dir}.lock`)).toBe(false);
    // Three processes started and killed in turn: seconds alone, far more beside a full parallel run.
  }, 90_000);

  it('gives the planner statistics at open: PGlite runs no autovacuum to gather them', async () => {
    const dir = join(tempDir(), 'data');
    const first = await openDatabase(`file:${dir}`);
    await first.db.insert(addresses).values(
      Array.from({ length: 300 }, (_, i) => ({ address: `stats-${i}`, balance: 0n, txCount: 0, balanceUpdatedAt: new Date() })),
    );
    await first.close();
    const again = await openDatabase(`file:${dir}`);
    try {
      const { rows } = (await again.db.execute(sql`select reltuples from pg_class where relname = 'addresses'`)) as unknown as { rows: { reltuples: number }[] };
      expect(Number(rows[0]!.reltuples)).toBe(300);
    } finally {
      await again.close();
    }
  });

  it('opens a directory holding a stale postmaster.pid', async () => {
    const dir = join(tempDir(), 'db');
    await (await openDatabase(`file:${dir}`)).close();
    writeFileSync(join(dir, 'postmaster.pid'), '-42\n/pglite/data\n1795563589\n5432\n');
    const handle = await openDatabase(`file:${dir}`);
    await handle.close();
  });

  it('releases the directory on SIGTERM so the next process opens it', async () => {
    const url = `file:${join(tempDir(), 'db')}`;
    const holder = await holdDatabase(url);
    holder.kill('SIGTERM');
    await killed(holder);
    const handle = await openDatabase(url);
    await handle.close();
  });
});

describe.runIf(process.env.TEST_DATABASE_URL)('Postgres server', () => {
  it('lets two processes starting together migrate one after the other', async () => {
    const { url, drop } = await createTestDatabaseUrl({ empty: true });
    try {
      const opened = await Promise.all([holdDatabase(url), holdDatabase(url), openDatabase(url)]);
      const handle = opened[2];
      const rows = await handle.db.select().from(addresses);
      expect(rows).toHaveLength(2);
      await handle.close();
    } finally {
      for (const child of children.splice(0)) {
        child.kill('SIGKILL');
        await killed(child);
      }
      await drop();
    }
  });
});

describe('redactUrl', () => {
  it('hides the password of a database URL', () => {
    expect(redactUrl('postgres://bot:s3cret@db:5432/satbell')).toBe('postgres://bot:***@db:5432/satbell');
  });

  it('hides passwords with awkward characters, and passwords in the query', () => {
    expect(redactUrl('postgres://bot:a%2Fb%40c@db/satbell')).toBe('postgres://bot:***@db/satbell');
    expect(redactUrl('postgresql://db/satbell?user=bot&password=s3cret')).toBe('postgresql://db/satbell?…');
    expect(redactUrl('postgres://bot:pa/ss@db/x')).not.toContain('ss@');
    expect(redactUrl('file:./data/satbell')).toBe('file:./data/satbell');
  });
});
