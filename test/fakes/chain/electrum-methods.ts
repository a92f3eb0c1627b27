/**
 * The methods of the Electrum fake (electrum.ts): each line a request or a batch, answered as
 * electrs and Fulcrum answer, and the notifications a chain change leads to. Error codes are
 * JSON-RPC's (-32700 parse error, -32600 invalid request, -32601 unknown method, -32602 bad
 * params), ElectrumX's 1 (bad request) and 2 (daemon error), and Fulcrum's 4 for its cap.
 */
import { createHash } from 'node:crypto';
import type { Socket } from 'node:net';
import { stringify } from 'lossless-json';
import type { ChainChange, FakeChain, FakeTx } from './model.js';
import { merkleBranch } from './raw.js';

export interface ElectrumHistoryEntry {
  tx_hash: string;
  height: number;
  fee?: bigint;
}

/** Ways a server can go wrong, read at each request. Set one on `fake.misbehave`; `{}` to behave. */
export interface ElectrumMisbehaviour {
  /** get_history answers this instead (and subscribe's status is still the true one) */
  history?: (scriptHash: string, truth: ElectrumHistoryEntry[]) => ElectrumHistoryEntry[];
  /** blockchain.transaction.get answers this hex instead */
  rawTx?: (txid: string, truth: string) => string;
  /** requests for which this is true get no answer at all */
  ignore?: (method: string) => boolean;
  /** a batch's answers come back last first (the spec lets them come in any order) */
  reverseBatches?: boolean;
}

export interface ElectrumRequestLog {
  /** as the client sent it */
  id: unknown;
  method: string;
  params: unknown;
  /** which connection, numbered from 1 */
  session: number;
  at: number;
}

/** one connection */
export interface Session {
  id: number;
  socket: Socket;
  versioned: boolean;
  headers: boolean;
  /** script hash → the status last told to this connection */
  subscribed: Map<string, string | null>;
}

/** A JSON-RPC error as the server answers it. */
export class RpcFault extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}

const sha256Hex = (data: string | Uint8Array) => createHash('sha256').update(data).digest('hex');

interface Deps {
  chain: FakeChain;
  /** script hash → address */
  addresses: ReadonlyMap<string, string>;
  protocol: readonly [string, string];
  subscriptions: () => number;
  cap: () => number;
  misbehave: () => ElectrumMisbehaviour;
}

const SOFTWARE = 'satbell fake electrum 1.0';
/** headers in one blockchain.block.headers answer, as electrs and Fulcrum cap it */
const MAX_HEADERS = 2016;
const HEX64 = /^[0-9a-fA-F]{64}$/;

interface Request {
  id?: unknown;
  method?: unknown;
  params?: unknown;
}

