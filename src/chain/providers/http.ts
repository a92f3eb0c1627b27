/**
 * The HTTP plumbing every provider shares: one GET with a timeout, paced by the provider's rate
 * limiter and retried when the failure is the service's and passing (429, 5xx, timeout, no
 * connection), turned into text or a ProviderError; and a JSON parser that keeps integers exact
 * as bigint.
 */
import { isInteger, parse } from 'lossless-json';
import type { Logger } from 'pino';
import type * as z from 'zod';
import { ProviderError, ProviderWaitError, requestOptions, type RequestOptions } from '../provider.js';
import { createRateLimiter, systemClock, WaitTooLongError, type Clock } from './limiter.js';

export interface RetryOptions {
  /** attempts after the first; default 0 */
  retries?: number;
  /** first backoff; it doubles per retry, with jitter; default 1 s */
  baseDelayMs?: number;
  /** longest backoff; default 30 s */
  maxDelayMs?: number;
  /** shortest wait after a 429 that has no Retry-After; default baseDelayMs */
  rateLimitFloorMs?: number;
  /** a wait after 429 or Retry-After longer than this (or than the request's maxWaitMs) is still obeyed (the limiter pauses), but the request fails at once rather than wait it out; default 60 s */
  maxRetryAfterMs?: number;
  /** in [0, 1); default Math.random */
  random?: () => number;
}

/** How a provider talks to its service. Without pacing or retry options a request is made once, at once. */
export interface HttpOptions {
  baseUrl: string;
  fetch?: typeof fetch;
  logger?: Pick<Logger, 'debug' | 'warn'>;
  /** per attempt, body included; default 15 s */
  timeoutMs?: number;
  /** request starts per second for this provider; default unlimited */
  requestsPerSecond?: number;
  /** requests in flight at once for this provider; default unlimited */
  concurrency?: number;
  retry?: RetryOptions;
  clock?: Clock;
}

export interface HttpClientOptions extends HttpOptions {
  /** provider name, for errors and logs */
  provider: string;
}

export interface HttpClient {
  /** GET `pathAndQuery` (relative to the base URL) and return the body of a 2xx answer */
  get(pathAndQuery: string, request?: RequestOptions | AbortSignal): Promise<string>;
  /** GET, then parse with integers as bigint and validate with `schema` */
  getJson<S extends z.ZodType>(pathAndQuery: string, schema: S, request?: RequestOptions | AbortSignal): Promise<z.output<S>>;
  /** about how long a request for `key` made now would wait for its turn (pause and queue) */
  estimatedWaitMs(key?: string, lane?: { background?: boolean }): number;
  /** what is left of the pause after a 429 or Retry-After; 0 when none */
  pausedMs(): number;
}

/** what one attempt came to */
type Attempt =
  | { ok: true; text: string }
  | { ok: false; message: string; status?: number; cause?: unknown; retryAfterMs?: number; unreachable?: boolean };

