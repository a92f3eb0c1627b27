/**
 * The use cases behind the slash commands and the sync, as one service. Knows nothing of Discord.
 * Each group lives in a module of its own: watches.ts (track, untrack, rename), wallets.ts and
 * wallet-scan.ts (the same of a whole wallet), reads.ts and wallet-reads.ts (balance, txns,
 * listPage, suggest), refresh.ts (fresh:true and the sync); all of them store what a provider
 * said through apply-history.ts.
 */
import { parseAddress } from '../chain/address.js';
import { looksLikeWallet, parseWallet } from '../chain/descriptor/index.js';
import type { KnownTx } from '../chain/electrum/history.js';
import type { AddressHistory } from '../chain/provider.js';
import { retryTransient } from '../db/retry.js';
import { createWalletContext, type WalletContext, type WalletDeps } from './context.js';
import { checkText } from './input.js';
import { resolveWatch } from './labels.js';
import type { AddressChanges } from './history-diff.js';
import { createReadUseCases } from './reads.js';
import { createRefresh, createRefreshMany } from './refresh.js';
import { createWatchUseCases } from './watches.js';

export type { Now, OnWait, WalletDeps } from './context.js';
export type { AddressListed, BalanceView, Source, Suggestion, TxnsView } from './reads.js';
export type { ScanProgress } from './wallet-scan.js';
export type { WalletBalanceView, WalletListed, WalletTxnsView } from './wallet-reads.js';
export { DEFAULT_GAP, MAX_GAP, type TrackedWallet, type WalletTrackInput } from './wallets.js';
export type { Renamed, TrackedAddress, Untracked } from './watches.js';
export { FRESH_TTL_MS } from './refresh.js';

export function createWalletService(deps: WalletDeps) {
  const ctx = createWalletContext(deps);
  const refresh = createRefresh(ctx);
  const refreshMany = createRefreshMany(ctx);
  return {
    /** Validate an address for this network: throws a user error saying what is wrong with it. */
    parseAddress: (input: string) => parseAddress(checkText(input, 'The address'), ctx.network),
    /** An address, or the label of one of the server's watches or wallets: which one it names. */
    resolveWatch: (input: { guildId: string; address: string }) => resolveWatch(ctx, input.guildId, input.address),
    /** Whether the input is an extended key or descriptor (a cheap shape test): /track of it is private. */
    isWallet: (input: string) => looksLikeWallet(input),
    /** Parse a wallet for this network: throws a user error saying what is wrong (a private key, a bad checksum…). */
    parseWallet: (input: string) => parseWallet(checkText(input, 'The wallet'), ctx.network),
    ...createWatchUseCases(ctx),
    ...createReadUseCases(ctx, refresh, refreshMany),
    refresh,
    refreshMany,
    ...syncReads(ctx),
    ...pushUseCases(ctx),
  };
}

export type WalletService = ReturnType<typeof createWalletService>;

/** What a push source (src/sync/push.ts) reads and stores. */
function pushUseCases(ctx: WalletContext) {
  const { repo, clock, applyHistory, applyHistories } = ctx;
  return {
    /** What is stored of these txids of the address, for a source to reuse rather than fetch. */
    async knownTxs(address: string, txids: readonly string[]): Promise<Map<string, KnownTx>> {
      return new Map((await repo.knownTxs(address, txids)).map((t) => [t.txid, t]));
    },
    /**
     * Store a complete history a server pushed, by the one road (notices in the same transaction),
     * then the status it has: a later push or reconnect with that status has nothing new.
     */
    async applyPushed(history: AddressHistory, status: string | null, tipHeight?: number): Promise<AddressChanges> {
      const applied = await applyHistory(history, { at: clock(), scope: 'complete', tipHeight });
      if (applied.consistent) await repo.setElectrumStatus(history.balance.address, status);
      return applied.changes;
    },
    /**
     * Complete histories of one wallet's addresses that a server pushed together, stored in one
     * transaction (a payment out with its change back is one notice), then each one's status.
     */
    async applyPushedMany(pushed: readonly { history: AddressHistory; status: string | null }[], tipHeight?: number): Promise<AddressChanges[]> {
      const applied = await applyHistories(
        pushed.map(({ history }) => ({ history, scope: 'complete' as const, tipHeight })),
        { at: clock() },
      );
      for (const [i, result] of applied.entries()) {
        const { history, status } = pushed[i]!;
        if (result.consistent) await repo.setElectrumStatus(history.balance.address, status);
      }
      return applied.map((a) => a.changes);
    },
  };
}

/** What the sync reads and mends besides refreshing addresses. */
function syncReads({ repo, logger, clock }: WalletContext) {
  return {
    /** Every address some server watches, with what is stored of it: the sync's work list. */
    trackedAddresses: () => repo.trackedAddresses(),
    /** These addresses' balances and counts were just found as stored: "updated just now". */
    markChecked: (seen: readonly { address: string; balance: bigint; txCount: number }[]) =>
      seen.length ? repo.markChecked(seen, clock()) : Promise.resolve(),
    /** Heights of stored confirmed txs still showing a first-seen time, newest first: the sync asks their block times. */
    heightsLackingBlockTime: (limit: number) => retryTransient(() => repo.heightsLackingBlockTime(limit), { logger, what: 'reading missing block times' }),
    /** These blocks' times, for every stored tx in them; returns how many txs changed. */
    storeBlockTimes: (times: ReadonlyMap<number, Date>) =>
      times.size ? retryTransient(() => repo.storeBlockTimes(times), { logger, what: 'storing block times' }) : Promise.resolve(0),
  };
}