export default function electrumMethods({ chain, addresses, protocol, subscriptions, cap, misbehave }: Deps) {
  const send = (session: Session, message: unknown) => {
    if (!session.socket.destroyed) session.socket.write(`${stringify(message)}\n`);
  };
  const notify = (session: Session, method: string, params: unknown[]) => send(session, { jsonrpc: '2.0', method, params });

  function history(scriptHash: string): ElectrumHistoryEntry[] {
    const address = addresses.get(scriptHash.toLowerCase());
    if (address === undefined) return [];
    const txs = chain.txsOf(new Set([address]));
    const confirmed = txs
      .filter((t) => t.block !== null)
      .sort((a, b) => a.block!.height - b.block!.height || a.block!.txids.indexOf(a.txid) - b.block!.txids.indexOf(b.txid))
      .map((t) => ({ tx_hash: t.txid, height: t.block!.height }));
    const mempool = txs
      .filter((t) => t.block === null)
      .map((t) => ({ tx_hash: t.txid, height: mempoolHeight(t), fee: t.fee }))
      .sort((a, b) => b.height - a.height || (a.tx_hash < b.tx_hash ? -1 : 1));
    return [...confirmed, ...mempool];
  }

  /** 0 when every input spends a confirmed coin (or one outside the chain), -1 otherwise */
  const mempoolHeight = (tx: FakeTx) => (tx.inputs.some((i) => chain.getTx(i.coin.txid)?.block === null) ? -1 : 0);

  const status = (scriptHash: string): string | null => {
    const entries = history(scriptHash);
    return entries.length === 0 ? null : sha256Hex(entries.map((e) => `${e.tx_hash}:${e.height}:`).join(''));
  };

  function balance(scriptHash: string) {
    const address = addresses.get(scriptHash.toLowerCase());
    let confirmed = 0n;
    let unconfirmed = 0n;
    if (address !== undefined) {
      const set = new Set([address]);
      for (const tx of chain.txsOf(set)) {
        if (tx.block) confirmed += chain.netOf(tx, set);
        else unconfirmed += chain.netOf(tx, set);
      }
    }
    return { confirmed, unconfirmed };
  }

  const header = (height: number) => {
    const block = chain.blockAt(height);
    if (!block) throw new RpcFault(1, `height ${height} out of range`);
    return block.header;
  };

  function scriptHashParam(params: unknown[]): string {
    const [scriptHash] = params;
    if (typeof scriptHash !== 'string' || !HEX64.test(scriptHash)) throw new RpcFault(1, `${String(scriptHash)} is not a valid script hash`);
    return scriptHash.toLowerCase();
  }

  function call(session: Session, method: string, params: unknown[]): unknown {
    switch (method) {
      case 'server.version':
        throw new RpcFault(1, 'server.version already sent');
      case 'server.ping':
        return null;
      // What the real Electrum wallet asks for on connecting, answered as a quiet regtest server does.
      case 'server.banner':
        return SOFTWARE;
      case 'server.donation_address':
        return '';
      case 'server.peers.subscribe':
      case 'mempool.get_fee_histogram':
        return [];
      case 'blockchain.estimatefee':
      case 'blockchain.relayfee':
        return 0.00001;
      case 'server.features':
        return { server_version: SOFTWARE, protocol_min: protocol[0], protocol_max: protocol[1], hash_function: 'sha256', genesis_hash: chain.blockAt(lowest(chain))!.hash, pruning: null, hosts: {} };
      case 'blockchain.headers.subscribe':
        session.headers = true;
        return { height: chain.height, hex: chain.tip.header };
      case 'blockchain.block.header': {
        const [height] = params;
        if (typeof height !== 'number' || !Number.isInteger(height)) throw new RpcFault(-32602, 'height must be an integer');
        return header(height);
      }
      // How the real Electrum wallet syncs headers: chunks of up to 2016 from a height.
      case 'blockchain.block.headers': {
        const [start, count] = params;
        if (!isHeight(start) || !isHeight(count)) throw new RpcFault(-32602, 'start_height and count must be non-negative integers');
        const hex: string[] = [];
        for (let height = start; height < start + Math.min(count, MAX_HEADERS); height++) {
          const block = chain.blockAt(height);
          if (!block) break;
          hex.push(block.header);
        }
        return { count: hex.length, hex: hex.join(''), max: MAX_HEADERS };
      }
      case 'blockchain.scripthash.subscribe': {
        const scriptHash = scriptHashParam(params);
        if (!session.subscribed.has(scriptHash) && subscriptions() >= cap()) throw new RpcFault(4, 'Subscription limit reached');
        const current = status(scriptHash);
        session.subscribed.set(scriptHash, current);
        return current;
      }
      case 'blockchain.scripthash.unsubscribe':
        return session.subscribed.delete(scriptHashParam(params));
      case 'blockchain.scripthash.get_history': {
        const scriptHash = scriptHashParam(params);
        const truth = history(scriptHash);
        return misbehave().history?.(scriptHash, truth) ?? truth;
      }
      case 'blockchain.scripthash.get_mempool':
        return history(scriptHashParam(params)).filter((e) => e.height <= 0);
      case 'blockchain.scripthash.get_balance':
        return balance(scriptHashParam(params));
      case 'blockchain.transaction.get': {
        const [txid, verbose] = params;
        if (typeof txid !== 'string' || !HEX64.test(txid)) throw new RpcFault(1, `${String(txid)} should be a transaction hash`);
        // electrs has no verbose form
        if (verbose === true) throw new RpcFault(1, 'verbose transactions are currently unsupported');
        const raw = chain.rawTx(txid.toLowerCase());
        if (raw === undefined) throw new RpcFault(2, 'No such mempool or blockchain transaction. Use gettransaction for wallet transactions.');
        return misbehave().rawTx?.(txid.toLowerCase(), raw) ?? raw;
      }
      case 'blockchain.transaction.get_merkle': {
        const [txid, height] = params;
        if (typeof txid !== 'string' || !HEX64.test(txid) || !isHeight(height)) throw new RpcFault(-32602, 'expected a tx hash and a height');
        const block = chain.getTx(txid.toLowerCase())?.block;
        // the height is the client's hint of where to look; a tx not in that block is an error
        if (!block || block.height !== height) throw new RpcFault(1, `tx ${txid} not in block at height ${height}`);
        const pos = block.txids.indexOf(txid.toLowerCase());
        return { block_height: block.height, merkle: merkleBranch(block.txids, pos), pos };
      }
      default:
        throw new RpcFault(-32601, `unknown method "${method}"`);
    }
  }

  /** the answer to one request, or undefined when it gets none (a notification, or misbehave.ignore) */
  function answer(session: Session, request: unknown, log: ElectrumRequestLog[]): object | undefined {
    if (typeof request !== 'object' || request === null || Array.isArray(request)) return fault(null, new RpcFault(-32600, 'invalid request'));
    const { id = null, method, params = [] } = request as Request;
    if (typeof method !== 'string') return fault(id, new RpcFault(-32600, 'invalid request: no method'));
    log.push({ id, method, params, session: session.id, at: Date.now() });
    if (misbehave().ignore?.(method)) return undefined;
    if (!Array.isArray(params)) return fault(id, new RpcFault(-32602, 'params must be an array'));
    try {
      return { jsonrpc: '2.0', id, result: call(session, method, params) };
    } catch (err) {
      if (err instanceof RpcFault) return fault(id, err);
      throw err;
    }
  }

  /** server.version, the one request a connection may (and must) begin with */
  function negotiate(session: Session, request: Request): boolean {
    const params = Array.isArray(request.params) ? request.params : [];
    const asked = params[1] ?? '1.4';
    const [clientMin, clientMax] = Array.isArray(asked) ? asked.map(String) : [String(asked), String(asked)];
    const version = minVersion(clientMax!, protocol[1]);
    if (compare(version, maxVersion(clientMin!, protocol[0])) < 0) {
      // no version in common: the spec says the server closes the connection
      session.socket.destroy();
      return false;
    }
    session.versioned = true;
    send(session, { jsonrpc: '2.0', id: request.id ?? null, result: [SOFTWARE, version] });
    return true;
  }

  return {
    notify,

    handleLine(session: Session, line: string, log: ElectrumRequestLog[]): void {
      let parsed: unknown;
      try {
        parsed = JSON.parse(line);
      } catch {
        return send(session, fault(null, new RpcFault(-32700, 'parse error')));
      }
      if (!session.versioned) {
        const first = parsed as Request;
        if (typeof first === 'object' && first !== null && !Array.isArray(first) && first.method === 'server.version') {
          log.push({ id: first.id, method: 'server.version', params: first.params, session: session.id, at: Date.now() });
          negotiate(session, first);
          return;
        }
        // 1.6: "server.version must be the first message"; we say so, then hang up
        send(session, fault((first as Request)?.id ?? null, new RpcFault(-32600, 'server.version must be the first message')));
        session.socket.end();
        return;
      }
      if (!Array.isArray(parsed)) {
        const reply = answer(session, parsed, log);
        if (reply) send(session, reply);
        return;
      }
      if (parsed.length === 0) return send(session, fault(null, new RpcFault(-32600, 'empty batch')));
      const replies = parsed.map((r) => answer(session, r, log)).filter((r) => r !== undefined);
      if (misbehave().reverseBatches) replies.reverse();
      if (replies.length > 0) send(session, replies);
    },

    /** after a chain change: the new tip, and each subscribed script hash whose status moved */
    pushChanges(session: Session, change: ChainChange, touched: ReadonlySet<string>): void {
      if (change.kind === 'block' && session.headers) notify(session, 'blockchain.headers.subscribe', [{ height: change.block.height, hex: change.block.header }]);
      for (const scriptHash of touched) {
        if (!session.subscribed.has(scriptHash)) continue;
        const now = status(scriptHash);
        if (now === session.subscribed.get(scriptHash)) continue;
        session.subscribed.set(scriptHash, now);
        notify(session, 'blockchain.scripthash.subscribe', [scriptHash, now]);
      }
    },
  };
}

const isHeight = (n: unknown): n is number => typeof n === 'number' && Number.isInteger(n) && n >= 0;

const fault = (id: unknown, err: RpcFault) => ({ jsonrpc: '2.0', id, error: { code: err.code, message: err.message } });

function lowest(chain: FakeChain): number {
  let height = chain.height;
  while (chain.blockAt(height - 1)) height--;
  return height;
}

function compare(a: string, b: string): number {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

const minVersion = (a: string, b: string) => (compare(a, b) <= 0 ? a : b);
const maxVersion = (a: string, b: string) => (compare(a, b) >= 0 ? a : b);
