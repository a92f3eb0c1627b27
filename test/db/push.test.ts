import { createServer } from 'node:net';
import { eq } from 'drizzle-orm';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createChainProvider } from '../../src/chain/providers/index.js';
import { parseElectrumServer } from '../../src/chain/electrum/rpc.js';
import { addresses } from '../../src/db/schema.js';
import { createLeaseCoordinator } from '../../src/sync/coordinator.js';
import { createNoticeSignal } from '../../src/sync/notice-signal.js';
import { createPushSupervisor, type PushSupervisor } from '../../src/sync/push.js';
import { deferTicksToPush } from '../../src/sync/push-lease.js';
import { type ScheduledJob, scheduleJob } from '../../src/sync/scheduler.js';
import { createSync } from '../../src/sync/sync.js';
import { deriveRange, parseWallet } from '../../src/chain/descriptor/index.js';
import { createWalletService, type WalletService } from '../../src/wallet/service.js';
import { type BlockchainInfoFake, FakeChain, startBlockchainInfoFake } from '../fakes/chain/index.js';
import { type ElectrumFake, startElectrumFake } from '../fakes/chain/electrum.js';
import { fakeTlsCert, fakeTlsKey } from '../fakes/chain/electrum-tls.js';
import { testAddress } from '../support/addresses.js';
import { BIP86 } from '../support/wallet-keys.js';
import { createTestDatabase, testBackends } from '../support/database.js';

// Long enough that a renewal every third of it never lapses on a loaded machine (600 ms did, at load 9).
const LEASE_MS = 2_000;
const SOON = { timeout: 5_000, interval: 25 };

