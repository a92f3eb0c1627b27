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
