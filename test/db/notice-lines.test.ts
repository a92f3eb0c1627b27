import { asc, eq } from 'drizzle-orm';
import { pino } from 'pino';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { ChainTx } from '../../src/chain/provider.js';
import { addresses, guildSettings, type NoticeLine, notices, walletAddresses, wallets } from '../../src/db/schema.js';
import { noticeLines } from '../../src/sync/notice-lines.js';
import { BURST_SIZE } from '../../src/sync/notice-writer.js';
import { type ApplyHistories, type ApplyHistory, createApplyHistories, createApplyHistory } from '../../src/wallet/apply-history.js';
import { historyFixtures, historyOf } from '../support/histories.js';
import { createTestDatabase, testBackends } from '../support/database.js';

/**
 * One notice per transaction per server, with a line for each of the server's watches the
 * transaction touched: single addresses and whole wallets (rows of `wallets` and
 * `wallet_addresses`, whose addresses are stored through the normal apply).
 */
describe.each(testBackends())('notice lines on %s', (backend) => {
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let apply: ApplyHistory;
  let applyTogether: ApplyHistories;
  let guilds = 0;
  const { now, tick, next, fresh, tx } = historyFixtures('notice-lines', { start: '2026-11-30T12:00:00Z', fee: 500n });
  const HEIGHT = 880_000;
  const USER = '200000000000000001';

  beforeAll(async () => {
    database = await createTestDatabase(backend);
  });
  afterAll(async () => {
    await database?.close();
  });
  beforeEach(() => {
    apply = createApplyHistory({ db: database.db, logger: pino({ level: 'silent' }) });
    applyTogether = createApplyHistories({ db: database.db, logger: pino({ level: 'silent' }) });
  });

  async function server(opts: { threshold?: bigint; channel?: boolean } = {}) {
    const n = BigInt(++guilds);
    const guildId = String(700000000000000000n + n);
    const channelId = String(710000000000000000n + n);
    if (opts.channel !== false) {
      await database.db.insert(guildSettings).values({ guildId, channelId, thresholdSats: opts.threshold ?? 0n, updatedAt: new Date(now()) });
    }
    return { guildId, channelId };
  }

  /** what `t` did to another address: the same transaction, another net */
  const alsoTo = (t: ChainTx, net: bigint): ChainTx => ({ ...t, net });

  const store = (address: string, txs: ChainTx[]) => apply(historyOf(address, txs), { at: tick() });
  /** the address's whole history, as the chain has it: a stored transaction it lacks is removed */
  const storeComplete = (address: string, txs: ChainTx[]) => apply(historyOf(address, txs), { at: tick(), scope: 'complete' });
  const track = (guild: { guildId: string }, address: string, txs: ChainTx[], label: string | null = null) =>
    apply(historyOf(address, txs), { at: tick(), watch: { guildId: guild.guildId, label, addedBy: USER } });
  /** Several addresses applied in one database transaction, as a wallet's moved addresses are. */
  const storeTogether = (histories: [string, ChainTx[]][]) => applyTogether(histories.map(([address, txs]) => ({ history: historyOf(address, txs) })), { at: tick() });

  /** A server that never set a channel: it stores addresses for wallets without hearing of them. */
  let scanner: { guildId: string };
  beforeAll(async () => {
    scanner = await server({ channel: false });
  });
  /** An address stored with its history as a baseline (what a wallet's scan does). */
  const derived = (address: string, txs: ChainTx[]) => track(scanner, address, txs);

  /** A wallet of `guild` over `addressesOfWallet`, each already stored. */
  async function wallet(guild: { guildId: string }, label: string, addressesOfWallet: string[]): Promise<string> {
    const [row] = await database.db
      .insert(wallets)
      .values({ guildId: guild.guildId, descriptor: `wpkh(test-${next()}/<0;1>/*)`, label, gap: 20, addedBy: USER, createdAt: new Date(now()) })
      .returning({ id: wallets.id });
    await database.db.insert(walletAddresses).values(addressesOfWallet.map((address, i) => ({ walletId: row!.id, chain: i % 2, index: i, address })));
    return `wallet:${row!.id}`;
  }

  const noticesOf = (txid: string) => database.db.select().from(notices).where(eq(notices.txid, txid)).orderBy(asc(notices.id));
  const linesOf = async (txid: string, guildId: string) => {
    const [row] = (await noticesOf(txid)).filter((n) => n.guildId === guildId);
    return row && noticeLines(row.payload).map((l) => [l.key, l.net, l.balanceAfter, l.internal ?? false]);
  };
  /** As the dispatcher leaves a notice it posted. */
  const delivered = (id: bigint) =>
    database.db.update(notices).set({ attempts: 1, deliveredVersion: 1, messageId: `m${id}` }).where(eq(notices.id, id));

  describe('single addresses', () => {
    it('gives one notice two lines when one transaction pays two addresses of a server, applied one after the other', async () => {
      const s = await server();
      const x = fresh();
      const y = fresh();
      const oldX = tx(10_000n, { blockHeight: HEIGHT - 9 });
      const oldY = tx(7_000n, { blockHeight: HEIGHT - 8 });
      await track(s, x, [oldX], 'cold');
      await track(s, y, [oldY]);

      const pay = tx(20_000n);
      await store(x, [pay, oldX]);
      const [first] = await noticesOf(pay.txid);
      // Alone, it is the notice it always was.
      expect(first!.payload.lines).toBeUndefined();
      expect(first!.payload).toMatchObject({ label: 'cold', address: x, net: '20000', balanceAfter: '30000' });
      await delivered(first!.id);

      await store(y, [alsoTo(pay, 30_000n), oldY]);
      const rows = await noticesOf(pay.txid);
      expect(rows).toHaveLength(1);
      // Posted already: the message is edited to show the second line.
      expect(rows[0]!.version).toBe(2);
      expect(rows[0]!.payload).toMatchObject({ label: 'cold', address: x, net: '20000', balanceAfter: '30000', fee: '500', status: 'unconfirmed' });
      expect(rows[0]!.payload.lines).toEqual<NoticeLine[]>([
        { key: `address:${x}`, kind: 'address', label: 'cold', address: x, net: '20000', balanceAfter: '30000' },
        { key: `address:${y}`, kind: 'address', label: null, address: y, net: '30000', balanceAfter: '37000' },
      ]);

      // Seen again: nothing new to say, no edit.
      await store(y, [alsoTo(pay, 30_000n), oldY]);
      expect((await noticesOf(pay.txid))[0]!.version).toBe(2);
    });

    it('writes the second line into a notice not posted yet without asking for an edit', async () => {
      const s = await server();
      const x = fresh();
      const y = fresh();
      await track(s, x, []);
      await track(s, y, []);
      const pay = tx(-5_000n);
      await store(x, [pay]);
      await store(y, [alsoTo(pay, 4_500n)]);
      const [row] = await noticesOf(pay.txid);
      expect(row!.version).toBe(1);
      expect(await linesOf(pay.txid, s.guildId)).toEqual([
        [`address:${x}`, '-5000', '-5000', false],
        [`address:${y}`, '4500', '4500', false],
      ]);
    });

    it('gives one notice two lines when both addresses are applied in one change', async () => {
      const s = await server();
      const x = fresh();
      const y = fresh();
      await track(s, x, []);
      await track(s, y, [], 'savings');
      const pay = tx(40_000n);
      await storeTogether([
        [x, [pay]],
        [y, [alsoTo(pay, 60_000n)]],
      ]);
      const rows = await noticesOf(pay.txid);
      expect(rows.map((r) => r.version)).toEqual([1]);
      expect(rows[0]!.payload.lines?.map((l) => [l.label, l.address, l.net, l.balanceAfter])).toEqual([
        [null, x, '40000', '40000'],
        ['savings', y, '60000', '60000'],
      ]);
    });

    it('writes one notice for each server, each with its own lines', async () => {
      const a = await server();
      const b = await server();
      const x = fresh();
      const y = fresh();
      await track(a, x, []);
      await track(a, y, []);
      await track(b, y, [], 'theirs');
      const pay = tx(1_000n);
      await store(x, [pay]);
      await store(y, [alsoTo(pay, 2_000n)]);
      expect(await linesOf(pay.txid, a.guildId)).toEqual([
        [`address:${x}`, '1000', '1000', false],
        [`address:${y}`, '2000', '2000', false],
      ]);
      expect(await linesOf(pay.txid, b.guildId)).toEqual([[`address:${y}`, '2000', '2000', false]]);
    });

    it('announces when any line reaches the threshold, with the lines under it too', async () => {
      const s = await server({ threshold: 100_000n });
      const x = fresh();
      const y = fresh();
      const oldX = tx(500_000n, { blockHeight: HEIGHT - 5 });
      await track(s, x, [oldX]);
      await track(s, y, []);
      const pay = tx(20_000n, { blockHeight: HEIGHT });
      const later = tx(-1_000n);
      await store(x, [later, pay, oldX]);
      // 20,000 and 1,000 to x: under the threshold, nothing said.
      expect(await noticesOf(pay.txid)).toEqual([]);
      expect(await noticesOf(later.txid)).toEqual([]);

      await store(y, [alsoTo(pay, 150_000n)]);
      // x was not being applied: its balance right after the transaction is read from what is stored.
      expect(await linesOf(pay.txid, s.guildId)).toEqual([
        [`address:${y}`, '150000', '150000', false],
        [`address:${x}`, '20000', '520000', false],
      ]);
    });
  });

  describe('wallets', () => {
    it("says a payment out with change back took the amount and the fee from the wallet, whichever address is applied first", async () => {
      const s = await server();
      const spend = fresh();
      const change = fresh();
      const oldSpend = tx(200_000n, { blockHeight: HEIGHT - 3 });
      const oldChange = tx(50_000n, { blockHeight: HEIGHT - 2 });
      await derived(spend, [oldSpend]);
      await derived(change, [oldChange]);
      const key = await wallet(s, 'Savings', [spend, change]);

      // 169,500 paid out, 30,000 back as change, 500 in fees.
      const pay = tx(-200_000n, { fee: 500n });
      await store(spend, [pay, oldSpend]);
      expect(await linesOf(pay.txid, s.guildId)).toEqual([[key, '-200000', '50000', false]]);
      const [first] = await noticesOf(pay.txid);
      await delivered(first!.id);

      await store(change, [alsoTo(pay, 30_000n), oldChange]);
      const [row] = await noticesOf(pay.txid);
      expect(row!.version).toBe(2);
      expect(row!.payload.lines).toEqual<NoticeLine[]>([{ key, kind: 'wallet', label: 'Savings', net: String(-(169_500 + 500)), balanceAfter: '80000' }]);
      // Named by its label; nothing in the payload reveals the descriptor.
      expect(row!.payload.label).toBe('Savings');
      expect(JSON.stringify(row!.payload)).not.toContain('wpkh');
    });

    // The change address holds the newer transaction too: applied first, its walk back must not
    // be the last word on what the wallet held after the payment out.
    it.each([
      ['the spending address first', false],
      ['the change address first', true],
    ])("says the same when the wallet's addresses are applied in one change, %s, with each notice's balance then", async (_order, changeFirst) => {
      const s = await server();
      const spend = fresh();
      const change = fresh();
      const oldSpend = tx(200_000n, { blockHeight: HEIGHT - 3 });
      await derived(spend, [oldSpend]);
      await derived(change, []);
      const key = await wallet(s, changeFirst ? 'Reversed' : 'Together', [spend, change]);
      const pay = tx(-200_000n, { fee: 500n });
      const incoming = tx(5_000n);
      const spent: [string, ChainTx[]] = [spend, [pay, oldSpend]];
      const changed: [string, ChainTx[]] = [change, [incoming, alsoTo(pay, 30_000n)]];
      await storeTogether(changeFirst ? [changed, spent] : [spent, changed]);
      expect(await linesOf(pay.txid, s.guildId)).toEqual([[key, '-170000', '30000', false]]);
      expect(await linesOf(incoming.txid, s.guildId)).toEqual([[key, '5000', '35000', false]]);
      expect((await noticesOf(pay.txid)).map((r) => r.version)).toEqual([1]);
    });

    it("gives a wallet's notices their balance then when a newer payment came to a third address in the same change", async () => {
      const s = await server();
      const spend = fresh();
      const change = fresh();
      const receive = fresh();
      const oldSpend = tx(200_000n, { blockHeight: HEIGHT - 3 });
      await derived(spend, [oldSpend]);
      await derived(change, []);
      await derived(receive, []);
      const key = await wallet(s, 'Three', [spend, change, receive]);
      const pay = tx(-200_000n, { fee: 500n });
      const incoming = tx(5_000n);
      // In every order the rows may be locked in: each notice says the wallet's balance right after it.
      await storeTogether([
        [spend, [pay, oldSpend]],
        [receive, [incoming]],
        [change, [alsoTo(pay, 30_000n)]],
      ]);
      expect(await linesOf(pay.txid, s.guildId)).toEqual([[key, '-170000', '30000', false]]);
      expect(await linesOf(incoming.txid, s.guildId)).toEqual([[key, '5000', '35000', false]]);
    });

    // Two connections are needed: PGlite has one, so it cannot interleave two transactions.
    it.runIf(backend === 'postgres')("takes turns with a single address's apply of the same transaction, rather than deadlock", async () => {
      const s = await server();
      const [first, second] = [fresh(), fresh()].sort();
      await derived(first!, []);
      await derived(second!, []);
      const key = await wallet(s, 'Locks', [first!, second!]);
      const pay = tx(10_000n);
      let batch: Promise<unknown> | undefined;
      // What a single apply of the second address does: lock its row, then write the notice.
      await database.db.transaction(async (t) => {
        await t.update(addresses).set({ txCount: 0 }).where(eq(addresses.address, second!));
        batch = storeTogether([
          [first!, [pay]],
          [second!, [alsoTo(pay, 5_000n)]],
        ]).catch((err: unknown) => err);
        await new Promise((resolve) => setTimeout(resolve, 300));
        const payload = { label: null, address: second!, net: '5000', balanceAfter: '5000' };
        await t
          .insert(notices)
          .values({ guildId: s.guildId, channelId: s.channelId, address: second!, kind: 'tx', txid: pay.txid, nonce: `held-${next()}`, payload, nextAttemptAt: new Date(now()), createdAt: new Date(now()) })
          .onConflictDoNothing();
      });
      expect(await batch).toEqual([expect.objectContaining({ consistent: true }), expect.objectContaining({ consistent: true })]);
      expect(await linesOf(pay.txid, s.guildId)).toEqual([[key, '15000', '15000', false]]);
    });

    it("says a wallet's payment out was replaced when its fee bump is found already in a block", async () => {
      const s = await server();
      const spend = fresh();
      const change = fresh();
      const oldSpend = tx(200_000n, { blockHeight: HEIGHT - 3 });
      await derived(spend, [oldSpend]);
      await derived(change, []);
      await wallet(s, 'Bumped', [spend, change]);
      const pay = tx(-200_000n, { fee: 500n });
      await storeTogether([
        [spend, [pay, oldSpend]],
        [change, [alsoTo(pay, 30_000n)]],
      ]);
      // The same 169,500 out, 1,000 more in fees taken from the change; mined before the next look.
      const bump = tx(-200_000n, { fee: 1_500n, blockHeight: HEIGHT });
      await storeTogether([
        [spend, [bump, oldSpend]],
        [change, [alsoTo(bump, 29_000n)]],
      ]);
      const [original] = await noticesOf(pay.txid);
      expect(original!.payload).toMatchObject({ status: 'replaced', replacedBy: bump.txid });
      // A payment into the wallet whose sender bumped the fee moved the same amount in.
      const incoming = tx(7_000n, { fee: 300n });
      await store(change, [incoming, alsoTo(bump, 29_000n)]);
      const sent = tx(7_000n, { fee: 900n, blockHeight: HEIGHT + 1 });
      await store(change, [sent, alsoTo(bump, 29_000n)]);
      expect((await noticesOf(incoming.txid))[0]!.payload).toMatchObject({ status: 'replaced', replacedBy: sent.txid });
    });

    it('says a move between the wallet\'s own addresses cost only the fee', async () => {
      const s = await server();
      const from = fresh();
      const to = fresh();
      const old = tx(100_000n, { blockHeight: HEIGHT - 1 });
      await derived(from, [old]);
      await derived(to, []);
      const key = await wallet(s, 'Cold', [from, to]);
      const move = tx(-100_000n, { fee: 200n });
      await storeTogether([
        [from, [move, old]],
        [to, [alsoTo(move, 99_800n)]],
      ]);
      expect(await linesOf(move.txid, s.guildId)).toEqual([[key, '-200', '99800', true]]);
    });

    it('gives a wallet and one of its addresses watched on its own one notice with two lines', async () => {
      const s = await server();
      const hot = fresh();
      const other = fresh();
      await derived(other, []);
      await track(s, hot, [], 'hot');
      const key = await wallet(s, 'Everyday', [hot, other]);
      const pay = tx(50_000n);
      await store(hot, [pay]);
      const rows = await noticesOf(pay.txid);
      expect(rows).toHaveLength(1);
      expect(rows[0]!.payload.lines?.map((l) => [l.key, l.kind, l.label, l.net, l.balanceAfter])).toEqual([
        [`address:${hot}`, 'address', 'hot', '50000', '50000'],
        [key, 'wallet', 'Everyday', '50000', '50000'],
      ]);
    });

    it('tells each server holding the wallet\'s address, one by its watch, the other by its wallet', async () => {
      const a = await server();
      const b = await server();
      const address = fresh();
      await track(a, address, [], 'mine');
      const key = await wallet(b, 'Theirs', [address]);
      const pay = tx(-3_000n);
      await store(address, [tx(10_000n, { blockHeight: HEIGHT }), pay].reverse());
      expect(await linesOf(pay.txid, a.guildId)).toEqual([[`address:${address}`, '-3000', '7000', false]]);
      expect(await linesOf(pay.txid, b.guildId)).toEqual([[key, '-3000', '7000', false]]);
      // One wallet line alone still has its lines: a wallet is not an address.
      const [ofB] = (await noticesOf(pay.txid)).filter((n) => n.guildId === b.guildId);
      expect(ofB!.payload).toMatchObject({ label: 'Theirs', net: '-3000', lines: [expect.objectContaining({ kind: 'wallet' })] });
    });

    it('weighs the wallet\'s net against the threshold, not each address\'s', async () => {
      const s = await server({ threshold: 50_000n });
      const one = fresh();
      const two = fresh();
      await derived(one, []);
      await derived(two, []);
      const key = await wallet(s, 'Split', [one, two]);
      const pay = tx(30_000n);
      await storeTogether([
        [one, [pay]],
        [two, [alsoTo(pay, 30_000n)]],
      ]);
      // 30,000 to the first address alone was not worth a notice; 60,000 to the wallet is.
      expect(await linesOf(pay.txid, s.guildId)).toEqual([[key, '60000', '60000', false]]);
    });

    it(`sums up a burst of more than ${BURST_SIZE} transactions of a wallet's address under the wallet's name`, async () => {
      const s = await server();
      const address = fresh();
      await derived(address, []);
      const key = await wallet(s, 'Busy', [address]);
      const burst = Array.from({ length: BURST_SIZE + 1 }, (_, i) => tx(BigInt(1_000 * (i + 1))));
      await store(address, burst);
      const rows = await database.db.select().from(notices).where(eq(notices.guildId, s.guildId));
      expect(rows.map((r) => [r.kind, r.payload.label, r.payload.count])).toEqual([['burst', 'Busy', BURST_SIZE + 1]]);
      expect(rows[0]!.payload.lines).toEqual([{ key, kind: 'wallet', label: 'Busy', net: '21000', balanceAfter: '21000' }]);
    });
  });

  describe('a transaction stored from a wrong answer', () => {
    it("drops the address's line, recomputes the wallet's, and says removed once no line is left", async () => {
      const s = await server();
      const x = fresh();
      const y = fresh();
      const old = tx(90_000n, { blockHeight: HEIGHT - 4 });
      await track(s, x, [old], 'x');
      await derived(y, []);
      const key = await wallet(s, 'W', [x, y]);
      const t = tx(-40_000n, { blockHeight: HEIGHT });
      await store(x, [t, old]);
      await store(y, [alsoTo(t, 10_000n)]);
      expect(await linesOf(t.txid, s.guildId)).toEqual([
        [`address:${x}`, '-40000', '50000', false],
        [key, '-30000', '60000', false],
      ]);
      const [before] = await noticesOf(t.txid);
      await delivered(before!.id);

      // The chain says t never touched x: x's line goes, the wallet keeps only y's part of it.
      await storeComplete(x, [old]);
      let [row] = await noticesOf(t.txid);
      expect(row!.version).toBe(2);
      expect(row!.payload.status).toBe('confirmed');
      expect(noticeLines(row!.payload).map((l) => [l.key, l.net, l.balanceAfter])).toEqual([[key, '10000', '100000']]);
      expect(row!.payload).toMatchObject({ label: 'W', net: '10000', balanceAfter: '100000' });

      // Nor y: nothing is left that the transaction did, and the notice says so.
      await storeComplete(y, []);
      [row] = await noticesOf(t.txid);
      expect(row!.version).toBe(3);
      expect(row!.payload.status).toBe('removed');
      expect(noticeLines(row!.payload).map((l) => [l.key, l.net])).toEqual([[key, '10000']]);
    });

    it("keeps another address's line when the transaction truly was that address's", async () => {
      const s = await server();
      const x = fresh();
      const y = fresh();
      await track(s, x, []);
      await track(s, y, []);
      const t = tx(8_000n, { blockHeight: HEIGHT });
      await store(x, [t]);
      await store(y, [alsoTo(t, 2_000n)]);
      await storeComplete(x, []);
      const [row] = await noticesOf(t.txid);
      expect(row!.address).toBe(y);
      // One address line left: the notice reads as one always did.
      expect(row!.payload).toMatchObject({ address: y, net: '2000', balanceAfter: '2000', status: 'confirmed' });
      expect(row!.payload.lines).toBeUndefined();
    });
  });
});
