import { count } from 'drizzle-orm';
import { pino } from 'pino';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createBlockchainInfoProvider } from '../../src/chain/providers/blockchain-info.js';
import { addresses, addressTransactions, transactions, watches } from '../../src/db/schema.js';
import { UserError } from '../../src/errors.js';
import { createWalletService, FRESH_TTL_MS, type WalletService } from '../../src/wallet/service.js';
import { type BlockchainInfoFake, FakeChain, startBlockchainInfoFake } from '../fakes/chain/index.js';
import { testAddress } from '../support/addresses.js';
import { createTestDatabase, testBackends } from '../support/database.js';

describe.each(testBackends())('wallet on %s', (backend) => {
  const logger = pino({ level: 'silent' });
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let api: BlockchainInfoFake;
  let chain: FakeChain;
  let wallet: WalletService;
  let now: Date;

  // One database for the file: each test works in servers of its own.
  let GUILD_A: string;
  let GUILD_B: string;
  let guilds = 0;
  const USER = '200000000000000001';
  let seed = 0;
  const fresh = () => testAddress(`wallet-${seed++}`);

  beforeAll(async () => {
    database = await createTestDatabase(backend);
  });
  afterAll(async () => {
    await database?.close();
  });

  beforeEach(async () => {
    chain = new FakeChain();
    api = await startBlockchainInfoFake({ chain });
    now = new Date('2026-11-24T12:00:00Z');
    GUILD_A = String(100000000000000000n + BigInt(++guilds));
    GUILD_B = String(100000000000000000n + BigInt(++guilds));
    wallet = createWalletService({
      db: database.db,
      provider: createBlockchainInfoProvider({ baseUrl: api.url, logger }),
      logger,
      clock: () => now,
    });
    return () => api.close();
  });

  /** Every watch of a server, oldest first. */
  const watchesOf = async (guildId: string) => (await wallet.listPage({ guildId, limit: 1_000, offset: 0 })).watches;

  async function rowCounts() {
    const [[a], [w], [t], [l]] = await Promise.all([
      database.db.select({ n: count() }).from(addresses),
      database.db.select({ n: count() }).from(watches),
      database.db.select({ n: count() }).from(transactions),
      database.db.select({ n: count() }).from(addressTransactions),
    ]);
    return { addresses: a!.n, watches: w!.n, transactions: t!.n, links: l!.n };
  }

  async function rejection(promise: Promise<unknown>): Promise<UserError> {
    const err = await promise.then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(UserError);
    return err as UserError;
  }

  describe('track', () => {
    it('stores the balance and every transaction, with the time it was fetched', async () => {
      const address = fresh();
      chain.fund(address, 150_000n);
      chain.mine();
      chain.fund(address, 5_000n); // still in the mempool

      const result = await wallet.track({ guildId: GUILD_A, userId: USER, address, label: 'cold' });

      expect(result).toMatchObject({ address, label: 'cold', balance: 155_000n, txCount: 2, asOf: now });
      const [listed] = await watchesOf(GUILD_A);
      expect(listed).toMatchObject({ address, label: 'cold', balance: 155_000n, balanceUpdatedAt: now, addedBy: USER });
      const { txs, total } = await wallet.txns({ guildId: GUILD_A, address });
      expect(total).toBe(2);
      expect(txs.map((t) => [t.net, t.blockHeight === null])).toEqual([
        [5_000n, true],
        [150_000n, false],
      ]);
    });

    it('stores an address with more transactions than one provider page', async () => {
      const address = fresh();
      chain.addManyTxs(address, 120);
      chain.mine();
      await wallet.track({ guildId: GUILD_A, userId: USER, address });
      const { total } = await wallet.txns({ guildId: GUILD_A, address });
      expect(total).toBe(120);
      expect(api.requests.filter((r) => r.path.startsWith('/rawaddr/'))).toHaveLength(3);
    });

    it('refuses an invalid address before it reaches the provider or the database', async () => {
      const before = await rowCounts();
      const bad = fresh().slice(0, -1) + 'x';
      const err = await rejection(wallet.track({ guildId: GUILD_A, userId: USER, address: bad }));
      expect(err.code).toBe('invalid_address');
      expect(api.requests).toHaveLength(0);
      expect(await rowCounts()).toEqual(before);
    });

    it('says so when the server already tracks the address, without asking the provider', async () => {
      const address = fresh();
      chain.fund(address, 1n);
      await wallet.track({ guildId: GUILD_A, userId: USER, address, label: 'hot' });
      const calls = api.requests.length;
      const err = await rejection(wallet.track({ guildId: GUILD_A, userId: USER, address: address.toUpperCase() }));
      expect(err.code).toBe('already_tracked');
      expect(err.message).toContain('hot');
      expect(api.requests).toHaveLength(calls);
    });

    it('refuses a label another address of the server already has, in any case', async () => {
      await wallet.track({ guildId: GUILD_A, userId: USER, address: fresh(), label: 'Savings' });
      const err = await rejection(wallet.track({ guildId: GUILD_A, userId: USER, address: fresh(), label: 'savings' }));
      expect(err.code).toBe('label_taken');
    });

    it('says the label is taken when two addresses are tracked with it at the same moment', async () => {
      const results = await Promise.allSettled([
        wallet.track({ guildId: GUILD_A, userId: USER, address: fresh(), label: 'twin' }),
        wallet.track({ guildId: GUILD_A, userId: USER, address: fresh(), label: 'Twin' }),
      ]);
      expect(results.map((r) => r.status).sort()).toEqual(['fulfilled', 'rejected']);
      const refused = results.find((r) => r.status === 'rejected') as PromiseRejectedResult;
      expect(refused.reason).toBeInstanceOf(UserError);
      expect((refused.reason as UserError).code).toBe('label_taken');
    });

    it('changes nothing when the provider is down', async () => {
      const before = await rowCounts();
      api.failNext(/rawaddr/, { status: 500, body: '{"error":"server-error","message":"Internal Server Error"}' });
      const err = await rejection(wallet.track({ guildId: GUILD_A, userId: USER, address: fresh() }));
      expect(err.code).toBe('provider_unavailable');
      expect(await rowCounts()).toEqual(before);
    });
  });

  describe('labels', () => {
    it("resolves a label of this server's, in any case, and never another server's", async () => {
      const address = fresh();
      await wallet.track({ guildId: GUILD_A, userId: USER, address, label: 'Cold storage' });
      expect(await wallet.resolveWatch({ guildId: GUILD_A, address: ' cold  STORAGE ' })).toEqual({ kind: 'address', address });
      expect((await rejection(wallet.resolveWatch({ guildId: GUILD_B, address: 'Cold storage' }))).code).toBe('unknown_address');
      // A valid address means itself, tracked or not.
      const other = fresh();
      expect(await wallet.resolveWatch({ guildId: GUILD_A, address: other.toUpperCase() })).toEqual({ kind: 'address', address: other });
    });

    it('renames a watch, lets it change case, and refuses a label another watch has', async () => {
      const first = fresh();
      const second = fresh();
      await wallet.track({ guildId: GUILD_A, userId: USER, address: first, label: 'Hot' });
      await wallet.track({ guildId: GUILD_A, userId: USER, address: second });
      // Another server's labels are its own business.
      await wallet.track({ guildId: GUILD_B, userId: USER, address: fresh(), label: 'Spending' });

      expect(await wallet.rename({ guildId: GUILD_A, address: 'hot', label: ' Spending ' })).toEqual({ address: first, label: 'Spending', previous: 'Hot' });
      expect(await wallet.rename({ guildId: GUILD_A, address: first, label: 'SPENDING' })).toMatchObject({ previous: 'Spending' });
      expect((await rejection(wallet.rename({ guildId: GUILD_A, address: second, label: 'spending' }))).code).toBe('label_taken');
      expect((await rejection(wallet.rename({ guildId: GUILD_A, address: second, label: '   ' }))).code).toBe('invalid_input');
      expect((await rejection(wallet.rename({ guildId: GUILD_A, address: second, label: first }))).code).toBe('invalid_input');
      expect((await watchesOf(GUILD_A)).map((w) => w.label).sort()).toEqual(['SPENDING', null]);
    });

    it('lists a page of watches with the count and total balance of them all', async () => {
      const tracked = [fresh(), fresh(), fresh()];
      for (const [i, address] of tracked.entries()) {
        chain.fund(address, 100n * BigInt(i + 1));
        await wallet.track({ guildId: GUILD_A, userId: USER, address });
      }
      // Oldest first; the clock stands still here, so the address breaks the tie.
      const page = await wallet.listPage({ guildId: GUILD_A, limit: 2, offset: 2 });
      expect(page.watches.map((w) => (w.kind === undefined ? w.address : w.label))).toEqual([[...tracked].sort()[2]]);
      expect(page).toMatchObject({ total: 3, totalBalance: 600n });
      expect(await wallet.listPage({ guildId: GUILD_B, limit: 2, offset: 0 })).toEqual({ watches: [], total: 0, totalBalance: 0n, addresses: 0 });
    });
  });

  describe('untrack', () => {
    it("removes only this server's watch and keeps what another server still needs", async () => {
      const shared = fresh();
      const other = fresh();
      // One payment from `shared` to `other`: both addresses need this transaction.
      chain.fund(shared, 100_000n);
      chain.addTx({ inputs: [{ address: shared, value: 100_000n }], outputs: [{ address: other, value: 90_000n }] });
      chain.mine();
      await wallet.track({ guildId: GUILD_A, userId: USER, address: shared });
      await wallet.track({ guildId: GUILD_B, userId: USER, address: shared });
      await wallet.track({ guildId: GUILD_B, userId: USER, address: other });
      const before = await rowCounts();

      await wallet.untrack({ guildId: GUILD_A, address: shared });
      expect(await watchesOf(GUILD_A)).toEqual([]);
      expect((await wallet.txns({ guildId: GUILD_B, address: shared })).total).toBe(2);
      expect(await rowCounts()).toEqual({ ...before, watches: before.watches - 1 });

      // The last watch of `shared` goes: its funding tx goes, the payment stays for `other`.
      await wallet.untrack({ guildId: GUILD_B, address: shared });
      const after = await rowCounts();
      expect(after).toEqual({
        addresses: before.addresses - 1,
        watches: before.watches - 2,
        transactions: before.transactions - 1,
        links: before.links - 2,
      });
      const { txs } = await wallet.txns({ guildId: GUILD_B, address: other });
      expect(txs.map((t) => t.net)).toEqual([90_000n]);
    });

    it('does not bring back an address whose last watch went while a refresh was under way', async () => {
      const address = fresh();
      chain.fund(address, 3_000n);
      await wallet.track({ guildId: GUILD_A, userId: USER, address });
      const before = await rowCounts();
      api.latencyMs = 300;
      now = new Date(now.getTime() + 60_000);
      const refreshing = wallet.refresh(address);
      await expect.poll(() => api.requests.length > 0 && api.requests.at(-1)!.path === `/rawaddr/${address}`).toBe(true);
      await wallet.untrack({ guildId: GUILD_A, address });
      await refreshing;
      api.latencyMs = 0;
      expect(await rowCounts()).toEqual({ addresses: before.addresses - 1, watches: before.watches - 1, transactions: before.transactions - 1, links: before.links - 1 });
    });

    it('says the address is not tracked when this server does not track it', async () => {
      const address = fresh();
      await wallet.track({ guildId: GUILD_B, userId: USER, address });
      const err = await rejection(wallet.untrack({ guildId: GUILD_A, address }));
      expect(err.code).toBe('not_tracked');
      expect(await watchesOf(GUILD_B)).toHaveLength(1);
    });
  });

  describe('balance and txns', () => {
    it('answers a tracked address from the database, and from the provider with fresh', async () => {
      const address = fresh();
      chain.fund(address, 10_000n);
      await wallet.track({ guildId: GUILD_A, userId: USER, address });
      const trackedAt = now;
      chain.fund(address, 2_500n);
      now = new Date('2026-11-24T12:05:00Z');

      const stored = await wallet.balance({ guildId: GUILD_A, address });
      expect(stored).toMatchObject({ balance: 10_000n, asOf: trackedAt, source: 'stored', tracked: true });

      const live = await wallet.balance({ guildId: GUILD_A, address, fresh: true });
      expect(live).toMatchObject({ balance: 12_500n, asOf: now, source: 'live' });
      // …and the stored row was brought up to date with it, transactions included.
      expect(await wallet.balance({ guildId: GUILD_A, address })).toMatchObject({ balance: 12_500n, asOf: now });
      expect((await wallet.txns({ guildId: GUILD_A, address })).total).toBe(2);
    });

    it('answers an untracked address live and stores nothing', async () => {
      const address = fresh();
      chain.fund(address, 42n);
      const before = await rowCounts();
      expect(await wallet.balance({ guildId: GUILD_A, address })).toMatchObject({ balance: 42n, tracked: false, source: 'live' });
      const view = await wallet.txns({ guildId: GUILD_A, address });
      expect(view).toMatchObject({ tracked: false, total: 1, source: 'live' });
      expect(view.txs[0]?.net).toBe(42n);
      expect(await rowCounts()).toEqual(before);
    });

    it('shows an outgoing payment with change as the net amount that left the address', async () => {
      const address = fresh();
      const shop = fresh();
      chain.fund(address, 500_000n);
      chain.mine();
      await wallet.track({ guildId: GUILD_A, userId: USER, address });
      chain.addTx({
        inputs: [{ address, value: 500_000n }],
        outputs: [{ address: shop, value: 120_000n }, { address, value: 379_000n }],
      });
      const { txs } = await wallet.txns({ guildId: GUILD_A, address, fresh: true });
      expect(txs[0]).toMatchObject({ net: -121_000n, fee: 1_000n, blockHeight: null });
    });

    it('updates a transaction when it confirms and forgets one that left the mempool', async () => {
      const address = fresh();
      chain.fund(address, 1_000n);
      chain.mine();
      await wallet.track({ guildId: GUILD_A, userId: USER, address });
      const pending = chain.fund(address, 2_000n);
      const dropped = chain.fund(address, 3_000n);
      await wallet.txns({ guildId: GUILD_A, address, fresh: true });

      chain.removeTx(dropped.txid);
      const block = chain.mine();
      now = new Date(now.getTime() + 60_000); // a minute later: not the answer of a moment ago
      const { txs } = await wallet.txns({ guildId: GUILD_A, address, fresh: true });
      expect(txs.map((t) => [t.txid, t.blockHeight])).toEqual([
        [pending.txid, block.height],
        [expect.any(String), block.height - 1],
      ]);
      expect(await wallet.balance({ guildId: GUILD_A, address })).toMatchObject({ balance: 3_000n });
    });

    it('costs one provider call when ten people ask for a fresh balance at once', async () => {
      const address = fresh();
      chain.fund(address, 5_000n);
      await wallet.track({ guildId: GUILD_A, userId: USER, address });
      chain.fund(address, 1_000n);
      now = new Date(now.getTime() + 60_000);
      const calls = api.requests.length;
      const views = await Promise.all(Array.from({ length: 10 }, () => wallet.balance({ guildId: GUILD_A, address, fresh: true })));
      expect(views.map((v) => v.balance)).toEqual(Array(10).fill(6_000n));
      expect(api.requests.length - calls).toBe(1);

      // A moment later the same answer still serves; after a few seconds the network is asked again.
      now = new Date(now.getTime() + FRESH_TTL_MS - 1);
      await wallet.balance({ guildId: GUILD_A, address, fresh: true });
      expect(api.requests.length - calls).toBe(1);
      now = new Date(now.getTime() + 1);
      await wallet.balance({ guildId: GUILD_A, address, fresh: true });
      expect(api.requests.length - calls).toBe(2);
    });

    it('costs one provider call when ten people look up the same untracked address at once', async () => {
      const address = fresh();
      chain.fund(address, 9n);
      const calls = api.requests.length;
      await Promise.all(Array.from({ length: 10 }, () => wallet.balance({ guildId: GUILD_A, address })));
      await Promise.all(Array.from({ length: 10 }, () => wallet.txns({ guildId: GUILD_A, address })));
      expect(api.requests.slice(calls).map((r) => r.path)).toEqual(['/balance', `/rawaddr/${address}`]);
    });

    it('does not keep a failure: the next fresh request asks again', async () => {
      const address = fresh();
      await wallet.track({ guildId: GUILD_A, userId: USER, address });
      now = new Date(now.getTime() + 60_000);
      api.failNext(/rawaddr/, { status: 500, body: '{"error":"server-error","message":"Internal Server Error"}' });
      await expect(wallet.balance({ guildId: GUILD_A, address, fresh: true })).rejects.toThrow(/^The Bitcoin data service \(blockchain\.info\) answered with an error\. Try again in a minute\.$/);
      chain.fund(address, 4n);
      expect((await wallet.balance({ guildId: GUILD_A, address, fresh: true })).balance).toBe(4n);
    });

    it('fetches only new transactions when refreshing a long history', async () => {
      const address = fresh();
      chain.addManyTxs(address, 120);
      chain.mine();
      await wallet.track({ guildId: GUILD_A, userId: USER, address });
      chain.fund(address, 7n);
      const calls = api.requests.length;
      const { total } = await wallet.txns({ guildId: GUILD_A, address, fresh: true });
      expect(total).toBe(121);
      expect(api.requests.length - calls).toBe(1);
    });
  });
});
