/**
 * Esplora's REST API (mempool.space, blockstream.info, or a self-hosted Esplora/mempool): one
 * /address/:a per balance (public Esplora has no batch address call), histories through
 * /address/:a/txs then /txs/chain/:last_seen_txid (25 a page). Its wire format, as satbell relies on
 * it, is what test/fakes/chain/esplora.ts serves.
 */
import * as z from 'zod';
import { formatBtc } from '../amount.js';
import { ProviderError, type AddressBalance, type AddressHistory, type ChainProvider, type ChainTx, type RequestOptions } from '../provider.js';
import { createHttpClient, type HttpOptions } from './http.js';
import { systemClock } from './limiter.js';
import { canonical, checkAmount, checkBalance, checkEcho, checkHistory, checkPageSize, parseHeight } from './validate.js';
import { count, sats, txid } from './wire.js';

/** `baseUrl` is e.g. https://mempool.space/api. No pacing or retries unless asked: see esploraPolicy. */
export type EsploraOptions = HttpOptions;

/**
 * How to be a good client of a public instance: no numbers are published, about 4 requests a
 * second is reported to stay clear on blockstream.info, and the 429 has no Retry-After.
 */
export const esploraPolicy = {
  requestsPerSecond: 4,
  concurrency: 2,
  retry: { retries: 2, baseDelayMs: 1_000, rateLimitFloorMs: 5_000 },
} as const satisfies Partial<HttpOptions>;

const NAME = 'esplora';
/** confirmed txs per /txs/chain page, and at least that many on /txs when more exist */
const CHAIN_PAGE = 25;
/** /txs holds up to 50 mempool txs and 25 confirmed (Blockstream) or 50 txs in all (mempool.space) */
const FIRST_PAGE = 50;
/** /address lookups in flight at once for getBalances when no concurrency is configured */
const BALANCE_PARALLELISM = 4;

type TxoStats = z.output<typeof txoStats>;
const txoStats = z.looseObject({ funded_txo_count: count, funded_txo_sum: sats, spent_txo_count: count, spent_txo_sum: sats, tx_count: count });
const addressBody = z.looseObject({ address: z.string(), chain_stats: txoStats, mempool_stats: txoStats });

const txo = z.looseObject({ scriptpubkey_address: z.string().optional(), value: sats });
const esploraTx = z.looseObject({
  txid,
  // a coinbase input has no prevout
  vin: z.array(z.looseObject({ prevout: txo.nullish() })),
  vout: z.array(txo),
  fee: sats,
  status: z.discriminatedUnion('confirmed', [
    z.looseObject({ confirmed: z.literal(true), block_height: count, block_time: count }),
    z.looseObject({ confirmed: z.literal(false) }),
  ]),
});
const txsBody = z.array(esploraTx);
type EsploraTx = z.output<typeof esploraTx>;

