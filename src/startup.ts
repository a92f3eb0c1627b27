/**
 * Why a start failed, in one line that says what to do. A first start meets a few failures again
 * and again: a token Discord refuses, Discord out of reach, a database server that is down or
 * refuses the login, a data directory that cannot be written. Each becomes a StartupError whose
 * message is that line; the original error stays its cause, for the log at debug.
 */
import { isAbsolute, resolve } from 'node:path';
import { redactUrl } from './db/client.js';
import { LockedError } from './db/lockfile.js';
import { createScrubber, type Logger } from './logger.js';

export class StartupError extends Error {
  override readonly name = 'StartupError';
}

/** What the errors of a connection that did not happen mean, by their code (Node's, postgres.js's, undici's). */
const NETWORK_REASONS: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'the connection was reset',
  ENOTFOUND: 'no such host',
  EAI_AGAIN: 'the host name could not be looked up',
  ETIMEDOUT: 'no answer in time',
  CONNECT_TIMEOUT: 'no answer in time',
  UND_ERR_CONNECT_TIMEOUT: 'no answer in time',
  EHOSTUNREACH: 'the host is unreachable',
  ENETUNREACH: 'the network is unreachable',
  CERT_HAS_EXPIRED: 'its TLS certificate has expired',
  DEPTH_ZERO_SELF_SIGNED_CERT: 'its TLS certificate is self-signed',
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: 'its TLS certificate could not be verified',
  ERR_TLS_CERT_ALTNAME_INVALID: 'its TLS certificate is for another host',
};

/** What the errors of a path that cannot be written mean. */
const FILE_REASONS: Record<string, string> = {
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EROFS: 'the file system is read-only',
  ENOSPC: 'no space left on the device',
  ENOTDIR: 'a part of the path is a file, not a directory',
  // mkdir -p of a path through an existing file
  EEXIST: 'a part of the path is a file, not a directory',
};

/** PGlite's file system (emscripten's) throws bare errno numbers rather than Node's codes. */
const EMSCRIPTEN_ERRNO: Record<number, string> = { 2: 'EACCES', 20: 'EEXIST', 51: 'ENOSPC', 54: 'ENOTDIR', 63: 'EPERM', 69: 'EROFS' };

const TOKEN_REFUSED =
  'Discord refused DISCORD_TOKEN (401 Unauthorized): it is not a valid bot token, or it has been reset. ' +
  'Reset it in the developer portal (https://discord.com/developers/applications → your application → Bot → Reset Token) ' +
  'and put the new one in .env as DISCORD_TOKEN=…';

/** A failure to log in to Discord, explained when it is a refused token or Discord out of reach; anything else unchanged. */
export function explainDiscordFailure(err: unknown, apiUrl: string | undefined): unknown {
  if (err instanceof StartupError) return err;
  const { code, status } = err as { code?: unknown; status?: unknown };
  // discord.js turns the 401 of its first call (GET /gateway/bot) into TokenInvalid.
  if (code === 'TokenInvalid' || status === 401) return new StartupError(TOKEN_REFUSED, { cause: err });
  const network = codeIn(err, NETWORK_REASONS);
  if (network) {
    const where = apiUrl ?? 'https://discord.com/api';
    const check = apiUrl ? 'check the network and DISCORD_API_URL' : 'check the network (and any firewall or proxy) and try again';
    return new StartupError(`Could not reach Discord at ${where}: ${NETWORK_REASONS[network]} (${network}); ${check}`, { cause: err });
  }
  return err;
}

