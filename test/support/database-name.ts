import { randomBytes } from 'node:crypto';

/**
 * A Postgres database name no other run or file uses. (A module of its own: the global setup
 * needs it, and must not import vitest's test-side API, as test/support/database.ts does.)
 */
export function uniqueDatabaseName(prefix: string): string {
  return `${prefix}_${Date.now().toString(36)}_${randomBytes(4).toString('hex')}`;
}
