import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PGlite } from '@electric-sql/pglite';
import { drizzle as drizzlePglite } from 'drizzle-orm/pglite';
import { migrate as migratePglite } from 'drizzle-orm/pglite/migrator';
import { drizzle as drizzlePostgres } from 'drizzle-orm/postgres-js';
import { migrate as migratePostgres } from 'drizzle-orm/postgres-js/migrator';
import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core';
import postgres from 'postgres';
import { acquireLockFile } from './lockfile.js';
import * as schema from './schema.js';

/** Either backend: PGlite and postgres.js both give a drizzle Postgres database over the same schema. */
export type Database = PgDatabase<PgQueryResultHKT, typeof schema>;

export interface DatabaseHandle {
  db: Database;
  kind: 'postgres' | 'pglite';
  close(): Promise<void>;
}

const migrationsFolder = resolve(dirname(fileURLToPath(import.meta.url)), '../../drizzle');

/** An arbitrary constant: the key of the advisory lock that serialises migrations across processes. */
const MIGRATION_LOCK_KEY = 0x5a7be11;

/**
 * Open the database named by DATABASE_URL and bring its schema up to date.
 * `postgres://…` is a server, `file:PATH` embedded PGlite on disk, `memory:` PGlite in memory.
 */
export async function openDatabase(url: string): Promise<DatabaseHandle> {
  if (url.startsWith('postgres://') || url.startsWith('postgresql://')) return openPostgres(url);
  if (url === 'memory:') return openPglite(undefined);
  if (url.startsWith('file:')) return openPglite(resolve(url.slice('file:'.length)));
  throw new Error(`DATABASE_URL must start with postgres://, file: or be memory: (got ${redactUrl(url)})`);
}

async function openPostgres(url: string): Promise<DatabaseHandle> {
  const sql = postgres(url, { onnotice: () => {} });
  try {
    // drizzle's migrator takes no lock. Hold a session advisory lock on one reserved connection so
    // that two processes starting together apply the migrations one after the other.
    const reserved = await sql.reserve();
    try {
      await reserved`select pg_advisory_lock(${MIGRATION_LOCK_KEY})`;
      try {
        await migratePostgres(drizzlePostgres(sql), { migrationsFolder });
      } finally {
        await reserved`select pg_advisory_unlock(${MIGRATION_LOCK_KEY})`;
      }
    } finally {
      reserved.release();
    }
  } catch (err) {
    await sql.end({ timeout: 5 });
    throw err;
  }
  return {
    db: drizzlePostgres(sql, { schema }) as unknown as Database,
    kind: 'postgres',
    close: () => sql.end({ timeout: 5 }),
  };
}

async function openPglite(dataDir: string | undefined): Promise<DatabaseHandle> {
  let releaseLock = () => {};
  if (dataDir) {
    mkdirSync(dirname(dataDir), { recursive: true });
    // PGlite has no locking of its own and two processes on one directory corrupt it.
    releaseLock = acquireLockFile(`${dataDir}.lock`, `The database ${dataDir}`);
    // Holding our lock proves no other process has the directory open, so a postmaster.pid left by a
    // killed process is stale and would stop PGlite from starting.
    const pidFile = resolve(dataDir, 'postmaster.pid');
    if (existsSync(pidFile)) rmSync(pidFile);
  }
  let client: PGlite | undefined;
  try {
    client = dataDir ? new PGlite(dataDir) : new PGlite();
    await client.waitReady;
    const db = drizzlePglite(client, { schema });
    await migratePglite(db, { migrationsFolder });
    const opened = client;
    let closed = false;
    return {
      db: db as unknown as Database,
      kind: 'pglite',
      async close() {
        if (closed) return;
        closed = true;
        try {
          await opened.close();
        } finally {
          releaseLock();
        }
      },
    };
  } catch (err) {
    await client?.close().catch(() => {});
    releaseLock();
    throw err;
  }
}

/** For logs: never print a password. */
export function redactUrl(url: string): string {
  if (!/^postgres(ql)?:/.test(url)) return url; // file: and memory: carry no secrets
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    const query = parsed.search ? '?…' : ''; // ?password=… and friends
    parsed.search = '';
    return parsed.toString() + query;
  } catch {
    return 'postgres://…';
  }
}
