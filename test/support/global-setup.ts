/**
 * Once per vitest run (vitest.config.ts and vitest.faults.config.ts): migrate one database of each
 * kind, so that every test file clones it instead of migrating from scratch; and transpile src/ as
 * `npm start` does, so that bot processes run as npm start runs them (test/support/process.ts).
 *
 * - PGlite: a data directory made the way the bot makes one (the template, then the migrations),
 *   dumped as PGlite's tar. test/support/setup-file.ts hands it to src/db/client.ts, and `memory:`
 *   databases load it.
 * - Postgres (TEST_DATABASE_URL): a migrated database on that server, named for this run and
 *   dropped at its end; test/support/database.ts creates each test database from it
 *   (`CREATE DATABASE … TEMPLATE …`).
 *
 * Migrations still run whenever a database is opened: on a clone they find nothing to do.
 *
 * - The build: scripts/build.mjs into the run's own directory rather than dist/, which
 *   test/e2e/start.test.ts's `npm start` deletes and rebuilds while other files' bots run.
 */
import { execFile } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
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
    /** src/ transpiled by scripts/build.mjs for this run: what dist/ is to `npm start` */
    builtSrc: string;
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
  // All are waited for, even when one fails, so that teardown knows what there is to drop.
  const made = Promise.allSettled([pgliteSnapshot(dir), server ? postgresTemplate(server).then((t) => (template = t)) : undefined, build(dir)]);
  try {
    const [snapshot, templated, built] = await withinLimit(made);
    if (templated.status === 'rejected') throw templated.reason;
    if (snapshot.status === 'rejected') throw snapshot.reason;
    if (built.status === 'rejected') throw built.reason;
    project.provide('pgliteSnapshot', snapshot.value);
    project.provide('postgresTemplate', template?.name);
    project.provide('builtSrc', built.value);
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

const root = resolve(import.meta.dirname, '../..');

/**
 * `npm run build` into `<dir>/build/dist`. The built files find the project's migrations, packages
 * and package.json (`"type": "module"`) one and two levels up, as dist/ does: links to the
 * project's stand there. Returns the dist directory.
 */
async function build(dir: string): Promise<string> {
  const home = join(dir, 'build');
  // Readable by all: some bot processes run as nobody (test/e2e/first-start.test.ts).
  chmodSync(dir, 0o755);
  mkdirSync(home);
  for (const name of ['drizzle', 'node_modules', 'package.json']) symlinkSync(join(root, name), join(home, name));
  const out = join(home, 'dist');
  await promisify(execFile)(process.execPath, [join(root, 'scripts/build.mjs'), '--quiet', '--out', out]);
  return out;
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
