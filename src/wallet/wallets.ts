/** Whole wallets as one watch: /track of an extended key or descriptor, /untrack and /label of one. */
import { parseWallet, type WalletDescriptor } from '../chain/descriptor/index.js';
import type { Database } from '../db/client.js';
import { isTransientDatabaseError, retryTransient } from '../db/retry.js';
import { walletAddresses, wallets } from '../db/schema.js';
import { createNotTrackedError, createWalletAlreadyTrackedError, UserError, value, words } from '../errors.js';
import { personal, type WalletContext } from './context.js';
import { INSERT_CHUNK } from './history-rows.js';
import { checkText } from './input.js';
import { checkLabel, defaultWalletLabel, isUniqueViolation, labelClash, normaliseLabel } from './labels.js';
import { type ScannedAddress, type ScanProgress, scanWallet } from './wallet-scan.js';
import type { TrackInput } from './watches.js';
import type { WalletRow } from './wallet-repository.js';

/** Unused addresses in a row watched past the last used one on each chain, unless /track says otherwise. */
export const DEFAULT_GAP = 20;
export const MAX_GAP = 1_000;

/** What tracking a wallet found and stored: the /track reply shows it privately. */
export interface TrackedWallet {
  kind: 'wallet';
  label: string;
  /** the key or descriptor shortened: never the whole of it */
  short: string;
  checksum: string;
  /** false: the pasted text had no checksum, so the reply shows it to keep with the descriptor */
  checksumGiven: boolean;
  balance: bigint;
  /** distinct transactions over its addresses */
  txCount: number;
  /** addresses asked for during the scan (all watched now), and how many had transactions */
  scanned: number;
  used: number;
  gap: number;
  asOf: Date;
}

export interface WalletTrackInput extends TrackInput {
  gap?: number | null;
  onScan?: (progress: ScanProgress) => void;
}

/** The gap as typed (Discord enforces the range; the shell and others may not). */
function checkGap(gap: number | null | undefined): number {
  if (gap == null) return DEFAULT_GAP;
  if (!Number.isInteger(gap) || gap < 1 || gap > MAX_GAP) {
    throw new UserError('invalid_input', words`The ${value('gap')} is a whole number from 1 to ${value(String(MAX_GAP))}.`);
  }
  return gap;
}

/** Parse, check label and cap, scan, then store every address and the wallet in one transaction. */
export async function trackWallet(ctx: WalletContext, input: WalletTrackInput): Promise<TrackedWallet> {
  const wallet = parseWallet(checkText(input.address, 'The wallet'), ctx.network);
  const gap = checkGap(input.gap);
  const given = normaliseLabel(input.label);
  const existing =
    (await ctx.repo.findWalletByDescriptor(input.guildId, wallet.descriptor)) ?? (await ctx.repo.findWalletByFirstAddress(input.guildId, wallet.derive(0, 0)));
  if (existing) throw createWalletAlreadyTrackedError(existing.label);
  if (given) await checkLabel(ctx, input.guildId, given);
  const label = given ?? (await defaultWalletLabel(ctx, input.guildId));
  const { release, room } = await ctx.reserve(input.guildId, wallet.chains * gap);
  try {
    const request = personal(input.guildId, input.onWait);
    const scanned = await scanWallet(ctx, wallet, { gap, request, room, onProgress: input.onScan });
    const at = ctx.clock();
    await storeWallet(ctx, input, { wallet, label, gap, scanned, at });
    const txids = new Set(scanned.flatMap((s) => s.history.txs.map((t) => t.txid)));
    const used = scanned.filter((s) => s.history.balance.txCount > 0).length;
    ctx.logger.info({ guildId: input.guildId, wallet: wallet.short, addresses: scanned.length, used }, 'tracked a wallet');
    ctx.watchesChanged?.notify();
    const balance = scanned.reduce((sum, s) => sum + s.history.balance.balance, 0n);
    return {
      kind: 'wallet',
      label,
      short: wallet.short,
      checksum: wallet.checksum,
      checksumGiven: wallet.checksumGiven,
      balance,
      txCount: txids.size,
      scanned: scanned.length,
      used,
      gap,
      asOf: at,
    };
  } finally {
    release();
  }
}

