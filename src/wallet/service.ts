import type { Logger } from 'pino';
import { type Network, parseAddress } from '../chain/address.js';
import type { AddressBalance, AddressHistory, ChainProvider } from '../chain/provider.js';
import { createCoalescer } from './coalesce.js';
import type { Database } from '../db/client.js';
import {
  createAlreadyTrackedError,
  createLabelTakenError,
  createNotTrackedError,
  createProviderUnavailableError,
  isUserError,
  UserError,
} from '../errors.js';
import { type AddressChanges, createWalletRepository, type NewWatch, type OnChanges, type StoredTx } from './repository.js';

export type Clock = () => Date;

export interface WalletDeps {
  db: Database;
  provider: ChainProvider;
  logger: Logger;
  network?: Network;
  clock?: Clock;
  /** runs inside every transaction that stores a change of an address (the notice outbox) */
  onChanges?: OnChanges;
  /** runs after such a transaction committed (to wake the dispatcher) */
  afterChanges?: (changes: AddressChanges) => void;
}

/** Where a figure came from: our database (as of `asOf`) or the provider just now. */
export type Source = 'stored' | 'live';

export interface BalanceView {
  address: string;
  label: string | null;
  tracked: boolean;
  balance: bigint;
  txCount: number;
  asOf: Date;
  source: Source;
}

export interface TxnsView {
  address: string;
  label: string | null;
  tracked: boolean;
  txs: StoredTx[];
  /** how many transactions the address has in all (txs may be one page of them) */
  total: number;
  asOf: Date;
  source: Source;
}

const MAX_LABEL_LENGTH = 64;
/** An untracked address is looked at, not synced: one provider page is enough. */
const LIVE_TXS_LIMIT = 50;
/** How long an answer from the provider serves everyone else who asks for it fresh. */
export const FRESH_TTL_MS = 5_000;

