/**
 * A first start that fails, run as a new user would run it: `npm start` and `npm run shell` (the
 * real entry points) against a Discord that refuses the token or is not there, a Postgres server
 * that is down or refuses the login, and a data directory that cannot be written. Each must end
 * with code 1 and one line on stderr that says what to do: no JSON record, no stack, no secret.
 */
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startFakeDiscord } from '../fakes/discord.js';
import { startPasswordRefusingPostgres } from '../fakes/postgres.js';
import { type BotProcess, type RunAs, spawnBot, spawnDeployCommands, spawnShell } from '../support/process.js';
import { unpackTemplate } from '../../src/db/pglite-template.js';

/** Shaped like a real bot token, so that only its value gives it away. */
const DISCORD_TOKEN = 'MTA5ODc2NTQzMjEwOTg3NjU0Mw.GxYzAb.Qw3rTy-uIoP_aSdFgHjKlZxCvBnM1234567';
const PASSWORD = 's3cretPassw0rd';
/** Nothing listens on port 1: a connection there is refused at once, and never leaves the machine. */
const CLOSED = '127.0.0.1:1';
/** Permissions do not stop root, whom tests run as: then the process runs as nobody. */
const notRoot: RunAs = process.getuid?.() === 0 ? { uid: 65534, gid: 65534 } : {};
/** The stack of an error, as Node prints it: a frame per line. */
const STACK_FRAME = /^\s+at .+/m;

