import { pino } from 'pino';
import { type Bot, startBot } from '../../src/app.js';
import { loadConfig } from '../../src/config/index.js';
import { type BlockchainInfoFake, FakeChain, startBlockchainInfoFake } from '../fakes/chain/index.js';
import { type FakeDiscord, type FakeMessage, type OptionValue, startFakeDiscord } from '../fakes/discord.js';
import { type Backend, createTestDatabaseUrl } from './database.js';

export const EXPLORER = 'https://explorer.test';

/**
 * The real bot (discord.js client, wallet, database, provider) started against loopback fakes of
 * Discord and Blockchain.com. Tests drive it the way Discord would and read what users see.
 */
export async function startHarness({ backend = 'pglite' as Backend } = {}) {
  const discord = await startFakeDiscord();
  const chain = new FakeChain();
  const api: BlockchainInfoFake = await startBlockchainInfoFake({ chain });
  const database = backend === 'postgres' ? await createTestDatabaseUrl() : { url: 'memory:', drop: async () => {} };
  const guild = discord.guilds[0]!;
  const config = loadConfig({
    DISCORD_TOKEN: 'test-token',
    DISCORD_API_URL: discord.apiUrl,
    DISCORD_GUILD_ID: guild.id,
    DATABASE_URL: database.url,
    BLOCKCHAIN_INFO_URL: api.url,
    EXPLORER_URL: EXPLORER,
    LOG_LEVEL: 'silent',
  });
  let bot: Bot;
  try {
    bot = await startBot(config, pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' }));
  } catch (err) {
    await Promise.all([discord.close(), api.close()]);
    await database.drop();
    throw err;
  }

  return {
    discord,
    chain,
    api,
    bot,
    guildId: guild.id,
    /** Type a slash command and wait for the reply a user sees. */
    run(name: string, options: Record<string, OptionValue> = {}, extra: { guildId?: string; userId?: string } = {}) {
      return discord.runCommand({ guildId: extra.guildId ?? guild.id, userId: extra.userId, name, options });
    },
    async reply(name: string, options: Record<string, OptionValue> = {}, extra: { guildId?: string; userId?: string } = {}) {
      return this.run(name, options, extra).reply();
    },
    async close() {
      await bot.stop();
      await Promise.all([discord.close(), api.close()]);
      await database.drop();
    },
  };
}

export type Harness = Awaited<ReturnType<typeof startHarness>>;

/** Everything a user reads in a message: its text and its embeds' titles, descriptions and footers. */
export function visibleText(message: FakeMessage): string {
  return [
    message.content,
    ...message.embeds.flatMap((e) => [e.title, e.description, ...(e.fields ?? []).flatMap((f) => [f.name, f.value]), e.footer?.text]),
  ]
    .filter(Boolean)
    .join('\n');
}
