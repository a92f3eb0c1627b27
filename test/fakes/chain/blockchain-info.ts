/**
 * Blockchain.com's data API (https://blockchain.info) served from a FakeChain, in its real JSON
 * shapes and error bodies. Amounts are written as JSON
 * integers straight from bigint, so values above 2^53 survive the trip.
 */
import { canonicalAddress, FakeChain, type FakeBlock, type FakeTx } from './model.js';
import { jsonResponse as json, startFakeHttpServer, textResponse, type FakeHttpServer, type Route } from './http.js';
import { merkleRoot } from './raw.js';
import { fakeSize, hash160, scriptFor } from './scripts.js';

export interface BlockchainInfoRouteOptions {
  /** which addresses the service accepts; default: looksLikeMainnetAddress */
  isValid?: (address: string) => boolean;
  /** how the service misbehaves right now, read at each request; default: it does not */
  misbehave?: () => BlockchainInfoMisbehaviour;
}

/**
 * Ways the real service has been seen to go wrong, each still in its wire format. Set one on
 * `fake.misbehave` and clear it (`fake.misbehave = {}`) to make the service behave again.
 */
export interface BlockchainInfoMisbehaviour {
  /** /rawaddr of any address answers with this address's data, its `address` field included */
  rawaddrOf?: string;
  /** with rawaddrOf: the `address` field names the address asked even so */
  claimAsked?: boolean;
  /** these figures replace the true ones in every /balance entry, /rawaddr body and /multiaddr address */
  figures?: Partial<{ final_balance: bigint; total_received: bigint; total_sent: bigint; n_tx: number }>;
  /** /rawaddr and /multiaddr list this tx first, with `result` as given (default: what it did to the address or set) */
  extraTx?: { tx: FakeTx; result?: bigint };
  /** /multiaddr's `addresses` leaves this address out */
  multiaddrOmits?: string;
  /** called before each /multiaddr page is made, with its offset: a way to change the chain between pages */
  beforeMultiaddrPage?: (offset: number) => void;
  /** /rawaddr ignores `limit` and serves every tx from `offset` on */
  ignoreLimit?: boolean;
}

export interface BlockchainInfoFake extends FakeHttpServer {
  readonly chain: FakeChain;
  misbehave: BlockchainInfoMisbehaviour;
}

/** mainnet P2PKH/P2SH (base58) or bc1 (bech32, one case): the shape only, no checksum */
export function looksLikeMainnetAddress(address: string): boolean {
  if (/^[13][1-9A-HJ-NP-Za-km-z]{25,34}$/.test(address)) return true;
  const lower = address.toLowerCase();
  return (address === lower || address === address.toUpperCase()) && /^bc1[02-9ac-hj-np-z]{11,71}$/.test(lower);
}

export async function startBlockchainInfoFake({
  chain = new FakeChain(),
  isValid,
  latencyMs,
}: BlockchainInfoRouteOptions & { chain?: FakeChain; latencyMs?: number } = {}): Promise<BlockchainInfoFake> {
  let fake: BlockchainInfoFake | undefined;
  const misbehave = () => fake?.misbehave ?? {};
  const server = await startFakeHttpServer('blockchain.info', blockchainInfoRoute(chain, { isValid, misbehave }), { latencyMs });
  fake = Object.assign(server, { chain, misbehave: {} });
  return fake;
}

const PAGE_LIMIT = { rawaddr: 50, multiaddr: 100 };
const TX_INDEX_BASE = 5_000_000_000_000_000;
const PREV_TX_INDEX_BASE = 4_000_000_000_000_000;

const invalidAddress400 = json(400, { error: 'user-error', message: 'invalid address' });
const notFound404 = json(404, { error: 'not-found-or-invalid-arg', message: 'Item not found or argument invalid' });

