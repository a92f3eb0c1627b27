import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ProviderWaitError } from '../../src/chain/provider.js';
import { createBlockchainInfoProvider } from '../../src/chain/providers/blockchain-info.js';
import { createEsploraProvider } from '../../src/chain/providers/esplora.js';
import { createFailoverProvider, type FailoverProvider } from '../../src/chain/providers/failover.js';
import { createChainProvider } from '../../src/chain/providers/index.js';
import {
  cannedResponses,
  FakeChain,
  startBlockchainInfoFake,
  startEsploraFake,
  type BlockchainInfoFake,
  type EsploraFake,
} from '../fakes/chain/index.js';
import { testAddress } from '../support/addresses.js';
import { providerRejection as rejection } from '../support/rejection.js';
import { createVirtualClock } from '../support/clock.js';

const alice = testAddress('alice');
const COOLDOWN = 60_000;

let chain: FakeChain;
let esplora: EsploraFake;
let bci: BlockchainInfoFake;
let time: number;
let provider: FailoverProvider;

beforeEach(async () => {
  chain = new FakeChain();
  chain.fund(alice, 21_000);
  [esplora, bci] = await Promise.all([startEsploraFake({ chain }), startBlockchainInfoFake({ chain })]);
  time = 0;
  provider = createFailoverProvider(
    [createEsploraProvider({ baseUrl: esplora.url }), createBlockchainInfoProvider({ baseUrl: bci.url })],
    { cooldownMs: COOLDOWN, now: () => time },
  );
});

afterEach(async () => {
  await Promise.all([esplora.close(), bci.close()]);
  expect([...esplora.unhandled, ...bci.unhandled]).toEqual([]);
});

/** the providers being passed over right now */
const resting = () => provider.status().filter((s) => s.restingUntil).map((s) => s.name);

