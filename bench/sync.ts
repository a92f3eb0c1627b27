/**
 * `npm run bench`: what one sync cycle costs satbell at 100, 1,000 and 10,000 tracked addresses
 * of which 1% change per cycle, against the original strategy (two calls per address per cycle).
 *
 * This process runs the fake services (test/fakes/chain over an indexed FakeChain) on 127.0.0.1
 * and changes the chain between cycles; each side of each size runs in a child process of its own
 * (bench/worker.ts), so its peak RSS is its own. Calls are counted by the fake server.
 *
 * Options (flag or environment variable; flags win):
 *   --sizes 100,1000,10000         BENCH_SIZES
 *   --latency 50                   BENCH_LATENCY_MS        delay of every fake answer, ms
 *   --cycles 3                     BENCH_CYCLES            measured cycles per size (median reported)
 *   --baseline-cycles 1            BENCH_BASELINE_CYCLES
 *   --rps unlimited                BENCH_RPS               client pace of both sides and the fakes' 429 limit
 *   --change 1                     BENCH_CHANGE_PCT        % of addresses with a new tx per cycle
 *   --history 2                    BENCH_HISTORY           confirmed txs per address before the first sync
 *   --arrival confirmed            BENCH_ARRIVAL           confirmed: new txs arrive in a block;
 *                                                          mempool: unconfirmed, mined before the next cycle
 *   --warmup 0                     BENCH_WARMUP            unmeasured cycles first (default 1 with mempool)
 *   --providers blockchain-info    BENCH_PROVIDERS         add esplora to measure satbell on Esplora too
 *   --baseline-concurrency 32      BENCH_BASELINE_CONCURRENCY
 */
import { fork, type ChildProcess } from 'node:child_process';
import { cpus } from 'node:os';
import type { ProviderKind } from '../src/chain/providers/index.js';
import { testAddress } from '../test/support/addresses.js';
import { byRoute, IndexedFakeChain, startFakes, type LimitedFake } from './chain.js';
import { type SeedAddress, seedFromChain } from './seed.js';
import type { CycleResult, FromWorker, Setup, ToWorker } from './worker.js';
import { readFlags } from './flags.js';

const USAGE = `npm run bench -- [--sizes 100,1000,10000] [--latency 50] [--cycles 3] [--baseline-cycles 1] [--rps unlimited]
  [--change 1] [--history 2] [--arrival confirmed|mempool] [--warmup 0] [--providers blockchain-info,esplora] [--baseline-concurrency 32]
Each flag has an environment variable too (BENCH_SIZES…), listed at the top of bench/sync.ts.`;

/** the published or reported public limits, requests per second */
const PUBLIC_RPS: Record<ProviderKind, number> = { 'blockchain-info': 0.1, esplora: 4 };
/** cron intervals a user would write, minutes */
const CRON_STEPS = [1, 2, 5, 10, 15, 20, 30, 60, 120, 180, 240, 360, 720, 1440];

interface Options {
  sizes: number[];
  latencyMs: number;
  cycles: number;
  baselineCycles: number;
  rps: number;
  changePct: number;
  history: number;
  arrival: 'confirmed' | 'mempool';
  warmup: number;
  providers: ProviderKind[];
  baselineConcurrency: number;
}

