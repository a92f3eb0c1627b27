/**
 * Secrets in logs, grepped in the real output of real bot processes: the bot token, interaction
 * tokens (anyone holding one can answer as the bot for 15 minutes) and the database password never
 * reach stdout or stderr, on a failed start or while Discord refuses the bot's calls at trace level.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { FakeInteraction } from '../fakes/discord.js';
import { testAddress } from '../support/addresses.js';
import { startBotWorld } from '../support/bot-world.js';
import { killAllBots } from '../support/bots.js';
import { testBackends } from '../support/database.js';
import { spawnBot } from '../support/process.js';

/** Shaped like a real bot token, so that nothing but its value gives it away. */
const DISCORD_TOKEN = 'MTA5ODc2NTQzMjEwOTg3NjU0Mw.GxYzAb.Qw3rTy-uIoP_aSdFgHjKlZxCvBnM1234567';
const PASSWORD = 's3cretPassw0rd';

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  await killAllBots();
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'satbell-redaction-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

describe('a start that fails on the database', () => {
  it.each([
    [
      'a port nothing listens on',
      `postgres://satbell:${PASSWORD}@127.0.0.1:1/satbell`,
      /Could not connect to the database at postgres:\/\/satbell:\*\*\*@127\.0\.0\.1:1\/satbell: connection refused \(ECONNREFUSED\)/,
    ],
    ['a port that is no port', `postgres://satbell:${PASSWORD}@127.0.0.1:99999/satbell`, /DATABASE_URL is not a URL that can be read \(Invalid URL\)/],
  ])('exits 1 with a readable line and prints neither the password nor the token, on %s', async (_, url, line) => {
    const bot = spawnBot(
      // Nothing listens on port 1 for Discord either: whatever fails first, nothing leaves the machine.
      { DISCORD_TOKEN, DATABASE_URL: url, DISCORD_API_URL: 'http://127.0.0.1:1/api', LOG_LEVEL: 'trace' },
      tempDir(),
    );
    expect(await bot.exited).toBe(1);
    const output = bot.output();
    expect(output).toMatch(new RegExp(`^${line.source}`, 'm'));
    // At trace, the log has the error too.
    expect(output).toContain('could not start');
    expect(output).not.toContain(PASSWORD);
    expect(output).not.toContain(DISCORD_TOKEN);
  });
});

describe.each(testBackends())('a running bot at trace level whose calls to Discord fail (%s)', (backend) => {
  it('logs the failures without the bot token, any interaction token or the database password', { timeout: 90_000 }, async () => {
    const world = await startBotWorld({ backend, name: 'redaction', env: { DISCORD_TOKEN, LOG_LEVEL: 'trace' }, discord: { token: DISCORD_TOKEN } });
    cleanups.push(() => world.close());
    const { discord, chain, guildId, channelId } = world;
    let databaseUrl = world.env.DATABASE_URL!;
    if (backend === 'postgres') {
      // A password in the URL as a real deployment has one (the test server trusts any).
      const withPassword = new URL(databaseUrl);
      withPassword.password = PASSWORD;
      databaseUrl = withPassword.toString();
    }
    const bot = world.startBot({ DATABASE_URL: databaseUrl });
    await bot.waitForLog('ready: commands registered');
    const interactions: FakeInteraction[] = [];
    const run = (name: string, options: Record<string, string> = {}, subcommand?: string) => {
      const interaction = discord.runCommand({ guildId, name, options, subcommand });
      interactions.push(interaction);
      return interaction;
    };
    await run('config', { channel: channelId }, 'channel').reply();
    const address = testAddress('redaction');
    chain.fund(address, 50_000n);
    chain.mine();
    await run('track', { address }).reply();

    // The callback fails, retries included, and so does the bot's second try of it (4 requests
    // each): the bot logs the error, whose url holds the token.
    discord.failNext({ method: 'POST', path: /^\/interactions\/\d+\/[^/]+\/callback$/ }, { status: 500 }, 8);
    run('addresses');
    await bot.waitForLog('command failed');
    // The reply's edit through the webhook token fails too.
    discord.failNext({ method: 'PATCH', path: /^\/webhooks\/\d+\/[^/]+\/messages\/(@|%40)original$/ }, { status: 500 }, 8);
    run('balance', { address });
    await expect.poll(() => bot.logs().filter((l) => l.msg === 'command failed').length, { timeout: 20_000 }).toBeGreaterThanOrEqual(2);
    // A notice post fails, once for a while and then for good.
    discord.failNext({ method: 'POST', path: new RegExp(`^/channels/${channelId}/messages$`) }, { status: 500 }, 4);
    discord.failNext({ method: 'POST', path: new RegExp(`^/channels/${channelId}/messages$`) }, { status: 403, body: { code: 50013, message: 'Missing Permissions' } }, 100);
    chain.fund(address, 10_000n);
    await bot.waitForLog('notice delivery failed; will retry', 20_000);
    await bot.waitForLog('notice cannot be delivered; giving up', 30_000);
    expect(await bot.stop()).toEqual({ code: 0, signal: null });

    const output = bot.output();
    // The failures were logged with the URLs that carried the tokens, censored.
    expect(output).toMatch(/\/interactions\/\d+\/\[redacted\]\/callback/);
    expect(output).toMatch(/\/webhooks\/\d+\/\[redacted\]\/messages\/(@|%40)original/);
    expect(output).not.toContain(DISCORD_TOKEN);
    expect(output).not.toContain(PASSWORD);
    expect(interactions.length).toBe(4);
    for (const { token } of interactions) expect(output).not.toContain(token);
  });
});