/** A failure to open DATABASE_URL, explained when a person can act on it; anything else unchanged. */
export function explainDatabaseFailure(err: unknown, url: string): unknown {
  if (err instanceof StartupError || err instanceof LockedError) return err;
  if (url.startsWith('file:')) return explainDataDirectoryFailure(err, url.slice('file:'.length)) ?? err;
  if (!/^postgres(ql)?:/.test(url)) return err;
  const at = `Could not connect to the database at ${redactUrl(url)}`;
  const { code, message } = err as { code?: unknown; message?: unknown };
  const said = typeof message === 'string' ? message : String(err);
  const explain = (text: string) => new StartupError(text, { cause: err });
  switch (code) {
    case '28P01':
      return explain(`${at}: ${said}; check the user and password in DATABASE_URL`);
    case '28000':
      return explain(`${at}: ${said}; check the user in DATABASE_URL, and that the server's pg_hba.conf lets it in from here`);
    case '3D000':
      return explain(`${at}: ${said}; create it (e.g. createdb) or fix the database name in DATABASE_URL`);
    case '53300':
      return explain(`${at}: ${said}; the server has no connection to spare: try again later, or raise its max_connections`);
    case '57P03':
      return explain(`${at}: ${said}; the server is starting or stopping: try again in a moment`);
    case 'SASL_SIGNATURE_MISMATCH':
      return explain(`${at}: the server's answer to the password did not check out; check the password in DATABASE_URL`);
    case 'ERR_INVALID_URL':
      return explain(
        'DATABASE_URL is not a URL that can be read (Invalid URL): check its host and port, and percent-encode any of : / @ ? # in the password',
      );
  }
  const network = codeIn(err, NETWORK_REASONS);
  if (network) {
    return explain(`${at}: ${NETWORK_REASONS[network]} (${network}); check that the server is running and reachable from here, and DATABASE_URL`);
  }
  return err;
}

/**
 * A path that cannot be written, explained as the data directory `path` (as configured) not being
 * writable; undefined for any other error.
 */
export function explainDataDirectoryFailure(err: unknown, path: string): StartupError | undefined {
  const code = codeIn(err, FILE_REASONS);
  if (!code) return undefined;
  const { syscall, path: failed } = err as { syscall?: unknown; path?: unknown };
  const detail = typeof syscall === 'string' && typeof failed === 'string' ? ` (${syscall} ${failed})` : '';
  const shown = isAbsolute(path) ? path : `${path} (${resolve(path)})`;
  return new StartupError(
    `Cannot write the data directory ${shown}: ${FILE_REASONS[code]}${detail}; make it writable for this user, ` +
      'or set DATABASE_URL=file:… to a writable place (or memory: to keep nothing)',
    { cause: err },
  );
}

/** The line that says why the start failed: a StartupError's or LockedError's own, else the error's messages. */
export function describeStartFailure(err: unknown): string {
  if (err instanceof StartupError || err instanceof LockedError) return err.message;
  return `satbell could not start: ${describeError(err)}`;
}

/**
 * Say why the start failed: one line on stderr, scrubbed of secrets like the logs (a database
 * error may quote its URL). The error with its stack goes to the log at debug and trace only.
 */
export function reportStartFailure(err: unknown, { logger, level, secrets }: { logger: Logger; level: string; secrets: readonly string[] }): void {
  const debug = level === 'debug' || level === 'trace';
  if (debug) logger.fatal({ err }, 'could not start');
  let line = describeStartFailure(err);
  if (!debug && !(err instanceof StartupError || err instanceof LockedError)) line += ' (LOG_LEVEL=debug logs where)';
  process.stderr.write(`${createScrubber(secrets)(line).replace(/\s*\n\s*/g, ' ')}\n`);
}

/** The first code of `known` on the error, its causes, or the errors it aggregates (a connection tried on each address). */
function codeIn(err: unknown, known: Record<string, string>): string | undefined {
  const seen = new Set<unknown>();
  const queue = [err];
  while (queue.length && seen.size < 20) {
    const e = queue.shift();
    if (typeof e !== 'object' || e === null || seen.has(e)) continue;
    seen.add(e);
    const { code, errno, name, cause, errors } = e as { code?: unknown; errno?: unknown; name?: unknown; cause?: unknown; errors?: unknown };
    if (typeof code === 'string' && code in known) return code;
    const mapped = name === 'ErrnoError' && typeof errno === 'number' ? EMSCRIPTEN_ERRNO[errno] : undefined;
    if (mapped && mapped in known) return mapped;
    queue.push(cause, ...(Array.isArray(errors) ? errors : []));
  }
  return undefined;
}

/** An error's message and those of its causes, on one line. */
function describeError(err: unknown): string {
  const parts: string[] = [];
  for (let e: unknown = err; e !== undefined && parts.length < 5; e = (e as { cause?: unknown })?.cause) {
    parts.push(e instanceof Error ? e.message : typeof e === 'object' && e !== null ? JSON.stringify(e) : String(e));
  }
  return parts.join(': ');
}
