/**
 * An address's whole history as an Electrum server tells it, in the shape every provider gives
 * (AddressHistory, complete): get_history for the txids and heights, the raw transactions (and
 * their parents) only for txids not stored yet, block times from block headers. What it builds is
 * checked against the server's own balance and status before anyone may store it: a history that
 * contradicts itself is an ElectrumDataError, and that connection is not to be trusted.
 */
import { bytesToHex } from '@noble/hashes/utils.js';
import type { Network } from '../address.js';
import type { AddressHistory, ChainTx } from '../provider.js';
import type { ElectrumApi, ElectrumHistoryItem } from './api.js';
import { ElectrumDataError } from './errors.js';
import { outputScript, addressScriptHash } from './scripthash.js';
import { historyStatus, statusAsListed } from './status.js';
import { historyEffects, type TxCache, type TxEffect } from './transactions.js';

/** What is stored of a transaction of the address, as a provider gave it: a txid's net and fee never change. */
export type KnownTx = ChainTx;

export interface ElectrumHistoryDeps {
  api: ElectrumApi;
  network: Network;
  /** decoded transactions that never change, kept across reads */
  cache: TxCache;
  /** block time by height, kept across reads for blocks deep enough not to be reorganised away */
  blockTimes: Map<number, Date>;
  /** the chain's tip as last told; without it no block time is kept across reads */
  tipHeight?: number;
  /** what is stored of these txids of the address */
  known: (address: string, txids: readonly string[]) => Promise<ReadonlyMap<string, KnownTx>>;
  clock?: () => Date;
}

export interface ElectrumRead {
  history: AddressHistory;
  /** the status of the history read, as the server computes it */
  status: string | null;
}

/** how many block times are remembered: enough for the heights a busy set of addresses touches */
const BLOCK_TIMES_KEPT = 5_000;
/** a block this many below the tip is taken as settled: its header, and so its time, stays */
const SETTLED_DEPTH = 6;

/**
 * Read `address`'s history. `expectedStatus` is the one the server pushed or answered: a read that
 * does not hash to it is read once more (a change may have come in between), then refused.
 */
export async function readElectrumHistory(deps: ElectrumHistoryDeps, address: string, expectedStatus: string | null): Promise<ElectrumRead> {
  const scriptHash = addressScriptHash(address, deps.network);
  let status = expectedStatus;
  let read = await readOnce(deps, address, scriptHash);
  if (!matches(read.entries, status) || !read.balanced) {
    status = await deps.api.subscribeScriptHash(scriptHash);
    read = await readOnce(deps, address, scriptHash);
    if (!matches(read.entries, status)) throw new ElectrumDataError(`${address}: the server's history does not hash to the status it gives`);
    if (!read.balanced) throw new ElectrumDataError(`${address}: the server's history does not add up to the balance it gives`);
  }
  return { history: read.history, status };
}

/** servers before protocol 1.6 hash their mempool in their own order: either order is the server's */
function matches(entries: readonly ElectrumHistoryItem[], status: string | null): boolean {
  return historyStatus(entries) === status || statusAsListed(entries) === status;
}

async function readOnce(deps: ElectrumHistoryDeps, address: string, scriptHash: string) {
  const entries = await deps.api.getHistory(scriptHash);
  const balance = await deps.api.getBalance(scriptHash);
  const txids = entries.map((e) => e.txid);
  if (new Set(txids).size !== txids.length) throw new ElectrumDataError(`${address}: the server lists a transaction twice`);
  const known = await deps.known(address, txids);
  const unknown = entries.filter((e) => !known.has(e.txid));
  const script = bytesToHex(outputScript(address, deps.network));
  const effects = unknown.length ? await historyEffects(unknown, script, { fetchRaw: deps.api.fetchRawTxs, cache: deps.cache }) : new Map<string, TxEffect>();
  const now = (deps.clock ?? (() => new Date()))();
  const txs: ChainTx[] = [];
  for (const entry of entries) {
    const stored = known.get(entry.txid);
    const { net, fee } = stored ?? effects.get(entry.txid)!;
    txs.push({ txid: entry.txid, net, fee, ...(await timeOf(deps, entry, stored, now)) });
  }
  txs.sort(newestFirst);
  const sum = txs.reduce((n, t) => n + t.net, 0n);
  const history: AddressHistory = {
    balance: { address, balance: sum, txCount: txs.length, totalReceived: txs.reduce((n, t) => (t.net > 0n ? n + t.net : n), 0n) },
    txs,
    complete: true,
  };
  return { entries, history, balanced: sum === balance.confirmed + balance.unconfirmed };
}

/** a confirmed tx's block time (stored, or from its header); a mempool tx's first-seen time */
async function timeOf(deps: ElectrumHistoryDeps, entry: ElectrumHistoryItem, stored: KnownTx | undefined, now: Date): Promise<Pick<ChainTx, 'blockHeight' | 'time' | 'timeIsBlockTime'>> {
  if (entry.height <= 0) return { blockHeight: null, time: stored?.time ?? now, timeIsBlockTime: false };
  if (stored?.blockHeight === entry.height && stored.timeIsBlockTime) return { blockHeight: entry.height, time: stored.time, timeIsBlockTime: true };
  return { blockHeight: entry.height, time: await blockTime(deps, entry.height), timeIsBlockTime: true };
}

async function blockTime({ api, blockTimes, tipHeight }: ElectrumHistoryDeps, height: number): Promise<Date> {
  const cached = blockTimes.get(height);
  if (cached) return cached;
  const header = await api.blockHeader(height);
  // The header's time: a little-endian uint32 of seconds at byte 68.
  const time = new Date(Buffer.from(header, 'hex').readUInt32LE(68) * 1000);
  // A recent block may yet be replaced by another at its height, with another time: asked again.
  if (tipHeight === undefined || height > tipHeight - SETTLED_DEPTH) return time;
  if (blockTimes.size >= BLOCK_TIMES_KEPT) blockTimes.delete(blockTimes.keys().next().value!);
  blockTimes.set(height, time);
  return time;
}

function newestFirst(a: ChainTx, b: ChainTx): number {
  if (a.blockHeight === null || b.blockHeight === null) return a.blockHeight === b.blockHeight ? b.time.getTime() - a.time.getTime() : a.blockHeight === null ? -1 : 1;
  return b.blockHeight - a.blockHeight || b.time.getTime() - a.time.getTime();
}
