/** What can go wrong talking to an Electrum server, as typed errors a caller can tell apart. */

/**
 * The server answered a request with a JSON-RPC error. `code` is kept as the server sent it:
 * Fulcrum refuses a subscription past its cap with code 4, "Subscription limit reached".
 */
export class ElectrumRpcError extends Error {
  override name = 'ElectrumRpcError';
  constructor(
    readonly method: string,
    readonly code: number,
    readonly serverMessage: string,
    readonly data?: unknown,
  ) {
    super(`${method}: the server answered error ${code}: ${serverMessage}`);
  }
}

/** Fulcrum's answer to a subscription past `max_subs_per_ip` (or `max_subs`) */
export const SUBSCRIPTION_LIMIT_CODE = 4;

export const isSubscriptionLimit = (err: unknown): err is ElectrumRpcError =>
  err instanceof ElectrumRpcError && err.code === SUBSCRIPTION_LIMIT_CODE;

/**
 * Why a connection ended, or never started:
 * - unreachable: no connection could be made (refused, no such host, connect timeout);
 * - tls: the TLS handshake failed, a certificate that does not verify included;
 * - closed: the server closed the connection (or it broke);
 * - protocol: the server sent something we will not read (an oversized or malformed line, an
 *   answer to an id we never sent, a version we do not speak); we dropped the connection;
 * - timeout: a keep-alive ping went unanswered; we dropped the connection;
 * - local: the caller closed it.
 */
export type ElectrumCloseReason = 'unreachable' | 'tls' | 'closed' | 'protocol' | 'timeout' | 'local';

export class ElectrumConnectionError extends Error {
  override name = 'ElectrumConnectionError';
  constructor(
    /** host:port of the server */
    readonly server: string,
    readonly reason: ElectrumCloseReason,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`Electrum server ${server}: ${message}`, options);
  }
}

/** A request got no answer in time; the connection stays open (a late answer is ignored). */
export class ElectrumTimeoutError extends Error {
  override name = 'ElectrumTimeoutError';
  constructor(
    readonly server: string,
    readonly method: string,
    readonly timeoutMs: number,
  ) {
    super(`Electrum server ${server}: ${method} got no answer in ${timeoutMs} ms`);
  }
}

/**
 * What the server sent does not hold up: a raw transaction that does not decode or whose hash is
 * not the txid asked for, a parent without the output spent, a history its status contradicts.
 * Nothing of it may be stored; the connection is not to be trusted.
 */
export class ElectrumDataError extends Error {
  override name = 'ElectrumDataError';
}
