import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { and, count, isNull, lt } from 'drizzle-orm';
import { type Logger, pino } from 'pino';
import { expect } from 'vitest';
import { type Bot, startBot } from '../../src/app.js';
import { loadConfig } from '../../src/config/index.js';
import { notices } from '../../src/db/schema.js';
import type { InteractionHandlerOptions } from '../../src/discord/interactions.js';
import { type BlockchainInfoFake, type EsploraFake, FakeChain, startBlockchainInfoFake, startEsploraFake } from '../fakes/chain/index.js';
import {
  type CommandInput,
  type FakeDiscord,
  type FakeDiscordOptions,
  type FakeInteraction,
  type FakeMessage,
  type OptionValue,
  startFakeDiscord,
} from '../fakes/discord.js';
import { type ElectrumFake, startElectrumFake } from '../fakes/chain/electrum.js';
import { type Backend, createTestDatabaseUrl } from './database.js';

export const EXPLORER = 'https://explorer.test';

/**
 * The real bot (discord.js client, wallet, database, provider) started against loopback fakes of
 * Discord and Blockchain.com. Tests drive it the way Discord would and read what users see. The bot
 * registers its commands to the fake's first guild. With `esplora`, an Esplora fake over the same
 * chain stands by for failover (CHAIN_PROVIDERS=blockchain-info,esplora, unpaced unless `env` says
 * otherwise). With `electrum`, an Electrum fake over the same chain is ELECTRUM_SERVERS (push on).
 * `logger` replaces the silent one, for tests that read what the bot logged.
 */
export async function startHarness({
  backend = 'pglite' as Backend | 'pglite-file',
  discord: fakeOptions = {} as FakeDiscordOptions,
  env = {} as Record<string, string>,
  bot: botOptions = {} as InteractionHandlerOptions,
  esplora: withEsplora = false,
  electrum: withElectrum = undefined as { maxSubscriptions?: number } | undefined,
  logger = pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' }) as Logger,
} = {}) {
  const discord = await startFakeDiscord(fakeOptions);
  const chain = new FakeChain();
  const api: BlockchainInfoFake = await startBlockchainInfoFake({ chain });
  const esplora: EsploraFake | undefined = withEsplora ? await startEsploraFake({ chain }) : undefined;
  const electrum: ElectrumFake | undefined = withElectrum ? await startElectrumFake({ chain, ...withElectrum }) : undefined;
  const fakes = () => Promise.all([discord.close(), api.close(), esplora?.close(), electrum?.close()]);
  const database = await harnessDatabase(backend);
  const guild = discord.guilds[0]!;
  const config = loadConfig({
    DISCORD_TOKEN: 'test-token',
    DISCORD_API_URL: discord.apiUrl,
    DISCORD_GUILD_ID: guild.id,
    DATABASE_URL: database.url,
    BLOCKCHAIN_INFO_URL: api.url,
    // Only the fake, unpaced: no fallback to a public service, no 10-second politeness in tests.
    CHAIN_PROVIDERS: 'blockchain-info',
    BLOCKCHAIN_INFO_RPS: 'unlimited',
    ...(esplora ? { CHAIN_PROVIDERS: 'blockchain-info,esplora', ESPLORA_URL: esplora.url, ESPLORA_RPS: 'unlimited' } : {}),
    ...(electrum ? { ELECTRUM_SERVERS: electrum.url } : {}),
    EXPLORER_URL: EXPLORER,
    // Tests sync when they say so (bot.syncNow), not on a clock: the first of January is far.
    SYNC_CRON: '0 0 1 1 *',
    LOG_LEVEL: 'silent',
    ...env,
  });
  let bot: Bot;
  try {
    bot = await startBot(config, logger, botOptions);
  } catch (err) {
    await fakes();
    await database.drop();
    throw err;
  }

  return {
    discord,
    chain,
    api,
    /** the Esplora fake, when asked for */
    esplora,
    /** the Electrum fake over the same chain, when asked for: ELECTRUM_SERVERS points at it */
    electrum,
    get bot() {
      return bot;
    },
    guildId: guild.id,
    /** Stop the bot as SIGTERM would and start it again on the same database (not for memory:). */
    async restart(between?: () => void | Promise<void>) {
      await bot.stop();
      await between?.();
      bot = await startBot(config, logger, botOptions);
    },
    /** Type a slash command (in the first guild unless `extra` says otherwise); the reply comes later. */
    run(name: string, options: Record<string, OptionValue> = {}, extra: CommandExtras = {}) {
      return discord.runCommand({ ...extra, guildId: extra.guildId ?? guild.id, name, options });
    },
    /** Type a slash command and wait for the reply a user sees once it is done (progress reports passed over). */
    async reply(name: string, options: Record<string, OptionValue> = {}, extra: CommandExtras = {}) {
      return finalReply(this.run(name, options, extra));
    },
    /** Press a button on a message, as `userId` (default: the user commands are typed as). */
    press(message: FakeMessage, label: string, userId?: string) {
      const button = buttons(message).find((b) => b.label.includes(label));
      if (!button) throw new Error(`no button "${label}" on message ${message.id}: ${JSON.stringify(buttons(message))}`);
      return discord.clickButton({ message, customId: button.customId, userId });
    },
    async close() {
      await bot.stop();
      await fakes();
      await database.drop();
    },
  };
}

