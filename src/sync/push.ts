/**
 * The push source: one connection to the first Electrum server that answers, every tracked
 * address's script hash and the chain tip subscribed, and each status that differs from the
 * stored one read (src/chain/electrum/history.ts) and stored by the wallet's one road; a whole
 * wallet's addresses whose statuses change together are read and stored together. Only the
 * process holding the `push` lease (src/sync/coordinator.ts) keeps subscriptions; the others wait
 * to take it over. Whatever a server sends that does not hold up drops that connection: the cron
 * sync over HTTP carries on meanwhile, so nothing is missed and nothing wrong is stored.
 */
import type { Network } from '../chain/address.js';
import { createElectrumApi, type ElectrumApi, readNotification } from '../chain/electrum/api.js';
import { ElectrumConnectionError, ElectrumTimeoutError, isSubscriptionLimit } from '../chain/electrum/errors.js';
import { readElectrumHistory } from '../chain/electrum/history.js';
import { ElectrumClient, type ElectrumClientOptions, type ElectrumServerAddress } from '../chain/electrum/rpc.js';
import { addressScriptHash } from '../chain/electrum/scripthash.js';
import { createMemoryTxCache } from '../chain/electrum/transactions.js';
import type { Logger } from '../logger.js';
import type { WalletService } from '../wallet/service.js';
import type { NoticeSignal } from './notice-signal.js';
import { createDebouncedBatches, type DebouncedBatches } from './push-batch.js';
import { createHeldLease, PUSH_JOB, type PushCoordinator } from './push-lease.js';
import { walletGroupNames, walletIds } from './wallet-groups.js';

export interface PushStatus {
  /** host:port of the server connected to; undefined while none is */
  server: string | undefined;
  subscribed: number;
  /** tracked addresses the server would not subscribe (its cap): the sync polls them */
  polled: number;
}

export interface PushSupervisor {
  start(): void;
  stop(): Promise<void>;
  /** The sync may skip it: subscribed on a healthy connection, and stored as the server has it. */
  isCurrent(address: string, storedStatus: string | null): boolean;
  /** undefined when this process does not hold the push lease */
  status(): PushStatus | undefined;
}

export interface PushOptions {
  servers: readonly ElectrumServerAddress[];
  tlsInsecure: boolean;
  wallet: WalletService;
  network: Network;
  logger: Logger;
  coordinator: PushCoordinator;
  watchesChanged?: NoticeSignal;
  /** how long the lease is held without renewal; renewed every third of it */
  leaseMs?: number;
  /** the longest wait between reconnection attempts */
  maxBackoffMs?: number;
  client?: Partial<ElectrumClientOptions>;
}

interface Sub {
  address: string;
  /** the group of wallets whose addresses' pushes are stored together (see walletGroupNames); none for a single watch */
  group: string | undefined;
  /** the server's status, once it answered or pushed one */
  status: string | null | undefined;
  /** the status of what is stored */
  stored: string | null;
}

interface Session {
  client: ElectrumClient;
  api: ElectrumApi;
  subs: Map<string, Sub>;
  polled: Set<string>;
  healthy: boolean;
  tipHeight: number | undefined;
  /** addresses whose status was pushed since they were subscribed: news, read first */
  pushed: Set<string>;
  /** addresses found changed when subscribed (a first start's catch-up can be thousands) */
  waiting: Set<string>;
  running: Set<string>;
  /** wallet addresses whose statuses changed, applied a wallet at a time */
  batches: DebouncedBatches;
  resubscribing: Promise<void> | undefined;
  again: boolean;
}

const JOB = PUSH_JOB;
/** subscriptions asked in one batch */
const SUBSCRIBE_BATCH = 500;
/** histories read at once */
const CONCURRENT_READS = 8;
/** connection attempts to one server before the next one in the list is tried */
const ATTEMPTS_PER_SERVER = 3;
/** a connection that lasted this long was a good one: the next reconnect is quick again */
const STABLE_MS = 30_000;
/** how long a wallet's pushed statuses wait for the others of the same payment (its change, say) */
const WALLET_BATCH_MS = 300;

