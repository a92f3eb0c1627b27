/**
 * The status of a script hash, as an Electrum server computes it: sha256 over `tx_hash:height:`
 * for each transaction of its history, or null when the history is empty. A status says only
 * that a history changed; comparing the one a server sends with the one its history gives is how
 * a history that contradicts the server's own status is caught.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex } from '@noble/hashes/utils.js';

export interface HistoryEntry {
  /** the tx_hash of get_history: hex as displayed */
  txid: string;
  /** its block's height; 0 in the mempool with every input confirmed, -1 with an unconfirmed input */
  height: number;
}

/**
 * The entries in the order the status is computed over (protocol 1.6): confirmed ones by height,
 * keeping the given order within a block (the server lists them by position in the block, which
 * a history does not otherwise say), then mempool ones by (-height, tx_hash).
 */
export function statusOrder<T extends HistoryEntry>(history: readonly T[]): T[] {
  const confirmed = history.filter((e) => e.height > 0);
  const mempool = history.filter((e) => e.height <= 0);
  // Array.prototype.sort is stable, so a block's own order survives.
  confirmed.sort((a, b) => a.height - b.height);
  mempool.sort((a, b) => b.height - a.height || (a.txid < b.txid ? -1 : a.txid > b.txid ? 1 : 0));
  return [...confirmed, ...mempool];
}

/**
 * The status of `history` in the canonical order of protocol 1.6. Servers before 1.6 hashed their
 * mempool in an order of their own: for them, hash the history as listed (statusAsListed).
 */
export function historyStatus(history: readonly HistoryEntry[]): string | null {
  return statusAsListed(statusOrder(history));
}

/** the status of `history` hashed in exactly the order given */
export function statusAsListed(history: readonly HistoryEntry[]): string | null {
  if (history.length === 0) return null;
  const text = history.map((e) => `${e.txid}:${e.height}:`).join('');
  return bytesToHex(sha256(new TextEncoder().encode(text)));
}
