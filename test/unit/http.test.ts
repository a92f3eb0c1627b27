import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { blockchainInfoPolicy, createBlockchainInfoProvider } from '../../src/chain/providers/blockchain-info.js';
import { createEsploraProvider } from '../../src/chain/providers/esplora.js';
import { parseRetryAfter, type HttpOptions } from '../../src/chain/providers/http.js';
import { cannedResponses, startBlockchainInfoFake, startEsploraFake, type EsploraFake } from '../fakes/chain/index.js';
import { testAddress } from '../support/addresses.js';
import { providerRejection as rejection } from '../support/rejection.js';
import { createVirtualClock, type VirtualClock } from '../support/clock.js';

const alice = testAddress('alice');
const addressPath = /^\/address\//;

let fake: EsploraFake;
let clock: VirtualClock;
/** the virtual time of each request the provider made */
let sentAt: number[];

beforeEach(async () => {
  fake = await startEsploraFake();
  fake.chain.fund(alice, 1_000);
  clock = createVirtualClock();
  sentAt = [];
});

afterEach(async () => {
  await fake.close();
  expect(fake.unhandled).toEqual([]);
});

/** an Esplora provider on the virtual clock, with retries and a mid-range jitter unless told otherwise */
function esplora(options: Partial<HttpOptions> = {}) {
  return createEsploraProvider({
    baseUrl: fake.url,
    clock,
    fetch: (url, init) => {
      sentAt.push(clock.now());
      return fetch(url, init);
    },
    ...options,
    retry: { retries: 3, baseDelayMs: 1_000, rateLimitFloorMs: 5_000, random: () => 0.5, ...options.retry },
  });
}

const rateLimited = (retryAfter?: string) => ({
  ...cannedResponses.rateLimited,
  ...(retryAfter === undefined ? {} : { headers: { 'retry-after': retryAfter } }),
});

describe('provider requests: retries and backoff', () => {
  it('retries a 429 without Retry-After after the rate-limit floor, then succeeds', async () => {
    fake.failNext(addressPath, rateLimited());
    const balances = await esplora().getBalances([alice]);
    expect(balances.get(alice)?.balance).toBe(1_000n);
    expect(sentAt).toEqual([0, 5_000]);
  });

  it('backs off exponentially after repeated 429s, never below the floor', async () => {
    fake.failNext(addressPath, rateLimited(), 3);
    await esplora({ retry: { rateLimitFloorMs: 3_000, baseDelayMs: 2_000 } }).getBalances([alice]);
    // floor 3 s; then 2 s·2 = 4 s and 2 s·4 = 8 s, each halved plus half of it again at random 0.5
    expect(sentAt).toEqual([0, 3_000, 6_000, 12_000]);
  });

  it('waits at least 10 s after a 429 from blockchain.info, whose 429 has no Retry-After', async () => {
    const bci = await startBlockchainInfoFake({ chain: fake.chain });
    try {
      bci.failNext(/^\/balance$/, rateLimited());
      // A quick pace, so that what spaces the two requests is the backoff, not the pace.
      const provider = createBlockchainInfoProvider({
        ...blockchainInfoPolicy,
        requestsPerSecond: 100,
        baseUrl: bci.url,
        clock,
        fetch: (url, init) => {
          sentAt.push(clock.now());
          return fetch(url, init);
        },
      });
      expect((await provider.getBalances([alice])).get(alice)?.balance).toBe(1_000n);
      expect(sentAt).toEqual([0, 10_000]);
    } finally {
      await bci.close();
    }
  });

  it('honours Retry-After in seconds, short or long, instead of its own backoff', async () => {
    fake.failNext(addressPath, rateLimited('2'));
    fake.failNext(addressPath, rateLimited('30'));
    await esplora().getBalances([alice]);
    expect(sentAt).toEqual([0, 2_000, 32_000]);
  });

  it('gives up at once on a Retry-After beyond the longest wait, and holds the next call back until it is over', async () => {
    fake.failNext(addressPath, rateLimited('3600'));
    const provider = esplora();
    const err = await rejection(provider.getBalances([alice]));
    expect(err.status).toBe(429);
    expect(err.message).toBe(`esplora: /address/${alice} answered HTTP 429 (rate limited)`);

    await provider.getBalances([alice]);
    expect(sentAt).toEqual([0, 3_600_000]);
  });

  it('retries a 500 after a backoff, then succeeds', async () => {
    fake.failNext(addressPath, cannedResponses.serverError, 2);
    const balances = await esplora().getBalances([alice]);
    expect(balances.get(alice)?.balance).toBe(1_000n);
    expect(fake.requests).toHaveLength(3);
    expect(clock.sleeps).toEqual([750, 1_500]);
  });

  it('gives up with the last error once the retries are spent', async () => {
    fake.failNext(addressPath, { status: 502, contentType: 'text/html', body: '<html>bad gateway</html>' }, 10);
    const err = await rejection(esplora({ retry: { retries: 2 } }).getBalances([alice]));
    expect(fake.requests).toHaveLength(3);
    expect(err.status).toBe(502);
    expect(err.message).toBe(`esplora: /address/${alice} answered HTTP 502`);
  });

  it('does not retry a 400', async () => {
    const err = await rejection(esplora().getBalances(['nope']));
    expect(fake.requests).toHaveLength(1);
    expect(clock.sleeps).toEqual([]);
    expect(err.message).toBe('esplora: /address/nope answered HTTP 400: Invalid Bitcoin address');
  });

  it('retries when the service cannot be reached', async () => {
    let refused = 0;
    const provider = esplora({
      fetch: (url, init) => {
        if (refused++ === 0) return Promise.reject(new TypeError('fetch failed', { cause: { code: 'ECONNREFUSED' } }));
        return fetch(url, init);
      },
    });
    expect((await provider.getBalances([alice])).get(alice)?.balance).toBe(1_000n);
    expect(fake.requests).toHaveLength(1);
    expect(clock.sleeps).toEqual([750]);
  });

  it('retries a request that timed out', async () => {
    let calls = 0;
    const provider = esplora({
      timeoutMs: 50,
      // The first answer never comes; only the timeout ends the wait.
      fetch: (url, init) =>
        calls++ === 0 ? new Promise((_, reject) => init!.signal!.addEventListener('abort', () => reject(init!.signal!.reason))) : fetch(url, init),
    });
    expect((await provider.getBalances([alice])).get(alice)?.balance).toBe(1_000n);
    expect(calls).toBe(2);
    expect(clock.sleeps).toEqual([750]);
  });

  it('spaces requests at the configured pace', async () => {
    const addresses = Array.from({ length: 8 }, (_, i) => testAddress(i));
    const provider = esplora({ requestsPerSecond: 4, concurrency: 2 });
    await Promise.all([provider.getHistory(alice), provider.getBalances(addresses)]);
    expect(fake.requests).toHaveLength(10);
    expect(sentAt).toEqual(Array.from({ length: 10 }, (_, i) => i * 250));
  });

  it('rejects promptly with the caller’s reason when aborted during a backoff wait', async () => {
    fake.failNext(addressPath, rateLimited(), 10);
    const warn = vi.fn();
    const provider = createEsploraProvider({ baseUrl: fake.url, logger: { debug() {}, warn }, retry: { retries: 3, rateLimitFloorMs: 10_000 } });
    const controller = new AbortController();
    const pending = provider.getBalances([alice], controller.signal);
    await vi.waitFor(() => expect(warn).toHaveBeenCalledWith(expect.objectContaining({ status: 429, delayMs: 10_000 }), 'provider request failed; retrying'));
    const started = Date.now();
    controller.abort(new Error('shutting down'));
    await expect(pending).rejects.toThrow('shutting down');
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(fake.requests).toHaveLength(1);
  });
});

