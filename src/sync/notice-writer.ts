import { createHash } from 'node:crypto';
import { and, eq, inArray, type SQL, sql } from 'drizzle-orm';
import type { ChainTx } from '../chain/provider.js';
import type { Database } from '../db/client.js';
import { type NoticeLine, type NoticePayload, notices } from '../db/schema.js';
import type { AddressChanges } from '../wallet/history-diff.js';
import { addressKey, type ComputedLine, mergeLines, noticeLines, sameLines, withLines } from './notice-lines.js';
import { audienceOf, type BatchOfLines, computeLines, type LinesByGuild, type Listener, storedBalanceAfter, walletNetOf, walletsHolding } from './notice-watchers.js';

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
 * one notice per transaction per server with a channel (or one summary for a burst), with a line
 * for each of the server's watches the transaction touched, and an edit of existing notices when
 * their transaction confirms, leaves the mempool, touches one more watch, or turns out never to
 * have been the address's (stored from a wrong answer, removed when the chain said otherwise).
 * `batch`: when several histories are stored together, every new transaction of them, newest
 * first (see computeLines); their rows must all be written before any of their notices.
 */
export async function writeNotices(tx: Database, changes: AddressChanges, at: Date, batch?: BatchOfLines): Promise<void> {
  if (changes.confirmed.length) await markConfirmed(tx, changes.confirmed);
  if (changes.vanished.length) await markVanished(tx, changes);
  if (changes.removed.length) await markRemoved(tx, changes);
  // A newly stored address is a baseline: its history is not news to anyone.
  if (changes.isNewAddress) return;
  const back = [...changes.added, ...changes.restored];
  if (back.length) await markReturned(tx, changes.address, back);
  const moving = changes.added.filter((t) => t.net !== 0n);
  if (!moving.length) return;
  const audience = await audienceOf(tx, changes.address);
  if (!audience.length) return;
  const applying = { address: changes.address, balance: changes.balance, batch };
  const lines = await computeLines(tx, { txs: changes.added, guildIds: audience.map((s) => s.guildId), applying });
  for (const { row, lines: txLines } of announcements(audience, lines, changes, moving, at)) {
    if (row.kind === 'burst') {
      await tx.insert(notices).values(due(row)).onConflictDoNothing();
      continue;
    }
    // A transaction already announced to a server (seen through another of its watches, or by a
    // concurrent sync: the unique (server, txid) index says so) gets its lines recomputed instead.
    const txid = row.txid!;
    if (await addLines(tx, changes, row.guildId, txid, batch)) continue;
    const complete = await mergeLines([], txLines, (line) => storedBalanceAfter(tx, line, txid));
    const payload = withLines(row.payload, complete, changes.address);
    const [inserted] = await tx.insert(notices).values(due({ ...row, payload })).onConflictDoNothing().returning({ id: notices.id });
    if (!inserted) await addLines(tx, changes, row.guildId, txid, batch);
  }
}

type NewNotice = Omit<typeof notices.$inferInsert, 'nextAttemptAt'>;

/**
 * Due by the database's clock, the one the dispatcher compares with: a process whose clock runs
 * ahead must not hold its notices back.
 */
const due = (row: NewNotice) => ({ ...row, nextAttemptAt: sql`now()` });

/**
 * The new notices of `moving` (newest first) for each server over its threshold, oldest first; a
 * transaction's notice comes with its lines, whose balances the caller completes.
 */
function announcements(
  audience: Listener[],
  lines: LinesByGuild,
  changes: AddressChanges,
  moving: ChainTx[],
  at: Date,
): { row: NewNotice; lines: ComputedLine[] }[] {
  const rows: { row: NewNotice; lines: ComputedLine[] }[] = [];
  for (const server of audience) {
    const linesOf = (t: ChainTx) => lines.get(server.guildId)?.get(t.txid) ?? [];
    // A server hears of a transaction when it did at least the threshold to one of its watches.
    const worth = moving.filter((t) => linesOf(t).some((l) => abs(BigInt(l.net)) >= server.threshold));
    if (!worth.length) continue;
    const base = { guildId: server.guildId, channelId: server.channelId, address: changes.address, createdAt: at };
    if (worth.length > BURST_SIZE) {
      const row: NewNotice = {
        ...base,
        kind: 'burst',
        txid: null,
        nonce: noticeNonce([server.guildId, changes.address, 'burst', ...worth.map((t) => t.txid)]),
        payload: burstPayload(linesOf, changes, worth, at),
      };
      rows.push({ row, lines: [] });
      continue;
    }
    for (const t of worth) {
      const payload: NoticePayload = {
        label: null,
        address: changes.address,
        net: '0',
        balanceAfter: '0',
        fee: String(t.fee),
        status: t.blockHeight === null ? 'unconfirmed' : 'confirmed',
        blockHeight: t.blockHeight,
        time: t.time.toISOString(),
      };
      rows.push({ row: { ...base, kind: 'tx', txid: t.txid, nonce: noticeNonce([server.guildId, t.txid]), payload }, lines: linesOf(t) });
    }
  }
  // Oldest first, so a channel reads in the order things happened.
  return rows.reverse();
}

