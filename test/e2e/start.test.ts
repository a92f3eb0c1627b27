import { spawn as spawnProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startBlockchainInfoFake } from '../fakes/chain/index.js';
import { type FakeDiscord, startFakeDiscord } from '../fakes/discord.js';
import { testAddress } from '../support/addresses.js';
import { startDelayingProxy } from '../support/bots.js';
import { type BotProcess, spawnBot } from '../support/process.js';

const cleanups: (() => Promise<unknown> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'satbell-start-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function spawn(env: Record<string, string>, cwd: string): BotProcess {
  const bot = spawnBot(env, cwd);
  cleanups.push(() => {
    bot.child.kill('SIGKILL');
    return bot.exited;
  });
  return bot;
}

/** Resolves once the bot process says it has logged in and registered its commands. */
async function registered(discord: FakeDiscord, guildId: string, bot: BotProcess): Promise<void> {
  await expect
    .poll(() => bot.child.exitCode !== null ? `exited: ${bot.output()}` : bot.output().includes('ready: commands registered'), {
      timeout: 30_000,
      interval: 100,
    })
    .toBe(true);
  expect(discord.commands.guilds.get(guildId)).toHaveLength(8);
}

describe('npm start', () => {
  it('without a token exits at once with one line saying how to get one', async () => {
    const bot = spawn({}, tempDir());
    expect(await bot.exited).toBe(1);
    const lines = bot.output().trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^Invalid configuration: DISCORD_TOKEN is not set: create an application at https:\/\/discord\.com\/developers\/applications/);
  });

  it('with a bad setting exits naming the variable', async () => {
    const bot = spawn({ DISCORD_TOKEN: 't', DATABASE_URL: 'mysql://db' }, tempDir());
    expect(await bot.exited).toBe(1);
    expect(bot.output()).toContain('DATABASE_URL must start with postgres://');
  });

  it('runs on the embedded database by default, survives a restart, and refuses a second process', { timeout: 90_000 }, async () => {
    const cwd = tempDir();
    const discord = await startFakeDiscord();
    cleanups.push(() => discord.close());
    const api = await startBlockchainInfoFake();
    cleanups.push(() => api.close());
    const guildId = discord.guilds[0]!.id;
    const env = {
      DISCORD_TOKEN: 'process-token',
      DISCORD_API_URL: discord.apiUrl,
      DISCORD_GUILD_ID: guildId,
      BLOCKCHAIN_INFO_URL: api.url,
      LOG_LEVEL: 'info',
    };
    const address = testAddress('start');
    api.chain.fund(address, 21_000n);

    const first = spawn(env, cwd);
    await registered(discord, guildId, first);
    expect(existsSync(join(cwd, 'data/satbell'))).toBe(true);
    const tracked = await discord.runCommand({ guildId, name: 'track', options: { address, label: 'persisted' } }).reply();
    expect(tracked.embeds[0]?.description).toContain('0.00021000 BTC');

    const second = spawn(env, cwd);
    expect(await second.exited).toBe(1);
    expect(second.output()).toMatch(/is in use by another satbell process \(pid \d+\)/);

    first.child.kill('SIGTERM');
    expect(await first.exited).toBe(0);
    expect(existsSync(join(cwd, 'data/satbell.lock'))).toBe(false);

    const third = spawn(env, cwd);
    await registered(discord, guildId, third);
    const listed = await discord.runCommand({ guildId, name: 'addresses' }).reply();
    expect(listed.embeds[0]?.description).toContain('**persisted**');
  });

  it('stops cleanly with exit 0 when SIGTERM comes while it is still starting', async () => {
    const cwd = tempDir();
    const discord = await startFakeDiscord();
    cleanups.push(() => discord.close());
    // Registering the commands takes a few seconds, so the stop lands while the bot is starting.
    const proxy = await startDelayingProxy(discord.apiUrl, (method) => (method === 'PUT' ? 3_000 : 0));
    cleanups.push(() => proxy.close());
    const api = await startBlockchainInfoFake();
    cleanups.push(() => api.close());
    const bot = spawn(
      { DISCORD_TOKEN: 'process-token', DISCORD_API_URL: proxy.url, DISCORD_GUILD_ID: discord.guilds[0]!.id, BLOCKCHAIN_INFO_URL: api.url, LOG_LEVEL: 'info' },
      cwd,
    );
    await expect.poll(() => bot.child.exitCode !== null || proxy.requests.some((r) => r.method === 'PUT'), { timeout: 30_000, interval: 50 }).toBe(true);
    bot.child.kill('SIGTERM');
    expect(await bot.exited, bot.output()).toBe(0);
    expect(bot.output()).toContain('"msg":"stopped"');
    expect(existsSync(join(cwd, 'data/satbell.lock'))).toBe(false);
  });
});

