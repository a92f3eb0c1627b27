import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createBlockchainInfoProvider } from '../../src/chain/providers/blockchain-info.js';
import { ProviderError, type ChainProvider } from '../../src/chain/provider.js';
import { cannedResponses, startBlockchainInfoFake, type BlockchainInfoFake } from '../fakes/chain/index.js';

const BASE58 = '123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz';
const BECH32 = 'qpzry9x8gf2tvdw0s3jn54khce6mua7l';

/** a made-up P2PKH-looking address, distinct for each i (the fake checks shape, not checksum) */
const legacy = (i: number) => `1Sat${digits(i, BASE58).padStart(29, 'z')}`;
/** a made-up P2WPKH-looking address */
const segwit = (i: number) => `bc1q${digits(i, BECH32).padStart(38, 'q')}`;

function digits(n: number, alphabet: string): string {
  let out = '';
  do {
    out = alphabet[n % alphabet.length] + out;
    n = Math.floor(n / alphabet.length);
  } while (n > 0);
  return out;
}

const alice = segwit(1);
const bob = legacy(2);

let fake: BlockchainInfoFake;
let provider: ChainProvider;

beforeEach(async () => {
  fake = await startBlockchainInfoFake();
  provider = createBlockchainInfoProvider({ baseUrl: fake.url });
});

afterEach(async () => {
  await fake.close();
  expect(fake.unhandled).toEqual([]);
});

const requestsTo = (prefix: string) => fake.requests.filter((r) => r.path.startsWith(prefix));

async function rejection(promise: Promise<unknown>): Promise<ProviderError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ProviderError);
  return err as ProviderError;
}

describe('blockchain.info provider: balances', () => {
  it('fetches the balances of 120 addresses in three requests of at most 50', async () => {
    const addresses = Array.from({ length: 120 }, (_, i) => (i % 2 ? legacy(i) : segwit(i)));
    addresses.forEach((a, i) => fake.chain.fund(a, 10_000 + i));
    fake.chain.mine();

    const balances = await provider.getBalances(addresses);

    const requests = requestsTo('/balance');
    expect(requests).toHaveLength(3);
    expect(requests.map((r) => r.query.active!.split('|').length)).toEqual([50, 50, 20]);
    expect(balances.size).toBe(120);
    expect(balances.get(addresses[7]!)).toEqual({ address: addresses[7], balance: 10_007n, txCount: 1, totalReceived: 10_007n });
  });

  it('maps the lower-case keys of bech32 addresses back to the addresses asked for', async () => {
    fake.chain.fund(alice, 5_000);
    const upper = alice.toUpperCase();

    const balances = await provider.getBalances([upper, bob]);

    expect(balances.get(upper)).toMatchObject({ address: upper, balance: 5_000n, txCount: 1 });
    expect(balances.get(bob)).toMatchObject({ balance: 0n, txCount: 0, totalReceived: 0n });
  });

  it('asks nothing for an empty list and once for repeated addresses', async () => {
    expect((await provider.getBalances([])).size).toBe(0);
    expect(fake.requests).toHaveLength(0);

    const balances = await provider.getBalances([alice, alice]);
    expect([...balances.keys()]).toEqual([alice]);
    expect(requestsTo('/balance')[0]!.query.active).toBe(alice);
  });

  it('counts mempool transactions in the balance', async () => {
    fake.chain.fund(alice, 100_000);
    fake.chain.mine();
    fake.chain.addTx({ inputs: [{ address: alice, value: 100_000 }], outputs: [{ address: bob, value: 99_000 }] });

    const balances = await provider.getBalances([alice, bob]);

    expect(balances.get(alice)).toEqual({ address: alice, balance: 0n, txCount: 2, totalReceived: 100_000n });
    expect(balances.get(bob)).toEqual({ address: bob, balance: 99_000n, txCount: 1, totalReceived: 99_000n });
  });
});

