/**
 * One side of one benchmark size, in a process of its own so its peak RSS is its own: either
 * satbell (a real wallet service and sync over PGlite in memory, with the real provider) or the
 * original strategy. bench/sync.ts owns the fake services and the chain, and tells this process when
 * to run a cycle.
 */
import { pino } from 'pino';
import { createChainProvider, type ProviderKind } from '../src/chain/providers/index.js';
import type { ChainProvider } from '../src/chain/provider.js';
import { openDatabase } from '../src/db/client.js';
import { createSync, type SyncReport } from '../src/sync/sync.js';
import { createWalletService } from '../src/wallet/service.js';
import { createBaseline } from './baseline.js';
import { type SeedAddress, seedDatabase } from './seed.js';

export type ToWorker =
  | { type: 'init-ours'; provider: ProviderKind; url: string; rps: number; seed: SeedAddress[] }
  | { type: 'init-baseline'; url: string; rps: number; concurrency: number; addresses: string[] }
  | { type: 'cycle' }
  | { type: 'exit' };

export interface Breakdown {
  /** wallet.trackedAddresses(): the work-list query */
  trackedMs: number;
  /** provider.getBalances over every address */
  balancesMs: number;
  /** provider.getHistory of the addresses that moved */
  historyMs: number;
  /** the rest: storing histories (and notices), confirmedTxids, the loop */
  restMs: number;
}

export interface CycleResult {
  ms: number;
  /** satbell only */
  report?: SyncReport;
  breakdown?: Breakdown;
  /** baseline only: calls it made, calls that failed */
  calls?: number;
  failed?: number;
}

export interface Setup {
  /** opening PGlite in memory, initdb and migrations included */
  openMs: number;
  /** peak RSS once the database was open, before any data: PGlite's own share */
  rssAfterOpenKb: number;
  /** inserting the tracked addresses and their histories */
  seedMs: number;
}

export type FromWorker =
  | { type: 'ready'; setup: Setup; first?: CycleResult }
  | { type: 'cycle'; result: CycleResult }
  | { type: 'bye'; maxRssKb: number; rssNowKb: number }
  | { type: 'error'; message: string };


const send = (message: FromWorker) => process.send!(message);

let runCycle: (() => Promise<CycleResult>) | undefined;
let close = async () => {};

// Never outlive the bench, even when it failed before saying 'exit'.
process.on('disconnect', () => process.exit(0));
process.on('message', (message: ToWorker) => {
  void handle(message).catch((err: unknown) => {
    send({ type: 'error', message: err instanceof Error ? (err.stack ?? err.message) : String(err) });
  });
});

async function handle(message: ToWorker): Promise<void> {
  switch (message.type) {
    case 'init-ours': {
      const { setup, cycle } = await initOurs(message);
      runCycle = cycle;
      // The first sync after seeding is the baseline sync: nothing has moved, nothing is fetched.
      send({ type: 'ready', setup, first: await runCycle() });
      return;
    }
    case 'init-baseline': {
      const cycle = createBaseline({ baseUrl: message.url, concurrency: message.concurrency, requestsPerSecond: message.rps });
      runCycle = async () => {
        const started = performance.now();
        const { calls, failed } = await cycle(message.addresses);
        return { ms: performance.now() - started, calls, failed };
      };
      send({ type: 'ready', setup: { openMs: 0, rssAfterOpenKb: 0, seedMs: 0 } });
      return;
    }
    case 'cycle':
      send({ type: 'cycle', result: await runCycle!() });
      return;
    case 'exit':
      await close();
      send({ type: 'bye', maxRssKb: process.resourceUsage().maxRSS, rssNowKb: Math.round(process.memoryUsage().rss / 1024) });
      process.disconnect();
      return;
  }
}

async function initOurs({
  provider: kind,
  url,
  rps,
  seed,
}: Extract<ToWorker, { type: 'init-ours' }>): Promise<{ setup: Setup; cycle: () => Promise<CycleResult> }> {
  let started = performance.now();
  const database = await openDatabase('memory:');
  const openMs = performance.now() - started;
  const rssAfterOpenKb = process.resourceUsage().maxRSS;
  close = () => database.close();
  const { db } = database;
  started = performance.now();
  await seedDatabase(db, seed, 'bench-guild');
  const setup: Setup = { openMs, rssAfterOpenKb, seedMs: performance.now() - started };

  const logger = pino({ level: 'warn' }, pino.destination(2));
  const real = createChainProvider({
    providers: [kind],
    esploraUrl: url,
    blockchainInfoUrl: url,
    requestsPerSecond: rps,
    logger,
  });

  // Timers around the seams only; every call goes through to the real objects.
  const times = { trackedMs: 0, balancesMs: 0, historyMs: 0 };
  const timed = async <T>(key: keyof typeof times, run: () => Promise<T>): Promise<T> => {
    const started = performance.now();
    try {
      return await run();
    } finally {
      times[key] += performance.now() - started;
    }
  };
  const provider: ChainProvider = {
    get name() {
      return real.name;
    },
    getBalances: (list, signal) => timed('balancesMs', () => real.getBalances(list, signal)),
    getHistory: (address, options) => timed('historyMs', () => real.getHistory(address, options)),
    getTipHeight: (request) => timed('balancesMs', () => real.getTipHeight(request)),
  };
  const wallet = createWalletService({ db, provider, logger });
  const sync = createSync({
    // trackedAddresses() is typed as drizzle's query builder; the sync only awaits it.
    wallet: { ...wallet, trackedAddresses: (() => timed('trackedMs', async () => await wallet.trackedAddresses())) as unknown as typeof wallet.trackedAddresses },
    provider,
    logger,
  });

  const cycle = async (): Promise<CycleResult> => {
    times.trackedMs = times.balancesMs = times.historyMs = 0;
    const started = performance.now();
    const report = await sync();
    const ms = performance.now() - started;
    return { ms, report, breakdown: { ...times, restMs: ms - times.trackedMs - times.balancesMs - times.historyMs } };
  };
  return { setup, cycle };
}

