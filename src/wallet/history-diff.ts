/**
 * What a history that arrives for an address changes, against what was stored of it: a pure
 * function, so every way a history can arrive (a /track, a fresh:true, the sync, a pushed one)
 * gets the same answer, and tests can ask it without a database.
 */
import type { AddressHistory, ChainTx } from '../chain/provider.js';

/**
 * How far a history speaks for the chain. 'partial' (paging stopped at a known tx) only adds and
 * updates. 'complete' also removes every stored tx of the address it lacks. 'repair' is a
 * complete history fetched to mend a stored state that disagreed with the provider: the txs it
 * adds are old ones that were missing, so they are restored rather than announced.
 */
export type HistoryScope = 'partial' | 'complete' | 'repair';

/** What one history changed of an address. */
export interface AddressChanges {
  address: string;
  /** the balance now stored */
  balance: bigint;
  /** first time this address was stored: its history is a baseline, not news */
  isNewAddress: boolean;
  /** transactions not stored before, newest first */
  added: ChainTx[];
  /** stored as unconfirmed, now in a block */
  confirmed: ChainTx[];
  /** stored as unconfirmed, now gone from the mempool (replaced or dropped) */
  vanished: string[];
  /** stored as confirmed, but not in a complete history: the chain never had them here */
  removed: string[];
  /** missing from what was stored though older than what was: put back, not news (scope 'repair') */
  restored: ChainTx[];
}

/**
 * What was stored of an address before the history arrived: txid → block height (null while
 * unconfirmed). For a 'partial' history it needs only the stored txs the history names and every
 * stored unconfirmed one; for the other scopes, every stored tx of the address.
 */
export interface StoredHistory {
  isNewAddress: boolean;
  heights: ReadonlyMap<string, number | null>;
}

/** The difference between what was stored of an address and the history that arrived for it. */
export function diffHistory(stored: StoredHistory, history: AddressHistory, scope: HistoryScope): AddressChanges {
  const { heights } = stored;
  // Every unconfirmed transaction comes before the first confirmed one, so any stored
  // unconfirmed transaction the provider did not return is gone from the mempool. A stored
  // confirmed one that a complete history lacks was never this address's.
  const seen = new Set(history.txs.map((t) => t.txid));
  const missing = [...heights].filter(([txid]) => !seen.has(txid));
  const fresh = history.txs.filter((t) => !heights.has(t.txid));
  return {
    address: history.balance.address,
    balance: history.balance.balance,
    isNewAddress: stored.isNewAddress,
    added: scope === 'repair' ? [] : fresh,
    confirmed: history.txs.filter((t) => t.blockHeight !== null && heights.has(t.txid) && heights.get(t.txid) === null),
    vanished: missing.filter(([, height]) => height === null).map(([txid]) => txid),
    removed: scope === 'partial' ? [] : missing.filter(([, height]) => height !== null).map(([txid]) => txid),
    restored: scope === 'repair' ? fresh : [],
  };
}

/** A history that changed nothing: the address was not stored, and it is not ours to create. */
export function noChanges(history: AddressHistory): AddressChanges {
  return diffHistory({ isNewAddress: false, heights: new Map() }, { ...history, txs: [] }, 'partial');
}

/** What two histories applied one after the other changed of one address, as one. */
export function mergeChanges(a: AddressChanges, b: AddressChanges): AddressChanges {
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

/** Whether applying the history changed anything a notice could be about. */
export function hasChanges(changes: AddressChanges): boolean {
  const { added, confirmed, vanished, removed, restored } = changes;
  return added.length + confirmed.length + vanished.length + removed.length + restored.length > 0;
}
