import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { LockedError } from '../../src/db/lockfile.js';
import { describeStartFailure, explainDatabaseFailure, explainDiscordFailure, StartupError } from '../../src/startup.js';

/** An error as Node, postgres.js or PGlite throws it: a message and fields. */
function failure(message: string, fields: Record<string, unknown>): Error {
  return Object.assign(new Error(message), fields);
}

const URL = 'postgres://satbell:hunter22@db.internal:5432/satbell';

describe('a failed start, explained', () => {
  it('names a refused password, user or database with the URL redacted, and says what to check', () => {
    const cases: [Error, RegExp][] = [
      [failure('password authentication failed for user "satbell"', { code: '28P01' }), /password authentication failed for user "satbell"; check the user and password in DATABASE_URL$/],
      [failure('role "satbell" does not exist', { code: '28000' }), /role "satbell" does not exist; check the user in DATABASE_URL/],
      [failure('database "satbell" does not exist', { code: '3D000' }), /database "satbell" does not exist; create it/],
      [failure('sorry, too many clients already', { code: '53300' }), /too many clients already; the server has no connection to spare/],
    ];
    for (const [err, reason] of cases) {
      const explained = explainDatabaseFailure(err, URL);
      expect(explained).toBeInstanceOf(StartupError);
      expect((explained as Error).message).toMatch(/^Could not connect to the database at postgres:\/\/satbell:\*\*\*@db\.internal:5432\/satbell: /);
      expect((explained as Error).message).toMatch(reason);
      expect((explained as Error).message).not.toContain('hunter22');
      expect((explained as Error).cause).toBe(err);
    }
  });

  it('names a server out of reach by what the network said, even through causes and aggregated attempts', () => {
    const refused = failure('connect ECONNREFUSED 10.0.0.5:5432', { code: 'ECONNREFUSED' });
    expect(describeStartFailure(explainDatabaseFailure(refused, URL))).toMatch(/: connection refused \(ECONNREFUSED\); check that the server is running/);
    const timeout = failure('write CONNECT_TIMEOUT db.internal:5432', { code: 'CONNECT_TIMEOUT' });
    expect(describeStartFailure(explainDatabaseFailure(timeout, URL))).toMatch(/: no answer in time \(CONNECT_TIMEOUT\)/);
    const both = new AggregateError([failure('connect ECONNREFUSED ::1:5432', { code: 'ECONNREFUSED' })], 'connect failed');
    expect(describeStartFailure(explainDatabaseFailure(both, URL))).toMatch(/connection refused \(ECONNREFUSED\)/);
  });

  it('says a data directory cannot be written, from Node’s error or PGlite’s bare errno', () => {
    const denied = failure("EACCES: permission denied, open '/srv/data/satbell.lock'", { code: 'EACCES', syscall: 'open', path: '/srv/data/satbell.lock' });
    expect(describeStartFailure(explainDatabaseFailure(denied, 'file:/srv/data/satbell'))).toBe(
      'Cannot write the data directory /srv/data/satbell: permission denied (open /srv/data/satbell.lock); make it writable for this user, ' +
        'or set DATABASE_URL=file:… to a writable place (or memory: to keep nothing)',
    );
    const readOnly = failure('EROFS: read-only file system', { code: 'EROFS' });
    expect(describeStartFailure(explainDatabaseFailure(readOnly, 'file:./data/satbell'))).toMatch(
      new RegExp(`^Cannot write the data directory \\./data/satbell \\(${resolve('data/satbell')}\\): the file system is read-only;`),
    );
    // PGlite's file system throws { name: 'ErrnoError', errno } with emscripten's numbers: 2 is EACCES.
    expect(describeStartFailure(explainDatabaseFailure({ name: 'ErrnoError', errno: 2 }, 'file:/srv/data/satbell'))).toMatch(/: permission denied;/);
  });

  it('says Discord refused the token, from discord.js’s TokenInvalid or a 401', () => {
    for (const err of [failure('An invalid token was provided.', { code: 'TokenInvalid' }), failure('401: Unauthorized', { status: 401 })]) {
      expect(describeStartFailure(explainDiscordFailure(err, undefined))).toMatch(/^Discord refused DISCORD_TOKEN \(401 Unauthorized\): .*Reset Token/);
    }
  });

  it('says Discord could not be reached, at its own URL unless DISCORD_API_URL is set', () => {
    const missing = failure('getaddrinfo ENOTFOUND discord.com', { code: 'ENOTFOUND' });
    expect(describeStartFailure(explainDiscordFailure(missing, undefined))).toBe(
      'Could not reach Discord at https://discord.com/api: no such host (ENOTFOUND); check the network (and any firewall or proxy) and try again',
    );
    expect(describeStartFailure(explainDiscordFailure(missing, 'http://127.0.0.1:1/api'))).toMatch(/at http:\/\/127\.0\.0\.1:1\/api: .*check the network and DISCORD_API_URL$/);
  });

  it('leaves any other error as it was, described by its messages and causes', () => {
    const odd = new Error('migration failed', { cause: new Error('syntax error at or near "x"') });
    expect(explainDatabaseFailure(odd, URL)).toBe(odd);
    expect(explainDiscordFailure(odd, undefined)).toBe(odd);
    expect(describeStartFailure(odd)).toBe('satbell could not start: migration failed: syntax error at or near "x"');
    const locked = new LockedError('The database ./data/satbell is in use by another satbell process (pid 7).');
    expect(explainDatabaseFailure(locked, 'file:./data/satbell')).toBe(locked);
    expect(describeStartFailure(locked)).toBe(locked.message);
  });
});
