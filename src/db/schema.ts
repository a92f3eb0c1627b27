import { sql } from 'drizzle-orm';
import { bigint, boolean, index, integer, jsonb, pgTable, primaryKey, text, timestamp, uniqueIndex } from 'drizzle-orm/pg-core';

/**
 * One row per address however many servers watch it. Balance is what the provider last said,
 * with the last time it said it (a sync that finds it unchanged moves that time on).
 */
export const addresses = pgTable('addresses', {
  address: text('address').primaryKey(),
  balance: bigint('balance', { mode: 'bigint' }).notNull(),
  txCount: integer('tx_count').notNull(),
  balanceUpdatedAt: timestamp('balance_updated_at', { withTimezone: true }).notNull(),
  /** when the stored transaction list was last brought up to date */
  txsUpdatedAt: timestamp('txs_updated_at', { withTimezone: true }),
  /**
   * The chain's tip height, asked before that read: an unconfirmed transaction can only have
   * confirmed once the tip is past it, so the sync reads the list again only then (null: unknown)
   */
  txsTipHeight: integer('txs_tip_height'),
  /**
   * The Electrum status of the stored history, as last applied from a server: a status pushed
   * or answered that equals it means nothing changed (null: none yet, or an empty history)
   */
  electrumStatus: text('electrum_status'),
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

/**
 * A server's whole wallet: one watch with one label, over the addresses its descriptor derives.
 * The descriptor reveals every address of the wallet: it is never logged whole nor shown in public.
 */
export const wallets = pgTable(
  'wallets',
  {
    id: bigint('id', { mode: 'bigint' }).primaryKey().generatedAlwaysAsIdentity(),
    guildId: text('guild_id').notNull(),
    /** the canonical output descriptor with its BIP-380 checksum: what the addresses are derived from */
    descriptor: text('descriptor').notNull(),
    /** the wallet's name in replies and notices; unique in its server together with the watches' labels */
    label: text('label').notNull(),
    /** how many unused addresses in a row are watched past the last used one, on each chain */
    gap: integer('gap').notNull(),
    addedBy: text('added_by').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull(),
  },
  (t) => [
    uniqueIndex('wallets_guild_descriptor_idx').on(t.guildId, t.descriptor),
    uniqueIndex('wallets_guild_label_idx').on(t.guildId, sql`lower(${t.label})`),
  ],
);

/**
 * The addresses a wallet watches: `chain` is the descriptor's path (0: receive, 1: change; a
 * multipath descriptor's position in <a;b>), `index` the last derivation step. Each address has
 * its row in `addresses`, shared with any other watch or wallet that has it.
 */
export const walletAddresses = pgTable(
  'wallet_addresses',
  {
    walletId: bigint('wallet_id', { mode: 'bigint' })
      .notNull()
      .references(() => wallets.id, { onDelete: 'cascade' }),
    chain: integer('chain').notNull(),
    index: integer('index').notNull(),
    address: text('address')
      .notNull()
      .references(() => addresses.address),
  },
  (t) => [
    primaryKey({ columns: [t.walletId, t.chain, t.index] }),
    uniqueIndex('wallet_addresses_wallet_address_idx').on(t.walletId, t.address),
    index('wallet_addresses_address_idx').on(t.address),
  ],
);

/** A transaction, stored once however many tracked addresses it touches. */
export const transactions = pgTable('transactions', {
  txid: text('txid').primaryKey(),
  blockHeight: integer('block_height'),
  /** block time once confirmed, else when first seen (see timeIsBlockTime) */
  time: timestamp('time', { withTimezone: true }).notNull(),
  /** false while `time` is a first-seen time: the sync asks a confirmed tx's block time later */
  timeIsBlockTime: boolean('time_is_block_time').notNull().default(false),
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

/** A server's notice settings, chosen by its admins with /config. */
export const guildSettings = pgTable('guild_settings', {
  guildId: text('guild_id').primaryKey(),
  /** where balance-change notices go; null: no notices for this server */
  channelId: text('channel_id'),
  /** the smallest absolute net amount worth a notice, in satoshis; 0: any change */
  thresholdSats: bigint('threshold_sats', { mode: 'bigint' }).notNull().default(sql`0`),
  /** the last permanent delivery failure, shown by /config show until a delivery succeeds */
  lastDeliveryError: text('last_delivery_error'),
  lastDeliveryErrorAt: timestamp('last_delivery_error_at', { withTimezone: true }),
  updatedAt: timestamp('updated_at', { withTimezone: true }).notNull(),
});

/**
 * The outbox: a notice is written in the same transaction as the balance change that caused it,
 * then delivered. `version` counts what the message should say (1: as first posted; each later
 * change, such as a confirmation, bumps it); `deliveredVersion` what Discord shows.
 */
export const notices = pgTable(
  'notices',
  {
    id: bigint('id', { mode: 'bigint' }).primaryKey().generatedAlwaysAsIdentity(),
    guildId: text('guild_id').notNull(),
    channelId: text('channel_id').notNull(),
    address: text('address').notNull(),
    /** 'tx': one transaction; 'burst': a summary of many new transactions of one address */
    kind: text('kind', { enum: ['tx', 'burst'] }).notNull(),
    /** the transaction for 'tx' notices; null for bursts */
    txid: text('txid'),
    /** Discord message nonce (at most 25 characters), derived from what the notice is about */
    nonce: text('nonce').notNull().unique(),
    /** everything the embed shows, as rendered data (amounts as decimal strings of satoshis) */
    payload: jsonb('payload').$type<NoticePayload>().notNull(),
    version: integer('version').notNull().default(1),
    deliveredVersion: integer('delivered_version').notNull().default(0),
    messageId: text('message_id'),
    attempts: integer('attempts').notNull().default(0),
    nextAttemptAt: timestamp('next_attempt_at', { withTimezone: true }).notNull(),
    /** a delivery in progress: other dispatchers leave the notice alone until then */
    claimedUntil: timestamp('claimed_until', { withTimezone: true }),
    lastError: text('last_error'),
    /** set on a permanent failure (channel gone, no permission): never retried */
    failedAt: timestamp('failed_at', { withTimezone: true }),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull(),
  },
  (t) => [
    uniqueIndex('notices_guild_tx_idx').on(t.guildId, t.txid).where(sql`${t.kind} = 'tx'`),
    index('notices_due_idx')
      .on(t.nextAttemptAt)
      .where(sql`${t.failedAt} is null and ${t.deliveredVersion} < ${t.version}`),
    index('notices_txid_idx').on(t.txid),
  ],
);

/** 'removed': the tx was stored from a wrong answer; the chain does not have it for this address */
export type NoticeStatus = 'unconfirmed' | 'confirmed' | 'replaced' | 'dropped' | 'removed';

/** What a transaction did to one of a server's watches: a notice has one line per watch it touched. */
export interface NoticeLine {
  /** one line per watch: 'address:<address>' or 'wallet:<wallet id>' */
  key: string;
  kind: 'address' | 'wallet';
  /** a wallet always has one: it is how notices name it (never by its descriptor) */
  label: string | null;
  /** for kind 'address' */
  address?: string;
  /** satoshis as decimal text; for a wallet, the sum over its addresses */
  net: string;
  balanceAfter: string;
  /** a wallet transaction that only moved coins between the wallet's own addresses (net = -fee) */
  internal?: boolean;
}

/**
 * The fields before `lines` are those of the first line, so that notices stored by older
 * versions (which have no `lines`) read the same. A notice whose only line is an address line
 * stores no `lines`: its fields say it all (see src/sync/notice-lines.ts, which reads both).
 */
export interface NoticePayload {
  label: string | null;
  address: string;
  /** satoshis as decimal text: JSON has no bigint */
  net: string;
  balanceAfter: string;
  /** every watch of the server the transaction touched (bursts: every watch holding the address) */
  lines?: NoticeLine[];
  fee?: string;
  status?: NoticeStatus;
  blockHeight?: number | null;
  /** ISO time: block time once confirmed, else first seen */
  time?: string;
  /** a later transaction that appeared when this one left the mempool */
  replacedBy?: string | null;
  /** bursts: how many transactions the summary covers */
  count?: number;
}

/** Who may run a scheduled job's slot: one row per run key, taken when free or expired. */
export const runLeases = pgTable('run_leases', {
  key: text('key').primaryKey(),
  owner: text('owner').notNull(),
  expiresAt: timestamp('expires_at', { withTimezone: true }).notNull(),
});
