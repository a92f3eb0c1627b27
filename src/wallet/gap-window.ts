/**
 * The gap window of a wallet: on each chain, `gap` unused addresses in a row are watched past the
 * last used one. When a payment makes one of them used, the next ones are derived and stored in
 * the same transaction, so a wallet never loses track of a new receive or change address.
 */
import { and, eq, inArray, max, sql } from 'drizzle-orm';
import type { Network } from '../chain/address.js';
import { deriveRange, loadWallet, type WalletDescriptor } from '../chain/descriptor/index.js';
import type { Database } from '../db/client.js';
import type { Logger } from '../logger.js';
import { addresses, walletAddresses, wallets } from '../db/schema.js';
import { INSERT_CHUNK } from './history-rows.js';

/**
 * The indexes [from, to) a chain lacks: with `derived` addresses (indexes 0..derived-1) and the
 * last used one at `lastUsed` (-1: none), `gap` must follow it. Undefined when none are missing.
 */
export function windowShortfall(lastUsed: number, derived: number, gap: number): { from: number; to: number } | undefined {
  const to = lastUsed + 1 + gap;
  return to > derived ? { from: derived, to } : undefined;
}

/** A stored descriptor, parsed once per process however often its wallet's window moves. */
export function createDescriptorCache(network: Network, size = 256) {
  const parsed = new Map<string, WalletDescriptor>();
  return (descriptor: string): WalletDescriptor => {
    let wallet = parsed.get(descriptor);
    if (!wallet) {
      wallet = loadWallet(descriptor, network);
      if (parsed.size >= size) parsed.delete(parsed.keys().next().value!);
      parsed.set(descriptor, wallet);
    }
    return wallet;
  };
}

export type DescriptorCache = ReturnType<typeof createDescriptorCache>;

/**
 * Move on the windows of every wallet chain that holds one of `used` (addresses that now have
 * transactions), inside the caller's transaction `tx`. New addresses get a row with balance 0 and
 * no transactions as of `at` (an address some other watch has keeps its own). Returns how many
 * addresses the wallets watch now that they did not.
 */
export async function extendGapWindows(tx: Database, used: readonly string[], at: Date, load: DescriptorCache, logger: Logger): Promise<number> {
  if (!used.length) return 0;
  const chains = new Map<string, { walletId: bigint; chain: number; descriptor: string; gap: number }>();
  for (let i = 0; i < used.length; i += INSERT_CHUNK) {
    const rows = await tx
      .selectDistinct({ walletId: walletAddresses.walletId, chain: walletAddresses.chain, descriptor: wallets.descriptor, gap: wallets.gap })
      .from(walletAddresses)
      .innerJoin(wallets, eq(wallets.id, walletAddresses.walletId))
      .where(inArray(walletAddresses.address, used.slice(i, i + INSERT_CHUNK)));
    for (const row of rows) chains.set(`${row.walletId}:${row.chain}`, row);
  }
  let added = 0;
  for (const c of chains.values()) {
    let wallet: WalletDescriptor;
    try {
      wallet = load(c.descriptor);
    } catch (err) {
      // A stored descriptor this version cannot read must not stop the payment from being stored:
      // the window stays where it is. The log names the wallet and the kind of error only: a
      // parser's message may quote the descriptor.
      logger.warn({ walletId: String(c.walletId), error: err instanceof Error ? err.name : typeof err }, "cannot read a wallet's stored descriptor; its gap window does not move on");
      continue;
    }
    added += await extendChain(tx, { ...c, wallet }, at);
  }
  return added;
}

/** One chain's window, extended until `gap` unused addresses follow its last used one. */
async function extendChain(tx: Database, { walletId, chain, wallet, gap }: { walletId: bigint; chain: number; wallet: WalletDescriptor; gap: number }, at: Date): Promise<number> {
  let added = 0;
  for (;;) {
    const ofChain = and(eq(walletAddresses.walletId, walletId), eq(walletAddresses.chain, chain));
    const [derived] = await tx.select({ top: max(walletAddresses.index) }).from(walletAddresses).where(ofChain);
    const [used] = await tx
      .select({ top: max(walletAddresses.index) })
      .from(walletAddresses)
      .innerJoin(addresses, eq(addresses.address, walletAddresses.address))
      .where(and(ofChain, sql`${addresses.txCount} > 0`));
    const missing = windowShortfall(used?.top ?? -1, (derived?.top ?? -1) + 1, gap);
    if (!missing) return added;
    const list = deriveRange(wallet, chain, missing.from, missing.to);
    await storeWalletAddresses(tx, walletId, chain, missing.from, list, at);
    added += list.length;
  }
}

/**
 * Rows for newly derived addresses of a wallet: `list` is the chain's addresses from index `from`
 * on. An address already stored (another watch has it) keeps its row and history.
 */
export async function storeWalletAddresses(tx: Database, walletId: bigint, chain: number, from: number, list: readonly string[], at: Date): Promise<void> {
  for (let i = 0; i < list.length; i += INSERT_CHUNK) {
    const chunk = list.slice(i, i + INSERT_CHUNK);
    await tx
      .insert(addresses)
      .values(chunk.map((address) => ({ address, balance: 0n, txCount: 0, balanceUpdatedAt: at, txsUpdatedAt: at })))
      .onConflictDoNothing({ target: addresses.address });
    await tx
      .insert(walletAddresses)
      .values(chunk.map((address, j) => ({ walletId, chain, index: from + i + j, address })))
      .onConflictDoNothing();
  }
}