function parseOptions(argv: string[]): Options {
  const flags = readFlags(argv, ['sizes', 'latency', 'cycles', 'baseline-cycles', 'rps', 'change', 'history', 'arrival', 'warmup', 'providers', 'baseline-concurrency'], USAGE);
  const get = (flag: string, env: string, fallback: string) => flags.get(flag) ?? process.env[env] ?? fallback;
  const int = (flag: string, env: string, fallback: string, min: number) => {
    const text = get(flag, env, fallback);
    const n = Number(text);
    if (!Number.isInteger(n) || n < min) throw new Error(`--${flag} must be an integer ≥ ${min}, got ${text}`);
    return n;
  };

  const sizes = get('sizes', 'BENCH_SIZES', '100,1000,10000').split(',').map((s) => Number(s.trim()));
  if (!sizes.every((n) => Number.isInteger(n) && n > 0)) throw new Error('--sizes must be positive integers, e.g. 100,1000');
  const rpsText = get('rps', 'BENCH_RPS', 'unlimited');
  const rps = rpsText === 'unlimited' ? Infinity : Number(rpsText);
  if (!(rps > 0)) throw new Error(`--rps must be a positive number or unlimited, got ${rpsText}`);
  const changePct = Number(get('change', 'BENCH_CHANGE_PCT', '1'));
  if (!(changePct > 0 && changePct <= 100)) throw new Error('--change must be a percentage in (0, 100]');
  const arrival = get('arrival', 'BENCH_ARRIVAL', 'confirmed');
  if (arrival !== 'confirmed' && arrival !== 'mempool') throw new Error('--arrival must be confirmed or mempool');
  const providers = get('providers', 'BENCH_PROVIDERS', 'blockchain-info').split(',').map((p) => p.trim());
  for (const p of providers) if (p !== 'blockchain-info' && p !== 'esplora') throw new Error(`unknown provider ${p}`);
  return {
    sizes,
    latencyMs: int('latency', 'BENCH_LATENCY_MS', '50', 0),
    cycles: int('cycles', 'BENCH_CYCLES', '3', 1),
    baselineCycles: int('baseline-cycles', 'BENCH_BASELINE_CYCLES', '1', 0),
    rps,
    changePct,
    history: int('history', 'BENCH_HISTORY', '2', 1),
    arrival,
    warmup: int('warmup', 'BENCH_WARMUP', arrival === 'mempool' ? '1' : '0', 0),
    providers: providers as ProviderKind[],
    baselineConcurrency: int('baseline-concurrency', 'BENCH_BASELINE_CONCURRENCY', '32', 1),
  };
}

/** a worker process and a way to talk to it one message at a time */
function startWorker() {
  const child: ChildProcess = fork(new URL('./worker.ts', import.meta.url), [], { serialization: 'advanced', stdio: 'inherit' });
  const inbox: FromWorker[] = [];
  let waiting: ((m: FromWorker) => void) | undefined;
  let exited: string | undefined;
  const deliver = (m: FromWorker) => {
    if (waiting) {
      const w = waiting;
      waiting = undefined;
      w(m);
    } else inbox.push(m);
  };
  child.on('message', (m: FromWorker) => deliver(m));
  child.on('exit', (code, signal) => {
    exited = `worker exited (${signal ?? code})`;
    deliver({ type: 'error', message: exited });
  });
  return {
    async ask<T extends FromWorker['type']>(message: ToWorker, expect: T): Promise<Extract<FromWorker, { type: T }>> {
      if (exited) throw new Error(exited);
      child.send(message);
      const reply = inbox.shift() ?? (await new Promise<FromWorker>((resolve) => (waiting = resolve)));
      if (reply.type === 'error') throw new Error(`worker: ${reply.message}`);
      if (reply.type !== expect) throw new Error(`worker answered ${reply.type}, expected ${expect}`);
      return reply as Extract<FromWorker, { type: T }>;
    },
    async exit(): Promise<{ maxRssKb: number; rssNowKb: number }> {
      const bye = await this.ask({ type: 'exit' }, 'bye');
      await new Promise<void>((resolve) => (child.exitCode !== null ? resolve() : child.once('exit', () => resolve())));
      return bye;
    },
  };
}

interface Measured {
  calls: number;
  /** the calls by route, e.g. "/balance 2, /rawaddr 1" */
  routes: string;
  ms: number;
  rejected: number;
  result: CycleResult;
}

interface SideResult {
  cycles: Measured[];
  first?: Measured;
  setup: Setup;
  /** the process's peak RSS (maxRSS), and its RSS when it finished */
  maxRssKb: number;
  rssNowKb: number;
}

