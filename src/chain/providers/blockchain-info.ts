/**
 * Blockchain.com's data API (https://blockchain.info): balances in batches through /balance,
 * histories page by page through /rawaddr or many at a time through /multiaddr (multiaddr.ts), and
 * the time of a confirmed tx from its block (/block-height: a tx's own `time` is when
 * Blockchain.com first saw it).
 */
import * as z from 'zod';
import { formatBtc } from '../amount.js';
import { ProviderError, type AddressBalance, type AddressHistory, type ChainProvider, type ChainTx, type RequestOptions } from '../provider.js';
import { createHttpClient, type HttpOptions } from './http.js';
import { systemClock } from './limiter.js';
import { checkAmount, checkBalance, checkEcho, checkHistory, checkPageSize, checkTotals, canonical, parseHeight } from './validate.js';
import { batches, NAME, rawTx, spentBy, sum, type RawTx, type Txo } from './blockchain-info-wire.js';
import { fetchMultiaddr } from './multiaddr.js';
import { count, sats } from './wire.js';

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

/** /rawaddr never returns more than 50 txs a page */
const PAGE_SIZE = 50;
/** how many times paging may back up because txs vanished above the current page */
const MAX_STEP_BACKS = 5;
/**
 * Block times asked per history, newest blocks first: at the public pace each is 10 s, so the
 * older txs of a long history come with the time Blockchain.com first saw them rather than cost
 * hours (a sync's refresh has a block or two of new txs, well within this); the sync asks theirs
 * a few at a time later, through getBlockTimes.
 */
const BLOCK_TIMES_PER_HISTORY = 10;
/** block times kept (a block's time never changes); the oldest go first */
const BLOCK_TIME_CACHE = 5_000;
/** the genesis block's time: no block is older */
const GENESIS_TIME = 1_231_006_505;

const balanceBody = z.record(
  z.string(),
  z.looseObject({ final_balance: sats, n_tx: count, total_received: sats }),
);

const rawAddrBody = z.looseObject({
  n_tx: count,
  total_received: sats,
  final_balance: sats,
  total_sent: sats,
  address: z.string(),
  txs: z.array(rawTx),
});
type RawAddrPage = z.output<typeof rawAddrBody>;

/** the blocks at a height (a stale one may be among them), header fields only: their txs are not read */
const blockHeightBody = z.looseObject({
  blocks: z.array(z.looseObject({ hash: z.string(), height: count, time: count, main_chain: z.boolean().optional() })),
});

