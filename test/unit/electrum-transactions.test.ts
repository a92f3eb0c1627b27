import { describe, expect, it } from 'vitest';
import { ElectrumDataError } from '../../src/chain/electrum/errors.js';
import { outputScript } from '../../src/chain/electrum/scripthash.js';
import { createMemoryTxCache, decodeTransaction, historyEffects, parentTxids, txEffect, type DecodedTx } from '../../src/chain/electrum/transactions.js';
import { bytesToHex } from '@noble/hashes/utils.js';
import { specAddress, specHistory, specRawTxs } from '../support/electrum-spec.js';

const script = bytesToHex(outputScript(specAddress, 'regtest'));
const [a6c9, tx9c42, tx770f, tx80b1, txe02a, txbb4c] = specHistory.map((e) => e.txid) as [string, string, string, string, string, string];
const decoded = (txid: string) => decodeTransaction(txid, specRawTxs[txid]);

/** a fetchRaw over the spec's raw txs that records what it was asked */
function specServer() {
  const asked: string[][] = [];
  const fetchRaw = async (txids: readonly string[]) => {
    asked.push([...txids]);
    return new Map(txids.map((txid) => [txid, specRawTxs[txid]]));
  };
  return { asked, fetchRaw };
}

describe('raw transactions from an Electrum server', () => {
  it('decodes a segwit transaction: the outputs it spends and its outputs with their scripts and values', () => {
    expect(decoded(tx9c42)).toEqual({
      txid: tx9c42,
      inputs: [{ txid: a6c9, vout: 0 }],
      outputs: [
        { script: '00147bcf38d8a69071c21abbfe0532cb6aeacaf5c294', value: 4_999_800n },
        { script, value: 45_000_000n },
      ],
    });
    expect(parentTxids(decoded(txe02a)).sort()).toEqual([tx770f, tx9c42].sort());
  });

  it('refuses a raw transaction that is not the one asked for, or that does not decode', () => {
    expect(() => decodeTransaction(tx9c42, specRawTxs[tx770f])).toThrow(ElectrumDataError);
    expect(() => decodeTransaction(tx9c42, specRawTxs[tx770f])).toThrow(`the server sent transaction ${tx770f} instead`);
    expect(() => decodeTransaction(tx9c42, specRawTxs[tx9c42]!.slice(0, 100))).toThrow(/do not decode/);
    expect(() => decodeTransaction(tx9c42, 'zz')).toThrow(/no raw transaction hex/);
    expect(() => decodeTransaction(tx9c42, 12n)).toThrow(ElectrumDataError);
  });

  it('shows a coinbase as spending nothing, with no fee', () => {
    // the genesis block's coinbase
    const genesis = '01000000010000000000000000000000000000000000000000000000000000000000000000ffffffff4d04ffff001d0104455468652054696d65732030332f4a616e2f32303039204368616e63656c6c6f72206f6e206272696e6b206f66207365636f6e64206261696c6f757420666f722062616e6b73ffffffff0100f2052a01000000434104678afdb0fe5548271967f1a67130b7105cd6a828e03909a67962e0ea1f61deb649f6bc3f4cef38c4f35504e51ec112de5c384df7ba0b8d578a4c702b6bf11d5fac00000000';
    const tx = decodeTransaction('4a5e1e4baab89f3a32518a88c31bc87f618f76673e2cc77ab2127b7afdeda33b', genesis);
    expect(tx.inputs).toEqual([]);
    expect(txEffect(tx, tx.outputs[0]!.script, new Map())).toEqual({ net: 5_000_000_000n, fee: 0n });
  });

  it('computes net and fee from the parents’ outputs, agreeing with the fees the spec’s history gives', () => {
    const parents = new Map([a6c9, tx9c42, tx770f, tx80b1].map((txid) => [txid, decoded(txid)]));
    expect(txEffect(decoded(tx9c42), script, parents)).toEqual({ net: -5_000_000n, fee: 200n });
    expect(txEffect(decoded(tx770f), script, parents)).toEqual({ net: 40_000_000n, fee: 200n });
    for (const entry of specHistory.filter((e) => e.fee !== undefined)) {
      expect(txEffect(decoded(entry.txid), script, parents).fee).toBe(BigInt(entry.fee!));
    }
  });

  it('refuses a transaction that spends an output its parent does not have, or pays out more than it takes', () => {
    const parent = decoded(a6c9);
    const shortParent: DecodedTx = { ...parent, outputs: parent.outputs.slice(0, 0) };
    expect(() => txEffect(decoded(tx9c42), script, new Map([[a6c9, shortParent]]))).toThrow(/spends output 0 of a6c9/);
    const poorParent: DecodedTx = { ...parent, outputs: [{ script, value: 1n }] };
    expect(() => txEffect(decoded(tx9c42), script, new Map([[a6c9, poorParent]]))).toThrow(/pays out \d+ sats more/);
  });

  it('fetches a history’s transactions, then their parents, and keeps only what will not be evicted', async () => {
    const server = specServer();
    const cache = createMemoryTxCache();
    const wanted = specHistory.slice(1).map((e) => ({ txid: e.txid, height: e.height }));
    const effects = await historyEffects(wanted, script, { fetchRaw: server.fetchRaw, cache });
    expect([...effects.keys()]).toEqual(wanted.map((t) => t.txid));
    expect(effects.get(tx80b1)!.fee).toBe(200n);
    expect(effects.get(txe02a)!.fee).toBe(300n);
    expect(effects.get(txbb4c)).toEqual({ net: expect.any(BigInt), fee: 200n });
    expect(server.asked).toEqual([wanted.map((t) => t.txid), [a6c9]]);

    // Confirmed txs, and the parents of txs at height ≥ 0, came from the cache the second time;
    // the mempool txs themselves, and bb4c's parent (unconfirmed input, height -1), were asked again.
    await historyEffects(wanted, script, { fetchRaw: server.fetchRaw, cache });
    expect(server.asked[2]).toEqual([tx80b1, txe02a, txbb4c]);
    expect(server.asked).toHaveLength(3);
  });

  it('refuses a history that lists something that is not a txid before asking for anything', async () => {
    const server = specServer();
    await expect(historyEffects([{ txid: 'nope', height: 1 }], script, { fetchRaw: server.fetchRaw, cache: createMemoryTxCache() })).rejects.toThrow(ElectrumDataError);
    expect(server.asked).toEqual([]);
  });

  it('forgets the least recently used transactions beyond its size', () => {
    const cache = createMemoryTxCache(2);
    const [x, y, z] = [decoded(a6c9), decoded(tx9c42), decoded(tx770f)];
    cache.set(x);
    cache.set(y);
    cache.get(a6c9);
    cache.set(z);
    expect(cache.get(tx9c42)).toBeUndefined();
    expect(cache.get(a6c9)).toBe(x);
    expect(cache.get(tx770f)).toBe(z);
  });
});
