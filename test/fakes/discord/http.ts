import { STATUS_CODES, type IncomingMessage, type ServerResponse } from 'node:http';
import type { FailureResponse, RecordedFile, RecordedRequest } from './types.js';
import { apiError, type Reply } from './util.js';

export interface RestRequest {
  method: string;
  path: string;
  params: Record<string, string>;
  query: Record<string, string>;
  body: unknown;
  files: RecordedFile[];
  auth: string | null;
}

type Handler = (req: RestRequest) => Reply | Promise<Reply>;

interface Route {
  method: string;
  pattern: RegExp;
  template: string;
  /** Interaction callbacks and webhook-token routes are called without a bot token. */
  auth: boolean;
  handler: Handler;
}

interface Injected {
  method: string;
  path: RegExp;
  response: FailureResponse;
  remaining: number;
}

const API_PREFIX = '/api/v10';

/** The REST half of the fake: routing, bot-token checks, rate-limit headers, failure injection and the request log. */
export class RestRouter {
  readonly requests: RecordedRequest[] = [];
  #routes: Route[] = [];
  #injected: Injected[] = [];

  constructor(private readonly token: string | undefined) {}

  route(method: string, template: string, handler: Handler, { auth = true } = {}): void {
    const pattern = new RegExp(`^${template.replace(/:(\w+)/g, '(?<$1>[^/]+)')}$`);
    this.#routes.push({ method, pattern, template, auth, handler });
  }

  failNext(match: { method: string; path: RegExp }, response: FailureResponse, times = 1): void {
    this.#injected.push({ method: match.method.toUpperCase(), path: match.path, response, remaining: times });
  }

  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://fake');
    const method = (req.method ?? 'GET').toUpperCase();
    const path = url.pathname.startsWith(`${API_PREFIX}/`) ? url.pathname.slice(API_PREFIX.length) : url.pathname;
    const auth = req.headers.authorization ?? null;
    const record: RecordedRequest = { method, path, query: Object.fromEntries(url.searchParams), body: undefined, files: [], auth, status: 0 };
    this.requests.push(record);
    let reply: Reply;
    let bucket = path;
    let dropped = false;
    try {
      const parsed = await parseBody(req.headers['content-type'], await readBody(req));
      if (parsed) Object.assign(record, parsed);
      const found = this.#match(method, path, url.pathname);
      if (parsed === null) {
        reply = apiError(400, 50109, 'The request body contains invalid JSON.');
      } else if ('reply' in found) {
        reply = found.reply;
      } else {
        bucket = found.route.template;
        const refused = found.route.auth && this.#checkAuth(auth);
        const injected = refused ? undefined : this.#takeInjected(method, path);
        if (refused) reply = refused;
        else if (injected && !injected.committed) reply = failureReply(injected);
        else {
          reply = await found.route.handler({ method, path, params: found.params, query: record.query, ...parsed, auth });
          // Discord did what was asked; the answer the client gets says otherwise, or never comes.
          if (injected) {
            record.committed = true;
            reply = failureReply(injected);
          }
        }
        dropped = injected?.dropConnection === true;
      }
    } catch (error) {
      console.error(`[fake-discord] ${method} ${path} crashed the fake:`, error);
      reply = apiError(500, 0, '500: Internal Server Error');
    }
    if (dropped) {
      record.status = 0;
      req.socket.destroy();
      return;
    }
    record.status = reply.status;
    send(res, reply, `${method}:${bucket}`);
  }

  #match(method: string, path: string, fullPath: string): { route: Route; params: Record<string, string> } | { reply: Reply } {
    if (!fullPath.startsWith(`${API_PREFIX}/`)) {
      console.error(`[fake-discord] request outside ${API_PREFIX}: ${method} ${fullPath} (is rest.version 10?)`);
      return { reply: apiError(404, 0, '404: Not Found') };
    }
    let methodMismatch = false;
    for (const route of this.#routes) {
      const m = route.pattern.exec(path);
      if (!m) continue;
      if (route.method === method) {
        const params = Object.fromEntries(Object.entries(m.groups ?? {}).map(([k, v]) => [k, decodeURIComponent(v)]));
        return { route, params };
      }
      methodMismatch = true;
    }
    console.error(`[fake-discord] no fake for ${method} ${path}: add a route to test/fakes/discord/ if the bot needs it`);
    return { reply: methodMismatch ? apiError(405, 0, '405: Method Not Allowed') : apiError(404, 0, '404: Not Found') };
  }

  #checkAuth(auth: string | null): Reply | null {
    const token = auth?.match(/^Bot (\S+)$/)?.[1];
    if (token && (this.token === undefined || token === this.token)) return null;
    return apiError(401, 0, '401: Unauthorized');
  }

  /** Ends every injected failure not used up yet: the outage is over. */
  clearFailures(): void {
    this.#injected = [];
  }

  #takeInjected(method: string, path: string): FailureResponse | undefined {
    const injected = this.#injected.find((i) => i.remaining > 0 && i.method === method && i.path.test(path));
    if (!injected) return undefined;
    injected.remaining -= 1;
    return injected.response;
  }
}