async function harnessDatabase(backend: Backend | 'pglite-file'): Promise<{ url: string; drop(): Promise<void> }> {
  if (backend === 'postgres') return createTestDatabaseUrl();
  if (backend === 'pglite') return { url: 'memory:', drop: async () => {} };
  const dir = mkdtempSync(join(tmpdir(), 'satbell-harness-'));
  return { url: `file:${join(dir, 'db')}`, drop: async () => rmSync(dir, { recursive: true, force: true }) };
}

export type Harness = Awaited<ReturnType<typeof startHarness>>;

/** Wait until the outbox holds nothing it has yet to deliver (failed notices aside), as its table says. */
export async function outboxSettled(h: Harness, poll: { timeout: number; interval?: number }): Promise<void> {
  await expect
    .poll(async () => {
      const [row] = await h.bot.database.db
        .select({ n: count() })
        .from(notices)
        .where(and(isNull(notices.failedAt), lt(notices.deliveredVersion, notices.version)));
      return row?.n;
    }, poll)
    .toBe(0);
}

/** Where, by whom and how a command is typed: `subcommand`, `guildId`, `userId`, `memberPermissions`… */
export type CommandExtras = Omit<Partial<CommandInput>, 'name' | 'options'>;

/** Everything a user reads in a message: its text and its embeds' titles, descriptions and footers. */
export function visibleText(message: FakeMessage): string {
  return [
    message.content,
    ...message.embeds.flatMap((e) => [e.title, e.description, ...(e.fields ?? []).flatMap((f) => [f.name, f.value]), e.footer?.text]),
  ]
    .filter(Boolean)
    .join('\n');
}

const EPHEMERAL = 64;

/** A progress report of a long command (/track of a long history or of a wallet, a wait for a rate-limited service), not its answer. */
export const isProgress = (message: FakeMessage) =>
  /fetched [\d,]+ of [\d,]+ transactions|^Scanned [\d,]+ address(?:es)?, [\d,]+ used|^Waiting for .+, about .+…/m.test(visibleText(message));

/** The reply once the command is done: the first version of it that is not a progress report. */
export async function finalReply(interaction: FakeInteraction): Promise<FakeMessage> {
  let message = await interaction.reply();
  for (let n = 1; isProgress(message); n++) message = (await interaction.waitForEdits(n)).at(-1)!;
  return message;
}

export interface ShownButton {
  label: string;
  customId: string;
  disabled: boolean;
}

/** The buttons a message shows, row after row. */
export function buttons(message: FakeMessage): ShownButton[] {
  return (message.components as { components?: { label?: string; custom_id?: string; disabled?: boolean }[] }[]).flatMap((row) =>
    (row.components ?? []).map((b) => ({ label: b.label ?? '', customId: b.custom_id ?? '', disabled: b.disabled === true })),
  );
}

/**
 * An error is private: either the first answer was private, or the public "thinking…" reply was
 * deleted and a private message followed.
 */
export async function privateError(interaction: FakeInteraction): Promise<FakeMessage> {
  const answeredAtOnce = () => interaction.callbacks.some((c) => c.type === 4);
  await expect.poll(() => answeredAtOnce() || interaction.followups.length > 0, { timeout: 15_000 }).toBe(true);
  const message = answeredAtOnce() ? await interaction.reply() : interaction.followups[0]!;
  expect(message.flags & EPHEMERAL).toBe(EPHEMERAL);
  return message;
}
