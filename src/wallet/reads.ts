/** What members look up: /balance, /txns, /addresses and autocomplete, of addresses and (src/wallet/wallet-reads.ts) wallets. */
import type { AddressBalance, AddressHistory, RequestOptions } from '../chain/provider.js';
import { createNotTrackedError, createProviderUnavailableError } from '../errors.js';
import { createCoalescer } from './coalesce.js';
import { ask, type OnWait, personal, type WalletContext } from './context.js';
import { isSearchable } from './input.js';
import { resolveWatch } from './labels.js';
import { FRESH_TTL_MS, type Refresh, type RefreshMany } from './refresh.js';
import { walletBalance, type WalletBalanceView, type WalletListed, walletListed, walletTxns, type WalletTxnsView } from './wallet-reads.js';
import { shortOf } from './wallets.js';
import type { StoredTx } from './repository.js';

/** Where a figure came from: our database (as of `asOf`) or the provider just now. */
export type Source = 'stored' | 'live';

/** An address's balance (a wallet's is a WalletBalanceView, of kind 'wallet'). */
export interface BalanceView {
  kind?: undefined;
  address: string;
  label: string | null;
  tracked: boolean;
  balance: bigint;
  txCount: number;
  asOf: Date;
  source: Source;
}

export interface TxnsView {
  kind?: undefined;
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

export interface BalanceInput {
  guildId: string;
  address: string;
  fresh?: boolean;
  onWait?: OnWait;
}

export interface TxnsInput extends BalanceInput {
  limit?: number;
  offset?: number;
}

/** An untracked address is looked at, not synced: one provider page is enough. */
const LIVE_TXS_LIMIT = 50;

/** Looks at untracked addresses, each shared by everyone who asks for it within a few seconds. */
interface Lookups {
  balances: ReturnType<typeof createCoalescer<AddressBalance>>;
  histories: ReturnType<typeof createCoalescer<AddressHistory>>;
}

/** A single watch's row in /addresses. */
export type AddressListed = Awaited<ReturnType<WalletContext['repo']['listWatches']>>[number] & { kind?: undefined };

/** What autocomplete offers: a watched address, or a wallet by its label. */
export type Suggestion = { kind?: undefined; address: string; label: string | null } | { kind: 'wallet'; label: string; short: string };

export function createReadUseCases(ctx: WalletContext, refresh: Refresh, refreshMany: RefreshMany) {
  const now = () => ctx.clock().getTime();
  const lookups: Lookups = {
    balances: createCoalescer<AddressBalance>({ ttlMs: FRESH_TTL_MS, now }),
    histories: createCoalescer<AddressHistory>({ ttlMs: FRESH_TTL_MS, now }),
  };
  return {
    /** An address's balance, or a wallet's (the sum over its addresses) when the input is its label. */
    async balance(input: BalanceInput): Promise<BalanceView | WalletBalanceView> {
      const found = await resolveWatch(ctx, input.guildId, input.address);
      if (found.kind === 'wallet') return walletBalance(ctx, refreshMany, found.wallet, input.fresh ?? false, personal(input.guildId, input.onWait));
      return balance(ctx, refresh, lookups, input, found.address);
    },
    /** An address's transactions, or a wallet's (one row per transaction, with the wallet's net). */
    async txns(input: TxnsInput): Promise<TxnsView | WalletTxnsView> {
      const found = await resolveWatch(ctx, input.guildId, input.address);
      if (found.kind === 'address') return txns(ctx, refresh, lookups, input, found.address);
      const request = personal(input.guildId, input.onWait);
      return walletTxns(ctx, refreshMany, found.wallet, { fresh: input.fresh ?? false, limit: input.limit ?? 10, offset: input.offset ?? 0, request });
    },
    listPage: (input: { guildId: string; limit: number; offset: number }) => listPage(ctx, input),
    suggest: (input: { guildId: string; fragment: string; limit?: number }) => suggest(ctx, input),
  };
}

async function balance(ctx: WalletContext, refresh: Refresh, { balances }: Lookups, input: BalanceInput, address: string): Promise<BalanceView> {
  const { repo, provider } = ctx;
  const watch = await repo.findWatch(input.guildId, address);
  const request = personal(input.guildId, input.onWait);
  if (!watch) {
    const live = await balances.get(address, async () => {
      const found = (await ask(ctx, 'balance', address, () => provider.getBalances([address], request))).get(address);
      if (!found) throw createProviderUnavailableError(provider.name, new Error(`no balance returned for ${address}`), { failure: 'invalid', changes: false });
      return found;
    });
    return { address, label: null, tracked: false, balance: live.balance, txCount: live.txCount, asOf: ctx.clock(), source: 'live' };
  }
  if (input.fresh) await refresh(address, request, { reuseRecent: true });
  const row = await repo.findAddress(address);
  if (!row) throw createNotTrackedError(address); // untracked between the two reads
  const source = input.fresh ? 'live' : 'stored';
  return { address, label: watch.label, tracked: true, balance: row.balance, txCount: row.txCount, asOf: row.balanceUpdatedAt, source };
}

async function txns(ctx: WalletContext, refresh: Refresh, { histories }: Lookups, input: TxnsInput, address: string): Promise<TxnsView> {
  const { repo, provider } = ctx;
  const limit = input.limit ?? 10;
  const offset = input.offset ?? 0;
  const watch = await repo.findWatch(input.guildId, address);
  const request: RequestOptions = personal(input.guildId, input.onWait);
  if (!watch) {
    const history = await histories.get(address, () =>
      ask(ctx, 'history', address, () => provider.getHistory(address, { ...request, maxTxs: LIVE_TXS_LIMIT })),
    );
    const txs = history.txs.slice(offset, offset + limit);
    return { address, label: null, tracked: false, txs, total: history.balance.txCount, listed: history.txs.length, asOf: ctx.clock(), source: 'live' };
  }
  if (input.fresh) await refresh(address, request, { reuseRecent: true });
  const row = await repo.findAddress(address);
  if (!row) throw createNotTrackedError(address);
  const { txs, total } = await repo.listTxs(address, { limit, offset });
  const asOf = row.txsUpdatedAt ?? row.balanceUpdatedAt;
  return { address, label: watch.label, tracked: true, txs, total, listed: total, asOf, source: input.fresh ? 'live' : 'stored' };
}

/**
 * One page of a server's watches, oldest first: a single address per row, a wallet as one row;
 * with how many rows there are, and the count and total balance of the distinct addresses watched.
 */
async function listPage(ctx: WalletContext, input: { guildId: string; limit: number; offset: number }) {
  const [singles, wallets, totals] = await Promise.all([
    ctx.repo.listWatches(input.guildId),
    ctx.repo.listWallets(input.guildId),
    ctx.repo.watchedAddressTotals(input.guildId),
  ]);
  type Row = { kind: 'address'; row: (typeof singles)[number] } | { kind: 'wallet'; row: (typeof wallets)[number] };
  const rows: Row[] = [...singles.map((row) => ({ kind: 'address' as const, row })), ...wallets.map((row) => ({ kind: 'wallet' as const, row }))];
  rows.sort((a, b) => a.row.createdAt.getTime() - b.row.createdAt.getTime());
  const page = rows.slice(input.offset, input.offset + input.limit);
  const summaries = await ctx.repo.summarise(page.flatMap((r) => (r.kind === 'wallet' ? [r.row] : [])));
  const byId = new Map(summaries.map((s) => [s.wallet.id, s]));
  const watches: (AddressListed | WalletListed)[] = page.map((r) =>
    r.kind === 'address' ? r.row : walletListed(ctx, byId.get(r.row.id)!),
  );
  return { watches, total: rows.length, totalBalance: totals.balance, addresses: totals.count };
}

/** Watches and wallets of a server whose address or label contains `fragment`, for autocomplete. */
async function suggest(ctx: WalletContext, input: { guildId: string; fragment: string; limit?: number }): Promise<Suggestion[]> {
  if (!isSearchable(input.fragment)) return [];
  const needle = input.fragment.trim().replace(/\s+/g, ' ').toLowerCase();
  const [watches, wallets] = await Promise.all([ctx.repo.listWatches(input.guildId), ctx.repo.listWallets(input.guildId)]);
  const found: Suggestion[] = [
    ...watches
      .filter((w) => !needle || w.address.toLowerCase().includes(needle) || w.label?.toLowerCase().includes(needle))
      .map((w) => ({ address: w.address, label: w.label })),
    ...wallets.filter((w) => !needle || w.label.toLowerCase().includes(needle)).map((w) => ({ kind: 'wallet' as const, label: w.label, short: shortOf(ctx, w) })),
  ];
  // A label that starts with what was typed is the likeliest pick, then any other match.
  const rank = (s: Suggestion) => (s.label?.toLowerCase().startsWith(needle) ? 0 : 1);
  return found.sort((a, b) => rank(a) - rank(b)).slice(0, input.limit ?? 25);
}
