/**
 * A TCP proxy on loopback between the bot and its database server, that can misbehave as a network
 * or a server does: freeze (stop forwarding both ways, connections kept, as a hung server or a
 * network partition does) and resume, or restart (cut every connection and refuse new ones for a
 * while, as a server restart or failover does).
 */
import { createServer, type Server, type Socket, connect } from 'node:net';
import type { AddressInfo } from 'node:net';

export interface TcpProxy {
  /** `url` (a postgres:// URL) pointed at the proxy instead */
  via(url: string): string;
  /** connections accepted so far, and open now */
  readonly accepted: number;
  readonly open: number;
  /** Stop forwarding: bytes wait in the sockets' buffers; new connections are held too. */
  freeze(): void;
  /** Forward again whatever waited, and everything after. */
  resume(): void;
  /** Cut every connection now and refuse new ones for `downMs`; then accept again. */
  restart(downMs: number): Promise<void>;
  close(): Promise<void>;
}

export async function startTcpProxy(target: { host: string; port: number }): Promise<TcpProxy> {
  interface Pair {
    client: Socket;
    upstream: Socket;
    piped: boolean;
  }
  const pairs = new Set<Pair>();
  // pause() alone would not hold: pipe() resumes a source on the destination's drain.
  const flow = (pair: Pair) => {
    if (pair.piped) return;
    pair.piped = true;
    pair.client.pipe(pair.upstream);
    pair.upstream.pipe(pair.client);
  };
  const hold = (pair: Pair) => {
    if (pair.piped) {
      pair.piped = false;
      pair.client.unpipe(pair.upstream);
      pair.upstream.unpipe(pair.client);
    }
    pair.client.pause();
    pair.upstream.pause();
  };
  let frozen = false;
  let accepted = 0;
  let closed = false;

  const onConnection = (client: Socket) => {
    accepted++;
    const upstream = connect(target.port, target.host);
    const pair: Pair = { client, upstream, piped: false };
    pairs.add(pair);
    const end = () => {
      pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
    if (frozen) hold(pair);
    else flow(pair);
  };

  let server: Server = createServer(onConnection);
  const listen = (port: number) =>
    new Promise<number>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve((server.address() as AddressInfo).port));
    });
  const port = await listen(0);

  const stopListening = () => new Promise<void>((resolve) => server.close(() => resolve()));
  const cutAll = () => {
    for (const { client, upstream } of pairs) {
      client.destroy();
      upstream.destroy();
    }
    pairs.clear();
  };

  return {
    via(url) {
      const parsed = new URL(url);
      parsed.hostname = '127.0.0.1';
      parsed.port = String(port);
      return parsed.toString();
    },
    get accepted() {
      return accepted;
    },
    get open() {
      return pairs.size;
    },
    freeze() {
      frozen = true;
      for (const pair of pairs) hold(pair);
    },
    resume() {
      frozen = false;
      for (const pair of pairs) flow(pair);
    },
    async restart(downMs) {
      const stopped = stopListening();
      cutAll();
      await stopped;
      await new Promise((r) => setTimeout(r, downMs));
      if (closed) return;
      server = createServer(onConnection);
      await listen(port);
    },
    async close() {
      closed = true;
      const stopped = server.listening ? stopListening() : Promise.resolve();
      cutAll();
      await stopped;
    },
  };
}
