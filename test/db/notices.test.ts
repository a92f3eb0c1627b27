import { asc, eq, inArray } from 'drizzle-orm';
import { pino } from 'pino';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { ChainTx } from '../../src/chain/provider.js';
import { addresses, guildSettings, notices } from '../../src/db/schema.js';
import { BURST_SIZE, noticeNonce } from '../../src/sync/notice-writer.js';
import { type ApplyHistory, createApplyHistory } from '../../src/wallet/apply-history.js';
import type { NewWatch } from '../../src/wallet/history-rows.js';
import { historyFixtures, historyOf } from '../support/histories.js';
import { createTestDatabase, testBackends } from '../support/database.js';

describe.each(testBackends())('notice writer on %s', (backend) => {
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let apply: ApplyHistory;
  // One database for the file: each test works in servers, addresses and transactions of its own.
  let guilds = 0;
  const { now, tick, fresh, newTxid, tx } = historyFixtures('notices', { start: '2026-11-24T12:00:00Z', fee: 141n });
  const HEIGHT = 870_000;

  beforeAll(async () => {
    database = await createTestDatabase(backend);
  });
  afterAll(async () => {
    await database?.close();
  });
  beforeEach(() => {
    apply = createApplyHistory({ db: database.db, logger: pino({ level: 'silent' }) });
  });

  /** A server; with `channelId` undefined it never ran /config, with null it has settings but no channel. */
  async function server(opts: { channel?: boolean | null; threshold?: bigint } = {}) {
    const n = BigInt(++guilds);
    const guildId = String(800000000000000000n + n);
    const channelId = opts.channel === false || opts.channel === null ? null : String(810000000000000000n + n);
    if (opts.channel !== false) {
      await database.db
        .insert(guildSettings)
        .values({ guildId, channelId, thresholdSats: opts.threshold ?? 0n, updatedAt: new Date(now()) });
    }
    return { guildId, channelId };
  }

  /** the same transaction, now in a block */
  const mined = (t: ChainTx, blockHeight = HEIGHT + 1): ChainTx => ({ ...t, blockHeight, time: new Date(now() + 7_000) });

  /** A sync (or a /track, with `watch`) applying `txs` as the address's history: the notices are part of it. */
  const store = (address: string, txs: ChainTx[], watch?: NewWatch) => apply(historyOf(address, txs), { at: tick(), watch });

  const track = (guild: { guildId: string }, address: string, txs: ChainTx[], label: string | null = null) =>
    store(address, txs, { guildId: guild.guildId, label, addedBy: '200000000000000001' });

  const noticesOf = (where: { address?: string; txid?: string; guildId?: string }) =>
    database.db
      .select()
      .from(notices)
      .where(
        where.address
          ? eq(notices.address, where.address)
          : where.txid
            ? eq(notices.txid, where.txid)
            : eq(notices.guildId, where.guildId!),
      )
      .orderBy(asc(notices.id));

  it("writes nothing for a newly tracked address's history, nor for a server that starts tracking it", async () => {
    const a = await server();
    const b = await server();
    const address = fresh();
    const history = [tx(5_000n), tx(-20_000n, { blockHeight: HEIGHT }), tx(100_000n, { blockHeight: HEIGHT - 9 })];

    const { changes } = await track(a, address, history, 'cold');
    expect(changes.isNewAddress).toBe(true);
    expect(await noticesOf({ address })).toEqual([]);

    // B tracks it once it has one more transaction: A, already tracking it, hears of that one; B of nothing.
    const news = tx(7_000n);
    const second = await track(b, address, [news, ...history]);
    expect(second.changes).toMatchObject({ isNewAddress: false, added: [news] });
    expect((await noticesOf({ address })).map((n) => [n.guildId, n.txid])).toEqual([[a.guildId, news.txid]]);
  });

  it('announces a new transaction once per server with a channel, with what the embed shows', async () => {
    const a = await server();
    const b = await server();
    const noSettings = await server({ channel: false });
    const noChannel = await server({ channel: null });
    const address = fresh();
    const old = tx(100_000n, { blockHeight: HEIGHT - 3 });
    await track(a, address, [old], 'Cold storage');
    await track(b, address, [old]);
    await track(noSettings, address, [old]);
    await track(noChannel, address, [old], 'theirs');

    const incoming = tx(25_000n, { fee: 210n });
    const at = new Date(now() + 60_000);
    await store(address, [incoming, old]);

    const rows = await noticesOf({ address });
    expect(rows.map((n) => n.guildId).sort()).toEqual([a.guildId, b.guildId]);
    for (const [guild, label] of [
      [a, 'Cold storage'],
      [b, null],
    ] as const) {
      const row = rows.find((n) => n.guildId === guild.guildId)!;
      expect(row).toMatchObject({
        channelId: guild.channelId,
        address,
        kind: 'tx',
        txid: incoming.txid,
        nonce: noticeNonce([guild.guildId, incoming.txid]),
        version: 1,
        deliveredVersion: 0,
        messageId: null,
        attempts: 0,
        claimedUntil: null,
        failedAt: null,
        createdAt: at,
      });
      // Due at once by the database's clock, whatever the writer's clock says.
      expect(row.nextAttemptAt.getTime()).toBeLessThanOrEqual(Date.now() + 1_000);
      expect(row.payload).toEqual({
        label,
        address,
        net: '25000',
        balanceAfter: '125000',
        fee: '210',
        status: 'unconfirmed',
        blockHeight: null,
        time: incoming.time.toISOString(),
      });
    }
  });

  it('gives each of several new transactions its own amount and running balance, oldest first', async () => {
    const a = await server();
    const address = fresh();
    const old = tx(100_000n, { blockHeight: HEIGHT - 20 });
    await track(a, address, [old]);

    // After some downtime: two already in blocks, one in the mempool, and one that moves nothing.
    const received = tx(50_000n, { blockHeight: HEIGHT - 2 });
    const paid = tx(-30_141n, { blockHeight: HEIGHT - 1, fee: 141n });
    const neutral = tx(0n, { blockHeight: HEIGHT - 1 });
    const pending = tx(5_000n);
    await store(address, [pending, neutral, paid, received, old]);

    const rows = await noticesOf({ address });
    expect(rows.map((n) => [n.txid, n.payload.net, n.payload.balanceAfter, n.payload.status, n.payload.blockHeight])).toEqual([
      [received.txid, '50000', '150000', 'confirmed', HEIGHT - 2],
      [paid.txid, '-30141', '119859', 'confirmed', HEIGHT - 1],
      [pending.txid, '5000', '124859', 'unconfirmed', null],
    ]);
  });

  it("applies each server's threshold to the absolute net amount", async () => {
    const picky = await server({ threshold: 50_000n });
    const all = await server();
    const address = fresh();
    const old = tx(1_000_000n, { blockHeight: HEIGHT - 5 });
    await track(picky, address, [old]);
    await track(all, address, [old]);

    const small = tx(10_000n, { blockHeight: HEIGHT - 1 });
    const bigOut = tx(-60_000n, { blockHeight: HEIGHT });
    const exact = tx(50_000n);
    await store(address, [exact, bigOut, small, old]);

    const rows = await noticesOf({ address });
    const of = (guildId: string) => rows.filter((n) => n.guildId === guildId).map((n) => [n.txid, n.payload.balanceAfter]);
    expect(of(all.guildId)).toEqual([
      [small.txid, '1010000'],
      [bigOut.txid, '950000'],
      [exact.txid, '1000000'],
    ]);
    // The balance after each is the real one, whatever was left out.
    expect(of(picky.guildId)).toEqual([
      [bigOut.txid, '950000'],
      [exact.txid, '1000000'],
    ]);
  });

  it(`sums up more than ${BURST_SIZE} new transactions in one notice per server`, async () => {
    const a = await server();
    const b = await server();
    const picky = await server({ threshold: 10_000n });
    const address = fresh();
    const old = tx(1_000_000n, { blockHeight: HEIGHT - 50 });
    for (const guild of [a, b, picky]) await track(guild, address, [old], guild === a ? 'hot' : null);

    // Six small ones, two of them worth a notice to the picky server.
    const burst = [tx(1_000n), tx(-2_000n), tx(3_000n), tx(12_000n), tx(-15_000n, { blockHeight: HEIGHT }), tx(500n, { blockHeight: HEIGHT })];
    const at = new Date(now() + 60_000);
    await store(address, [...burst, old]);

    const rows = await noticesOf({ address });
    for (const [guild, label] of [
      [a, 'hot'],
      [b, null],
    ] as const) {
      const mine = rows.filter((n) => n.guildId === guild.guildId);
      expect(mine).toHaveLength(1);
      expect(mine[0]).toMatchObject({ kind: 'burst', txid: null, channelId: guild.channelId, version: 1, deliveredVersion: 0 });
      expect(mine[0]!.nonce.length).toBeLessThanOrEqual(25);
      expect(mine[0]!.payload).toEqual({
        label,
        address,
        net: String(1_000 - 2_000 + 3_000 + 12_000 - 15_000 + 500),
        balanceAfter: String(1_000_000 - 500),
        count: 6,
        time: at.toISOString(),
      });
    }
    expect(rows.filter((n) => n.guildId === picky.guildId).map((n) => [n.kind, n.txid])).toEqual([
      ['tx', burst[4]!.txid],
      ['tx', burst[3]!.txid],
    ]);
    expect(new Set(rows.map((n) => n.nonce)).size).toBe(rows.length);
  });

  it(`announces exactly ${BURST_SIZE} new transactions one by one`, async () => {
    const a = await server();
    const address = fresh();
    await track(a, address, []);
    const five = Array.from({ length: BURST_SIZE }, (_, i) => tx(BigInt(1_000 * (i + 1))));
    await store(address, five);
    const rows = await noticesOf({ address });
    expect(rows.map((n) => n.kind)).toEqual(Array(BURST_SIZE).fill('tx'));
    expect(rows.map((n) => n.txid)).toEqual(five.map((t) => t.txid).reverse());
  });

  it('announces a transaction once per server even when it reaches the server through two addresses', async () => {
    const both = await server();
    const onlyY = await server();
    const x = fresh();
    const y = fresh();
    await track(both, x, []);
    await track(both, y, []);
    await track(onlyY, y, []);

    // One payment to two tracked addresses.
    const txid = newTxid();
    await store(x, [tx(20_000n, { txid })]);
    await store(y, [tx(30_000n, { txid })]);

    const rows = await noticesOf({ txid });
    expect(rows.map((n) => [n.guildId, n.address, n.payload.net])).toEqual([
      [both.guildId, x, '20000'],
      [onlyY.guildId, y, '30000'],
    ]);
  });

  it('announces a transaction once per server when two stores of it run at once', async () => {
    const a = await server();
    const b = await server();
    const x = fresh();
    const y = fresh();
    await track(a, x, []);
    await track(a, y, []);
    await track(b, x, []);

    // Two addresses of one server, stored concurrently (two syncs, or a sync and a /track)...
    const shared = newTxid();
    await Promise.all([store(x, [tx(1_000n, { txid: shared })]), store(y, [tx(2_000n, { txid: shared })])]);
    // ...and the same address stored twice at once.
    const again = tx(3_000n);
    await Promise.all([store(x, [again, tx(1_000n, { txid: shared })]), store(x, [again, tx(1_000n, { txid: shared })])]);

    expect((await noticesOf({ txid: shared })).map((n) => n.guildId).sort()).toEqual([a.guildId, b.guildId]);
    expect((await noticesOf({ txid: again.txid })).map((n) => n.guildId).sort()).toEqual([a.guildId, b.guildId]);
  });

  it('bumps the version when the transaction confirms, once, for every server', async () => {
    const a = await server();
    const b = await server();
    const x = fresh();
    const y = fresh();
    await track(a, x, []);
    await track(b, x, []);
    await track(a, y, []);
    const pending = tx(42_000n, { fee: 300n });
    const before = [pending];
    await store(x, before);
    await store(y, before);
    const announced = await noticesOf({ txid: pending.txid });
    expect(announced.map((n) => n.version)).toEqual([1, 1]);

    const confirmed = mined(pending, HEIGHT + 4);
    const { changes } = await store(x, [confirmed]);
    expect(changes.confirmed.map((t) => t.txid)).toEqual([pending.txid]);

    const rows = await noticesOf({ txid: pending.txid });
    for (const [i, row] of rows.entries()) {
      expect(row.version).toBe(2);
      expect(row.payload).toEqual({
        ...announced[i]!.payload,
        status: 'confirmed',
        blockHeight: HEIGHT + 4,
        time: confirmed.time.toISOString(),
      });
    }
    // Seen confirmed again, through the other address or the same one: nothing new to say.
    await store(y, [confirmed]);
    await store(x, [confirmed]);
    expect((await noticesOf({ txid: pending.txid })).map((n) => n.version)).toEqual([2, 2]);
  });

  it('marks a transaction replaced by a new unconfirmed one in the same change, and announces the replacement', async () => {
    const a = await server();
    const address = fresh();
    const old = tx(90_000n, { blockHeight: HEIGHT - 1 });
    await track(a, address, [old]);
    const original = tx(-20_141n, { fee: 141n });
    await store(address, [original, old]);

    // RBF: the same payment again with a higher fee.
    const replacement = tx(-20_900n, { fee: 900n });
    const { changes } = await store(address, [replacement, old]);
    expect(changes.vanished).toEqual([original.txid]);

    const rows = await noticesOf({ address });
    expect(rows.map((n) => [n.txid, n.version, n.payload.status, n.payload.replacedBy])).toEqual([
      [original.txid, 2, 'replaced', replacement.txid],
      [replacement.txid, 1, 'unconfirmed', undefined],
    ]);
    expect(rows[1]!.payload).toMatchObject({ net: '-20900', balanceAfter: '69100', fee: '900' });
  });

  it('marks a transaction that left the mempool with nothing new in its place as dropped', async () => {
    const a = await server();
    const address = fresh();
    const old = tx(90_000n, { blockHeight: HEIGHT - 1 });
    await track(a, address, [old]);
    const dropped = tx(-10_000n);
    const alsoDropped = tx(-5_000n);
    await store(address, [alsoDropped, dropped, old]);
    await store(address, [old]);

    // A new transaction that is already in a block is not a replacement.
    const pending = tx(-3_000n);
    await store(address, [pending, old]);
    const inBlock = tx(1_000n, { blockHeight: HEIGHT + 1 });
    await store(address, [inBlock, old]);

    const rows = await noticesOf({ address });
    expect(rows.map((n) => [n.txid, n.version, n.payload.status, n.payload.replacedBy ?? null])).toEqual([
      [dropped.txid, 2, 'dropped', null],
      [alsoDropped.txid, 2, 'dropped', null],
      [pending.txid, 2, 'dropped', null],
      [inBlock.txid, 1, 'confirmed', null],
    ]);
  });

  it('names a replacement of the same amount seen only once it was in a block as the likely replacement', async () => {
    const a = await server();
    const address = fresh();
    const old = tx(90_000n, { blockHeight: HEIGHT - 1 });
    await track(a, address, [old]);
    const original = tx(40_000n);
    await store(address, [original, old]);
    const other = tx(7_000n, { blockHeight: HEIGHT + 1 });
    const replacement = tx(40_000n, { blockHeight: HEIGHT + 1 });
    await store(address, [other, replacement, old]);

    const rows = await noticesOf({ address });
    expect(rows.find((n) => n.txid === original.txid)!.payload).toMatchObject({ status: 'replaced', replacedBy: replacement.txid });
  });

  it('keeps a notice right when a transaction thought gone comes back and confirms', async () => {
    // Providers disagree about the mempool (or one loses a transaction for a while): a
    // transaction announced, then marked dropped, can still be mined.
    const a = await server();
    const address = fresh();
    const old = tx(90_000n, { blockHeight: HEIGHT - 1 });
    await track(a, address, [old]);
    const payment = tx(-10_000n);
    const back = tx(4_000n);
    await store(address, [back, payment, old]);
    const rbf = tx(-10_500n);
    await store(address, [rbf, old]);
    expect((await noticesOf({ address })).map((n) => [n.payload.status, n.version])).toEqual([
      ['replaced', 2],
      ['replaced', 2],
      ['unconfirmed', 1],
    ]);

    // Both come back: one already mined, one in the mempool again (and mined later).
    await store(address, [back, rbf, mined(payment), old]);
    let rows = await noticesOf({ address });
    expect(rows.map((n) => [n.txid, n.version, n.payload.status, n.payload.blockHeight, n.payload.replacedBy ?? null])).toEqual([
      [payment.txid, 3, 'confirmed', HEIGHT + 1, null],
      [back.txid, 3, 'unconfirmed', null, null],
      [rbf.txid, 1, 'unconfirmed', null, null],
    ]);
    expect(rows[1]!.payload.time).toBe(back.time.toISOString());

    await store(address, [mined(back, HEIGHT + 2), mined(rbf, HEIGHT + 2), mined(payment), old]);
    rows = await noticesOf({ address });
    expect(rows.map((n) => [n.version, n.payload.status, n.payload.blockHeight])).toEqual([
      [3, 'confirmed', HEIGHT + 1],
      [4, 'confirmed', HEIGHT + 2],
      [2, 'confirmed', HEIGHT + 2],
    ]);
    // Never a second notice for any of them.
    expect(rows).toHaveLength(3);
  });

  it('writes nothing when the change it belongs to rolls back', async () => {
    const a = await server();
    const address = fresh();
    await track(a, address, []);
    const lost = tx(1_000n);
    // A /track of it by another server, whose label was taken meanwhile: the watch is inserted
    // after the notices are written, and its unique violation rolls the whole change back.
    const c = await server();
    await track(c, fresh(), [], 'taken');
    const failed = await apply(historyOf(address, [lost]), { at: tick(), watch: { guildId: c.guildId, label: 'taken', addedBy: '200000000000000001' } }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(failed).toBeInstanceOf(Error);
    expect(await noticesOf({ address })).toEqual([]);
    expect((await database.db.select().from(addresses).where(eq(addresses.address, address)))[0]!.balance).toBe(0n);

    // The next sync sees the same transaction as new and announces it then.
    await store(address, [lost]);
    expect((await noticesOf({ address })).map((n) => n.txid)).toEqual([lost.txid]);
  });

  it('gives every notice a nonce of at most 25 characters, stable for a server and transaction, distinct otherwise', async () => {
    const a = await server();
    const b = await server();
    const address = fresh();
    await track(a, address, []);
    await track(b, address, []);
    const t1 = tx(1_000n);
    const t2 = tx(2_000n);
    await store(address, [t2, t1]);

    const rows = await database.db
      .select()
      .from(notices)
      .where(inArray(notices.txid, [t1.txid, t2.txid]));
    expect(rows).toHaveLength(4);
    for (const row of rows) {
      expect(row.nonce.length).toBeGreaterThan(0);
      expect(row.nonce.length).toBeLessThanOrEqual(25);
      expect(row.nonce).toBe(noticeNonce([row.guildId, row.txid!]));
    }
    expect(new Set(rows.map((n) => n.nonce)).size).toBe(4);
    // Derived, not drawn: the same server and transaction give the same nonce in any process.
    expect(noticeNonce([a.guildId, t1.txid])).toBe(noticeNonce([a.guildId, t1.txid]));
    expect(noticeNonce([a.guildId, t1.txid])).not.toBe(noticeNonce([b.guildId, t1.txid]));
    // The longest ids there are still fit.
    expect(noticeNonce(['18446744073709551615', 'f'.repeat(64)]).length).toBeLessThanOrEqual(25);
  });
});