describe('provider requests: waits the caller can see and bound', () => {
  it('fails at once with the wait asked for when a Retry-After is longer than the request may wait, and pauses the provider', async () => {
    fake.failNext(addressPath, rateLimited('120'));
    const provider = esplora();
    const err = await rejection(provider.getBalances([alice], { maxWaitMs: 60_000 }));
    expect(err).toMatchObject({ status: 429, waitMs: 120_000 });
    expect(err.message).toBe(`esplora: /address/${alice} answered HTTP 429 (rate limited)`);
    expect(provider.pausedMs!()).toBe(120_000);
    expect(provider.estimatedWaitMs!()).toBe(120_000);
    expect(fake.requests).toHaveLength(1);
  });

  it('refuses without sending a request whose turn is further off than it may wait, saying how long', async () => {
    fake.failNext(addressPath, rateLimited('900'));
    const provider = esplora();
    await rejection(provider.getBalances([alice]));
    clock.advance(300_000);
    const err = await rejection(provider.getHistory(alice, { maxWaitMs: 60_000 }));
    expect(err).toMatchObject({ name: 'ProviderWaitError', provider: 'esplora', waitMs: 600_000, paused: true });
    expect(fake.requests).toHaveLength(1);
  });

  it('tells the caller which provider it waits for and about how long, and serves it when its turn comes', async () => {
    const provider = esplora({ requestsPerSecond: 0.1, concurrency: 1 });
    await provider.getBalances([alice], { key: 'a' });
    const heard: [string, number][] = [];
    await provider.getBalances([alice], { key: 'b', onWait: (name, ms) => heard.push([name, ms]) });
    expect(heard).toEqual([['esplora', 10_000]]);
    expect(sentAt).toEqual([0, 10_000]);
  });

  it('serves another key’s request between the pages of a long queue of one key', async () => {
    // Four of guild-a's lookups queue at once (BALANCE_PARALLELISM): in call order, guild-b's would come fifth.
    const provider = esplora({ requestsPerSecond: 2 });
    const addresses = Array.from({ length: 10 }, (_, i) => testAddress(`many-${i}`));
    const many = provider.getBalances(addresses, { key: 'guild-a' });
    const one = provider.getBalances([alice], { key: 'guild-b' });
    await Promise.all([many, one]);
    const order = fake.requests.map((r) => r.path);
    // guild-a had just had its turn: one more of its, then guild-b's.
    expect(order.indexOf(`/address/${alice}`)).toBe(2);
  });
});

describe('Retry-After', () => {
  it('reads delay-seconds and HTTP dates, and ignores what it cannot read', () => {
    const now = Date.parse('2026-01-01T00:00:00Z');
    expect(parseRetryAfter('120', now)).toBe(120_000);
    expect(parseRetryAfter('Thu, 01 Jan 2026 00:00:30 GMT', now)).toBe(30_000);
    expect(parseRetryAfter('Wed, 31 Dec 2025 23:00:00 GMT', now)).toBe(0);
    expect(parseRetryAfter('soon', now)).toBeUndefined();
    expect(parseRetryAfter(null, now)).toBeUndefined();
  });
});
