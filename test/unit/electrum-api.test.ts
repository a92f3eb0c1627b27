import { bytesToHex } from '@noble/hashes/utils.js';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readNotification, type ElectrumApi } from '../../src/chain/electrum/api.js';
import { ElectrumDataError } from '../../src/chain/electrum/errors.js';
import type { ElectrumClient } from '../../src/chain/electrum/rpc.js';
import { addressScriptHash, outputScript } from '../../src/chain/electrum/scripthash.js';
import { historyStatus } from '../../src/chain/electrum/status.js';
import { createMemoryTxCache, historyEffects } from '../../src/chain/electrum/transactions.js';
import type { ElectrumFake } from '../fakes/chain/index.js';
import { testAddress } from '../support/addresses.js';
import { openElectrumSession } from '../support/electrum-session.js';

let fake: ElectrumFake;
let client: ElectrumClient;
let api: ElectrumApi;
let close: () => Promise<void>;

beforeEach(async () => {
  ({ fake, client, api, close } = await openElectrumSession());
});

afterEach(() => close());

const alice = testAddress('electrum-api-alice');
const bob = testAddress('electrum-api-bob');
const aliceHash = addressScriptHash(alice, 'mainnet');

describe('the typed Electrum methods', () => {
  it('subscribes, reads the pushed status, and finds it is the status of the history', async () => {
    expect(await api.subscribeScriptHash(aliceHash)).toBeNull();
    const pushed = new Promise<ReturnType<typeof readNotification>>((resolve) => client.once('notification', (method, params) => resolve(readNotification(method, params))));
    const payment = fake.chain.fund(alice, 40_000n);
    const notification = await pushed;
    const history = await api.getHistory(aliceHash);
    expect(history).toEqual([{ txid: payment.txid, height: 0, fee: 0n }]);
    expect(notification).toEqual({ kind: 'status', scriptHash: aliceHash, status: historyStatus(history) });
    expect(await api.getBalance(aliceHash)).toEqual({ confirmed: 0n, unconfirmed: 40_000n });
    expect(await api.unsubscribeScriptHash(aliceHash)).toBe(true);
  });

  it('reads the tip, and a new block as a tip notification', async () => {
    expect(await api.subscribeHeaders()).toEqual({ height: fake.chain.height, header: fake.chain.tip.header });
    const pushed = new Promise<ReturnType<typeof readNotification>>((resolve) => client.once('notification', (method, params) => resolve(readNotification(method, params))));
    const block = fake.chain.mine();
    expect(await pushed).toEqual({ kind: 'tip', tip: { height: block.height, header: block.header } });
  });

  it('fetches many raw txs, leaving out one the server does not have, for net and fee', async () => {
    const txs = fake.chain.addManyTxs(alice, 60);
    const unknown = 'ab'.repeat(32);
    const raws = await api.fetchRawTxs([...txs.map((t) => t.txid), unknown]);
    expect(raws.size).toBe(60);
    expect(raws.has(unknown)).toBe(false);
    expect(fake.requests.filter((r) => r.method === 'blockchain.transaction.get')).toHaveLength(61);

    const spend = fake.chain.addTx({ inputs: [{ address: alice, value: 1_000n }], outputs: [{ address: bob, value: 900n }] });
    const history = await api.getHistory(aliceHash);
    const effects = await historyEffects(history, bytesToHex(outputScript(alice, 'mainnet')), { fetchRaw: api.fetchRawTxs, cache: createMemoryTxCache() });
    expect(effects.get(spend.txid)).toEqual({ net: -1_000n, fee: 100n });
    expect(effects.get(txs[0]!.txid)).toEqual({ net: 1_000n, fee: 0n });
  });

  it('refuses answers and notifications of the wrong shape as the server’s data error', async () => {
    fake.misbehave.history = () => [{ tx_hash: 'not a txid', height: 1 }];
    await expect(api.getHistory(aliceHash)).rejects.toThrow(ElectrumDataError);
    await expect(api.getHistory(aliceHash)).rejects.toThrow(/get_history: the server answered an unexpected shape \(0\.tx_hash/);
    expect(() => readNotification('blockchain.scripthash.subscribe', [aliceHash])).toThrow(ElectrumDataError);
    expect(() => readNotification('blockchain.headers.subscribe', [{ height: 1n, hex: 'ab' }])).toThrow(/80-byte header/);
    expect(readNotification('server.banner', [])).toEqual({ kind: 'other', method: 'server.banner' });
  });
});
