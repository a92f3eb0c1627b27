import { sql } from 'drizzle-orm';
import { bigint, index, integer, pgTable, primaryKey, text, timestamp, uniqueIndex } from 'drizzle-orm/pg-core';

/**
 * One row per address however many servers watch it. Balance is what the provider last said,
 * with the time it said it.
 */
export const addresses = pgTable('addresses', {
  address: text('address').primaryKey(),
  balance: bigint('balance', { mode: 'bigint' }).notNull(),
  txCount: integer('tx_count').notNull(),
  totalReceived: bigint('total_received', { mode: 'bigint' }).notNull(),
  balanceUpdatedAt: timestamp('balance_updated_at', { withTimezone: true }).notNull(),
  /** when the stored transaction list was last brought up to date */
  txsUpdatedAt: timestamp('txs_updated_at', { withTimezone: true }),
});

/** A server's interest in an address: removing it never touches another server's watch. */
export const watches = pgTable(
  'watches',
  {
    guildId: text('guild_id').notNull(),
    address: text('address')
      .notNull()
      .references(() => addresses.address),
    label: text('label'),
    addedBy: text('added_by').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.guildId, t.address] }),
    uniqueIndex('watches_guild_label_idx')
      .on(t.guildId, sql`lower(${t.label})`)
      .where(sql`${t.label} is not null`),
    index('watches_address_idx').on(t.address),
  ],
);

/** A transaction, stored once however many tracked addresses it touches. */
export const transactions = pgTable('transactions', {
  txid: text('txid').primaryKey(),
  blockHeight: integer('block_height'),
  /** block time once confirmed, else when first seen */
  time: timestamp('time', { withTimezone: true }).notNull(),
  fee: bigint('fee', { mode: 'bigint' }).notNull(),
});

/** What one transaction did to one address, in satoshis (negative when it spent). */
export const addressTransactions = pgTable(
  'address_transactions',
  {
    address: text('address')
      .notNull()
      .references(() => addresses.address, { onDelete: 'cascade' }),
    txid: text('txid')
      .notNull()
      .references(() => transactions.txid),
    net: bigint('net', { mode: 'bigint' }).notNull(),
  },
  (t) => [primaryKey({ columns: [t.address, t.txid] }), index('address_transactions_txid_idx').on(t.txid)],
);
