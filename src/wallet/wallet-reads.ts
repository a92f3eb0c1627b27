/** What members look up of a whole wallet: /balance and /txns of its label, and its /addresses row. */
import type { RequestOptions } from '../chain/provider.js';
import { createProviderUnavailableError } from '../errors.js';
import { ask, type WalletContext } from './context.js';
import type { Source } from './reads.js';
import type { RefreshMany } from './refresh.js';
import type { StoredTx } from './repository.js';
import { shortOf } from './wallets.js';
import type { WalletRow, WalletSummary } from './wallet-repository.js';

export interface WalletBalanceView {
  kind: 'wallet';
  label: string;
  short: string;
  /** the sum of its addresses' balances */
  balance: bigint;
  /** distinct transactions over its addresses */
  txCount: number;
  /** addresses watched, and how many have transactions */
  watched: number;
  used: number;
  gap: number;
  /** as fresh as its least recently checked address */
  asOf: Date;
  source: Source;
}

export interface WalletTxnsView {
  kind: 'wallet';
  label: string;
  short: string;
  /** one row per transaction, with its net over all the wallet's addresses */
  txs: StoredTx[];
  total: number;
  listed: number;
  asOf: Date;
  source: Source;
}

/** A wallet's row in /addresses: one row however many addresses it watches. */
export interface WalletListed {
  kind: 'wallet';
  label: string;
  short: string;
  balance: bigint;
  watched: number;
  used: number;
  addedBy: string;
  createdAt: Date;
  balanceUpdatedAt: Date;
}

export async function walletBalance(ctx: WalletContext, refreshMany: RefreshMany, wallet: WalletRow, fresh: boolean, request: RequestOptions): Promise<WalletBalanceView> {
  if (fresh) await refreshWallet(ctx, refreshMany, wallet, request);
  const [summary] = await ctx.repo.summarise([wallet]);
  const { balance, txCount, watched, used, asOf } = summary!;
  return { kind: 'wallet', label: wallet.label, short: shortOf(ctx, wallet), balance, txCount, watched, used, gap: wallet.gap, asOf, source: fresh ? 'live' : 'stored' };
}

export async function walletTxns(
  ctx: WalletContext,
  refreshMany: RefreshMany,
  wallet: WalletRow,
  { fresh, limit, offset, request }: { fresh: boolean; limit: number; offset: number; request: RequestOptions },
): Promise<WalletTxnsView> {
  if (fresh) await refreshWallet(ctx, refreshMany, wallet, request);
  const [[summary], { txs, total }] = await Promise.all([ctx.repo.summarise([wallet]), ctx.repo.listWalletTxs(wallet.id, { limit, offset })]);
  return { kind: 'wallet', label: wallet.label, short: shortOf(ctx, wallet), txs, total, listed: total, asOf: summary!.asOf, source: fresh ? 'live' : 'stored' };
}

/** A wallet's /addresses row from its summary. */
export function walletListed(ctx: WalletContext, { wallet, balance, watched, used, asOf }: WalletSummary): WalletListed {
  return { kind: 'wallet', label: wallet.label, short: shortOf(ctx, wallet), balance, watched, used, addedBy: wallet.addedBy, createdAt: wallet.createdAt, balanceUpdatedAt: asOf };
}

/**
 * fresh:true of a wallet: one batched balance call for all its addresses, then the histories of
 * those that moved only, applied together; the others were checked just now.
 */
async function refreshWallet(ctx: WalletContext, refreshMany: RefreshMany, wallet: WalletRow, request: RequestOptions): Promise<void> {
  const stored = await ctx.repo.walletAddresses(wallet.id);
  const short = shortOf(ctx, wallet);
  const live = await ask(ctx, 'balances', short, () => ctx.provider.getBalances(stored.map((a) => a.address), request));
  const moved: string[] = [];
  const same: { address: string; balance: bigint; txCount: number }[] = [];
  for (const a of stored) {
    const now = live.get(a.address);
    if (!now) throw createProviderUnavailableError(ctx.provider.name, new Error(`no balance returned for ${a.address}`), { failure: 'invalid', changes: false });
    if (now.balance !== a.balance || now.txCount !== a.txCount) moved.push(a.address);
    else same.push(a);
  }
  if (same.length) await ctx.repo.markChecked(same, ctx.clock());
  if (moved.length) await refreshMany(moved, request);
}
