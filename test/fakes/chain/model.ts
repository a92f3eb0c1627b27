/**
 * An in-memory Bitcoin chain for tests: a mempool, blocks, and transactions that move satoshis
 * between addresses. It knows nothing of any wire format; blockchain-info.ts, esplora.ts and
 * electrum.ts serve it each in their own.
 *
 * Balances are consistent by construction: an address's balance is what its transactions paid to
 * it minus what they took from it. Each tx is also a real serialisation (raw.ts) whose double
 * sha256 is its txid, and each block has a real 80-byte header, so that the Electrum view can
 * serve raw bytes that a client checks. Coins:
 * - an input spends the oldest unspent output of the chain paying its address exactly its value;
 * - an input with no such coin spends a coin minted for it: a parent tx outside the chain (no
 *   history lists it, no balance counts it, as before coins were modelled), whose raw bytes only
 *   rawTx() serves, so that every view shows the same txs with the same nets and fees;
 * - a funding tx without inputs is a coinbase.
 * Every tx carries a tag unique to the process, chain and tx in its first input's script, so txids
 * never repeat across chains or processes (tests that share a database stay apart).
 */
import { COINBASE_TXID, COINBASE_VOUT, hashOf, merkleRoot, mineHeader, pushData, REGTEST_GENESIS_HEADER, REGTEST_GENESIS_TIME, serializeHeader, serializeTx, type RawInput } from './raw.js';
import { scriptFor } from './scripts.js';
import type { AddressSummary, ChainChange, FakeBlock, FakeChainOptions, FakeInput, FakeTx, Outpoint, Sats, TxSpec } from './types.js';

export type { AddressSummary, ChainChange, FakeBlock, FakeChainOptions, FakeInput, FakeOutput, FakeTx, Outpoint, Sats, TxSpec } from './types.js';

/** Canonical text of an address: bech32 is case-insensitive and stored lower-case, base58 as is. */
export const canonicalAddress = (address: string): string =>
  /^bc1/i.test(address) ? address.toLowerCase() : address;

const outpointKey = ({ txid, vout }: Outpoint) => `${txid}:${vout}`;

export class FakeChain {
  private readonly txs = new Map<string, FakeTx>();
  private readonly blocks: FakeBlock[];
  /** outpoint → the txid of the chain tx spending it */
  private readonly spentBy = new Map<string, string>();
  /** raw bytes of parents outside the chain: minted coins, and removed txs a chain tx still spends */
  private readonly outside = new Map<string, string>();
  private readonly listeners = new Set<(change: ChainChange) => void>();
  private clock: number;
  private seq = 0;
  private minted = 0;
  private static made = 0;
  private readonly chainId = ++FakeChain.made;

  private readonly regtest: boolean;

  constructor({ startHeight, startTime, regtest = false }: FakeChainOptions = {}) {
    this.regtest = regtest;
    if (regtest) {
      if (startHeight !== undefined || startTime !== undefined) throw new Error('fake chain: a regtest chain starts at its genesis block');
      this.clock = REGTEST_GENESIS.time;
      this.blocks = [REGTEST_GENESIS];
      return;
    }
    this.clock = startTime ?? 1_713_571_767;
    this.blocks = [makeBlock(startHeight ?? 840_000, '0'.repeat(64), this.clock, [], false)];
  }

