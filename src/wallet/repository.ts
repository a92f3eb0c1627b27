import { and, asc, count, desc, eq, inArray, isNull, notExists, or, type SQL, sql } from 'drizzle-orm';
import type { AddressHistory, ChainTx } from '../chain/provider.js';
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

export interface NewWatch {
  guildId: string;
  label: string | null;
  addedBy: string;
}

/** What one store of an address's history changed. */
export interface AddressChanges {
  address: string;
  /** the balance now stored */
  balance: bigint;
  /** first time this address was stored: its history is a baseline, not news */
  isNewAddress: boolean;
  /** transactions not stored before, newest first */
  added: ChainTx[];
  /** stored as unconfirmed, now in a block */
  confirmed: ChainTx[];
  /** stored as unconfirmed, now gone from the mempool (replaced or dropped) */
  vanished: string[];
  /** stored as confirmed, but not in a complete history: the chain never had them here */
  removed: string[];
  /** missing from what was stored though older than what was: put back, not news (scope 'repair') */
  restored: ChainTx[];
}

/**
 * How far a history speaks for the chain. 'partial' (paging stopped at a known tx) only adds and
 * updates. 'complete' also removes every stored tx of the address it lacks. 'repair' is a
 * complete history fetched to mend a stored state that disagreed with the provider: the txs it
 * adds are old ones that were missing, so they are restored rather than announced.
 */
export type HistoryScope = 'partial' | 'complete' | 'repair';

