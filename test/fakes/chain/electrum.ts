/**
 * An Electrum server (as electrs or Fulcrum speak it) over a FakeChain, on a loopback port:
 * newline-delimited JSON-RPC 2.0, batches, `server.version` first, script hash subscriptions whose
 * status is the spec's, notifications pushed when the chain changes (a new tx, a block, a tx
 * replaced or evicted), JSON-RPC errors for unknown methods and bad params, and Fulcrum's
 * subscription cap. Served from the same chain as the HTTP fakes, it tells the same story: the
 * same txids, and raw transactions whose nets and fees are the ones those fakes show. Over a
 * regtest chain (`new FakeChain({ regtest: true })`) the real Electrum wallet, on --regtest,
 * accepts it: it syncs the headers, and verifies each confirmed tx's merkle proof.
 *
 * Fault knobs for tests: drop every connection, stop and restart listening, send any bytes
 * (a malformed or oversized line), notify a script hash nobody subscribed, lie in a history or a
 * raw tx, or leave requests unanswered.
 */
import { createHash } from 'node:crypto';
import { createServer as createTcpServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { createServer as createTlsServer } from 'node:tls';
import electrumMethods, { type ElectrumMisbehaviour, type ElectrumRequestLog, type Session } from './electrum-methods.js';
import { type ChainChange, type FakeChain, type FakeTx } from './model.js';
import { scriptFor } from './scripts.js';

export type { ElectrumHistoryEntry, ElectrumMisbehaviour, ElectrumRequestLog } from './electrum-methods.js';

export interface ElectrumFakeOptions {
  chain: FakeChain;
  /** the protocol versions it speaks; default ['1.4', '1.6'] */
  protocol?: readonly [string, string];
  /** subscriptions (script hashes) held at once over all connections, as Fulcrum's max_subs_per_ip for loopback; default unlimited */
  maxSubscriptions?: number;
  /** serve TLS (ssl://) with this key and certificate instead of plain TCP */
  tls?: { key: string | Buffer; cert: string | Buffer };
}

export interface ElectrumFake {
  readonly chain: FakeChain;
  readonly host: string;
  readonly port: number;
  /** tcp://127.0.0.1:PORT, or ssl://… with TLS, as ELECTRUM_SERVERS lists it */
  readonly url: string;
  /** every request received, oldest first (each call of a batch on its own) */
  readonly requests: ElectrumRequestLog[];
  maxSubscriptions: number;
  misbehave: ElectrumMisbehaviour;
  /** connections open now */
  connections(): number;
  /** script hashes subscribed now, over all connections */
  subscriptions(): number;
  /** cuts every connection, as a server restart or a network failure does; it keeps listening */
  dropAll(): void;
  /** stops listening and cuts every connection: a server that is down */
  stop(): Promise<void>;
  /** listens again on the same port */
  restart(): Promise<void>;
  /** writes `data` as it is to every connection that has negotiated a version */
  sendRaw(data: string): void;
  /** pushes a status notification for `scriptHash` to every connection, subscribed or not */
  notifyScriptHash(scriptHash: string, status: string | null): void;
  close(): Promise<void>;
}

/** the script hash of an address's output script, as servers index it */
export const fakeScriptHash = (address: string | null): string => Buffer.from(createHash('sha256').update(Buffer.from(scriptFor(address), 'hex')).digest()).reverse().toString('hex');

export async function startElectrumFake({ chain, protocol = ['1.4', '1.6'], maxSubscriptions = Infinity, tls }: ElectrumFakeOptions): Promise<ElectrumFake> {
  const sessions = new Set<Session>();
  const requests: ElectrumRequestLog[] = [];
  /** script hash → the address it is of, for every address the chain has seen */
  const addresses = new Map<string, string>();
  const learn = (tx: FakeTx) => {
    for (const a of [...tx.inputs.map((i) => i.address), ...tx.outputs.map((o) => o.address)]) if (a !== null) addresses.set(fakeScriptHash(a), a);
  };
  for (const tx of chain.transactions()) learn(tx);

  let nextSession = 0;
  const methods = electrumMethods({ chain, addresses, protocol, subscriptions: () => countSubscriptions(), cap: () => fake.maxSubscriptions, misbehave: () => fake.misbehave });
  const countSubscriptions = () => [...sessions].reduce((n, s) => n + s.subscribed.size, 0);

  const onConnection = (socket: Socket) => {
    const session: Session = { id: ++nextSession, socket, versioned: false, headers: false, subscribed: new Map() };
    sessions.add(session);
    socket.setNoDelay(true);
    let buffered = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      buffered += chunk;
      for (let nl = buffered.indexOf('\n'); nl !== -1; nl = buffered.indexOf('\n')) {
        const line = buffered.slice(0, nl).trim();
        buffered = buffered.slice(nl + 1);
        if (line !== '' && !socket.destroyed) methods.handleLine(session, line, requests);
      }
    });
    socket.on('error', () => socket.destroy());
    socket.on('close', () => sessions.delete(session));
  };

  let server: Server = tls ? createTlsServer(tls, onConnection) : createTcpServer(onConnection);
  const listen = (port: number) =>
    new Promise<number>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve((server.address() as AddressInfo).port));
    });
  const port = await listen(0);

  const stopChanges = chain.onChange((change) => {
    if (change.kind === 'tx') learn(change.tx);
    for (const session of sessions) if (session.versioned) methods.pushChanges(session, change, touchedScriptHashes(chain, change));
  });

  const dropAll = () => {
    for (const session of sessions) session.socket.destroy();
    sessions.clear();
  };
  const stop = () =>
    new Promise<void>((resolve) => {
      dropAll();
      if (!server.listening) return resolve();
      server.close(() => resolve());
    });

  const fake: ElectrumFake = {
    chain,
    host: '127.0.0.1',
    port,
    url: `${tls ? 'ssl' : 'tcp'}://127.0.0.1:${port}`,
    requests,
    maxSubscriptions,
    misbehave: {},
    connections: () => sessions.size,
    subscriptions: countSubscriptions,
    dropAll,
    stop,
    async restart() {
      if (server.listening) return;
      server = tls ? createTlsServer(tls, onConnection) : createTcpServer(onConnection);
      await listen(port);
    },
    sendRaw(data) {
      for (const session of sessions) if (session.versioned) session.socket.write(data);
    },
    notifyScriptHash(scriptHash, status) {
      for (const session of sessions) if (session.versioned) methods.notify(session, 'blockchain.scripthash.subscribe', [scriptHash, status]);
    },
    async close() {
      stopChanges();
      await stop();
    },
  };
  return fake;
}

/** the script hashes whose status `change` may have changed */
function touchedScriptHashes(chain: FakeChain, change: ChainChange): Set<string> {
  const txs = change.kind === 'block' ? [...change.txs] : [change.tx];
  // A mempool child of a tx that confirmed or left changes height (-1 → 0) without being in the change.
  const changed = new Set(txs.map((t) => t.txid));
  if (change.kind !== 'tx') txs.push(...chain.mempool().filter((t) => t.inputs.some((i) => changed.has(i.coin.txid))));
  const hashes = new Set<string>();
  for (const tx of txs) {
    for (const input of tx.inputs) hashes.add(fakeScriptHash(input.address));
    for (const output of tx.outputs) if (output.address !== null) hashes.add(fakeScriptHash(output.address));
  }
  return hashes;
}
