/**
 * The world outside a bot process, for tests that start the real bot as `npm start` does (and kill
 * it): a working directory, the fake Discord (behind a delaying proxy when asked), a fake chain and
 * its Blockchain.com API, a database of its own, and the environment that points the bot at them;
 * with `electrum`, also an Electrum server over the same chain, as ELECTRUM_SERVERS (push on).
 * Everything outlives the bot processes started in it; `close` kills those still running and takes
 * the rest down.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type ElectrumFake, startElectrumFake } from '../fakes/chain/electrum.js';
import { type BlockchainInfoFake, FakeChain, startBlockchainInfoFake } from '../fakes/chain/index.js';
import { type FakeDiscord, type FakeDiscordOptions, type FakeInteraction, type FakeMessage, type OptionValue, startFakeDiscord } from '../fakes/discord.js';
import { type BotRun, type DelayingProxy, startBotProcess, startDelayingProxy } from './bots.js';
import { type Backend, botProcessDatabaseUrl } from './database.js';
import { EXPLORER } from './harness.js';

export interface BotWorldOptions {
  backend: Backend;
  /** names the working directory, for a person looking at what a failed run left behind */
  name: string;
  /** the environment beyond what points the bot at the fakes (its token, LOG_LEVEL, …) */
  env: Record<string, string>;
  discord?: FakeDiscordOptions;
  /** Put a proxy in front of Discord's REST API that holds each answer back this many ms. */
  delayDiscord?: (method: string, path: string) => number;
  /** Serve the chain over Electrum too, and point the bot at it (ELECTRUM_SERVERS). */
  electrum?: boolean;
}

export interface BotWorld {
  cwd: string;
  discord: FakeDiscord;
  /** the proxy the bot reaches Discord through, when `delayDiscord` was given */
  proxy: DelayingProxy | undefined;
  chain: FakeChain;
  api: BlockchainInfoFake;
  /** the Electrum server over `chain`, when `electrum` was asked for */
  electrum: ElectrumFake | undefined;
  guildId: string;
  /** the first guild's first channel, where notices go once `/config channel` names it */
  channelId: string;
  /** what a bot process is started with (DATABASE_URL included) */
  env: Record<string, string>;
  /** Start a bot process in this world, with `env` over the world's. */
  startBot(env?: Record<string, string>): BotRun;
  /** Type a slash command in the first guild. */
  run(name: string, options?: Record<string, OptionValue>, subcommand?: string): FakeInteraction;
  /** The messages in the channel that answer no command: the notices. */
  notices(): FakeMessage[];
  close(): Promise<void>;
}

export async function startBotWorld({ backend, name, env, discord: discordOptions = {}, delayDiscord, electrum: withElectrum = false }: BotWorldOptions): Promise<BotWorld> {
  const cleanups: (() => Promise<unknown> | unknown)[] = [];
  const bots: BotRun[] = [];
  const close = async () => {
    await Promise.all(bots.filter((b) => b.alive()).map((b) => b.kill9()));
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  };
  try {
    const cwd = mkdtempSync(join(tmpdir(), `satbell-${name}-`));
    cleanups.push(() => rmSync(cwd, { recursive: true, force: true }));
    const discord = await startFakeDiscord(discordOptions);
    cleanups.push(() => discord.close());
    const proxy = delayDiscord ? await startDelayingProxy(discord.apiUrl, delayDiscord) : undefined;
    if (proxy) cleanups.push(() => proxy.close());
    const chain = new FakeChain();
    const api = await startBlockchainInfoFake({ chain });
    cleanups.push(() => api.close());
    const electrum = withElectrum ? await startElectrumFake({ chain }) : undefined;
    if (electrum) cleanups.push(() => electrum.close());
    const database = await botProcessDatabaseUrl(backend, cwd);
    cleanups.push(() => database.drop());
    const guildId = discord.guilds[0]!.id;
    const channelId = discord.guilds[0]!.channels[0]!.id;
    const worldEnv = {
      DISCORD_API_URL: proxy?.url ?? discord.apiUrl,
      DISCORD_GUILD_ID: guildId,
      DATABASE_URL: database.url,
      BLOCKCHAIN_INFO_URL: api.url,
      ...(electrum ? { ELECTRUM_SERVERS: electrum.url } : {}),
      EXPLORER_URL: EXPLORER,
      SYNC_CRON: '* * * * * *',
      ...env,
    };
    return {
      cwd,
      discord,
      proxy,
      chain,
      api,
      electrum,
      guildId,
      channelId,
      env: worldEnv,
      startBot(extra = {}) {
        const bot = startBotProcess({ ...worldEnv, ...extra }, cwd);
        bots.push(bot);
        return bot;
      },
      run: (command, options = {}, subcommand) => discord.runCommand({ guildId, name: command, options, subcommand }),
      notices: () => discord.channelMessages(channelId).filter((m) => !m.interactionId),
      close,
    };
  } catch (err) {
    await close();
    throw err;
  }
}