/** The use cases behind the slash commands. Knows nothing of Discord. */
export function createWalletService({
  db,
  provider,
  logger,
  network = 'mainnet',
  clock = () => new Date(),
  onChanges,
  afterChanges,
}: WalletDeps) {
  const repo = createWalletRepository({ db });

  /** Call the provider; any failure of its becomes one error the user can act on. */
  async function ask<T>(what: string, address: string, call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (err) {
      if (isUserError(err)) throw err;
      logger.warn({ err, address, provider: provider.name }, `provider failed: ${what}`);
      throw createProviderUnavailableError(provider.name, err);
    }
  }

  /** Store a history and let the outbox see what changed, in one transaction. */
  async function store(history: AddressHistory, watch?: NewWatch) {
    const at = clock();
    const result = await repo.storeHistory(history, at, { watch, onChanges });
    afterChanges?.(result.changes);
    return { ...result, at };
  }

  const refreshes = createCoalescer<AddressChanges>({ ttlMs: FRESH_TTL_MS, now: () => clock().getTime() });
  const lookups = createCoalescer<AddressBalance | AddressHistory>({ ttlMs: FRESH_TTL_MS, now: () => clock().getTime() });

  /**
   * Bring a stored address up to date: new transactions only, plus any still unconfirmed. Calls
   * for one address at the same time share one fetch; `reuseRecent` also accepts one finished a
   * few seconds ago (for people asking fresh:true, not for the sync).
   */
  function refresh(address: string, signal?: AbortSignal, { reuseRecent = false } = {}): Promise<AddressChanges> {
    return refreshes.get(
      address,
      async () => {
        const knownTxids = await repo.confirmedTxids(address);
        const history = await ask('history', address, () => provider.getHistory(address, { knownTxids, signal }));
        return (await store(history)).changes;
      },
      { useCache: reuseRecent },
    );
  }

  return {
    refresh,

    /** Every address some server watches, with what is stored of it: the sync's work list. */
    trackedAddresses: () => repo.trackedAddresses(),

    /** Validate an address for this network: throws a user error saying what is wrong with it. */
    parseAddress: (input: string) => parseAddress(input, network),

    async track(input: { guildId: string; userId: string; address: string; label?: string | null }) {
      const { address } = parseAddress(input.address, network);
      const label = normaliseLabel(input.label);
      const existing = await repo.findWatch(input.guildId, address);
      if (existing) throw createAlreadyTrackedError(address, existing.label);
      if (label) {
        const clash = await repo.findWatchByLabel(input.guildId, label);
        if (clash) throw createLabelTakenError(label, clash.address);
      }

      // Another server may track it already: then only what is new needs fetching.
      const stored = await repo.findAddress(address);
      const knownTxids = stored ? await repo.confirmedTxids(address) : undefined;
      const history: AddressHistory = await ask('history', address, () =>
        provider.getHistory(address, { knownTxids }),
      );
      const { watchAdded, at } = await store(history, { guildId: input.guildId, label, addedBy: input.userId });
      if (!watchAdded) throw createAlreadyTrackedError(address, label);
      logger.info({ guildId: input.guildId, address, txs: history.txs.length }, 'tracked');
      return { address, label, balance: history.balance.balance, txCount: history.balance.txCount, asOf: at };
    },

    async untrack(input: { guildId: string; address: string }) {
      const { address } = parseAddress(input.address, network);
      const removed = await repo.removeWatch(input.guildId, address);
      if (!removed) throw createNotTrackedError(address);
      logger.info({ guildId: input.guildId, address }, 'untracked');
      return { address, label: removed.label };
    },

    list(input: { guildId: string }) {
      return repo.listWatches(input.guildId);
    },

    /** Watches of a server whose address or label contains `fragment`, for autocomplete. */
    async suggest(input: { guildId: string; fragment: string; limit?: number }) {
      const needle = input.fragment.trim().toLowerCase();
      const watches = await repo.listWatches(input.guildId);
      return watches
        .filter((w) => !needle || w.address.toLowerCase().includes(needle) || w.label?.toLowerCase().includes(needle))
        .slice(0, input.limit ?? 25);
    },

    async balance(input: { guildId: string; address: string; fresh?: boolean }): Promise<BalanceView> {
      const { address } = parseAddress(input.address, network);
      const watch = await repo.findWatch(input.guildId, address);
      if (!watch) {
        const live = (await lookups.get(`balance:${address}`, async () => {
          const balances = await ask('balance', address, () => provider.getBalances([address]));
          const found = balances.get(address);
          if (!found) throw createProviderUnavailableError(provider.name, new Error(`no balance returned for ${address}`));
          return found;
        })) as AddressBalance;
        return { address, label: null, tracked: false, balance: live.balance, txCount: live.txCount, asOf: clock(), source: 'live' };
      }
      if (input.fresh) await refresh(address, undefined, { reuseRecent: true });
      const row = await repo.findAddress(address);
      if (!row) throw createNotTrackedError(address); // untracked between the two reads
      return {
        address,
        label: watch.label,
        tracked: true,
        balance: row.balance,
        txCount: row.txCount,
        asOf: row.balanceUpdatedAt,
        source: input.fresh ? 'live' : 'stored',
      };
    },

    async txns(input: { guildId: string; address: string; fresh?: boolean; limit?: number; offset?: number }): Promise<TxnsView> {
      const { address } = parseAddress(input.address, network);
      const limit = input.limit ?? 10;
      const offset = input.offset ?? 0;
      const watch = await repo.findWatch(input.guildId, address);
      if (!watch) {
        const history = (await lookups.get(`txns:${address}`, () =>
          ask('history', address, () => provider.getHistory(address, { maxTxs: LIVE_TXS_LIMIT })),
        )) as AddressHistory;
        return {
          address,
          label: null,
          tracked: false,
          txs: history.txs.slice(offset, offset + limit),
          total: history.balance.txCount,
          asOf: clock(),
          source: 'live',
        };
      }
      if (input.fresh) await refresh(address, undefined, { reuseRecent: true });
      const row = await repo.findAddress(address);
      if (!row) throw createNotTrackedError(address);
      const { txs, total } = await repo.listTxs(address, { limit, offset });
      return {
        address,
        label: watch.label,
        tracked: true,
        txs,
        total,
        asOf: row.txsUpdatedAt ?? row.balanceUpdatedAt,
        source: input.fresh ? 'live' : 'stored',
      };
    },
  };
}

export type WalletService = ReturnType<typeof createWalletService>;

function normaliseLabel(label: string | null | undefined): string | null {
  const trimmed = label?.trim().replace(/\s+/g, ' ');
  if (!trimmed) return null;
  if (trimmed.length > MAX_LABEL_LENGTH) {
    throw new UserError('invalid_input', `A label can be at most ${MAX_LABEL_LENGTH} characters long.`);
  }
  return trimmed;
}
