import { and, asc, count, desc, eq, inArray, sql } from 'drizzle-orm';
import type { Database } from '../db/client.js';
import { addresses, addressTransactions, transactions, walletAddresses, watches } from '../db/schema.js';
import { deleteOrphanTransactions, INSERT_CHUNK, NEWEST_FIRST } from './history-rows.js';
import { walletQueries } from './wallet-repository.js';

export type WatchRow = typeof watches.$inferSelect;
export type AddressRow = typeof addresses.$inferSelect;

export interface StoredTx {
  txid: string;
  blockHeight: number | null;
  time: Date;
  fee: bigint;
  net: bigint;
}

/** Every query the wallet needs, and nothing that knows about Discord or providers. */
export function createWalletRepository({ db }: { db: Database }) {
  return { ...watchReads(db), ...watchWrites(db), ...addressReads(db), ...addressTxPages(db), ...syncQueries(db), ...blockTimeQueries(db), ...walletQueries(db) };
}

export type WalletRepository = ReturnType<typeof createWalletRepository>;

/** A server's watches, as commands read them. */
function watchReads(db: Database) {
  return {
    findWatch(guildId: string, address: string): Promise<WatchRow | undefined> {
      return db.query.watches.findFirst({ where: and(eq(watches.guildId, guildId), eq(watches.address, address)) });
    },

    findWatchByLabel(guildId: string, label: string): Promise<WatchRow | undefined> {
      return db.query.watches.findFirst({
        where: and(eq(watches.guildId, guildId), sql`lower(${watches.label}) = lower(${label})`),
      });
    },

    /** A server's single watches, oldest first (src/wallet/reads.ts pages them with its wallets). */
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
  };
}

/** A server's watches, as /label and /untrack change them. */
function watchWrites(db: Database) {
  return {
    /** Set a watch's label; the old one is returned, or undefined when the server has no such watch. */
    async setLabel(guildId: string, address: string, label: string): Promise<{ previous: string | null } | undefined> {
      return db.transaction(async (tx) => {
        const [watch] = await tx
          .select({ label: watches.label })
          .from(watches)
          .where(and(eq(watches.guildId, guildId), eq(watches.address, address)))
          .for('update');
        if (!watch) return undefined;
        await tx.update(watches).set({ label }).where(and(eq(watches.guildId, guildId), eq(watches.address, address)));
        return { previous: watch.label };
      });
    },

    /**
     * Remove one server's watch. When no server watches the address any more (nor has it in a wallet), its row, its links
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
        const [inWallets] = await tx.select({ n: count() }).from(walletAddresses).where(eq(walletAddresses.address, address));
        if ((others?.n ?? 0) === 0 && (inWallets?.n ?? 0) === 0) {
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

/** What is stored of one address. */
function addressReads(db: Database) {
  return {
    findAddress(address: string): Promise<AddressRow | undefined> {
      return db.query.addresses.findFirst({ where: eq(addresses.address, address) });
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

    /** What is stored of these txids of the address: a txid's net and fee never change, so a push source reuses them. */
    async knownTxs(address: string, txids: readonly string[]) {
      if (!txids.length) return [];
      return db
        .select({
          txid: transactions.txid,
          blockHeight: transactions.blockHeight,
          time: transactions.time,
          timeIsBlockTime: transactions.timeIsBlockTime,
          fee: transactions.fee,
          net: addressTransactions.net,
        })
        .from(addressTransactions)
        .innerJoin(transactions, eq(transactions.txid, addressTransactions.txid))
        .where(and(eq(addressTransactions.address, address), inArray(addressTransactions.txid, [...txids])));
    },

    /** The Electrum status the stored history of the address now has (null: none known). */
    async setElectrumStatus(address: string, status: string | null): Promise<void> {
      await db.update(addresses).set({ electrumStatus: status }).where(eq(addresses.address, address));
    },

  };
}

/** One address's stored transactions, a page at a time. */
function addressTxPages(db: Database) {
  return {
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
          .orderBy(...NEWEST_FIRST)
          .limit(limit)
          .offset(offset),
        db.select({ n: count() }).from(addressTransactions).where(eq(addressTransactions.address, address)),
      ]);
      return { txs: rows satisfies StoredTx[], total: total?.n ?? 0 };
    },
  };
}

