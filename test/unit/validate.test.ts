import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createBlockchainInfoProvider } from '../../src/chain/providers/blockchain-info.js';
import { createEsploraProvider } from '../../src/chain/providers/esplora.js';
import { checkHistory } from '../../src/chain/providers/validate.js';
import { ProviderError, type ChainProvider } from '../../src/chain/provider.js';
import {
  type BlockchainInfoFake,
  type EsploraFake,
  FakeChain,
  startBlockchainInfoFake,
  startEsploraFake,
} from '../fakes/chain/index.js';
import { testAddress } from '../support/addresses.js';
import { createVirtualClock } from '../support/clock.js';
import { providerRejection as rejection } from '../support/rejection.js';

const alice = testAddress('validate-alice');
const bob = testAddress('validate-bob');
const BTC = 100_000_000n;
/** what the issue saw announced */
const ABSURD = 300_000_000n * BTC;

let chain: FakeChain;
let info: BlockchainInfoFake;
let esplora: EsploraFake;
let blockchainInfo: ChainProvider;
let esploraProvider: ChainProvider;

beforeEach(async () => {
  chain = new FakeChain();
  [info, esplora] = await Promise.all([startBlockchainInfoFake({ chain }), startEsploraFake({ chain })]);
  blockchainInfo = createBlockchainInfoProvider({ baseUrl: info.url });
  esploraProvider = createEsploraProvider({ baseUrl: esplora.url, clock: createVirtualClock(1_800_000_000_000) });
  // Two addresses with a history each, one tx between them.
  chain.fund(alice, 1_000_000);
  chain.fund(bob, 400_000);
  chain.mine();
  chain.addTx({ inputs: [{ address: alice, value: 1_000_000 }], outputs: [{ address: alice, value: 270_305 }, { address: bob, value: 729_000 }] });
});

afterEach(async () => {
  await Promise.all([info.close(), esplora.close()]);
  expect([...info.unhandled, ...esplora.unhandled]).toEqual([]);
});

describe('blockchain.info answers that contradict the request', () => {
  it('refuses a /rawaddr answer about another address, naming it', async () => {
    info.misbehave = { rawaddrOf: bob };
    const err = await rejection(blockchainInfo.getHistory(alice));
    expect(err.message).toBe(`blockchain.info: /rawaddr/${alice} answered for another address (${bob})`);
  });

  it('refuses another address’s history even when the answer claims to be about the address asked', async () => {
    const carol = testAddress('validate-carol');
    const elsewhere = chain.fund(carol, 5_000);
    info.misbehave = { extraTx: { tx: elsewhere, result: 5_000n } };
    const err = await rejection(blockchainInfo.getHistory(alice));
    expect(err.message).toBe(`blockchain.info: /rawaddr/${alice}: tx ${elsewhere.txid} neither pays nor spends ${alice}`);

    info.misbehave = { rawaddrOf: carol, claimAsked: true };
    expect((await rejection(blockchainInfo.getHistory(alice))).message).toMatch(/neither pays nor spends/);
    // A tx the two addresses share: its `result` is the other address's.
    info.misbehave = { rawaddrOf: bob, claimAsked: true };
    expect((await rejection(blockchainInfo.getHistory(alice))).message).toMatch(/says it moved 0\.00729000 BTC but its inputs and outputs give -0\.00729695 BTC$/);
  });

  it('refuses a /balance answer that leaves out an address asked or adds one not asked', async () => {
    info.failNext(/^\/balance$/, { status: 200, body: `{"${alice}":{"final_balance":0,"n_tx":0,"total_received":0},"${bob}":{"final_balance":0,"n_tx":0,"total_received":0}}` });
    expect((await rejection(blockchainInfo.getBalances([alice]))).message).toBe(
      `blockchain.info: /balance answered for an address not asked for (${bob})`,
    );
    info.failNext(/^\/balance$/, { status: 200, body: `{"${alice}":{"final_balance":0,"n_tx":0,"total_received":0}}` });
    expect((await rejection(blockchainInfo.getBalances([alice, bob]))).message).toBe(`blockchain.info: /balance returned no entry for ${bob}`);
  });

  it('refuses a page longer than the 50 asked for', async () => {
    chain.addManyTxs(alice, 60);
    info.misbehave = { ignoreLimit: true };
    const err = await rejection(blockchainInfo.getHistory(alice));
    expect(err.message).toBe(`blockchain.info: /rawaddr/${alice} answered 62 txs to a request for at most 50`);
  });
});

