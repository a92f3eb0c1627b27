/** What members look up: /balance, /txns, /addresses and autocomplete. */
import type { AddressBalance, AddressHistory, RequestOptions } from '../chain/provider.js';
import { createNotTrackedError, createProviderUnavailableError } from '../errors.js';
import { createCoalescer } from './coalesce.js';
import { ask, type OnWait, personal, type WalletContext } from './context.js';
import { isSearchable } from './input.js';
import { resolveAddress } from './labels.js';
import { FRESH_TTL_MS, type Refresh } from './refresh.js';
import type { StoredTx } from './repository.js';

/** Where a figure came from: our database (as of `asOf`) or the provider just now. */
export type Source = 'stored' | 'live';

export interface BalanceView {
  address: string;
  label: string | null;
  tracked: boolean;
  balance: bigint;
  txCount: number;
  asOf: Date;
  source: Source;
}

export interface TxnsView {
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

export function createReadUseCases(ctx: WalletContext, refresh: Refresh) {
  const now = () => ctx.clock().getTime();
  const lookups: Lookups = {
    balances: createCoalescer<AddressBalance>({ ttlMs: FRESH_TTL_MS, now }),
    histories: createCoalescer<AddressHistory>({ ttlMs: FRESH_TTL_MS, now }),
  };
  return {
    balance: (input: BalanceInput) => balance(ctx, refresh, lookups, input),
    txns: (input: TxnsInput) => txns(ctx, refresh, lookups, input),
    /** One page of a server's watches, oldest first, with the count and total balance of them all. */
    async listPage(input: { guildId: string; limit: number; offset: number }) {
      const [watches, totals] = await Promise.all([
        ctx.repo.listWatches(input.guildId, { limit: input.limit, offset: input.offset }),
        ctx.repo.watchTotals(input.guildId),
      ]);
      return { watches, total: totals.count, totalBalance: totals.balance };
    },
    suggest: (input: { guildId: string; fragment: string; limit?: number }) => suggest(ctx, input),
  };
}

async function balance(ctx: WalletContext, refresh: Refresh, { balances }: Lookups, input: BalanceInput): Promise<BalanceView> {
  const { repo, provider } = ctx;
  const address = await resolveAddress(ctx, input.guildId, input.address);
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

async function txns(ctx: WalletContext, refresh: Refresh, { histories }: Lookups, input: TxnsInput): Promise<TxnsView> {
  const { repo, provider } = ctx;
  const address = await resolveAddress(ctx, input.guildId, input.address);
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

/** Watches of a server whose address or label contains `fragment`, for autocomplete. */
async function suggest({ repo }: WalletContext, input: { guildId: string; fragment: string; limit?: number }) {
  if (!isSearchable(input.fragment)) return [];
  const needle = input.fragment.trim().replace(/\s+/g, ' ').toLowerCase();
  const watches = await repo.listWatches(input.guildId);
  // A label that starts with what was typed is the likeliest pick, then any other match.
  const rank = (w: (typeof watches)[number]) => (w.label?.toLowerCase().startsWith(needle) ? 0 : 1);
  return watches
    .filter((w) => !needle || w.address.toLowerCase().includes(needle) || w.label?.toLowerCase().includes(needle))
    .sort((a, b) => rank(a) - rank(b))
    .slice(0, input.limit ?? 25);
}
