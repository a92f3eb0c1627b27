import type { Logger } from 'pino';
import { isValidAddress, type Network, parseAddress } from '../chain/address.js';
import {
  type AddressBalance,
  type AddressHistory,
  type ChainProvider,
  ProviderError,
  ProviderWaitError,
  requestOptions,
  type RequestOptions,
} from '../chain/provider.js';
import { createCoalescer } from './coalesce.js';
import type { Database } from '../db/client.js';
import { isTransientDatabaseError, retryTransient, withRetries } from '../db/retry.js';
import {
  createAlreadyTrackedError,
  createLabelTakenError,
  createNotTrackedError,
  createProviderRateLimitedError,
  createProviderUnavailableError,
  createTooManyAddressesError,
  createUnknownAddressOrLabelError,
  InvalidAddressError,
  isUserError,
  UserError,
} from '../errors.js';
import { checkLabelText, checkText, isSearchable } from './input.js';
import {
  type AddressChanges,
  createWalletRepository,
  type HistoryScope,
  type NewWatch,
  type OnChanges,
  type StoredTx,
} from './repository.js';

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
  /** the most addresses one server may track (MAX_ADDRESSES_PER_GUILD); default: no limit */
  maxAddressesPerGuild?: number;
}

/** Told when a command must wait for a rate-limited provider: which, and about how long. */
export type OnWait = (provider: string, waitMs: number) => void;

/**
 * How long a person's command waits for a provider: a wait of more than two seconds sends it
 * to the next provider, and a wait of more than a minute is refused with a message, not endured.
 */
const PERSON_PATIENCE = { preferWaitMs: 2_000, maxWaitMs: 60_000 } as const;

