import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PGlite, type PGliteOptions } from '@electric-sql/pglite';
import { drizzle as drizzlePglite } from 'drizzle-orm/pglite';
import { migrate as migratePglite } from 'drizzle-orm/pglite/migrator';
import { drizzle as drizzlePostgres } from 'drizzle-orm/postgres-js';
import { migrate as migratePostgres } from 'drizzle-orm/postgres-js/migrator';
import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core';
import postgres from 'postgres';
import type { Logger } from '../logger.js';
import { onDriverFault } from './driver-fault.js';
import { acquireLockFile } from './lockfile.js';
import { isNewDataDir, templateBlob, templateFits, unpackTemplate } from './pglite-template.js';
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
 * What the bot's connections call themselves in pg_stat_activity, so that an operator (or a test)
 * can find them. An `application_name` in DATABASE_URL's query wins.
 */
export const APPLICATION_NAME = 'satbell';

/**
 * Open the database named by DATABASE_URL and bring its schema up to date.
 * `postgres://…` is a server, `file:PATH` embedded PGlite on disk, `memory:` PGlite in memory.
 */
export async function openDatabase(url: string, { logger }: { logger?: Logger } = {}): Promise<DatabaseHandle> {
  if (url.startsWith('postgres://') || url.startsWith('postgresql://')) return openPostgres(url, logger);
  if (url === 'memory:') return openPglite(undefined, logger);
  if (url.startsWith('file:')) return openPglite(resolve(url.slice('file:'.length)), logger);
  throw new Error(`DATABASE_URL must start with postgres://, file: or be memory: (got ${redactUrl(url)})`);
}

function postgresOptions(logger: Logger | undefined): postgres.Options<Record<string, postgres.PostgresType>> {
  return {
    onnotice: () => {},
    connection: { application_name: APPLICATION_NAME },
    // postgres.js otherwise asks each new connection for the server's array types, from a promise
    // nobody awaits: a connection killed during that query rejected it unhandled, which ends the
    // process. The schema has no array columns, so nothing needs those types.
    fetch_types: false,
    // A server that accepts the connection but never finishes the handshake (frozen, overloaded)
    // fails the query after this long rather than after postgres.js's 30 s.
    connect_timeout: 10,
    // Idle connections are the ones a pooler, firewall or failover drops without a word.
    idle_timeout: 60,
    // postgres.js's own default, made explicit: 30 to 60 minutes, drawn per process so that several
    // processes do not all reconnect at once.
    max_lifetime: 60 * (30 + Math.random() * 30),
    onclose: (connection) => logger?.debug({ connection }, 'database connection closed'),
  };
}

/**
 * A postgres.js pool that can be replaced under drizzle's feet. A connection whose socket closed
 * while a write was pending stays unusable for good (porsager/postgres #1208: every later query on
 * it times out), and nothing outside postgres.js can repair it; a new pool can. Queries already
 * running on the old pool finish there (within 5 s) and new ones go to the new pool.
 */
function createReplaceablePool(url: string, logger: Logger | undefined) {
  const options = postgresOptions(logger);
  let current = postgres(url, options);
  const retiring = new Set<Promise<void>>();
  // drizzle calls `unsafe` and `begin` on its client, and sets type parsers on `options` once: a
  // proxy hands it the current pool each time.
  const client = new Proxy(current, { get: (_, key) => Reflect.get(current, key) });
  return {
    client,
    get current() {
      return current;
    },
    replace(reason: string) {
      const old = current;
      current = postgres(url, options);
      // The parsers and serializers drizzle installed on the first pool.
      Object.assign(current.options.parsers, old.options.parsers);
      Object.assign(current.options.serializers, old.options.serializers);
      logger?.warn({ reason }, 'database connections replaced');
      const ended: Promise<void> = old
        .end({ timeout: 5 })
        .catch((err: unknown) => logger?.warn({ err }, 'could not close the replaced database connections'))
        .finally(() => retiring.delete(ended));
      retiring.add(ended);
    },
    async end() {
      await Promise.all([current.end({ timeout: 5 }), ...retiring]);
    },
  };
}

