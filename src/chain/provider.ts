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
  /** block time when confirmed, else the time the provider first saw it */
  time: Date;
  /** in satoshis */
  fee: bigint;
  /** net effect on the queried address in satoshis: negative when it spent more than it received */
  net: bigint;
}

export interface AddressHistory {
  balance: AddressBalance;
  /** newest first, unconfirmed first; de-duplicated by txid */
  txs: ChainTx[];
  /** false when paging stopped early at a txid the caller already had */
  complete: boolean;
}

export interface HistoryOptions {
  /**
   * Stop paging at the first of these that is confirmed (it is not returned). Unconfirmed txs are
   * listed first and may have confirmed since, so they are always returned.
   */
  knownTxids?: ReadonlySet<string>;
  /** stop after this many transactions (complete=false if more exist): for a look at an untracked address */
  maxTxs?: number;
  /** called after each page with how many transactions have been fetched and how many exist */
  onProgress?: (fetched: number, total: number) => void;
  signal?: AbortSignal;
}

export interface ChainProvider {
  readonly name: string;
  /** balances of many addresses in as few calls as the service allows */
  getBalances(addresses: readonly string[], signal?: AbortSignal): Promise<Map<string, AddressBalance>>;
  /** the address's balance and its transactions, newest first */
  getHistory(address: string, options?: HistoryOptions): Promise<AddressHistory>;
}

/** Thrown by providers for anything the service did wrong: unreachable, 5xx, 429, malformed body. */
export class ProviderError extends Error {
  override readonly name = 'ProviderError';
  constructor(
    readonly provider: string,
    message: string,
    readonly status?: number,
    options?: { cause?: unknown },
  ) {
    super(`${provider}: ${message}`, options);
  }
}
