import { createHash } from 'node:crypto';
import { and, eq, inArray, isNotNull, type SQL, sql } from 'drizzle-orm';
import type { ChainTx } from '../chain/provider.js';
import type { Database } from '../db/client.js';
import { guildSettings, type NoticePayload, notices, watches } from '../db/schema.js';
import type { AddressChanges } from '../wallet/history-diff.js';

/** More new transactions than this for one address in one store become one summary notice. */
export const BURST_SIZE = 5;

/**
 * Discord's message nonce is at most 25 characters. Derived from what the notice is about, so the
 * same notice always carries the same nonce: a re-post after a crash is recognised by Discord.
 */
export function noticeNonce(parts: string[]): string {
  return `sb${createHash('sha256').update(parts.join(':')).digest('base64url').slice(0, 23)}`;
}

/**
 * Turn what changed about an address into notice rows, inside the transaction that stored it:
 * one notice per transaction per server with a channel (or one summary for a burst), and an edit
 * of existing notices when their transaction confirms, leaves the mempool, or turns out never to
 * have been the address's (stored from a wrong answer, removed when the chain said otherwise).
 */
export async function writeNotices(tx: Database, changes: AddressChanges, at: Date): Promise<void> {
  if (changes.confirmed.length) await markConfirmed(tx, changes.confirmed);
  if (changes.vanished.length) await markVanished(tx, changes);
  if (changes.removed.length) await markRemoved(tx, changes);
  // A newly stored address is a baseline: its history is not news to anyone.
  if (changes.isNewAddress) return;
  const back = [...changes.added, ...changes.restored];
  if (back.length) await markReturned(tx, changes.address, back);
  const moving = changes.added.filter((t) => t.net !== 0n);
  if (!moving.length) return;
  const rows = announcements(await audienceOf(tx, changes.address), changes, moving, at);
  // A transaction already announced to a server (seen through another of its addresses, or by
  // a concurrent sync) is not announced again: the unique (server, txid) index says so.
  // Due by the database's clock, the one the dispatcher compares with: a process whose clock runs
  // ahead must not hold its notices back.
  if (rows.length) await tx.insert(notices).values(rows.map((r) => ({ ...r, nextAttemptAt: sql`now()` }))).onConflictDoNothing();
}

type NewNotice = Omit<typeof notices.$inferInsert, 'nextAttemptAt'>;
type Audience = Awaited<ReturnType<typeof audienceOf>>;

/** The servers that watch the address and have a notice channel, with what each wants to hear. */
function audienceOf(tx: Database, address: string) {
  return tx
    .select({
      guildId: watches.guildId,
      label: watches.label,
      channelId: guildSettings.channelId,
      threshold: guildSettings.thresholdSats,
    })
    .from(watches)
    .innerJoin(guildSettings, and(eq(guildSettings.guildId, watches.guildId), isNotNull(guildSettings.channelId)))
    .where(eq(watches.address, address));
}

/** The new notices of `moving` (newest first) for each server over its threshold, oldest first. */
function announcements(audience: Audience, changes: AddressChanges, moving: ChainTx[], at: Date): NewNotice[] {
  const balanceAfter = runningBalances(changes.balance, moving);
  const rows: NewNotice[] = [];
  for (const server of audience) {
    const worth = moving.filter((t) => abs(t.net) >= server.threshold);
    if (!worth.length) continue;
    const base = { guildId: server.guildId, channelId: server.channelId!, address: changes.address, createdAt: at };
    if (worth.length > BURST_SIZE) {
      const net = worth.reduce((sum, t) => sum + t.net, 0n);
      rows.push({
        ...base,
        kind: 'burst',
        txid: null,
        nonce: noticeNonce([server.guildId, changes.address, 'burst', ...worth.map((t) => t.txid)]),
        payload: { label: server.label, address: changes.address, net: String(net), balanceAfter: String(changes.balance), count: worth.length, time: at.toISOString() },
      });
      continue;
    }
    for (const t of worth) {
      rows.push({
        ...base,
        kind: 'tx',
        txid: t.txid,
        nonce: noticeNonce([server.guildId, t.txid]),
        payload: {
          label: server.label,
          address: changes.address,
          net: String(t.net),
          balanceAfter: String(balanceAfter.get(t.txid)),
          fee: String(t.fee),
          status: t.blockHeight === null ? 'unconfirmed' : 'confirmed',
          blockHeight: t.blockHeight,
          time: t.time.toISOString(),
        },
      });
    }
  }
  // Oldest first, so a channel reads in the order things happened.
  return rows.reverse();
}

