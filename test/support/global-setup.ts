/**
 * Once per vitest run (vitest.config.ts and vitest.faults.config.ts): migrate one database of each
 * kind, so that every test file clones it instead of migrating from scratch.
 *
 * - PGlite: a data directory made the way the bot makes one (the template, then the migrations),
 *   dumped as PGlite's tar. test/support/setup-file.ts hands it to src/db/client.ts, and `memory:`
 *   databases load it.
 * - Postgres (TEST_DATABASE_URL): a migrated database on that server, named for this run and
 *   dropped at its end; test/support/database.ts creates each test database from it
 *   (`CREATE DATABASE … TEMPLATE …`).
 *
 * Migrations still run whenever a database is opened: on a clone they find nothing to do.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import postgres from 'postgres';
import type { TestProject } from 'vitest/node';
import { openDatabase } from '../../src/db/client.js';
import { uniqueDatabaseName } from './database-name.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** the file holding a migrated PGlite database's dump */
    pgliteSnapshot: string;
    /** the migrated database on TEST_DATABASE_URL's server that test databases are created from */
    postgresTemplate: string | undefined;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const dir = mkdtempSync(join(tmpdir(), 'satbell-test-run-'));
  const server = process.env.TEST_DATABASE_URL;
  let template: { name: string; drop(): Promise<void> } | undefined;
  const teardown = async () => {
    await template?.drop();
    rmSync(dir, { recursive: true, force: true });
  };
  // Both are waited for, even when one fails, so that teardown knows what there is to drop.
  const made = Promise.allSettled([pgliteSnapshot(dir), server ? postgresTemplate(server).then((t) => (template = t)) : undefined]);
  try {
    const [snapshot, templated] = await withinLimit(made);
    if (templated.status === 'rejected') throw templated.reason;
    if (snapshot.status === 'rejected') throw snapshot.reason;
    project.provide('pgliteSnapshot', snapshot.value);
    project.provide('postgresTemplate', template?.name);
    return teardown;
  } catch (err) {
    await teardown();
    throw err;
  }
}

/**
 * A promise that never settles here does not fail the run: vitest's process runs out of work and
 * exits 0 with no test run. A timer keeps it alive and turns that into an error.
 */
async function withinLimit<T>(work: Promise<T>, ms = 120_000): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const limit = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`the test databases were not made within ${ms / 1000} s`)), ms);
  });
  try {
    return await Promise.race([work, limit]);
  } finally {
    clearTimeout(timer);
  }
}

async function pgliteSnapshot(dir: string): Promise<string> {
  const dataDir = join(dir, 'pglite');
  await (await openDatabase(`file:${dataDir}`)).close();
  const client = new PGlite(dataDir);
  try {
    await client.waitReady; // dumpDataDir before it never settles
    // Uncompressed: each test file loads it, and gunzip would cost more than the migrations saved.
    const dump = await client.dumpDataDir('none');
    const file = join(dir, 'pglite-migrated.tar');
    writeFileSync(file, Buffer.from(await dump.arrayBuffer()));
    return file;
  } finally {
    await client.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

async function postgresTemplate(server: string): Promise<{ name: string; drop(): Promise<void> }> {
  const name = uniqueDatabaseName('satbell_template');
  const admin = postgres(server, { max: 1, onnotice: () => {} });
  const drop = async () => {
    await admin.unsafe(`drop database if exists "${name}" with (force)`);
    await admin.end();
  };
  try {
    await admin.unsafe(`create database "${name}"`);
    const url = new URL(server);
    url.pathname = `/${name}`;
    // Closed before any clone: Postgres copies a template only while nobody is connected to it.
    await (await openDatabase(url.toString())).close();
    return { name, drop };
  } catch (err) {
    await drop().catch(() => {});
    throw err;
  }
}
