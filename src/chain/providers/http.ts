/**
 * The HTTP plumbing every provider shares: one GET with a timeout, turned into text or a
 * ProviderError, and a JSON parser that keeps integers exact as bigint. A rate limiter or backoff
 * belongs around `get`, the one place a request is made.
 */
import { isInteger, parse } from 'lossless-json';
import type { Logger } from 'pino';
import type * as z from 'zod';
import { ProviderError } from '../provider.js';

export interface HttpClientOptions {
  /** provider name, for errors and logs */
  provider: string;
  baseUrl: string;
  fetch?: typeof fetch;
  logger?: Pick<Logger, 'debug'>;
  /** per request, body included; default 15 s */
  timeoutMs?: number;
}

export interface HttpClient {
  /** GET `pathAndQuery` (relative to the base URL) and return the body of a 2xx answer */
  get(pathAndQuery: string, signal?: AbortSignal): Promise<string>;
  /** GET, then parse with integers as bigint and validate with `schema` */
  getJson<S extends z.ZodType>(pathAndQuery: string, schema: S, signal?: AbortSignal): Promise<z.output<S>>;
}

export function createHttpClient({
  provider,
  baseUrl,
  fetch: fetchFn = globalThis.fetch,
  logger,
  timeoutMs = 15_000,
}: HttpClientOptions): HttpClient {
  const base = baseUrl.replace(/\/+$/, '');

  async function get(pathAndQuery: string, signal?: AbortSignal): Promise<string> {
    const endpoint = endpointOf(pathAndQuery);
    const timeout = AbortSignal.timeout(timeoutMs);
    const started = Date.now();
    let status: number;
    let text: string;
    try {
      const response = await fetchFn(`${base}${pathAndQuery}`, {
        headers: { accept: 'application/json' },
        signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
      });
      status = response.status;
      text = await response.text();
    } catch (err) {
      // The caller gave up: that is not the service's fault, so let the abort through as it is.
      if (signal?.aborted) throw signal.reason;
      if (timeout.aborted) throw new ProviderError(provider, `${endpoint} timed out after ${timeoutMs} ms`, undefined, { cause: err });
      throw new ProviderError(provider, `${endpoint} could not be reached (${describe(err)})`, undefined, { cause: err });
    }
    logger?.debug({ provider, endpoint, status, ms: Date.now() - started }, 'provider request');
    if (status < 200 || status > 299) {
      throw new ProviderError(provider, `${endpoint} answered HTTP ${status}${errorDetail(status, text)}`, status);
    }
    return text;
  }

  return {
    get,
    async getJson(pathAndQuery, schema, signal) {
      return parseJson(provider, endpointOf(pathAndQuery), await get(pathAndQuery, signal), schema);
    },
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

/** the path without its query, to name the endpoint in messages without a long address list */
const endpointOf = (pathAndQuery: string) => pathAndQuery.split('?')[0]!;

function errorDetail(status: number, text: string): string {
  if (status === 429) return ' (rate limited)';
  // Blockchain.com answers {"error","message"}; HTML error pages say nothing useful.
  const message = /"message"\s*:\s*"([^"]{1,200})"/.exec(text)?.[1];
  return message ? `: ${message}` : '';
}

function describe(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const code = (err.cause as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' ? `${err.message}: ${code}` : err.message;
}