const cleanups: (() => Promise<unknown> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'satbell-first-start-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

type Entry = 'bot' | 'shell' | 'deploy-commands';

/** Run an entry point to its end; as a person at a terminal would see it, unless `env` says otherwise. */
async function run(entry: Entry, env: Record<string, string>, { cwd = tempDir(), as }: { cwd?: string; as?: RunAs } = {}): Promise<BotProcess> {
  const full = { DISCORD_TOKEN, DISCORD_API_URL: `http://${CLOSED}/api`, LOG_FORMAT: 'pretty', ...env };
  const child = entry === 'shell' ? spawnShell(full, cwd, as) : entry === 'bot' ? spawnBot(full, cwd, as) : spawnDeployCommands(full, cwd);
  cleanups.push(() => {
    child.child.kill('SIGKILL');
    return child.exited;
  });
  if (entry === 'shell') child.child.stdin!.end();
  await child.exited;
  return child;
}

/** Exit code 1, exactly one line on stderr matching `line`, and nothing a person should not see. */
function expectOneLine(child: BotProcess, line: RegExp): void {
  expect(child.child.exitCode, child.output()).toBe(1);
  const lines = child.stderr().split('\n').filter(Boolean);
  expect(lines, child.output()).toHaveLength(1);
  expect(lines[0]).toMatch(line);
  expect(child.output()).not.toContain('{"level"');
  expect(child.output()).not.toMatch(STACK_FRAME);
  expect(child.output()).not.toMatch(/ (ERROR|FATAL) /);
  expect(child.output()).not.toContain(DISCORD_TOKEN);
  expect(child.output()).not.toContain(PASSWORD);
}

describe('npm start, when Discord will not have it', () => {
  it('says in one line that Discord refused the token and how to reset it', async () => {
    const discord = await startFakeDiscord({ token: 'the-token-the-portal-gave' });
    cleanups.push(() => discord.close());
    const bot = await run('bot', { DATABASE_URL: 'memory:', DISCORD_API_URL: discord.apiUrl });
    expectOneLine(bot, /^Discord refused DISCORD_TOKEN \(401 Unauthorized\): .*Reset it in the developer portal \(https:\/\/discord\.com\/developers\/applications .*DISCORD_TOKEN=…$/);
    // It did ask, and was told no.
    expect(discord.requests.some((r) => r.path.endsWith('/gateway/bot') && r.status === 401)).toBe(true);
  });

  it('says in one line that Discord could not be reached, at which URL, and to check the network', async () => {
    const bot = await run('bot', { DATABASE_URL: 'memory:' });
    expectOneLine(bot, new RegExp(`^Could not reach Discord at http://${CLOSED}/api: connection refused \\(ECONNREFUSED\\); check the network and DISCORD_API_URL$`));
  });

  it('says the same in npm run deploy-commands, for a refused token and for Discord out of reach', async () => {
    const discord = await startFakeDiscord({ token: 'the-token-the-portal-gave' });
    cleanups.push(() => discord.close());
    expectOneLine(await run('deploy-commands', { DISCORD_API_URL: discord.apiUrl }), /^Discord refused DISCORD_TOKEN \(401 Unauthorized\): /);
    expectOneLine(await run('deploy-commands', {}), new RegExp(`^Could not reach Discord at http://${CLOSED}/api: connection refused`));
  });

  it('keeps the error and its stack for LOG_LEVEL=debug, still without the token', async () => {
    const discord = await startFakeDiscord({ token: 'the-token-the-portal-gave' });
    cleanups.push(() => discord.close());
    const bot = await run('bot', { DATABASE_URL: 'memory:', DISCORD_API_URL: discord.apiUrl, LOG_LEVEL: 'debug' });
    expect(bot.child.exitCode).toBe(1);
    expect(bot.stderr().trim().split('\n')).toEqual([expect.stringMatching(/^Discord refused DISCORD_TOKEN/)]);
    expect(bot.stdout()).toMatch(/ FATAL could not start: Discord refused DISCORD_TOKEN.*: An invalid token was provided\.\n/);
    expect(bot.stdout()).toMatch(STACK_FRAME);
    expect(bot.output()).not.toContain(DISCORD_TOKEN);
  });
});

describe.each<Entry>(['bot', 'shell'])('%s, when the database will not have it', (entry) => {
  it('says in one line that Postgres refused the password, with the URL redacted', async () => {
    const server = await startPasswordRefusingPostgres();
    cleanups.push(() => server.close());
    const url = `postgres://satbell:${PASSWORD}@127.0.0.1:${server.port}/satbell`;
    const child = await run(entry, { DATABASE_URL: url });
    expectOneLine(
      child,
      new RegExp(
        `^Could not connect to the database at postgres://satbell:\\*\\*\\*@127\\.0\\.0\\.1:${server.port}/satbell: ` +
          'password authentication failed for user "satbell"; check the user and password in DATABASE_URL$',
      ),
    );
    expect(server.passwords).toContain(PASSWORD);
  });

  it('says in one line that the Postgres server could not be reached', async () => {
    const child = await run(entry, { DATABASE_URL: `postgres://satbell:${PASSWORD}@${CLOSED}/satbell` });
    expectOneLine(
      child,
      new RegExp(`^Could not connect to the database at postgres://satbell:\\*\\*\\*@${CLOSED}/satbell: connection refused \\(ECONNREFUSED\\); check that the server is running`),
    );
  });

  it.skipIf(!process.env.TEST_DATABASE_URL)('says in one line that the Postgres server does not know the user', async () => {
    const url = new URL(process.env.TEST_DATABASE_URL!);
    url.username = 'satbell_no_such_role';
    url.password = PASSWORD;
    const child = await run(entry, { DATABASE_URL: url.toString() });
    expectOneLine(child, /^Could not connect to the database at postgres:\/\/satbell_no_such_role:\*\*\*@.*: role "satbell_no_such_role" does not exist; check the user in DATABASE_URL/);
  });

  it('says in one line that a data directory whose path runs through a file cannot be written', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'file.txt'), 'not a directory');
    const child = await run(entry, { DATABASE_URL: `file:${join(dir, 'file.txt', 'db')}` });
    expectOneLine(
      child,
      new RegExp(`^Cannot write the data directory ${join(dir, 'file.txt', 'db')}: a part of the path is a file, not a directory .*set DATABASE_URL=file:… to a writable place`),
    );
  });

  it('says in one line that a data directory under a read-only directory cannot be written', async () => {
    const cwd = tempDir();
    chmodSync(cwd, 0o777);
    mkdirSync(join(cwd, 'data'), { mode: 0o555 });
    chmodSync(join(cwd, 'data'), 0o555);
    // The default place, relative to where satbell runs, as a first start has it.
    const child = await run(entry, { DATABASE_URL: 'file:./data/satbell' }, { cwd, as: notRoot });
    expectOneLine(
      child,
      new RegExp(`^Cannot write the data directory \\./data/satbell \\(${join(cwd, 'data/satbell')}\\): permission denied .*make it writable for this user`),
    );
  });

  it('says in one line that an existing data directory that is read-only cannot be written', { timeout: 60_000 }, async () => {
    // Its parent is writable, so the lock file (and the shell's log) can be made: PGlite itself
    // meets the directory, and reports it with an errno of its own.
    // (An empty directory would be no test: a new database replaces it with one made from the
    // template, which only needs its parent writable.)
    const cwd = tempDir();
    chmodSync(cwd, 0o777);
    mkdirSync(join(cwd, 'data'), { recursive: true });
    chmodSync(join(cwd, 'data'), 0o777);
    unpackTemplate(join(cwd, 'data/satbell'));
    chmodSync(join(cwd, 'data/satbell'), 0o555);
    const child = await run(entry, { DATABASE_URL: 'file:./data/satbell' }, { cwd, as: notRoot });
    expectOneLine(child, /^Cannot write the data directory \.\/data\/satbell \(.*\): permission denied.*; make it writable for this user/);
  });
});
