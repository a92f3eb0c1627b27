/**
 * A write whose connection is lost: before its COMMIT (nothing happened: the use case repeats it),
 * or after (it happened, but the answer never came: the use case must find out, not repeat blindly
 * and not say "Something went wrong"). The database below is real; only the loss is simulated, by
 * a database whose next transaction fails with postgres.js's CONNECTION_CLOSED, before or after it ran.
 */
import { pino } from 'pino';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createBlockchainInfoProvider } from '../../src/chain/providers/blockchain-info.js';
import type { Database } from '../../src/db/client.js';
import { isTransientDatabaseError, retryTransient } from '../../src/db/retry.js';
import { createSettingsService } from '../../src/sync/settings.js';
import { createWalletService, type WalletService } from '../../src/wallet/service.js';
import { type BlockchainInfoFake, FakeChain, startBlockchainInfoFake } from '../fakes/chain/index.js';
import { testAddress } from '../support/addresses.js';
import { createTestDatabase, testBackends } from '../support/database.js';

const connectionClosed = () => Object.assign(new Error('write CONNECTION_CLOSED 127.0.0.1:5432'), { code: 'CONNECTION_CLOSED' });

describe('isTransientDatabaseError', () => {
  it('knows a lost connection, a terminated backend and a server starting up, also wrapped as a cause', () => {
    for (const code of ['CONNECTION_CLOSED', 'CONNECTION_ENDED', 'CONNECTION_DESTROYED', 'CONNECT_TIMEOUT', 'ECONNRESET', 'ECONNREFUSED', '57P01', '57P02', '57P03', '08006', '08001']) {
      expect(isTransientDatabaseError(Object.assign(new Error(code), { code })), code).toBe(true);
    }
    expect(isTransientDatabaseError(new Error('Failed query: select 1', { cause: connectionClosed() }))).toBe(true);
  });

  it('leaves alone what a repeat would not mend: a unique violation, a syntax error, a plain error', () => {
    for (const code of ['23505', '42601', '22021', '40001']) expect(isTransientDatabaseError(Object.assign(new Error(code), { code }))).toBe(false);
    expect(isTransientDatabaseError(new Error('CONNECTION_CLOSED'))).toBe(false);
    expect(isTransientDatabaseError(undefined)).toBe(false);
  });
});

describe('retryTransient', () => {
  it('repeats a call that lost its connection until it succeeds, and no other failure', async () => {
    let calls = 0;
    expect(await retryTransient(async () => (++calls < 3 ? Promise.reject(connectionClosed()) : 'done'), { baseDelayMs: 1 })).toBe('done');
    expect(calls).toBe(3);
    calls = 0;
    const wrong = Object.assign(new Error('duplicate key'), { code: '23505' });
    await expect(retryTransient(async () => (calls++, Promise.reject(wrong)), { baseDelayMs: 1 })).rejects.toBe(wrong);
    expect(calls).toBe(1);
  });

  it('gives up with the last error once its budget is spent', async () => {
    let calls = 0;
    const started = Date.now();
    await expect(retryTransient(async () => (calls++, Promise.reject(connectionClosed())), { budgetMs: 300, baseDelayMs: 20, maxDelayMs: 50 })).rejects.toMatchObject({
      code: 'CONNECTION_CLOSED',
    });
    expect(calls).toBeGreaterThan(2);
    expect(Date.now() - started).toBeLessThan(1_000);
  });
});

describe.each(testBackends())('a write that loses its connection, on %s', (backend) => {
  const logger = pino({ level: 'silent' });
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let api: BlockchainInfoFake;
  let chain: FakeChain;
  let wallet: WalletService;
  /** what the next transaction does: fail before it runs, or run, commit and then fail */
  let next: 'fail before commit' | 'fail after commit' | undefined;
  let lost = 0;
  let guilds = 0;
  let guildId: string;
  const USER = '300000000000000001';
  let seed = 0;
  const fresh = () => testAddress(`lost-${backend}-${seed++}`);

  beforeAll(async () => {
    database = await createTestDatabase(backend);
  });
  afterAll(async () => {
    await database?.close();
  });

  beforeEach(async () => {
    chain = new FakeChain();
    api = await startBlockchainInfoFake({ chain });
    guildId = String(400000000000000000n + BigInt(++guilds));
    next = undefined;
    const real = database.db;
    const flaky = new Proxy(real, {
      get(target, key, receiver) {
        if (key !== 'transaction') return Reflect.get(target, key, receiver);
        return async (...args: Parameters<Database['transaction']>) => {
          const fault = next;
          next = undefined;
          if (fault === 'fail before commit') throw (lost++, connectionClosed());
          const result = await target.transaction(...args);
          if (fault === 'fail after commit') throw (lost++, connectionClosed());
          return result;
        };
      },
    });
    wallet = createWalletService({
      db: flaky,
      provider: createBlockchainInfoProvider({ baseUrl: api.url, logger }),
      logger,
    });
    await createSettingsService({ db: real }).setChannel(guildId, '500000000000000001');
    return () => api.close();
  });

  const watchOf = (address: string) =>
    wallet.listPage({ guildId, limit: 1_000, offset: 0 }).then(({ watches }) => watches.find((w) => w.kind === undefined && w.address === address));

  for (const when of ['fail before commit', 'fail after commit'] as const) {
    it(`tracks, and says so, when the store's connection is lost (${when.replace('fail ', '')})`, async () => {
      const address = fresh();
      chain.fund(address, 70_000n);
      next = when;
      const before = lost;
      const tracked = await wallet.track({ guildId, userId: USER, address, label: 'lost' });
      expect(lost).toBe(before + 1);
      expect(tracked).toMatchObject({ address, label: 'lost', balance: 70_000n });
      expect(await watchOf(address)).toMatchObject({ label: 'lost', addedBy: USER });
    });

    it(`untracks, and says so, when the removal's connection is lost (${when.replace('fail ', '')})`, async () => {
      const address = fresh();
      chain.fund(address, 1_000n);
      await wallet.track({ guildId, userId: USER, address, label: 'going' });
      next = when;
      expect(await wallet.untrack({ guildId, address: 'going' })).toEqual({ address, label: 'going' });
      expect(await watchOf(address)).toBeUndefined();
    });

    it(`renames, and says from what, when the update's connection is lost (${when.replace('fail ', '')})`, async () => {
      const address = fresh();
      chain.fund(address, 1_000n);
      await wallet.track({ guildId, userId: USER, address, label: 'old name' });
      next = when;
      expect(await wallet.rename({ guildId, address, label: 'new name' })).toEqual({ address, label: 'new name', previous: 'old name' });
      expect(await watchOf(address)).toMatchObject({ label: 'new name' });
    });
  }
});