/**
 * A burst is one summary of the address's new transactions, with a line for each of the server's
 * watches that hold it (the address itself, each wallet it is in): the net of those transactions
 * to the watch, and its balance now.
 */
function burstPayload(linesOf: (t: ChainTx) => ComputedLine[], changes: AddressChanges, worth: ChainTx[], at: Date): NoticePayload {
  const newest = linesOf(worth[0]!).filter((l) => l.balanceAfter !== undefined);
  const summary = newest.map((line): NoticeLine => {
    const net = worth.reduce((sum, t) => sum + BigInt(linesOf(t).find((l) => l.key === line.key)?.net ?? '0'), 0n);
    const { internal: _, ...rest } = line;
    return { ...rest, net: String(net), balanceAfter: line.balanceAfter! };
  });
  const base: NoticePayload = { label: null, address: changes.address, net: '0', balanceAfter: '0', count: worth.length, time: at.toISOString() };
  return withLines(base, summary, changes.address);
}

/**
 * When the notice of (server, txid) exists (returns whether it does): recompute its lines from
 * what is stored now (this apply's links and every earlier one's), so that the transaction's touch
 * on one more watch is added, not lost. Locked first: a concurrent apply of another address of the
 * same transaction takes its turn.
 */
async function addLines(tx: Database, changes: AddressChanges, guildId: string, txid: string, batch?: BatchOfLines): Promise<boolean> {
  const [notice] = await tx
    .select({ id: notices.id, address: notices.address, payload: notices.payload, attempts: notices.attempts })
    .from(notices)
    .where(and(eq(notices.guildId, guildId), eq(notices.kind, 'tx'), eq(notices.txid, txid)))
    .for('update');
  if (!notice) return false;
  const applying = { address: changes.address, balance: changes.balance, batch };
  const fresh = await computeLines(tx, { txs: changes.added, guildIds: [guildId], applying });
  const computed = fresh.get(guildId)?.get(txid) ?? [];
  if (computed.length) await rewrite(tx, notice, await mergeLines(noticeLines(notice.payload), computed, (line) => storedBalanceAfter(tx, line, txid)));
  return true;
}

/**
 * Store new lines for a notice: its payload says them, and its message is edited when it may
 * already show the old ones. A notice never attempted has no message yet: its first post will
 * carry the lines, so its version stays.
 */
async function rewrite(tx: Database, notice: { id: bigint; address: string; payload: NoticePayload; attempts: number }, lines: NoticeLine[]): Promise<void> {
  if (sameLines(noticeLines(notice.payload), lines)) return;
  // The row's address follows the first line (its single fields), unless that is a wallet's.
  const address = lines[0]!.address ?? notice.address;
  await tx
    .update(notices)
    .set({
      address,
      payload: withLines(notice.payload, lines, address),
      ...(notice.attempts > 0 ? { version: sql`${notices.version} + 1` } : {}),
    })
    .where(eq(notices.id, notice.id));
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
    .select({ id: notices.id, payload: notices.payload })
    .from(notices)
    .where(and(eq(notices.kind, 'tx'), inArray(notices.txid, changes.vanished)));
  const walletIds = pending || !gone.length ? new Set<string>() : await walletsHolding(tx, changes.address);
  for (const notice of gone) {
    const replacement = pending ?? (await sameAmount(tx, notice.payload, changes, walletIds));
    const patch: Partial<NoticePayload> = replacement ? { status: 'replaced', replacedBy: replacement.txid } : { status: 'dropped' };
    await patchNotices(tx, patch, eq(notices.id, notice.id));
  }
}

/**
 * The added transaction that moved what a vanished one's notice says it did: to this address,
 * when the notice has its line, the same net; to a wallet holding it, the same net before the fee
 * when the wallet paid it (a fee bump takes more fee from the same wallet, the change being
 * smaller), else the same net. A wallet's net of an added transaction is read from what is
 * stored: every history of the batch is stored before its notices.
 */
