/**
 * Bitcoin's own serialisations for the fake chain: transactions (the legacy format, without
 * witnesses, so that the double sha256 of the bytes is the txid), 80-byte block headers and
 * merkle roots. Written out here rather than taken from a library, so that the fakes do not share
 * the code the Electrum client decodes with.
 */
import { createHash } from 'node:crypto';

export interface RawInput {
  /** the txid of the output spent, hex as displayed */
  txid: string;
  vout: number;
  scriptSig: Uint8Array;
  sequence: number;
}

export interface RawOutput {
  /** hex */
  script: string;
  value: bigint;
}

export const COINBASE_TXID = '0'.repeat(64);
export const COINBASE_VOUT = 0xffffffff;

export const sha256d = (bytes: Uint8Array): Buffer => createHash('sha256').update(createHash('sha256').update(bytes).digest()).digest();

/** a txid or block hash: the double sha256, least significant byte first */
export const hashOf = (bytes: Uint8Array): string => Buffer.from(sha256d(bytes)).reverse().toString('hex');

/** a version 2 transaction with lock time 0 */
export function serializeTx(inputs: readonly RawInput[], outputs: readonly RawOutput[]): Buffer {
  const parts: Buffer[] = [u32(2), varInt(inputs.length)];
  for (const input of inputs) {
    parts.push(Buffer.from(input.txid, 'hex').reverse(), u32(input.vout), varInt(input.scriptSig.length), Buffer.from(input.scriptSig), u32(input.sequence));
  }
  parts.push(varInt(outputs.length));
  for (const output of outputs) {
    const script = Buffer.from(output.script, 'hex');
    parts.push(u64(output.value), varInt(script.length), script);
  }
  parts.push(u32(0));
  return Buffer.concat(parts);
}

/** a script that pushes `data` (up to 75 bytes), as a scriptSig or coinbase script carries it */
export function pushData(data: Uint8Array): Uint8Array {
  if (data.length > 75) throw new Error('fake chain: push at most 75 bytes');
  return Uint8Array.of(data.length, ...data);
}

export interface HeaderFields {
  prevHash: string;
  merkleRoot: string;
  /** unix seconds */
  time: number;
  /** default 0x20000000 */
  version?: number;
  /** default 0 */
  nonce?: number;
}

/** regtest's difficulty: no proof of work to speak of */
export const REGTEST_BITS = 0x207fffff;
/** the target REGTEST_BITS stands for: a block hash (as a number) may be at most this */
const REGTEST_TARGET = 0x7fffffn << (8n * (0x20n - 3n));

/** an 80-byte block header with regtest bits */
export function serializeHeader({ prevHash, merkleRoot, time, version = 0x20000000, nonce = 0 }: HeaderFields): Buffer {
  return Buffer.concat([u32(version), Buffer.from(prevHash, 'hex').reverse(), Buffer.from(merkleRoot, 'hex').reverse(), u32(time), u32(REGTEST_BITS), u32(nonce)]);
}

export const REGTEST_GENESIS_TIME = 1_296_688_602;
/** Bitcoin Core's regtest genesis block header, byte for byte: version 1, nonce 2 */
export const REGTEST_GENESIS_HEADER = serializeHeader({ version: 1, prevHash: '0'.repeat(64), merkleRoot: '4a5e1e4baab89f3a32518a88c31bc87f618f76673e2cc77ab2127b7afdeda33b', time: REGTEST_GENESIS_TIME, nonce: 2 });

/** the header with the first nonce from 0 whose hash meets regtest's target, as a regtest node mines it (about two tries) */
export function mineHeader(fields: Omit<HeaderFields, 'nonce'>): Buffer {
  for (let nonce = 0; ; nonce++) {
    const header = serializeHeader({ ...fields, nonce });
    if (BigInt(`0x${hashOf(header)}`) <= REGTEST_TARGET) return header;
  }
}

/** the merkle root of txids (displayed hex), the last one paired with itself on odd levels; zeros when there are none */
export function merkleRoot(txids: readonly string[]): string {
  if (txids.length === 0) return '0'.repeat(64);
  return merkleWalk(txids, 0).root;
}

/**
 * The merkle branch of the tx at `pos` among `txids`: the sibling at each level, leaf first, as
 * blockchain.transaction.get_merkle lists them (displayed hex).
 */
export function merkleBranch(txids: readonly string[], pos: number): string[] {
  if (pos < 0 || pos >= txids.length) throw new Error(`fake chain: no tx at position ${pos} of ${txids.length}`);
  return merkleWalk(txids, pos).branch;
}

function merkleWalk(txids: readonly string[], pos: number): { root: string; branch: string[] } {
  const display = (hash: Buffer) => Buffer.from(hash).reverse().toString('hex');
  let level: Buffer[] = txids.map((txid) => Buffer.from(txid, 'hex').reverse());
  const branch: string[] = [];
  for (let at = pos; level.length > 1; at >>= 1) {
    branch.push(display(level[at ^ 1] ?? level[at]!));
    const next: Buffer[] = [];
    for (let i = 0; i < level.length; i += 2) next.push(sha256d(Buffer.concat([level[i]!, level[i + 1] ?? level[i]!])));
    level = next;
  }
  return { root: display(level[0]!), branch };
}

function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n >>> 0);
  return b;
}

function u64(n: bigint): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(n);
  return b;
}

function varInt(n: number): Buffer {
  if (n < 0xfd) return Buffer.of(n);
  if (n <= 0xffff) {
    const b = Buffer.alloc(3);
    b[0] = 0xfd;
    b.writeUInt16LE(n, 1);
    return b;
  }
  const b = Buffer.alloc(5);
  b[0] = 0xfe;
  b.writeUInt32LE(n, 1);
  return b;
}
