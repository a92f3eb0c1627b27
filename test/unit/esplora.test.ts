import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createBlockchainInfoProvider } from '../../src/chain/providers/blockchain-info.js';
import { createEsploraProvider } from '../../src/chain/providers/esplora.js';
import type { ChainProvider } from '../../src/chain/provider.js';
import { FakeChain, startBlockchainInfoFake, startEsploraFake, type EsploraFake } from '../fakes/chain/index.js';
import { testAddress } from '../support/addresses.js';
import { providerRejection as rejection } from '../support/rejection.js';
import { createVirtualClock, type VirtualClock } from '../support/clock.js';

const alice = testAddress('alice');
const bob = testAddress('bob');
const carol = testAddress('carol');

let fake: EsploraFake;
let clock: VirtualClock;
let provider: ChainProvider;

beforeEach(async () => {
  fake = await startEsploraFake();
  clock = createVirtualClock(1_800_000_000_000);
  provider = createEsploraProvider({ baseUrl: fake.url, clock });
});

afterEach(async () => {
  await fake.close();
  expect(fake.unhandled).toEqual([]);
});

const requestsTo = (pattern: RegExp) => fake.requests.filter((r) => pattern.test(r.path));

/** the JSON the fake would answer, to be altered and served back with failNext */
async function fakeBody(path: string): Promise<unknown> {
  return (await fetch(`${fake.url}${path}`)).json();
}

