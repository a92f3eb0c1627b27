/**
 * The queries of whole wallets (tables `wallets` and `wallet_addresses`): a server's wallet is one
 * watch over the addresses its descriptor derives, each address stored once in `addresses`.
 */
import { and, asc, count, eq, inArray, sql } from 'drizzle-orm';
import type { Database } from '../db/client.js';
import { addresses, addressTransactions, transactions, walletAddresses, wallets } from '../db/schema.js';
import { deleteOrphanTransactions, INSERT_CHUNK, NEWEST_FIRST } from './history-rows.js';
import type { StoredTx } from './repository.js';

export type WalletRow = typeof wallets.$inferSelect;

/** A wallet with what is stored of its addresses, added up. */
export interface WalletSummary {
  wallet: WalletRow;
  /** the sum of its addresses' stored balances */
  balance: bigint;
  /** distinct transactions over its addresses */
  txCount: number;
  /** addresses watched, and how many of them have any transaction */
  watched: number;
  used: number;
  /** the oldest time any of its addresses was last checked: the wallet is as fresh as that */
  asOf: Date;
}

export function walletQueries(db: Database) {
  return { ...walletLookups(db), ...walletFigures(db), ...walletWrites(db), ...walletTxQueries(db) };
}

/** Finding a server's wallets. */
function walletLookups(db: Database) {
  return {
    findWalletByLabel(guildId: string, label: string): Promise<WalletRow | undefined> {
      return db.query.wallets.findFirst({ where: and(eq(wallets.guildId, guildId), sql`lower(${wallets.label}) = lower(${label})`) });
    },

    findWalletByDescriptor(guildId: string, descriptor: string): Promise<WalletRow | undefined> {
      return db.query.wallets.findFirst({ where: and(eq(wallets.guildId, guildId), eq(wallets.descriptor, descriptor)) });
    },

    /**
     * The server's wallet whose first receive address is this one: the same wallet, however it was
     * written (a bare zpub, or a descriptor with the key's origin).
     */
    async findWalletByFirstAddress(guildId: string, address: string): Promise<WalletRow | undefined> {
      const [row] = await db
        .select({ wallet: wallets })
        .from(walletAddresses)
        .innerJoin(wallets, eq(wallets.id, walletAddresses.walletId))
        .where(and(eq(wallets.guildId, guildId), eq(walletAddresses.chain, 0), eq(walletAddresses.index, 0), eq(walletAddresses.address, address)))
        .limit(1);
      return row?.wallet;
    },

    /** A server's wallets, oldest first. */
    listWallets(guildId: string): Promise<WalletRow[]> {
      return db.select().from(wallets).where(eq(wallets.guildId, guildId)).orderBy(asc(wallets.createdAt), asc(wallets.id));
    },

  };
}

/** What is stored of a wallet's addresses, one by one and added up. */
function walletFigures(db: Database) {
  return {
    /** Its addresses with what is stored of each, by chain and index. */
    walletAddresses(walletId: bigint) {
      return db
        .select({
          chain: walletAddresses.chain,
          index: walletAddresses.index,
          address: addresses.address,
          balance: addresses.balance,
          txCount: addresses.txCount,
          balanceUpdatedAt: addresses.balanceUpdatedAt,
        })
        .from(walletAddresses)
        .innerJoin(addresses, eq(addresses.address, walletAddresses.address))
        .where(eq(walletAddresses.walletId, walletId))
        .orderBy(asc(walletAddresses.chain), asc(walletAddresses.index));
    },

    /** Balances, counts and freshness of these wallets, added up over their addresses. */
    async summarise(rows: readonly WalletRow[]): Promise<WalletSummary[]> {
      return Promise.all(rows.map((wallet) => summariseOne(db, wallet)));
    },

    /**
     * How many distinct addresses a server watches, single watches and wallets together, and their
     * stored balances added up: an address watched twice counts once.
     */
    async watchedAddressTotals(guildId: string): Promise<{ count: number; balance: bigint }> {
      // Literal SQL: drizzle leaves column names unqualified here, which a correlated subquery cannot have.
      const [row] = await db
        .select({ n: count(), balance: sql<string>`coalesce(sum(${addresses.balance}), 0)::text` })
        .from(addresses)
        .where(
          sql`(exists (select 1 from watches w where w.address = addresses.address and w.guild_id = ${guildId})
            or exists (select 1 from wallet_addresses wa join wallets wl on wl.id = wa.wallet_id
              where wa.address = addresses.address and wl.guild_id = ${guildId}))`,
        );
      return { count: row?.n ?? 0, balance: BigInt(row?.balance ?? '0') };
    },
  };
}

async function summariseOne(db: Database, wallet: WalletRow): Promise<WalletSummary> {
  const [row] = await db
    .select({
      watched: count(),
      used: sql<number>`count(*) filter (where ${addresses.txCount} > 0)::int`,
      balance: sql<string>`coalesce(sum(${addresses.balance}), 0)::text`,
      asOf: sql<string>`min(${addresses.balanceUpdatedAt})::text`,
    })
    .from(walletAddresses)
    .innerJoin(addresses, eq(addresses.address, walletAddresses.address))
    .where(eq(walletAddresses.walletId, wallet.id));
  const [txs] = await db
    .select({ n: sql<number>`count(distinct ${addressTransactions.txid})::int` })
    .from(addressTransactions)
    .innerJoin(walletAddresses, eq(walletAddresses.address, addressTransactions.address))
    .where(eq(walletAddresses.walletId, wallet.id));
  return {
    wallet,
    balance: BigInt(row?.balance ?? '0'),
    txCount: Number(txs?.n ?? 0),
    watched: Number(row?.watched ?? 0),
    used: Number(row?.used ?? 0),
    asOf: row?.asOf ? new Date(row.asOf) : wallet.createdAt,
  };
}

