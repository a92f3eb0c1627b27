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
import { createWalletService } from '../../src/wallet/service.js';
import { type BlockchainInfoFake, FakeChain, startBlockchainInfoFake } from '../fakes/chain/index.js';
import { type ElectrumFake, startElectrumFake } from '../fakes/chain/electrum.js';
import { fakeTlsCert, fakeTlsKey } from '../fakes/chain/electrum-tls.js';
import { testAddress } from '../support/addresses.js';
import { createTestDatabase, testBackends } from '../support/database.js';

const LEASE_MS = 600;
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

  beforeAll(async () => {
    database = await createTestDatabase(backend);
    chain = new FakeChain();
    api = await startBlockchainInfoFake({ chain });
    electrum = await startElectrumFake({ chain });
  });
  afterAll(async () => {
    await Promise.all(started.map((s) => s.stop()));
    await electrum?.close();
    await api?.close();
    await database?.close();
  });

  function wallet(watchesChanged = createNoticeSignal()) {
    const provider = createChainProvider({ providers: ['blockchain-info'], esploraUrl: '', blockchainInfoUrl: api.url, requestsPerSecond: Infinity, logger });
    return { service: createWalletService({ db: database.db, provider, logger, watchesChanged }), watchesChanged };
  }

  function supervisor(owner: string, servers: string[], { dies = false, tlsInsecure = false } = {}) {
    const { service, watchesChanged } = wallet();
    const leases = createLeaseCoordinator({ db: database.db, owner });
    // A process that dies never gives its lease back: it only stops renewing it.
    const coordinator = dies ? { ...leases, onComplete: async () => {} } : leases;
    const push = createPushSupervisor({ servers: servers.map(parseElectrumServer), tlsInsecure, wallet: service, network: 'mainnet', logger, coordinator, watchesChanged, leaseMs: LEASE_MS });
    started.push(push);
    push.start();
    return { push, wallet: service, watchesChanged };
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
});