describe('blockchain.info provider: history', () => {
  it('reads a 120-transaction history in three pages, newest first, reporting progress', async () => {
    const created = fake.chain.addManyTxs(alice, 120);
    const progress: [number, number][] = [];

    const history = await provider.getHistory(alice, { onProgress: (fetched, total) => progress.push([fetched, total]) });

    expect(requestsTo('/rawaddr/')).toHaveLength(3);
    expect(history.complete).toBe(true);
    expect(history.txs.map((t) => t.txid)).toEqual(created.map((t) => t.txid).reverse());
    expect(history.balance).toEqual({ address: alice, balance: 120n * 1000n + 7140n, txCount: 120, totalReceived: 127_140n });
    expect(progress.at(-1)).toEqual([120, 120]);
    expect(progress).toHaveLength(3);
    const newest = history.txs[0]!;
    expect(newest).toEqual({
      txid: created[119]!.txid,
      blockHeight: fake.chain.height,
      time: new Date(fake.chain.tip.time * 1000),
      timeIsBlockTime: true,
      fee: 0n,
      net: 1_119n,
    });
  });

  it('neither duplicates nor loses a transaction when one arrives between two pages', async () => {
    const created = fake.chain.addManyTxs(alice, 120);
    let arrived = false;

    const history = await provider.getHistory(alice, {
      onProgress: () => {
        if (!arrived) fake.chain.fund(alice, 777);
        arrived = true;
      },
    });

    const txids = history.txs.map((t) => t.txid);
    expect(new Set(txids).size).toBe(txids.length);
    expect(txids).toEqual(created.map((t) => t.txid).reverse());
  });

  it('does not lose an older transaction when newer ones are replaced between two pages', async () => {
    const created = fake.chain.addManyTxs(alice, 120);
    const pending = [fake.chain.fund(alice, 555), fake.chain.fund(alice, 666)];
    let replaced = false;

    const history = await provider.getHistory(alice, {
      onProgress: () => {
        if (!replaced) pending.forEach((tx) => fake.chain.removeTx(tx.txid));
        replaced = true;
      },
    });

    const txids = history.txs.map((t) => t.txid);
    expect(new Set(txids).size).toBe(txids.length);
    expect(txids).toEqual([...pending.map((t) => t.txid).reverse(), ...created.map((t) => t.txid).reverse()]);
  });

  it('stops after one page at a known confirmed transaction and says the history is incomplete', async () => {
    const created = fake.chain.addManyTxs(alice, 120);
    const known = new Set(created.slice(0, 110).map((t) => t.txid));

    const history = await provider.getHistory(alice, { knownTxids: known });

    expect(requestsTo('/rawaddr/')).toHaveLength(1);
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

  it('stops after maxTxs transactions, on the first page for a look at a long history', async () => {
    fake.chain.addManyTxs(alice, 120);
    const history = await provider.getHistory(alice, { maxTxs: 50 });
    expect(history.txs).toHaveLength(50);
    expect(history.complete).toBe(false);
    expect(history.balance.txCount).toBe(120);
    expect(fake.requests.filter((r) => r.path.startsWith('/rawaddr/'))).toHaveLength(1);
  });

  it('gives an outgoing payment with change a net of minus what went to others and the fee', async () => {
    fake.chain.fund(alice, 100_000);
    fake.chain.mine();
    const payment = fake.chain.addTx({
      inputs: [{ address: alice, value: 100_000 }],
      outputs: [
        { address: bob, value: 30_000 },
        { address: alice, value: 69_000 },
      ],
      fee: 1_000,
    });

    const history = await provider.getHistory(alice);

    expect(history.txs[0]).toMatchObject({ txid: payment.txid, fee: 1_000n, net: -31_000n, blockHeight: null });
    expect(history.balance.balance).toBe(69_000n);
    expect((await provider.getHistory(bob)).txs[0]).toMatchObject({ txid: payment.txid, net: 30_000n });
  });

  it('shows an unconfirmed transaction with no block height, then its block after mining', async () => {
    const tx = fake.chain.addTx({ outputs: [{ address: alice, value: 42_000 }], time: 1_713_600_000 });

    const before = await provider.getHistory(alice);
    expect(before.txs).toEqual([{ txid: tx.txid, blockHeight: null, time: new Date(1_713_600_000_000), timeIsBlockTime: false, fee: 0n, net: 42_000n }]);

    const block = fake.chain.mine();
    const after = await provider.getHistory(alice);
    expect(after.txs).toEqual([{ txid: tx.txid, blockHeight: block.height, time: new Date(block.time * 1000), timeIsBlockTime: true, fee: 0n, net: 42_000n }]);
  });

  it('returns an empty, complete history for an unused address', async () => {
    const history = await provider.getHistory(bob);
    expect(history).toEqual({ balance: { address: bob, balance: 0n, txCount: 0, totalReceived: 0n }, txs: [], complete: true });
  });
});

describe('blockchain.info provider: many histories through /multiaddr', () => {
  const carol = segwit(3);

  it("gives each address of the set its own net in a payment out with change back, built as getHistory builds it", async () => {
    const funding = fake.chain.fund(alice, 100_000);
    fake.chain.mine();
    const payment = fake.chain.addTx({
      inputs: [{ address: alice, value: 100_000 }],
      outputs: [
        { address: bob, value: 30_000 },
        { address: carol, value: 69_000 },
      ],
      fee: 1_000,
    });

    const histories = await provider.getHistories!([alice, carol]);

    expect(requestsTo('/multiaddr').map((r) => r.query)).toEqual([{ active: `${alice}|${carol}`, n: '100', offset: '0' }]);
    expect(histories.get(alice)!.txs.map((t) => [t.txid, t.net])).toEqual([
      [payment.txid, -100_000n],
      [funding.txid, 100_000n],
    ]);
    expect(histories.get(carol)).toEqual({
      balance: { address: carol, balance: 69_000n, txCount: 1, totalReceived: 69_000n },
      txs: [{ txid: payment.txid, blockHeight: null, time: new Date(payment.firstSeen * 1000), timeIsBlockTime: false, fee: 1_000n, net: 69_000n }],
      complete: true,
    });
    expect(histories.get(alice)).toEqual(await provider.getHistory(alice));
    expect(histories.get(carol)).toEqual(await provider.getHistory(carol));
  });

  it('pages past 100 txs, and neither duplicates nor loses one that arrives between two pages', async () => {
    const created = [...fake.chain.addManyTxs(alice, 120), ...fake.chain.addManyTxs(carol, 30)];
    fake.misbehave = { beforeMultiaddrPage: (offset) => (offset === 100 ? void fake.chain.fund(carol, 777) : undefined) };

    const histories = await provider.getHistories!([alice, carol]);

    expect(requestsTo('/multiaddr').map((r) => r.query.offset)).toEqual(['0', '100']);
    const txids = (address: string) => histories.get(address)!.txs.map((t) => t.txid);
    expect(txids(alice)).toEqual(created.slice(0, 120).map((t) => t.txid).reverse());
    expect(txids(carol)).toEqual(created.slice(120).map((t) => t.txid).reverse());
    expect(histories.get(alice)!.balance.txCount).toBe(120);
    // The batch's newest ten blocks are asked their time, as many as one history's: carol's, the
    // newest; alice's older ones keep their first-seen time for the sync to mend.
    expect(requestsTo('/block-height/')).toHaveLength(10);
    expect(histories.get(carol)!.txs.map((t) => t.timeIsBlockTime)).toEqual([...Array<boolean>(10).fill(true), ...Array<boolean>(20).fill(false)]);
    expect(histories.get(alice)!.txs.some((t) => t.timeIsBlockTime)).toBe(false);
  });

  it('fetches the batch once more when a tx vanished between two pages and the counts no longer add up', async () => {
    const created = fake.chain.addManyTxs(alice, 120);
    const pending = fake.chain.fund(carol, 555);
    let removed = false;
    fake.misbehave = {
      beforeMultiaddrPage: (offset) => {
        if (offset !== 100 || removed) return;
        fake.chain.removeTx(pending.txid);
        removed = true;
      },
    };

    const histories = await provider.getHistories!([alice, carol]);

    expect(requestsTo('/multiaddr').map((r) => r.query.offset)).toEqual(['0', '100', '0', '100']);
    expect(histories.get(alice)!.txs.map((t) => t.txid)).toEqual(created.map((t) => t.txid).reverse());
    expect(histories.get(carol)).toMatchObject({ balance: { balance: 0n, txCount: 0 }, txs: [] });
  });

  it('asks more than 50 addresses in batches of 50, reporting progress in addresses', async () => {
    const addresses = Array.from({ length: 60 }, (_, i) => (i % 2 ? legacy(i + 10) : segwit(i + 10)));
    addresses.forEach((a, i) => fake.chain.fund(a, 1_000 + i));
    fake.chain.mine();
    const progress: [number, number][] = [];

    const histories = await provider.getHistories!(addresses, { onProgress: (fetched, total) => progress.push([fetched, total]) });

    expect(requestsTo('/multiaddr').map((r) => r.query.active!.split('|').length)).toEqual([50, 10]);
    expect(progress).toEqual([
      [50, 60],
      [60, 60],
    ]);
    expect(histories.size).toBe(60);
    expect(histories.get(addresses[59]!)).toMatchObject({ balance: { address: addresses[59], balance: 1_059n, txCount: 1 }, complete: true });
    expect(histories.get(addresses[59]!)!.txs.map((t) => t.net)).toEqual([1_059n]);
  });

  it('answers for bech32 addresses in the case they were asked in, and asks nothing for none', async () => {
    fake.chain.fund(alice, 5_000);
    expect((await provider.getHistories!([])).size).toBe(0);
    expect(requestsTo('/multiaddr')).toHaveLength(0);
    const upper = alice.toUpperCase();
    const histories = await provider.getHistories!([upper, alice]);
    expect([...histories.keys()]).toEqual([upper, alice]);
    expect(histories.get(upper)!.balance).toMatchObject({ address: upper, balance: 5_000n });
    expect(requestsTo('/multiaddr').map((r) => r.query.active)).toEqual([alice]);
  });

  it('refuses a tx whose result is not what its inputs and outputs did to the set, or that touches none of it', async () => {
    fake.chain.fund(alice, 5_000);
    fake.misbehave = { extraTx: { tx: fake.chain.fund(carol, 1_000), result: 2_000n } };
    const wrong = await rejection(provider.getHistories!([alice, carol]));
    expect(wrong).toMatchObject({ failure: 'invalid' });
    expect(wrong.message).toMatch(/says it moved 0\.00002000 BTC but its inputs and outputs give 0\.00001000 BTC$/);

    const elsewhere = fake.chain.fund(bob, 3_000);
    fake.misbehave = { extraTx: { tx: elsewhere, result: 0n } };
    const stray = await rejection(provider.getHistories!([alice, carol]));
    expect(stray.message).toBe(`blockchain.info: /multiaddr: tx ${elsewhere.txid} neither pays nor spends any address asked for`);
  });

  it('refuses an answer that leaves out an address asked for', async () => {
    fake.chain.fund(alice, 5_000);
    fake.misbehave = { multiaddrOmits: carol };
    const err = await rejection(provider.getHistories!([alice, carol]));
    expect(err).toMatchObject({ failure: 'invalid' });
    expect(err.message).toContain(`returned no entry for ${carol}`);
  });

  it('refuses, after asking once more, histories whose txs do not add up to their count', async () => {
    fake.chain.fund(alice, 5_000);
    fake.misbehave = { figures: { n_tx: 2 } };
    const err = await rejection(provider.getHistories!([alice]));
    expect(err).toMatchObject({ failure: 'invalid' });
    expect(err.message).toContain('lists 1 txs but says it has 2');
    expect(requestsTo('/multiaddr')).toHaveLength(2);
  });
});

describe('blockchain.info provider: block times and the tip', () => {
  it("gives a confirmed transaction its block's time, asking each block once however many addresses it pays", async () => {
    const paid = [fake.chain.fund(alice, 1_000), fake.chain.fund(bob, 2_000)];
    const block = fake.chain.mine();
    for (const tx of paid) expect(tx.firstSeen).not.toBe(block.time);
    const [a, b] = [await provider.getHistory(alice), await provider.getHistory(bob)];
    for (const history of [a, b]) expect(history.txs.map((t) => t.time)).toEqual([new Date(block.time * 1000)]);
    expect(requestsTo('/block-height/').map((r) => `${r.path}?format=${r.query.format}`)).toEqual([`/block-height/${block.height}?format=json`]);
  });

  it('asks the times of the newest ten blocks of a long history only, and keeps when it first saw the older ones', async () => {
    const txs = fake.chain.addManyTxs(alice, 12);
    const history = await provider.getHistory(alice);
    expect(requestsTo('/block-height/')).toHaveLength(10);
    const times = history.txs.map((t) => t.time.getTime() / 1000);
    expect(times.slice(0, 10)).toEqual(txs.slice(2).reverse().map((tx) => tx.block!.time));
    expect(times.slice(10)).toEqual(txs.slice(0, 2).reverse().map((tx) => tx.firstSeen));
      expect(history.txs.map((t) => t.timeIsBlockTime)).toEqual([...Array<boolean>(10).fill(true), false, false]);
  });

  it('gives the times of the blocks asked through getBlockTimes, asking each once and never again for one it knows', async () => {
    const txs = fake.chain.addManyTxs(alice, 3);
    const [a, b] = [txs[0]!.block!, txs[1]!.block!];
    const times = await provider.getBlockTimes!([a.height, b.height, a.height]);
    expect(times).toEqual(new Map([[a.height, new Date(a.time * 1000)], [b.height, new Date(b.time * 1000)]]));
    expect(requestsTo('/block-height/').map((r) => r.path)).toEqual([`/block-height/${a.height}`, `/block-height/${b.height}`]);
    expect(await provider.getBlockTimes!([b.height])).toEqual(new Map([[b.height, new Date(b.time * 1000)]]));
    expect(requestsTo('/block-height/')).toHaveLength(2);
    fake.failNext(/^\/block-height\//, { status: 200, body: JSON.stringify({ blocks: [{ hash: 'x', height: txs[2]!.block!.height, time: 1_000 }] }) });
    expect((await rejection(provider.getBlockTimes!([txs[2]!.block!.height]))).message).toContain('before the first block or hours ahead');
  });

  it('refuses a block-height answer that names no block of the main chain at that height, or a time before the first block', async () => {
    fake.chain.fund(alice, 1_000);
    const block = fake.chain.mine();
    const header = { hash: block.hash, height: block.height, time: block.time, main_chain: true };
    fake.failNext(/^\/block-height\//, { status: 200, body: JSON.stringify({ blocks: [{ ...header, main_chain: false }] }) });
    expect((await rejection(provider.getHistory(alice))).message).toContain(`named no block of the main chain at height ${block.height}`);
    fake.failNext(/^\/block-height\//, { status: 200, body: JSON.stringify({ blocks: [{ ...header, time: 1_000 }] }) });
    expect((await rejection(provider.getHistory(alice))).message).toContain('before the first block or hours ahead');
  });

  it('reads the tip height from /q/getblockcount, and refuses an answer that is not one', async () => {
    fake.chain.mine();
    expect(await provider.getTipHeight()).toBe(fake.chain.height);
    fake.failNext(/^\/q\/getblockcount$/, { status: 200, contentType: 'text/html', body: '<html>maintenance</html>' });
    const err = await rejection(provider.getTipHeight());
    expect(err.message).toContain('/q/getblockcount answered');
    expect(err.failure).toBe('invalid');
  });
});

describe('blockchain.info provider: failures', () => {
  it('turns a 500 into a ProviderError carrying the status', async () => {
    fake.failNext(/^\/balance$/, cannedResponses.serverError);
    const err = await rejection(provider.getBalances([alice]));
    expect(err.status).toBe(500);
    expect(err.provider).toBe('blockchain.info');
    expect(err.message).toBe('blockchain.info: /balance answered HTTP 500: Internal Server Error');
  });

  it('turns a 429 HTML page into a ProviderError carrying the status', async () => {
    fake.failNext(/^\/rawaddr\//, cannedResponses.rateLimited);
    const err = await rejection(provider.getHistory(alice));
    expect(err.status).toBe(429);
    expect(err.message).toContain('rate limited');
  });

  it('treats a 404 for an address as the service misbehaving', async () => {
    const err = await rejection(provider.getHistory('not-an-address'));
    expect(err.status).toBe(404);
    expect(err.message).toContain('Item not found or argument invalid');
  });

  it('turns a body that is not JSON into a ProviderError naming the endpoint', async () => {
    fake.failNext(/^\/balance$/, { status: 200, body: `{"${alice}": {"final_balance": 12` });
    const err = await rejection(provider.getBalances([alice]));
    expect(err.status).toBeUndefined();
    expect(err.message).toMatch(/^blockchain\.info: \/balance returned a body that is not JSON/);
  });

  it('turns JSON of the wrong shape into a ProviderError naming the endpoint and the field', async () => {
    fake.failNext(/^\/rawaddr\//, { status: 200, body: '{"n_tx": 1, "total_received": 5, "final_balance": "5", "txs": []}' });
    const err = await rejection(provider.getHistory(alice));
    expect(err.message).toMatch(new RegExp(`^blockchain\\.info: /rawaddr/${alice} returned an unexpected body \\(final_balance: `));
  });

  it('turns a missing address in a balance answer into a ProviderError', async () => {
    fake.failNext(/^\/balance$/, { status: 200, body: '{}' });
    const err = await rejection(provider.getBalances([alice]));
    expect(err.message).toContain(`no entry for ${alice}`);
  });

  it('gives up on a request that takes longer than the timeout', async () => {
    fake.latencyMs = 500;
    const impatient = createBlockchainInfoProvider({ baseUrl: fake.url, timeoutMs: 50 });
    const err = await rejection(impatient.getBalances([alice]));
    expect(err.message).toBe('blockchain.info: /balance timed out after 50 ms');
  });

  it('rejects with the caller’s own reason when the caller aborts', async () => {
    fake.latencyMs = 500;
    const controller = new AbortController();
    const pending = provider.getHistory(alice, { signal: controller.signal });
    controller.abort(new Error('shutting down'));
    await expect(pending).rejects.toThrow('shutting down');
  });

  it('reports an unreachable service as a ProviderError', async () => {
    await fake.close();
    const err = await rejection(provider.getBalances([alice]));
    expect(err.message).toMatch(/^blockchain\.info: \/balance could not be reached/);
    fake = await startBlockchainInfoFake();
  });
});

describe('blockchain.info provider: amounts', () => {
  it('reads amounts as bigint, to the satoshi, up to the 21,000,000 BTC supply', async () => {
    const most = '2099999997690000'; // every bitcoin that will ever exist, in satoshis
    fake.failNext(/^\/balance$/, { status: 200, body: `{"${alice}":{"final_balance":${most},"n_tx":1,"total_received":${most}}}` });
    const balances = await provider.getBalances([alice]);
    expect(balances.get(alice)).toEqual({ address: alice, balance: 2_099_999_997_690_000n, txCount: 1, totalReceived: 2_099_999_997_690_000n });
  });

  it('refuses an amount above 2^53 satoshis, naming it exactly as it was sent', async () => {
    const huge = '9007199254740993'; // 2^53 + 1, which a JS number would round to 2^53
    fake.failNext(/^\/balance$/, { status: 200, body: `{"${alice}":{"final_balance":${huge},"n_tx":1,"total_received":${huge}}}` });
    const err = await rejection(provider.getBalances([alice]));
    expect(err.message).toBe(
      `blockchain.info: /balance: ${alice} balance is beyond the 21,000,000 BTC that will ever exist (90071992.54740993 BTC)`,
    );
  });
});

describe('the fake blockchain.info', () => {
  const get = async (path: string) => {
    const res = await fetch(`${fake.url}${path}`);
    return { status: res.status, type: res.headers.get('content-type'), text: await res.text() };
  };

  it('splits active on | and , collapses duplicates, and answers {} when empty', async () => {
    fake.chain.fund(alice, 1);
    const both = await get(`/balance?active=${alice}|${bob},${alice.toUpperCase()}|`);
    expect(Object.keys(JSON.parse(both.text))).toEqual([alice, bob]);
    expect((await get('/balance?active=')).text).toBe('{}');
  });

  it('answers the real error bodies for invalid addresses and unknown txs', async () => {
    expect(await get(`/balance?active=${alice}|nope`)).toEqual({
      status: 400,
      type: 'application/json',
      text: '{"error":"user-error","message":"invalid address"}',
    });
    expect(await get('/rawaddr/nope')).toMatchObject({
      status: 404,
      text: '{"error":"not-found-or-invalid-arg","message":"Item not found or argument invalid"}',
    });
    expect((await get('/multiaddr?active=nope')).status).toBe(400);
  });

  it('serves a rawaddr transaction with inputs, outputs, result and balance, and clamps limit to 50', async () => {
    fake.chain.addManyTxs(alice, 60);
    fake.chain.addTx({
      inputs: [{ address: alice, value: 5_000 }],
      outputs: [{ address: bob, value: 4_000 }, { value: 0 }],
      rbf: true,
    });
    const body = JSON.parse((await get(`/rawaddr/${alice}?limit=500`)).text);
    expect(body).toMatchObject({ address: alice, n_tx: 61, final_balance: 1000 * 60 + 1770 - 5000 });
    expect(body.txs).toHaveLength(50);
    expect(body.txs[0]).toMatchObject({
      block_height: null,
      block_index: null,
      fee: 1000,
      result: -5000,
      balance: body.final_balance,
      rbf: true,
      inputs: [{ prev_out: { addr: alice, value: 5000 } }],
      out: [{ addr: bob, value: 4000, n: 0 }, { value: 0, n: 1 }],
    });
    expect(body.txs[0].out[1]).not.toHaveProperty('addr');
    expect(body.txs[1].balance).toBe(body.final_balance + 5000);
  });

  it('serves multiaddr with result and balance for the whole set, and the tip', async () => {
    fake.chain.fund(alice, 10_000);
    fake.chain.mine();
    fake.chain.addTx({ inputs: [{ address: alice, value: 10_000 }], outputs: [{ address: bob, value: 9_000 }] });
    const body = JSON.parse((await get(`/multiaddr?active=${alice}|${bob}`)).text);
    expect(body.addresses).toHaveLength(2);
    expect(body.txs.map((t: { result: number }) => t.result)).toEqual([-1000, 10_000]);
    expect(body.txs[0].balance).toBe(9_000);
    expect((await get('/q/getblockcount')).text).toBe(String(fake.chain.height));
    expect(JSON.parse((await get('/latestblock')).text)).toMatchObject({ height: fake.chain.height, hash: fake.chain.tip.hash });
  });
});