export type OnChanges = (tx: Database, changes: AddressChanges, at: Date) => Promise<void>;

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

    listWatches(guildId: string, { limit, offset = 0 }: { limit?: number; offset?: number } = {}) {
      const query = db
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
        .orderBy(asc(watches.createdAt), asc(watches.address))
        .offset(offset);
      return limit === undefined ? query : query.limit(limit);
    },

    /** How many addresses a server watches, and their stored balances added up. */
    async watchTotals(guildId: string): Promise<{ count: number; balance: bigint }> {
      const [row] = await db
        .select({ n: count(), balance: sql<string>`coalesce(sum(${addresses.balance}), 0)::text` })
        .from(watches)
        .innerJoin(addresses, eq(addresses.address, watches.address))
        .where(eq(watches.guildId, guildId));
      return { count: row?.n ?? 0, balance: BigInt(row?.balance ?? '0') };
    },

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

    /** Watched addresses with their stored balance, and whether any of their txs is unconfirmed. */
    trackedAddresses() {
      return db
        .select({
          address: addresses.address,
          balance: addresses.balance,
          txCount: addresses.txCount,
          txsUpdatedAt: addresses.txsUpdatedAt,
          txsTipHeight: addresses.txsTipHeight,
          // Literal SQL: drizzle leaves column names unqualified here, which a correlated
          // subquery over two tables cannot have.
          hasUnconfirmed: sql<boolean>`exists (select 1 from address_transactions l join transactions t on t.txid = l.txid
            where l.address = addresses.address and t.block_height is null)`,
          // A row that disagrees with its own transactions got there by some wrong path: look again.
          inconsistent: sql<boolean>`(select coalesce(sum(l.net), 0) <> addresses.balance or count(*) <> addresses.tx_count
            from address_transactions l where l.address = addresses.address)`,
        })
        .from(addresses)
        .where(sql`exists (select 1 from watches w where w.address = addresses.address)`)
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

    /** Confirmed txids already stored: paging can stop there. Unconfirmed ones are fetched again. */
    async confirmedTxids(address: string): Promise<Set<string>> {
      const rows = await db
        .select({ txid: transactions.txid })
        .from(addressTransactions)
        .innerJoin(transactions, eq(transactions.txid, addressTransactions.txid))
        .where(and(eq(addressTransactions.address, address), sql`${transactions.blockHeight} is not null`));
      return new Set(rows.map((r) => r.txid));
    },

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
     * `onChanges` runs inside that transaction with what changed, so whatever it writes (notices)
     * commits or rolls back with the change itself. With `watch`, also add that server's watch
     * (after onChanges: a server is not told about history from before it tracked the address).
     * `consistent` says whether what is now stored of the address adds up to the provider's
     * balance and count; when not, the caller fetches the full history and stores it as 'repair'.
     */
    storeHistory(
      history: AddressHistory,
      at: Date,
      {
        watch,
        onChanges,
        scope = 'partial',
        tipHeight,
      }: { watch?: NewWatch; onChanges?: OnChanges; scope?: HistoryScope; tipHeight?: number } = {},
    ): Promise<{ changes: AddressChanges; watchAdded: boolean; consistent: boolean }> {
      return db.transaction(async (tx) => {
        const { address } = history.balance;
        const values = {
          balance: history.balance.balance,
          txCount: history.balance.txCount,
          totalReceived: history.balance.totalReceived,
          balanceUpdatedAt: at,
          txsUpdatedAt: at,
          // Unknown (a person's read): what is stored still holds, as this read came later.
          ...(tipHeight === undefined ? {} : { txsTipHeight: tipHeight }),
        };
        // The write also locks the row, so concurrent writers of this address take turns and each
        // compares against what the previous one stored. Only tracking may create the row (xmax = 0
        // tells a fresh insert): a refresh that lost a race with the last /untrack must not bring
        // the address back with nobody watching it.
        const [written] = watch
          ? await tx
              .insert(addresses)
              .values({ address, ...values })
              .onConflictDoUpdate({ target: addresses.address, set: values })
              .returning({ inserted: sql<boolean>`(xmax = 0)` })
          : await tx
              .update(addresses)
              .set(values)
              .where(eq(addresses.address, address))
              .returning({ inserted: sql<boolean>`false` });
        if (!written) {
          const nothing: AddressChanges = {
            address,
            balance: history.balance.balance,
            isNewAddress: false,
            added: [],
            confirmed: [],
            vanished: [],
            removed: [],
            restored: [],
          };
          return { changes: nothing, watchAdded: false, consistent: true };
        }
        const isNewAddress = written.inserted === true;

        const before = isNewAddress ? new Map<string, number | null>() : await storedBefore(tx, history, scope);

        for (let i = 0; i < history.txs.length; i += INSERT_CHUNK) {
          const chunk = history.txs.slice(i, i + INSERT_CHUNK);
          await tx
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
          await tx
            .insert(addressTransactions)
            .values(chunk.map(({ txid, net }) => ({ address, txid, net })))
            .onConflictDoUpdate({
              target: [addressTransactions.address, addressTransactions.txid],
              set: { net: sql`excluded.net` },
            });
        }

        // Every unconfirmed transaction comes before the first confirmed one, so any stored
        // unconfirmed transaction the provider did not return is gone from the mempool. A stored
        // confirmed one that a complete history lacks was never this address's.
        const seen = new Set(history.txs.map((t) => t.txid));
        const missing = [...before].filter(([txid]) => !seen.has(txid));
        const vanished = missing.filter(([, height]) => height === null).map(([txid]) => txid);
        const removed = scope === 'partial' ? [] : missing.filter(([, height]) => height !== null).map(([txid]) => txid);
        await unlink(tx, address, [...vanished, ...removed]);

        const fresh = isNewAddress ? history.txs : history.txs.filter((t) => !before.has(t.txid));
        const changes: AddressChanges = {
          address,
          balance: history.balance.balance,
          isNewAddress,
          added: scope === 'repair' ? [] : fresh,
          confirmed: history.txs.filter((t) => t.blockHeight !== null && before.has(t.txid) && before.get(t.txid) === null),
          vanished,
          removed,
          restored: scope === 'repair' ? fresh : [],
        };
        await onChanges?.(tx, changes, at);
        const consistent = await addsUp(tx, address, history);

        if (!watch) return { changes, watchAdded: false, consistent };
        const inserted = await tx
          .insert(watches)
          .values({ guildId: watch.guildId, address, label: watch.label, addedBy: watch.addedBy, createdAt: at })
          // Only "this server has it already" is expected; a label clash must fail loudly.
          .onConflictDoNothing({ target: [watches.guildId, watches.address] })
          .returning({ address: watches.address });
        return { changes, watchAdded: inserted.length > 0, consistent };
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

/** in storeHistory's upsert: the stored time is the block's and the tx is still in that block */
const keepsBlockTime = sql`${transactions.timeIsBlockTime} and excluded.block_height = ${transactions.blockHeight} and not excluded.time_is_block_time`;

export type WalletRepository = ReturnType<typeof createWalletRepository>;

/**
 * What was stored of the history's transactions (txid → height), and of every stored one still
 * unconfirmed; of every stored one at all when the history is complete.
 */
async function storedBefore(db: Database, history: AddressHistory, scope: HistoryScope): Promise<Map<string, number | null>> {
  const { address } = history.balance;
  const before = new Map<string, number | null>();
  const links = (where: SQL | undefined) =>
    db
      .select({ txid: transactions.txid, blockHeight: transactions.blockHeight })
      .from(addressTransactions)
      .innerJoin(transactions, eq(transactions.txid, addressTransactions.txid))
      .where(and(eq(addressTransactions.address, address), where));
  if (scope !== 'partial') {
    for (const row of await links(undefined)) before.set(row.txid, row.blockHeight);
    return before;
  }
  const txids = history.txs.map((t) => t.txid);
  for (let i = 0; i === 0 || i < txids.length; i += INSERT_CHUNK) {
    const chunk = txids.slice(i, i + INSERT_CHUNK);
    const rows = await links(or(isNull(transactions.blockHeight), chunk.length ? inArray(addressTransactions.txid, chunk) : undefined));
    for (const row of rows) before.set(row.txid, row.blockHeight);
  }
  return before;
}

/** Forget that `txids` touched the address, and the transactions nothing else needs. */
async function unlink(db: Database, address: string, txids: string[]): Promise<void> {
  for (let i = 0; i < txids.length; i += INSERT_CHUNK) {
    const chunk = txids.slice(i, i + INSERT_CHUNK);
    await db.delete(addressTransactions).where(and(eq(addressTransactions.address, address), inArray(addressTransactions.txid, chunk)));
  }
  await deleteOrphanTransactions(db, txids);
}

/** Whether the stored transactions of an address add up to what the provider said of it. */
async function addsUp(db: Database, address: string, history: AddressHistory): Promise<boolean> {
  const [row] = await db
    .select({ n: count(), net: sql<string>`coalesce(sum(${addressTransactions.net}), 0)::text` })
    .from(addressTransactions)
    .where(eq(addressTransactions.address, address));
  return row?.n === history.balance.txCount && BigInt(row.net) === history.balance.balance;
}

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
