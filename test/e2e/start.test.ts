import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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

  it('runs on the embedded database by default, survives a restart, and refuses a second process', async () => {
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