interface SizeResult {
  size: number;
  changed: number;
  ours: Map<ProviderKind, SideResult>;
  /** absent with --baseline-cycles 0 */
  baseline?: SideResult;
}

async function benchSize(size: number, options: Options, log: (line: string) => void): Promise<SizeResult> {
  const chain = new IndexedFakeChain();
  const list = Array.from({ length: size }, (_, i) => testAddress(`bench-${i}`));
  for (let round = 0; round < options.history; round++) {
    list.forEach((address, i) => chain.fund(address, 10_000 + i + round));
    chain.mine();
  }
  /** what the wallet would have stored of every address, as the chain stands now */
  const seedNow = (): SeedAddress[] => seedFromChain(chain, list);

  const changed = Math.max(1, Math.round((size * options.changePct) / 100));
  const stride = Math.max(1, Math.floor(size / changed));
  let step = 0;
  /** `changed` addresses (a different set each time) get a new tx */
  const advance = () => {
    step += 1;
    if (options.arrival === 'mempool') chain.mine(); // last cycle's txs confirm
    for (let j = 0; j < changed; j++) chain.fund(list[(j * stride + step) % size]!, 5_000 + step);
    if (options.arrival === 'confirmed') chain.mine();
  };

  const fakes = await startFakes(chain, { latencyMs: options.latencyMs, rps: options.rps, esplora: options.providers.includes('esplora') });
  const measure = async (fake: LimitedFake, run: () => Promise<CycleResult>): Promise<Measured> => {
    fake.requests.length = 0;
    const rejectedBefore = fake.rejected();
    const result = await run();
    return { calls: fake.requests.length, routes: byRoute(fake.requests.map((r) => r.path)), ms: result.ms, rejected: fake.rejected() - rejectedBefore, result };
  };

  try {
    const ours = new Map<ProviderKind, SideResult>();
    for (const kind of options.providers) {
      const fake = kind === 'esplora' ? fakes.esplora! : fakes.blockchainInfo;
      const worker = startWorker();
      let setup: Setup | undefined;
      const seed = seedNow();
      // Addresses stored with an unconfirmed tx are looked at again by any sync; nothing else should be.
      const pending = seed.filter((a) => a.txs.some((t) => t.blockHeight === null)).length;
      const first = await measure(fake, async () => {
        const ready = await worker.ask({ type: 'init-ours', provider: kind, url: fake.url, rps: options.rps, seed }, 'ready');
        setup = ready.setup;
        return ready.first!;
      });
      log(`  ${size} satbell/${kind}: database opened in ${fmtMs(setup!.openMs)} (peak RSS then ${fmtMb(setup!.rssAfterOpenKb)}), seeded in ${fmtMs(setup!.seedMs)}; first sync ${fmtMs(first.ms)}, ${first.calls} calls, ${first.result.report?.refreshed} refreshed`);
      if (first.result.report?.refreshed !== pending) {
        log(`  warning: the first sync refreshed ${first.result.report?.refreshed} addresses, not ${pending}: the seed and the chain disagree`);
      }
      const cycles: Measured[] = [];
      for (let c = 0; c < options.warmup + options.cycles; c++) {
        advance();
        const m = await measure(fake, async () => (await worker.ask({ type: 'cycle' }, 'cycle')).result);
        const r = m.result.report!;
        log(`  ${size} satbell/${kind} cycle ${c + 1}${c < options.warmup ? ' (warm-up)' : ''}: ${m.calls} calls (${m.routes}), ${fmtMs(m.ms)}, refreshed ${r.refreshed}, added ${r.added}, confirmed ${r.confirmed}, failed ${r.failed}${m.rejected ? `, ${m.rejected} answered 429` : ''}`);
        if (c >= options.warmup) cycles.push(m);
      }
      ours.set(kind, { cycles, first, setup: setup!, ...(await worker.exit()) });
    }

    if (options.baselineCycles === 0) return { size, changed, ours };
    const worker = startWorker();
    await worker.ask(
      { type: 'init-baseline', url: fakes.blockchainInfo.url, rps: options.rps, concurrency: options.baselineConcurrency, addresses: list },
      'ready',
    );
    const cycles: Measured[] = [];
    for (let c = 0; c < options.baselineCycles; c++) {
      advance();
      const m = await measure(fakes.blockchainInfo, async () => (await worker.ask({ type: 'cycle' }, 'cycle')).result);
      log(`  ${size} baseline cycle ${c + 1}: ${m.calls} calls, ${fmtMs(m.ms)}, ${m.result.failed} failed${m.rejected ? `, ${m.rejected} answered 429` : ''}`);
      cycles.push(m);
    }
    return { size, changed, ours, baseline: { cycles, setup: { openMs: 0, rssAfterOpenKb: 0, seedMs: 0 }, ...(await worker.exit()) } };
  } finally {
    await fakes.blockchainInfo.close();
    await fakes.esplora?.close();
  }
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

function fmtMs(ms: number): string {
  if (ms < 1_000) return `${Math.round(ms)} ms`;
  if (ms < 120_000) return `${(ms / 1000).toFixed(1)} s`;
  if (ms < 2 * 3_600_000) return `${(ms / 60_000).toFixed(1)} min`;
  return `${(ms / 3_600_000).toFixed(1)} h`;
}

const fmtInt = (n: number) => Math.round(n).toLocaleString('en-US');
const fmtMb = (kb: number) => `${Math.round(kb / 1024)} MB`;
const fmtPct = (ratio: number) => `${(ratio * 100).toFixed(ratio < 0.1 ? 2 : 1)}%`;

/** the shortest cron interval a cycle of `calls` fits in at `rps`, as SYNC_CRON */
function cronFor(calls: number, rps: number): string {
  const minutes = calls / rps / 60;
  const step = CRON_STEPS.find((m) => m >= minutes);
  if (step === undefined) return `> 1 day`;
  if (step < 60) return `\`*/${step} * * * *\``;
  if (step === 60) return '`0 * * * *`';
  if (step < 1440) return `\`0 */${step / 60} * * *\``;
  return '`0 0 * * *`';
}

function render(results: SizeResult[], options: Options): string {
  const out: string[] = [];
  const bci = PUBLIC_RPS['blockchain-info'];
  const side = (r: SideResult) => ({ calls: median(r.cycles.map((c) => c.calls)), ms: median(r.cycles.map((c) => c.ms)) });

  if (results.some((r) => r.ours.has('blockchain-info'))) {
    out.push(
      '| addresses | changed / cycle | satbell calls / cycle | baseline calls / cycle | ratio | satbell wall / cycle | baseline wall / cycle | satbell peak RSS | baseline peak RSS | satbell cycle at 1 req/10 s | baseline cycle at 1 req/10 s | shortest SYNC_CRON at 1 req/10 s |',
      '|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|',
    );
  }
  for (const r of results) {
    const ours = r.ours.get('blockchain-info');
    if (!ours) continue;
    const o = side(ours);
    const base = r.baseline && side(r.baseline);
    const b = <T>(f: (base: { calls: number; ms: number }, side: SideResult) => T) => (base ? f(base, r.baseline!) : '—');
    out.push(
      `| ${fmtInt(r.size)} | ${fmtInt(r.changed)} | ${fmtInt(o.calls)} | ${b((x) => fmtInt(x.calls))} | ${b((x) => fmtPct(o.calls / x.calls))} | ${fmtMs(o.ms)} | ${b((x) => fmtMs(x.ms))} | ${fmtMb(ours.maxRssKb)} | ${b((_, s) => fmtMb(s.maxRssKb))} | ${fmtMs((o.calls / bci) * 1000)} | ${b((x) => fmtMs((x.calls / bci) * 1000))} | ${cronFor(o.calls, bci)} |`,
    );
  }

  if (results.some((r) => r.ours.has('esplora'))) {
    const esp = PUBLIC_RPS.esplora;
    out.push(
      ...(out.length ? [''] : []),
      'satbell on Esplora (`CHAIN_PROVIDERS=esplora`; no batch balance call), against the same baseline:',
      '',
      '| addresses | changed / cycle | satbell calls / cycle | ratio | satbell wall / cycle | satbell peak RSS | satbell cycle at 4 req/s | shortest SYNC_CRON at 4 req/s |',
      '|---:|---:|---:|---:|---:|---:|---:|---|',
    );
    for (const r of results) {
      const ours = r.ours.get('esplora');
      if (!ours) continue;
      const o = side(ours);
      out.push(
        `| ${fmtInt(r.size)} | ${fmtInt(r.changed)} | ${fmtInt(o.calls)} | ${r.baseline ? fmtPct(o.calls / side(r.baseline).calls) : '—'} | ${fmtMs(o.ms)} | ${fmtMb(ours.maxRssKb)} | ${fmtMs((o.calls / esp) * 1000)} | ${cronFor(o.calls, esp)} |`,
      );
    }
  }

  out.push(
    '',
    'Where satbell\'s time goes (median cycle), and its setup:',
    '',
    '| addresses | provider | refreshed / cycle | work-list query | getBalances | getHistory | store + rest | open DB | peak RSS after open | seed DB | first sync: calls, time | RSS at end | 429s |',
    '|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|',
  );
  for (const r of results) {
    for (const [kind, ours] of r.ours) {
      const pick = (f: (m: Measured) => number) => fmtMs(median(ours.cycles.map(f)));
      const b = (m: Measured) => m.result.breakdown!;
      const rejected = [...ours.cycles, ...(ours.first ? [ours.first] : [])].reduce((n, c) => n + c.rejected, 0);
      out.push(
        `| ${fmtInt(r.size)} | ${kind} | ${fmtInt(median(ours.cycles.map((c) => c.result.report!.refreshed)))} | ${pick((m) => b(m).trackedMs)} | ${pick((m) => b(m).balancesMs)} | ${pick((m) => b(m).historyMs)} | ${pick((m) => b(m).restMs)} | ${fmtMs(ours.setup.openMs)} | ${fmtMb(ours.setup.rssAfterOpenKb)} | ${fmtMs(ours.setup.seedMs)} | ${fmtInt(ours.first!.calls)}, ${fmtMs(ours.first!.ms)} | ${fmtMb(ours.rssNowKb)} | ${rejected} |`,
      );
    }
  }

  out.push(
    '',
    `Settings: latency ${options.latencyMs} ms per answer; rate limit ${Number.isFinite(options.rps) ? `${options.rps} req/s (client pace and fake 429 limit)` : 'none'}; ` +
      `${options.changePct}% of addresses get a new tx per cycle (${options.arrival}); ${options.history} txs per address before the first sync; ` +
      `median of ${options.cycles} satbell cycle(s)${options.warmup ? ` after ${options.warmup} warm-up` : ''} and ${options.baselineCycles} baseline cycle(s); ` +
      `baseline with ${options.baselineConcurrency} requests in flight; ${cpus().length} CPUs, Node ${process.version}.`,
  );
  return out.join('\n');
}

async function main() {
  const options = parseOptions(process.argv.slice(2));
  const log = (line: string) => process.stderr.write(`${line}\n`);
  const started = performance.now();
  const results: SizeResult[] = [];
  for (const size of options.sizes) {
    log(`${fmtInt(size)} addresses`);
    results.push(await benchSize(size, options, log));
  }
  log(`done in ${fmtMs(performance.now() - started)}\n`);
  process.stdout.write(`${render(results, options)}\n`);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
