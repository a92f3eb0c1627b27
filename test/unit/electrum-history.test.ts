import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ElectrumApi } from '../../src/chain/electrum/api.js';
import { ElectrumDataError } from '../../src/chain/electrum/errors.js';
import { type KnownTx, readElectrumHistory } from '../../src/chain/electrum/history.js';
import type { ElectrumClient } from '../../src/chain/electrum/rpc.js';
import { addressScriptHash } from '../../src/chain/electrum/scripthash.js';
import { historyStatus } from '../../src/chain/electrum/status.js';
import { createMemoryTxCache } from '../../src/chain/electrum/transactions.js';
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

const alice = testAddress('electrum-history-alice');
const bob = testAddress('electrum-history-bob');
const NOW = new Date('2026-12-01T12:00:00Z');

function deps(known: ReadonlyMap<string, KnownTx> = new Map()) {
  return { api, network: 'mainnet' as const, cache: createMemoryTxCache(), blockTimes: new Map<number, Date>(), known: async () => known, clock: () => NOW };
}

async function status(address: string) {
  return historyStatus(await api.getHistory(addressScriptHash(address, 'mainnet')));
}

describe('an address history read from an Electrum server', () => {
  it('is complete, newest first, with nets and fees from the raw txs, block times from headers and "now" for the mempool', async () => {
    fake.chain.fund(bob, 100_000n);
    const funded = fake.chain.fund(alice, 60_000n);
    const block = fake.chain.mine();
    const spend = fake.chain.addTx({ inputs: [{ address: alice, value: 60_000n }], outputs: [{ address: bob, value: 20_000n }, { address: alice, value: 39_000n }] });
    const read = await readElectrumHistory(deps(), alice, await status(alice));
    expect(read.history.complete).toBe(true);
    expect(read.history.balance).toMatchObject({ address: alice, balance: 39_000n, txCount: 2 });
    expect(read.history.txs).toEqual([
      { txid: spend.txid, blockHeight: null, time: NOW, timeIsBlockTime: false, fee: 1_000n, net: -21_000n },
      { txid: funded.txid, blockHeight: block.height, time: new Date(block.time * 1000), timeIsBlockTime: true, fee: 0n, net: 60_000n },
    ]);
    expect(read.status).toBe(await status(alice));
  });

  it('reuses what is stored of a known txid instead of fetching it', async () => {
    const funded = fake.chain.fund(alice, 5_000n);
    const firstSeen = new Date('2026-12-01T11:00:00Z');
    const known = new Map([[funded.txid, { txid: funded.txid, blockHeight: null, time: firstSeen, timeIsBlockTime: false, fee: 0n, net: 5_000n }]]);
    const read = await readElectrumHistory(deps(known), alice, await status(alice));
    expect(read.history.txs).toEqual([{ txid: funded.txid, blockHeight: null, time: firstSeen, timeIsBlockTime: false, fee: 0n, net: 5_000n }]);
    expect(fake.requests.filter((r) => r.method === 'blockchain.transaction.get')).toHaveLength(0);
  });

  it('reads again once when the status moved on meanwhile, and refuses a history that contradicts the server', async () => {
    const first = fake.chain.fund(alice, 1_000n);
    const stale = await status(alice);
    fake.chain.fund(alice, 2_000n);
    const read = await readElectrumHistory(deps(), alice, stale);
    expect(read.history.balance.balance).toBe(3_000n);
    expect(read.status).toBe(await status(alice));

    // Stored with a different net: the sum no longer matches get_balance.
    const wrong = new Map([[first.txid, { txid: first.txid, blockHeight: null, time: NOW, timeIsBlockTime: false, fee: 0n, net: 9_999n }]]);
    await expect(readElectrumHistory(deps(wrong), alice, await status(alice))).rejects.toThrow(ElectrumDataError);
    fake.misbehave = { history: (_hash, truth) => truth.slice(1) };
    await expect(readElectrumHistory(deps(), alice, await status(alice))).rejects.toThrow(/does not hash to the status/);
  });
});