interface NewWallet {
  wallet: WalletDescriptor;
  label: string;
  gap: number;
  scanned: ScannedAddress[];
  at: Date;
}

/**
 * Every address's history by the one road (a new address is a baseline: no notices), then the
 * wallet and its addresses, in one transaction: its server hears of nothing from before.
 */
async function storeWallet(ctx: WalletContext, input: WalletTrackInput, w: NewWallet): Promise<void> {
  const items = w.scanned.map((s) => ({ history: s.history })).sort((a, b) => (a.history.balance.address < b.history.balance.address ? -1 : 1));
  try {
    await ctx.applyHistories(items, { at: w.at, create: true, then: (tx) => insertWallet(tx, input, w) });
  } catch (err) {
    // A repeat after a lost connection finds the wallet the lost attempt committed: stamped with
    // this attempt's time and member, it is ours.
    const now = await ctx.repo.findWalletByDescriptor(input.guildId, w.wallet.descriptor).catch(() => undefined);
    if (now && now.addedBy === input.userId && now.createdAt.getTime() === w.at.getTime()) return;
    if (now) throw createWalletAlreadyTrackedError(now.label);
    if (isTransientDatabaseError(err) || !isUniqueViolation(err)) throw err;
    throw await labelClash(ctx, err, input.guildId, w.label);
  }
}

async function insertWallet(tx: Database, input: WalletTrackInput, w: NewWallet): Promise<void> {
  const [row] = await tx
    .insert(wallets)
    .values({ guildId: input.guildId, descriptor: w.wallet.descriptor, label: w.label, gap: w.gap, addedBy: input.userId, createdAt: w.at })
    .returning({ id: wallets.id });
  const links = w.scanned.map((s) => ({ walletId: row!.id, chain: s.chain, index: s.index, address: s.history.balance.address }));
  for (let i = 0; i < links.length; i += INSERT_CHUNK) await tx.insert(walletAddresses).values(links.slice(i, i + INSERT_CHUNK));
}

/** Remove a server's wallet and every address of it that nothing else watches. */
export async function untrackWallet(ctx: WalletContext, guildId: string, wallet: WalletRow) {
  const { repo, logger } = ctx;
  // Removing twice is harmless: a removal cut off by a lost connection is repeated, and a repeat
  // that finds nothing after a lost one that committed finds the wallet gone, which is the answer.
  let inDoubt = false;
  const removed = await retryTransient(() => repo.removeWallet(guildId, wallet.id), { logger, what: 'untracking a wallet', onRetry: () => (inDoubt = true) });
  if (!removed && !inDoubt) throw createNotTrackedError(wallet.label);
  const short = shortOf(ctx, wallet);
  logger.info({ guildId, wallet: short }, 'untracked a wallet');
  ctx.watchesChanged?.notify();
  return { kind: 'wallet' as const, label: wallet.label, short };
}

/** Give a server's wallet a new label; a label any other watch or wallet of the server has is refused. */
export async function renameWallet(ctx: WalletContext, guildId: string, wallet: WalletRow, label: string) {
  await checkLabel(ctx, guildId, label, { walletId: wallet.id });
  let renamed: { previous: string } | undefined;
  try {
    renamed = await retryTransient(() => ctx.repo.setWalletLabel(guildId, wallet.id, label), { logger: ctx.logger, what: 'renaming a wallet' });
  } catch (err) {
    throw await labelClash(ctx, err, guildId, label);
  }
  if (!renamed) throw createNotTrackedError(wallet.label);
  const short = shortOf(ctx, wallet);
  ctx.logger.info({ guildId, wallet: short }, 'renamed a wallet');
  // A repeat of an update that had committed reads back the new label as the old one.
  return { kind: 'wallet' as const, label, previous: renamed.previous === label ? wallet.label : renamed.previous, short };
}

/** The stored descriptor's short form, for replies and logs. */
export const shortOf = (ctx: WalletContext, wallet: WalletRow) => ctx.loadDescriptor(wallet.descriptor).short;
