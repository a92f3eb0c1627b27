/**
 * The one seam between satbell and a Bitcoin data service. Everything is in satoshis (bigint);
 * addresses are canonical (see parseAddress) before they reach a provider.
 */

export interface AddressBalance {
  address: string;
  /** confirmed + unconfirmed, in satoshis */
  balance: bigint;
  /** number of transactions touching the address, mempool included */
  txCount: number;
  totalReceived: bigint;
}

export interface ChainTx {
  txid: string;
  /** null while unconfirmed */
  blockHeight: number | null;
  /**
   * its block's time when confirmed, else when the provider first saw it (Blockchain.com gives
   * block times for the newest blocks of a history only: see blockchain-info.ts)
   */
  time: Date;
  /** true when confirmed and `time` is its block's time; false when it is a first-seen time */
  timeIsBlockTime: boolean;
  /** in satoshis */
  fee: bigint;
  /** net effect on the queried address in satoshis: negative when it spent more than it received */
  net: bigint;
}

export interface AddressHistory {
  balance: AddressBalance;
  /** newest first, unconfirmed first; de-duplicated by txid */
  txs: ChainTx[];
  /**
   * false when paging stopped early at a txid the caller already had (or at maxTxs). Only a
   * complete history may remove stored txs it lacks, can be checked to add up to the balance
   * (validate.ts), and makes a repair fetch pointless (src/wallet/refresh.ts).
   */
  complete: boolean;
}

/**
 * How one call may use a provider's budget. Every field is optional: a call without them waits
 * its turn in the default queue for as long as it takes.
 */
export interface RequestOptions {
  signal?: AbortSignal;
  /**
   * Whose request this is (a server's id, or 'sync'): each provider serves the keys that are
   * waiting in turn, so one key with many requests queued delays another by about one turn.
   */
  key?: string;
  /**
   * Nobody waits on it (the sync): a person's key that starts waiting is served before it, and
   * failover weighs its wait so.
   */
  background?: boolean;
  /** give up (a ProviderWaitError, nothing sent) rather than wait longer than this for a turn */
  maxWaitMs?: number;
  /**
   * Failover: send the call to the first provider whose wait is at most this, else to the one with
   * the shortest wait; default: the first that is neither failing nor paused, however long its queue
   */
  preferWaitMs?: number;
  /** called when the call must wait for its turn, with the provider and about how long */
  onWait?: (provider: string, waitMs: number) => void;
}

/** RequestOptions, from the options object or the bare AbortSignal that older callers pass. */
export const requestOptions = (request: RequestOptions | AbortSignal | undefined): RequestOptions =>
  request instanceof AbortSignal ? { signal: request } : (request ?? {});

export interface HistoryOptions extends RequestOptions {
  /**
   * Stop paging at the first of these that is confirmed (it is not returned). Unconfirmed txs are
   * listed first and may have confirmed since, so they are always returned.
   */
  knownTxids?: ReadonlySet<string>;
  /** stop after this many transactions (complete=false if more exist): for a look at an untracked address */
  maxTxs?: number;
  /** called after each page with how many transactions have been fetched and how many exist */
  onProgress?: (fetched: number, total: number) => void;
}

export interface HistoriesOptions extends RequestOptions {
  /** called after each batch with how many of the addresses have their history, and of how many */
  onProgress?: (fetched: number, total: number) => void;
}

export interface ChainProvider {
  readonly name: string;
  /** balances of many addresses in as few calls as the service allows */
  getBalances(addresses: readonly string[], request?: RequestOptions | AbortSignal): Promise<Map<string, AddressBalance>>;
  /** the address's balance and its transactions, newest first */
  getHistory(address: string, options?: HistoryOptions): Promise<AddressHistory>;
  /**
   * The complete histories of many addresses in as few calls as the service allows, keyed by the
   * addresses as given; absent when the service can only be asked one address at a time.
   */
  getHistories?(addresses: readonly string[], options?: HistoriesOptions): Promise<Map<string, AddressHistory>>;
  /** the height of the newest block the service knows */
  getTipHeight(request?: RequestOptions): Promise<number>;
  /**
   * The time of the main chain's block at each height, for txs stored with a first-seen time.
   * Throws if any one cannot be had; absent when the service's histories always carry them.
   */
  getBlockTimes?(heights: readonly number[], request?: RequestOptions): Promise<Map<number, Date>>;
  /**
   * About how long a request for `key` made now would wait for its turn, in milliseconds: what is
   * left of a pause (the service's Retry-After, or ours after a 429) plus the queue ahead of it.
   */
  estimatedWaitMs?(key?: string, lane?: { background?: boolean }): number;
  /** what is left of the provider's pause, in milliseconds; 0 when it may be asked */
  pausedMs?(): number;
}

/**
 * What went wrong, as a person is told: no answer at all (no connection, a timeout), an answer
 * that is an error (HTTP 4xx or 5xx), or an answer that does not hold up (malformed, or one that
 * disagrees with itself or the request). 'mixed': several providers, each failing its own way.
 */
export type ProviderFailure = 'unreachable' | 'refused' | 'invalid' | 'mixed';

/** Thrown by providers for anything the service did wrong: unreachable, 5xx, 429, malformed body. */
export class ProviderError extends Error {
  override name = 'ProviderError';
  /** how long the service asked us to wait (a 429 or Retry-After), in milliseconds */
  readonly waitMs?: number;
  /** by default 'refused' with an HTTP status, else 'invalid' */
  readonly failure: ProviderFailure;
  constructor(
    readonly provider: string,
    message: string,
    readonly status?: number,
    options?: { cause?: unknown; waitMs?: number; failure?: ProviderFailure },
  ) {
    super(`${provider}: ${message}`, options);
    if (options?.waitMs !== undefined) this.waitMs = options.waitMs;
    this.failure = options?.failure ?? (status === undefined ? 'invalid' : 'refused');
  }
}

/**
 * Not sent: the wait for a turn is longer than the caller allows. No sign that the provider is
 * unwell, so failover asks the next without setting this one aside.
 */
export class ProviderWaitError extends ProviderError {
  override name = 'ProviderWaitError';
  constructor(
    provider: string,
    override readonly waitMs: number,
    /** true when the wait is a pause the service asked for; false when it is our own queue */
    readonly paused: boolean,
  ) {
    super(provider, `not asked: ${paused ? 'it asked us to pause' : 'its queue is long'}, about ${Math.ceil(waitMs / 1000)} s to wait`, paused ? 429 : undefined, {
      waitMs,
      failure: 'refused',
    });
  }
}