export function blockchainInfoRoute(
  chain: FakeChain,
  { isValid = looksLikeMainnetAddress, misbehave = () => ({}) }: BlockchainInfoRouteOptions = {},
): Route {
  /** the canonical, de-duplicated addresses of `active`, or undefined when one is invalid */
  const parseActive = (active: string | undefined): string[] | undefined => {
    const pieces = (active ?? '').split(/[|,]/).filter((p) => p !== '');
    if (!pieces.every(isValid)) return undefined;
    return [...new Set(pieces.map(canonicalAddress))];
  };

  return ({ method, path, query }) => {
    if (method !== 'GET') return undefined;
    if (path === '/balance') {
      const addresses = parseActive(query.active);
      if (!addresses) return invalidAddress400;
      const { figures = {} } = misbehave();
      return json(200, Object.fromEntries(addresses.map((a) => {
        const s = chain.summary(a);
        const { final_balance = s.balance, n_tx = s.nTx, total_received = s.totalReceived } = figures;
        return [a, { final_balance, n_tx, total_received }];
      })));
    }

    const rawaddr = /^\/rawaddr\/([^/]+)$/.exec(path);
    if (rawaddr) {
      const input = rawaddr[1]!;
      if (!isValid(input)) return notFound404;
      const wrong = misbehave();
      const asked = canonicalAddress(input);
      const address = wrong.rawaddrOf === undefined ? asked : canonicalAddress(wrong.rawaddrOf);
      const s = chain.summary(address);
      const limit = wrong.ignoreLimit ? Number.MAX_SAFE_INTEGER : intParam(query.limit, 50, PAGE_LIMIT.rawaddr);
      const offset = intParam(query.offset, 0, Number.MAX_SAFE_INTEGER);
      const txs = txsInContext(chain, new Set([address]));
      if (wrong.extraTx) {
        const { tx, result = chain.netOf(tx, new Set([address])) } = wrong.extraTx;
        txs.unshift({ ...txJson(chain, tx), result, balance: s.balance });
      }
      return json(200, {
        hash160: hash160(address),
        address: wrong.claimAsked ? asked : address,
        n_tx: s.nTx,
        n_unredeemed: unredeemed(chain, address),
        total_received: s.totalReceived,
        total_sent: s.totalSent,
        final_balance: s.balance,
        ...wrong.figures,
        txs: txs.slice(offset, offset + limit),
      });
    }

    if (path === '/multiaddr') {
      const addresses = parseActive(query.active);
      if (!addresses) return invalidAddress400;
      const n = intParam(query.n, 50, PAGE_LIMIT.multiaddr);
      const offset = intParam(query.offset, 0, Number.MAX_SAFE_INTEGER);
      const wrong = misbehave();
      wrong.beforeMultiaddrPage?.(offset);
      const summaries = addresses.map((a) => chain.summary(a));
      const set = new Set(addresses);
      const all = txsInContext(chain, set);
      if (wrong.extraTx) {
        const { tx, result = chain.netOf(tx, set) } = wrong.extraTx;
        all.unshift({ ...txJson(chain, tx), result, balance: summaries.reduce((acc, s) => acc + s.balance, 0n) });
      }
      const txs = all.slice(offset, offset + n);
      const total = (pick: (s: (typeof summaries)[number]) => bigint) => summaries.reduce((acc, s) => acc + pick(s), 0n);
      const omitted = wrong.multiaddrOmits === undefined ? undefined : canonicalAddress(wrong.multiaddrOmits);
      return json(200, {
        // The real order is not guaranteed: sorted here, so that a client relying on it fails.
        addresses: summaries
          .filter((s) => s.address !== omitted)
          .sort((a, b) => (a.address < b.address ? -1 : 1))
          .map((s) => ({
            address: s.address,
            final_balance: s.balance,
            n_tx: s.nTx,
            total_received: s.totalReceived,
            total_sent: s.totalSent,
            ...wrong.figures,
          })),
        wallet: {
          // The docs call this the total; the server code counts this page. Clients must not rely on it.
          n_tx: txs.length,
          n_tx_filtered: txs.length,
          total_received: total((s) => s.totalReceived),
          total_sent: total((s) => s.totalSent),
          final_balance: total((s) => s.balance),
        },
        txs,
        info: {
          nconnected: 0,
          conversion: 100000000,
          symbol_local: { code: 'USD', symbol: '$', name: 'U.S. dollar', conversion: 1, symbolAppearsAfter: false, local: true },
          symbol_btc: { code: 'BTC', symbol: 'BTC', name: 'Bitcoin', conversion: 100000000, symbolAppearsAfter: true, local: false },
          latest_block: { block_index: chain.height, hash: chain.tip.hash, height: chain.height, time: chain.tip.time },
        },
        recommend_include_fee: true,
      });
    }

    if (path === '/latestblock') {
      const tip = chain.tip;
      return json(200, {
        hash: tip.hash,
        time: tip.time,
        block_index: tip.height,
        height: tip.height,
        txIndexes: tip.txids.map((txid) => TX_INDEX_BASE + chain.getTx(txid)!.seq),
      });
    }

    if (path === '/q/getblockcount') return textResponse(200, String(chain.height));

    const blockHeight = /^\/block-height\/(\d+)$/.exec(path);
    if (blockHeight) {
      const block = chain.blockAt(Number(blockHeight[1]));
      return block ? json(200, { blocks: [blockJson(chain, block)] }) : notFound404;
    }

    return undefined;
  };
}