/** `pid`'s descendants and their command lines. */
function processTree(pid: number): { pid: number; argv: string[] }[] {
  const parent = new Map<number, number>();
  for (const entry of readdirSync('/proc').filter((e) => /^\d+$/.test(e))) {
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      parent.set(Number(entry), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch {
      // it ended meanwhile
    }
  }
  const below = (p: number): boolean => p !== 0 && p !== 1 && (parent.get(p) === pid || below(parent.get(p) ?? 0));
  return [...parent.keys()].filter(below).flatMap((p) => {
    try {
      return [{ pid: p, argv: readFileSync(`/proc/${p}/cmdline`, 'utf8').split('\0').filter(Boolean) }];
    } catch {
      return [];
    }
  });
}

describe('npm start, as a person runs it', () => {
  it('transpiles src/ into dist/, runs the bot there in one node process with no tsx, and ends with 0 when the bot is stopped', { timeout: 90_000 }, async () => {
    const root = resolve(import.meta.dirname, '../..');
    const dir = tempDir();
    const discord = await startFakeDiscord();
    cleanups.push(() => discord.close());
    const api = await startBlockchainInfoFake();
    cleanups.push(() => api.close());
    const guildId = discord.guilds[0]!.id;
    const address = testAddress('npm-start');
    api.chain.fund(address, 42_000n);
    const child = spawnProcess('npm', ['start'], {
      cwd: root,
      detached: true, // its own process group, so that npm and the bot under it stop together
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {
        PATH: process.env.PATH ?? '',
        HOME: process.env.HOME ?? dir,
        DISCORD_TOKEN: 'npm-start-token',
        DISCORD_API_URL: discord.apiUrl,
        DISCORD_GUILD_ID: guildId,
        BLOCKCHAIN_INFO_URL: api.url,
        CHAIN_PROVIDERS: 'blockchain-info',
        BLOCKCHAIN_INFO_RPS: 'unlimited',
        DATABASE_URL: `file:${join(dir, 'data')}`,
        LOG_LEVEL: 'info',
      },
    });
    let output = '';
    child.stdout!.on('data', (d) => (output += d));
    child.stderr!.on('data', (d) => (output += d));
    const exited = new Promise<number | null>((done) => child.once('exit', done));
    cleanups.push(() => {
      if (child.exitCode === null) process.kill(-child.pid!, 'SIGKILL');
      return exited;
    });

    await expect
      .poll(() => (child.exitCode !== null ? `exited: ${output}` : output.includes('ready: commands registered')), { timeout: 60_000, interval: 100 })
      .toBe(true);
    const tracked = await discord.runCommand({ guildId, name: 'track', options: { address } }).reply();
    expect(tracked.embeds[0]?.description).toContain('0.00042000 BTC');

    // Under npm, one node process runs the bot, on dist/main.js: no tsx wrapper, no loader in it.
    const nodes = processTree(child.pid!).filter(({ argv }) => /(^|\/)node$/.test(argv[0]!));
    expect(nodes.map(({ argv }) => argv.slice(1))).toEqual([['--liftoff-only', '--enable-source-maps', 'dist/main.js']]);
    expect(existsSync(join(root, 'dist/main.js'))).toBe(true);

    // Stopped as systemd or a supervisor stops it, the bot closes cleanly and npm ends with it, with 0.
    process.kill(nodes[0]!.pid, 'SIGTERM');
    expect(await exited).toBe(0);
    expect(output).toContain('stopped');
  });
});

