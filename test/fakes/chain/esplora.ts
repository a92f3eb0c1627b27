/**
 * Esplora's REST API (Blockstream's esplora/electrs, and mempool.space's fork) served from a
 * FakeChain, in its real JSON shapes, paging and plain-text errors (as electrs's REST handlers give
 * them). Served from the same FakeChain as
 * the Blockchain.com fake, both tell the same story.
 */
import { looksLikeMainnetAddress } from './blockchain-info.js';
import { canonicalAddress, FakeChain, type FakeTx } from './model.js';
import { jsonResponse as json, startFakeHttpServer, textResponse as text, type FakeHttpServer, type FakeResponse, type Route } from './http.js';
import { fakeSize, scriptFor, scriptType } from './scripts.js';

export interface EsploraRouteOptions {
  /** which addresses the service accepts; default: looksLikeMainnetAddress */
  isValid?: (address: string) => boolean;
  /**
   * Also serve what only mempool's own backend has (a self-hosted mempool, not public Esplora):
   * `POST /addresses/txs/summary`.
   */
  mempoolBackend?: boolean;
  /** how the service misbehaves right now, read at each request; default: it does not */
  misbehave?: () => EsploraMisbehaviour;
}

type TxoStats = ReturnType<typeof stats>;

/**
 * Ways an Esplora instance can go wrong, each still in its wire format. Set one on
 * `fake.misbehave` and clear it (`fake.misbehave = {}`) to make the service behave again.
 */
export interface EsploraMisbehaviour {
  /** /address/A and /address/A/txs… answer with this address's data (and /address echoes it) */
  addressOf?: string;
  /** with addressOf: /address echoes the address asked even so */
  claimAsked?: boolean;
  /** these figures replace the true ones in /address */
  chainStats?: Partial<TxoStats>;
  mempoolStats?: Partial<TxoStats>;
  /** /address/A/txs lists this tx first, whatever it touches */
  extraTx?: FakeTx;
  /** /txs and /txs/chain serve every tx, not one page */
  ignorePageSize?: boolean;
}

export interface EsploraFake extends FakeHttpServer {
  readonly chain: FakeChain;
  misbehave: EsploraMisbehaviour;
}

export async function startEsploraFake({
  chain = new FakeChain(),
  latencyMs,
  ...options
}: EsploraRouteOptions & { chain?: FakeChain; latencyMs?: number } = {}): Promise<EsploraFake> {
  let fake: EsploraFake | undefined;
  const misbehave = () => fake?.misbehave ?? {};
  const server = await startFakeHttpServer('esplora', esploraRoute(chain, { ...options, misbehave }), { latencyMs });
  fake = Object.assign(server, { chain, misbehave: {} });
  return fake;
}

/** electrs defaults: `--rest-default-max-mempool-txs`, `--rest-default-chain-txs-per-page`, … */
const MEMPOOL_TXS = 50;
const CHAIN_TXS_PER_PAGE = 25;
const SUMMARY_TXS = 5_000;
const MULTI_ADDRESS_LIMIT = 300;

const invalidAddress400 = text(400, 'Invalid Bitcoin address');
const otherNetwork400 = text(400, 'Address on invalid network');
const looksLikeTestAddress = (address: string) => /^(?:tb1|bcrt1|[mn2][1-9A-HJ-NP-Za-km-z]{25,34}$)/i.test(address);

export function esploraRoute(
  chain: FakeChain,
  { isValid = looksLikeMainnetAddress, mempoolBackend = false, misbehave = () => ({}) }: EsploraRouteOptions = {},
): Route {
  return ({ method, path, body }) => {
    if (method === 'POST' && mempoolBackend && path === '/addresses/txs/summary') return groupSummary(chain, body, isValid);
    if (method !== 'GET') return undefined;

    if (path === '/blocks/tip/height') return text(200, String(chain.height));
    if (path === '/blocks/tip/hash') return text(200, chain.tip.hash);

    const tx = /^\/tx\/([^/]+)$/.exec(path);
    if (tx) {
      if (!/^[0-9a-f]{64}$/i.test(tx[1]!)) return text(400, 'Invalid hex string');
      const found = chain.getTx(tx[1]!.toLowerCase());
      return found ? json(200, txJson(found)) : text(404, 'Transaction not found');
    }

    const route = /^\/address\/([^/]+)(\/txs(?:\/(chain|mempool))?(?:\/([^/]+))?)?$/.exec(path);
    if (!route) return undefined;
    const [, input, txs, which, lastSeen] = route as unknown as [string, string, string | undefined, string | undefined, string | undefined];
    if (lastSeen !== undefined && which !== 'chain') return undefined;
    if (!isValid(input)) return looksLikeTestAddress(input) ? otherNetwork400 : invalidAddress400;

    const wrong = misbehave();
    const subject = wrong.addressOf ?? input;
    const address = canonicalAddress(subject);
    const history = chain.txsOf(new Set([address]));
    if (wrong.extraTx) history.unshift(wrong.extraTx);
    const mempool = history.filter((t) => t.block === null);
    const confirmed = history.filter((t) => t.block !== null);
    if (txs === undefined) {
      // The address comes back as it was asked for, upper-case bech32 included.
      return json(200, {
        address: wrong.claimAsked ? input : subject,
        chain_stats: { ...stats(confirmed, address), ...wrong.chainStats },
        mempool_stats: { ...stats(mempool, address), ...wrong.mempoolStats },
      });
    }
    const page = wrong.ignorePageSize ? Number.MAX_SAFE_INTEGER : CHAIN_TXS_PER_PAGE;
    if (which === 'mempool') return json(200, mempool.slice(0, MEMPOOL_TXS).map(txJson));
    if (which === 'chain') return json(200, chainPage(confirmed, lastSeen, page).map(txJson));
    return json(200, [...mempool.slice(0, MEMPOOL_TXS), ...confirmed.slice(0, page)].map(txJson));
  };
}