/** a port nothing listens on */
async function deadPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe.each(testBackends())('push supervisors on one database (%s)', (backend) => {
  const lines: { msg: string }[] = [];
  const logger = pino({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line) as { msg: string }) });
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let chain: FakeChain;
  let api: BlockchainInfoFake;
  let electrum: ElectrumFake;
  const started: PushSupervisor[] = [];
  const jobs: ScheduledJob[] = [];

  beforeAll(async () => {
    database = await createTestDatabase(backend);
    chain = new FakeChain();
    api = await startBlockchainInfoFake({ chain });
    electrum = await startElectrumFake({ chain });
  });
  afterAll(async () => {
    await Promise.all(jobs.map((j) => j.stop()));
    await Promise.all(started.map((s) => s.stop()));
    await electrum?.close();
    await api?.close();
    await database?.close();
  });

  function wallet(watchesChanged = createNoticeSignal()) {
    const provider = createChainProvider({ providers: ['blockchain-info'], esploraUrl: '', blockchainInfoUrl: api.url, requestsPerSecond: Infinity, logger });
    return { service: createWalletService({ db: database.db, provider, logger, watchesChanged }), watchesChanged, provider };
  }

  function supervisor(owner: string, servers: string[], { dies = false, tlsInsecure = false, leaseMs = LEASE_MS } = {}) {
    const { service, watchesChanged, provider } = wallet();
    const leases = createLeaseCoordinator({ db: database.db, owner });
    // A process that dies never gives its lease back: it only stops renewing it.
    const coordinator = dies ? { ...leases, onComplete: async () => {} } : leases;
    const push = createPushSupervisor({ servers: servers.map(parseElectrumServer), tlsInsecure, wallet: service, network: 'mainnet', logger, coordinator, watchesChanged, leaseMs });
    started.push(push);
    push.start();
    return { push, wallet: service, watchesChanged, provider, leases };
  }

  /** a process's cron sync, every second, as src/core.ts schedules it with push on; counts its runs */
  function syncEverySecond(owner: string, { push, wallet, provider, leases }: ReturnType<typeof supervisor>) {
    const sync = createSync({ wallet, provider, logger, isCurrent: push.isCurrent });
    const runs = { count: 0 };
    const coordinator = deferTicksToPush(createLeaseCoordinator({ db: database.db, owner: `${owner}-sync` }), leases, logger);
    const job = scheduleJob({ name: 'sync', cron: '* * * * * *', run: async (signal) => void (runs.count++, await sync(signal)), coordinator, logger, leaseMs: LEASE_MS });
    jobs.push(job);
    return { job, runs };
  }

  const storedBalance = async (address: string) =>
    (await database.db.select({ balance: addresses.balance }).from(addresses).where(eq(addresses.address, address)))[0]?.balance;

  it('keeps subscriptions in the one process holding the lease, and another takes over within seconds when it dies', async () => {
    const address = testAddress(`lease-${backend}`);
    const a = supervisor(`A-${backend}`, [electrum.url], { dies: true });
    await expect.poll(() => a.push.status()?.server, SOON).toBeDefined();
    // The wallet tells its supervisor of the new watch: it subscribes it at once.
    await a.wallet.track({ guildId: 'g', userId: 'u', address });
    const b = supervisor(`B-${backend}`, [electrum.url]);
    await expect.poll(() => electrum.subscriptions(), SOON).toBe(1);
    expect(b.push.status()).toBeUndefined();
    expect(electrum.connections()).toBe(1);

    chain.fund(address, 4_000n);
    await expect.poll(() => storedBalance(address), SOON).toBe(4_000n);

    await a.push.stop();
    await expect.poll(() => b.push.status()?.server, SOON).toBeDefined();
    expect(b.push.status()).toMatchObject({ subscribed: 1, polled: 0 });
    chain.fund(address, 6_000n);
    await expect.poll(() => storedBalance(address), SOON).toBe(10_000n);
  });

  it('moves past a server that is down to the next, and says once when none can be reached', async () => {
    const dead = `tcp://127.0.0.1:${await deadPort()}`;
    // The first test's processes give the lease back first.
    for (const s of started.splice(0)) await s.stop();
    const next = supervisor(`C-${backend}`, [dead, electrum.url]);
    await expect.poll(() => next.push.status()?.server, { timeout: 10_000, interval: 50 }).toBe(`127.0.0.1:${electrum.port}`);
    await next.push.stop();

    lines.length = 0;
    const nowhere = supervisor(`D-${backend}`, [dead]);
    const said = () => lines.filter((l) => l.msg.startsWith('no Electrum server can be reached')).length;
    await expect.poll(said, { timeout: 10_000, interval: 50 }).toBe(1);
    // More attempts follow, with backoff; the log does not repeat itself.
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    expect(said()).toBe(1);
    expect(nowhere.push.status()).toMatchObject({ server: undefined });
  });

  it('accepts a self-signed certificate only with ELECTRUM_TLS_INSECURE', async () => {
    for (const s of started.splice(0)) await s.stop();
    const tls = await startElectrumFake({ chain, tls: { key: fakeTlsKey, cert: fakeTlsCert } });
    try {
      expect(tls.url).toMatch(/^ssl:\/\//);
      const verified = supervisor(`E-${backend}`, [tls.url]);
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      expect(verified.push.status()).toMatchObject({ server: undefined });
      await verified.push.stop();
      const insecure = supervisor(`F-${backend}`, [tls.url], { tlsInsecure: true });
      await expect.poll(() => insecure.push.status()?.server, SOON).toBe(`127.0.0.1:${tls.port}`);
      await insecure.push.stop();
    } finally {
      await tls.close();
    }
  });

  it('leaves the cron ticks to the process holding the push lease, so no tick polls what push has as stored; another takes them when it dies', async () => {
    for (const s of started.splice(0)) await s.stop();
    const address = testAddress(`ticks-${backend}`);
    // A lease that a loaded machine cannot let lapse between renewals while A lives.
    const a = supervisor(`G-${backend}`, [electrum.url], { dies: true, leaseMs: 2_000 });
    await expect.poll(() => a.push.status()?.server, SOON).toBeDefined();
    const b = supervisor(`H-${backend}`, [electrum.url], { leaseMs: 2_000 });
    await a.wallet.track({ guildId: 'g', userId: 'u', address });
    chain.fund(address, 3_000n);
    await expect.poll(() => storedBalance(address), SOON).toBe(3_000n);
    const statuses = () => database.db.select({ address: addresses.address, status: addresses.electrumStatus }).from(addresses);
    await expect.poll(async () => (await statuses()).every((row) => a.push.isCurrent(row.address, row.status)), SOON).toBe(true);

    const calls = api.requests.length;
    const inA = syncEverySecond(`G-${backend}`, a);
    const inB = syncEverySecond(`H-${backend}`, b);
    await expect.poll(() => inA.runs.count, SOON).toBeGreaterThanOrEqual(3);
    // Every tick went to A, whose sync skips what push has as stored: not one HTTP call.
    expect(inB.runs.count).toBe(0);
    expect(api.requests.slice(calls).map((r) => r.path)).toEqual([]);

    // A dies: its lease expires, B takes push over, and the ticks with it.
    await inA.job.stop();
    await a.push.stop();
    const takeover = { timeout: 10_000, interval: 50 };
    await expect.poll(() => b.push.status()?.server, takeover).toBeDefined();
    await expect.poll(() => inB.runs.count, takeover).toBeGreaterThanOrEqual(2);
    chain.fund(address, 5_000n);
    await expect.poll(() => storedBalance(address), SOON).toBe(8_000n);
  });

  /**
   * A push supervisor alone on the database, recording which addresses each applyPushedMany
   * stores together, started once `fund` has paid the wallet and it is tracked by `track`.
   */
  async function recordingSupervisor(owner: string) {
    for (const s of started.splice(0)) await s.stop();
    const { service, watchesChanged } = wallet();
    const together: string[][] = [];
    const recording: WalletService = {
      ...service,
      applyPushedMany: (pushed, tip) => (together.push(pushed.map((p) => p.history.balance.address).sort()), service.applyPushedMany(pushed, tip)),
    };
    const coordinator = createLeaseCoordinator({ db: database.db, owner: `${owner}-${backend}` });
    const push = createPushSupervisor({ servers: [parseElectrumServer(electrum.url)], tlsInsecure: false, wallet: recording, network: 'mainnet', logger, coordinator, watchesChanged, leaseMs: LEASE_MS });
    started.push(push);
    push.start();
    await expect.poll(() => push.status()?.server, SOON).toBeDefined();
    return {
      service,
      together,
      /** once every stored status is the server's, forget the catch-up's applies */
      async settled() {
        const statuses = () => database.db.select({ address: addresses.address, status: addresses.electrumStatus }).from(addresses);
        await expect.poll(async () => (await statuses()).every((row) => push.isCurrent(row.address, row.status)), SOON).toBe(true);
        together.length = 0;
      },
    };
  }

  it("stores the statuses of one wallet's addresses that change together in one apply: a payment out and its change back", async () => {
    // BIP-84's account 0: its first receive and change addresses.
    const zpub = parseWallet('zpub6rFR7y4Q2AijBEqTUquhVz398htDFrtymD9xYYfG1m4wAcvPhXNfE3EfH1r1ADqtfSdVCToUG868RvUUkgDKf31mGDtKsAYz2oz2AGutZYs', 'mainnet');
    const [receive] = deriveRange(zpub, 0, 0, 1);
    const [change] = deriveRange(zpub, 1, 0, 1);
    const { service, together, settled } = await recordingSupervisor('W');
    chain.fund(receive!, 100_000n);
    chain.mine();
    await service.track({ guildId: `wallet-${backend}`, userId: 'u', address: zpub.descriptor, gap: 2 });
    await settled();

    chain.addTx({ inputs: [{ address: receive!, value: 100_000n }], outputs: [{ address: testAddress(`payee-${backend}`), value: 60_000n }, { address: change!, value: 39_000n }] });
    await expect.poll(() => storedBalance(change!), SOON).toBe(39_000n);
    expect(together).toEqual([[receive!, change!].sort()]);
    expect(await storedBalance(receive!)).toBe(0n);
  });

  it("stores together the addresses of two wallets that share some: one server's wallet has a wider gap than the other's", async () => {
    // BIP-86's account 0 (the test above has BIP-84's), tracked in two servers with two gaps.
    const zpub = parseWallet(`tr(${BIP86.xpub}/<0;1>/*)`, 'mainnet');
    const [receive] = deriveRange(zpub, 0, 0, 1);
    const { service, together, settled } = await recordingSupervisor('W2');
    chain.fund(receive!, 100_000n);
    chain.mine();
    await service.track({ guildId: `narrow-${backend}`, userId: 'u', address: zpub.descriptor, gap: 1 });
    await service.track({ guildId: `wide-${backend}`, userId: 'u', address: zpub.descriptor, gap: 3 });
    // The change address at index 2 is in the wide wallet only; the receive address is in both.
    const [, , change] = deriveRange(zpub, 1, 0, 3);
    await settled();

    chain.addTx({ inputs: [{ address: receive!, value: 100_000n }], outputs: [{ address: testAddress(`payee2-${backend}`), value: 60_000n }, { address: change!, value: 39_000n }] });
    await expect.poll(() => storedBalance(change!), SOON).toBe(39_000n);
    await expect.poll(() => storedBalance(receive!), SOON).toBe(0n);
    expect(together).toEqual([[receive!, change!].sort()]);
  });
});

