/**
 * Applying a history: the one way what a provider says of an address gets stored, whoever
 * brought it (a /track, a fresh:true, the sync, a push). In one transaction: write and lock the
 * address row, read what was stored, compute the difference (src/wallet/history-diff.ts), write
 * the rows and the notices, add the watch, move on the gap window of any wallet whose address got
 * used (src/wallet/gap-window.ts), check that the rows add up. Several histories (a wallet's moved
 * addresses) go in one transaction, so their notices commit once, as the last of them left them. The notices
 * commit or roll back with the change itself; once committed, the dispatcher is woken.
 */
import type { Network } from '../chain/address.js';
import type { AddressHistory, ChainTx } from '../chain/provider.js';
import type { Database } from '../db/client.js';
import { retryTransient } from '../db/retry.js';
import type { Logger } from '../logger.js';
import type { NoticeSignal } from '../sync/notice-signal.js';
import { batchOfLines } from '../sync/notice-watchers.js';
import { writeNotices } from '../sync/notice-writer.js';
import { createDescriptorCache, type DescriptorCache, extendGapWindows } from './gap-window.js';
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

/** One of several histories stored together. */
export interface HistoryToApply {
  history: AddressHistory;
  /** default: 'complete' when the history is, else 'partial' */
  scope?: HistoryScope;
  tipHeight?: number;
}

export interface ApplyManyOptions {
  at: Date;
  /** create the rows of addresses not stored yet (tracking a wallet): their histories are a baseline */
  create?: boolean;
  onDoubt?: (() => void);
  /**
   * In the same transaction, after every row and notice (so its watchers hear nothing of history
   * from before): what tracking a wallet adds, its `wallets` and `wallet_addresses` rows.
   */
  then?: (tx: Database) => Promise<void>;
}

/**
 * Several histories in one transaction: a wallet's payment out with its change back is one notice
 * with the wallet's net, never half of it. Pass them sorted by address: their rows are locked in
 * that order, so two applies of overlapping sets take turns rather than deadlock.
 */
export type ApplyHistories = (items: readonly HistoryToApply[], options: ApplyManyOptions) => Promise<AppliedHistory[]>;

export interface ApplyDeps {
  db: Database;
  logger: Logger;
  noticesWritten?: NoticeSignal;
  /** told after a wallet's gap window moved on: the push source subscribes the new addresses */
  watchesChanged?: NoticeSignal;
  network?: Network;
}

export function createApplyHistory(deps: ApplyDeps): ApplyHistory {
  const run = createRun(deps);
  return async (history, { at, scope = 'partial', tipHeight, watch, onDoubt }) => {
    const [result] = await run([{ history, scope, tipHeight }], { at, create: watch !== undefined, watch, onDoubt });
    return result!;
  };
}

export function createApplyHistories(deps: ApplyDeps): ApplyHistories {
  const run = createRun(deps);
  return (items, options) => (items.length ? run(items, options) : Promise.resolve([]));
}

function createRun({ db, logger, noticesWritten, watchesChanged, network = 'mainnet' }: ApplyDeps) {
  const load = createDescriptorCache(network);
  return async (items: readonly HistoryToApply[], options: ApplyManyOptions & { watch?: NewWatch }) => {
    // An apply cut off by a lost connection is repeated: one that did commit left nothing for the
    // repeat to change (it compares before it writes), so no notice is written twice.
    const applied = await retryTransient(() => db.transaction((tx) => applyInTransaction(tx, items, options, { load, logger })), {
      logger,
      what: items.length === 1 ? 'storing a history' : `storing ${items.length} histories`,
      onRetry: options.onDoubt,
    });
    if (applied.results.some((r) => hasChanges(r.changes))) noticesWritten?.notify();
    if (applied.grown) watchesChanged?.notify();
    return applied.results;
  };
}

interface Stored {
  item: HistoryToApply;
  changes: AddressChanges;
  written: boolean;
}

async function applyInTransaction(
  tx: Database,
  items: readonly HistoryToApply[],
  { at, create = false, watch, then }: ApplyManyOptions & { watch?: NewWatch },
  { load, logger }: { load: DescriptorCache; logger: Logger },
): Promise<{ results: AppliedHistory[]; grown: number }> {
  // Every row first, then the notices: a wallet's balance after a transaction is its balance now
  // walked back over every newer transaction of the batch, whichever address brought it. A later
  // history of the same transaction edits the notice an earlier one wrote, before anyone sees it.
  // And no notice is locked while an address row is still to be locked: a single apply of one of
  // these addresses, which locks its row and then the notice, takes its turn rather than deadlock.
  const stored = new Map<HistoryToApply, Stored>();
  for (const item of items) stored.set(item, await storeRows(tx, item, at, create));
  const written = [...stored.values()].filter((s) => s.written);
  const news = written.filter((s) => !s.changes.isNewAddress && s.changes.added.length);
  const batch = items.length > 1 && news.length ? batchOfLines(newestFirst(news.map((s) => s.changes.added))) : undefined;
  for (const s of written) await writeNotices(tx, s.changes, at, batch);
  const watchAdded = watch ? await insertWatch(tx, items[0]!.history.balance.address, watch, at) : false;
  await then?.(tx);
  const used = [...stored.values()].filter((s) => s.written && s.item.history.balance.txCount > 0).map((s) => s.changes.address);
  const grown = await extendGapWindows(tx, used, at, load, logger);
  const results: AppliedHistory[] = [];
  for (const item of items) {
    const s = stored.get(item)!;
    const consistent = s.written ? await addsUp(tx, item.history.balance) : true;
    results.push({ changes: s.changes, watchAdded, consistent, at });
  }
  return { results, grown };
}

/** Write the address row (which locks it), compare, and write the transaction rows. */
async function storeRows(tx: Database, item: HistoryToApply, at: Date, create: boolean): Promise<Stored> {
  const { history, tipHeight } = item;
  const scope = item.scope ?? (history.complete ? 'complete' : 'partial');
  const { address } = history.balance;
  const written = await writeAddress(tx, history.balance, at, { create, tipHeight });
  if (!written) return { item, changes: noChanges(history), written: false };
  const heights = written.inserted
    ? new Map<string, number | null>()
    : await storedHeights(tx, address, scope === 'partial' ? history.txs.map((t) => t.txid) : undefined);
  const changes = diffHistory({ isNewAddress: written.inserted, heights }, history, scope);
  await writeTxs(tx, address, history.txs);
  await unlinkTxs(tx, address, [...changes.vanished, ...changes.removed]);
  return { item, changes, written: true };
}

/**
 * Several addresses' new transactions (each list newest first, as its history gave them) as one
 * list, newest first: the unconfirmed before any confirmed, a later block before an earlier one,
 * then the later time, and otherwise in the order the lists give them; a transaction in several
 * lists comes once.
 */
export function newestFirst(lists: readonly (readonly ChainTx[])[]): ChainTx[] {
  const seen = new Set<string>();
  const all = lists.flat().filter((t) => !seen.has(t.txid) && seen.add(t.txid));
  const height = (t: ChainTx) => t.blockHeight ?? Number.MAX_SAFE_INTEGER;
  // Array.prototype.sort is stable: equal ones keep the lists' order.
  return all.sort((a, b) => height(b) - height(a) || b.time.getTime() - a.time.getTime());
}
