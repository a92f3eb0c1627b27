import { pino } from 'pino';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createBlockchainInfoProvider } from '../../src/chain/providers/blockchain-info.js';
import { addresses, addressTransactions, transactions, watches } from '../../src/db/schema.js';
import { BLOCK_TIMES_PER_PASS, createSync, UNCONFIRMED_RECHECK_MS } from '../../src/sync/sync.js';
import { createApplyHistory } from '../../src/wallet/apply-history.js';
import { createWalletService, type WalletService } from '../../src/wallet/service.js';
import { type BlockchainInfoFake, FakeChain, startBlockchainInfoFake } from '../fakes/chain/index.js';
import { testAddress } from '../support/addresses.js';
import { createTestDatabase, testBackends } from '../support/database.js';

const logger = pino({ level: 'silent' });
let seed = 0;

describe.each(testBackends())('sync cost on %s', (backend) => {
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let api: BlockchainInfoFake;
  let chain: FakeChain;
  let wallet: WalletService;
  let sync: ReturnType<typeof createSync>;
  let guild = 0;
  let now: Date;

  beforeAll(async () => {
    database = await createTestDatabase(backend);
  });
  afterAll(async () => {
    await database?.close();
  });
  beforeEach(async () => {
    // A sync covers every tracked address in the database: start each test with none.
    await database.db.delete(watches);
    await database.db.delete(addressTransactions);
    await database.db.delete(transactions);
    await database.db.delete(addresses);
    chain = new FakeChain();
    api = await startBlockchainInfoFake({ chain });
    const provider = createBlockchainInfoProvider({ baseUrl: api.url });
    now = new Date('2026-01-01T00:00:00Z');
    const clock = () => now;
    wallet = createWalletService({ db: database.db, provider, logger, clock });
    sync = createSync({ wallet, provider, logger, clock });
    guild++;
    return () => api.close();
  });

  /** Track `n` fresh addresses in a server of this test's own, each with one confirmed tx. */
  async function trackMany(n: number): Promise<string[]> {
    const list = Array.from({ length: n }, () => testAddress(`sync-${seed++}`));
    for (const address of list) chain.fund(address, 1_000n);
    chain.mine();
    for (const address of list) await wallet.track({ guildId: `g${guild}`, userId: 'u', address });
    return list;
  }

  const since = (mark: number) => api.requests.slice(mark).map((r) => r.path);

  it('asks for 120 balances in three calls and fetches history only for the two that changed', async () => {
    const tracked = await trackMany(120);
    chain.fund(tracked[7]!, 5n);
    chain.fund(tracked[99]!, 6n);
    const mark = api.requests.length;
    const report = await sync();
    const paths = since(mark);
    expect(paths.filter((p) => p === '/balance')).toHaveLength(3);
    expect(paths.filter((p) => p.startsWith('/rawaddr/')).sort()).toEqual([`/rawaddr/${tracked[7]}`, `/rawaddr/${tracked[99]}`].sort());
    expect(report).toMatchObject({ refreshed: 2, failed: 0, added: 2 });
  });

  it('costs 14 addresses with one waiting on a confirmation only the balance and tip calls, until a block comes', async () => {
    const tracked = await trackMany(14);
    const waiting = tracked[3]!;
    chain.fund(waiting, 9n);
    let mark = api.requests.length;
    await sync(); // sees it, unconfirmed
    expect(since(mark)).toEqual(['/balance', '/q/getblockcount', `/rawaddr/${waiting}`]);
    for (let cycle = 0; cycle < 3; cycle++) {
      mark = api.requests.length;
      const report = await sync();
      expect(since(mark)).toEqual(['/balance', '/q/getblockcount']);
      expect(report).toMatchObject({ refreshed: 0, tipHeight: chain.height });
    }
    const block = chain.mine();
    mark = api.requests.length;
    const report = await sync();
    expect(since(mark)).toEqual(['/balance', '/q/getblockcount', `/rawaddr/${waiting}`, `/block-height/${block.height}`]);
    expect(report).toMatchObject({ refreshed: 1, confirmed: 1 });
    // Nothing waits any more: the tip is not even asked.
    mark = api.requests.length;
    await sync();
    expect(since(mark)).toEqual(['/balance']);
  });

  it('fetches a fresh payment in the next cycle while another address waits on a confirmation, and only it', async () => {
    const tracked = await trackMany(14);
    chain.fund(tracked[0]!, 9n);
    await sync();
    chain.fund(tracked[9]!, 5n);
    const mark = api.requests.length;
    const report = await sync();
    expect(since(mark)).toEqual(['/balance', '/q/getblockcount', `/rawaddr/${tracked[9]}`]);
    expect(report).toMatchObject({ refreshed: 1, added: 1 });
  });

  it('remembers the tip it last read an address at across a restart', async () => {
    const [address] = await trackMany(1);
    chain.fund(address!, 9n);
    await sync();
    // A new process: nothing in memory, only the database.
    const provider = createBlockchainInfoProvider({ baseUrl: api.url });
    const clock = () => now;
    const restarted = createSync({ wallet: createWalletService({ db: database.db, provider, logger, clock }), provider, logger, clock });
    const mark = api.requests.length;
    await restarted();
    expect(since(mark)).toEqual(['/balance', '/q/getblockcount']);
  });

  it('reads a waiting address again after half an hour without a block, and so sees a replacement of the same amount', async () => {
    const [address] = await trackMany(1);
    const first = chain.fund(address!, 9n);
    await sync();
    chain.removeTx(first.txid);
    const replacement = chain.fund(address!, 9n);
    now = new Date(now.getTime() + UNCONFIRMED_RECHECK_MS - 60_000);
    let mark = api.requests.length;
    await sync();
    expect(since(mark)).toEqual(['/balance', '/q/getblockcount']);
    now = new Date(now.getTime() + 60_000);
    mark = api.requests.length;
    const report = await sync();
    expect(since(mark)).toEqual(['/balance', '/q/getblockcount', `/rawaddr/${address}`]);
    expect(report).toMatchObject({ vanished: 1, added: 1 });
    expect((await wallet.txns({ guildId: `g${guild}`, address: address! })).txs.map((t) => t.txid)).toContain(replacement.txid);
  });

  it('reads every waiting address when the tip cannot be asked', async () => {
    const [address] = await trackMany(1);
    chain.fund(address!, 9n);
    await sync();
    api.failNext(/^\/q\/getblockcount$/, { status: 500, body: '{"error":"server-error","message":"Internal Server Error"}' });
    const mark = api.requests.length;
    const report = await sync();
    expect(since(mark)).toEqual(['/balance', '/q/getblockcount', `/rawaddr/${address}`]);
    expect(report).toMatchObject({ refreshed: 1, failed: 0, tipHeight: null });
  });

  it('says an address it checked and found unchanged was updated just now', async () => {
    const [address] = await trackMany(1);
    now = new Date(now.getTime() + 3 * 3_600_000);
    await sync();
    const view = await wallet.balance({ guildId: `g${guild}`, address: address! });
    expect(view.asOf).toEqual(now);
    const [listed] = (await wallet.listPage({ guildId: `g${guild}`, limit: 1_000, offset: 0 })).watches;
    expect(listed!.balanceUpdatedAt).toEqual(now);
  });

  it('fetches a long history in full once, then only what is new', async () => {
    const address = testAddress(`sync-long-${seed++}`);
    chain.addManyTxs(address, 600);
    chain.mine();
    let mark = api.requests.length;
    await wallet.track({ guildId: `g${guild}`, userId: 'u', address });
    // 50 a page with one of overlap
    expect(since(mark).filter((p) => p.startsWith('/rawaddr/')).length).toBe(13);
    chain.fund(address, 1n);
    chain.mine();
    mark = api.requests.length;
    const report = await sync();
    expect(report.added).toBe(1);
    expect(since(mark).filter((p) => p.startsWith('/rawaddr/'))).toHaveLength(1);
  });

  it("gives every stored confirmed tx of a long history its block's time over a few passes, a few blocks a pass", async () => {
    const address = testAddress(`sync-times-${seed++}`);
    const txs = chain.addManyTxs(address, 17); // one block each
    const blockTime = (tx: (typeof txs)[number]) => new Date(tx.block!.time * 1000);
    for (const tx of txs) expect(tx.firstSeen).not.toBe(tx.block!.time);
    let mark = api.requests.length;
    await wallet.track({ guildId: `g${guild}`, userId: 'u', address });
    expect(since(mark).filter((p) => p.startsWith('/block-height/'))).toHaveLength(10);
    const shown = async () => (await wallet.txns({ guildId: `g${guild}`, address, limit: 25 })).txs.map((t) => t.time);
    const newestFirst = [...txs].reverse();
    // the newest ten blocks' times came with the history; the seven older txs show when Blockchain.com first saw them
    expect(await shown()).toEqual([...newestFirst.slice(0, 10).map(blockTime), ...newestFirst.slice(10).map((tx) => new Date(tx.firstSeen * 1000))]);

    const asked: string[][] = [];
    const reports = [];
    for (let pass = 0; pass < 3; pass++) {
      mark = api.requests.length;
      reports.push(await sync());
      asked.push(since(mark).filter((p) => p.startsWith('/block-height/')));
    }
    expect(BLOCK_TIMES_PER_PASS).toBe(5);
    expect(asked).toEqual([
      newestFirst.slice(10, 15).map((tx) => `/block-height/${tx.block!.height}`),
      newestFirst.slice(15).map((tx) => `/block-height/${tx.block!.height}`),
      [],
    ]);
    expect(reports.map((r) => r.blockTimes)).toEqual([5, 2, 0]);
    expect(await shown()).toEqual(newestFirst.map(blockTime));

    // A full history read again with first-seen times for the old ones does not undo them.
    const unprimed = createBlockchainInfoProvider({ baseUrl: api.url });
    const history = await unprimed.getHistory(address);
    expect(history.txs.filter((t) => !t.timeIsBlockTime)).toHaveLength(7);
    await createApplyHistory({ db: database.db, logger })(history, { at: now, scope: 'complete' });
    expect(await shown()).toEqual(newestFirst.map(blockTime));
  });

  it('leaves first-seen times for a later pass when the block times cannot be asked', async () => {
    const address = testAddress(`sync-times-${seed++}`);
    const txs = chain.addManyTxs(address, 11);
    await wallet.track({ guildId: `g${guild}`, userId: 'u', address });
    api.failNext(/^\/block-height\//, { status: 500, body: '{"error":"server-error","message":"Internal Server Error"}' });
    const failed = await sync();
    expect(failed).toMatchObject({ failed: 0, blockTimes: 0 });
    const oldest = async () => (await wallet.txns({ guildId: `g${guild}`, address, limit: 25 })).txs.at(-1)!.time;
    expect(await oldest()).toEqual(new Date(txs[0]!.firstSeen * 1000));
    expect(await sync()).toMatchObject({ blockTimes: 1 });
    expect(await oldest()).toEqual(new Date(txs[0]!.block!.time * 1000));
  });

  it('carries on past an address that fails, and retries it next time', async () => {
    const tracked = await trackMany(3);
    await sync();
    for (const address of tracked) chain.fund(address, 2n);
    chain.mine(); // confirmed, so only a failed address has a reason to be looked at again
    api.failNext(new RegExp(`^/rawaddr/${tracked[1]}$`), { status: 500, body: '{"error":"server-error","message":"Internal Server Error"}' });
    const first = await sync();
    expect(first).toMatchObject({ refreshed: 2, failed: 1 });
    const mark = api.requests.length;
    const second = await sync();
    expect(second).toMatchObject({ refreshed: 1, failed: 0, added: 1 });
    expect(since(mark).filter((p) => p.startsWith('/rawaddr/'))).toEqual([`/rawaddr/${tracked[1]}`]);
  });
});