/** Fills in what Discord sends with a failure: a JSON body, and for 429 the retry headers discord.js obeys. */
function failureReply({ status, body, headers }: FailureResponse): Reply {
  if (status !== 429) return { status, body: body ?? { code: 0, message: `${status}: ${STATUS_CODES[status] ?? 'Error'}` }, headers };
  const limit = { message: 'You are being rate limited.', retry_after: 0.5, global: false, ...(body as object | undefined) };
  return {
    status,
    body: limit,
    headers: {
      // Discord rounds the header up to whole seconds; the body keeps the precise value.
      'retry-after': String(Math.ceil(limit.retry_after)),
      'x-ratelimit-limit': '5',
      'x-ratelimit-remaining': '0',
      'x-ratelimit-reset-after': limit.retry_after.toFixed(3),
      'x-ratelimit-scope': limit.global ? 'global' : 'user',
      // discord.js treats the mere presence of this header as "global".
      ...(limit.global ? { 'x-ratelimit-global': 'true' } : {}),
      ...headers,
    },
  };
}

function send(res: ServerResponse, reply: Reply, bucket: string): void {
  if (reply.drop) {
    res.socket?.destroy();
    return;
  }
  const resetAfter = 1;
  const headers: Record<string, string> = {
    'x-ratelimit-limit': '50',
    'x-ratelimit-remaining': '49',
    'x-ratelimit-reset': ((Date.now() + resetAfter * 1000) / 1000).toFixed(3),
    'x-ratelimit-reset-after': resetAfter.toFixed(3),
    'x-ratelimit-bucket': Buffer.from(bucket).toString('base64url').slice(0, 32),
    ...reply.headers,
  };
  if (reply.status === 204 || reply.body === undefined) {
    res.writeHead(reply.status, headers).end();
    return;
  }
  res.writeHead(reply.status, { ...headers, 'content-type': 'application/json' }).end(JSON.stringify(reply.body));
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

/** The parsed body, or null when it is not valid JSON. */
async function parseBody(contentType: string | undefined, raw: Buffer): Promise<{ body: unknown; files: RecordedFile[] } | null> {
  if (raw.length === 0) return { body: undefined, files: [] };
  if (contentType?.startsWith('multipart/form-data')) {
    // The platform's own multipart parser, so no dependency is needed.
    const form = await new Response(raw, { headers: { 'content-type': contentType } }).formData();
    const files: RecordedFile[] = [];
    let body: unknown;
    for (const [field, value] of form) {
      if (typeof value === 'string') {
        if (field === 'payload_json') body = parseJson(value);
      } else {
        files.push({ field, filename: value.name, size: value.size, contentType: value.type || null });
      }
    }
    return body === INVALID ? null : { body, files };
  }
  const body = parseJson(raw.toString('utf8'));
  return body === INVALID ? null : { body, files: [] };
}

const INVALID = Symbol('invalid JSON');

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return INVALID;
  }
}