/** A person's call: their server's turn in each provider's queue, their patience. */
const personal = (guildId: string, onWait?: OnWait): RequestOptions => ({ key: guildId, onWait, ...PERSON_PATIENCE });

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
  /** how many of them can be paged through: all when stored, the newest few for a live look */
  listed: number;
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
  maxAddressesPerGuild = Infinity,
}: WalletDeps) {
  // Reads are safe to repeat after a lost connection. Writes are not blindly: store() repeats a
  // history (it compares before it changes), and the use cases below check what a lost one did.
  const repo = withRetries(
    createWalletRepository({ db }),
    // markChecked only moves a time forward, so repeating it is harmless.
    ['findWatch', 'findWatchByLabel', 'findAddress', 'listWatches', 'watchTotals', 'trackedAddresses', 'confirmedTxids', 'listTxs', 'markChecked'],
    { logger },
  );
  /** per server, tracks that passed the cap check and are still fetching: they count against it */
  const tracking = new Map<string, number>();
  const capTurns = createSerialQueue();

  /**
   * Call the provider; any failure of its becomes one error the user can act on. `changes`: the
   * command would have changed something (a /track), so that it is worth saying nothing was.
   */
  async function ask<T>(what: string, address: string, call: () => Promise<T>, { changes = false } = {}): Promise<T> {
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

  /** A unique violation on a label becomes the label-taken error; anything else stays as it is. */
  async function labelClash(err: unknown, guildId: string, label: string): Promise<unknown> {
    if (!isUniqueViolation(err)) return err;
    const clash = await repo.findWatchByLabel(guildId, label);
    return createLabelTakenError(label, clash?.address ?? 'another address');
  }

  /**
   * Store a history and let the outbox see what changed, in one transaction. A store cut off by a
   * lost connection is repeated: one that did commit left nothing for the repeat to change, so no
   * notice is written twice. `onDoubt` hears of each attempt whose outcome is unknown.
   */
  async function store(
    history: AddressHistory,
    watch?: NewWatch,
    { at = clock(), onDoubt, scope, tipHeight }: { at?: Date; onDoubt?: () => void; scope?: HistoryScope; tipHeight?: number } = {},
  ) {
    const result = await retryTransient(() => repo.storeHistory(history, at, { watch, onChanges, scope, tipHeight }), {
      logger,
      what: 'storing a history',
      onRetry: onDoubt,
    });
    afterChanges?.(result.changes);
    return { ...result, at };
  }

  /** Whether this server's watch of `address` is the one that `userId`'s track at `at` inserted. */
  async function isOurWatch(guildId: string, address: string, userId: string, at: Date): Promise<boolean> {
    const watch = await repo.findWatch(guildId, address);
    return watch !== undefined && watch.addedBy === userId && watch.createdAt.getTime() === at.getTime();
  }

  /**
   * What someone typed where an address is expected: a valid address wins, else the label of one of
   * this server's watches (any case). Returns the canonical address.
   */
  async function resolve(guildId: string, input: string): Promise<string> {
    checkText(input, 'The address or label');
    let problem: string;
    try {
      return parseAddress(input, network).address;
    } catch (err) {
      if (!(err instanceof InvalidAddressError)) throw err;
      problem = err.reason;
    }
    const label = input.trim().replace(/\s+/g, ' ');
    const watch = label ? await repo.findWatchByLabel(guildId, label) : undefined;
    if (watch) return watch.address;
    throw createUnknownAddressOrLabelError(input, looksLikeAddress(label) ? problem : null);
  }

  /** A label names one watch, and can never be mistaken for an address. */
  async function checkLabel(guildId: string, label: string, address: string): Promise<void> {
    if (isValidAddress(label, network)) throw new UserError('invalid_input', 'A label cannot be a Bitcoin address: pick a name.');
    const clash = await repo.findWatchByLabel(guildId, label);
    if (clash && clash.address !== address) throw createLabelTakenError(label, clash.address);
  }

  const refreshes = createCoalescer<AddressChanges>({ ttlMs: FRESH_TTL_MS, now: () => clock().getTime() });
  const lookups = createCoalescer<AddressBalance | AddressHistory>({ ttlMs: FRESH_TTL_MS, now: () => clock().getTime() });

  /**
   * Bring a stored address up to date: new transactions only, plus any still unconfirmed. When
   * what is then stored does not add up to the provider's balance and count, something wrong got
   * in by some path: the full history is fetched and stored as 'repair', which puts back what was
   * missing and removes what the chain does not have. Calls for one address at the same time
   * share one fetch; `reuseRecent` also accepts one finished a few seconds ago (for people asking
   * fresh:true, not for the sync). `tipHeight` is the chain's tip asked before this call, stored
   * with the history so that the sync knows when to look at its unconfirmed transactions again.
   */
  function refresh(
    address: string,
    request?: RequestOptions | AbortSignal,
    { reuseRecent = false, tipHeight }: { reuseRecent?: boolean; tipHeight?: number } = {},
  ): Promise<AddressChanges> {
    return refreshes.get(
      address,
      async () => {
        const knownTxids = await repo.confirmedTxids(address);
        const history = await ask('history', address, () => provider.getHistory(address, { ...requestOptions(request), knownTxids }));
        const first = await store(history, undefined, { scope: history.complete ? 'complete' : 'partial', tipHeight });
        if (first.consistent || history.complete) return first.changes;
        logger.warn({ address, balance: history.balance.balance, txCount: history.balance.txCount }, 'stored history disagrees with the provider; fetching it in full to mend it');
        const full = await ask('history', address, () => provider.getHistory(address, requestOptions(request)));
        return mergeChanges(first.changes, (await store(full, undefined, { scope: 'repair', tipHeight })).changes);
      },
      { useCache: reuseRecent },
    );
  }

  /**
   * A place under the server's cap, held while the history is fetched, so that tracks typed at
   * once cannot pass the cap together. Checked before any provider call. Checks and releases take
   * turns per server: a release waits for a count that may have been read before its watch was
   * stored, so no watch is ever counted neither as stored nor as in flight.
   */
  async function reserveWatch(guildId: string): Promise<() => void> {
    if (maxAddressesPerGuild === Infinity) return () => {};
    await capTurns.run(guildId, async () => {
      const { count } = await repo.watchTotals(guildId);
      if (count + (tracking.get(guildId) ?? 0) >= maxAddressesPerGuild) throw createTooManyAddressesError(maxAddressesPerGuild);
      tracking.set(guildId, (tracking.get(guildId) ?? 0) + 1);
    });
    return () =>
      void capTurns.run(guildId, () => {
        const left = (tracking.get(guildId) ?? 1) - 1;
        if (left > 0) tracking.set(guildId, left);
        else tracking.delete(guildId);
      });
  }

  async function addWatch(
    input: { guildId: string; userId: string; onProgress?: (fetched: number, total: number) => void; onWait?: OnWait },
    address: string,
    label: string | null,
  ) {
    // Another server may track it already: then only what is new needs fetching, and quickly.
    const stored = await repo.findAddress(address);
    const knownTxids = stored ? await repo.confirmedTxids(address) : undefined;
    const request = personal(input.guildId, input.onWait);
    const history: AddressHistory = await ask(
      'history',
      address,
      () => provider.getHistory(address, stored ? { ...request, knownTxids } : { ...request, onProgress: input.onProgress }),
      { changes: true },
    );
    const at = clock();
    let inDoubt = false;
    const newWatch = { guildId: input.guildId, label, addedBy: input.userId };
    const { watchAdded } = await store(history, newWatch, { at, onDoubt: () => (inDoubt = true) }).catch(
      async (err: unknown) => {
        // The database went away and stayed away, but our insert may have committed before it did.
        if (isTransientDatabaseError(err) && (await isOurWatch(input.guildId, address, input.userId, at).catch(() => false))) {
          return { watchAdded: true };
        }
        // Someone gave another address this label since the check: the unique index said no.
        throw label ? await labelClash(err, input.guildId, label) : err;
      },
    );
    // A repeat after a lost connection finds the watch that the lost attempt committed: the
    // repository stamps it with this attempt's time, so it is ours and not someone else's.
    if (!watchAdded && !(inDoubt && (await isOurWatch(input.guildId, address, input.userId, at)))) {
      throw createAlreadyTrackedError(address, label);
    }
    logger.info({ guildId: input.guildId, address, txs: history.txs.length }, 'tracked');
    return { address, label, balance: history.balance.balance, txCount: history.balance.txCount, asOf: at };
  }

  return {
    refresh,

    /** Heights of stored confirmed txs still showing a first-seen time, newest first: the sync asks their block times. */
    heightsLackingBlockTime: (limit: number) => retryTransient(() => repo.heightsLackingBlockTime(limit), { logger, what: 'reading missing block times' }),

    /** These blocks' times, for every stored tx in them; returns how many txs changed. */
    storeBlockTimes: (times: ReadonlyMap<number, Date>) =>
      times.size ? retryTransient(() => repo.storeBlockTimes(times), { logger, what: 'storing block times' }) : Promise.resolve(0),

    /** Every address some server watches, with what is stored of it: the sync's work list. */
    trackedAddresses: () => repo.trackedAddresses(),

    /** These addresses' balances and counts were just found as stored: "updated just now". */
    markChecked: (seen: readonly { address: string; balance: bigint; txCount: number }[]) =>
      seen.length ? repo.markChecked(seen, clock()) : Promise.resolve(),

    /** Validate an address for this network: throws a user error saying what is wrong with it. */
    parseAddress: (input: string) => parseAddress(checkText(input, 'The address'), network),

    /** An address, or the label of one of the server's watches, as its canonical address. */
    resolveAddress: (input: { guildId: string; address: string }) => resolve(input.guildId, input.address),

    /** `onProgress` hears how far fetching a long history has got, `onWait` why it is not getting on. */
    async track(input: {
      guildId: string;
      userId: string;
      address: string;
      label?: string | null;
      onProgress?: (fetched: number, total: number) => void;
      onWait?: OnWait;
    }) {
      const { address } = parseAddress(checkText(input.address, 'The address'), network);
      const label = normaliseLabel(input.label);
      const existing = await repo.findWatch(input.guildId, address);
      if (existing) throw createAlreadyTrackedError(address, existing.label);
      if (label) await checkLabel(input.guildId, label, address);
      const release = await reserveWatch(input.guildId);
      try {
        return await addWatch(input, address, label);
      } finally {
        release();
      }
    },

    async untrack(input: { guildId: string; address: string }) {
      const address = await resolve(input.guildId, input.address);
      const watch = await repo.findWatch(input.guildId, address);
      if (!watch) throw createNotTrackedError(address);
      // Removing twice is harmless, so a removal cut off by a lost connection is repeated; if the
      // lost one had committed, the repeat finds nothing, and the watch being gone is the answer.
      let inDoubt = false;
      const removed = await retryTransient(() => repo.removeWatch(input.guildId, address), {
        logger,
        what: 'untracking',
        onRetry: () => (inDoubt = true),
      }).catch(async (err: unknown) => {
        if (isTransientDatabaseError(err) && !(await repo.findWatch(input.guildId, address).catch(() => watch))) return watch;
        throw err;
      });
      if (!removed && !inDoubt) throw createNotTrackedError(address);
      logger.info({ guildId: input.guildId, address }, 'untracked');
      return { address, label: (removed ?? watch).label };
    },

    list(input: { guildId: string }) {
      return repo.listWatches(input.guildId);
    },

    /** One page of a server's watches, oldest first, with the count and total balance of them all. */
    async listPage(input: { guildId: string; limit: number; offset: number }) {
      const [watches, totals] = await Promise.all([
        repo.listWatches(input.guildId, { limit: input.limit, offset: input.offset }),
        repo.watchTotals(input.guildId),
      ]);
      return { watches, total: totals.count, totalBalance: totals.balance };
    },

    /** Give a watch of this server a new label; a label another watch has is refused. */
    async rename(input: { guildId: string; address: string; label: string }) {
      const address = await resolve(input.guildId, input.address);
      const label = normaliseLabel(input.label);
      if (!label) throw new UserError('invalid_input', 'A label needs at least one character that is not a space.');
      await checkLabel(input.guildId, label, address);
      const before = await repo.findWatch(input.guildId, address);
      let renamed: { previous: string | null } | undefined;
      try {
        // Setting a label twice is harmless, so an update cut off by a lost connection is repeated.
        renamed = await retryTransient(() => repo.setLabel(input.guildId, address, label), { logger, what: 'renaming' });
      } catch (err) {
        // Gone for good, but the update may have committed first: then the label says so.
        const now = isTransientDatabaseError(err) ? await repo.findWatch(input.guildId, address).catch(() => undefined) : undefined;
        if (now?.label === label) renamed = { previous: before?.label ?? null };
        // Someone took the label between the check and the update: the unique index said no.
        else throw await labelClash(err, input.guildId, label);
      }
      if (!renamed) throw createNotTrackedError(address);
      // A repeat of an update that had committed reads back the new label as the old one.
      if (before && renamed.previous === label) renamed = { previous: before.label };
      logger.info({ guildId: input.guildId, address }, 'renamed');
      return { address, label, previous: renamed.previous };
    },

    /** Watches of a server whose address or label contains `fragment`, for autocomplete. */
    async suggest(input: { guildId: string; fragment: string; limit?: number }) {
      if (!isSearchable(input.fragment)) return [];
      const needle = input.fragment.trim().replace(/\s+/g, ' ').toLowerCase();
      const watches = await repo.listWatches(input.guildId);
      // A label that starts with what was typed is the likeliest pick, then any other match.
      const rank = (w: (typeof watches)[number]) => (w.label?.toLowerCase().startsWith(needle) ? 0 : 1);
      return watches
        .filter((w) => !needle || w.address.toLowerCase().includes(needle) || w.label?.toLowerCase().includes(needle))
        .sort((a, b) => rank(a) - rank(b))
        .slice(0, input.limit ?? 25);
    },

    async balance(input: { guildId: string; address: string; fresh?: boolean; onWait?: OnWait }): Promise<BalanceView> {
      const address = await resolve(input.guildId, input.address);
      const watch = await repo.findWatch(input.guildId, address);
      const request = personal(input.guildId, input.onWait);
      if (!watch) {
        const live = (await lookups.get(`balance:${address}`, async () => {
          const balances = await ask('balance', address, () => provider.getBalances([address], request));
          const found = balances.get(address);
          if (!found) throw createProviderUnavailableError(provider.name, new Error(`no balance returned for ${address}`), { failure: 'invalid', changes: false });
          return found;
        })) as AddressBalance;
        return { address, label: null, tracked: false, balance: live.balance, txCount: live.txCount, asOf: clock(), source: 'live' };
      }
      if (input.fresh) await refresh(address, request, { reuseRecent: true });
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

    async txns(input: { guildId: string; address: string; fresh?: boolean; limit?: number; offset?: number; onWait?: OnWait }): Promise<TxnsView> {
      const address = await resolve(input.guildId, input.address);
      const limit = input.limit ?? 10;
      const offset = input.offset ?? 0;
      const watch = await repo.findWatch(input.guildId, address);
      const request = personal(input.guildId, input.onWait);
      if (!watch) {
        const history = (await lookups.get(`txns:${address}`, () =>
          ask('history', address, () => provider.getHistory(address, { ...request, maxTxs: LIVE_TXS_LIMIT })),
        )) as AddressHistory;
        return {
          address,
          label: null,
          tracked: false,
          txs: history.txs.slice(offset, offset + limit),
          total: history.balance.txCount,
          listed: history.txs.length,
          asOf: clock(),
          source: 'live',
        };
      }
      if (input.fresh) await refresh(address, request, { reuseRecent: true });
      const row = await repo.findAddress(address);
      if (!row) throw createNotTrackedError(address);
      const { txs, total } = await repo.listTxs(address, { limit, offset });
      return {
        address,
        label: watch.label,
        tracked: true,
        txs,
        total,
        listed: total,
        asOf: row.txsUpdatedAt ?? row.balanceUpdatedAt,
        source: input.fresh ? 'live' : 'stored',
      };
    },
  };
}

export type WalletService = ReturnType<typeof createWalletService>;

/** What two stores of one address changed, as one. */
function mergeChanges(a: AddressChanges, b: AddressChanges): AddressChanges {
  return {
    address: b.address,
    balance: b.balance,
    isNewAddress: a.isNewAddress,
    added: [...a.added, ...b.added],
    confirmed: [...a.confirmed, ...b.confirmed],
    vanished: [...a.vanished, ...b.vanished],
    removed: [...a.removed, ...b.removed],
    restored: [...a.restored, ...b.restored],
  };
}

/** Runs functions one after another per key, each after the last one of its key settled. */
function createSerialQueue() {
  const tails = new Map<string, Promise<unknown>>();
  return {
    run<T>(key: string, fn: () => T | Promise<T>): Promise<T> {
      const result = (tails.get(key) ?? Promise.resolve()).then(fn);
      const tail = result.catch(() => {});
      tails.set(key, tail);
      void tail.then(() => {
        if (tails.get(key) === tail) tails.delete(key);
      });
      return result;
    },
  };
}

/** Input that was meant as an address, so that what is wrong with it is worth saying. */
function looksLikeAddress(text: string): boolean {
  return /^(?:bc1|tb1|bcrt1|[123mn])[a-z0-9]{20,}$/i.test(text);
}

/** Postgres's unique_violation, however the driver wraps it. */
function isUniqueViolation(err: unknown): boolean {
  for (let e = err; e instanceof Error; e = e.cause) {
    if ((e as { code?: unknown }).code === '23505') return true;
  }
  return false;
}

/** A label as stored: checked (no links, mentions, markdown or control characters), spaces collapsed. */
function normaliseLabel(label: string | null | undefined): string | null {
  const trimmed = label == null ? null : checkLabelText(label).trim().replace(/\s+/g, ' ');
  if (!trimmed) return null;
  if (trimmed.length > MAX_LABEL_LENGTH) {
    throw new UserError('invalid_input', `A label can be at most ${MAX_LABEL_LENGTH} characters long.`);
  }
  return trimmed;
}
