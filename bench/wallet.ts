/**
 * `npm run bench:wallet`: what a whole wallet costs satbell in provider calls. A BIP-84 wallet is
 * given history on a fake chain so that, with the gap limit, it watches `--addresses` addresses
 * (200 by default: 100 receive, 100 change, the last `--gap` of each unused). It is tracked through
 * the real wallet service, as /track does (a batched scan, then the used addresses' histories),
 * then idle sync cycles run: nothing on the chain changes, so a cycle costs only what finding that
 * out costs. Measured three ways, each on its own in-memory PGlite:
 * - Blockchain.com (`/balance?active=`, 50 addresses a call);
 * - Esplora (one `/address` call per address);
 * - Blockchain.com with an Electrum server for push (ELECTRUM_SERVERS): every address subscribed,
 *   so the sync's reconciliation leaves them alone.
 * Calls are counted by the fakes (test/fakes/chain over bench/chain.ts), all on 127.0.0.1.
 *
 * Options:
 *   --addresses 200      addresses the wallet watches (even, at least twice the gap)
 *   --gap 20             the wallet's gap limit
 *   --cycles 3           idle sync cycles per provider
 *   --latency 0          delay of every fake HTTP answer, ms
 */
import { inArray } from 'drizzle-orm';
import { pino } from 'pino';
import { parseElectrumServer } from '../src/chain/electrum/rpc.js';
import { createChainProvider, type ProviderKind } from '../src/chain/providers/index.js';
import { openDatabase } from '../src/db/client.js';
import { addresses, walletAddresses } from '../src/db/schema.js';
import { createLeaseCoordinator } from '../src/sync/coordinator.js';
import { createNoticeSignal } from '../src/sync/notice-signal.js';
import { createPushSupervisor } from '../src/sync/push.js';
import { createSync } from '../src/sync/sync.js';
import { createWalletService } from '../src/wallet/service.js';
import { type ElectrumFake, startElectrumFake } from '../test/fakes/chain/electrum.js';
import { testAddress } from '../test/support/addresses.js';
import { BIP84, p2wpkhAt } from '../test/support/wallet-keys.js';
import { byRoute, IndexedFakeChain, type LimitedFake, startFakes } from './chain.js';
import { readFlags } from './flags.js';

const GUILD = 'bench-guild';
const USAGE = `npm run bench:wallet -- [--addresses 200] [--gap 20] [--cycles 3] [--latency 0]`;

interface Options {
  addresses: number;
  gap: number;
  cycles: number;
  latencyMs: number;
}

function parseOptions(argv: string[]): Options {
  const flags = readFlags(argv, ['addresses', 'gap', 'cycles', 'latency'], USAGE);
  const int = (flag: string, fallback: number, min: number) => {
    const text = flags.get(flag) ?? String(fallback);
    const n = Number(text);
    if (!Number.isInteger(n) || n < min) throw new Error(`--${flag} must be an integer ≥ ${min}, got ${text}`);
    return n;
  };
  const options = { addresses: int('addresses', 200, 2), gap: int('gap', 20, 1), cycles: int('cycles', 3, 1), latencyMs: int('latency', 0, 0) };
  if (options.addresses % 2 !== 0 || options.addresses < 2 * (options.gap + 1)) {
    throw new Error(`--addresses must be even and at least 2 × (gap + 1) = ${2 * (options.gap + 1)}`);
  }
  return options;
}

interface Measured {
  side: string;
  watched: number;
  used: number;
  trackCalls: number;
  trackRoutes: string;
  trackMs: number;
  idleHttpCalls: number[];
  /** the last idle cycle's HTTP calls by route */
  idleRoutes?: string;
  idleElectrumRequests?: number[];
  subscribed?: number;
}

