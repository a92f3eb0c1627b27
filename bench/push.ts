/**
 * `npm run bench:push`: satbell with Electrum push on, at 1,000, 10,000 and 75,000 tracked
 * addresses on one connection. For each size: the time to subscribe everything at start, RSS, the
 * HTTP calls of an idle cron sync, the Electrum requests per payment, and the time from a payment
 * reaching the server to its notice at the transport (p50, p99), then the same for the block that
 * confirms them all.
 *
 * This process runs the fakes (the Electrum fake and the Blockchain.com one, over one indexed
 * FakeChain) and makes the payments; satbell runs in bench/push-worker.ts, a process of its own.
 *
 * Options (flag or environment variable; flags win):
 *   --sizes 1000,10000,75000   BENCH_PUSH_SIZES
 *   --payments 100             BENCH_PUSH_PAYMENTS   payments per size, made one after the other
 *   --latency 50               BENCH_LATENCY_MS      delay of every HTTP fake answer, ms (Electrum: none)
 *   --statuses stored          BENCH_PUSH_STATUSES   stored: a bot that already ran with push;
 *                                                    none: its first start with push, every history read once
 *   --analyze false            BENCH_PUSH_ANALYZE    true: ANALYZE after seeding (PGlite has no autovacuum; satbell
 *                                                    analyzes at open and every 6 h, before the bench seeds its rows)
 */
import { fork, type ChildProcess } from 'node:child_process';
import { cpus, loadavg } from 'node:os';
import { historyStatus } from '../src/chain/electrum/status.js';
import type { SyncReport } from '../src/sync/sync.js';
import { startElectrumFake } from '../test/fakes/chain/electrum.js';
import { testAddress } from '../test/support/addresses.js';
import { IndexedFakeChain, startFakes } from './chain.js';
import type { FromPushWorker, ToPushWorker } from './push-worker.js';
import { type SeedAddress, seedFromChain } from './seed.js';
import { readFlags } from './flags.js';

interface Options {
  sizes: number[];
  payments: number;
  latencyMs: number;
  statuses: 'stored' | 'none';
  analyze: boolean;
}

function parseOptions(argv: string[]): Options {
  const flags = readFlags(argv, ['sizes', 'payments', 'latency', 'statuses', 'analyze']);
  const get = (flag: string, env: string, fallback: string) => flags.get(flag) ?? process.env[env] ?? fallback;
  const sizes = get('sizes', 'BENCH_PUSH_SIZES', '1000,10000,75000').split(',').map((s) => Number(s.trim()));
  if (!sizes.every((n) => Number.isInteger(n) && n > 0)) throw new Error('--sizes must be positive integers, e.g. 1000,10000');
  const payments = Number(get('payments', 'BENCH_PUSH_PAYMENTS', '100'));
  if (!Number.isInteger(payments) || payments < 1) throw new Error('--payments must be a positive integer');
  const latencyMs = Number(get('latency', 'BENCH_LATENCY_MS', '50'));
  if (!Number.isInteger(latencyMs) || latencyMs < 0) throw new Error('--latency must be an integer ≥ 0');
  const statuses = get('statuses', 'BENCH_PUSH_STATUSES', 'stored');
  if (statuses !== 'stored' && statuses !== 'none') throw new Error('--statuses must be stored or none');
  const analyze = get('analyze', 'BENCH_PUSH_ANALYZE', 'false');
  if (analyze !== 'true' && analyze !== 'false') throw new Error('--analyze must be true or false');
  return { sizes, payments, latencyMs, statuses, analyze: analyze === 'true' };
}

type Delivered = Extract<FromPushWorker, { type: 'delivered' }>;

/** the worker, asked one thing at a time; its deliveries go to `onDelivered` whenever they come */
function startWorker(onDelivered: (d: Delivered) => void) {
  const child: ChildProcess = fork(new URL('./push-worker.ts', import.meta.url), [], { serialization: 'advanced', stdio: 'inherit' });
  let waiting: ((m: FromPushWorker) => void) | undefined;
  let exited: string | undefined;
  child.on('message', (m: FromPushWorker) => {
    if (m.type === 'delivered') return onDelivered(m);
    const w = waiting;
    waiting = undefined;
    w?.(m);
  });
  child.on('exit', (code, signal) => {
    exited = `worker exited (${signal ?? code})`;
    waiting?.({ type: 'error', message: exited });
  });
  return async function ask<T extends FromPushWorker['type']>(message: ToPushWorker, expect: T): Promise<Extract<FromPushWorker, { type: T }>> {
    if (exited) throw new Error(exited);
    const reply = new Promise<FromPushWorker>((resolve) => (waiting = resolve));
    child.send(message);
    const m = await reply;
    if (m.type === 'error') throw new Error(`worker: ${m.message}`);
    if (m.type !== expect) throw new Error(`worker answered ${m.type}, expected ${expect}`);
    return m as Extract<FromPushWorker, { type: T }>;
  };
}

