/**
 * An in-memory Bitcoin chain for tests: a mempool, blocks, and transactions that move satoshis
 * between addresses. It knows nothing of any HTTP API; blockchain-info.ts (and later an Esplora
 * fake) serve it in their own wire format.
 *
 * Balances are consistent by construction: an address's balance is what its transactions paid to
 * it minus what they took from it. Individual coins (UTXOs) are not modelled: an input just names
 * an address and a value.
 */
import { createHash } from 'node:crypto';

/** Satoshis; numbers are accepted for brevity in tests and converted to bigint at once. */
export type Sats = bigint | number;

export interface TxSpec {
  /** 64 hex; generated deterministically when absent */
  txid?: string;
  /** where the money comes from; none for a coinbase-like funding tx */
  inputs?: { address: string; value: Sats }[];
  /** an output without an address is an OP_RETURN-like one */
  outputs: { address?: string; value: Sats }[];
  /** inputs − outputs when absent; checked against them when given with inputs */
  fee?: Sats;
  rbf?: boolean;
  /** first-seen time, unix seconds; the fake clock's next tick when absent */
  time?: number;
}

export interface FakeInput {
  readonly address: string;
  readonly value: bigint;
}

export interface FakeOutput {
  readonly address: string | null;
  readonly value: bigint;
}

export interface FakeBlock {
  readonly height: number;
  readonly hash: string;
  /** unix seconds */
  readonly time: number;
  readonly txids: readonly string[];
}

export interface FakeTx {
  readonly txid: string;
  /** creation order, used to break ties when sorting */
  readonly seq: number;
  readonly inputs: readonly FakeInput[];
  readonly outputs: readonly FakeOutput[];
  readonly fee: bigint;
  readonly rbf: boolean;
  /** unix seconds */
  readonly firstSeen: number;
  /** null while in the mempool */
  block: FakeBlock | null;
}

export interface AddressSummary {
  address: string;
  /** confirmed + unconfirmed */
  balance: bigint;
  nTx: number;
  totalReceived: bigint;
  totalSent: bigint;
}

export interface FakeChainOptions {
  /** height of the tip before the first mine(); default 840 000 */
  startHeight?: number;
  /** unix seconds of that tip; default 2024-04-20 */
  startTime?: number;
}

/** Canonical text of an address: bech32 is case-insensitive and stored lower-case, base58 as is. */
export const canonicalAddress = (address: string): string =>
  /^bc1/i.test(address) ? address.toLowerCase() : address;

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

export class FakeChain {
  private readonly txs = new Map<string, FakeTx>();
  private readonly blocks: FakeBlock[];
  private clock: number;
  private seq = 0;
  /** Chains made in one process never share a txid: tests that share a database stay apart. */
  private static made = 0;
  private readonly chainId = ++FakeChain.made;

  constructor({ startHeight = 840_000, startTime = 1_713_571_767 }: FakeChainOptions = {}) {
    this.clock = startTime;
    this.blocks = [{ height: startHeight, hash: blockHash(startHeight), time: startTime, txids: [] }];
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
    const txid = spec.txid ?? sha256(`satbell fake tx ${process.pid}/${this.chainId}/${seq}`);
    if (!/^[0-9a-f]{64}$/.test(txid)) throw new Error(`fake chain: txid must be 64 lower-case hex, got ${txid}`);
    if (this.txs.has(txid)) throw new Error(`fake chain: tx ${txid} already exists`);
    if (spec.outputs.length === 0) throw new Error('fake chain: a tx needs at least one output');

    const inputs = (spec.inputs ?? []).map((i) => ({ address: canonicalAddress(i.address), value: BigInt(i.value) }));
    const outputs = spec.outputs.map((o) => ({
      address: o.address === undefined ? null : canonicalAddress(o.address),
      value: BigInt(o.value),
    }));
    const spent = sum(inputs.map((i) => i.value)) - sum(outputs.map((o) => o.value));
    let fee = spent;
    if (inputs.length === 0) {
      fee = spec.fee === undefined ? 0n : BigInt(spec.fee);
    } else if (spent < 0n) {
      throw new Error(`fake chain: tx ${txid} pays out ${-spent} sats more than its inputs bring`);
    } else if (spec.fee !== undefined && BigInt(spec.fee) !== spent) {
      throw new Error(`fake chain: tx ${txid} has fee ${spec.fee} but inputs − outputs = ${spent}`);
    }

    const tx: FakeTx = {
      txid,
      seq,
      inputs,
      outputs,
      fee,
      rbf: spec.rbf ?? false,
      firstSeen: spec.time ?? ++this.clock,
      block: null,
    };
    this.txs.set(txid, tx);
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
    const block: FakeBlock = { height, hash: blockHash(height), time: this.clock, txids: mempool.map((t) => t.txid) };
    for (const tx of mempool) tx.block = block;
    this.blocks.push(block);
    return block;
  }

  /** drops a mempool tx, as when it is replaced (RBF) or evicted */
  removeTx(txid: string): void {
    const tx = this.txs.get(txid);
    if (!tx) throw new Error(`fake chain: no tx ${txid} to remove`);
    if (tx.block) throw new Error(`fake chain: tx ${txid} is confirmed at ${tx.block.height}; only mempool txs can be removed`);
    this.txs.delete(txid);
  }

  /** the block at `height`, if the chain has one */
  blockAt(height: number): FakeBlock | undefined {
    const at = height - this.blocks[0]!.height;
    return at >= 0 ? this.blocks[at] : undefined;
  }

  getTx(txid: string): FakeTx | undefined {
    return this.txs.get(txid);
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

  summary(address: string): AddressSummary {
    const canonical = canonicalAddress(address);
    const set = new Set([canonical]);
    const txs = this.txsOf(set);
    const totalReceived = sum(txs.map((t) => received(t, set)));
    const totalSent = sum(txs.map((t) => sent(t, set)));
    return { address: canonical, balance: totalReceived - totalSent, nTx: txs.length, totalReceived, totalSent };
  }
}

function blockHash(height: number): string {
  return `00000000000000000${sha256(`satbell fake block ${height}`).slice(17)}`;
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