/** One side: a fresh database, the wallet tracked as /track does, then idle cycles counted. */
async function measure(
  side: string,
  kind: ProviderKind,
  http: LimitedFake,
  options: Options,
  electrum?: ElectrumFake,
): Promise<Measured> {
  const database = await openDatabase('memory:');
  const logger = pino({ level: 'warn' }, pino.destination(2));
  const provider = createChainProvider({ providers: [kind], esploraUrl: http.url, blockchainInfoUrl: http.url, requestsPerSecond: Infinity, logger });
  const watchesChanged = createNoticeSignal();
  const wallet = createWalletService({ db: database.db, provider, logger, watchesChanged });
  const push =
    electrum &&
    createPushSupervisor({
      servers: [parseElectrumServer(electrum.url)],
      tlsInsecure: false,
      wallet,
      network: 'mainnet',
      logger,
      coordinator: createLeaseCoordinator({ db: database.db, owner: 'bench', logger }),
      watchesChanged,
    });
  try {
    http.requests.length = 0;
    let started = performance.now();
    const tracked = await wallet.track({ guildId: GUILD, userId: 'bench-user', address: BIP84.zpub, label: 'bench wallet', gap: options.gap });
    if (tracked.kind !== 'wallet') throw new Error('the zpub was tracked as an address');
    const result: Measured = { side, watched: tracked.scanned, used: tracked.used, trackCalls: http.requests.length, trackRoutes: byRoute(http.requests.map((r) => r.path)), trackMs: performance.now() - started, idleHttpCalls: [] };

    if (push) {
      push.start();
      // Subscribed, and every address stored as the server has it: what lets the sync skip it.
      started = performance.now();
      for (;;) {
        const rows = await database.db
          .select({ address: addresses.address, status: addresses.electrumStatus })
          .from(addresses)
          .where(inArray(addresses.address, database.db.select({ a: walletAddresses.address }).from(walletAddresses)));
        if (rows.length === tracked.scanned && rows.every((r) => push.isCurrent(r.address, r.status))) break;
        if (performance.now() - started > 60_000) throw new Error('push did not catch up with the wallet in a minute');
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      result.subscribed = push.status()?.subscribed;
      result.idleElectrumRequests = [];
    }

    const sync = createSync({ wallet, provider, logger, isCurrent: push?.isCurrent });
    for (let c = 0; c < options.cycles; c++) {
      http.requests.length = 0;
      const electrumBefore = electrum?.requests.length ?? 0;
      const report = await sync();
      if (report.refreshed !== 0) throw new Error(`an idle cycle refreshed ${report.refreshed} addresses: something moved`);
      result.idleHttpCalls.push(http.requests.length);
      result.idleRoutes = byRoute(http.requests.map((r) => r.path)) || 'none';
      if (electrum) result.idleElectrumRequests!.push(electrum.requests.length - electrumBefore);
    }
    return result;
  } finally {
    await push?.stop();
    await database.close();
  }
}

/**
 * History that leaves the wallet watching `addresses`: on each chain the first `addresses/2 − gap`
 * are used, and the gap follows them. Each receive address is paid, and the coin spent at once with
 * its change to the change address of the same index, as a wallet uses its change chain; each pair
 * is confirmed in a block of its own.
 */
function buildWallet(chain: IndexedFakeChain, { addresses: total, gap }: Options): void {
  const perChain = total / 2 - gap;
  for (let i = 0; i < perChain; i++) {
    chain.fund(p2wpkhAt(BIP84.zpub, 0, i), 100_000 + i);
    chain.addTx({ inputs: [{ address: p2wpkhAt(BIP84.zpub, 0, i), value: 100_000 + i }], outputs: [{ address: testAddress(`bench-wallet-${i}`), value: 40_000 }, { address: p2wpkhAt(BIP84.zpub, 1, i), value: 59_000 + i }] });
    chain.mine();
  }
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[values.length >> 1]!;

async function main() {
  const options = parseOptions(process.argv.slice(2));
  const chain = new IndexedFakeChain();
  buildWallet(chain, options);
  const fakes = await startFakes(chain, { latencyMs: options.latencyMs, rps: Infinity, esplora: true });
  const electrum = await startElectrumFake({ chain });
  const log = (line: string) => process.stderr.write(`${line}\n`);
  try {
    const results: Measured[] = [];
    for (const [side, kind, http, push] of [
      ['Blockchain.com', 'blockchain-info', fakes.blockchainInfo, undefined],
      ['Esplora', 'esplora', fakes.esplora!, undefined],
      ['Blockchain.com + Electrum push', 'blockchain-info', fakes.blockchainInfo, electrum],
    ] as const) {
      const r = await measure(side, kind, http, options, push);
      log(`${side}: watched ${r.watched} (${r.used} used); /track ${r.trackCalls} calls (${r.trackRoutes}) in ${Math.round(r.trackMs)} ms; idle cycles ${r.idleHttpCalls.join(', ')} HTTP calls (last: ${r.idleRoutes})${r.idleElectrumRequests ? `, ${r.idleElectrumRequests.join(', ')} Electrum requests, ${r.subscribed} subscribed` : ''}`);
      results.push(r);
    }
    const out = [
      '| provider | addresses watched (used) | /track: calls | idle cycle: HTTP calls | idle cycle: Electrum requests |',
      '|---|---:|---:|---:|---:|',
      ...results.map(
        (r) => `| ${r.side} | ${r.watched} (${r.used}) | ${r.trackCalls} | ${median(r.idleHttpCalls)} | ${r.idleElectrumRequests ? `${median(r.idleElectrumRequests)} (${r.subscribed} subscribed)` : '—'} |`,
      ),
      '',
      `Settings: BIP-84 wallet, gap ${options.gap}, ${options.addresses} addresses watched; median of ${options.cycles} idle cycles; latency ${options.latencyMs} ms; Node ${process.version}.`,
    ];
    process.stdout.write(`${out.join('\n')}\n`);
  } finally {
    await fakes.blockchainInfo.close();
    await fakes.esplora?.close();
    await electrum.close();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
