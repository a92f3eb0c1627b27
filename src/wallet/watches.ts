/** A server's watches: /track, /untrack and /label, of an address or (src/wallet/wallets.ts) a whole wallet. */
import { parseAddress } from '../chain/address.js';
import { looksLikeWallet } from '../chain/descriptor/index.js';
import type { AddressHistory } from '../chain/provider.js';
import { isTransientDatabaseError, retryTransient } from '../db/retry.js';
import { createAlreadyTrackedError, createNotTrackedError, UserError } from '../errors.js';
import { ask, type OnWait, personal, type WalletContext } from './context.js';
import { checkText } from './input.js';
import { checkLabel, labelClash, normaliseLabel, resolveWatch } from './labels.js';
import { renameWallet, type TrackedWallet, trackWallet, untrackWallet, type WalletTrackInput } from './wallets.js';

export interface TrackInput {
  guildId: string;
  userId: string;
  address: string;
  label?: string | null;
  /** hears how far fetching a long history has got */
  onProgress?: (fetched: number, total: number) => void;
  /** hears why it is not getting on */
  onWait?: OnWait;
}

/** What tracking a single address stored (a wallet's has kind 'wallet'). */
export interface TrackedAddress {
  kind?: undefined;
  address: string;
  label: string | null;
  balance: bigint;
  txCount: number;
  asOf: Date;
}

export type Untracked = { kind?: undefined; address: string; label: string | null } | { kind: 'wallet'; label: string; short: string };
export type Renamed =
  | { kind?: undefined; address: string; label: string; previous: string | null }
  | { kind: 'wallet'; label: string; previous: string; short: string };

export function createWatchUseCases(ctx: WalletContext) {
  return {
    /** Track an address, or a whole wallet when the input is an extended key or a descriptor. */
    async track(input: WalletTrackInput): Promise<TrackedAddress | TrackedWallet> {
      if (looksLikeWallet(checkText(input.address, 'The address'))) return trackWallet(ctx, input);
      const { address } = parseAddress(input.address, ctx.network);
      const label = normaliseLabel(input.label);
      const existing = await ctx.repo.findWatch(input.guildId, address);
      if (existing) throw createAlreadyTrackedError(address, existing.label);
      if (label) await checkLabel(ctx, input.guildId, label, { address });
      const { release } = await ctx.reserve(input.guildId);
      try {
        return await addWatch(ctx, input, address, label);
      } finally {
        release();
      }
    },
    /** Stop watching an address, or a wallet (by its label) and its addresses that nothing else watches. */
    async untrack(input: { guildId: string; address: string }): Promise<Untracked> {
      const found = await resolveWatch(ctx, input.guildId, input.address);
      return found.kind === 'wallet' ? untrackWallet(ctx, input.guildId, found.wallet) : untrack(ctx, input.guildId, found.address);
    },
    /** Give a watch or wallet of this server a new label; a label another one has is refused. */
    async rename(input: { guildId: string; address: string; label: string }): Promise<Renamed> {
      const found = await resolveWatch(ctx, input.guildId, input.address);
      const label = normaliseLabel(input.label);
      if (!label) throw new UserError('invalid_input', 'A label needs at least one character that is not a space.');
      return found.kind === 'wallet' ? renameWallet(ctx, input.guildId, found.wallet, label) : rename(ctx, input.guildId, found.address, label);
    },
  };
}

