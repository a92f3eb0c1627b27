/** Where an Electrum server is, and the TCP or TLS connection to it. */
import { connect as connectTcp, isIP, type Socket } from 'node:net';
import { connect as connectTls } from 'node:tls';
import { ElectrumConnectionError } from './errors.js';

export interface ElectrumServerAddress {
  host: string;
  port: number;
  tls: boolean;
}

export interface SocketOptions extends ElectrumServerAddress {
  rejectUnauthorized?: boolean;
  ca?: string | Buffer | (string | Buffer)[];
  connectTimeoutMs?: number;
}

/** `tcp://host:port` or `ssl://host:port` (IPv6 in brackets), as ELECTRUM_SERVERS lists them; throws on anything else */
export function parseElectrumServer(text: string): ElectrumServerAddress {
  const match = /^(tcp|ssl):\/\/(\[[0-9a-fA-F:.]+\]|[^\s/:[\]]+):(\d{1,5})$/.exec(text.trim());
  const port = Number(match?.[3]);
  if (!match || port < 1 || port > 65_535) throw new Error(`"${text}" is not tcp://host:port or ssl://host:port`);
  return { tls: match[1] === 'ssl', host: match[2]!.replace(/^\[|\]$/g, ''), port };
}

/** a connected socket (TLS verified as asked), or an ElectrumConnectionError saying why not */
export function openSocket(options: SocketOptions): Promise<Socket> {
  const { host, port, connectTimeoutMs = 10_000 } = options;
  const server = `${host}:${port}`;
  return new Promise((resolve, reject) => {
    const socket = options.tls
      ? connectTls({ host, port, rejectUnauthorized: options.rejectUnauthorized ?? true, ca: options.ca, servername: isIP(host) ? undefined : host })
      : connectTcp({ host, port });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new ElectrumConnectionError(server, 'unreachable', `no connection in ${connectTimeoutMs} ms`));
    }, connectTimeoutMs);
    socket.once(options.tls ? 'secureConnect' : 'connect', () => {
      clearTimeout(timer);
      socket.removeAllListeners('error');
      socket.setNoDelay(true);
      resolve(socket);
    });
    socket.once('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      socket.destroy();
      const tlsFailure = options.tls && !('syscall' in err);
      reject(new ElectrumConnectionError(server, tlsFailure ? 'tls' : 'unreachable', tlsFailure ? `TLS failed (${err.message})` : `could not connect (${err.code ?? err.message})`, { cause: err }));
    });
  });
}
