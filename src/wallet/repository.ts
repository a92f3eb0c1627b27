import { and, asc, count, desc, eq, inArray, isNull, notExists, sql } from 'drizzle-orm';
import type { AddressHistory } from '../chain/provider.js';
import type { Database } from '../db/client.js';
import { addresses, addressTransactions, transactions, watches } from '../db/schema.js';

export type WatchRow = typeof watches.$inferSelect;
export type AddressRow = typeof addresses.$inferSelect;

export interface StoredTx {
  txid: string;
  blockHeight: number | null;
  time: Date;
  fee: bigint;
  net: bigint;
}

/** Postgres allows 65,535 bind parameters a statement; stay far below with a few columns a row. */
const INSERT_CHUNK = 1_000;

/** Every query the wallet needs, and nothing that knows about Discord or providers. */
export function createWalletRepository({ db }: { db: Database }) {
  return {
    findWatch(guildId: string, address: string): Promise<WatchRow | undefined> {
      return db.query.watches.findFirst({ where: and(eq(watches.guildId, guildId), eq(watches.address, address)) });
    },

    findWatchByLabel(guildId: string, label: string): Promise<WatchRow | undefined> {
      return db.query.watches.findFirst({
        where: and(eq(watches.guildId, guildId), sql`lower(${watches.label}) = lower(${label})`),
      });
    },

    findAddress(address: string): Promise<AddressRow | undefined> {
      return db.query.addresses.findFirst({ where: eq(addresses.address, address) });
    },

    listWatches(guildId: string) {
      return db
        .select({
          address: watches.address,
          label: watches.label,
          addedBy: watches.addedBy,
          createdAt: watches.createdAt,
          balance: addresses.balance,
          txCount: addresses.txCount,
          balanceUpdatedAt: addresses.balanceUpdatedAt,
        })
        .from(watches)
        .innerJoin(addresses, eq(addresses.address, watches.address))
        .where(eq(watches.guildId, guildId))
        .orderBy(asc(watches.createdAt), asc(watches.address));
    },

    /** Confirmed txids already stored: paging can stop there. Unconfirmed ones are fetched again. */
    async confirmedTxids(address: string): Promise<Set<string>> {
      const rows = await db
        .select({ txid: transactions.txid })
        .from(addressTransactions)
        .innerJoin(transactions, eq(transactions.txid, addressTransactions.txid))
        .where(and(eq(addressTransactions.address, address), sql`${transactions.blockHeight} is not null`));
      return new Set(rows.map((r) => r.txid));
    },

    /** Newest first, unconfirmed first. */
    async listTxs(address: string, { limit, offset = 0 }: { limit: number; offset?: number }) {
      const [rows, [total]] = await Promise.all([
        db
          .select({
            txid: transactions.txid,
            blockHeight: transactions.blockHeight,
            time: transactions.time,
            fee: transactions.fee,
            net: addressTransactions.net,
          })
          .from(addressTransactions)
          .innerJoin(transactions, eq(transactions.txid, addressTransactions.txid))
          .where(eq(addressTransactions.address, address))
          .orderBy(
            sql`${transactions.blockHeight} is null desc`,
            desc(transactions.blockHeight),
            desc(transactions.time),
            asc(transactions.txid),
          )
          .limit(limit)
          .offset(offset),
        db.select({ n: count() }).from(addressTransactions).where(eq(addressTransactions.address, address)),
      ]);
      return { txs: rows satisfies StoredTx[], total: total?.n ?? 0 };
    },

    /**
     * Store what the provider said about an address, in one transaction: its balance, new and
     * changed transactions, and the loss of unconfirmed ones that vanished (replaced or dropped).
     * With `watch`, also add that server's watch; returns false if the server already had one.
     */
    storeHistory(
      history: AddressHistory,
      at: Date,
      watch?: { guildId: string; label: string | null; addedBy: string },
    ): Promise<boolean> {
      return db.transaction(async (tx) => {
        const { address } = history.balance;
        const values = {
          balance: history.balance.balance,
          txCount: history.balance.txCount,
          totalReceived: history.balance.totalReceived,
          balanceUpdatedAt: at,
          txsUpdatedAt: at,
        };
        // The upsert also locks the row, so a concurrent untrack cannot delete it under us.
        await tx
          .insert(addresses)
          .values({ address, ...values })
          .onConflictDoUpdate({ target: addresses.address, set: values });

        for (let i = 0; i < history.txs.length; i += INSERT_CHUNK) {
          const chunk = history.txs.slice(i, i + INSERT_CHUNK);
          await tx
            .insert(transactions)
            .values(chunk.map(({ txid, blockHeight, time, fee }) => ({ txid, blockHeight, time, fee })))
            .onConflictDoUpdate({
              target: transactions.txid,
              set: {
                blockHeight: sql`excluded.block_height`,
                time: sql`excluded.time`,
                fee: sql`excluded.fee`,
              },
            });
          await tx
            .insert(addressTransactions)
            .values(chunk.map(({ txid, net }) => ({ address, txid, net })))
            .onConflictDoUpdate({
              target: [addressTransactions.address, addressTransactions.txid],
              set: { net: sql`excluded.net` },
            });
        }

        // Every unconfirmed transaction comes before the first confirmed one, so any stored
        // unconfirmed transaction the provider did not return is gone from the mempool.
        const seen = new Set(history.txs.map((t) => t.txid));
        const unconfirmed = await tx
          .select({ txid: addressTransactions.txid })
          .from(addressTransactions)
          .innerJoin(transactions, eq(transactions.txid, addressTransactions.txid))
          .where(and(eq(addressTransactions.address, address), isNull(transactions.blockHeight)));
        const vanished = unconfirmed.filter((u) => !seen.has(u.txid));
        if (vanished.length) {
          const txids = vanished.map((v) => v.txid);
          await tx
            .delete(addressTransactions)
            .where(and(eq(addressTransactions.address, address), inArray(addressTransactions.txid, txids)));
          await deleteOrphanTransactions(tx, txids);
        }

        if (!watch) return true;
        const inserted = await tx
          .insert(watches)
          .values({ guildId: watch.guildId, address, label: watch.label, addedBy: watch.addedBy, createdAt: at })
          .onConflictDoNothing()
          .returning({ address: watches.address });
        return inserted.length > 0;
      });
    },

    /**
     * Remove one server's watch. When no server watches the address any more, its row, its links
     * and the transactions no other stored address needs go too. Returns the removed watch.
     */
    removeWatch(guildId: string, address: string): Promise<WatchRow | undefined> {
      return db.transaction(async (tx) => {
        // Lock the address first so a concurrent track of it by another server waits for us.
        await tx.select().from(addresses).where(eq(addresses.address, address)).for('update');
        const [removed] = await tx
          .delete(watches)
          .where(and(eq(watches.guildId, guildId), eq(watches.address, address)))
          .returning();
        if (!removed) return undefined;
        const [others] = await tx.select({ n: count() }).from(watches).where(eq(watches.address, address));
        if ((others?.n ?? 0) === 0) {
          const links = await tx
            .delete(addressTransactions)
            .where(eq(addressTransactions.address, address))
            .returning({ txid: addressTransactions.txid });
          await tx.delete(addresses).where(eq(addresses.address, address));
          await deleteOrphanTransactions(
            tx,
            links.map((l) => l.txid),
          );
        }
        return removed;
      });
    },
  };
}

export type WalletRepository = ReturnType<typeof createWalletRepository>;

/** Delete those of `txids` that no stored address refers to any more. */
async function deleteOrphanTransactions(db: Database, txids: string[]): Promise<void> {
  for (let i = 0; i < txids.length; i += INSERT_CHUNK) {
    const chunk = txids.slice(i, i + INSERT_CHUNK);
    await db
      .delete(transactions)
      .where(
        and(
          inArray(transactions.txid, chunk),
          notExists(db.select().from(addressTransactions).where(eq(addressTransactions.txid, transactions.txid))),
        ),
      );
  }
}
