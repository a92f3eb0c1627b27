/**
 * Who hears of a transaction, and what each line of its notice says, read from what is stored
 * now. Run inside the transaction that applies an address's history (src/wallet/apply-history.ts):
 * `db` is that transaction, and it sees the links it has just written.
 */
import { and, eq, inArray, isNotNull, or, sql } from 'drizzle-orm';
import type { ChainTx } from '../chain/provider.js';
import type { Database } from '../db/client.js';
import { addresses, addressTransactions, guildSettings, transactions, walletAddresses, wallets, watches } from '../db/schema.js';
import { addressKey, type ComputedLine, walletKey } from './notice-lines.js';

/** Postgres allows 65,535 bind parameters a statement: lists are sent in slices of this many. */
const CHUNK = 1_000;

/** A server with a notice channel, and the smallest amount it wants to hear of. */
export interface Listener {
  guildId: string;
  channelId: string;
  threshold: bigint;
}

/** The servers with a channel that hold the address, through a single-address watch or a wallet. */
export async function audienceOf(db: Database, address: string): Promise<Listener[]> {
  const rows = await db
    .select({ guildId: guildSettings.guildId, channelId: guildSettings.channelId, threshold: guildSettings.thresholdSats })
    .from(guildSettings)
    .where(
      and(
        isNotNull(guildSettings.channelId),
        or(
          sql`exists (select 1 from ${watches} where ${watches.guildId} = ${guildSettings.guildId} and ${watches.address} = ${address})`,
          sql`exists (select 1 from ${wallets} join ${walletAddresses} on ${walletAddresses.walletId} = ${wallets.id}
            where ${wallets.guildId} = ${guildSettings.guildId} and ${walletAddresses.address} = ${address})`,
        ),
      ),
    )
    .orderBy(guildSettings.guildId);
  return rows.map((r) => ({ ...r, channelId: r.channelId! }));
}

/** The ids of the wallets that hold the address. */
export async function walletsHolding(db: Database, address: string): Promise<Set<string>> {
  const rows = await db.select({ id: walletAddresses.walletId }).from(walletAddresses).where(eq(walletAddresses.address, address));
  return new Set(rows.map((r) => String(r.id)));
}

/** What a transaction did to a wallet, as stored now: the sum over its addresses. */
export async function walletNetOf(db: Database, walletId: string, txid: string): Promise<bigint> {
  const [row] = await db
    .select({ net: sql<string>`coalesce(sum(${addressTransactions.net}), 0)::text` })
    .from(addressTransactions)
    .innerJoin(walletAddresses, eq(walletAddresses.address, addressTransactions.address))
    .where(and(eq(walletAddresses.walletId, BigInt(walletId)), eq(addressTransactions.txid, txid)));
  return BigInt(row?.net ?? '0');
}

/** guild → txid → lines */
export type LinesByGuild = Map<string, Map<string, ComputedLine[]>>;

/** What computeLines needs of a transaction: `net` is what it did to the address being applied. */
export type TxOfLines = Pick<ChainTx, 'txid' | 'fee' | 'net'>;

/**
 * The lines of each of `txs` for each of `guildIds`: every watch of the server that the
 * transaction touched, as stored now. With `applying` (an address whose new transactions, newest
 * first, are `txs`), the watches holding that address are the ones being applied: their balance
 * after each transaction is walked back from their balance now (a wallet's: the sum of its
 * addresses'). An address's walk is over `txs`; a wallet's over `batch` when given (see
 * BatchOfLines): its balance now includes what its other addresses' newer transactions did.
 * Every other line's balance is left for the caller (see mergeLines).
 */