describe('esplora provider: balances', () => {
  it('asks /address once per address and adds the mempool to the chain', async () => {
    fake.chain.fund(alice, 100_000);
    fake.chain.mine();
    fake.chain.addTx({ inputs: [{ address: alice, value: 100_000 }], outputs: [{ address: bob, value: 60_000 }, { address: alice, value: 39_000 }] });
    fake.chain.fund(carol, 5);

    const balances = await provider.getBalances([alice, bob, carol]);

    expect(requestsTo(/^\/address\//).map((r) => r.path)).toEqual([`/address/${alice}`, `/address/${bob}`, `/address/${carol}`]);
    expect(balances.get(alice)).toEqual({ address: alice, balance: 39_000n, txCount: 2, totalReceived: 139_000n });
    expect(balances.get(bob)).toEqual({ address: bob, balance: 60_000n, txCount: 1, totalReceived: 60_000n });
    expect(balances.get(carol)).toEqual({ address: carol, balance: 5n, txCount: 1, totalReceived: 5n });
  });

  it('accepts the upper-case form of a bech32 address and answers under the form asked for', async () => {
    fake.chain.fund(alice, 5_000);
    const upper = alice.toUpperCase();
    const balances = await provider.getBalances([upper]);
    expect(balances.get(upper)).toMatchObject({ address: upper, balance: 5_000n, txCount: 1 });
  });

  it('asks nothing for an empty list and once for a repeated address', async () => {
    expect((await provider.getBalances([])).size).toBe(0);
    expect(fake.requests).toHaveLength(0);
    expect([...(await provider.getBalances([alice, alice])).keys()]).toEqual([alice]);
    expect(fake.requests).toHaveLength(1);
  });

  it('reads amounts as bigint, to the satoshi, up to the 21,000,000 BTC supply', async () => {
    const most = '2099999997689999';
    const stats = (sum: string) => `{"funded_txo_count":1,"funded_txo_sum":${sum},"spent_txo_count":0,"spent_txo_sum":0,"tx_count":1}`;
    fake.failNext(/^\/address\//, { status: 200, body: `{"address":"${alice}","chain_stats":${stats(most)},"mempool_stats":${stats('1')}}` });
    const balances = await provider.getBalances([alice]);
    expect(balances.get(alice)).toEqual({ address: alice, balance: 2_099_999_997_690_000n, txCount: 2, totalReceived: 2_099_999_997_690_000n });
  });

  it('refuses an answer about another address', async () => {
    fake.failNext(/^\/address\//, { status: 200, body: JSON.stringify(await fakeBody(`/address/${bob}`)) });
    const err = await rejection(provider.getBalances([alice]));
    expect(err.message).toBe(`esplora: /address/${alice} answered for another address (${bob})`);
  });

  it('turns a body of the wrong shape into a ProviderError naming the endpoint and the field', async () => {
    fake.failNext(/^\/address\//, { status: 200, body: `{"address":"${alice}","chain_stats":{},"mempool_stats":{}}` });
    const err = await rejection(provider.getBalances([alice]));
    expect(err.message).toMatch(new RegExp(`^esplora: /address/${alice} returned an unexpected body \\(chain_stats\\.funded_txo_count: `));
  });

  it('encodes the address, so text that is not one cannot add a query, and does not retry the 400', async () => {
    const urls: string[] = [];
    const recording = createEsploraProvider({
      baseUrl: fake.url,
      retry: { retries: 3 },
      fetch: (url, init) => {
        urls.push(String(url));
        return fetch(url, init);
      },
    });
    const err = await rejection(recording.getBalances(['x?z=1#']));
    expect(urls).toEqual([`${fake.url}/address/x%3Fz%3D1%23`]);
    expect(fake.requests[0]).toMatchObject({ query: {} });
    expect(err.status).toBe(400);
    expect(err.message).toBe('esplora: /address/x%3Fz%3D1%23 answered HTTP 400: Invalid Bitcoin address');
  });
});

describe('esplora provider: history', () => {
  it('reads a 120-transaction history through /txs and four /txs/chain pages, newest first', async () => {
    const created = fake.chain.addManyTxs(alice, 120);
    const progress: [number, number][] = [];

    const history = await provider.getHistory(alice, { onProgress: (fetched, total) => progress.push([fetched, total]) });

    expect(history.complete).toBe(true);
    expect(history.txs.map((t) => t.txid)).toEqual(created.map((t) => t.txid).reverse());
    expect(history.balance).toEqual({ address: alice, balance: 127_140n, txCount: 120, totalReceived: 127_140n });
    const newestFirst = created.map((t) => t.txid).reverse();
    expect(fake.requests.map((r) => r.path)).toEqual([
      `/address/${alice}`,
      `/address/${alice}/txs`,
      `/address/${alice}/txs/chain/${newestFirst[24]}`,
      `/address/${alice}/txs/chain/${newestFirst[49]}`,
      `/address/${alice}/txs/chain/${newestFirst[74]}`,
      `/address/${alice}/txs/chain/${newestFirst[99]}`,
    ]);
    expect(progress).toEqual([[25, 120], [50, 120], [75, 120], [100, 120], [120, 120]]);
    expect(history.txs[0]).toEqual({
      txid: created[119]!.txid,
      blockHeight: fake.chain.height,
      time: new Date(fake.chain.tip.time * 1000),
      timeIsBlockTime: true,
      fee: 0n,
      net: 1_119n,
    });
  });

  it('stops at a known confirmed transaction on the first page and says the history is incomplete', async () => {
    const created = fake.chain.addManyTxs(alice, 120);
    const known = new Set(created.slice(0, 110).map((t) => t.txid));

    const history = await provider.getHistory(alice, { knownTxids: known });

    expect(fake.requests.map((r) => r.path)).toEqual([`/address/${alice}`, `/address/${alice}/txs`]);
    expect(history.complete).toBe(false);
    expect(history.txs.map((t) => t.txid)).toEqual(created.slice(110).map((t) => t.txid).reverse());
    expect(history.balance.txCount).toBe(120);
  });

  it('returns a known unconfirmed transaction and pages on to a newly confirmed one below it', async () => {
    const [old] = fake.chain.addManyTxs(alice, 1);
    const mined = fake.chain.fund(alice, 2_000);
    fake.chain.mine();
    const pending = fake.chain.fund(alice, 3_000);

    const history = await provider.getHistory(alice, { knownTxids: new Set([old!.txid, pending.txid]) });

    expect(history.txs.map((t) => t.txid)).toEqual([pending.txid, mined.txid]);
    expect(history.complete).toBe(false);
  });

  it('stops after maxTxs transactions without paging further', async () => {
    fake.chain.addManyTxs(alice, 120);
    const history = await provider.getHistory(alice, { maxTxs: 20 });
    expect(history.txs).toHaveLength(20);
    expect(history.complete).toBe(false);
    expect(requestsTo(/\/txs/)).toHaveLength(1);
  });

  it('gives an outgoing payment with change a net of minus what went to others and the fee', async () => {
    fake.chain.fund(alice, 100_000);
    fake.chain.mine();
    const payment = fake.chain.addTx({
      inputs: [{ address: alice, value: 100_000 }],
      outputs: [{ address: bob, value: 30_000 }, { address: alice, value: 69_000 }, { value: 0 }],
      fee: 1_000,
    });

    const history = await provider.getHistory(alice);

    expect(history.txs[0]).toMatchObject({ txid: payment.txid, fee: 1_000n, net: -31_000n, blockHeight: null });
    expect(history.balance.balance).toBe(69_000n);
    expect((await provider.getHistory(bob)).txs[0]).toMatchObject({ txid: payment.txid, net: 30_000n });
  });

  it('dates an unconfirmed transaction now, as Esplora gives no first-seen time, then by its block once mined', async () => {
    const tx = fake.chain.addTx({ outputs: [{ address: alice, value: 42_000 }], time: 1_713_600_000 });

    const before = await provider.getHistory(alice);
    expect(before.txs).toEqual([{ txid: tx.txid, blockHeight: null, time: new Date(clock.now()), timeIsBlockTime: false, fee: 0n, net: 42_000n }]);

    const block = fake.chain.mine();
    const after = await provider.getHistory(alice);
    expect(after.txs).toEqual([{ txid: tx.txid, blockHeight: block.height, time: new Date(block.time * 1000), timeIsBlockTime: true, fee: 0n, net: 42_000n }]);
  });

  it('returns an empty, complete history for an unused address after two requests', async () => {
    const history = await provider.getHistory(bob);
    expect(history).toEqual({ balance: { address: bob, balance: 0n, txCount: 0, totalReceived: 0n }, txs: [], complete: true });
    expect(fake.requests).toHaveLength(2);
  });

  it('stops after /txs when it holds fewer than 25 confirmed txs, however many mempool txs come first', async () => {
    fake.chain.addManyTxs(alice, 3);
    Array.from({ length: 50 }, (_, i) => fake.chain.fund(alice, 10 + i));

    const history = await provider.getHistory(alice);

    expect(requestsTo(/\/txs/)).toHaveLength(1);
    expect(history.txs).toHaveLength(53);
    expect(history.complete).toBe(true);
  });

  it('reads the confirmed history from /txs/chain when /txs is all mempool, as mempool.space fills it with 50 in all', async () => {
    const confirmed = fake.chain.addManyTxs(alice, 3);
    const pending = Array.from({ length: 50 }, (_, i) => fake.chain.fund(alice, 10 + i));
    const firstPage = ((await fakeBody(`/address/${alice}/txs`)) as unknown[]).slice(0, 50);
    fake.requests.length = 0;
    fake.failNext(/\/txs$/, { status: 200, body: JSON.stringify(firstPage) });

    const history = await provider.getHistory(alice);

    expect(requestsTo(/\/txs/).map((r) => r.path)).toEqual([`/address/${alice}/txs`, `/address/${alice}/txs/chain`]);
    expect(history.txs.map((t) => t.txid)).toEqual([...confirmed, ...pending].map((t) => t.txid).reverse());
    expect(history.complete).toBe(true);
  });

  it('refuses a history whose page cursor vanished (a reorg) rather than call it complete', async () => {
    fake.chain.addManyTxs(alice, 60);
    fake.failNext(/\/txs\/chain\//, { status: 200, body: '[]' });
    const err = await rejection(provider.getHistory(alice));
    expect(err.message).toBe(`esplora: the history of ${alice} changed while it was being paged (25 of 60 confirmed txs); try again later`);
  });

  it('refuses a transaction that neither pays nor spends the address', async () => {
    fake.chain.fund(alice, 1_000);
    const [tx] = (await fakeBody(`/address/${alice}/txs`)) as { txid: string; vout: { scriptpubkey_address: string }[] }[];
    tx!.vout[0]!.scriptpubkey_address = bob;
    fake.failNext(/\/txs$/, { status: 200, body: JSON.stringify([tx]) });
    const err = await rejection(provider.getHistory(alice));
    expect(err.message).toBe(`esplora: the history of ${alice} lists tx ${tx!.txid}, which neither pays nor spends it`);
  });
});

describe('esplora provider: the tip', () => {
  it('reads the tip height from /blocks/tip/height, and refuses an answer that is not one', async () => {
    fake.chain.mine();
    expect(await provider.getTipHeight()).toBe(fake.chain.height);
    fake.failNext(/^\/blocks\/tip\/height$/, { status: 200, contentType: 'text/plain', body: '-3' });
    await expect(provider.getTipHeight()).rejects.toThrow(/\/blocks\/tip\/height answered .*not a block height/);
  });
});

describe('esplora and blockchain.info on the same chain', () => {
  it('agree on every balance, transaction, fee and net, and on the block time of the newest ten blocks', async () => {
    const chain = new FakeChain();
    const [esplora, blockchainInfo] = await Promise.all([startEsploraFake({ chain }), startBlockchainInfoFake({ chain })]);
    try {
      chain.fund(alice, 500_000);
      chain.fund(bob, 20_000);
      chain.mine();
      chain.addTx({ inputs: [{ address: alice, value: 500_000 }], outputs: [{ address: bob, value: 120_000 }, { address: alice, value: 379_000 }], fee: 1_000 });
      chain.mine();
      chain.addTx({ inputs: [{ address: bob, value: 140_000 }], outputs: [{ address: carol, value: 100_000 }, { address: bob, value: 39_500 }, { value: 0 }], fee: 500 });
      chain.addTx({ inputs: [{ address: alice, value: 79_000 }, { address: bob, value: 39_500 }], outputs: [{ address: carol, value: 118_000 }], fee: 500 });
      chain.addManyTxs(carol, 30);
      chain.fund(alice, 7);

      const a = createEsploraProvider({ baseUrl: esplora.url });
      const b = createBlockchainInfoProvider({ baseUrl: blockchainInfo.url });
      const everyone = [alice, bob, carol];

      const [balancesA, balancesB] = await Promise.all([a.getBalances(everyone), b.getBalances(everyone)]);
      expect(balancesA).toEqual(balancesB);
      expect(balancesA.get(carol)!.balance).toBe(218_000n + 30n * 1000n + 435n);

      for (const address of everyone) {
        const [historyA, historyB] = await Promise.all([a.getHistory(address), b.getHistory(address)]);
        // The time of an unconfirmed tx differs: Esplora does not tell when it first saw it. So do
        // those of blocks older than the newest ten of a history: Blockchain.com gives when it first
        // saw them, rather than ask each block's time at its pace.
        const newest = [...new Set(historyA.txs.flatMap((t) => (t.blockHeight === null ? [] : [t.blockHeight])))].slice(0, 10);
        const comparable = (history: typeof historyA) =>
          history.txs.map(({ time, timeIsBlockTime, ...tx }) => (tx.blockHeight !== null && newest.includes(tx.blockHeight) ? { ...tx, time, timeIsBlockTime } : tx));
        expect(comparable(historyA)).toEqual(comparable(historyB));
        if (address === carol) expect(historyB.txs.filter((t) => t.blockHeight !== null && !newest.includes(t.blockHeight) && !t.timeIsBlockTime).length).toBeGreaterThan(0);
        expect(historyA.balance).toEqual(historyB.balance);
        expect(historyA.complete).toBe(true);
      }
    } finally {
      await Promise.all([esplora.close(), blockchainInfo.close()]);
      expect([...esplora.unhandled, ...blockchainInfo.unhandled]).toEqual([]);
    }
  });
});

describe('the fake esplora', () => {
  const get = async (path: string, init?: RequestInit) => {
    const res = await fetch(`${fake.url}${path}`, init);
    return { status: res.status, type: res.headers.get('content-type'), text: await res.text() };
  };
  const txidsOf = async (path: string) => ((JSON.parse((await get(path)).text) as { txid: string }[]).map((t) => t.txid));

  it('serves up to 50 mempool txs then the first 25 confirmed on /txs, and 25 a page after a txid', async () => {
    const confirmed = fake.chain.addManyTxs(alice, 30).map((t) => t.txid).reverse();
    const pending = Array.from({ length: 55 }, (_, i) => fake.chain.fund(alice, 1 + i).txid).reverse();

    expect(await txidsOf(`/address/${alice}/txs`)).toEqual([...pending.slice(0, 50), ...confirmed.slice(0, 25)]);
    expect(await txidsOf(`/address/${alice}/txs/mempool`)).toEqual(pending.slice(0, 50));
    expect(await txidsOf(`/address/${alice}/txs/chain`)).toEqual(confirmed.slice(0, 25));
    expect(await txidsOf(`/address/${alice}/txs/chain/${confirmed[24]}`)).toEqual(confirmed.slice(25));
    expect(await txidsOf(`/address/${alice}/txs/chain/${'ab'.repeat(32)}`)).toEqual([]);
  });

  it('serves stats split between chain and mempool, and a tx with prevouts and a coinbase input', async () => {
    fake.chain.fund(alice, 10_000);
    fake.chain.mine();
    const spend = fake.chain.addTx({ inputs: [{ address: alice, value: 10_000 }], outputs: [{ address: bob, value: 9_000 }, { value: 0 }], rbf: true });

    expect(JSON.parse((await get(`/address/${alice}`)).text)).toEqual({
      address: alice,
      chain_stats: { funded_txo_count: 1, funded_txo_sum: 10_000, spent_txo_count: 0, spent_txo_sum: 0, tx_count: 1 },
      mempool_stats: { funded_txo_count: 0, funded_txo_sum: 0, spent_txo_count: 1, spent_txo_sum: 10_000, tx_count: 1 },
    });
    const [pending, funding] = JSON.parse((await get(`/address/${alice}/txs`)).text);
    expect(pending).toMatchObject({
      txid: spend.txid,
      fee: 1_000,
      status: { confirmed: false },
      vin: [{ prevout: { scriptpubkey_address: alice, value: 10_000 }, is_coinbase: false, sequence: 4294967293 }],
      vout: [{ scriptpubkey_address: bob, value: 9_000, scriptpubkey_type: 'v0_p2wpkh' }, { value: 0, scriptpubkey_type: 'op_return' }],
    });
    expect(pending.vout[1]).not.toHaveProperty('scriptpubkey_address');
    expect(funding).toMatchObject({
      vin: [{ prevout: null, is_coinbase: true }],
      status: { confirmed: true, block_height: fake.chain.height, block_hash: fake.chain.tip.hash, block_time: fake.chain.tip.time },
    });
    expect(JSON.parse((await get(`/tx/${spend.txid}`)).text)).toEqual(pending);
  });

  it('answers the real plain-text errors and the tip height as text', async () => {
    expect(await get('/address/nope')).toEqual({ status: 400, type: 'text/plain', text: 'Invalid Bitcoin address' });
    expect(await get('/address/tb1qw508d6qejxtdg4y5r3zarvary0c5xw7kxpjzsx/txs')).toMatchObject({ status: 400, text: 'Address on invalid network' });
    expect(await get(`/tx/${'ab'.repeat(32)}`)).toEqual({ status: 404, type: 'text/plain', text: 'Transaction not found' });
    expect(await get('/blocks/tip/height')).toEqual({ status: 200, type: 'text/plain', text: String(fake.chain.height) });
  });

  it('serves the mempool backend’s group summary only when asked to, confirmed txs only, and 422 beyond 300 addresses', async () => {
    const backend = await startEsploraFake({ chain: fake.chain, mempoolBackend: true });
    try {
      const funding = fake.chain.fund(alice, 10_000);
      const first = fake.chain.mine();
      const payment = fake.chain.addTx({ inputs: [{ address: alice, value: 10_000 }], outputs: [{ address: bob, value: 9_000 }] });
      const second = fake.chain.mine();
      fake.chain.fund(bob, 1); // unconfirmed: not in the summary
      const post = async (body: unknown) => {
        const res = await fetch(`${backend.url}/addresses/txs/summary`, { method: 'POST', body: JSON.stringify(body) });
        return { status: res.status, text: await res.text() };
      };

      const summary = JSON.parse((await post([alice, bob, 'nope'])).text);
      expect(summary).toEqual([
        { txid: payment.txid, height: second.height, value: -1_000, time: second.time, tx_position: 0 },
        { txid: funding.txid, height: first.height, value: 10_000, time: first.time, tx_position: 0 },
      ]);
      expect(await post(Array.from({ length: 301 }, (_, i) => testAddress(i)))).toEqual({ status: 422, text: 'body too long' });
    } finally {
      await backend.close();
    }
  });
});
