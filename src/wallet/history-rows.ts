/**
 * The rows an arriving history reads and writes, each a query of its own, all run inside the
 * transaction of the apply use case (src/wallet/apply-history.ts): `db` is that transaction.
 */
import { and, asc, count, desc, eq, inArray, isNull, notExists, or, type SQL, sql } from 'drizzle-orm';
import type { AddressBalance, ChainTx } from '../chain/provider.js';
import type { Database } from '../db/client.js';
import { addresses, addressTransactions, transactions, watches } from '../db/schema.js';

/** How stored transactions are listed, an address's or a wallet's: unconfirmed first, then newest first. */
export const NEWEST_FIRST = [sql`${transactions.blockHeight} is null desc`, desc(transactions.blockHeight), desc(transactions.time), asc(transactions.txid)];

/** Postgres allows 65,535 bind parameters a statement; stay far below with a few columns a row. */
export const INSERT_CHUNK = 1_000;

export interface NewWatch {
  guildId: string;
  label: string | null;
  addedBy: string;
}

/** `items` in slices of at most INSERT_CHUNK, for one statement each. */
function* chunks<T>(items: readonly T[]): Generator<T[]> {
  for (let i = 0; i < items.length; i += INSERT_CHUNK) yield items.slice(i, i + INSERT_CHUNK);
}

/**
 * Write the address's balance and count, which also locks its row, so concurrent writers of this
 * address take turns and each compares against what the previous one stored. Only tracking
 * (`create`) may create the row: a refresh that lost a race with the last /untrack must not bring
 * the address back with nobody watching it. Returns whether the row is new, or undefined when
 * there is none to update.
 */
export async function writeAddress(
  db: Database,
  balance: AddressBalance,
  at: Date,
  { create, tipHeight }: { create: boolean; tipHeight?: number },
): Promise<{ inserted: boolean } | undefined> {
  const values = {
    balance: balance.balance,
    txCount: balance.txCount,
    balanceUpdatedAt: at,
    txsUpdatedAt: at,
    // Unknown (a person's read): what is stored still holds, as this read came later.
    ...(tipHeight === undefined ? {} : { txsTipHeight: tipHeight }),
  };
  const [written] = create
    ? await db
        .insert(addresses)
        .values({ address: balance.address, ...values })
        .onConflictDoUpdate({ target: addresses.address, set: values })
        // xmax = 0 tells a fresh insert from an update.
        .returning({ inserted: sql<boolean>`(xmax = 0)` })
    : await db.update(addresses).set(values).where(eq(addresses.address, balance.address)).returning({ inserted: sql<boolean>`false` });
  return written && { inserted: written.inserted === true };
}

/**
 * Stored txs of the address, txid → height: of `txids` and every unconfirmed one (what a partial
 * history is compared with), or every one when `txids` is undefined.
 */
export async function storedHeights(db: Database, address: string, txids?: readonly string[]): Promise<Map<string, number | null>> {
  const heights = new Map<string, number | null>();
  const links = (where: SQL | undefined) =>
    db
      .select({ txid: transactions.txid, blockHeight: transactions.blockHeight })
      .from(addressTransactions)
      .innerJoin(transactions, eq(transactions.txid, addressTransactions.txid))
      .where(and(eq(addressTransactions.address, address), where));
  if (!txids) {
    for (const row of await links(undefined)) heights.set(row.txid, row.blockHeight);
    return heights;
  }
  // At least one query, so that the unconfirmed ones are read for an empty history too.
  for (const chunk of txids.length ? chunks(txids) : [[]]) {
    const rows = await links(or(isNull(transactions.blockHeight), chunk.length ? inArray(addressTransactions.txid, chunk) : undefined));
    for (const row of rows) heights.set(row.txid, row.blockHeight);
  }
  return heights;
}

/** in writeTxs' upsert: the stored time is the block's and the tx is still in that block */
const keepsBlockTime = sql`${transactions.timeIsBlockTime} and excluded.block_height = ${transactions.blockHeight} and not excluded.time_is_block_time`;

/** Insert or update the transactions and what each did to the address. */
export async function writeTxs(db: Database, address: string, txs: readonly ChainTx[]): Promise<void> {
  for (const chunk of chunks(txs)) {
    await db
      .insert(transactions)
      .values(
        chunk.map(({ txid, blockHeight, time, timeIsBlockTime, fee }) => ({
          txid,
          blockHeight,
          time,
          timeIsBlockTime: blockHeight !== null && timeIsBlockTime,
          fee,
        })),
      )
      .onConflictDoUpdate({
        target: transactions.txid,
        set: {
          blockHeight: sql`excluded.block_height`,
          // An unconfirmed tx keeps the time it was first stored: some providers give "now".
          // A known block time is kept over a first-seen one while the tx stays in that block.
          time: sql`case when excluded.block_height is null or (${keepsBlockTime}) then ${transactions.time} else excluded.time end`,
          timeIsBlockTime: sql`excluded.block_height is not null and (excluded.time_is_block_time or (${keepsBlockTime}))`,
          fee: sql`excluded.fee`,
        },
      });
    await db
      .insert(addressTransactions)
      .values(chunk.map(({ txid, net }) => ({ address, txid, net })))
      .onConflictDoUpdate({ target: [addressTransactions.address, addressTransactions.txid], set: { net: sql`excluded.net` } });
  }
}

/** Forget that `txids` touched the address, and the transactions nothing else needs. */
export async function unlinkTxs(db: Database, address: string, txids: readonly string[]): Promise<void> {
  for (const chunk of chunks(txids)) {
    await db.delete(addressTransactions).where(and(eq(addressTransactions.address, address), inArray(addressTransactions.txid, chunk)));
  }
  await deleteOrphanTransactions(db, txids);
}

/** Delete those of `txids` that no stored address refers to any more. */
export async function deleteOrphanTransactions(db: Database, txids: readonly string[]): Promise<void> {
  for (const chunk of chunks(txids)) {
    await db
      .delete(transactions)
      .where(and(inArray(transactions.txid, chunk), notExists(db.select().from(addressTransactions).where(eq(addressTransactions.txid, transactions.txid)))));
  }
}

/** Whether the stored transactions of an address add up to what the provider said of it. */
export async function addsUp(db: Database, balance: AddressBalance): Promise<boolean> {
  const [row] = await db
    .select({ n: count(), net: sql<string>`coalesce(sum(${addressTransactions.net}), 0)::text` })
    .from(addressTransactions)
    .where(eq(addressTransactions.address, balance.address));
  return row?.n === balance.txCount && BigInt(row.net) === balance.balance;
}

/**
 * Add a server's watch, stamped with `at` (so that a repeat after a lost connection can tell its
 * own). Returns false when the server has it already; a label clash fails loudly.
 */
export async function insertWatch(db: Database, address: string, watch: NewWatch, at: Date): Promise<boolean> {
  const inserted = await db
    .insert(watches)
    .values({ guildId: watch.guildId, address, label: watch.label, addedBy: watch.addedBy, createdAt: at })
    .onConflictDoNothing({ target: [watches.guildId, watches.address] })
    .returning({ address: watches.address });
  return inserted.length > 0;
}