describe('blockchain.info answers that contradict themselves', () => {
  it('refuses a negative balance, in /balance and in /rawaddr', async () => {
    info.misbehave = { figures: { final_balance: -729_695n } };
    expect((await rejection(blockchainInfo.getBalances([alice]))).message).toBe(
      `blockchain.info: /balance: ${alice} balance is negative (-0.00729695 BTC)`,
    );
    expect((await rejection(blockchainInfo.getHistory(alice))).message).toBe(
      `blockchain.info: /rawaddr/${alice}: ${alice} balance is negative (-0.00729695 BTC)`,
    );
  });

  it('refuses 300,000,000 BTC, in /balance and in /rawaddr, even when the totals add up', async () => {
    info.misbehave = { figures: { final_balance: ABSURD, total_received: ABSURD, total_sent: 0n } };
    expect((await rejection(blockchainInfo.getBalances([alice]))).message).toBe(
      `blockchain.info: /balance: ${alice} balance is beyond the 21,000,000 BTC that will ever exist (300000000.00000000 BTC)`,
    );
    expect((await rejection(blockchainInfo.getHistory(alice))).message).toMatch(/balance is beyond the 21,000,000 BTC/);
  });

  it('refuses totals that do not add up: received − sent must be the balance', async () => {
    info.misbehave = { figures: { total_sent: 1n } };
    expect((await rejection(blockchainInfo.getHistory(alice))).message).toBe(
      `blockchain.info: /rawaddr/${alice} totals disagree: received 0.01270305 BTC − sent 0.00000001 BTC is not the balance 0.00270305 BTC`,
    );
  });

  it('refuses a balance more than the address ever received', async () => {
    info.misbehave = { figures: { final_balance: 2_000_000n } };
    expect((await rejection(blockchainInfo.getBalances([alice]))).message).toMatch(/balance \(0\.02000000 BTC\) is more than its total received/);
  });

  it('refuses a tx whose result is not what its inputs and outputs give', async () => {
    info.misbehave = { extraTx: { tx: chain.fund(alice, 1), result: 2n } };
    const err = await rejection(blockchainInfo.getHistory(alice));
    expect(err.message).toMatch(/says it moved 0\.00000002 BTC but its inputs and outputs give 0\.00000001 BTC$/);
  });

  it('refuses a complete history whose nets do not add up to its balance, or whose count is not n_tx', async () => {
    // Consistent totals, but one satoshi the transactions never moved.
    info.misbehave = { figures: { final_balance: 270_306n, total_received: 1_270_306n } };
    expect((await rejection(blockchainInfo.getHistory(alice))).message).toBe(
      `blockchain.info: the history of ${alice} adds up to 0.00270305 BTC but its balance is 0.00270306 BTC`,
    );
    info.misbehave = { figures: { n_tx: 3 } };
    expect((await rejection(blockchainInfo.getHistory(alice))).message).toBe(`blockchain.info: the history of ${alice} lists 2 txs but says it has 3`);
  });

  it('refuses a truncated body and a malformed one', async () => {
    info.corruptNext(/^\/rawaddr\//, 'truncated');
    expect((await rejection(blockchainInfo.getHistory(alice))).message).toMatch(/^blockchain\.info: \/rawaddr\/\S+ returned a body that is not JSON/);
    info.corruptNext(/^\/balance$/, 'malformed');
    expect((await rejection(blockchainInfo.getBalances([alice]))).message).toMatch(/^blockchain\.info: \/balance returned a body that is not JSON/);
  });

  it('accepts the same answers once the service behaves again', async () => {
    info.misbehave = { rawaddrOf: bob };
    await rejection(blockchainInfo.getHistory(alice));
    info.misbehave = {};
    const history = await blockchainInfo.getHistory(alice);
    expect(history).toMatchObject({ balance: { balance: 270_305n, txCount: 2 }, complete: true });
  });
});

describe('esplora answers that contradict the request or themselves', () => {
  it('refuses /address and /txs answers about another address', async () => {
    esplora.misbehave = { addressOf: bob };
    expect((await rejection(esploraProvider.getHistory(alice))).message).toBe(`esplora: /address/${alice} answered for another address (${bob})`);
    esplora.misbehave = { addressOf: bob, claimAsked: true };
    expect((await rejection(esploraProvider.getHistory(alice))).message).toMatch(new RegExp(`^esplora: the history of ${alice} lists tx \\w+, which neither pays nor spends it$`));
  });

  it('refuses a chain that spent more than it funded, and a negative balance', async () => {
    esplora.misbehave = { chainStats: { spent_txo_sum: 2_000_000n, spent_txo_count: 1 } };
    expect((await rejection(esploraProvider.getBalances([alice]))).message).toMatch(/^esplora: \/address\/\S+: the chain spent more than it funded/);
    esplora.misbehave = { mempoolStats: { spent_txo_sum: 2_000_000n } };
    expect((await rejection(esploraProvider.getBalances([alice]))).message).toBe(`esplora: /address/${alice}: ${alice} balance is negative (-0.00729695 BTC)`);
  });

  it('refuses 300,000,000 BTC in the stats', async () => {
    esplora.misbehave = { chainStats: { funded_txo_sum: ABSURD } };
    expect((await rejection(esploraProvider.getBalances([alice]))).message).toBe(
      `esplora: /address/${alice}: chain funded sum is beyond the 21,000,000 BTC that will ever exist (300000000.00000000 BTC)`,
    );
  });

  it('refuses a fee beyond the supply', async () => {
    const body = (await (await fetch(`${esplora.url}/address/${alice}/txs`)).json()) as { fee: number }[];
    const text = JSON.stringify(body).replace(`"fee":${body[0]!.fee}`, `"fee":${ABSURD}`);
    esplora.failNext(/\/txs$/, { status: 200, body: text });
    expect((await rejection(esploraProvider.getHistory(alice))).message).toMatch(/: the fee of tx \w+ is beyond the 21,000,000 BTC/);
  });

  it('refuses a page longer than a page can be', async () => {
    chain.addManyTxs(alice, 100);
    esplora.misbehave = { ignorePageSize: true };
    expect((await rejection(esploraProvider.getHistory(alice))).message).toBe(
      `esplora: /address/${alice}/txs answered 102 txs to a request for at most 75`,
    );
  });

  it('refuses a complete history whose count is not the stats’ count', async () => {
    esplora.misbehave = { mempoolStats: { tx_count: 2 } };
    expect((await rejection(esploraProvider.getHistory(alice))).message).toBe(`esplora: the history of ${alice} lists 2 txs but says it has 3`);
  });

  it('asks the balance again when a tx arrived between it and the txs, and then accepts the history', async () => {
    const stale = await (await fetch(`${esplora.url}/address/${alice}`)).text();
    chain.fund(alice, 77);
    esplora.failNext(new RegExp(`^/address/${alice}$`), { status: 200, body: stale });
    const history = await esploraProvider.getHistory(alice);
    expect(history).toMatchObject({ balance: { balance: 270_382n, txCount: 3 }, complete: true });
    expect(esplora.requests.filter((r) => r.path === `/address/${alice}`)).toHaveLength(3);
  });

  it('refuses a truncated body and a malformed one', async () => {
    esplora.corruptNext(/\/txs$/, 'truncated');
    expect((await rejection(esploraProvider.getHistory(alice))).message).toMatch(/^esplora: \/address\/\S+\/txs returned a body that is not JSON/);
    esplora.corruptNext(/^\/address\/[^/]+$/, 'malformed');
    expect((await rejection(esploraProvider.getBalances([alice]))).message).toMatch(/^esplora: \/address\/\S+ returned a body that is not JSON/);
  });
});

describe('checkHistory', () => {
  const balance = { address: alice, balance: 5n, txCount: 1, totalReceived: 5n };
  const tx = (txid: string, net: bigint) => ({ txid: txid.repeat(64), blockHeight: 1, time: new Date(0), timeIsBlockTime: true, fee: 0n, net });

  it('checks a history that stopped at a known tx only as far as it can: no more txs than the count', () => {
    expect(() => checkHistory('p', { balance, txs: [tx('a', 9n)], complete: false })).not.toThrow();
    expect(() => checkHistory('p', { balance, txs: [tx('a', 1n), tx('b', 1n)], complete: false })).toThrow(ProviderError);
  });

  it('refuses a tx listed twice and a net beyond the supply either way', () => {
    expect(() => checkHistory('p', { balance: { ...balance, txCount: 2 }, txs: [tx('a', 1n), tx('a', 1n)], complete: false })).toThrow('twice');
    expect(() => checkHistory('p', { balance, txs: [tx('a', -ABSURD)], complete: false })).toThrow('beyond the 21,000,000 BTC');
  });

  it('says when the pages disagreed with each other, so that trying again is the cure', () => {
    expect(() => checkHistory('p', { balance, txs: [tx('a', 4n)], complete: true }, { changing: true })).toThrow(
      'p: the history of bc1q',
    );
    expect(() => checkHistory('p', { balance, txs: [tx('a', 4n)], complete: true }, { changing: true })).toThrow(
      'but its balance is 0.00000005 BTC (it changed while it was being paged; try again later)',
    );
  });
});
