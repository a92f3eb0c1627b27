/** Bringing a stored address up to date: what fresh:true and the sync do. */
import { type RequestOptions, requestOptions } from '../chain/provider.js';
import { createCoalescer } from './coalesce.js';
import { ask, type WalletContext } from './context.js';
import { type AddressChanges, mergeChanges } from './history-diff.js';

/** How long an answer from the provider serves everyone else who asks for it fresh. */
export const FRESH_TTL_MS = 5_000;

export interface RefreshOptions {
  /** also accept a refresh finished a few seconds ago (for people asking fresh:true, not for the sync) */
  reuseRecent?: boolean;
  /**
   * The chain's tip asked before this call, stored with the history so that the sync knows when
   * to look at its unconfirmed transactions again.
   */
  tipHeight?: number;
}

export type Refresh = (address: string, request?: RequestOptions | AbortSignal, options?: RefreshOptions) => Promise<AddressChanges>;

/** Calls for one address at the same time share one fetch. */
export function createRefresh(ctx: WalletContext): Refresh {
  const refreshes = createCoalescer<AddressChanges>({ ttlMs: FRESH_TTL_MS, now: () => ctx.clock().getTime() });
  return (address, request, { reuseRecent = false, tipHeight } = {}) =>
    refreshes.get(address, () => refreshAddress(ctx, address, requestOptions(request), tipHeight), { useCache: reuseRecent });
}

/**
 * New transactions only, plus any still unconfirmed. When what is then stored does not add up to
 * the provider's balance and count, something wrong got in by some path: the full history is
 * fetched and applied as 'repair', which puts back what was missing and removes what the chain
 * does not have. A history that was complete already said all there is: no second fetch.
 */
async function refreshAddress(ctx: WalletContext, address: string, request: RequestOptions, tipHeight: number | undefined): Promise<AddressChanges> {
  const { repo, provider, logger, applyHistory } = ctx;
  const knownTxids = await repo.confirmedTxids(address);
  const history = await ask(ctx, 'history', address, () => provider.getHistory(address, { ...request, knownTxids }));
  const first = await applyHistory(history, { at: ctx.clock(), scope: history.complete ? 'complete' : 'partial', tipHeight });
  if (first.consistent || history.complete) return first.changes;
  const { balance, txCount } = history.balance;
  logger.warn({ address, balance, txCount }, 'stored history disagrees with the provider; fetching it in full to mend it');
  const full = await ask(ctx, 'history', address, () => provider.getHistory(address, request));
  const repair = await applyHistory(full, { at: ctx.clock(), scope: 'repair', tipHeight });
  return mergeChanges(first.changes, repair.changes);
}

/** Bring several addresses up to date together: their histories are stored in one transaction. */
export type RefreshMany = (addresses: readonly string[], request?: RequestOptions, options?: { tipHeight?: number }) => Promise<AddressChanges[]>;

/**
 * A wallet's moved addresses: each history fetched (new transactions only), then all applied in
 * one transaction, so that a payment out with its change back is announced once, with the
 * wallet's net. An address whose stored rows still disagree with the provider is mended as
 * refreshAddress does, on its own: a repair restores old transactions and announces nothing.
 */
export function createRefreshMany(ctx: WalletContext): RefreshMany {
  return async (given, request = {}, { tipHeight } = {}) => {
    const { repo, provider, logger } = ctx;
    const list = byAddress(given);
    const histories = [];
    for (const address of list) {
      const knownTxids = await repo.confirmedTxids(address);
      histories.push(await ask(ctx, 'history', address, () => provider.getHistory(address, { ...request, knownTxids })));
    }
    const applied = await ctx.applyHistories(
      histories.map((history) => ({ history, tipHeight })),
      { at: ctx.clock() },
    );
    const changes: AddressChanges[] = [];
    for (const [i, first] of applied.entries()) {
      const history = histories[i]!;
      if (first.consistent || history.complete) {
        changes.push(first.changes);
        continue;
      }
      const { address, balance, txCount } = history.balance;
      logger.warn({ address, balance, txCount }, 'stored history disagrees with the provider; fetching it in full to mend it');
      const full = await ask(ctx, 'history', address, () => provider.getHistory(address, request));
      const repair = await ctx.applyHistory(full, { at: ctx.clock(), scope: 'repair', tipHeight });
      changes.push(mergeChanges(first.changes, repair.changes));
    }
    return changes;
  };
}

/** Addresses in the order their rows are locked in (see ApplyHistories). */
const byAddress = (list: readonly string[]): string[] => [...list].sort();