/** What the sync reads of every tracked address, and marks as checked. */
function syncQueries(db: Database) {
  return {
    /**
     * Watched addresses (by a watch or a wallet) with their stored balance, whether any of their
     * txs is unconfirmed, and the wallets that have them (ids, comma-separated; '' for none).
     */
    trackedAddresses() {
      return db
        .select({
          address: addresses.address,
          balance: addresses.balance,
          txCount: addresses.txCount,
          txsUpdatedAt: addresses.txsUpdatedAt,
          txsTipHeight: addresses.txsTipHeight,
          electrumStatus: addresses.electrumStatus,
          // Literal SQL: drizzle leaves column names unqualified here, which a correlated
          // subquery over two tables cannot have.
          hasUnconfirmed: sql<boolean>`exists (select 1 from address_transactions l join transactions t on t.txid = l.txid
            where l.address = addresses.address and t.block_height is null)`,
          // A row that disagrees with its own transactions got there by some wrong path: look again.
          inconsistent: sql<boolean>`(select coalesce(sum(l.net), 0) <> addresses.balance or count(*) <> addresses.tx_count
            from address_transactions l where l.address = addresses.address)`,
          wallets: sql<string>`coalesce((select string_agg(wa.wallet_id::text, ',' order by wa.wallet_id) from wallet_addresses wa
            where wa.address = addresses.address), '')`,
        })
        .from(addresses)
        .where(
          sql`(exists (select 1 from watches w where w.address = addresses.address)
            or exists (select 1 from wallet_addresses wa where wa.address = addresses.address))`,
        )
        .orderBy(asc(addresses.address));
    },

    /**
     * The provider said at `at` what is stored of these addresses: their balance and count are as
     * stored, so they were checked then. An address stored anew since then keeps its own time.
     */
    async markChecked(seen: readonly { address: string; balance: bigint; txCount: number }[], at: Date): Promise<void> {
      for (let i = 0; i < seen.length; i += INSERT_CHUNK) {
        const rows = seen.slice(i, i + INSERT_CHUNK).map((r) => sql`(${r.address}, ${r.balance}::bigint, ${r.txCount}::integer)`);
        await db.execute(sql`update addresses set balance_updated_at = greatest(addresses.balance_updated_at, ${at.toISOString()}::timestamptz)
          from (values ${sql.join(rows, sql`, `)}) as seen(address, balance, tx_count)
          where addresses.address = seen.address and addresses.balance = seen.balance and addresses.tx_count = seen.tx_count`);
      }
    },
  };
}

/** Stored first-seen times of confirmed txs, which the sync replaces by their block's. */
function blockTimeQueries(db: Database) {
  return {
    /** Up to `limit` heights, newest first, of stored confirmed txs whose time is not yet their block's. */
    async heightsLackingBlockTime(limit: number): Promise<number[]> {
      const rows = await db
        .selectDistinct({ height: transactions.blockHeight })
        .from(transactions)
        .where(and(sql`${transactions.blockHeight} is not null`, eq(transactions.timeIsBlockTime, false)))
        .orderBy(desc(transactions.blockHeight))
        .limit(limit);
      return rows.map((r) => r.height!);
    },

    /** Give every stored tx of these blocks its block's time; returns how many txs changed. */
    async storeBlockTimes(times: ReadonlyMap<number, Date>): Promise<number> {
      let changed = 0;
      for (const [height, time] of times) {
        const rows = await db
          .update(transactions)
          .set({ time, timeIsBlockTime: true })
          .where(and(eq(transactions.blockHeight, height), eq(transactions.timeIsBlockTime, false)))
          .returning({ txid: transactions.txid });
        changed += rows.length;
      }
      return changed;
    },
  };
}
