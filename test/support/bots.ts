/**
 * Bot processes for crash and multi-process tests: spawn `src/main.ts` as `npm start` does, wait for
 * what it logs, kill it hard or stop it gently. Plus a delaying proxy in front of the fake Discord's
 * REST API, so that a kill can land after Discord acted on a request but before the bot heard back.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer, request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { FakeMessage } from '../fakes/discord.js';
import { spawnBot } from './process.js';

/** One pino line as the bot writes it to stdout. */
export interface BotLogLine {
  level: number;
  time: number;
  msg: string;
  [key: string]: unknown;
}

export interface BotRun {
  readonly pid: number;
  readonly startedAt: number;
  /** stdout and stderr as text */
  output(): string;
  /** stdout's JSON lines, parsed (anything else is left out) */
  logs(): BotLogLine[];
  /** whether some log line's msg is `msg` */
  logged(msg: string): boolean;
  /** still running */
  alive(): boolean;
  /** how it ended: an exit code, or the signal that killed it */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** SIGKILL, then wait for the exit */
  kill9(): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** SIGTERM, then wait for the exit */
  stop(): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Resolves when a log line's msg is `msg`; throws when the process exits first or time runs out. */
  waitForLog(msg: string, timeoutMs?: number): Promise<void>;
}

const live = new Set<BotRun>();

/** Start the bot with `env` (plus PATH) in `cwd`. */
export function startBotProcess(env: Record<string, string>, cwd: string): BotRun {
  const bot = spawnBot(env, cwd);
  const startedAt = Date.now();
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((done) =>
    bot.child.once('exit', (code, signal) => done({ code, signal })),
  );
  let parsedUpTo = 0;
  const parsed: BotLogLine[] = [];
  const logs = () => {
    const text = bot.output();
    const end = text.lastIndexOf('\n') + 1;
    if (end > parsedUpTo) {
      for (const line of text.slice(parsedUpTo, end).split('\n')) {
        if (!line.startsWith('{')) continue;
        try {
          parsed.push(JSON.parse(line) as BotLogLine);
        } catch {
          // not a log line
        }
      }
      parsedUpTo = end;
    }
    return parsed;
  };
  const alive = () => bot.child.exitCode === null && bot.child.signalCode === null;
  const run: BotRun = {
    pid: bot.child.pid!,
    startedAt,
    output: bot.output,
    logs,
    logged: (msg) => logs().some((l) => l.msg === msg),
    alive,
    exited,
    async kill9() {
      bot.child.kill('SIGKILL');
      return exited;
    },
    async stop() {
      bot.child.kill('SIGTERM');
      return exited;
    },
    async waitForLog(msg, timeoutMs = 30_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        if (run.logged(msg)) return;
        if (!alive()) throw new Error(`The bot (pid ${run.pid}) exited before logging "${msg}":\n${bot.output()}`);
        if (Date.now() > deadline) throw new Error(`The bot (pid ${run.pid}) did not log "${msg}" within ${timeoutMs} ms:\n${bot.output()}`);
        await new Promise((r) => setTimeout(r, 20));
      }
    },
  };
  live.add(run);
  void exited.then((how) => {
    live.delete(run);
    // SATBELL_TEST_LOG_DIR=<dir> keeps every bot process's output, for a failure to be read later.
    const dir = process.env.SATBELL_TEST_LOG_DIR;
    if (dir) {
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, `bot-${startedAt}-${run.pid}-${how.signal ?? how.code}.log`), bot.output());
    }
  });
  return run;
}

/** For afterAll/afterEach: SIGKILL every bot process still running. */
export async function killAllBots(): Promise<void> {
  await Promise.all([...live].map((run) => run.kill9()));
}

export interface ProxiedRequest {
  method: string;
  /** as sent, e.g. `/api/v10/channels/1/messages` */
  path: string;
  /** when the proxy got it */
  at: number;
  /** when the target answered (it has acted on it by then) */
  answeredAt?: number;
  status?: number;
  /** the request body as text, once it has all arrived */
  body?: string;
}

export interface DelayingProxy {
  /** the proxy's base URL with the target's path, e.g. http://127.0.0.1:4711/api */
  url: string;
  requests: ProxiedRequest[];
  close(): Promise<void>;
}