export function createHttpClient({
  provider,
  baseUrl,
  fetch: fetchFn = globalThis.fetch,
  logger,
  timeoutMs = 15_000,
  requestsPerSecond,
  concurrency,
  retry = {},
  clock = systemClock,
}: HttpClientOptions): HttpClient {
  const base = baseUrl.replace(/\/+$/, '');
  const limiter = createRateLimiter({ requestsPerSecond, concurrency, clock });
  const {
    retries = 0,
    baseDelayMs = 1_000,
    maxDelayMs = 30_000,
    rateLimitFloorMs = baseDelayMs,
    maxRetryAfterMs = 60_000,
    random = Math.random,
  } = retry;

  async function attempt(pathAndQuery: string, endpoint: string, signal?: AbortSignal): Promise<Attempt> {
    const timeout = AbortSignal.timeout(timeoutMs);
    const started = Date.now();
    let response: Response;
    let text: string;
    try {
      response = await fetchFn(`${base}${pathAndQuery}`, {
        headers: { accept: 'application/json' },
        signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
      });
      text = await response.text();
    } catch (err) {
      // The caller gave up: that is not the service's fault, so let the abort through as it is.
      if (signal?.aborted) throw signal.reason;
      const what = timeout.aborted ? `timed out after ${timeoutMs} ms` : `could not be reached (${describe(err)})`;
      return { ok: false, message: `${endpoint} ${what}`, cause: err, unreachable: true };
    }
    const { status } = response;
    logger?.debug({ provider, endpoint, status, ms: Date.now() - started }, 'provider request');
    if (status >= 200 && status <= 299) return { ok: true, text };
    const message = `${endpoint} answered HTTP ${status}${errorDetail(status, text)}`;
    return { ok: false, message, status, retryAfterMs: parseRetryAfter(response.headers.get('retry-after'), clock.now()) };
  }

  /** equal jitter: half the exponential delay fixed, half random */
  const backoff = (retry: number) => {
    const exp = Math.min(maxDelayMs, baseDelayMs * 2 ** retry);
    return exp / 2 + (random() * exp) / 2;
  };

  /** a turn with the limiter; a wait longer than the caller allows becomes a ProviderWaitError */
  async function turn({ signal, key, background, maxWaitMs, onWait }: RequestOptions): Promise<() => void> {
    try {
      return await limiter.acquire({ signal, key, background, maxWaitMs, onWait: onWait && ((ms) => onWait(provider, ms)) });
    } catch (err) {
      if (err instanceof WaitTooLongError) throw new ProviderWaitError(provider, err.waitMs, err.paused);
      throw err;
    }
  }

  async function get(pathAndQuery: string, request?: RequestOptions | AbortSignal): Promise<string> {
    const endpoint = endpointOf(pathAndQuery);
    const options = requestOptions(request);
    const { signal } = options;
    for (let retry = 0; ; retry++) {
      const release = await turn(options);
      let result: Attempt;
      try {
        result = await attempt(pathAndQuery, endpoint, signal);
      } finally {
        release();
      }
      if (result.ok) return result.text;

      const { message, status, cause, retryAfterMs } = result;
      const failure = result.unreachable ? 'unreachable' : 'refused';
      // 4xx other than 429 is an answer, not an accident: asking again gets the same one.
      if (status !== undefined && status < 500 && status !== 429) throw new ProviderError(provider, message, status, { cause, failure });
      let delay = status === 429 ? Math.max(rateLimitFloorMs, backoff(retry)) : backoff(retry);
      if (retryAfterMs !== undefined) delay = retryAfterMs;
      // A 429 or a Retry-After speaks for the whole provider, not this request: everything waits,
      // this request's next attempt included, even if it is not retried.
      const holdAll = status === 429 || retryAfterMs !== undefined;
      const error = new ProviderError(provider, message, status, { cause, waitMs: holdAll ? delay : undefined, failure });
      if (holdAll) {
        limiter.pauseFor(delay);
        // Longer than we, or the caller, will wait here: fail now (failover asks another) rather than hang.
        if (delay > Math.min(maxRetryAfterMs, options.maxWaitMs ?? Infinity)) throw error;
      }
      if (retry >= retries) throw error;
      logger?.warn({ provider, endpoint, status, retry: retry + 1, delayMs: Math.round(delay) }, 'provider request failed; retrying');
      if (!holdAll) await clock.sleep(delay, signal);
    }
  }

  return {
    get,
    async getJson(pathAndQuery, schema, request) {
      return parseJson(provider, endpointOf(pathAndQuery), await get(pathAndQuery, request), schema);
    },
    estimatedWaitMs: (key, lane) => limiter.estimatedWaitMs(key, lane),
    pausedMs: () => limiter.pausedMs(),
  };
}

/**
 * Parses `text` as JSON with every integer as bigint (never through a JS number, so satoshi
 * amounts stay exact) and other numbers as number, then validates it with `schema`.
 */
export function parseJson<S extends z.ZodType>(provider: string, endpoint: string, text: string, schema: S): z.output<S> {
  let value: unknown;
  try {
    value = parse(text, undefined, (n) => (isInteger(n) ? BigInt(n) : Number(n)));
  } catch (err) {
    throw new ProviderError(provider, `${endpoint} returned a body that is not JSON (${describe(err)})`, undefined, { cause: err });
  }
  const result = schema.safeParse(value);
  if (!result.success) {
    const issues = result.error.issues
      .slice(0, 3)
      .map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`)
      .join('; ');
    throw new ProviderError(provider, `${endpoint} returned an unexpected body (${issues})`, undefined, { cause: result.error });
  }
  return result.data;
}

/** Retry-After as delay-seconds or an HTTP date, in milliseconds from `now`; undefined when absent or unreadable */
export function parseRetryAfter(value: string | null, now: number): number | undefined {
  if (value === null) return undefined;
  const text = value.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  const at = Date.parse(text);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/** the path without its query, to name the endpoint in messages without a long address list */
const endpointOf = (pathAndQuery: string) => pathAndQuery.split('?')[0]!;

function errorDetail(status: number, text: string): string {
  if (status === 429) return ' (rate limited)';
  // Blockchain.com answers {"error","message"}; Esplora a short plain text; HTML pages say nothing useful.
  const message = /"message"\s*:\s*"([^"]{1,200})"/.exec(text)?.[1];
  if (message) return `: ${message}`;
  const plain = text.trim();
  return plain.length > 0 && plain.length <= 200 && !/[<>{}\n]/.test(plain) ? `: ${plain}` : '';
}

function describe(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const code = (err.cause as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' ? `${err.message}: ${code}` : err.message;
}