/** the txs of an address set, newest first, each with `result` and `balance` for the whole set */
function txsInContext(chain: FakeChain, addresses: ReadonlySet<string>): object[] {
  const txs = chain.txsOf(addresses);
  const balances: bigint[] = [];
  let running = 0n;
  for (let i = txs.length - 1; i >= 0; i--) {
    running += chain.netOf(txs[i]!, addresses);
    balances[i] = running;
  }
  return txs.map((tx, i) => ({ ...txJson(chain, tx), result: chain.netOf(tx, addresses), balance: balances[i]!, ...(tx.rbf ? { rbf: true } : {}) }));
}

function txJson(chain: FakeChain, tx: FakeTx) {
  const txIndex = TX_INDEX_BASE + tx.seq;
  const size = fakeSize(tx);
  return {
    hash: tx.txid,
    ver: 2,
    vin_sz: tx.inputs.length,
    vout_sz: tx.outputs.length,
    size,
    weight: size * 4,
    fee: tx.fee,
    relayed_by: '0.0.0.0',
    lock_time: 0,
    tx_index: txIndex,
    double_spend: false,
    // When Blockchain.com first saw it, confirmed or not: the block's time is the block's.
    time: tx.firstSeen,
    block_index: tx.block?.height ?? null,
    block_height: tx.block?.height ?? null,
    inputs: tx.inputs.map((input, n) => ({
      sequence: tx.rbf ? 4294967293 : 4294967295,
      witness: '',
      script: '',
      index: n,
      prev_out: {
        type: 0,
        spent: true,
        value: input.value,
        spending_outpoints: [{ tx_index: txIndex, n }],
        n: input.coin.vout,
        tx_index: PREV_TX_INDEX_BASE + tx.seq * 100 + n,
        script: scriptFor(input.address),
        addr: input.address,
      },
    })),
    out: tx.outputs.map((output, n) => ({
      type: 0,
      ...spending(chain, tx, n),
      value: output.value,
      n,
      tx_index: txIndex,
      script: output.script,
      ...(output.address === null ? {} : { addr: output.address }),
    })),
  };
}

/** whether output `n` of `tx` is spent, and by which input of which tx */
function spending(chain: FakeChain, tx: FakeTx, n: number) {
  const spender = chain.spenderOf({ txid: tx.txid, vout: n });
  if (!spender) return { spent: false, spending_outpoints: [] };
  const input = spender.inputs.findIndex((i) => i.coin.txid === tx.txid && i.coin.vout === n);
  return { spent: true, spending_outpoints: [{ tx_index: TX_INDEX_BASE + spender.seq, n: input }] };
}

/** a block as /block-height answers it: header fields, then its txs in full */
function blockJson(chain: FakeChain, block: FakeBlock) {
  const txs = block.txids.map((txid) => chain.getTx(txid)).filter((tx) => tx !== undefined);
  const previous = chain.blockAt(block.height - 1);
  return {
    hash: block.hash,
    ver: 536870912,
    prev_block: previous?.hash ?? '0'.repeat(64),
    mrkl_root: merkleRoot(block.txids),
    time: block.time,
    bits: 386089497,
    next_block: [],
    fee: txs.reduce((total, tx) => total + tx.fee, 0n),
    nonce: 0,
    n_tx: txs.length,
    size: txs.reduce((total, tx) => total + fakeSize(tx), 80),
    block_index: block.height,
    main_chain: true,
    height: block.height,
    weight: txs.reduce((total, tx) => total + fakeSize(tx) * 4, 320),
    tx: txs.map((tx) => txJson(chain, tx)),
  };
}

/** rough: outputs paid to the address minus inputs taken from it, as coins are not modelled */
function unredeemed(chain: FakeChain, address: string): number {
  const txs = chain.txsOf(new Set([address]));
  const outs = txs.flatMap((t) => t.outputs).filter((o) => o.address === address).length;
  const ins = txs.flatMap((t) => t.inputs).filter((i) => i.address === address).length;
  return Math.max(0, outs - ins);
}

function intParam(value: string | undefined, fallback: number, max: number): number {
  if (value === undefined || !/^\d+$/.test(value)) return fallback;
  return Math.min(Number(value), max);
}