/**
 * An HTTP proxy to `target` that holds each answer back for `delayMs(method, path)` ms after the
 * target gave it: the target has already done what was asked while the client still waits.
 */
export async function startDelayingProxy(target: string, delayMs: (method: string, path: string) => number): Promise<DelayingProxy> {
  const to = new URL(target);
  const requests: ProxiedRequest[] = [];
  const timers = new Set<NodeJS.Timeout>();
  const server = createServer((req, res) => {
    const record: ProxiedRequest = { method: req.method ?? 'GET', path: req.url ?? '/', at: Date.now() };
    requests.push(record);
    const sent: Buffer[] = [];
    req.on('data', (c: Buffer) => sent.push(c));
    req.on('end', () => (record.body = Buffer.concat(sent).toString('utf8')));
    const headers: IncomingHttpHeaders = { ...req.headers, host: to.host };
    const upstream = httpRequest(
      { host: to.hostname, port: to.port, method: req.method, path: req.url, headers },
      (answer) => {
        const chunks: Buffer[] = [];
        answer.on('data', (c: Buffer) => chunks.push(c));
        answer.on('end', () => {
          record.answeredAt = Date.now();
          record.status = answer.statusCode;
          const send = () => {
            if (res.destroyed) return;
            const out = { ...answer.headers };
            delete out['transfer-encoding'];
            delete out.connection;
            res.writeHead(answer.statusCode ?? 502, out).end(Buffer.concat(chunks));
          };
          const delay = delayMs(record.method, record.path);
          if (delay <= 0) return send();
          const timer = setTimeout(() => {
            timers.delete(timer);
            send();
          }, delay);
          timers.add(timer);
        });
      },
    );
    // A client killed mid-request: give up on the target too rather than leave it waiting for a body.
    res.on('close', () => {
      if (!res.writableFinished) upstream.destroy();
    });
    upstream.on('error', (err) => {
      if (!res.destroyed) res.writeHead(502, { 'content-type': 'text/plain' }).end(String(err));
    });
    req.pipe(upstream);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}${to.pathname.replace(/\/$/, '')}`,
    requests,
    async close() {
      for (const timer of timers) clearTimeout(timer);
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** A small seeded PRNG (mulberry32): the same seed replays the same trials. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The seed from SATBELL_TEST_SEED, or a fresh one. */
export function testSeed(): number {
  const given = process.env.SATBELL_TEST_SEED;
  if (given !== undefined && given !== '') {
    const seed = Number(given);
    if (!Number.isInteger(seed)) throw new Error(`SATBELL_TEST_SEED must be an integer (got ${given})`);
    return seed;
  }
  return Math.floor(Math.random() * 2 ** 31);
}

/**
 * Poll `read` until `done` holds for its value and the value (compared as JSON) has not changed for
 * `stableMs`. After `timeoutMs` it gives up and returns the last value: the caller's assertions
 * then say what is wrong with it.
 */
export async function waitUntilStable<T>(
  read: () => T,
  done: (value: T) => boolean,
  { stableMs = 2_000, timeoutMs = 60_000, intervalMs = 100 } = {},
): Promise<{ value: T; settled: boolean; ms: number }> {
  const started = Date.now();
  let last = JSON.stringify(read());
  let since = started;
  for (;;) {
    const value = read();
    const text = JSON.stringify(value);
    if (text !== last) {
      last = text;
      since = Date.now();
    }
    if (done(value) && Date.now() - since >= stableMs) return { value, settled: true, ms: Date.now() - started };
    if (Date.now() - started > timeoutMs) return { value, settled: false, ms: Date.now() - started };
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/** The transaction a notice message is about: the txid at the end of its embed's link. */
export function noticeTxid(message: FakeMessage): string | undefined {
  return message.embeds[0]?.url?.match(/\/tx\/([0-9a-f]{64})$/)?.[1];
}

/** A notice's Status field. */
export function noticeStatus(message: FakeMessage): string | undefined {
  return message.embeds[0]?.fields?.find((f) => f.name === 'Status')?.value;
}
