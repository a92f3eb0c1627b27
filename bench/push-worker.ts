/**
 * satbell's side of `npm run bench:push`, in a process of its own so that its RSS is its own: a
 * real wallet service over PGlite in memory, the push supervisor on one Electrum connection, the
 * cron sync as a reconciliation (isCurrent from push), and the notice dispatcher with a transport
 * that says when each notice was posted or edited. bench/push.ts owns the fakes and the chain.
 */
import { count, isNull, sql } from 'drizzle-orm';
import { pino } from 'pino';
import { parseElectrumServer } from '../src/chain/electrum/rpc.js';
import { createChainProvider } from '../src/chain/providers/index.js';
import { openDatabase } from '../src/db/client.js';
import { addresses } from '../src/db/schema.js';
import { createLeaseCoordinator } from '../src/sync/coordinator.js';
import { createNoticeDispatcher } from '../src/sync/notice-dispatcher.js';
import type { NoticeTransport } from '../src/sync/notice-port.js';
import { createNoticeSignal } from '../src/sync/notice-signal.js';
import { createPushSupervisor, type PushSupervisor } from '../src/sync/push.js';
import { createSync, type SyncReport } from '../src/sync/sync.js';
import { createWalletService } from '../src/wallet/service.js';
import { type SeedAddress, seedDatabase } from './seed.js';

export type ToPushWorker =
  /** analyze: give the planner statistics after seeding, which nothing in satbell does on PGlite */
  | { type: 'init'; seed: SeedAddress[]; httpUrl: string; electrumUrl: string; analyze: boolean }
  | { type: 'subscribe' }
  | { type: 'caught-up' }
  | { type: 'sync' }
  /** the time spent in the wallet since the last time asked, and start again */
  | { type: 'timings' }
  | { type: 'exit' };

export type FromPushWorker =
  | { type: 'ready'; openMs: number; seedMs: number; rssAfterOpenKb: number }
  | { type: 'subscribed'; ms: number; subscribed: number; polled: number; rssKb: number }
  | { type: 'synced'; ms: number; report: SyncReport }
  /** every address's status stored (each has a history, so none is null): `ms` since subscribed */
  | { type: 'caught-up'; ms: number }
  /** a notice reached the transport: `at` is Date.now() when it did */
  | { type: 'delivered'; kind: 'post' | 'edit'; txid: string | null; at: number }
  /** ms per call: applyPushed (the store, notices included) and knownTxs (what is stored of a history) */
  | { type: 'timings'; apply: number[]; known: number[] }
  | { type: 'bye'; maxRssKb: number; rssNowKb: number }
  | { type: 'error'; message: string };

const send = (message: FromPushWorker) => process.send!(message);
const rssKb = () => Math.round(process.memoryUsage().rss / 1024);

let push: PushSupervisor | undefined;
let sync: (() => Promise<SyncReport>) | undefined;
let withoutStatus: (() => Promise<number>) | undefined;
let subscribedAt = 0;
const timings = { apply: [] as number[], known: [] as number[] };
let close = async () => {};

process.on('disconnect', () => process.exit(0));
process.on('message', (message: ToPushWorker) => {
  void handle(message).catch((err: unknown) => {
    send({ type: 'error', message: err instanceof Error ? (err.stack ?? err.message) : String(err) });
  });
});

async function handle(message: ToPushWorker): Promise<void> {
  switch (message.type) {
    case 'init':
      return init(message);
    case 'subscribe': {
      // From the start of the supervisor (lease, connect, version, headers, the tracked list, the
      // batches) to a healthy connection with every address subscribed.
      const started = performance.now();
      push!.start();
      for (;;) {
        const status = push!.status();
        if (status?.server !== undefined) {
          subscribedAt = performance.now();
          send({ type: 'subscribed', ms: performance.now() - started, subscribed: status.subscribed, polled: status.polled, rssKb: rssKb() });
          return;
        }
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    }
    case 'caught-up':
      while ((await withoutStatus!()) > 0) await new Promise((resolve) => setTimeout(resolve, 250));
      send({ type: 'caught-up', ms: performance.now() - subscribedAt });
      return;
    case 'timings':
      send({ type: 'timings', apply: timings.apply.splice(0), known: timings.known.splice(0) });
      return;
    case 'sync': {
      const started = performance.now();
      const report = await sync!();
      send({ type: 'synced', ms: performance.now() - started, report });
      return;
    }
    case 'exit':
      await close();
      send({ type: 'bye', maxRssKb: process.resourceUsage().maxRSS, rssNowKb: rssKb() });
      process.disconnect();
      return;
  }
}

async function init({ seed, httpUrl, electrumUrl, analyze }: Extract<ToPushWorker, { type: 'init' }>): Promise<void> {
  let started = performance.now();
  const database = await openDatabase('memory:');
  const openMs = performance.now() - started;
  const rssAfterOpenKb = process.resourceUsage().maxRSS;
  const { db } = database;
  started = performance.now();
  await seedDatabase(db, seed, 'bench-guild');
  const seedMs = performance.now() - started;
  if (analyze) await db.execute(sql`analyze`);

  const logger = pino({ level: 'warn' }, pino.destination(2));
  const provider = createChainProvider({ providers: ['blockchain-info'], esploraUrl: httpUrl, blockchainInfoUrl: httpUrl, requestsPerSecond: Infinity, logger });
  const noticesWritten = createNoticeSignal();
  const watchesChanged = createNoticeSignal();
  const wallet = createWalletService({ db, provider, logger, network: 'mainnet', noticesWritten, watchesChanged });
  const timed =
    <A extends unknown[], R>(into: number[], run: (...args: A) => Promise<R>) =>
    async (...args: A): Promise<R> => {
      const started = performance.now();
      try {
        return await run(...args);
      } finally {
        into.push(performance.now() - started);
      }
    };
  // Timers around the wallet's two calls from push; everything goes through to the real ones.
  const pushWallet = { ...wallet, applyPushed: timed(timings.apply, wallet.applyPushed), knownTxs: timed(timings.known, wallet.knownTxs) };

  let messages = 0;
  const transport: NoticeTransport = {
    async post(notice) {
      send({ type: 'delivered', kind: 'post', txid: notice.txid, at: Date.now() });
      return { messageId: String(++messages) };
    },
    async edit(notice) {
      send({ type: 'delivered', kind: 'edit', txid: notice.txid, at: Date.now() });
    },
    findPosted: async () => null,
  };
  const dispatcher = createNoticeDispatcher({ db, transport, logger, wakeOn: noticesWritten });
  dispatcher.start();
  push = createPushSupervisor({
    servers: [parseElectrumServer(electrumUrl)],
    tlsInsecure: false,
    wallet: pushWallet,
    network: 'mainnet',
    logger,
    coordinator: createLeaseCoordinator({ db, owner: 'bench', logger }),
    watchesChanged,
  });
  withoutStatus = async () => (await db.select({ n: count() }).from(addresses).where(isNull(addresses.electrumStatus)))[0]!.n;
  sync = createSync({ wallet, provider, logger, isCurrent: push.isCurrent });
  close = async () => {
    await push?.stop();
    await dispatcher.stop();
    await database.close();
  };
  send({ type: 'ready', openMs, seedMs, rssAfterOpenKb });
}
