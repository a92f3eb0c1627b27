/**
 * A JSON-RPC 2.0 client for one connection to an Electrum server (electrs, Fulcrum, ElectrumX):
 * newline-delimited JSON over TCP or TLS, `server.version` first, requests and batches matched to
 * their answers by id, notifications handed to listeners, and keep-alive pings.
 *
 * Whatever the server sends, this never throws out of a socket callback: a line it will not read
 * (too long, not JSON, an answer to an id never sent) drops the connection with an
 * ElectrumConnectionError, and 'close' says why. Reconnecting is the caller's business.
 * Integers are parsed as bigint (lossless-json), as with the HTTP providers, so amounts stay exact.
 */
import { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';
import { isInteger, parse, stringify } from 'lossless-json';
import { ElectrumConnectionError, ElectrumRpcError, ElectrumTimeoutError } from './errors.js';
import { openSocket, type ElectrumServerAddress } from './socket.js';
import { ElectrumLineReader, type JsonRpcAnswer, readMessages } from './wire.js';

export { parseElectrumServer, type ElectrumServerAddress } from './socket.js';

export interface ElectrumClientOptions extends ElectrumServerAddress {
  /** verify the server's TLS certificate; false accepts a self-signed one (ELECTRUM_TLS_INSECURE); default true */
  rejectUnauthorized?: boolean;
  /** certificates to trust besides the system's, e.g. a self-hosted server's own */
  ca?: string | Buffer | (string | Buffer)[];
  /** sent in server.version; default 'satbell' */
  clientName?: string;
  /** the protocol versions we speak, [min, max]; default ['1.4', '1.6'] */
  protocol?: readonly [string, string];
  /** for the TCP (and TLS) connection to be made; default 10 s */
  connectTimeoutMs?: number;
  /** for each request or batch, server.version included; default 30 s */
  requestTimeoutMs?: number;
  /** send server.ping after this long without sending anything; default 60 s (ElectrumX drops sessions idle for 600 s) */
  pingIntervalMs?: number;
  /** a line from the server longer than this drops the connection; default 16 MiB */
  maxLineBytes?: number;
}

export interface ElectrumCall {
  method: string;
  params?: readonly unknown[];
}

export type ElectrumAnswer = { ok: true; result: unknown } | { ok: false; error: ElectrumRpcError };

export interface ElectrumClientEvents {
  /** a server notification, e.g. blockchain.scripthash.subscribe with [scripthash, status] */
  notification: [method: string, params: unknown];
  /** the connection is gone, and why; emitted once */
  close: [reason: ElectrumConnectionError];
}

interface Pending {
  method: string;
  settle: (answer: ElectrumAnswer) => void;
}

const DEFAULT_PROTOCOL = ['1.4', '1.6'] as const;
const VERSION = /^\d+(?:\.\d+)+$/;
/** how many ids of requests that timed out are remembered, so their late answers are not taken for lies */
const REMEMBERED_TIMEOUTS = 1_000;

export class ElectrumClient extends EventEmitter<ElectrumClientEvents> {
  /** host:port, for messages */
  readonly server: string;
  /** what server.version answered: the server's software and the protocol version agreed */
  serverVersion: { software: string; protocol: string } | undefined;
  private readonly pending = new Map<number, Pending>();
  private readonly timedOut = new Set<number>();
  /** rejecters of the promises of send() not yet settled, for a connection that goes */
  private readonly rejectOnClose = new Set<(err: ElectrumConnectionError) => void>();
  private readonly reader: ElectrumLineReader;
  private nextId = 0;
  private closedWith: ElectrumConnectionError | undefined;
  private pingTimer: NodeJS.Timeout | undefined;

  private constructor(
    private readonly socket: Socket,
    private readonly options: Required<Pick<ElectrumClientOptions, 'requestTimeoutMs' | 'pingIntervalMs' | 'maxLineBytes'>> & ElectrumClientOptions,
  ) {
    super();
    this.server = `${options.host}:${options.port}`;
    this.reader = new ElectrumLineReader(options.maxLineBytes);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (err: NodeJS.ErrnoException) => this.drop('closed', `the connection broke (${err.code ?? err.message})`, err));
    socket.on('close', () => this.drop('closed', 'the server closed the connection'));
  }

  /**
   * Connects, negotiates the protocol with server.version (the first message, as 1.6 requires)
   * and resolves once the server has agreed; rejects with an ElectrumConnectionError otherwise.
   */
  static async connect(options: ElectrumClientOptions): Promise<ElectrumClient> {
    const full = { requestTimeoutMs: 30_000, pingIntervalMs: 60_000, maxLineBytes: 16 * 1024 * 1024, ...options };
    const socket = await openSocket(full);
    const client = new ElectrumClient(socket, full);
    const [min, max] = options.protocol ?? DEFAULT_PROTOCOL;
    try {
      const answer = await client.request('server.version', [options.clientName ?? 'satbell', [min, max]]);
      if (!Array.isArray(answer) || typeof answer[0] !== 'string' || typeof answer[1] !== 'string') {
        throw client.drop('protocol', `server.version answered ${short(answer)}, not [software, version]`);
      }
      const [software, protocol] = answer as [string, string];
      if (!VERSION.test(protocol) || compareVersions(protocol, min) < 0 || compareVersions(protocol, max) > 0) {
        throw client.drop('protocol', `server.version agreed on protocol ${protocol}, outside the ${min}–${max} we speak`);
      }
      client.serverVersion = { software, protocol };
    } catch (err) {
      if (client.closedWith?.reason === 'closed') {
        // The spec has a server with no version in common close the connection rather than answer.
        throw new ElectrumConnectionError(client.server, 'protocol', `closed the connection instead of answering server.version (no protocol version in common with ${min}–${max}?)`, { cause: err });
      }
      throw client.closedWith ?? client.drop('protocol', `server.version failed (${(err as Error).message})`, err);
    }
    client.schedulePing();
    return client;
  }

  /** whether the connection is still open */
  get open(): boolean {
    return this.closedWith === undefined;
  }

  /** one request; rejects with ElectrumRpcError, ElectrumTimeoutError or ElectrumConnectionError */
  async request(method: string, params: readonly unknown[] = []): Promise<unknown> {
    const [answer] = await this.send([{ method, params }], false);
    if (!answer!.ok) throw answer!.error;
    return answer!.result;
  }

  /**
   * Several requests in one JSON array; the answers, in the order of `calls` whatever order the
   * server sent them in, each a result or the JSON-RPC error the server gave for that call.
   */
  batch(calls: readonly ElectrumCall[]): Promise<ElectrumAnswer[]> {
    return calls.length === 0 ? Promise.resolve([]) : this.send(calls, true);
  }

  /** closes the connection; pending requests reject, 'close' is emitted with reason 'local' */
  close(): void {
    this.drop('local', 'closed by satbell');
  }

  private send(calls: readonly ElectrumCall[], asArray: boolean): Promise<ElectrumAnswer[]> {
    if (this.closedWith) return Promise.reject(this.closedWith);
    const ids = calls.map(() => ++this.nextId);
    const messages = calls.map((call, i) => ({ jsonrpc: '2.0', id: ids[i], method: call.method, params: call.params ?? [] }));
    const what = calls.length === 1 ? calls[0]!.method : `a batch of ${calls.length} (${calls[0]!.method}…)`;
    let fail: (err: ElectrumConnectionError) => void = () => {};
    return new Promise<ElectrumAnswer[]>((resolve, reject) => {
      const answers: (ElectrumAnswer | undefined)[] = calls.map(() => undefined);
      let left = calls.length;
      const timer = setTimeout(() => {
        for (const id of ids) this.rememberTimeout(id);
        reject(new ElectrumTimeoutError(this.server, what, this.options.requestTimeoutMs));
      }, this.options.requestTimeoutMs);
      fail = (err: ElectrumConnectionError) => {
        clearTimeout(timer);
        reject(err);
      };
      ids.forEach((id, i) => {
        this.pending.set(id, {
          method: calls[i]!.method,
          settle: (answer) => {
            answers[i] = answer;
            if (--left > 0) return;
            clearTimeout(timer);
            resolve(answers as ElectrumAnswer[]);
          },
        });
      });
      this.rejectOnClose.add(fail);
      const line = stringify(asArray ? messages : messages[0]) + '\n';
      this.socket.write(line);
      this.schedulePing();
    }).finally(() => {
      for (const id of ids) this.pending.delete(id);
      this.rejectOnClose.delete(fail);
    });
  }

  private rememberTimeout(id: number): void {
    this.pending.delete(id);
    this.timedOut.add(id);
    if (this.timedOut.size > REMEMBERED_TIMEOUTS) this.timedOut.delete(this.timedOut.values().next().value!);
  }

  private onData(chunk: Buffer): void {
    if (this.closedWith) return;
    const read = this.reader.push(chunk);
    if (read.error) return void this.drop('protocol', read.error);
    for (const line of read.lines) {
      if (this.closedWith) return;
      this.onLine(line);
    }
  }

  private onLine(line: string): void {
    let value: unknown;
    try {
      value = parse(line, undefined, (n) => (isInteger(n) ? BigInt(n) : Number(n)));
    } catch (err) {
      return void this.drop('protocol', `sent a line that is not JSON (${short(line)})`, err);
    }
    const messages = readMessages(value);
    if ('error' in messages) return void this.drop('protocol', `${messages.error} (${short(line)})`);
    for (const message of messages.list) {
      if (this.closedWith) return;
      if (message.kind === 'notification') this.notify(message.method, message.params);
      else this.answer(message);
    }
  }

  private answer(message: JsonRpcAnswer): void {
    const id = typeof message.id === 'bigint' && message.id <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(message.id) : undefined;
    const pending = id === undefined ? undefined : this.pending.get(id);
    if (!pending) {
      if (id !== undefined && this.timedOut.delete(id)) return;
      const error = message.error ? `: ${message.error.message}` : '';
      return void this.drop('protocol', `sent an answer to id ${String(message.id)}, which we never asked or no longer wait for${error}`);
    }
    this.pending.delete(id!);
    pending.settle(
      message.error
        ? { ok: false, error: new ElectrumRpcError(pending.method, message.error.code, message.error.message, message.error.data) }
        : { ok: true, result: message.result },
    );
  }

  private notify(method: string, params: unknown): void {
    try {
      this.emit('notification', method, params);
    } catch (err) {
      // A listener's bug is not the server's, but it must not take the process down from a socket callback.
      this.drop('local', `a notification listener threw (${(err as Error).message})`, err);
    }
  }

  /** sends server.ping when nothing has been sent for pingIntervalMs; no answer in time drops the connection */
  private schedulePing(): void {
    clearTimeout(this.pingTimer);
    if (this.closedWith) return;
    this.pingTimer = setTimeout(() => {
      this.request('server.ping').catch((err: unknown) => {
        if (err instanceof ElectrumTimeoutError) this.drop('timeout', `server.ping got no answer in ${this.options.requestTimeoutMs} ms`);
        else if (err instanceof ElectrumRpcError) this.drop('protocol', `server.ping failed (${err.message})`);
      });
    }, this.options.pingIntervalMs);
    this.pingTimer.unref();
  }

  /** ends the connection once, rejecting what waits and emitting 'close'; returns the reason it ended with */
  private drop(reason: ElectrumConnectionError['reason'], message: string, cause?: unknown): ElectrumConnectionError {
    if (this.closedWith) return this.closedWith;
    const error = new ElectrumConnectionError(this.server, reason, message, { cause });
    this.closedWith = error;
    clearTimeout(this.pingTimer);
    this.socket.destroy();
    this.pending.clear();
    for (const reject of this.rejectOnClose) reject(error);
    this.rejectOnClose.clear();
    this.emit('close', error);
    return error;
  }
}

/** -1, 0 or 1 as dotted version `a` is below, equal to or above `b` */
export function compareVersions(a: string, b: string): number {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return Math.sign(d);
  }
  return 0;
}

function short(value: unknown): string {
  const text = typeof value === 'string' ? value : (stringify(value) ?? String(value));
  return text.length > 120 ? `${text.slice(0, 120)}…` : text;
}