/** Fetch the history and apply it with this server's watch. */
async function addWatch(ctx: WalletContext, input: TrackInput, address: string, label: string | null): Promise<TrackedAddress> {
  const { repo, provider, logger } = ctx;
  // Another server may track it already: then only what is new needs fetching, and quickly.
  const stored = await repo.findAddress(address);
  const knownTxids = stored ? await repo.confirmedTxids(address) : undefined;
  const request = personal(input.guildId, input.onWait);
  const history: AddressHistory = await ask(
    ctx,
    'history',
    address,
    () => provider.getHistory(address, stored ? { ...request, knownTxids } : { ...request, onProgress: input.onProgress }),
    { changes: true },
  );
  const at = ctx.clock();
  let inDoubt = false;
  const watch = { guildId: input.guildId, label, addedBy: input.userId };
  const { watchAdded } = await ctx.applyHistory(history, { at, watch, onDoubt: () => (inDoubt = true) }).catch(async (err: unknown) => {
    // The database went away and stayed away, but our insert may have committed before it did.
    if (isTransientDatabaseError(err) && (await isOurWatch(ctx, input, address, at).catch(() => false))) return { watchAdded: true };
    // Someone gave another address this label since the check: the unique index said no.
    throw label ? await labelClash(ctx, err, input.guildId, label) : err;
  });
  // A repeat after a lost connection finds the watch that the lost attempt committed: it is
  // stamped with this attempt's time, so it is ours and not someone else's.
  if (!watchAdded && !(inDoubt && (await isOurWatch(ctx, input, address, at)))) throw createAlreadyTrackedError(address, label);
  logger.info({ guildId: input.guildId, address, txs: history.txs.length }, 'tracked');
  ctx.watchesChanged?.notify();
  return { address, label, balance: history.balance.balance, txCount: history.balance.txCount, asOf: at };
}

/** Whether this server's watch of `address` is the one that `userId`'s track at `at` inserted. */
async function isOurWatch({ repo }: WalletContext, { guildId, userId }: TrackInput, address: string, at: Date): Promise<boolean> {
  const watch = await repo.findWatch(guildId, address);
  return watch !== undefined && watch.addedBy === userId && watch.createdAt.getTime() === at.getTime();
}

async function untrack(ctx: WalletContext, guildId: string, address: string): Promise<Untracked> {
  const { repo, logger } = ctx;
  const input = { guildId, address };
  const watch = await repo.findWatch(input.guildId, address);
  if (!watch) throw createNotTrackedError(address);
  // Removing twice is harmless, so a removal cut off by a lost connection is repeated; if the
  // lost one had committed, the repeat finds nothing, and the watch being gone is the answer.
  let inDoubt = false;
  const removed = await retryTransient(() => repo.removeWatch(input.guildId, address), {
    logger,
    what: 'untracking',
    onRetry: () => (inDoubt = true),
  }).catch(async (err: unknown) => {
    if (isTransientDatabaseError(err) && !(await repo.findWatch(input.guildId, address).catch(() => watch))) return watch;
    throw err;
  });
  if (!removed && !inDoubt) throw createNotTrackedError(address);
  logger.info({ guildId: input.guildId, address }, 'untracked');
  ctx.watchesChanged?.notify();
  return { address, label: (removed ?? watch).label };
}

async function rename(ctx: WalletContext, guildId: string, address: string, label: string): Promise<Renamed> {
  const { repo, logger } = ctx;
  const input = { guildId, address };
  await checkLabel(ctx, input.guildId, label, { address });
  const before = await repo.findWatch(input.guildId, address);
  let renamed: { previous: string | null } | undefined;
  try {
    // Setting a label twice is harmless, so an update cut off by a lost connection is repeated.
    renamed = await retryTransient(() => repo.setLabel(input.guildId, address, label), { logger, what: 'renaming' });
  } catch (err) {
    // Gone for good, but the update may have committed first: then the label says so.
    const now = isTransientDatabaseError(err) ? await repo.findWatch(input.guildId, address).catch(() => undefined) : undefined;
    if (now?.label === label) renamed = { previous: before?.label ?? null };
    // Someone took the label between the check and the update: the unique index said no.
    else throw await labelClash(ctx, err, input.guildId, label);
  }
  if (!renamed) throw createNotTrackedError(address);
  // A repeat of an update that had committed reads back the new label as the old one.
  if (before && renamed.previous === label) renamed = { previous: before.label };
  logger.info({ guildId: input.guildId, address }, 'renamed');
  return { address, label, previous: renamed.previous };
}
