/** Tracked addresses for the benches, written straight into a database. */
import type { Database } from '../src/db/client.js';
import { addresses, addressTransactions, guildSettings, transactions, watches } from '../src/db/schema.js';
import type { FakeChain } from '../test/fakes/chain/model.js';

export interface SeedTx {
  txid: string;
  blockHeight: number | null;
  /** ms since the epoch */
  time: number;
  fee: bigint;
  net: bigint;
  /** as a provider that knew the block's time stored it; unset: the column's default (false) */
  timeIsBlockTime?: boolean;
}

export interface SeedAddress {
  address: string;
  balance: bigint;
  txCount: number;
  txs: SeedTx[];
  /** the Electrum status stored by push (bench/push.ts); unset: none, as before push */
  electrumStatus?: string | null;
}

const CHUNK = 1_000;

/** What the wallet would have stored of each address, as `chain` stands now. */
export function seedFromChain(chain: FakeChain, list: string[]): SeedAddress[] {
  return list.map((address) => {
    const set = new Set([address]);
    const s = chain.summary(address);
    return {
      address,
      balance: s.balance,
      txCount: s.nTx,
      txs: chain.txsOf(set).map((tx) => ({
        txid: tx.txid,
        blockHeight: tx.block?.height ?? null,
        time: (tx.block?.time ?? tx.firstSeen) * 1000,
        fee: tx.fee,
        net: chain.netOf(tx, set),
      })),
    };
  });
}

/**
 * Rows exactly as the wallet would have stored them after tracking each address: inserted
 * directly (drizzle, 1,000 rows a statement) rather than through /track, which would cost one
 * history call and one transaction per address before the benchmark even starts.
 */
export async function seedDatabase(db: Database, seed: SeedAddress[], guildId: string): Promise<void> {
  const at = new Date();
  await db.insert(guildSettings).values({ guildId, channelId: '100000000000000001', updatedAt: at });
  for (let i = 0; i < seed.length; i += CHUNK) {
    const chunk = seed.slice(i, i + CHUNK);
    await db.insert(addresses).values(
      chunk.map((a) => ({
        address: a.address,
        balance: a.balance,
        txCount: a.txCount,
        balanceUpdatedAt: at,
        txsUpdatedAt: at,
        electrumStatus: a.electrumStatus,
      })),
    );
    await db
      .insert(watches)
      .values(chunk.map((a) => ({ guildId, address: a.address, label: null, addedBy: 'bench', createdAt: at })));
  }
  const links = seed.flatMap((a) => a.txs.map((t) => ({ address: a.address, ...t })));
  for (let i = 0; i < links.length; i += CHUNK) {
    const chunk = links.slice(i, i + CHUNK);
    await db
      .insert(transactions)
      .values(chunk.map((t) => ({ txid: t.txid, blockHeight: t.blockHeight, time: new Date(t.time), fee: t.fee, timeIsBlockTime: t.timeIsBlockTime })))
      .onConflictDoNothing();
    await db.insert(addressTransactions).values(chunk.map((t) => ({ address: t.address, txid: t.txid, net: t.net })));
  }
}