export function createEsploraProvider(options: EsploraOptions): ChainProvider {
  const http = createHttpClient({ ...options, provider: NAME });
  const clock = options.clock ?? systemClock;
  const parallelism = Number.isFinite(options.concurrency) ? options.concurrency! : BALANCE_PARALLELISM;

  async function addressInfo(address: string, request?: RequestOptions | AbortSignal) {
    const path = `/address/${encodeURIComponent(address)}`;
    const body = await http.getJson(path, addressBody, request);
    checkEcho(NAME, path, address, body.address);
    const { chain_stats: chain, mempool_stats: mempool } = body;
    checkStats(path, chain, mempool);
    const balance: AddressBalance = {
      address,
      balance: chain.funded_txo_sum - chain.spent_txo_sum + mempool.funded_txo_sum - mempool.spent_txo_sum,
      txCount: chain.tx_count + mempool.tx_count,
      totalReceived: chain.funded_txo_sum + mempool.funded_txo_sum,
    };
    checkBalance(NAME, path, balance);
    return { balance, confirmedTxCount: chain.tx_count };
  }

  function toChainTx(tx: EsploraTx, address: string): ChainTx {
    const mine = (out: z.output<typeof txo> | null | undefined) => out?.scriptpubkey_address === address;
    const inputs = tx.vin.filter((vin) => mine(vin.prevout));
    const outputs = tx.vout.filter(mine);
    // An address's history holds only txs that touch it; anything else would count as a zero net.
    if (inputs.length === 0 && outputs.length === 0) {
      throw new ProviderError(NAME, `the history of ${address} lists tx ${tx.txid}, which neither pays nor spends it`);
    }
    for (const out of [...tx.vout, ...tx.vin.map((vin) => vin.prevout)]) {
      if (out) checkAmount(NAME, `tx ${tx.txid}: an output value`, out.value);
    }
    const status = tx.status;
    return {
      txid: tx.txid,
      blockHeight: status.confirmed ? status.block_height : null,
      // Esplora does not say when it first saw a mempool tx: now is the best we know.
      time: new Date(status.confirmed ? status.block_time * 1000 : clock.now()),
      timeIsBlockTime: status.confirmed,
      fee: tx.fee,
      net: sum(outputs.map((o) => o.value)) - sum(inputs.map((vin) => vin.prevout!.value)),
    };
  }

  return {
    name: NAME,

    async getBalances(addresses, request) {
      const unique = [...new Set(addresses)];
      const found = await mapLimited(unique, parallelism, async (address) => (await addressInfo(address, request)).balance);
      return new Map(found.map((balance) => [balance.address, balance]));
    },

    async getHistory(address, { knownTxids, maxTxs, onProgress, ...request } = {}): Promise<AddressHistory> {
      // Balance before txs: a tx arriving in between then shows in the txs but not yet in the
      // balance, which the check of a complete history notices and asks the balance again.
      const { balance, confirmedTxCount } = await addressInfo(address, request);
      const path = `/address/${encodeURIComponent(address)}/txs`;
      const target = canonical(address);
      const seen = new Set<string>();
      const txs: ChainTx[] = [];
      let confirmedSeen = 0;
      let page = await txsPage(path, FIRST_PAGE + CHAIN_PAGE, request);
      let firstPage = true;
      const done = async (complete: boolean): Promise<AddressHistory> => {
        const history = { balance, txs, complete };
        if (complete && !addsUp(history)) history.balance = (await addressInfo(address, request)).balance;
        checkHistory(NAME, history);
        return history;
      };

      for (;;) {
        let reachedKnown = false;
        let newConfirmed = 0;
        let lastConfirmed: string | undefined;
        for (const tx of page) {
          if (tx.status.confirmed) lastConfirmed = tx.txid;
          if (seen.has(tx.txid)) continue;
          seen.add(tx.txid);
          if (tx.status.confirmed) newConfirmed += 1;
          // Unconfirmed txs come first, so a confirmed tx we lack may still sit below a known
          // unconfirmed one: only a known confirmed tx proves the rest is known.
          if (tx.status.confirmed && knownTxids?.has(tx.txid)) {
            reachedKnown = true;
            break;
          }
          txs.push(toChainTx(tx, target));
          if (maxTxs !== undefined && txs.length >= maxTxs) break;
        }
        confirmedSeen += newConfirmed;
        onProgress?.(txs.length, balance.txCount);

        if (reachedKnown) return done(false);
        if (maxTxs !== undefined && txs.length >= maxTxs) return done(txs.length >= balance.txCount);
        const lastPage = firstPage ? isLastFirstPage(page) : page.length < CHAIN_PAGE;
        if (lastPage || (!firstPage && newConfirmed === 0)) {
          // A page cursor that vanished (a reorg) also gives a short page: the count tells them apart.
          if (confirmedSeen < confirmedTxCount) {
            throw new ProviderError(NAME, `the history of ${address} changed while it was being paged (${confirmedSeen} of ${confirmedTxCount} confirmed txs); try again later`);
          }
          return done(true);
        }
        page = await txsPage(lastConfirmed ? `${path}/chain/${lastConfirmed}` : `${path}/chain`, CHAIN_PAGE, request);
        firstPage = false;
      }
    },

    async getTipHeight(request) {
      return parseHeight(NAME, '/blocks/tip/height', await http.get('/blocks/tip/height', request));
    },

    estimatedWaitMs: (key, lane) => http.estimatedWaitMs(key, lane),
    pausedMs: () => http.pausedMs(),
  };

  /** a page of txs, refused when it holds more than such a page can */
  async function txsPage(pathAndQuery: string, limit: number, request?: RequestOptions | AbortSignal): Promise<EsploraTx[]> {
    const page = await http.getJson(pathAndQuery, txsBody, request);
    checkPageSize(NAME, pathAndQuery, page.length, limit);
    return page;
  }
}

/** whether a history's nets add up to its balance and its txs to its count */
function addsUp({ balance, txs }: AddressHistory): boolean {
  return txs.length === balance.txCount && sum(txs.map((t) => t.net)) === balance.balance;
}

/**
 * Chain and mempool sums within supply; the chain never spent more than it funded, nor more
 * outputs than it made. The mempool alone may spend more than it funds (it spends confirmed
 * coins), but not the two together.
 */
function checkStats(path: string, chain: TxoStats, mempool: TxoStats): void {
  for (const [part, stats] of [['chain', chain], ['mempool', mempool]] as const) {
    checkAmount(NAME, `${path}: ${part} funded sum`, stats.funded_txo_sum);
    checkAmount(NAME, `${path}: ${part} spent sum`, stats.spent_txo_sum);
  }
  if (chain.spent_txo_sum > chain.funded_txo_sum || chain.spent_txo_count > chain.funded_txo_count) {
    throw new ProviderError(
      NAME,
      `${path}: the chain spent more than it funded (${chain.spent_txo_count} outputs, ${formatBtc(chain.spent_txo_sum)} spent of ${chain.funded_txo_count}, ${formatBtc(chain.funded_txo_sum)})`,
    );
  }
}

/**
 * Whether /txs holds the whole confirmed history. Blockstream's answers up to 50 mempool txs plus
 * up to 25 confirmed; mempool.space's up to 50 in all, mempool first. More than 50 can only be the
 * former; 50 or fewer could be either, so only a page short on both counts is the last.
 */
function isLastFirstPage(page: readonly EsploraTx[]): boolean {
  const confirmed = page.filter((tx) => tx.status.confirmed).length;
  return confirmed < CHAIN_PAGE && (page.length > FIRST_PAGE || page.length < FIRST_PAGE);
}

/** `fn` over `items` with at most `limit` at once, results in input order; stops starting new ones after a failure */
async function mapLimited<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = [];
  let next = 0;
  let failed = false;
  const worker = async () => {
    while (!failed && next < items.length) {
      const i = next++;
      try {
        results[i] = await fn(items[i]!);
      } catch (err) {
        failed = true;
        throw err;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

function sum(values: readonly bigint[]): bigint {
  return values.reduce((a, b) => a + b, 0n);
}