/** The balance right after each new transaction, walking back from the balance now. */
function runningBalances(balance: bigint, newestFirst: ChainTx[]): Map<string, bigint> {
  const after = new Map<string, bigint>();
  let running = balance;
  for (const t of newestFirst) {
    after.set(t.txid, running);
    running -= t.net;
  }
  return after;
}

async function markConfirmed(tx: Database, confirmed: ChainTx[]): Promise<void> {
  for (const t of confirmed) {
    const patch: Partial<NoticePayload> = { status: 'confirmed', blockHeight: t.blockHeight, time: t.time.toISOString() };
    await patchNotices(tx, patch, and(eq(notices.txid, t.txid), sql`${notices.payload}->>'status' not in ('confirmed', 'removed')`));
  }
}

/**
 * A vanished transaction was replaced (RBF) or dropped. When a new unconfirmed transaction of the
 * same address appeared at the same time, it is most likely the replacement: say so. One already
 * in a block is, too, when it moved the same amount: a replacement of the same amount moves no
 * balance, so the sync reads the address again only once a block came, when it may have confirmed.
 */
async function markVanished(tx: Database, changes: AddressChanges): Promise<void> {
  const pending = changes.added.find((t) => t.blockHeight === null);
  const gone = await tx
    .select({ id: notices.id, net: sql<string>`${notices.payload}->>'net'` })
    .from(notices)
    .where(and(eq(notices.kind, 'tx'), inArray(notices.txid, changes.vanished)));
  for (const notice of gone) {
    const replacement = pending ?? changes.added.find((t) => t.net.toString() === notice.net);
    const patch: Partial<NoticePayload> = replacement ? { status: 'replaced', replacedBy: replacement.txid } : { status: 'dropped' };
    await patchNotices(tx, patch, eq(notices.id, notice.id));
  }
}

/**
 * A transaction stored for an address from a wrong answer (another address's history) and then
 * removed: its notices about this address say so. The same transaction may truly be another
 * tracked address's, so only notices about this address change.
 */
async function markRemoved(tx: Database, changes: AddressChanges): Promise<void> {
  const patch: Partial<NoticePayload> = { status: 'removed' };
  for (let i = 0; i < changes.removed.length; i += 1_000) {
    const txids = changes.removed.slice(i, i + 1_000);
    await patchNotices(tx, patch, and(eq(notices.address, changes.address), inArray(notices.txid, txids)));
  }
}

/**
 * A transaction marked replaced or dropped can show up again: providers' mempools differ, and a
 * dropped transaction can still be mined. So can one marked removed, for the same address, if it
 * was the later answer that was wrong. Its notice (which the insert below leaves alone) is edited
 * to say what the transaction is now.
 */
async function markReturned(tx: Database, address: string, added: ChainTx[]): Promise<void> {
  const byTxid = new Map(added.map((t) => [t.txid, t]));
  const txids = [...byTxid.keys()];
  const gone = sql`(${notices.payload}->>'status' in ('replaced', 'dropped') or (${notices.payload}->>'status' = 'removed' and ${notices.address} = ${address}))`;
  for (let i = 0; i < txids.length; i += 1_000) {
    const returned = await tx
      .selectDistinct({ txid: notices.txid })
      .from(notices)
      .where(and(eq(notices.kind, 'tx'), inArray(notices.txid, txids.slice(i, i + 1_000)), gone));
    for (const { txid } of returned) {
      const t = byTxid.get(txid!)!;
      const patch: Partial<NoticePayload> =
        t.blockHeight === null
          ? { status: 'unconfirmed', replacedBy: null }
          : { status: 'confirmed', blockHeight: t.blockHeight, time: t.time.toISOString(), replacedBy: null };
      await patchNotices(tx, patch, and(eq(notices.txid, t.txid), gone));
    }
  }
}

/** Change what transaction notices say (merged into their payload) and mark them for an edit. */
async function patchNotices(tx: Database, patch: Partial<NoticePayload>, where: SQL | undefined): Promise<void> {
  await tx
    .update(notices)
    .set({ payload: sql`${notices.payload} || ${JSON.stringify(patch)}::jsonb`, version: sql`${notices.version} + 1` })
    .where(and(eq(notices.kind, 'tx'), where));
}

const abs = (n: bigint) => (n < 0n ? -n : n);
