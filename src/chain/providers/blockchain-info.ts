/**
 * Blockchain.com's data API (https://blockchain.info): balances in batches through /balance,
 * histories page by page through /rawaddr. Wire facts: /work/shared/reference/chain-apis.md.
 */
import * as z from 'zod';
import { ProviderError, type AddressBalance, type AddressHistory, type ChainProvider, type ChainTx } from '../provider.js';
import { createHttpClient, type HttpOptions } from './http.js';
import { count, sats, txid } from './wire.js';

/** `baseUrl` is e.g. https://blockchain.info. No pacing or retries unless asked: see blockchainInfoPolicy. */
export type BlockchainInfoOptions = HttpOptions;

/**
 * How to be a good client of the public service: its only published rate is one request every
 * 10 seconds, and its 429 carries no Retry-After, so wait at least that long after one.
 */
export const blockchainInfoPolicy = {
  requestsPerSecond: 0.1,
  concurrency: 1,
  retry: { retries: 2, baseDelayMs: 2_000, rateLimitFloorMs: 10_000 },
} as const satisfies Partial<HttpOptions>;

const NAME = 'blockchain.info';
/** /rawaddr never returns more than 50 txs a page */
const PAGE_SIZE = 50;
/** the service has no documented cap; more than ~50 addresses or a URL near 4 KB is known to fail */
const BALANCE_BATCH = 50;
const BALANCE_BATCH_CHARS = 3_000;
/** how many times paging may back up because txs vanished above the current page */
const MAX_STEP_BACKS = 5;

const balanceBody = z.record(
  z.string(),
  z.looseObject({ final_balance: sats, n_tx: count, total_received: sats }),
);

const rawTx = z.looseObject({
  hash: txid,
  block_height: count.nullish().transform((h) => h ?? null),
  time: count,
  fee: sats,
  result: sats,
});

const rawAddrBody = z.looseObject({
  n_tx: count,
  total_received: sats,
  final_balance: sats,
  txs: z.array(rawTx),
});

export function createBlockchainInfoProvider(options: BlockchainInfoOptions): ChainProvider {
  const http = createHttpClient({ ...options, provider: NAME });

  return {
    name: NAME,

    async getBalances(addresses, request) {
      const balances = new Map<string, AddressBalance>();
      for (const batch of batches([...new Set(addresses)])) {
        const active = batch.map(encodeURIComponent).join('|');
        const body = await http.getJson(`/balance?active=${active}`, balanceBody, request);
        for (const address of batch) {
          // Keys are the canonical text: bech32 comes back lower-case whatever case was sent.
          const entry = Object.hasOwn(body, address) ? body[address] : body[address.toLowerCase()];
          if (!entry) throw new ProviderError(NAME, `/balance returned no entry for ${address}`);
          balances.set(address, { address, balance: entry.final_balance, txCount: entry.n_tx, totalReceived: entry.total_received });
        }
      }
      return balances;
    },

    async getHistory(address, { knownTxids, maxTxs, onProgress, ...request } = {}): Promise<AddressHistory> {
      const path = `/rawaddr/${encodeURIComponent(address)}`;
      const seen = new Set<string>();
      const txs: ChainTx[] = [];
      let balance: AddressBalance | undefined;
      let offset = 0;
      let stepBacks = 0;

      for (;;) {
        const page = await http.getJson(`${path}?limit=${PAGE_SIZE}&offset=${offset}`, rawAddrBody, request);
        balance ??= { address, balance: page.final_balance, txCount: page.n_tx, totalReceived: page.total_received };

        // Pages overlap by one tx. If that tx is not one we have, txs above vanished (replaced,
        // evicted) and the window slid past some we never saw: back up and come forward again.
        // Txs arriving above only shift the window the other way, which de-duplication absorbs.
        const first = page.txs[0];
        if (offset > 0 && first && !seen.has(first.hash)) {
          if (++stepBacks > MAX_STEP_BACKS) {
            throw new ProviderError(NAME, `the history of ${address} kept changing while it was being paged; try again later`);
          }
          offset = Math.max(0, offset - (PAGE_SIZE - 1));
          continue;
        }

        let reachedKnown = false;
        for (const tx of page.txs) {
          if (seen.has(tx.hash)) continue;
          seen.add(tx.hash);
          // Unconfirmed txs come first, so a confirmed tx we lack may still sit below a known
          // unconfirmed one: only a known confirmed tx proves the rest is known.
          if (tx.block_height !== null && knownTxids?.has(tx.hash)) {
            reachedKnown = true;
            break;
          }
          txs.push({ txid: tx.hash, blockHeight: tx.block_height, time: new Date(tx.time * 1000), fee: tx.fee, net: tx.result });
          if (maxTxs !== undefined && txs.length >= maxTxs) break;
        }
        onProgress?.(txs.length, page.n_tx);

        if (reachedKnown) return { balance, txs, complete: false };
        if (maxTxs !== undefined && txs.length >= maxTxs) return { balance, txs, complete: txs.length >= page.n_tx };
        if (page.txs.length < PAGE_SIZE || offset + page.txs.length >= page.n_tx) return { balance, txs, complete: true };
        offset += page.txs.length - 1;
      }
    },

    estimatedWaitMs: (key) => http.estimatedWaitMs(key),
    pausedMs: () => http.pausedMs(),
  };
}

/** at most BALANCE_BATCH addresses and BALANCE_BATCH_CHARS of URL-encoded text per batch */
function batches(addresses: readonly string[]): string[][] {
  const result: string[][] = [];
  let current: string[] = [];
  let chars = 0;
  for (const address of addresses) {
    const length = encodeURIComponent(address).length + 1;
    if (current.length === BALANCE_BATCH || (current.length > 0 && chars + length > BALANCE_BATCH_CHARS)) {
      result.push(current);
      current = [];
      chars = 0;
    }
    current.push(address);
    chars += length;
  }
  if (current.length > 0) result.push(current);
  return result;
}
