/**
 * The fake chain's regtest mode (test/fakes/chain/model.ts) and the Electrum fake's methods the
 * real Electrum wallet syncs with: checked here on every machine, since the test against the real
 * wallet (test/e2e/electrum-client.test.ts) runs only where it is installed.
 */
import { createHash } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ElectrumClient } from '../../src/chain/electrum/rpc.js';
import { FakeChain, startElectrumFake, type ElectrumFake } from '../fakes/chain/index.js';
import { merkleBranch, merkleRoot } from '../fakes/chain/raw.js';
import { testAddress } from '../support/addresses.js';

/** Bitcoin Core's regtest genesis header, as published */
const GENESIS_HEADER =
  '0100000000000000000000000000000000000000000000000000000000000000000000003ba3edfd7a7b12b27ac72c3e67768f617fc81bc3888a51323a9fb8aa4b1e5e4adae5494dffff7f2002000000';
const GENESIS_HASH = '0f9188f13cb7b2c71f2a335e3a4fc328bf5beb436012afca590b1a11466e2206';
/** regtest's target (bits 0x207fffff) */
const TARGET = 0x7fffffn << 232n;

const sha256d = (bytes: Buffer) => createHash('sha256').update(createHash('sha256').update(bytes).digest()).digest();
const displayHash = (bytes: Buffer) => Buffer.from(sha256d(bytes)).reverse().toString('hex');
const field = (header: string, from: number, to: number) => Buffer.from(header.slice(from * 2, to * 2), 'hex').reverse().toString('hex');

/** the root a branch proves, folded as an SPV client folds it */
function foldBranch(txid: string, branch: readonly string[], pos: number): string {
  let hash = Buffer.from(txid, 'hex').reverse();
  branch.forEach((sibling, level) => {
    const other = Buffer.from(sibling, 'hex').reverse();
    hash = (pos >> level) & 1 ? sha256d(Buffer.concat([other, hash])) : sha256d(Buffer.concat([hash, other]));
  });
  return Buffer.from(hash).reverse().toString('hex');
}

describe('a regtest fake chain', () => {
  it('starts at height 0 from regtest’s real genesis block', () => {
    const chain = new FakeChain({ regtest: true });
    expect(chain.height).toBe(0);
    expect(chain.tip).toMatchObject({ height: 0, hash: GENESIS_HASH, header: GENESIS_HEADER, time: 1_296_688_602 });
    expect(() => new FakeChain({ regtest: true, startHeight: 100 })).toThrow(/genesis/);
  });

  it('mines headers that link to the one before, commit to their txs and meet regtest’s target', () => {
    const chain = new FakeChain({ regtest: true });
    for (let i = 0; i < 12; i++) {
      for (let j = 0; j < i % 4; j++) chain.fund(testAddress(`regtest-${i}-${j}`), 1_000 + j);
      chain.mine();
    }
    for (let height = 1; height <= chain.height; height++) {
      const block = chain.blockAt(height)!;
      expect(displayHash(Buffer.from(block.header, 'hex'))).toBe(block.hash);
      expect(field(block.header, 4, 36)).toBe(chain.blockAt(height - 1)!.hash);
      expect(field(block.header, 36, 68)).toBe(merkleRoot(block.txids));
      expect(BigInt(`0x${block.hash}`) <= TARGET).toBe(true);
    }
  });

  it('leaves other chains as they were: nonce 0 from height 840 000', () => {
    const chain = new FakeChain();
    chain.mine();
    expect(chain.height).toBe(840_001);
    expect(chain.tip.header.slice(-8)).toBe('00000000');
  });
});

describe('merkle branches', () => {
  it('prove every position to the root, for odd and even counts', () => {
    for (let count = 1; count <= 9; count++) {
      const txids = Array.from({ length: count }, (_, i) => displayHash(Buffer.from(`tx ${count}/${i}`)));
      for (let pos = 0; pos < count; pos++) expect(foldBranch(txids[pos]!, merkleBranch(txids, pos), pos)).toBe(merkleRoot(txids));
    }
  });
});

describe('the Electrum fake on a regtest chain', () => {
  let chain: FakeChain;
  let fake: ElectrumFake;
  let client: ElectrumClient;
  beforeEach(async () => {
    chain = new FakeChain({ regtest: true });
    fake = await startElectrumFake({ chain });
    client = await ElectrumClient.connect({ host: fake.host, port: fake.port, tls: false });
  });
  afterEach(async () => {
    client.close();
    await fake.close();
  });

  it('serves headers in chunks, as the wallet syncs them, up to the tip', async () => {
    for (let i = 0; i < 5; i++) chain.mine();
    const all = [0, 1, 2, 3, 4, 5].map((h) => chain.blockAt(h)!.header).join('');
    expect(await client.request('blockchain.block.headers', [0, 2016])).toEqual({ count: 6n, hex: all, max: 2016n });
    expect(await client.request('blockchain.block.headers', [2, 2])).toEqual({ count: 2n, hex: all.slice(320, 640), max: 2016n });
    await expect(client.request('blockchain.block.headers', [-1, 2])).rejects.toThrow(/non-negative/);
  });

  it('gives a merkle proof of a confirmed tx in its block, and none elsewhere', async () => {
    const txs = [1, 2, 3].map((i) => chain.fund(testAddress(`merkle-${i}`), 1_000 * i));
    const block = chain.mine();
    const proof = (await client.request('blockchain.transaction.get_merkle', [txs[2]!.txid, block.height])) as { block_height: bigint; merkle: string[]; pos: bigint };
    expect(proof.block_height).toBe(BigInt(block.height));
    expect(foldBranch(txs[2]!.txid, proof.merkle, Number(proof.pos))).toBe(field(block.header, 36, 68));
    await expect(client.request('blockchain.transaction.get_merkle', [txs[2]!.txid, block.height + 1])).rejects.toThrow(/not in block/);
    const pending = chain.fund(testAddress('merkle-pending'), 500);
    await expect(client.request('blockchain.transaction.get_merkle', [pending.txid, block.height])).rejects.toThrow(/not in block/);
  });
});
