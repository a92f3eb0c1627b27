import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '../logger.js';

/** postgres.js's own codes for a connection it lost, closed or could not open, and the socket's. */
const CONNECTION_CODES = new Set([
  'CONNECTION_CLOSED',
  'CONNECTION_ENDED',
  'CONNECTION_DESTROYED',
  'CONNECT_TIMEOUT',
  'ECONNRESET',
  'ECONNREFUSED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
]);

/**
 * SQLSTATEs of a server going away or not there yet: 57P01 admin_shutdown (pg_terminate_backend, a
 * fast shutdown), 57P02 crash_shutdown, 57P03 cannot_connect_now (starting up, in recovery), 53300
 * too_many_connections, and class 08, connection exceptions.
 */
const SERVER_GONE = /^(?:57P0[123]|53300|08...)$/;

/**
 * Whether `err` (or what it wraps: drizzle wraps the driver's error as its cause) says the
 * database connection was lost or could not be had, rather than that the statement was wrong. Such
 * a statement may or may not have run, and a transaction whose COMMIT was under way may or may not
 * have committed. PGlite runs in this process and has no connection to lose: none of its errors is
 * transient.
 */
export function isTransientDatabaseError(err: unknown): boolean {
  for (let e = err, depth = 0; e instanceof Error && depth < 8; e = e.cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && (CONNECTION_CODES.has(code) || SERVER_GONE.test(code))) return true;
  }
  return false;
}

export interface RetryOptions {
  /** how long to keep trying, from the first attempt; default 15 s (a restart or failover) */
  budgetMs?: number;
  /** the first pause; each next one doubles, up to `maxDelayMs` */
  baseDelayMs?: number;
  maxDelayMs?: number;
  /** hears each failed attempt that will be retried */
  onRetry?: (err: unknown, attempt: number, delayMs: number) => void;
  logger?: Logger;
  /** names the work in the log line */
  what?: string;
  signal?: AbortSignal;
}

/**
 * Run `attempt`, and run it again while it fails with a transient database error and the budget
 * lasts; any other error, or the last transient one, is thrown. Only for work that is safe to
 * repeat: reads, and writes that compare before they change (a repeat of one that did commit finds
 * nothing left to do). A write that may not be repeated blindly must check what happened instead.
 */
export async function retryTransient<T>(
  attempt: () => PromiseLike<T>,
  { budgetMs = 15_000, baseDelayMs = 200, maxDelayMs = 3_000, onRetry, logger, what = 'database call', signal }: RetryOptions = {},
): Promise<T> {
  const started = performance.now();
  for (let n = 1; ; n++) {
    try {
      return await attempt();
    } catch (err) {
      const base = Math.min(maxDelayMs, baseDelayMs * 2 ** (n - 1));
      const delayMs = Math.round(base / 2 + Math.random() * (base / 2));
      if (!isTransientDatabaseError(err) || signal?.aborted || performance.now() - started + delayMs > budgetMs) throw err;
      logger?.warn({ err, attempt: n, retryInMs: delayMs }, `${what} lost its database connection; retrying`);
      onRetry?.(err, n, delayMs);
      await sleep(delayMs, undefined, { signal }).catch(() => {});
    }
  }
}

type Retrying<R, K extends keyof R> = Omit<R, K> & {
  [P in K]: R[P] extends (...args: infer A) => infer T ? (...args: A) => Promise<Awaited<T>> : R[P];
};

/** `target` with each of `methods` (reads, or writes safe to repeat) wrapped in retryTransient. */
export function withRetries<R extends object, K extends keyof R>(target: R, methods: readonly K[], options: RetryOptions = {}): Retrying<R, K> {
  const wrapped = { ...target } as Record<PropertyKey, unknown>;
  for (const name of methods) {
    const method = target[name];
    if (typeof method !== 'function') throw new Error(`${String(name)} is not a method`);
    wrapped[name as PropertyKey] = (...args: unknown[]) =>
      retryTransient(() => Promise.resolve(method.apply(target, args)), { what: String(name), ...options });
  }
  return wrapped as Retrying<R, K>;
}