  /** calls `listener` after each change; returns the way to stop */
  onChange(listener: (change: ChainChange) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  get tip(): FakeBlock {
    return this.blocks.at(-1)!;
  }

  get height(): number {
    return this.tip.height;
  }

  /** the fake clock, unix seconds */
  get now(): number {
    return this.clock;
  }

  addTx(spec: TxSpec): FakeTx {
    const seq = ++this.seq;
    if (spec.txid !== undefined && !/^[0-9a-f]{64}$/.test(spec.txid)) throw new Error(`fake chain: txid must be 64 lower-case hex, got ${spec.txid}`);
    if (spec.outputs.length === 0) throw new Error('fake chain: a tx needs at least one output');

    const outputs = spec.outputs.map((o) => {
      const address = o.address === undefined ? null : canonicalAddress(o.address);
      return { address, value: BigInt(o.value), script: scriptFor(address) };
    });
    const taken = new Set<string>();
    const inputs = (spec.inputs ?? []).map((i) => {
      const address = canonicalAddress(i.address);
      const value = BigInt(i.value);
      const coin = i.coin ?? this.findCoin(address, value, taken) ?? this.mint(address, value);
      taken.add(outpointKey(coin));
      return { address, value, coin };
    });
    const sequence = spec.rbf ? 0xfffffffd : 0xffffffff;
    const raw = serializeTx(rawInputs(inputs, sequence, this.tag(seq)), outputs).toString('hex');
    const txid = spec.txid ?? hashOf(Buffer.from(raw, 'hex'));
    if (this.txs.has(txid)) throw new Error(`fake chain: tx ${txid} already exists`);

    const spent = sum(inputs.map((i) => i.value)) - sum(outputs.map((o) => o.value));
    let fee = spent;
    if (inputs.length === 0) {
      fee = spec.fee === undefined ? 0n : BigInt(spec.fee);
    } else if (spent < 0n) {
      throw new Error(`fake chain: tx ${txid} pays out ${-spent} sats more than its inputs bring`);
    } else if (spec.fee !== undefined && BigInt(spec.fee) !== spent) {
      throw new Error(`fake chain: tx ${txid} has fee ${spec.fee} but inputs − outputs = ${spent}`);
    }
    for (const input of inputs) {
      const holder = this.spentBy.get(outpointKey(input.coin));
      if (holder) throw new Error(`fake chain: ${outpointKey(input.coin)} is already spent by ${holder}`);
    }

    const tx: FakeTx = { txid, seq, inputs, outputs, fee, rbf: spec.rbf ?? false, raw, firstSeen: spec.time ?? ++this.clock, block: null };
    this.txs.set(txid, tx);
    for (const input of inputs) this.spentBy.set(outpointKey(input.coin), txid);
    this.emit({ kind: 'tx', tx });
    return tx;
  }

  /** a coinbase-like tx paying `sats` to `address`, left in the mempool */
  fund(address: string, sats: Sats): FakeTx {
    return this.addTx({ outputs: [{ address, value: sats }] });
  }

  /**
   * `n` confirmed incoming txs to `address`, each in its own block, oldest first in the result.
   * Values are 1000 + i sats so each one is recognisable.
   */
  addManyTxs(address: string, n: number): FakeTx[] {
    return Array.from({ length: n }, (_, i) => {
      const tx = this.addTx({ outputs: [{ address, value: 1000 + i }] });
      this.mine();
      return tx;
    });
  }

  /** confirms every mempool tx in a new block, ten minutes after the previous one */
  mine(): FakeBlock {
    const height = this.height + 1;
    this.clock = Math.max(this.clock, this.tip.time) + 600;
    const mempool = this.mempool();
    const block = makeBlock(height, this.tip.hash, this.clock, mempool.map((t) => t.txid), this.regtest);
    for (const tx of mempool) tx.block = block;
    this.blocks.push(block);
    this.emit({ kind: 'block', block, txs: mempool });
    return block;
  }

  /** drops a mempool tx, as when it is replaced (RBF) or evicted */
  removeTx(txid: string): void {
    const tx = this.txs.get(txid);
    if (!tx) throw new Error(`fake chain: no tx ${txid} to remove`);
    if (tx.block) throw new Error(`fake chain: tx ${txid} is confirmed at ${tx.block.height}; only mempool txs can be removed`);
    this.txs.delete(txid);
    // Its coins are free again (for a replacement); a tx that spends its outputs stays, as before
    // coins were modelled, its parent kept outside the chain.
    for (const input of tx.inputs) this.spentBy.delete(outpointKey(input.coin));
    if (tx.outputs.some((_, vout) => this.spentBy.has(outpointKey({ txid, vout })))) this.outside.set(txid, tx.raw);
    this.emit({ kind: 'removed', tx });
  }

  /** the raw bytes (hex) of a chain tx, or of a parent outside the chain; undefined for any other txid */
  rawTx(txid: string): string | undefined {
    return this.txs.get(txid)?.raw ?? this.outside.get(txid);
  }

  /** the chain tx spending `outpoint`, if one does */
  spenderOf(outpoint: Outpoint): FakeTx | undefined {
    const txid = this.spentBy.get(outpointKey(outpoint));
    return txid === undefined ? undefined : this.txs.get(txid);
  }

  /** the txs of the chain that spend an output of `txid` */
  spenders(txid: string): FakeTx[] {
    const found = new Set<FakeTx>();
    for (const [outpoint, spender] of this.spentBy) {
      if (outpoint.startsWith(`${txid}:`)) found.add(this.txs.get(spender)!);
    }
    return [...found];
  }

  /** the block at `height`, if the chain has one */
  blockAt(height: number): FakeBlock | undefined {
    const at = height - this.blocks[0]!.height;
    return at >= 0 ? this.blocks[at] : undefined;
  }

  getTx(txid: string): FakeTx | undefined {
    return this.txs.get(txid);
  }

  /** every tx of the chain, confirmed or not, in the order they were added */
  transactions(): FakeTx[] {
    return [...this.txs.values()].sort((a, b) => a.seq - b.seq);
  }

  mempool(): FakeTx[] {
    return [...this.txs.values()].filter((t) => t.block === null).sort((a, b) => a.seq - b.seq);
  }

  /** txs touching any of `addresses` (canonical), newest first with unconfirmed first */
  txsOf(addresses: ReadonlySet<string>): FakeTx[] {
    return [...this.txs.values()].filter((t) => touches(t, addresses)).sort(newestFirst);
  }

  /** what `tx` did to the combined balance of `addresses` (canonical) */
  netOf(tx: FakeTx, addresses: ReadonlySet<string>): bigint {
    return received(tx, addresses) - sent(tx, addresses);
  }

  /** the oldest unspent output of a chain tx paying `address` exactly `value`, not in `taken` */
  private findCoin(address: string, value: bigint, taken: ReadonlySet<string>): Outpoint | undefined {
    for (const tx of this.transactions()) {
      for (let vout = 0; vout < tx.outputs.length; vout++) {
        const output = tx.outputs[vout]!;
        const key = outpointKey({ txid: tx.txid, vout });
        if (output.address === address && output.value === value && !this.spentBy.has(key) && !taken.has(key)) return { txid: tx.txid, vout };
      }
    }
    return undefined;
  }

  /** a coin paying `value` to `address`, in a coinbase-like parent outside the chain */
  private mint(address: string, value: bigint): Outpoint {
    const raw = serializeTx(rawInputs([], 0xffffffff, this.tag(++this.minted, 'mint')), [{ script: scriptFor(address), value }]);
    const txid = hashOf(raw);
    this.outside.set(txid, raw.toString('hex'));
    return { txid, vout: 0 };
  }

  private tag(seq: number, what = 'tx'): Uint8Array {
    return new TextEncoder().encode(`satbell fake ${what} ${process.pid}/${this.chainId}/${seq}`);
  }

  /**
   * Listeners hear of a change once the call that made it has returned, as a real server's
   * notifications come after the fact, and so that a subclass (bench/chain.ts indexes txs by
   * address) has finished its own bookkeeping by then.
   */
  private emit(change: ChainChange): void {
    if (this.listeners.size === 0) return;
    queueMicrotask(() => {
      for (const listener of this.listeners) listener(change);
    });
  }

  summary(address: string): AddressSummary {
    const canonical = canonicalAddress(address);
    const set = new Set([canonical]);
    const txs = this.txsOf(set);
    const totalReceived = sum(txs.map((t) => received(t, set)));
    const totalSent = sum(txs.map((t) => sent(t, set)));
    return { address: canonical, balance: totalReceived - totalSent, nTx: txs.length, totalReceived, totalSent };
  }
}

function makeBlock(height: number, prevHash: string, time: number, txids: string[], regtest: boolean): FakeBlock {
  const fields = { prevHash, merkleRoot: merkleRoot(txids), time };
  const header = regtest ? mineHeader(fields) : serializeHeader(fields);
  return { height, hash: hashOf(header), time, txids, header: header.toString('hex') };
}

/** Its one tx (the genesis coinbase, which nobody can spend) is not the chain's: no view has it to show. */
const REGTEST_GENESIS: FakeBlock = { height: 0, hash: hashOf(REGTEST_GENESIS_HEADER), time: REGTEST_GENESIS_TIME, txids: [], header: REGTEST_GENESIS_HEADER.toString('hex') };

/** the inputs as serialised: the first one's script carries `tag`; a tx without inputs is a coinbase */
function rawInputs(inputs: readonly FakeInput[], sequence: number, tag: Uint8Array): RawInput[] {
  if (inputs.length === 0) return [{ txid: COINBASE_TXID, vout: COINBASE_VOUT, scriptSig: pushData(tag), sequence }];
  return inputs.map((input, i) => ({ txid: input.coin.txid, vout: input.coin.vout, scriptSig: i === 0 ? pushData(tag) : new Uint8Array(), sequence }));
}

function touches(tx: FakeTx, addresses: ReadonlySet<string>): boolean {
  return tx.inputs.some((i) => addresses.has(i.address)) || tx.outputs.some((o) => o.address !== null && addresses.has(o.address));
}

function received(tx: FakeTx, addresses: ReadonlySet<string>): bigint {
  return sum(tx.outputs.filter((o) => o.address !== null && addresses.has(o.address)).map((o) => o.value));
}

function sent(tx: FakeTx, addresses: ReadonlySet<string>): bigint {
  return sum(tx.inputs.filter((i) => addresses.has(i.address)).map((i) => i.value));
}

function newestFirst(a: FakeTx, b: FakeTx): number {
  if (a.block === null || b.block === null) {
    if (a.block !== b.block) return a.block === null ? -1 : 1;
    return b.firstSeen - a.firstSeen || b.seq - a.seq;
  }
  return b.block.height - a.block.height || b.seq - a.seq;
}

function sum(values: readonly bigint[]): bigint {
  return values.reduce((a, b) => a + b, 0n);
}
