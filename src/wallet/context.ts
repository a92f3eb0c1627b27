/**
 * What every wallet use case works with: the repository, the provider (and how its failures reach
 * a person), the apply use case and the clock. The use cases are module-level functions taking it.
 */
import type { Network } from '../chain/address.js';
import { type ChainProvider, ProviderError, ProviderWaitError, type RequestOptions } from '../chain/provider.js';
import type { Database } from '../db/client.js';
import { withRetries } from '../db/retry.js';
import { createProviderRateLimitedError, createProviderUnavailableError, isUserError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { NoticeSignal } from '../sync/notice-signal.js';
import { type ApplyHistories, type ApplyHistory, createApplyHistories, createApplyHistory } from './apply-history.js';
import { createTrackCap } from './cap.js';
import { createDescriptorCache } from './gap-window.js';
import { createWalletRepository } from './repository.js';

/** The wallet's clock: what time it is. (The provider limiter's Clock also sleeps.) */
export type Now = () => Date;

export interface WalletDeps {
  db: Database;
  provider: ChainProvider;
  logger: Logger;
  network?: Network;
  clock?: Now;
  /** told after a history's notices committed (the dispatcher listens) */
  noticesWritten?: NoticeSignal;
  /** told after a watch was added or removed (the push supervisor subscribes or unsubscribes) */
  watchesChanged?: NoticeSignal;
  /** the most addresses one server may track (MAX_ADDRESSES_PER_GUILD); default: no limit */
  maxAddressesPerGuild?: number;
}

/** Told when a command must wait for a rate-limited provider: which, and about how long. */
export type OnWait = (provider: string, waitMs: number) => void;

export type WalletContext = ReturnType<typeof createWalletContext>;

export function createWalletContext({ db, provider, logger, network = 'mainnet', clock = () => new Date(), noticesWritten, watchesChanged, maxAddressesPerGuild = Infinity }: WalletDeps) {
  // Reads are safe to repeat after a lost connection. Writes are not blindly: applyHistory repeats
  // a history (it compares before it changes), and the use cases check what a lost one did.
  const repo = withRetries(
    createWalletRepository({ db }),
    // markChecked only moves a time forward, so repeating it is harmless.
    [
      'findWatch',
      'findWatchByLabel',
      'findAddress',
      'listWatches',
      'trackedAddresses',
      'confirmedTxids',
      'listTxs',
      'markChecked',
      'knownTxs',
      'setElectrumStatus',
      'findWalletByLabel',
      'findWalletByDescriptor',
      'findWalletByFirstAddress',
      'listWallets',
      'walletAddresses',
      'summarise',
      'watchedAddressTotals',
      'listWalletTxs',
    ],
    { logger },
  );
  const applyDeps = { db, logger, noticesWritten, watchesChanged, network };
  const applyHistory: ApplyHistory = createApplyHistory(applyDeps);
  const applyHistories: ApplyHistories = createApplyHistories(applyDeps);
  // One cap for single addresses and wallets, counting the distinct addresses a server watches.
  const reserve = createTrackCap(maxAddressesPerGuild, async (guildId) => (await repo.watchedAddressTotals(guildId)).count);
  const loadDescriptor = createDescriptorCache(network);
  return { repo, provider, logger, network, clock, applyHistory, applyHistories, maxAddressesPerGuild, reserve, loadDescriptor, watchesChanged };
}

/**
 * How long a person's command waits for a provider: a wait of more than two seconds sends it
 * to the next provider, and a wait of more than a minute is refused with a message, not endured.
 */
const PERSON_PATIENCE = { preferWaitMs: 2_000, maxWaitMs: 60_000 } as const;

/** A person's call: their server's turn in each provider's queue, their patience. */
export const personal = (guildId: string, onWait?: OnWait): RequestOptions => ({ key: guildId, onWait, ...PERSON_PATIENCE });

/**
 * Call the provider; any failure of its becomes one error the user can act on. `changes`: the
 * command would have changed something (a /track), so that it is worth saying nothing was.
 */
export async function ask<T>(
  { provider, logger }: WalletContext,
  what: string,
  address: string,
  call: () => Promise<T>,
  { changes = false } = {},
): Promise<T> {
  try {
    return await call();
  } catch (err) {
    if (isUserError(err)) throw err;
    logger.warn({ err, address, provider: provider.name }, `provider failed: ${what}`);
    if (err instanceof ProviderError && err.waitMs !== undefined) {
      const paused = !(err instanceof ProviderWaitError) || err.paused;
      throw createProviderRateLimitedError(err.provider, err.waitMs, { paused, changes }, err);
    }
    // Name the service that failed: after failover, provider.name is the last one that answered.
    if (err instanceof ProviderError) throw createProviderUnavailableError(err.provider, err, { failure: err.failure, changes });
    throw createProviderUnavailableError(provider.name, err, { failure: 'unreachable', changes });
  }
}
