/**
 * Many addresses' complete histories from Blockchain.com's /multiaddr: one call answers for up to
 * 50 addresses with the de-duplicated union of their txs, newest first, 100 a page. Each tx's
 * `result` is for the whole set, so each address's net is worked out from the tx's inputs and
 * outputs, and the answer is believed only when every address's txs add up to its own count and
 * balance and every tx's nets add up to its `result`.
 */
import * as z from 'zod';
import { formatBtc } from '../amount.js';
import { ProviderError, type AddressBalance, type AddressHistory, type ChainTx, type RequestOptions } from '../provider.js';
import { NAME, rawTx, spentBy, sum, type RawTx, type Txo } from './blockchain-info-wire.js';
import type { HttpClient } from './http.js';
import { checkAmount, checkBalance, checkHistory, checkPageSize, checkTotals, canonical } from './validate.js';
import { count, sats } from './wire.js';

/** the most /multiaddr serves a page */
const PAGE_SIZE = 100;

const multiaddrBody = z.looseObject({
  // `wallet.n_tx` is the page's count or the total depending on whom one asks: it is not read.
  addresses: z.array(z.looseObject({ address: z.string(), final_balance: sats, n_tx: count, total_received: sats, total_sent: sats })),
  txs: z.array(rawTx),
});
type MultiaddrPage = z.output<typeof multiaddrBody>;
/** an address's figures as /multiaddr gives them: total_sent too, to check they add up */
type Figures = AddressBalance & { totalSent: bigint };

/**
 * The complete histories of `batch` (canonical addresses, at most 50), keyed by them. A tx that
 * arrives or goes between two pages shifts the offsets: the txs are de-duplicated by txid, and
 * when the histories then do not add up to the first page's figures, the batch is fetched once
 * more before it is refused.
 */
export async function fetchMultiaddr(http: HttpClient, batch: readonly string[], request: RequestOptions): Promise<Map<string, AddressHistory>> {
  return (await fetchOnce(http, batch, request, { last: false })) ?? (await fetchOnce(http, batch, request, { last: true }))!;
}

/** The batch's histories; undefined when they do not add up and this is not the `last` try (then it throws). */
async function fetchOnce(
  http: HttpClient,
  batch: readonly string[],
  request: RequestOptions,
  { last }: { last: boolean },
): Promise<Map<string, AddressHistory> | undefined> {
  const active = batch.map(encodeURIComponent).join('|');
  const asked = new Set(batch);
  const seen = new Set<string>();
  const txs: RawTx[] = [];
  let balances: Map<string, Figures> | undefined;
  for (let offset = 0; ; offset += PAGE_SIZE) {
    const path = `/multiaddr?active=${active}&n=${PAGE_SIZE}&offset=${offset}`;
    const page = await http.getJson(path, multiaddrBody, request);
    checkPageSize(NAME, '/multiaddr', page.txs.length, PAGE_SIZE);
    balances ??= balancesOf(page, asked);
    // The union has at most as many txs as the counts add up to: a service that keeps serving
    // full pages past that is not paging.
    const most = [...balances.values()].reduce((total, b) => total + b.txCount, 0);
    const inPage = new Set<string>();
    for (const tx of page.txs) {
      if (inPage.has(tx.hash)) throw new ProviderError(NAME, `/multiaddr lists tx ${tx.hash} twice in one page`);
      inPage.add(tx.hash);
      checkTx(asked, tx);
      if (seen.has(tx.hash)) continue;
      seen.add(tx.hash);
      txs.push(tx);
    }
    if (page.txs.length < PAGE_SIZE) break;
    if (offset + PAGE_SIZE > most) {
      if (!last) return undefined;
      throw new ProviderError(NAME, `/multiaddr keeps serving full pages past the ${most} txs its addresses count`);
    }
  }

  const histories = new Map<string, AddressHistory>();
  for (const [address, balance] of balances) {
    const own: ChainTx[] = [];
    for (const tx of txs) {
      const mine = (txo: Txo) => txo.addr === address;
      const spent = spentBy(tx).filter(mine);
      const received = tx.out.filter(mine);
      if (spent.length === 0 && received.length === 0) continue;
      own.push({ txid: tx.hash, blockHeight: tx.block_height, time: new Date(tx.time * 1000), timeIsBlockTime: false, fee: tx.fee, net: sum(received) - sum(spent) });
    }
    const { totalSent: _, ...figures } = balance;
    const history = { balance: figures, txs: own, complete: true };
    try {
      checkHistory(NAME, history);
    } catch (err) {
      if (last || !(err instanceof ProviderError)) throw err;
      return undefined;
    }
    histories.set(address, history);
  }
  return histories;
}

/** Exactly the addresses asked, each once, each with figures that hold up. */
function balancesOf(page: MultiaddrPage, asked: ReadonlySet<string>): Map<string, Figures> {
  const balances = new Map<string, Figures>();
  for (const entry of page.addresses) {
    const address = canonical(entry.address);
    if (!asked.has(address)) throw new ProviderError(NAME, `/multiaddr answered for an address not asked for (${entry.address.slice(0, 100)})`);
    if (balances.has(address)) throw new ProviderError(NAME, `/multiaddr answered twice for ${address}`);
    const balance = { address, balance: entry.final_balance, txCount: entry.n_tx, totalReceived: entry.total_received, totalSent: entry.total_sent };
    checkBalance(NAME, '/multiaddr', balance);
    checkTotals(NAME, `/multiaddr: ${address}`, { received: entry.total_received, sent: entry.total_sent, balance: entry.final_balance });
    balances.set(address, balance);
  }
  for (const address of asked) if (!balances.has(address)) throw new ProviderError(NAME, `/multiaddr returned no entry for ${address}`);
  return balances;
}

/** A tx of the set: it touches one of the addresses, and its `result` is what it did to them all. */
function checkTx(asked: ReadonlySet<string>, tx: RawTx): void {
  const what = `/multiaddr: tx ${tx.hash}`;
  const spent = spentBy(tx);
  for (const output of [...spent, ...tx.out]) checkAmount(NAME, `${what}: an output value`, output.value);
  const ours = (txo: Txo) => txo.addr !== undefined && asked.has(txo.addr);
  if (!spent.some(ours) && !tx.out.some(ours)) throw new ProviderError(NAME, `${what} neither pays nor spends any address asked for`);
  const net = sum(tx.out.filter(ours)) - sum(spent.filter(ours));
  if (net !== tx.result) {
    throw new ProviderError(NAME, `${what} says it moved ${formatBtc(tx.result)} but its inputs and outputs give ${formatBtc(net)}`);
  }
}