async function openPostgres(url: string, logger: Logger | undefined): Promise<DatabaseHandle> {
  const pool = createReplaceablePool(url, logger);
  const sql = pool.current;
  try {
    // drizzle's migrator takes no lock. Hold a session advisory lock on one reserved connection so
    // that two processes starting together apply the migrations one after the other. (The query
    // before opens that connection: with fetch_types off, postgres.js never hands a connection it
    // opened for reserve() over to it.)
    await sql`select 1`;
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
    await pool.end();
    throw err;
  }
  const stopHealing = onDriverFault(() => pool.replace('a connection was left unusable by a driver fault'));
  let closing: Promise<void> | undefined;
  return {
    db: drizzlePostgres(pool.client, { schema }) as unknown as Database,
    kind: 'postgres',
    close: () => {
      stopHealing();
      return (closing ??= pool.end());
    },
  };
}

/**
 * PGlite's own start parameters, with Postgres's 128 MB of shared buffers cut to 16 MB: they live in
 * PGlite's WebAssembly heap (the default grew it from 128 to 188 MB). The bot's tables take about
 * 2 MB per 1,000 addresses (18 MB at 10,000), and a page outside the buffers is read from the OS's
 * file cache (or PGlite's in-memory files), which costs a copy, not a disk read.
 */
const PGLITE_START_PARAMS = [...PGlite.defaultStartParams, '-c', 'shared_buffers=16MB'];

/**
 * Set by the test suite only (test/support/setup-file.ts): a dump of an already migrated database
 * that `memory:` databases load instead of the template, so that each test file need not migrate
 * from scratch. Migrations still run on open, and find nothing to do. Unset, as in the bot.
 */
let memoryDataDir: Blob | undefined;

/** For tests: what a new `memory:` database loads (a PGlite `dumpDataDir`), or `undefined` for the template. */
export function setMemoryDataDir(dump: Blob | undefined): void {
  memoryDataDir = dump;
}

async function openPglite(dataDir: string | undefined, logger: Logger | undefined): Promise<DatabaseHandle> {
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
    const options: PGliteOptions = { startParams: PGLITE_START_PARAMS };
    const isNew = !dataDir || isNewDataDir(dataDir);
    if (!dataDir && memoryDataDir) {
      options.loadDataDir = memoryDataDir;
    } else if (isNew && templateFits()) {
      if (dataDir) unpackTemplate(dataDir);
      else options.loadDataDir = templateBlob();
    } else if (isNew) {
      logger?.warn('the PGlite template does not fit the installed PGlite (npm run db:template): making the database with initdb, which needs several times the memory');
    }
    client = dataDir ? new PGlite(dataDir, options) : new PGlite(options);
    await client.waitReady;
    const db = drizzlePglite(client, { schema });
    await migratePglite(db, { migrationsFolder });
    const opened = client;
    const stopAnalyzing = await keepStatistics(opened, logger);
    let closed = false;
    return {
      db: db as unknown as Database,
      kind: 'pglite',
      async close() {
        if (closed) return;
        closed = true;
        stopAnalyzing();
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

/** How often a long-running embedded database refreshes its planner statistics. */
export const PGLITE_ANALYZE_EVERY_MS = 6 * 60 * 60_000;

/**
 * PGlite runs no autovacuum, so without this its planner never learns how big the tables grew
 * and plans a 10,000-address work list as if the tables were empty. ANALYZE samples each table
 * (about 0.1 s for 20,000 rows here): once at open, before anything else runs, then every few
 * hours while the bot runs. Returns a function that stops the timer.
 */
async function keepStatistics(client: PGlite, logger: Logger | undefined): Promise<() => void> {
  await client.exec('analyze');
  const timer = setInterval(() => {
    client.exec('analyze').catch((err: unknown) => logger?.warn({ err }, 'could not refresh the database statistics; will try again later'));
  }, PGLITE_ANALYZE_EVERY_MS);
  timer.unref();
  return () => clearInterval(timer);
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