describe('failover provider', () => {
  it('serves from the second while the first returns 500s, and returns to the first after the cooldown', async () => {
    expect(provider.name).toBe('esplora');
    esplora.failNext(/^\/address\//, cannedResponses.serverError);

    expect((await provider.getBalances([alice])).get(alice)?.balance).toBe(21_000n);
    expect([esplora.requests.length, bci.requests.length]).toEqual([1, 1]);
    expect(provider.lastServedBy).toBe('blockchain.info');
    expect(provider.name).toBe('blockchain.info');
    expect(resting()).toEqual(['esplora']);

    // Within the cooldown the first is not asked at all.
    time += COOLDOWN - 1;
    await provider.getHistory(alice);
    expect([esplora.requests.length, bci.requests.length]).toEqual([1, 2]);

    time += 1;
    expect(resting()).toEqual([]);
    const history = await provider.getHistory(alice);
    expect(history.balance.balance).toBe(21_000n);
    expect([esplora.requests.length, bci.requests.length]).toEqual([3, 2]);
    expect(provider.lastServedBy).toBe('esplora');
  });

  it('asks a provider that is resting when every other one fails too, rather than fail without asking', async () => {
    esplora.failNext(/^\/address\//, cannedResponses.serverError);
    await provider.getBalances([alice]);
    bci.failNext(/^\/balance$/, cannedResponses.rateLimited);

    expect((await provider.getBalances([alice])).get(alice)?.balance).toBe(21_000n);
    expect(provider.lastServedBy).toBe('esplora');
    expect(resting()).toEqual(['blockchain.info']);
  });

  it('throws one ProviderError naming every failure when all fail', async () => {
    esplora.failNext(/^\/address\//, cannedResponses.serverError);
    bci.failNext(/^\/balance$/, cannedResponses.rateLimited);

    const err = await rejection(provider.getBalances([alice]));

    expect(err.message).toBe(
      `esplora, blockchain.info: every provider failed: esplora: /address/${alice} answered HTTP 500: Internal Server Error; ` +
        'blockchain.info: /balance answered HTTP 429 (rate limited)',
    );
    expect(err.status).toBe(429);
    expect(resting()).toEqual(['esplora', 'blockchain.info']);
  });

  it('passes the caller’s abort on without setting the provider aside or asking the next', async () => {
    esplora.latencyMs = 500;
    const controller = new AbortController();
    const pending = provider.getHistory(alice, { signal: controller.signal });
    controller.abort(new Error('shutting down'));

    await expect(pending).rejects.toThrow('shutting down');
    expect(resting()).toEqual([]);
    expect(bci.requests).toHaveLength(0);
  });

  it('passes a single provider’s error on as it is', async () => {
    const single = createFailoverProvider([createEsploraProvider({ baseUrl: esplora.url })]);
    const err = await rejection(single.getBalances(['nope']));
    expect(err.message).toBe('esplora: /address/nope answered HTTP 400: Invalid Bitcoin address');
    expect(() => createFailoverProvider([])).toThrow('failover needs at least one provider');
  });
});

describe('createChainProvider', () => {
  it('builds the configured providers in order, each paced by its own limiter, behind failover', async () => {
    const clock = createVirtualClock();
    const sent: { host: string; at: number }[] = [];
    const chainProvider = createChainProvider({
      providers: ['blockchain-info', 'esplora'],
      esploraUrl: esplora.url,
      blockchainInfoUrl: bci.url,
      logger: { debug() {}, info() {}, warn() {} },
      clock,
      fetch: (url, init) => {
        sent.push({ host: new URL(String(url)).port === new URL(bci.url).port ? 'bci' : 'esplora', at: clock.now() });
        return fetch(url, init);
      },
    });

    await chainProvider.getHistory(alice);
    expect(chainProvider.lastServedBy).toBe('blockchain.info');

    // blockchain.info's published pace is one request per 10 s; its 429 sends the work to Esplora.
    bci.failNext(/^\/balance$/, cannedResponses.rateLimited, 3);
    await chainProvider.getBalances([alice]);
    expect(chainProvider.lastServedBy).toBe('esplora');
    expect(sent.filter((s) => s.host === 'bci').map((s) => s.at)).toEqual([0, 10_000, 20_000, 30_000]);
    expect(bci.requests.map((r) => r.path)).toEqual([`/rawaddr/${alice}`, '/balance', '/balance', '/balance']);
    expect(esplora.requests.map((r) => r.path)).toEqual([`/address/${alice}`]);
  });

  /** blockchain.info then esplora at their published paces, on `clock` */
  const paced = (clock: ReturnType<typeof createVirtualClock>, providers: ('blockchain-info' | 'esplora')[] = ['blockchain-info', 'esplora']) =>
    createChainProvider({ providers, esploraUrl: esplora.url, blockchainInfoUrl: bci.url, logger: { debug() {}, info() {}, warn() {} }, clock, cooldownMs: 5 * 60_000 });
  const retryAfter = (seconds: number) => ({ ...cannedResponses.rateLimited, headers: { 'retry-after': String(seconds) } });

  it('keeps a provider whose Retry-After outlasts the cooldown out of failover until it has passed', async () => {
    const clock = createVirtualClock();
    const chainProvider = paced(clock);
    bci.failNext(/^\/balance$/, retryAfter(900));
    await chainProvider.getBalances([alice]);
    expect(chainProvider.lastServedBy).toBe('esplora');

    // The cooldown (5 minutes) is over, the service's 15 minutes are not: Esplora still serves.
    clock.advance(10 * 60_000);
    await chainProvider.getBalances([alice]);
    await chainProvider.getHistory(alice);
    expect(bci.requests).toHaveLength(1);
    expect(chainProvider.lastServedBy).toBe('esplora');

    clock.advance(5 * 60_000);
    await chainProvider.getBalances([alice]);
    expect(chainProvider.lastServedBy).toBe('blockchain.info');
    expect(bci.requests).toHaveLength(2);
  });

  it('sends a call that would wait longer than it prefers to the next provider, and a short one to the first', async () => {
    const clock = createVirtualClock();
    const chainProvider = paced(clock);
    await chainProvider.getBalances([alice], { key: 'guild-a' });
    expect(chainProvider.lastServedBy).toBe('blockchain.info');
    // blockchain.info's next turn is 10 s away: a person's command will not wait that long for it.
    await chainProvider.getBalances([alice], { key: 'guild-b', preferWaitMs: 5_000 });
    expect(chainProvider.lastServedBy).toBe('esplora');
    expect(bci.requests).toHaveLength(1);
    clock.advance(6_000);
    await chainProvider.getBalances([alice], { key: 'guild-b', preferWaitMs: 5_000 });
    expect(chainProvider.lastServedBy).toBe('blockchain.info');
    expect(clock.now()).toBe(10_000);
  });

  it("serves a person's call from the next provider at once while the sync pages the first at its pace", async () => {
    const clock = createVirtualClock();
    const chainProvider = paced(clock);
    const syncing = { key: 'sync', background: true, preferWaitMs: 60_000 } as const;
    // The sync's pages: one started, three waiting at blockchain.info's 10 s.
    const pages = Array.from({ length: 4 }, (_, i) => chainProvider.getBalances([testAddress(`p${i}`)], syncing));
    await new Promise((resolve) => setImmediate(resolve));
    await chainProvider.getBalances([alice], { key: 'guild', preferWaitMs: 2_000 });
    expect(chainProvider.lastServedBy).toBe('esplora');
    expect(clock.now()).toBe(0);
    await Promise.all(pages);
    expect(bci.requests).toHaveLength(4);
    expect(esplora.requests.map((r) => r.path)).toEqual([`/address/${alice}`]);
  });

  it('sends a call to the provider with the shortest wait when every one would wait longer than preferred', async () => {
    const clock = createVirtualClock();
    const chainProvider = paced(clock);
    await chainProvider.getBalances([alice]);
    // blockchain.info's next turn is 10 s away; Esplora has the sync's twenty requests queued (about 5 s).
    const queue = Array.from({ length: 20 }, (_, i) => chainProvider.getBalances([testAddress(`q${i}`)], { key: 'sync', preferWaitMs: 0 }));
    expect(chainProvider.estimatedWaitMs!('sync')).toBeGreaterThan(4_000);
    await chainProvider.getBalances([alice], { key: 'guild', preferWaitMs: 0 });
    expect(chainProvider.lastServedBy).toBe('esplora');
    await Promise.all(queue);
    // The guild's turn came between the sync's (third, 500 ms on), not after them.
    expect(esplora.requests.findIndex((r) => r.path === `/address/${alice}`)).toBe(2);
    expect(bci.requests).toHaveLength(1);
    expect(esplora.requests).toHaveLength(21);
  });

  it('refuses at once, with what is left of the wait, a call its only provider cannot serve in time', async () => {
    const clock = createVirtualClock();
    const single = paced(clock, ['blockchain-info']);
    bci.failNext(/^\/balance$/, retryAfter(900));
    const first = await rejection(single.getBalances([alice], { maxWaitMs: 60_000 }));
    expect(first).toMatchObject({ status: 429, waitMs: 900_000 });

    clock.advance(60_000);
    const second = await rejection(single.getBalances([alice], { maxWaitMs: 60_000 }));
    expect(second).toBeInstanceOf(ProviderWaitError);
    expect(second).toMatchObject({ provider: 'blockchain.info', waitMs: 840_000, paused: true });
    expect(bci.requests).toHaveLength(1);
    expect(clock.sleeps).toEqual([]);
  });

  it('asks block times only of a provider that can give them, and offers none when no provider can', async () => {
    const block = chain.mine();
    expect(provider.name).toBe('esplora');
    expect(await provider.getBlockTimes!([block.height])).toEqual(new Map([[block.height, new Date(block.time * 1000)]]));
    expect(provider.lastServedBy).toBe('blockchain.info');
    expect(resting()).toEqual([]);
    expect(esplora.requests).toHaveLength(0);
    expect(bci.requests.map((r) => r.path)).toEqual([`/block-height/${block.height}`]);
    expect(createFailoverProvider([createEsploraProvider({ baseUrl: esplora.url })]).getBlockTimes).toBeUndefined();
  });

  it('asks many histories at once only of a provider that can, failing over between those, and offers none when no provider can', async () => {
    chain.mine();
    expect(createFailoverProvider([createEsploraProvider({ baseUrl: esplora.url })]).getHistories).toBeUndefined();

    const histories = await provider.getHistories!([alice]);
    expect(histories.get(alice)).toMatchObject({ balance: { balance: 21_000n, txCount: 1 }, complete: true });
    expect(esplora.requests).toHaveLength(0);
    expect(provider.lastServedBy).toBe('blockchain.info');

    const other = await startBlockchainInfoFake({ chain });
    try {
      const two = createFailoverProvider([createBlockchainInfoProvider({ baseUrl: bci.url }), createBlockchainInfoProvider({ baseUrl: other.url })], {
        cooldownMs: COOLDOWN,
        now: () => time,
      });
      bci.failNext(/^\/multiaddr$/, cannedResponses.serverError);
      expect((await two.getHistories!([alice])).get(alice)?.txs).toHaveLength(1);
      expect(other.requests.map((r) => r.path)).toContain('/multiaddr');
      expect(two.status().map((s) => s.restingUntil !== undefined)).toEqual([true, false]);
    } finally {
      await other.close();
    }
  });

  it('refuses an empty provider list', () => {
    expect(() =>
      createChainProvider({ providers: [], esploraUrl: esplora.url, blockchainInfoUrl: bci.url, logger: { debug() {}, info() {}, warn() {} } }),
    ).toThrow('at least one chain provider must be configured');
  });
});