export interface PushResult {
  size: number;
  openMs: number;
  seedMs: number;
  subscribeMs: number;
  subscribed: number;
  polled: number;
  /** Electrum requests from connecting to subscribed */
  subscribeRequests: number;
  rssAfterOpenKb: number;
  rssSubscribedKb: number;
  /** from subscribed to every status stored: the first start's reads of every history */
  catchUpMs: number;
  catchUpRequests: number;
  /** --statuses none: payment → notice for one payment made as the first reads began */
  duringCatchUpMs: number | undefined;
  maxRssKb: number;
  idle: { httpCalls: number; electrumRequests: number; ms: number; report: SyncReport };
  /** ms from chain.fund to the notice posted, one per payment */
  paid: number[];
  /** Electrum requests each payment led to */
  requestsPerPayment: number[];
  /** the same, for as many payments made at once */
  burst: number[];
  burstRequests: number;
  /** ms from the block to each payment's notice edited */
  confirmed: number[];
  confirmRequests: number;
}

/** what push would have stored: each address's status as the server gives it */
function statusOf(chain: IndexedFakeChain, address: string): string | null {
  const txs = chain.txsOf(new Set([address])).filter((t) => t.block !== null);
  txs.sort((a, b) => a.block!.height - b.block!.height || a.block!.txids.indexOf(a.txid) - b.block!.txids.indexOf(b.txid));
  return historyStatus(txs.map((t) => ({ txid: t.txid, height: t.block!.height })));
}