describe('a pushed payment during a catch-up', () => {
  it('is read and stored ahead of the addresses that changed while the bot was away', async () => {
    const logger = pino({ level: 'silent' });
    const database = await createTestDatabase('pglite');
    const chain = new FakeChain();
    const api = await startBlockchainInfoFake({ chain });
    const electrum = await startElectrumFake({ chain });
    const provider = createChainProvider({ providers: ['blockchain-info'], esploraUrl: '', blockchainInfoUrl: api.url, requestsPerSecond: Infinity, logger });
    const watchesChanged = createNoticeSignal();
    const service = createWalletService({ db: database.db, provider, logger, watchesChanged });
    const applied: string[] = [];
    // Each store takes a while, as it does with thousands of addresses on a small machine.
    const slow: WalletService = {
      ...service,
      applyPushed: async (history, status, tip) => {
        applied.push(history.balance.address);
        await new Promise((resolve) => setTimeout(resolve, 40));
        return service.applyPushed(history, status, tip);
      },
    };
    let push: PushSupervisor | undefined;
    try {
      const away = Array.from({ length: 40 }, (_, i) => testAddress(`catch-up-${i}`));
      const payee = testAddress('catch-up-payee');
      for (const address of [...away, payee]) await service.track({ guildId: 'catch-up', userId: 'u', address });
      // Paid while no supervisor ran: each is found changed when subscribed.
      for (const address of away) chain.fund(address, 1_000n);
      chain.mine();
      const coordinator = createLeaseCoordinator({ db: database.db, owner: 'catch-up' });
      push = createPushSupervisor({ servers: [parseElectrumServer(electrum.url)], tlsInsecure: false, wallet: slow, network: 'mainnet', logger, coordinator, watchesChanged, leaseMs: LEASE_MS });
      push.start();
      await expect.poll(() => applied.length, SOON).toBeGreaterThan(0);
      chain.fund(payee, 5_000n);
      await expect.poll(() => applied.includes(payee), { timeout: 20_000, interval: 25 }).toBe(true);
      // Pushed after the catch-up began: it waits for the reads already running, not for the 40.
      expect(applied.indexOf(payee)).toBeLessThan(away.length / 2);
      await expect.poll(() => applied.length, { timeout: 20_000, interval: 50 }).toBe(away.length + 1);
    } finally {
      await push?.stop();
      await electrum.close();
      await api.close();
      await database.close();
    }
  });
});