/**
 * The confirmed txs after `lastSeen`. As in electrs, a txid that is not hex is ignored (first page)
 * and one that is not in the history skips everything (empty page).
 */
function chainPage(confirmed: FakeTx[], lastSeen: string | undefined, size: number): FakeTx[] {
  if (lastSeen === undefined || !/^[0-9a-f]{64}$/i.test(lastSeen)) return confirmed.slice(0, size);
  const at = confirmed.findIndex((t) => t.txid === lastSeen.toLowerCase());
  return at === -1 ? [] : confirmed.slice(at + 1, at + 1 + size);
}

function stats(txs: FakeTx[], address: string) {
  const funded = txs.flatMap((t) => t.outputs).filter((o) => o.address === address);
  const spent = txs.flatMap((t) => t.inputs).filter((i) => i.address === address);
  return {
    funded_txo_count: funded.length,
    funded_txo_sum: funded.reduce((sum, o) => sum + o.value, 0n),
    spent_txo_count: spent.length,
    spent_txo_sum: spent.reduce((sum, i) => sum + i.value, 0n),
    tx_count: txs.length,
  };
}

/**
 * mempool's electrs: one list for the whole group, confirmed txs only (no mempool), newest first,
 * `value` being the group's net; invalid addresses are silently dropped; more than 300 → 422.
 */
function groupSummary(chain: FakeChain, body: string, isValid: (address: string) => boolean): FakeResponse {
  let addresses: unknown;
  try {
    addresses = JSON.parse(body);
  } catch (err) {
    return text(400, String(err));
  }
  if (!Array.isArray(addresses) || !addresses.every((a) => typeof a === 'string')) return text(400, 'invalid type: expected a sequence of strings');
  if (addresses.length > MULTI_ADDRESS_LIMIT) return text(422, 'body too long');
  const group = new Set(addresses.filter(isValid).map(canonicalAddress));
  const txs = chain.txsOf(group).filter((t) => t.block !== null).slice(0, SUMMARY_TXS);
  return json(
    200,
    txs.map((t) => ({ txid: t.txid, height: t.block!.height, value: chain.netOf(t, group), time: t.block!.time, tx_position: t.block!.txids.indexOf(t.txid) })),
  );
}

function outputJson(output: { address: string | null; value: bigint }) {
  return {
    scriptpubkey: scriptFor(output.address),
    scriptpubkey_asm: '',
    scriptpubkey_type: scriptType(output.address),
    ...(output.address === null ? {} : { scriptpubkey_address: output.address }),
    value: output.value,
  };
}

function txJson(tx: FakeTx) {
  const sequence = tx.rbf ? 4294967293 : 4294967295;
  const size = fakeSize(tx);
  return {
    txid: tx.txid,
    version: 2,
    locktime: 0,
    // A funding tx without inputs is shown as a coinbase, the way such a tx really comes to be.
    vin:
      tx.inputs.length === 0
        ? [{ txid: '0'.repeat(64), vout: 4294967295, prevout: null, scriptsig: '03a0d20c', scriptsig_asm: '', is_coinbase: true, sequence }]
        : tx.inputs.map((input) => ({
            txid: input.coin.txid,
            vout: input.coin.vout,
            prevout: outputJson(input),
            scriptsig: '',
            scriptsig_asm: '',
            is_coinbase: false,
            sequence,
          })),
    vout: tx.outputs.map(outputJson),
    size,
    weight: size * 4,
    sigops: tx.inputs.length,
    fee: tx.fee,
    status: tx.block
      ? { confirmed: true, block_height: tx.block.height, block_hash: tx.block.hash, block_time: tx.block.time }
      : { confirmed: false },
  };
}
