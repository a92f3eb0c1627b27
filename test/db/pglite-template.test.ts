import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { sql } from 'drizzle-orm';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type Database, openDatabase, setMemoryDataDir } from '../../src/db/client.js';
import { installedPgliteVersion, templateFits } from '../../src/db/pglite-template.js';

const dirs: string[] = [];
// This file tests the bot's own way of making a database: not the suite's migrated copy.
beforeAll(() => setMemoryDataDir(undefined));
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** What makes one Postgres cluster differ from another that initdb could have made. */
const CLUSTER = `
  select (select catalog_version_no from pg_control_system()) as catalog,
         (select json_agg(json_build_array(datname, pg_encoding_to_char(encoding), datcollate, datctype, datlocprovider, datallowconn)
                          order by datname) from pg_database) as databases,
         (select json_agg(json_build_array(rolname, rolsuper) order by rolname) from pg_roles) as roles,
         current_setting('server_encoding') as encoding, current_setting('lc_messages') as messages,
         current_setting('TimeZone') as timezone`;

/** The first row of a query on PGlite (whose results, unlike postgres.js's, are `{ rows }`). */
async function firstRow(db: Database, query: ReturnType<typeof sql.raw>): Promise<unknown> {
  return ((await db.execute(query)) as unknown as { rows: unknown[] }).rows[0];
}

describe('the PGlite template', () => {
  it('was made by the installed PGlite, so a new embedded database is unpacked rather than made by initdb', () => {
    expect(templateFits(), `after an upgrade to PGlite ${installedPgliteVersion()}: run npm run db:template and commit drizzle/pglite-template.*`).toBe(true);
  });

  it('gives the same cluster as PGlite’s own initdb, in memory and on disk, with 16 MB of shared buffers', async () => {
    const initdb = new PGlite();
    const expected = (await initdb.query(CLUSTER)).rows[0];
    await initdb.close();

    const memory = await openDatabase('memory:');
    const dir = mkdtempSync(join(tmpdir(), 'satbell-template-'));
    dirs.push(dir);
    mkdirSync(join(dir, 'empty')); // an empty directory is new too, as it is for initdb
    mkdirSync(join(dir, 'empty.new-99999/base'), { recursive: true }); // a killed process's half-unpacked template
    writeFileSync(join(dir, 'empty.new-99999/PG_VERSION'), '18\n');
    const disk = await openDatabase(`file:${join(dir, 'empty')}`);
    try {
      expect(await firstRow(memory.db, sql.raw(CLUSTER))).toEqual(expected);
      expect(await firstRow(disk.db, sql.raw(CLUSTER))).toEqual(expected);
      expect(await firstRow(disk.db, sql.raw(`select current_setting('shared_buffers') as size`))).toEqual({ size: '16MB' });
    } finally {
      await memory.close();
      await disk.close();
    }
    // Unpacked beside the directory and renamed into place: nothing is left next to it, not even
    // what an earlier, killed process had half unpacked.
    expect(readdirSync(dir).sort()).toEqual(['empty']);
  });
});
