import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { Client, Events, GatewayIntentBits } from 'discord.js';
import { createChainProvider } from './chain/providers/index.js';
import type { Config } from './config/index.js';
import { type DatabaseHandle, openDatabase, redactUrl } from './db/client.js';
import type { CommandContext } from './discord/command.js';
import { commands } from './discord/commands/index.js';
import { createInteractionHandler } from './discord/interactions.js';
import { createDiscordNoticeTransport } from './discord/notices.js';
import { registerCommands } from './discord/register.js';
import { createExplorerLinks } from './discord/render/format.js';
import type { Logger } from './logger.js';
import { createLeaseCoordinator } from './sync/coordinator.js';
import { createNoticeWriter } from './sync/notices.js';
import { createNoticeDispatcher, type NoticeDispatcher } from './sync/outbox.js';
import { type RunOutcome, type ScheduledJob, scheduleJob } from './sync/scheduler.js';
import { createSettingsService } from './sync/settings.js';
import { createSync } from './sync/sync.js';
import { createWalletService } from './wallet/service.js';

export interface Bot {
  client: Client<true>;
  database: DatabaseHandle;
  /** Run a sync now unless one is running (here or in another process). */
  syncNow(): Promise<RunOutcome>;
  /**
   * Stop scheduling, let the current sync step finish or roll back, stop delivering (undelivered
   * notices stay pending), then close Discord and the database. Safe to call twice.
   */
  stop(): Promise<void>;
}

/** Wire config → database → provider → wallet → Discord → sync and notices, and log in. */
export async function startBot(config: Config, logger: Logger): Promise<Bot> {
  const database = await openDatabase(config.DATABASE_URL);
  const { db } = database;
  logger.info({ database: redactUrl(config.DATABASE_URL), kind: database.kind }, 'database ready');

  const links = createExplorerLinks(config.EXPLORER_URL);
  const provider = createChainProvider({
    providers: config.CHAIN_PROVIDERS,
    esploraUrl: config.ESPLORA_URL,
    blockchainInfoUrl: config.BLOCKCHAIN_INFO_URL,
    requestsPerSecond: { esplora: config.ESPLORA_RPS, 'blockchain-info': config.BLOCKCHAIN_INFO_RPS },
    logger,
  });
  let dispatcher: NoticeDispatcher | undefined;
  const wallet = createWalletService({
    db,
    provider,
    logger,
    network: config.NETWORK,
    // Notices are written in the transaction that stores the change, then delivered.
    onChanges: createNoticeWriter(),
    afterChanges: () => dispatcher?.poke(),
  });
  const settings = createSettingsService({ db });
  const ctx: CommandContext = { wallet, settings, links, providerName: () => provider.lastServedBy ?? provider.name, logger };

  const client = new Client({
    intents: [GatewayIntentBits.Guilds],
    rest: config.DISCORD_API_URL ? { api: config.DISCORD_API_URL } : {},
  });
  const handle = createInteractionHandler(commands, ctx);
  client.on(Events.InteractionCreate, (interaction) => void handle(interaction));
  client.on(Events.Error, (err) => logger.error({ err }, 'discord client error'));

  let job: ScheduledJob | undefined;
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    await job?.stop();
    await dispatcher?.stop();
    await client.destroy();
    await database.close();
    logger.info('stopped');
  };

  try {
    const ready = new Promise<Client<true>>((resolve) => client.once(Events.ClientReady, resolve));
    await client.login(config.DISCORD_TOKEN);
    const readyClient = await ready;
    await registerCommands(client.rest, readyClient.application.id, commands, config.DISCORD_GUILD_ID);
    logger.info(
      { user: readyClient.user.tag, guilds: readyClient.guilds.cache.size, scope: config.DISCORD_GUILD_ID ?? 'global' },
      'ready: commands registered',
    );

    // Deliver at once what a previous run left pending: Discord dedupes a nonce only for minutes.
    dispatcher = createNoticeDispatcher({ db, transport: createDiscordNoticeTransport(client.rest, links), logger });
    dispatcher.start();
    const sync = createSync({ wallet, provider, logger });
    job = scheduleJob({
      name: 'sync',
      cron: config.SYNC_CRON,
      run: async (signal) => void (await sync(signal)),
      coordinator: createLeaseCoordinator({ db, owner: leaseOwner(database), logger }),
      logger,
      // Short, renewed every third: a process killed mid-sync holds the next one up briefly only.
      leaseMs: 10_000,
      runAtStart: true,
    });
    return { client: readyClient, database, syncNow: () => job!.runNow(), stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

/**
 * Who holds the sync lease. PGlite admits one process (its lock file says so), so a fixed owner
 * lets a restart after kill -9 take the dead process's lease at once; on a server, each process
 * is its own owner.
 */
function leaseOwner(database: DatabaseHandle): string {
  return database.kind === 'pglite' ? 'pglite' : `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`;
}
