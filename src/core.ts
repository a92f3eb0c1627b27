import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { createChainProvider } from './chain/providers/index.js';
import type { CoreConfig } from './config/index.js';
import { type DatabaseHandle, openDatabase, redactUrl } from './db/client.js';
import { createExplorerLinks } from './chain/explorer.js';
import type { CommandContext } from './commands/context.js';
import type { Logger } from './logger.js';
import { explainDatabaseFailure } from './startup.js';
import { createLeaseCoordinator } from './sync/coordinator.js';
import { createNoticeDispatcher, type NoticeDispatcher } from './sync/notice-dispatcher.js';
import type { NoticeTransport } from './sync/notice-port.js';
import { createNoticeSignal } from './sync/notice-signal.js';
import { type RunOutcome, type ScheduledJob, scheduleJob } from './sync/scheduler.js';
import { createPushSupervisor, type PushSupervisor } from './sync/push.js';
import { deferTicksToPush } from './sync/push-lease.js';
import { createSettingsService } from './sync/settings.js';
import { createSync } from './sync/sync.js';
import { createWalletService } from './wallet/service.js';

/**
 * The one server the terminal shell plays. Its notices go to the shell's terminal, so a Discord
 * bot on the same database must leave them alone.
 */
export const SHELL_GUILD_ID = 'shell';

/**
 * Everything satbell is without a front end: database, provider, wallet, settings, the sync and
 * the notice outbox. The Discord bot and the terminal shell each put one on top of it.
 */
export interface Core {
  database: DatabaseHandle;
  /** what command handlers get */
  ctx: CommandContext;
  /**
   * Start delivering notices through `transport` (pending ones from before at once) and syncing.
   * With `guildId`, deliver only that server's notices; with `exceptGuildId`, all but that one's
   * (the shell takes only its own; the bot takes all but the shell's).
   */
  startBackground(transport: NoticeTransport, options?: { guildId?: string; exceptGuildId?: string }): void;
  /** Run a sync now unless one is running (here or in another process). */
  syncNow(): Promise<RunOutcome>;
  /**
   * Stop scheduling, let the current sync step finish or roll back, stop delivering (undelivered
   * notices stay pending), close the database. Safe to call twice.
   */
  stop(): Promise<void>;
}

export async function openCore(config: CoreConfig, logger: Logger): Promise<Core> {
  const database = await openDatabase(config.DATABASE_URL, { logger }).catch((err: unknown) => {
    throw explainDatabaseFailure(err, config.DATABASE_URL);
  });
  const { db } = database;
  logger.info({ database: redactUrl(config.DATABASE_URL), kind: database.kind }, 'database ready');

  const provider = createChainProvider({
    providers: config.CHAIN_PROVIDERS,
    esploraUrl: config.ESPLORA_URL,
    blockchainInfoUrl: config.BLOCKCHAIN_INFO_URL,
    requestsPerSecond: { esplora: config.ESPLORA_RPS, 'blockchain-info': config.BLOCKCHAIN_INFO_RPS },
    logger,
  });
  // Notices are written in the transaction that stores the change; the dispatcher, once started,
  // hears of them at once.
  const noticesWritten = createNoticeSignal();
  // Told of each /track and /untrack, so that push subscribes or unsubscribes at once.
  const watchesChanged = createNoticeSignal();
  const wallet = createWalletService({
    db,
    provider,
    logger,
    network: config.NETWORK,
    maxAddressesPerGuild: config.MAX_ADDRESSES_PER_GUILD,
    noticesWritten,
    watchesChanged,
  });
  const settings = createSettingsService({ db });
  const ctx: CommandContext = {
    wallet,
    settings,
    links: createExplorerLinks(config.EXPLORER_URL),
    providerName: () => provider.lastServedBy ?? provider.name,
    dataServices: () => provider.status(),
    pushStatus: () => (config.ELECTRUM_SERVERS.length ? (background?.push?.status() ?? null) : undefined),
    logger,
  };

  /** what startBackground started, for stop() to stop */
  let background: { dispatcher: NoticeDispatcher; job: ScheduledJob; push?: PushSupervisor } | undefined;
  let stopped = false;
  return {
    database,
    ctx,
    startBackground(transport, { guildId, exceptGuildId } = {}) {
      if (background || stopped) return;
      // Deliver at once what a previous run left pending: Discord dedupes a nonce only for minutes.
      const dispatcher = createNoticeDispatcher({ db, transport, logger, guildId, exceptGuildId, wakeOn: noticesWritten });
      dispatcher.start();
      // Its own coordinator: the lease of 'push' is held for as long as the process lives.
      const pushLeases = config.ELECTRUM_SERVERS.length ? createLeaseCoordinator({ db, owner: leaseOwner(database), logger }) : undefined;
      const push = pushLeases
        ? createPushSupervisor({
            servers: config.ELECTRUM_SERVERS,
            tlsInsecure: config.ELECTRUM_TLS_INSECURE,
            wallet,
            network: config.NETWORK,
            logger,
            coordinator: pushLeases,
            watchesChanged,
          })
        : undefined;
      const sync = createSync({ wallet, provider, logger, isCurrent: push?.isCurrent });
      const syncLeases = createLeaseCoordinator({ db, owner: leaseOwner(database), logger });
      const job = scheduleJob({
        name: 'sync',
        cron: config.SYNC_CRON,
        run: async (signal) => void (await sync(signal)),
        coordinator: pushLeases ? deferTicksToPush(syncLeases, pushLeases, logger) : syncLeases,
        logger,
        // Short, renewed every third: a process killed mid-sync holds the next one up briefly only.
        leaseMs: 10_000,
        runAtStart: true,
      });
      push?.start();
      background = { dispatcher, job, push };
    },
    syncNow: () => (background ? background.job.runNow() : Promise.resolve('skipped')),
    async stop() {
      if (stopped) return;
      stopped = true;
      await background?.push?.stop();
      await background?.job.stop();
      await background?.dispatcher.stop();
      await database.close();
    },
  };
}

/**
 * Who holds the sync lease. PGlite admits one process (its lock file says so), so a fixed owner
 * lets a restart after kill -9 take the dead process's lease at once; on a server, each process
 * is its own owner.
 */
function leaseOwner(database: DatabaseHandle): string {
  return database.kind === 'pglite' ? 'pglite' : `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`;
}