export function createBlockchainInfoProvider(options: BlockchainInfoOptions): ChainProvider {
  const http = createHttpClient({ ...options, provider: NAME });
  const now = () => (options.clock ?? systemClock).now();
  /** height → unix seconds */
  const blockTimes = new Map<number, number>();

  async function blockTime(height: number, request: RequestOptions): Promise<number> {
    const path = `/block-height/${height}`;
    const body = await http.getJson(`${path}?format=json`, blockHeightBody, request);
    const block = body.blocks.find((b) => b.main_chain !== false && b.height === height);
    if (!block) throw new ProviderError(NAME, `${path} named no block of the main chain at height ${height}`);
    if (block.time < GENESIS_TIME || block.time * 1000 > now() + 2 * 3_600_000) {
      throw new ProviderError(NAME, `${path} says block ${height} has the time ${block.time}, before the first block or hours ahead`);
    }
    return block.time;
  }

  async function cachedBlockTime(height: number, request: RequestOptions): Promise<number> {
    const cached = blockTimes.get(height);
    if (cached !== undefined) return cached;
    const time = await blockTime(height, request);
    blockTimes.set(height, time);
    if (blockTimes.size > BLOCK_TIME_CACHE) blockTimes.delete(blockTimes.keys().next().value!);
    return time;
  }

  /** Give confirmed txs their block's time: cached, else asked, for the newest few blocks. */
  async function withBlockTimes(txs: ChainTx[], request: RequestOptions): Promise<void> {
    let asked = 0;
    for (const height of new Set(txs.flatMap((tx) => (tx.blockHeight === null ? [] : [tx.blockHeight])))) {
      if (blockTimes.has(height)) continue;
      if (++asked > BLOCK_TIMES_PER_HISTORY) break;
      await cachedBlockTime(height, request);
    }
    for (const tx of txs) {
      const time = tx.blockHeight === null ? undefined : blockTimes.get(tx.blockHeight);
      if (time !== undefined) {
        tx.time = new Date(time * 1000);
        tx.timeIsBlockTime = true;
      }
    }
  }

  return {
    name: NAME,

    async getBalances(addresses, request) {
      const balances = new Map<string, AddressBalance>();
      for (const batch of batches([...new Set(addresses)])) {
        const active = batch.map(encodeURIComponent).join('|');
        const body = await http.getJson(`/balance?active=${active}`, balanceBody, request);
        // Keys are the canonical text: bech32 comes back lower-case whatever case was sent.
        const asked = new Set(batch.map(canonical));
        const extra = Object.keys(body).find((key) => !asked.has(key));
        if (extra !== undefined) throw new ProviderError(NAME, `/balance answered for an address not asked for (${extra.slice(0, 100)})`);
        for (const address of batch) {
          const key = canonical(address);
          const entry = Object.hasOwn(body, key) ? body[key] : undefined;
          if (!entry) throw new ProviderError(NAME, `/balance returned no entry for ${address}`);
          const balance = { address, balance: entry.final_balance, txCount: entry.n_tx, totalReceived: entry.total_received };
          checkBalance(NAME, '/balance', balance);
          balances.set(address, balance);
        }
      }
      return balances;
    },

    async getHistory(address, { knownTxids, maxTxs, onProgress, ...request } = {}): Promise<AddressHistory> {
      const path = `/rawaddr/${encodeURIComponent(address)}`;
      const seen = new Set<string>();
      const txs: ChainTx[] = [];
      let first: RawAddrPage | undefined;
      let changing = false;
      let offset = 0;
      let stepBacks = 0;
      const done = async (complete: boolean): Promise<AddressHistory> => {
        const history = { balance: balanceOf(address, first!), txs, complete };
        checkHistory(NAME, history, { changing });
        await withBlockTimes(txs, request);
        return history;
      };

      for (;;) {
        const page = await http.getJson(`${path}?limit=${PAGE_SIZE}&offset=${offset}`, rawAddrBody, request);
        checkPage(path, address, page);
        first ??= page;
        changing ||= page.n_tx !== first.n_tx || page.final_balance !== first.final_balance;

        // Pages overlap by one tx. If that tx is not one we have, txs above vanished (replaced,
        // evicted) and the window slid past some we never saw: back up and come forward again.
        // Txs arriving above only shift the window the other way, which de-duplication absorbs.
        const top = page.txs[0];
        if (offset > 0 && top && !seen.has(top.hash)) {
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
          txs.push({ txid: tx.hash, blockHeight: tx.block_height, time: new Date(tx.time * 1000), timeIsBlockTime: false, fee: tx.fee, net: tx.result });
          if (maxTxs !== undefined && txs.length >= maxTxs) break;
        }
        onProgress?.(txs.length, page.n_tx);

        if (reachedKnown) return done(false);
        if (maxTxs !== undefined && txs.length >= maxTxs) return done(txs.length >= page.n_tx);
        if (page.txs.length < PAGE_SIZE || offset + page.txs.length >= page.n_tx) return done(true);
        offset += page.txs.length - 1;
      }
    },

    async getHistories(addresses, { onProgress, ...request } = {}) {
      // Asked by canonical text, once however many spellings were given, answered for each.
      const spellings = new Map<string, string[]>();
      for (const address of new Set(addresses)) spellings.set(canonical(address), [...(spellings.get(canonical(address)) ?? []), address]);
      const histories = new Map<string, AddressHistory>();
      let fetched = 0;
      for (const batch of batches([...spellings.keys()])) {
        const answered = await fetchMultiaddr(http, batch, request);
        // The batch's newest blocks get their times, as many as one history's would: the wallet's
        // newest transactions, which /txns shows first, are always among them, and a scan of 50
        // addresses costs at most as many block calls as one address. The sync mends the rest
        // (BLOCK_TIMES_PER_PASS), where 10 a history cost a 160-address wallet 80 calls here.
        const txs = batch.flatMap((key) => answered.get(key)!.txs).sort((a, b) => (b.blockHeight ?? Infinity) - (a.blockHeight ?? Infinity));
        await withBlockTimes(txs, request);
        for (const key of batch) {
          const history = answered.get(key)!;
          for (const address of spellings.get(key)!) histories.set(address, { ...history, balance: { ...history.balance, address } });
          fetched++;
        }
        onProgress?.(fetched, spellings.size);
      }
      return histories;
    },

    async getTipHeight(request) {
      return parseHeight(NAME, '/q/getblockcount', await http.get('/q/getblockcount', request));
    },

    async getBlockTimes(heights, request = {}) {
      const times = new Map<number, Date>();
      for (const height of new Set(heights)) times.set(height, new Date((await cachedBlockTime(height, request)) * 1000));
      return times;
    },

    estimatedWaitMs: (key, lane) => http.estimatedWaitMs(key, lane),
    pausedMs: () => http.pausedMs(),
  };
}

function balanceOf(address: string, page: RawAddrPage): AddressBalance {
  return { address, balance: page.final_balance, txCount: page.n_tx, totalReceived: page.total_received };
}

/**
 * A /rawaddr page is about the address asked, no longer than asked, with totals that add up, and
 * only txs that touch the address, each with the `result` its inputs and outputs give.
 */
function checkPage(path: string, address: string, page: RawAddrPage): void {
  checkEcho(NAME, path, address, page.address);
  checkPageSize(NAME, path, page.txs.length, PAGE_SIZE);
  checkBalance(NAME, path, balanceOf(address, page));
  checkTotals(NAME, path, { received: page.total_received, sent: page.total_sent, balance: page.final_balance });
  for (const tx of page.txs) checkTx(path, canonical(address), tx);
}

function checkTx(path: string, address: string, tx: RawTx): void {
  const what = `${path}: tx ${tx.hash}`;
  const spent = spentBy(tx);
  for (const output of [...spent, ...tx.out]) checkAmount(NAME, `${what}: an output value`, output.value);
  const mine = (output: Txo) => output.addr === address;
  if (!spent.some(mine) && !tx.out.some(mine)) {
    throw new ProviderError(NAME, `${what} neither pays nor spends ${address}`);
  }
  const net = sum(tx.out.filter(mine)) - sum(spent.filter(mine));
  if (net !== tx.result) {
    throw new ProviderError(NAME, `${what} says it moved ${formatBtc(tx.result)} but its inputs and outputs give ${formatBtc(net)}`);
  }
}
