/**
 * The HTTP side shared by the chain API fakes: a loopback server, a request log, canned failures,
 * latency, and a loud 404 for any request no route knows. Each API (blockchain-info.ts,
 * esplora.ts) supplies only its routes.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { stringify } from 'lossless-json';

export interface FakeRequest {
  method: string;
  /** decoded pathname, e.g. `/rawaddr/bc1q…` */
  path: string;
  /** last value of each query parameter, decoded */
  query: Record<string, string>;
  /** the request body as text; empty for a GET */
  body: string;
  /** when it arrived (Date.now()), before any latency */
  at: number;
}

export interface FakeResponse {
  status: number;
  body: string;
  /** default application/json */
  contentType?: string;
  headers?: Record<string, string>;
}

/** answers a request (any method: check it), or returns undefined when it is not one of the API's routes */
export type Route = (request: FakeRequest) => FakeResponse | undefined;

export interface FakeHttpServer {
  /** base URL without a trailing slash, e.g. http://127.0.0.1:43121 */
  readonly url: string;
  /** every request received, failed ones included, oldest first */
  readonly requests: FakeRequest[];
  /** requests no route knew; each was answered 404 and reported with console.error */
  readonly unhandled: FakeRequest[];
  /** delay before each answer, in milliseconds */
  latencyMs: number;
  /** answer the next `times` requests whose path matches with `response` instead of the route */
  failNext(path: RegExp, response: FakeResponse, times?: number): void;
  /**
   * Spoil the route's own answer to the next `times` requests whose path matches (status and
   * headers kept): `truncated` sends its first half, as a connection cut mid-body does;
   * `malformed` adds a trailing comma before the last bracket, as a broken serializer does.
   */
  corruptNext(path: RegExp, how: Corruption, times?: number): void;
  /** forget every failNext and corruptNext not yet used up */
  clearFaults(): void;
  close(): Promise<void>;
}

export type Corruption = 'truncated' | 'malformed';

/** `response` with its body spoilt as `how` says */
export function corrupt(response: FakeResponse, how: Corruption): FakeResponse {
  const { body } = response;
  if (how === 'truncated') return { ...response, body: body.slice(0, Math.floor(body.length / 2)) };
  const last = Math.max(body.lastIndexOf('}'), body.lastIndexOf(']'));
  return { ...response, body: last < 0 ? `${body},` : `${body.slice(0, last)},${body.slice(last)}` };
}

/** a JSON answer; bigints are written as JSON integers, so values above 2^53 survive the trip */
export function jsonResponse(status: number, body: unknown): FakeResponse {
  return { status, contentType: 'application/json', body: stringify(body) ?? 'null' };
}

export function textResponse(status: number, body: string): FakeResponse {
  return { status, contentType: 'text/plain', body };
}

/** Canned answers the real services give when unhappy. */
export const cannedResponses = {
  /** nginx's rate-limit page: HTML, and no Retry-After */
  rateLimited: {
    status: 429,
    contentType: 'text/html',
    body: '<html>\r\n<head><title>429 Too Many Requests</title></head>\r\n<body>\r\n<center><h1>429 Too Many Requests</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n',
  },
  serverError: {
    status: 500,
    body: '{"error":"server-error","message":"Internal Server Error"}',
  },
} satisfies Record<string, FakeResponse>;

export async function startFakeHttpServer(
  name: string,
  route: Route,
  { latencyMs = 0 }: { latencyMs?: number } = {},
): Promise<FakeHttpServer> {
  const requests: FakeRequest[] = [];
  const unhandled: FakeRequest[] = [];
  const failures: { path: RegExp; response: FakeResponse; left: number }[] = [];
  const corruptions: { path: RegExp; how: Corruption; left: number }[] = [];
  const timers = new Set<NodeJS.Timeout>();

  const answer = (req: IncomingMessage, body: string): FakeResponse => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const request: FakeRequest = {
      method: req.method ?? 'GET',
      path: safeDecode(url.pathname),
      query: Object.fromEntries(url.searchParams),
      body,
      at: Date.now(),
    };
    requests.push(request);

    const failure = failures.find((f) => f.left > 0 && f.path.test(request.path));
    if (failure) {
      failure.left -= 1;
      return failure.response;
    }
    const response = route(request);
    const corruption = response && corruptions.find((c) => c.left > 0 && c.path.test(request.path));
    if (response && corruption) {
      corruption.left -= 1;
      return corrupt(response, corruption.how);
    }
    if (response) return response;

    unhandled.push(request);
    console.error(`fake ${name}: no route for ${request.method} ${req.url}`);
    return { status: 404, contentType: 'text/plain', body: `fake ${name} has no route for ${request.method} ${request.path}` };
  };

  const send = (res: ServerResponse, response: FakeResponse) => {
    if (res.destroyed) return;
    res.writeHead(response.status, { 'content-type': response.contentType ?? 'application/json', ...response.headers });
    res.end(response.body);
  };

  const server = createServer(async (req, res) => {
    let response: FakeResponse;
    try {
      const chunks: Buffer[] = [];
      for await (const chunk of req) chunks.push(chunk as Buffer);
      response = answer(req, Buffer.concat(chunks).toString('utf8'));
    } catch (err) {
      console.error(`fake ${name}: route threw`, err);
      response = { status: 500, contentType: 'text/plain', body: `fake ${name} crashed: ${String(err)}` };
    }
    if (fake.latencyMs <= 0) return send(res, response);
    const timer = setTimeout(() => {
      timers.delete(timer);
      send(res, response);
    }, fake.latencyMs);
    timers.add(timer);
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address() as AddressInfo;

  const fake: FakeHttpServer = {
    url: `http://127.0.0.1:${port}`,
    requests,
    unhandled,
    latencyMs,
    failNext(path, response, times = 1) {
      failures.push({ path, response, left: times });
    },
    corruptNext(path, how, times = 1) {
      corruptions.push({ path, how, left: times });
    },
    clearFaults() {
      failures.length = 0;
      corruptions.length = 0;
    },
    close() {
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      server.closeAllConnections();
      return new Promise((resolve, reject) => server.close((err) => (err ? reject(err) : resolve())));
    },
  };
  return fake;
}

function safeDecode(path: string): string {
  try {
    return decodeURIComponent(path);
  } catch {
    return path;
  }
}
