/**
 * Raw transactions from an Electrum server, decoded and checked (@scure/btc-signer), and what one
 * does to an address: its net (outputs to the address's script minus the parents' outputs it
 * spends from that script) and its fee. Input amounts are not in a raw transaction, so the
 * parents are needed too; a txid commits to a transaction's inputs and outputs, so a decoded one
 * can be cached for good, and confirmed ones (which will not be evicted) are.
 */
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js';
import { Transaction } from '@scure/btc-signer';
import { ElectrumDataError } from './errors.js';

export interface DecodedTx {
  txid: string;
  /** the outputs it spends; empty for a coinbase */
  inputs: readonly { txid: string; vout: number }[];
  outputs: readonly { script: string; value: bigint }[];
}

export interface TxEffect {
  /** what the transaction did to the address's balance, in satoshis */
  net: bigint;
  /** inputs minus outputs, in satoshis; 0 for a coinbase */
  fee: bigint;
}

const TXID = /^[0-9a-f]{64}$/;
const HEX = /^(?:[0-9a-fA-F]{2})+$/;
const COINBASE_PREVOUT = '0'.repeat(64);

/**
 * Decodes `rawHex` and checks that it is the transaction `txid` names: a server that answers
 * with another transaction (or garbage) gets an ElectrumDataError, never a wrong amount.
 */
export function decodeTransaction(txid: string, rawHex: unknown): DecodedTx {
  if (typeof rawHex !== 'string' || !HEX.test(rawHex)) throw new ElectrumDataError(`transaction ${txid}: the server sent no raw transaction hex`);
  let tx: Transaction;
  try {
    tx = Transaction.fromRaw(hexToBytes(rawHex), {
      allowUnknownOutputs: true,
      allowUnknownInputs: true,
      disableScriptCheck: true,
      allowUnknownVersion: true,
    });
  } catch (err) {
    throw new ElectrumDataError(`transaction ${txid}: the server sent bytes that do not decode (${(err as Error).message})`, { cause: err });
  }
  if (tx.id !== txid) throw new ElectrumDataError(`transaction ${txid}: the server sent transaction ${tx.id} instead`);
  const inputs = Array.from({ length: tx.inputsLength }, (_, i) => {
    const input = tx.getInput(i);
    return { txid: bytesToHex(input.txid!), vout: input.index! };
  });
  const coinbase = inputs.length === 1 && inputs[0]!.txid === COINBASE_PREVOUT && inputs[0]!.vout === 0xffffffff;
  const outputs = Array.from({ length: tx.outputsLength }, (_, i) => {
    const output = tx.getOutput(i);
    return { script: bytesToHex(output.script!), value: output.amount! };
  });
  return { txid, inputs: coinbase ? [] : inputs, outputs };
}

/** the distinct txids of the transactions `tx` spends from */
export const parentTxids = (tx: DecodedTx): string[] => [...new Set(tx.inputs.map((i) => i.txid))];

/** what `tx` did to the address whose output script is `script` (hex), given every parent of it */
export function txEffect(tx: DecodedTx, script: string, parents: ReadonlyMap<string, DecodedTx>): TxEffect {
  let received = 0n;
  let outputs = 0n;
  for (const output of tx.outputs) {
    outputs += output.value;
    if (output.script === script) received += output.value;
  }
  if (tx.inputs.length === 0) return { net: received, fee: 0n };
  let sent = 0n;
  let inputs = 0n;
  for (const { txid, vout } of tx.inputs) {
    const parent = parents.get(txid);
    if (!parent) throw new Error(`transaction ${tx.txid}: its parent ${txid} was not given`);
    const spent = parent.outputs[vout];
    if (!spent) throw new ElectrumDataError(`transaction ${tx.txid} spends output ${vout} of ${txid}, which has ${parent.outputs.length}`);
    inputs += spent.value;
    if (spent.script === script) sent += spent.value;
  }
  if (inputs < outputs) throw new ElectrumDataError(`transaction ${tx.txid} pays out ${outputs - inputs} sats more than its inputs bring`);
  return { net: received - sent, fee: inputs - outputs };
}

/** decoded transactions that will not change, kept across requests */
export interface TxCache {
  get(txid: string): DecodedTx | undefined;
  set(tx: DecodedTx): void;
}

/** a TxCache in memory that forgets the least recently used beyond `maxEntries` */
export function createMemoryTxCache(maxEntries = 10_000): TxCache {
  const txs = new Map<string, DecodedTx>();
  return {
    get(txid) {
      const tx = txs.get(txid);
      if (tx) {
        txs.delete(txid);
        txs.set(txid, tx);
      }
      return tx;
    },
    set(tx) {
      txs.delete(tx.txid);
      txs.set(tx.txid, tx);
      if (txs.size > maxEntries) txs.delete(txs.keys().next().value!);
    },
  };
}

/** raw hex of each txid asked (e.g. one batch of blockchain.transaction.get); whatever it returns is checked */
export type FetchRawTxs = (txids: readonly string[]) => Promise<ReadonlyMap<string, unknown>>;

export interface HistoryTx {
  txid: string;
  /** Electrum's height: > 0 confirmed, 0 in the mempool with confirmed inputs, -1 with an unconfirmed one */
  height: number;
}

/**
 * The effect on the address with output script `script` of each of `txs`, fetching what the
 * cache does not have: the transactions, then their parents. A confirmed transaction, and the
 * parents of one whose inputs are all confirmed (height ≥ 0), go into the cache.
 */
export async function historyEffects(
  txs: readonly HistoryTx[],
  script: string,
  { fetchRaw, cache }: { fetchRaw: FetchRawTxs; cache: TxCache },
): Promise<Map<string, TxEffect>> {
  for (const { txid } of txs) if (!TXID.test(txid)) throw new ElectrumDataError(`the server listed "${txid}", which is not a txid`);
  const heights = new Map(txs.map((t) => [t.txid, t.height]));
  const decoded = await load(txs.map((t) => t.txid), fetchRaw, cache, (txid) => (heights.get(txid) ?? -1) > 0);
  const parentIds = [...new Set([...decoded.values()].flatMap(parentTxids))];
  const settledParent = new Set(
    [...decoded.values()].filter((tx) => (heights.get(tx.txid) ?? -1) >= 0).flatMap(parentTxids),
  );
  const parents = await load(parentIds, fetchRaw, cache, (txid) => settledParent.has(txid), decoded);
  return new Map(txs.map((t) => [t.txid, txEffect(decoded.get(t.txid)!, script, parents)]));
}

/** `txids` decoded, from `known`, the cache, or else one fetch; those `keep` says go into the cache */
async function load(
  txids: readonly string[],
  fetchRaw: FetchRawTxs,
  cache: TxCache,
  keep: (txid: string) => boolean,
  known: ReadonlyMap<string, DecodedTx> = new Map(),
): Promise<Map<string, DecodedTx>> {
  const found = new Map<string, DecodedTx>();
  const missing: string[] = [];
  for (const txid of new Set(txids)) {
    const tx = known.get(txid) ?? cache.get(txid);
    if (tx) found.set(txid, tx);
    else missing.push(txid);
  }
  if (missing.length === 0) return found;
  const raws = await fetchRaw(missing);
  for (const txid of missing) {
    const tx = decodeTransaction(txid, raws.get(txid));
    found.set(txid, tx);
    if (keep(txid)) cache.set(tx);
  }
  return found;
}