function walletWrites(db: Database) {
  return {
    /** Set a wallet's label; the old one is returned, or undefined when the server has no such wallet. */
    async setWalletLabel(guildId: string, walletId: bigint, label: string): Promise<{ previous: string } | undefined> {
      return db.transaction(async (tx) => {
        const where = and(eq(wallets.guildId, guildId), eq(wallets.id, walletId));
        const [wallet] = await tx.select({ label: wallets.label }).from(wallets).where(where).for('update');
        if (!wallet) return undefined;
        await tx.update(wallets).set({ label }).where(where);
        return { previous: wallet.label };
      });
    },

    /**
     * Remove a server's wallet, and every address of it that no watch or other wallet has, with
     * their links and the transactions nothing else needs. Returns the removed wallet.
     */
    removeWallet(guildId: string, walletId: bigint): Promise<WalletRow | undefined> {
      return db.transaction(async (tx) => {
        const where = and(eq(wallets.guildId, guildId), eq(wallets.id, walletId));
        if (!(await tx.select({ id: wallets.id }).from(wallets).where(where)).length) return undefined;
        // Its address rows locked first, in the order an apply locks them (src/wallet/apply-history.ts):
        // an apply storing a payment to one of them, which may move the window on and so wait for
        // the wallet's row, finishes first. Locking the wallet's row first deadlocked with it. (Collation
        // "C" compares as JavaScript's < does, which orders an apply's rows.)
        const ofWallet = tx.select({ address: walletAddresses.address }).from(walletAddresses).where(eq(walletAddresses.walletId, walletId));
        await tx.select({ address: addresses.address }).from(addresses).where(inArray(addresses.address, ofWallet)).orderBy(sql`${addresses.address} collate "C"`).for('update');
        // Read now, so that addresses such an apply derived are among them.
        const own = await tx.delete(walletAddresses).where(eq(walletAddresses.walletId, walletId)).returning({ address: walletAddresses.address });
        const [removed] = await tx.delete(wallets).where(where).returning();
        if (!removed) return undefined;
        // Those of its addresses that nothing else watches now are what it alone had. Locked, so a
        // track of one meanwhile waits.
        const orphans: string[] = [];
        for (let i = 0; i < own.length; i += INSERT_CHUNK) {
          const chunk = own.slice(i, i + INSERT_CHUNK).map((r) => r.address);
          const rows = await tx
            .select({ address: addresses.address })
            .from(addresses)
            .where(
              and(
                inArray(addresses.address, chunk),
                sql`not exists (select 1 from watches w where w.address = addresses.address)`,
                sql`not exists (select 1 from wallet_addresses wa where wa.address = addresses.address)`,
              ),
            )
            .for('update');
          orphans.push(...rows.map((r) => r.address));
        }
        await deleteAddresses(tx, orphans);
        return removed;
      });
    },
  };
}

/** Delete these address rows, their links and the transactions no other address needs. */
async function deleteAddresses(tx: Database, list: readonly string[]): Promise<void> {
  for (let i = 0; i < list.length; i += INSERT_CHUNK) {
    const chunk = list.slice(i, i + INSERT_CHUNK);
    const links = await tx
      .delete(addressTransactions)
      .where(inArray(addressTransactions.address, chunk))
      .returning({ txid: addressTransactions.txid });
    await tx.delete(addresses).where(inArray(addresses.address, chunk));
    await deleteOrphanTransactions(tx, [...new Set(links.map((l) => l.txid))]);
  }
}

function walletTxQueries(db: Database) {
  return {
    /** A wallet's transactions, one row each with its net over all the wallet's addresses; newest first, unconfirmed first. */
    async listWalletTxs(walletId: bigint, { limit, offset = 0 }: { limit: number; offset?: number }): Promise<{ txs: StoredTx[]; total: number }> {
      const [rows, [total]] = await Promise.all([
        db
          .select({
            txid: transactions.txid,
            blockHeight: transactions.blockHeight,
            time: transactions.time,
            fee: transactions.fee,
            net: sql<string>`sum(${addressTransactions.net})::text`,
          })
          .from(addressTransactions)
          .innerJoin(walletAddresses, eq(walletAddresses.address, addressTransactions.address))
          .innerJoin(transactions, eq(transactions.txid, addressTransactions.txid))
          .where(eq(walletAddresses.walletId, walletId))
          .groupBy(transactions.txid)
          .orderBy(...NEWEST_FIRST)
          .limit(limit)
          .offset(offset),
        db
          .select({ n: sql<number>`count(distinct ${addressTransactions.txid})::int` })
          .from(addressTransactions)
          .innerJoin(walletAddresses, eq(walletAddresses.address, addressTransactions.address))
          .where(eq(walletAddresses.walletId, walletId)),
      ]);
      return { txs: rows.map((r) => ({ ...r, net: BigInt(r.net) })), total: Number(total?.n ?? 0) };
    },
  };
}
