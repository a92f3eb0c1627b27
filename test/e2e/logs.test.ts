/**
 * Logs as people and log shippers get them, from the real entry points: readable lines with
 * LOG_FORMAT=pretty (what a terminal gets), JSON lines off a terminal (a test's pipe, journald)
 * and with LOG_FORMAT=json, and the shell's logs in a file rather than on its prompt. Which format
 * a terminal gets is decided by chooseLogFormat, tested with isTTY in test/unit/log-format.test.ts.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startBlockchainInfoFake } from '../fakes/chain/index.js';
import { startFakeDiscord } from '../fakes/discord.js';
import { testAddress } from '../support/addresses.js';
import { type BotProcess, spawnBot, spawnShell } from '../support/process.js';

const READABLE = /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d (TRACE|DEBUG|INFO |WARN |ERROR|FATAL) \S/;

const cleanups: (() => Promise<unknown> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'satbell-logs-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function killAfter<T extends BotProcess>(child: T): T {
  cleanups.push(() => {
    child.child.kill('SIGKILL');
    return child.exited;
  });
  return child;
}

const lines = (text: string) => text.split('\n').filter(Boolean);

describe('npm start', () => {
  it('logs one readable line per event with LOG_FORMAT=pretty, from start to stop', { timeout: 60_000 }, async () => {
    const discord = await startFakeDiscord();
    cleanups.push(() => discord.close());
    const api = await startBlockchainInfoFake();
    cleanups.push(() => api.close());
    const guildId = discord.guilds[0]!.id;
    const bot = killAfter(
      spawnBot(
        {
          DISCORD_TOKEN: 'pretty-token',
          DISCORD_API_URL: discord.apiUrl,
          DISCORD_GUILD_ID: guildId,
          BLOCKCHAIN_INFO_URL: api.url,
          DATABASE_URL: 'memory:',
          LOG_FORMAT: 'pretty',
        },
        tempDir(),
      ),
    );
    await expect
      .poll(() => (bot.child.exitCode !== null ? `exited: ${bot.output()}` : bot.stdout().includes('ready: commands registered')), { timeout: 40_000 })
      .toBe(true);
    // A command answered: the bot is past its start and handles signals.
    expect((await discord.runCommand({ guildId, name: 'addresses' }).reply()).embeds[0]?.title).toBe('Tracked addresses');
    bot.child.kill('SIGTERM');
    expect(await bot.exited).toBe(0);
    const logged = lines(bot.stdout());
    for (const line of logged) expect(line).toMatch(READABLE);
    expect(logged.some((l) => / INFO {2}database ready database=memory: kind=pglite$/.test(l))).toBe(true);
    expect(logged.some((l) => / INFO {2}ready: commands registered user=\S+ guilds=1 scope=\d+$/.test(l))).toBe(true);
    expect(logged.some((l) => / INFO {2}shutting down signal=SIGTERM$/.test(l))).toBe(true);
    expect(bot.stderr()).toBe('');
  });

  it.each([
    ['off a terminal, by default', {}],
    ['with LOG_FORMAT=json', { LOG_FORMAT: 'json' }],
  ])('logs JSON lines %s', async (_, env) => {
    // The quickest start that logs: at debug, a data directory through a file fails at once, and logs why.
    const dir = tempDir();
    writeFileSync(join(dir, 'file.txt'), '');
    const bot = killAfter(spawnBot({ DISCORD_TOKEN: 'json-token', DATABASE_URL: `file:${join(dir, 'file.txt', 'db')}`, LOG_LEVEL: 'debug', ...env }, dir));
    expect(await bot.exited).toBe(1);
    const logged = lines(bot.stdout()).map((line) => JSON.parse(line) as { level: number; msg: string; err?: { stack?: string } });
    expect(logged).toContainEqual(expect.objectContaining({ level: 60, msg: 'could not start' }));
    expect(logged.find((l) => l.msg === 'could not start')?.err?.stack).toMatch(/\n\s+at /);
    expect(lines(bot.stderr())).toEqual([expect.stringMatching(/^Cannot write the data directory /)]);
  });
});

describe('npm run shell', () => {
  it('writes its logs to ./data/shell.log and none to the prompt or stderr', { timeout: 60_000 }, async () => {
    const api = await startBlockchainInfoFake();
    cleanups.push(() => api.close());
    const cwd = tempDir();
    const shell = killAfter(spawnShell({ BLOCKCHAIN_INFO_URL: api.url, DATABASE_URL: 'memory:', SYNC_CRON: '0 0 1 1 *' }, cwd));
    await expect.poll(() => shell.stdout(), { timeout: 30_000 }).toContain('Type /help');
    expect(lines(shell.stdout())[0]).toContain('logs go to ./data/shell.log;');

    // A data service that fails logs a warning with its error.
    api.failNext(/./, { status: 500, contentType: 'text/plain', body: 'Internal Server Error' }, 100);
    shell.send(`/balance ${testAddress('logs-untracked')}`);
    shell.send('# done');
    await expect.poll(() => shell.stdout(), { timeout: 30_000 }).toContain('satbell> # done\n');
    api.clearFaults();
    shell.send('exit');
    expect(await shell.exited).toBe(0);

    const reply = shell.stdout().slice(shell.stdout().indexOf('satbell> /balance'), shell.stdout().indexOf('satbell> # done'));
    expect(lines(reply).length).toBeGreaterThan(1);
    expect(shell.stdout()).not.toContain('{"level"');
    expect(shell.stdout()).not.toMatch(/\b(WARN|ERROR)\b/);
    expect(shell.stderr()).toBe('');

    const logFile = join(cwd, 'data/shell.log');
    expect(existsSync(logFile)).toBe(true);
    const logged = lines(readFileSync(logFile, 'utf8'));
    expect(logged.length).toBeGreaterThan(0);
    for (const line of logged) expect(line).toMatch(READABLE);
    expect(logged.some((l) => / WARN {2}provider failed: .*500/.test(l))).toBe(true);
  });
});