export async function computeLines(
  db: Database,
  {
    txs,
    guildIds,
    applying,
  }: { txs: readonly TxOfLines[]; guildIds: readonly string[]; applying?: { address: string; balance: bigint; batch?: BatchOfLines } },
): Promise<LinesByGuild> {
  const byGuild: LinesByGuild = new Map(guildIds.map((g) => [g, new Map()]));
  if (!txs.length || !guildIds.length) return byGuild;

  const links = await inChunks(
    txs.map((t) => t.txid),
    (txids) =>
      db
        .select({ address: addressTransactions.address, txid: addressTransactions.txid, net: addressTransactions.net })
        .from(addressTransactions)
        .where(inArray(addressTransactions.txid, txids)),
  );
  const touched = [...new Set(links.map((l) => l.address))];
  const netOf = new Map(links.map((l) => [`${l.address} ${l.txid}`, l.net]));
  const [single, held] = await Promise.all([
    inChunks(touched, (chunk) =>
      db
        .select({ guildId: watches.guildId, address: watches.address, label: watches.label })
        .from(watches)
        .where(and(inArray(watches.guildId, [...guildIds]), inArray(watches.address, chunk))),
    ),
    inChunks(touched, (chunk) =>
      db
        .select({ id: wallets.id, guildId: wallets.guildId, label: wallets.label, address: walletAddresses.address })
        .from(wallets)
        .innerJoin(walletAddresses, eq(walletAddresses.walletId, wallets.id))
        .where(and(inArray(wallets.guildId, [...guildIds]), inArray(walletAddresses.address, chunk))),
    ),
  ]);

  // A wallet's addresses among those the transactions touched: enough for every net below.
  const walletsById = new Map<string, { guildId: string; label: string; addresses: string[] }>();
  for (const row of held) {
    const id = String(row.id);
    const w = walletsById.get(id) ?? { guildId: row.guildId, label: row.label, addresses: [] };
    w.addresses.push(row.address);
    walletsById.set(id, w);
  }
  const walletNet = (addressesOfWallet: readonly string[], txid: string) =>
    addressesOfWallet.reduce((sum, a) => sum + (netOf.get(`${a} ${txid}`) ?? 0n), 0n);
  const touches = (addressesOfWallet: readonly string[], txid: string) => addressesOfWallet.some((a) => netOf.has(`${a} ${txid}`));

  // Every line about the address being applied is; so is every wallet that holds it.
  const applied = new Map<string, Map<string, bigint>>();
  if (applying) {
    applied.set(addressKey(applying.address), walkBack(applying.balance, txs, (t) => t.net));
    const holding = [...walletsById].filter(([, w]) => w.addresses.includes(applying.address));
    if (applying.batch) {
      for (const [id] of holding) applied.set(walletKey(id), await batchWalk(db, applying.batch, id));
    } else {
      for (const [id, balanceNow] of await walletBalances(db, holding.map(([id]) => id))) {
        const w = walletsById.get(id)!;
        applied.set(walletKey(id), walkBack(balanceNow, txs, (t) => walletNet(w.addresses, t.txid)));
      }
    }
  }
  const after = (key: string, txid: string) => {
    const value = applied.get(key)?.get(txid);
    return value === undefined ? {} : { balanceAfter: String(value) };
  };

  for (const t of txs) {
    const lines = new Map<string, ComputedLine[]>(guildIds.map((g) => [g, []]));
    for (const w of single) {
      const net = netOf.get(`${w.address} ${t.txid}`);
      if (net === undefined) continue;
      const key = addressKey(w.address);
      lines.get(w.guildId)!.push({ key, kind: 'address', label: w.label, address: w.address, net: String(net), ...after(key, t.txid) });
    }
    for (const [id, w] of walletsById) {
      if (!touches(w.addresses, t.txid)) continue;
      const key = walletKey(id);
      const net = walletNet(w.addresses, t.txid);
      const internal = t.fee > 0n && net === -t.fee;
      lines.get(w.guildId)!.push({ key, kind: 'wallet', label: w.label, net: String(net), ...(internal ? { internal } : {}), ...after(key, t.txid) });
    }
    for (const [guildId, list] of lines) {
      // The watches being applied first, then the rest in a stable order.
      const rank = (l: ComputedLine) => (applied.has(l.key) ? 0 : 1);
      list.sort((a, b) => rank(a) - rank(b) || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
      byGuild.get(guildId)!.set(t.txid, list);
    }
  }
  return byGuild;
}

/**
 * Several histories stored together (a wallet's moved addresses): every new transaction of them,
 * newest first, and each wallet's walk over them once worked out. Valid once every row of the
 * batch is written, as its notices are.
 */
export interface BatchOfLines {
  txs: readonly TxOfLines[];
  walks: Map<string, Map<string, bigint>>;
}

export const batchOfLines = (txs: readonly TxOfLines[]): BatchOfLines => ({ txs, walks: new Map() });

/** A wallet's balance right after each of the batch's transactions: its balance now, walked back over all of them. */
async function batchWalk(db: Database, batch: BatchOfLines, walletId: string): Promise<Map<string, bigint>> {
  const known = batch.walks.get(walletId);
  if (known) return known;
  const ofWallet = db.select({ address: walletAddresses.address }).from(walletAddresses).where(eq(walletAddresses.walletId, BigInt(walletId)));
  const nets = await inChunks(
    batch.txs.map((t) => t.txid),
    (txids) =>
      db
        .select({ txid: addressTransactions.txid, net: sql<string>`sum(${addressTransactions.net})::text` })
        .from(addressTransactions)
        .where(and(inArray(addressTransactions.txid, txids), inArray(addressTransactions.address, ofWallet)))
        .groupBy(addressTransactions.txid),
  );
  const netOf = new Map(nets.map((r) => [r.txid, BigInt(r.net)]));
  const balanceNow = (await walletBalances(db, [walletId])).get(walletId) ?? 0n;
  const walk = walkBack(balanceNow, batch.txs, (t) => netOf.get(t.txid) ?? 0n);
  batch.walks.set(walletId, walk);
  return walk;
}

/** The balance right after each transaction (newest first), walking back from the balance now. */
function walkBack(balance: bigint, newestFirst: readonly TxOfLines[], netOf: (t: TxOfLines) => bigint): Map<string, bigint> {
  const after = new Map<string, bigint>();
  let running = balance;
  for (const t of newestFirst) {
    after.set(t.txid, running);
    running -= netOf(t);
  }
  return after;
}

/** Each wallet's stored balance: the sum of its addresses'. */
async function walletBalances(db: Database, ids: readonly string[]): Promise<Map<string, bigint>> {
  if (!ids.length) return new Map();
  const rows = await db
    .select({ id: walletAddresses.walletId, balance: sql<string>`coalesce(sum(${addresses.balance}), 0)::text` })
    .from(walletAddresses)
    .innerJoin(addresses, eq(addresses.address, walletAddresses.address))
    .where(inArray(walletAddresses.walletId, ids.map(BigInt)))
    .groupBy(walletAddresses.walletId);
  return new Map(rows.map((r) => [String(r.id), BigInt(r.balance)]));
}

/**
 * The balance of a watch not being applied right after `txid`, for a line its notice did not
 * have yet: its stored balance less what its transactions stored as later did (a later block,
 * the mempool after any block, then the later time).
 */
export async function storedBalanceAfter(db: Database, line: ComputedLine, txid: string): Promise<string> {
  const held =
    line.kind === 'address'
      ? [line.address!]
      : (
          await db
            .select({ address: walletAddresses.address })
            .from(walletAddresses)
            .where(eq(walletAddresses.walletId, BigInt(line.key.slice('wallet:'.length))))
        ).map((r) => r.address);
  if (!held.length) return '0';
  const order = sql`(coalesce(${transactions.blockHeight}, 2147483647), ${transactions.time}, ${transactions.txid})`;
  const [now] = await db
    .select({ balance: sql<string>`coalesce(sum(${addresses.balance}), 0)::text` })
    .from(addresses)
    .where(inArray(addresses.address, held));
  const [later] = await db
    .select({ net: sql<string>`coalesce(sum(${addressTransactions.net}), 0)::text` })
    .from(addressTransactions)
    .innerJoin(transactions, eq(transactions.txid, addressTransactions.txid))
    .where(
      and(
        inArray(addressTransactions.address, held),
        sql`${order} > (select coalesce(t.block_height, 2147483647), t.time, t.txid from ${transactions} t where t.txid = ${txid})`,
      ),
    );
  return String(BigInt(now?.balance ?? '0') - BigInt(later?.net ?? '0'));
}

async function inChunks<T, R>(items: readonly T[], query: (chunk: T[]) => Promise<R[]>): Promise<R[]> {
  const out: R[] = [];
  for (let i = 0; i < items.length; i += CHUNK) out.push(...(await query(items.slice(i, i + CHUNK))));
  return out;
}