export function createPushSupervisor(options: PushOptions): PushSupervisor {
  const { servers, wallet, network, logger, coordinator, leaseMs = 10_000, maxBackoffMs = 30_000 } = options;
  const log = logger.child({ job: JOB });
  const cache = createMemoryTxCache();
  const blockTimes = new Map<number, Date>();
  let session: Session | undefined;
  let server: string | undefined;
  let stopped = false;
  let loop: Promise<void> | undefined;
  let wake: (() => void) | undefined;
  let unlisten: (() => void) | undefined;

  const lease = createHeldLease({ coordinator, job: JOB, leaseMs, log, onLost: () => session?.client.close() });
  const pause = (ms: number) =>
    new Promise<void>((resolve) => {
      if (stopped) return resolve();
      const timer = setTimeout(() => ((wake = undefined), resolve()), ms);
      wake = () => (clearTimeout(timer), (wake = undefined), resolve());
    });

  /** a dropped connection: the server was wrong or broke a rule; the sync reconciles over HTTP */
  function drop(s: Session, err: unknown, what: string) {
    log.warn({ err, server }, `Electrum server ${what}; dropping the connection, the sync polls over HTTP meanwhile`);
    s.client.close();
  }

  function failed(s: Session, err: unknown, address: string) {
    if (err instanceof ElectrumConnectionError || err instanceof ElectrumTimeoutError || !s.client.open) return;
    if (err instanceof Error && /^Electrum/.test(err.name)) return drop(s, err, `sent a history that does not hold up for ${address}`);
    // The database, most likely: the stored status stays behind, so the sync looks at it.
    log.warn({ err, address }, 'could not store a pushed history; the sync will look at the address');
  }

  async function readAndApply(s: Session, scriptHash: string) {
    const sub = s.subs.get(scriptHash);
    if (!sub || sub.status === undefined || sub.status === sub.stored) return;
    const read = await readElectrumHistory({ api: s.api, network, cache, blockTimes, tipHeight: s.tipHeight, known: wallet.knownTxs }, sub.address, sub.status);
    // Read on a connection since replaced: a newer read may be stored already, and this older one
    // would take its transactions away again.
    if (session !== s || !s.client.open) return;
    await wallet.applyPushed(read.history, read.status, s.tipHeight);
    sub.stored = read.status;
  }

  /** Read the histories of a wallet's changed addresses, then store them in one transaction. */
  async function readAndApplyBatch(s: Session, scriptHashes: string[]) {
    const subs = scriptHashes
      .map((h) => s.subs.get(h))
      .filter((sub): sub is Sub => sub !== undefined && sub.status !== undefined && sub.status !== sub.stored)
      // in the order rows are locked (see ApplyHistories)
      .sort((a, b) => (a.address < b.address ? -1 : 1));
    if (!subs.length) return;
    const reads: Awaited<ReturnType<typeof readElectrumHistory>>[] = [];
    // A few at a time, as single addresses are read: a wallet's first catch-up may have many.
    for (let i = 0; i < subs.length; i += CONCURRENT_READS) {
      const chunk = subs.slice(i, i + CONCURRENT_READS);
      reads.push(
        ...(await Promise.all(
          chunk.map((sub) => readElectrumHistory({ api: s.api, network, cache, blockTimes, tipHeight: s.tipHeight, known: wallet.knownTxs }, sub.address, sub.status!)),
        )),
      );
      if (session !== s || !s.client.open) return;
    }
    await wallet.applyPushedMany(reads, s.tipHeight);
    reads.forEach((read, i) => (subs[i]!.stored = read.status));
  }

  /**
   * Read and store an address whose status differs from what is stored. A pushed status is a
   * payment happening now: it goes ahead of the catch-up of addresses found changed when they were
   * subscribed, which after a long stop can be thousands.
   */
  function catchUp(s: Session, scriptHash: string, { pushed = false } = {}) {
    const group = s.subs.get(scriptHash)?.group;
    if (group !== undefined) return s.batches.add(group, scriptHash);
    if (pushed) {
      s.waiting.delete(scriptHash);
      s.pushed.add(scriptHash);
    } else if (!s.pushed.has(scriptHash)) s.waiting.add(scriptHash);
    pump(s);
  }

  function pump(s: Session) {
    for (const queue of [s.pushed, s.waiting]) pumpFrom(s, queue);
  }

  function pumpFrom(s: Session, queue: Set<string>) {
    for (const scriptHash of queue) {
      if (s.running.size >= CONCURRENT_READS || !s.client.open) return;
      if (s.running.has(scriptHash)) continue;
      queue.delete(scriptHash);
      s.running.add(scriptHash);
      readAndApply(s, scriptHash)
        .catch((err: unknown) => failed(s, err, s.subs.get(scriptHash)?.address ?? scriptHash))
        .finally(() => {
          s.running.delete(scriptHash);
          pump(s);
        });
    }
  }

  function onNotification(s: Session, method: string, params: unknown) {
    let note: ReturnType<typeof readNotification>;
    try {
      note = readNotification(method, params);
    } catch (err) {
      return drop(s, err, 'sent a malformed notification');
    }
    if (note.kind === 'tip') s.tipHeight = note.tip.height;
    if (note.kind !== 'status') return;
    const sub = s.subs.get(note.scriptHash);
    if (!sub) return drop(s, undefined, `pushed a status for ${note.scriptHash}, which was never subscribed`);
    sub.status = note.status;
    if (sub.status !== sub.stored) catchUp(s, note.scriptHash, { pushed: true });
  }

  /** Subscribe what is tracked and not yet subscribed, unsubscribe what no server watches any more. */
  async function resubscribe(s: Session) {
    const tracked = await wallet.trackedAddresses();
    const wanted = new Map(tracked.map((a) => [addressScriptHash(a.address, network), a]));
    // Wallets that share addresses are one group: a payment out of one's address with change to
    // an address only the other has (a wider gap) is stored in one apply.
    const groups = walletGroupNames(tracked.map((a) => ({ address: a.address, wallets: walletIds(a.wallets) })));
    // An address a wallet took in since it was subscribed is stored with the wallet's from now on.
    for (const sub of s.subs.values()) sub.group = groups.get(sub.address);
    const polledBefore = s.polled.size;
    let freed = 0;
    for (const [scriptHash, sub] of s.subs) {
      if (wanted.has(scriptHash)) continue;
      s.subs.delete(scriptHash);
      freed++;
      s.api.unsubscribeScriptHash(scriptHash).catch((err: unknown) => log.debug({ err, address: sub.address }, 'unsubscribe failed'));
    }
    // A place freed under the server's cap: the polled ones are asked again.
    if (freed) s.polled.clear();
    for (const address of s.polled) if (!wanted.has(addressScriptHash(address, network))) s.polled.delete(address);
    const fresh = [...wanted].filter(([h, a]) => !s.subs.has(h) && !s.polled.has(a.address));
    for (let i = 0; i < fresh.length && !s.polled.size; i += SUBSCRIBE_BATCH) {
      const chunk = fresh.slice(i, i + SUBSCRIBE_BATCH);
      // Registered before asking: a push may come in before the answer is read.
      for (const [h, a] of chunk) s.subs.set(h, { address: a.address, group: groups.get(a.address), status: undefined, stored: a.electrumStatus });
      const answers = await s.api.subscribeScriptHashes(chunk.map(([h]) => h));
      answers.forEach((answer, j) => {
        const [h, a] = chunk[j]!;
        const sub = s.subs.get(h)!;
        if (answer.ok) {
          if (sub.status === undefined) sub.status = answer.status;
          if (sub.status !== sub.stored) catchUp(s, h);
          return;
        }
        s.subs.delete(h);
        if (!isSubscriptionLimit(answer.error)) throw answer.error;
        s.polled.add(a.address);
      });
    }
    // Past the cap, nothing more is asked this connection: the rest are polled.
    for (const [h, a] of fresh) if (s.polled.size && !s.subs.has(h)) s.polled.add(a.address);
    if (s.polled.size > polledBefore) {
      log.warn({ server, subscribed: s.subs.size, polled: s.polled.size }, 'the Electrum server refuses more subscriptions; the rest are polled by the sync over HTTP');
    }
  }

  /** resubscribe, one at a time: a signal during one runs another after it */
  function onWatchesChanged() {
    const s = session;
    if (!s?.healthy) return;
    if (s.resubscribing) return void (s.again = true);
    s.resubscribing = (async () => {
      do {
        s.again = false;
        await resubscribe(s).catch((err: unknown) => failed(s, err, 'a new watch'));
      } while (s.again && s.client.open);
      s.resubscribing = undefined;
    })();
  }

  /** A connection, subscribed, and when it closes (wrapped: an async function would wait for it). */
  async function connect(address: ElectrumServerAddress): Promise<{ closed: Promise<void> }> {
    const client = await ElectrumClient.connect({ ...address, rejectUnauthorized: !options.tlsInsecure, ...options.client });
    const s: Session = {
      client,
      api: createElectrumApi(client),
      subs: new Map(),
      polled: new Set(),
      healthy: false,
      tipHeight: undefined,
      pushed: new Set(),
      waiting: new Set(),
      running: new Set(),
      batches: createDebouncedBatches({
        delayMs: WALLET_BATCH_MS,
        run: (group, scriptHashes) => readAndApplyBatch(s, scriptHashes).catch((err: unknown) => failed(s, err, `wallet ${group}`)),
      }),
      resubscribing: undefined,
      again: false,
    };
    const closed = new Promise<void>((resolve) =>
      client.once('close', (reason) => {
        s.healthy = false;
        s.batches.clear();
        if (!stopped && lease.held) log.warn({ server: client.server, reason: reason.reason }, 'Electrum connection lost; reconnecting, the sync polls over HTTP meanwhile');
        resolve();
      }),
    );
    client.on('notification', (method, params) => onNotification(s, method, params));
    try {
      s.tipHeight = (await s.api.subscribeHeaders()).height;
      session = s;
      server = client.server;
      await resubscribe(s);
      s.healthy = client.open;
    } catch (err) {
      client.close();
      throw err;
    }
    log.info({ server, subscribed: s.subs.size, polled: s.polled.size, software: client.serverVersion?.software }, 'Electrum push connected');
    return { closed };
  }

  /** the lease, unless stopped while asking for it: then what was just taken is given back */
  async function holdLease(): Promise<boolean> {
    const got = await lease.take();
    if (!stopped) return got;
    lease.drop();
    if (got) await lease.release();
    return false;
  }

  async function run() {
    let attempts = 0;
    /** connections in a row that ended soon after they were made: a server that keeps failing us is not hammered */
    let brief = 0;
    let index = 0;
    let saidDown = false;
    while (!stopped) {
      if (!(await holdLease())) {
        await pause(leaseMs / 2);
        continue;
      }
      const address = servers[index % servers.length]!;
      const connected = await connect(address).catch((err: unknown) => void log.debug({ err, server: `${address.host}:${address.port}` }, 'Electrum connection failed'));
      if (connected) {
        // Stopped, or the lease lost, while connecting: nobody else will close it.
        if (stopped || !lease.held) session?.client.close();
        if (saidDown) log.info({ server }, 'an Electrum server answers again; push is back');
        attempts = 0;
        saidDown = false;
        const since = Date.now();
        await connected.closed;
        brief = Date.now() - since < STABLE_MS ? brief + 1 : 0;
        session = undefined;
        server = undefined;
      } else {
        attempts++;
        if (attempts % ATTEMPTS_PER_SERVER === 0) index++;
        if (!saidDown && attempts >= ATTEMPTS_PER_SERVER * servers.length) {
          log.warn({ servers: servers.length }, 'no Electrum server can be reached; the sync polls over HTTP meanwhile');
          saidDown = true;
        }
      }
      if (stopped) break;
      // Exponential, with jitter, so that many bots do not come back to one server at once.
      // A server that answers but keeps failing us waits up to 2 s more; one that does not answer, up to maxBackoffMs.
      await pause(Math.min(maxBackoffMs, 250 * 2 ** Math.min(attempts + Math.min(brief, 3), 10)) * (0.5 + Math.random() / 2));
    }
  }

  return {
    start() {
      if (loop || stopped || servers.length === 0) return;
      unlisten = options.watchesChanged?.listen(onWatchesChanged);
      loop = run().catch((err: unknown) => log.error({ err }, 'the push supervisor stopped'));
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      unlisten?.();
      const held = lease.held;
      lease.drop();
      session?.client.close();
      wake?.();
      await loop;
      if (held) await lease.release();
    },
    isCurrent(address, storedStatus) {
      const s = session;
      if (!s?.healthy || !s.client.open) return false;
      const sub = s.subs.get(addressScriptHash(address, network));
      return sub !== undefined && sub.status !== undefined && sub.status === storedStatus;
    },
    status() {
      if (!lease.held) return undefined;
      return { server: session?.healthy ? server : undefined, subscribed: session?.subs.size ?? 0, polled: session?.polled.size ?? 0 };
    },
  };
}