async function sameAmount(tx: Database, payload: NoticePayload, changes: AddressChanges, walletIds: ReadonlySet<string>): Promise<ChainTx | undefined> {
  const lines = noticeLines(payload);
  const own = lines.find((l) => l.key === addressKey(changes.address));
  const wallet = own ? undefined : lines.find((l) => l.kind === 'wallet' && walletIds.has(l.key.slice('wallet:'.length)));
  if (!wallet) {
    const net = (own ?? lines[0]!).net;
    return changes.added.find((t) => t.net.toString() === net);
  }
  const walletId = wallet.key.slice('wallet:'.length);
  const net = BigInt(wallet.net);
  const moved = (n: bigint, fee: bigint) => (n < 0n ? n + fee : n);
  const target = moved(net, BigInt(payload.fee ?? '0'));
  for (const t of changes.added) {
    if (moved(await walletNetOf(tx, walletId, t.txid), t.fee) === target) return t;
  }
  return undefined;
}

type StoredNotice = Pick<typeof notices.$inferSelect, 'id' | 'guildId' | 'txid' | 'address' | 'payload' | 'attempts'>;

/** The stored transaction notices of `txids`, locked for this change. */
async function noticesOfTxs(tx: Database, txids: readonly string[]): Promise<StoredNotice[]> {
  const rows: StoredNotice[] = [];
  for (let i = 0; i < txids.length; i += 1_000) {
    rows.push(
      ...(await tx
        .select({ id: notices.id, guildId: notices.guildId, txid: notices.txid, address: notices.address, payload: notices.payload, attempts: notices.attempts })
        .from(notices)
        .where(and(eq(notices.kind, 'tx'), inArray(notices.txid, txids.slice(i, i + 1_000))))
        .orderBy(notices.id)
        .for('update')),
    );
  }
  return rows;
}

/** Whether a notice has something to say about the address: a line for it, or for a wallet holding it. */
function concerns(notice: StoredNotice, address: string, walletIds: ReadonlySet<string>): boolean {
  return (
    notice.address === address ||
    noticeLines(notice.payload).some((l) => l.key === addressKey(address) || (l.kind === 'wallet' && walletIds.has(l.key.slice('wallet:'.length))))
  );
}

/**
 * A transaction stored for an address from a wrong answer (another address's history) and then
 * removed: its notices lose the address's line, and the lines of the wallets holding it are
 * recomputed without it. The same transaction may truly be another tracked address's, so the
 * other lines stay. A notice with no line left says the transaction was never on the chain, with
 * the figures it was wrongly told.
 */
async function markRemoved(tx: Database, changes: AddressChanges): Promise<void> {
  const walletIds = await walletsHolding(tx, changes.address);
  for (const notice of await noticesOfTxs(tx, changes.removed)) {
    if (!concerns(notice, changes.address, walletIds)) continue;
    const before = noticeLines(notice.payload);
    const txOf = { txid: notice.txid!, fee: BigInt(notice.payload.fee ?? '0'), net: 0n };
    const computed = (await computeLines(tx, { txs: [txOf], guildIds: [notice.guildId] })).get(notice.guildId)?.get(txOf.txid) ?? [];
    const now = new Map(computed.map((l) => [l.key, l]));
    const left = before.flatMap((line): NoticeLine[] => {
      const still = now.get(line.key);
      if (!still) return [];
      // The balance then, less what the wrong answer had added to the line's net (a wallet's).
      const balanceAfter = String(BigInt(line.balanceAfter) - (BigInt(line.net) - BigInt(still.net)));
      return [{ ...still, balanceAfter }];
    });
    if (left.length) await rewrite(tx, notice, left);
    else await patchNotices(tx, { status: 'removed' }, eq(notices.id, notice.id));
  }
}

/**
 * A transaction marked replaced or dropped can show up again: providers' mempools differ, and a
 * dropped transaction can still be mined. So can one marked removed, for the same address, if it
 * was the later answer that was wrong. Its notice (whose lines the announcement recomputes) is
 * edited to say what the transaction is now.
 */
async function markReturned(tx: Database, address: string, added: ChainTx[]): Promise<void> {
  const byTxid = new Map(added.map((t) => [t.txid, t]));
  const walletIds = await walletsHolding(tx, address);
  for (const notice of await noticesOfTxs(tx, [...byTxid.keys()])) {
    const status = notice.payload.status;
    const back = status === 'replaced' || status === 'dropped' || (status === 'removed' && concerns(notice, address, walletIds));
    if (!back) continue;
    const t = byTxid.get(notice.txid!)!;
    const patch: Partial<NoticePayload> =
      t.blockHeight === null
        ? { status: 'unconfirmed', replacedBy: null }
        : { status: 'confirmed', blockHeight: t.blockHeight, time: t.time.toISOString(), replacedBy: null };
    await patchNotices(tx, patch, eq(notices.id, notice.id));
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
