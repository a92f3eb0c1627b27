import { join } from 'node:path';
import postgres from 'postgres';
import { inject } from 'vitest';
import { type DatabaseHandle, openDatabase } from '../../src/db/client.js';
import { uniqueDatabaseName } from './database-name.js';

export type Backend = 'pglite' | 'postgres';

/** PGlite always; Postgres too when TEST_DATABASE_URL names a server. */
export const testBackends = (): Backend[] => (process.env.TEST_DATABASE_URL ? ['pglite', 'postgres'] : ['pglite']);

/**
 * A database of its own for one test file: a fresh Postgres database on TEST_DATABASE_URL's server
 * (dropped afterwards), or PGlite in memory, each a copy of the run's migrated database (see
 * test/support/global-setup.ts). Runs never collide.
 */
export async function createTestDatabase(backend: Backend = 'pglite'): Promise<DatabaseHandle & { url: string }> {
  const url = backend === 'postgres' ? await createTestDatabaseUrl() : { url: 'memory:', drop: async () => {} };
  const handle = await openDatabase(url.url);
  return {
    ...handle,
    url: url.url,
    async close() {
      await handle.close();
      await url.drop();
    },
  };
}

/**
 * A URL for a brand-new database, for tests that open it themselves (or in another process). On
 * Postgres it is a copy of the run's migrated template, or with `empty` a database nothing has
 * touched, as an operator creates one for the bot (for bot processes, and for tests of migrating).
 */
export async function createTestDatabaseUrl({ empty = false } = {}): Promise<{ url: string; drop(): Promise<void> }> {
  const server = process.env.TEST_DATABASE_URL;
  if (!server) return { url: 'memory:', drop: async () => {} };
  const name = uniqueDatabaseName('satbell_test');
  const template = empty ? undefined : inject('postgresTemplate');
  const admin = postgres(server, { max: 1, onnotice: () => {} });
  try {
    await admin.unsafe(`create database "${name}"${template ? ` template "${template}"` : ''}`);
  } finally {
    await admin.end();
  }
  const url = new URL(server);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      const admin = postgres(server, { max: 1, onnotice: () => {} });
      try {
        await admin.unsafe(`drop database if exists "${name}" with (force)`);
      } finally {
        await admin.end();
      }
    },
  };
}

/**
 * A DATABASE_URL for a bot process of its own: PGlite on disk under `cwd` (what `npm start` uses by
 * default), or a brand-new empty Postgres database: what the bot finds on its first start, as a
 * user's would. `drop` removes the Postgres one.
 */
export async function botProcessDatabaseUrl(backend: Backend, cwd: string): Promise<{ url: string; drop(): Promise<void> }> {
  if (backend === 'postgres') return createTestDatabaseUrl({ empty: true });
  return { url: `file:${join(cwd, 'data/satbell')}`, drop: async () => {} };
}