async function benchSize(size: number, options: Options, log: (line: string) => void): Promise<PushResult> {
  const chain = new IndexedFakeChain();
  const list = Array.from({ length: size }, (_, i) => testAddress(`bench-${i}`));
  for (let round = 0; round < 2; round++) {
    list.forEach((address, i) => chain.fund(address, 10_000 + i + round));
    chain.mine();
  }
  // A bot that already ran with push: its rows, statuses and block times are as the chain has them.
  const seed: SeedAddress[] = seedFromChain(chain, list).map((a) => ({
    ...a,
    electrumStatus: options.statuses === 'stored' ? statusOf(chain, a.address) : null,
    txs: a.txs.map((t) => ({ ...t, timeIsBlockTime: t.blockHeight !== null })),
  }));
  // Let the seeding's change notices pass before the Electrum fake listens.
  await new Promise((resolve) => setImmediate(resolve));
  const { blockchainInfo: http } = await startFakes(chain, { latencyMs: options.latencyMs, rps: Infinity, esplora: false });
  const electrum = await startElectrumFake({ chain });

  const waiters = new Map<string, (at: number) => void>();
  const ask = startWorker((d) => {
    if (d.txid !== null) waiters.get(`${d.kind}:${d.txid}`)?.(d.at);
  });
  const delivered = (kind: 'post' | 'edit', txid: string, timeoutMs: number) =>
    new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no ${kind} of ${txid} in ${timeoutMs} ms`)), timeoutMs);
      waiters.set(`${kind}:${txid}`, (at) => (clearTimeout(timer), waiters.delete(`${kind}:${txid}`), resolve(at)));
    });

  try {
    const ready = await ask({ type: 'init', seed, httpUrl: http.url, electrumUrl: electrum.url, analyze: options.analyze }, 'ready');
    log(`  ${size}: database opened in ${fmtMs(ready.openMs)}, seeded in ${fmtMs(ready.seedMs)}`);
    const subscribed = await ask({ type: 'subscribe' }, 'subscribed');
    const subscribeRequests = electrum.requests.length;
    log(`  ${size}: ${subscribed.subscribed} subscribed (${subscribed.polled} polled) in ${fmtMs(subscribed.ms)}, ${subscribeRequests} Electrum requests`);
    if (subscribed.subscribed !== size) log(`  warning: ${size - subscribed.subscribed} addresses not subscribed`);

    let before = electrum.requests.length;
    // On a first start, one payment while every history is being read: it waits its turn among them.
    const probe = options.statuses === 'none' ? chain.fund(list[size - 1]!, 6_000) : undefined;
    const probeAt = Date.now();
    const probed = probe && delivered('post', probe.txid, 3_600_000).then((at) => at - probeAt);
    const caughtUp = await ask({ type: 'caught-up' }, 'caught-up');
    const duringCatchUpMs = probed && (await probed);
    if (duringCatchUpMs !== undefined) log(`  ${size}: a payment during the first reads: its notice after ${fmtMs(duringCatchUpMs)}`);
    const catchUpRequests = electrum.requests.length - before;
    if (options.statuses === 'none') log(`  ${size}: every status stored ${fmtMs(caughtUp.ms)} after subscribing, ${catchUpRequests} Electrum requests`);

    http.requests.length = 0;
    before = electrum.requests.length;
    const idle = await ask({ type: 'sync' }, 'synced');
    const idleResult = { httpCalls: http.requests.length, electrumRequests: electrum.requests.length - before, ms: idle.ms, report: idle.report };
    log(`  ${size}: idle sync: ${idleResult.httpCalls} HTTP calls, ${idleResult.electrumRequests} Electrum requests, ${fmtMs(idle.ms)}, ${idle.report.addresses} addresses left to poll`);

    await ask({ type: 'timings' }, 'timings');
    const paid: number[] = [];
    const requestsPerPayment: number[] = [];
    const txids: string[] = [];
    const stride = Math.max(1, Math.floor(size / options.payments));
    for (let i = 0; i < options.payments; i++) {
      before = electrum.requests.length;
      const at = Date.now();
      const tx = chain.fund(list[(i * stride) % size]!, 7_000 + i);
      const posted = await delivered('post', tx.txid, 60_000);
      paid.push(posted - at);
      requestsPerPayment.push(electrum.requests.length - before);
      txids.push(tx.txid);
    }
    const seqTimes = await ask({ type: 'timings' }, 'timings');
    log(`  ${size}: ${options.payments} payments: applyPushed p50 ${fmtMs(median(seqTimes.apply))}, knownTxs p50 ${fmtMs(median(seqTimes.known))}`);
    log(`  ${size}: ${options.payments} payments: p50 ${fmtMs(percentile(paid, 50))}, p99 ${fmtMs(percentile(paid, 99))}, max ${fmtMs(Math.max(...paid))}; ${median(requestsPerPayment)} Electrum requests each (median)`);

    // As many at once, to different addresses again: they queue behind one another for the database.
    before = electrum.requests.length;
    const burstAt = Date.now();
    const burstTxs = Array.from({ length: options.payments }, (_, i) => chain.fund(list[(i * stride + 1) % size]!, 8_000 + i));
    const burst = (await Promise.all(burstTxs.map((tx) => delivered('post', tx.txid, 120_000)))).map((at) => at - burstAt);
    const burstRequests = electrum.requests.length - before;
    txids.push(...burstTxs.map((tx) => tx.txid));
    const burstTimes = await ask({ type: 'timings' }, 'timings');
    log(`  ${size}: at once: applyPushed p50 ${fmtMs(median(burstTimes.apply))} p99 ${fmtMs(percentile(burstTimes.apply, 99))}, knownTxs p50 ${fmtMs(median(burstTimes.known))}`);
    log(`  ${size}: ${options.payments} payments at once: p50 ${fmtMs(percentile(burst, 50))}, p99 ${fmtMs(percentile(burst, 99))}, ${burstRequests} Electrum requests`);

    before = electrum.requests.length;
    const edits = txids.map((txid) => delivered('edit', txid, 120_000));
    const minedAt = Date.now();
    chain.mine();
    const confirmed = (await Promise.all(edits)).map((at) => at - minedAt);
    const confirmRequests = electrum.requests.length - before;
    log(`  ${size}: the block confirming them: every notice edited in ${fmtMs(Math.max(...confirmed))} (p50 ${fmtMs(percentile(confirmed, 50))}), ${confirmRequests} Electrum requests`);

    const bye = await ask({ type: 'exit' }, 'bye');
    return {
      size,
      openMs: ready.openMs,
      seedMs: ready.seedMs,
      subscribeMs: subscribed.ms,
      subscribed: subscribed.subscribed,
      polled: subscribed.polled,
      subscribeRequests,
      rssAfterOpenKb: ready.rssAfterOpenKb,
      rssSubscribedKb: subscribed.rssKb,
      catchUpMs: caughtUp.ms,
      catchUpRequests,
      duringCatchUpMs,
      maxRssKb: bye.maxRssKb,
      idle: idleResult,
      paid,
      requestsPerPayment,
      burst,
      burstRequests,
      confirmed,
      confirmRequests,
    };
  } finally {
    await electrum.close();
    await http.close();
  }
}

/** nearest-rank percentile */
function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}
const median = (values: number[]) => percentile(values, 50);

function fmtMs(ms: number): string {
  if (ms < 1_000) return `${Math.round(ms)} ms`;
  if (ms < 120_000) return `${(ms / 1000).toFixed(1)} s`;
  return `${(ms / 60_000).toFixed(1)} min`;
}
const fmtInt = (n: number) => Math.round(n).toLocaleString('en-US');
const fmtMb = (kb: number) => `${Math.round(kb / 1024)} MB`;

function render(results: PushResult[], options: Options, load: string): string {
  const out = [
    '| addresses | subscribed at start | Electrum requests to subscribe | every status stored | HTTP calls / idle sync | idle sync wall | Electrum requests / payment | payment → notice p50 | p99 | max | N at once: p50, p99 | block → all notices edited | RSS subscribed | peak RSS |',
    '|---:|---|---:|---|---:|---:|---:|---:|---:|---:|---|---|---:|---:|',
  ];
  for (const r of results) {
    out.push(
      `| ${fmtInt(r.size)} | ${fmtInt(r.subscribed)} in ${fmtMs(r.subscribeMs)}${r.polled ? ` (${fmtInt(r.polled)} polled)` : ''} | ${fmtInt(r.subscribeRequests)} | ${r.catchUpRequests ? `${fmtMs(r.catchUpMs)} later (${fmtInt(r.catchUpRequests)} requests; a payment meanwhile: ${fmtMs(r.duringCatchUpMs ?? NaN)})` : 'at once'} | ${r.idle.httpCalls} | ${fmtMs(r.idle.ms)} | ${median(r.requestsPerPayment)} | ${fmtMs(percentile(r.paid, 50))} | ${fmtMs(percentile(r.paid, 99))} | ${fmtMs(Math.max(...r.paid))} | ${fmtMs(percentile(r.burst, 50))}, ${fmtMs(percentile(r.burst, 99))} (${fmtInt(r.burstRequests)} requests) | ${fmtMs(Math.max(...r.confirmed))} (${fmtInt(r.confirmRequests)} requests) | ${fmtMb(r.rssSubscribedKb)} | ${fmtMb(r.maxRssKb)} |`,
    );
  }
  out.push(
    '',
    `Settings: ${options.payments} payments per size one after the other, each to another address, then N = ${options.payments} at once, then one block confirming all ${2 * options.payments}; HTTP latency ${options.latencyMs} ms, Electrum on loopback with no added latency; ` +
      `2 confirmed txs per address, ${options.statuses === 'stored' ? 'statuses stored (a bot that already ran with push)' : 'no status stored (the first start with push)'}; PGlite in memory${options.analyze ? ', ANALYZE after seeding' : ', not analyzed since seeding (satbell analyzes at open, before the seeding)'}; ${cpus().length} CPUs, Node ${process.version}; load average ${load}.`,
  );
  return out.join('\n');
}

async function main() {
  const options = parseOptions(process.argv.slice(2));
  const log = (line: string) => process.stderr.write(`${line}\n`);
  const started = performance.now();
  const loads: number[] = [];
  const sampler = setInterval(() => loads.push(loadavg()[0]!), 5_000);
  const results: PushResult[] = [];
  for (const size of options.sizes) {
    log(`${fmtInt(size)} addresses`);
    results.push(await benchSize(size, options, log));
  }
  clearInterval(sampler);
  loads.push(loadavg()[0]!);
  const load = `${Math.min(...loads).toFixed(1)}–${Math.max(...loads).toFixed(1)} (1-minute, sampled every 5 s)`;
  log(`done in ${fmtMs(performance.now() - started)}\n`);
  process.stdout.write(`${render(results, options, load)}\n`);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
