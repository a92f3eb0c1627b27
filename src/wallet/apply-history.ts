/**
 * Applying a history: the one way what a provider says of an address gets stored, whoever
 * brought it (a /track, a fresh:true, the sync). In one transaction: write and lock the address
 * row, read what was stored, compute the difference (src/wallet/history-diff.ts), write the rows
 * and the notices, add the watch, check that the rows add up. The notices commit or roll back
 * with the change itself; once committed, the dispatcher is woken.
 */
import type { AddressHistory } from '../chain/provider.js';
import type { Database } from '../db/client.js';
import { retryTransient } from '../db/retry.js';
import type { Logger } from '../logger.js';
import type { NoticeSignal } from '../sync/notice-signal.js';
import { writeNotices } from '../sync/notice-writer.js';
import { type AddressChanges, diffHistory, type HistoryScope, hasChanges, noChanges } from './history-diff.js';
import { addsUp, insertWatch, type NewWatch, storedHeights, unlinkTxs, writeAddress, writeTxs } from './history-rows.js';

export interface ApplyOptions {
  /** when the history was read: the stored times, and the watch's, say so */
  at: Date;
  /** how far the history speaks for the chain; default 'partial' */
  scope?: HistoryScope;
  /** the chain's tip asked before the history was read (see addresses.txsTipHeight) */
  tipHeight?: number;
  /**
   * Also add this server's watch, after the notices: a server is not told about history from
   * before it tracked the address. Only tracking may create the address's row.
   */
  watch?: NewWatch;
  /** hears of each attempt cut off by a lost connection, whose outcome is unknown */
  onDoubt?: (() => void);
}

export interface AppliedHistory {
  changes: AddressChanges;
  watchAdded: boolean;
  /**
   * Whether what is now stored of the address adds up to the provider's balance and count; when
   * not, the caller fetches the full history and applies it as 'repair'.
   */
  consistent: boolean;
  at: Date;
}

export type ApplyHistory = (history: AddressHistory, options: ApplyOptions) => Promise<AppliedHistory>;

export function createApplyHistory({ db, logger, noticesWritten }: { db: Database; logger: Logger; noticesWritten?: NoticeSignal }): ApplyHistory {
  return async (history, options) => {
    // An apply cut off by a lost connection is repeated: one that did commit left nothing for the
    // repeat to change (it compares before it writes), so no notice is written twice.
    const applied = await retryTransient(() => db.transaction((tx) => applyInTransaction(tx, history, options)), {
      logger,
      what: 'storing a history',
      onRetry: options.onDoubt,
    });
    if (hasChanges(applied.changes)) noticesWritten?.notify();
    return applied;
  };
}

/**
 * The apply inside a transaction the caller holds: several addresses applied in one (a wallet's
 * moved addresses) commit together, and each one's notices see the links of those before it.
 */
export async function applyInTransaction(tx: Database, history: AddressHistory, { at, scope = 'partial', tipHeight, watch }: ApplyOptions): Promise<AppliedHistory> {
  const { address } = history.balance;
  const written = await writeAddress(tx, history.balance, at, { create: watch !== undefined, tipHeight });
  if (!written) return { changes: noChanges(history), watchAdded: false, consistent: true, at };
  const heights = written.inserted
    ? new Map<string, number | null>()
    : await storedHeights(tx, address, scope === 'partial' ? history.txs.map((t) => t.txid) : undefined);
  const changes = diffHistory({ isNewAddress: written.inserted, heights }, history, scope);
  await writeTxs(tx, address, history.txs);
  await unlinkTxs(tx, address, [...changes.vanished, ...changes.removed]);
  await writeNotices(tx, changes, at);
  const consistent = await addsUp(tx, history.balance);
  const watchAdded = watch ? await insertWatch(tx, address, watch, at) : false;
  return { changes, watchAdded, consistent, at };
}
