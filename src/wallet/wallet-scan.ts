/**
 * Scanning a wallet being tracked: derive `gap` addresses on each chain, ask their balances in
 * batched calls, and go on deriving until the last `gap` of each chain are unused; then fetch the
 * histories of the used ones, in batched calls too when the provider has them. Nothing is stored
 * here: tracking stores it all in one transaction.
 */
import { deriveRange, type WalletDescriptor } from '../chain/descriptor/index.js';
import { ProviderError, type AddressBalance, type AddressHistory, type RequestOptions } from '../chain/provider.js';
import { createProviderUnavailableError, createWalletTooBigError } from '../errors.js';
import { ask, type WalletContext } from './context.js';
import { windowShortfall } from './gap-window.js';

/** How far a scan has got: addresses asked and used so far, then the used ones' histories. */
export interface ScanProgress {
  scanned: number;
  used: number;
  /** once every chain is scanned: histories of the used addresses fetched so far, of how many */
  histories?: { fetched: number; total: number };
}

/** An address of the wallet as the scan found it, with its history (an empty one when unused). */
export interface ScannedAddress {
  chain: number;
  index: number;
  history: AddressHistory;
}

export interface ScanOptions {
  gap: number;
  request: RequestOptions;
  /** how many addresses the server has room for: a wallet that needs more is refused */
  room: number;
  onProgress?: (progress: ScanProgress) => void;
}

/** Every address the wallet watches once tracked, by chain and index, with its history. */
export async function scanWallet(ctx: WalletContext, wallet: WalletDescriptor, options: ScanOptions): Promise<ScannedAddress[]> {
  const found = await scanBalances(ctx, wallet, options);
  const used = found.filter((f) => f.balance.txCount > 0).map((f) => f.balance.address);
  const histories = await fetchHistories(ctx, wallet, used, options, found.length);
  return found.map(({ chain, index, balance }) => ({
    chain,
    index,
    history: balance.txCount === 0 ? { balance, txs: [], complete: true } : histories.get(balance.address)!,
  }));
}

/** addresses per getHistories call: the most Blockchain.com's /multiaddr takes */
const HISTORIES_BATCH = 50;

/**
 * The used addresses' histories: in batches when the provider can, else (or for a batch whose
 * answer did not hold up) one address at a time. Progress is counted in addresses.
 */
async function fetchHistories(
  ctx: WalletContext,
  wallet: WalletDescriptor,
  used: readonly string[],
  { request, onProgress }: ScanOptions,
  scanned: number,
): Promise<Map<string, AddressHistory>> {
  const histories = new Map<string, AddressHistory>();
  const told = () => onProgress?.({ scanned, used: used.length, histories: { fetched: histories.size, total: used.length } });
  const size = ctx.provider.getHistories ? HISTORIES_BATCH : 1;
  for (let start = 0; start < used.length; start += size) {
    const batch = used.slice(start, start + size);
    const batched = ctx.provider.getHistories ? await fetchBatch(ctx, wallet, batch, request) : undefined;
    if (batched) {
      for (const address of batch) histories.set(address, batched.get(address)!);
      told();
      continue;
    }
    for (const address of batch) {
      histories.set(address, await fetchHistory(ctx, wallet, address, request));
      told();
    }
  }
  return histories;
}

/**
 * A batch's complete histories, or undefined when the provider's answer did not hold up: each
 * address is then asked on its own, whose answers are checked one by one.
 */
async function fetchBatch(ctx: WalletContext, wallet: WalletDescriptor, batch: readonly string[], request: RequestOptions) {
  return ask(
    ctx,
    'histories',
    wallet.short,
    async () => {
      try {
        const histories = await ctx.provider.getHistories!(batch, request);
        return batch.every((address) => histories.has(address)) ? histories : undefined;
      } catch (err) {
        if (!(err instanceof ProviderError) || err.failure !== 'invalid' || request.signal?.aborted) throw err;
        ctx.logger.warn({ err, wallet: wallet.short, addresses: batch.length }, 'batched histories did not hold up; asking address by address');
        return undefined;
      }
    },
    { changes: true },
  );
}

/** Balances chain by chain until each chain ends in `gap` unused addresses, all chains asked together. */
async function scanBalances(ctx: WalletContext, wallet: WalletDescriptor, { gap, request, room, onProgress }: ScanOptions) {
  const chains = Array.from({ length: wallet.chains }, () => ({ balances: [] as AddressBalance[], lastUsed: -1 }));
  let scanned = 0;
  let used = 0;
  for (;;) {
    const asks = chains.flatMap(({ balances, lastUsed }, chain) => {
      const missing = windowShortfall(lastUsed, balances.length, gap);
      return missing ? [{ chain, list: deriveRange(wallet, chain, missing.from, missing.to) }] : [];
    });
    if (!asks.length) break;
    const wanted = asks.flatMap((a) => a.list);
    if (scanned + wanted.length > room) throw createWalletTooBigError(ctx.maxAddressesPerGuild, scanned + wanted.length, room);
    const live = await ask(ctx, 'balances', wallet.short, () => ctx.provider.getBalances(wanted, request), { changes: true });
    for (const { chain, list } of asks) {
      const state = chains[chain]!;
      for (const address of list) {
        const balance = live.get(address);
        if (!balance) throw createProviderUnavailableError(ctx.provider.name, new Error(`no balance returned for ${address}`), { failure: 'invalid', changes: true });
        if (balance.txCount > 0) {
          state.lastUsed = state.balances.length;
          used++;
        }
        state.balances.push(balance);
      }
    }
    scanned += wanted.length;
    onProgress?.({ scanned, used });
  }
  return chains.flatMap(({ balances }, chain) => balances.map((balance, index) => ({ chain, index, balance })));
}

/** A used address's history; one that another watch has stored needs only what is new. */
async function fetchHistory(ctx: WalletContext, wallet: WalletDescriptor, address: string, request: RequestOptions): Promise<AddressHistory> {
  const stored = await ctx.repo.findAddress(address);
  const knownTxids = stored ? await ctx.repo.confirmedTxids(address) : undefined;
  return ask(ctx, 'history', wallet.short, () => ctx.provider.getHistory(address, knownTxids ? { ...request, knownTxids } : request), { changes: true });
}
