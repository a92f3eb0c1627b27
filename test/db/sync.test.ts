import { pino } from 'pino';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createBlockchainInfoProvider } from '../../src/chain/providers/blockchain-info.js';
import { addresses, addressTransactions, transactions, watches } from '../../src/db/schema.js';
import { createSync } from '../../src/sync/sync.js';
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
    wallet = createWalletService({ db: database.db, provider, logger });
    sync = createSync({ wallet, provider, logger });
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

  it('keeps checking an address with an unconfirmed transaction until it confirms, then stops', async () => {
    const [address] = await trackMany(1);
    await sync();
    chain.fund(address!, 9n);
    await sync(); // sees it unconfirmed
    let mark = api.requests.length;
    await sync(); // nothing moved, but it is still unconfirmed: look again
    expect(since(mark).filter((p) => p.startsWith('/rawaddr/'))).toEqual([`/rawaddr/${address}`]);
    chain.mine();
    const report = await sync();
    expect(report.confirmed).toBe(1);
    mark = api.requests.length;
    await sync();
    expect(since(mark).filter((p) => p.startsWith('/rawaddr/'))).toEqual([]);
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
