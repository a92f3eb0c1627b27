/**
 * Kill -9 the bot process at random points of its work, many times over, and check that users see
 * every balance change exactly once. The fakes live in this process and outlive every bot process;
 * the database is PGlite on disk (always) and Postgres (when TEST_DATABASE_URL is set), each in a
 * file of its own: crash-pglite.test.ts and crash-postgres.test.ts. test/faults/crash-electrum.test.ts runs the
 * same trials with push on (ELECTRUM_SERVERS at an Electrum server over the same chain), so that a
 * kill also lands while pushed histories are read and stored.
 *
 * Each trial changes the chain, starts the bot and kills it: during startup, while a history request
 * is in flight or being stored, right after Discord created a message but before the bot heard back
 * (the proxy holds Discord's answers back), during an edit, or while idle. A last run then delivers
 * whatever is left and stops on SIGTERM. Trials come from a seeded generator: the seed is printed,
 * and SATBELL_TEST_SEED=<seed> replays the same plan.
 */
import { describe, type ExpectStatic, it, type TestContext } from 'vitest';
import { btc, signedBtc } from '../../src/discord/render/format.js';
import type { ElectrumFake } from '../fakes/chain/electrum.js';
import type { FakeChain, FakeTx } from '../fakes/chain/index.js';
import type { FakeDiscord, FakeMessage } from '../fakes/discord.js';
import { testAddress } from '../support/addresses.js';
import { type BotWorld, startBotWorld } from '../support/bot-world.js';
import { type BotRun, type DelayingProxy, noticeStatus, noticeTxid, seededRandom, testSeed, waitUntilStable } from '../support/bots.js';
import { type Backend, testBackends } from '../support/database.js';

const TRIALS = 24;
/** tracked addresses; trials take turns, so no address gets more than TRIALS / ADDRESSES (≤ 5) unseen txs: never a burst */
const ADDRESSES = 6;
/** how long the proxy holds back Discord's answer to a message post or edit (Discord has acted by then) */
const DISCORD_DELAY_MS = 150;
/** how long the fake chain takes to answer */
const CHAIN_LATENCY_MS = 60;
/** how long a trial waits for the work it means to interrupt before killing anyway */
const EVENT_TIMEOUT_MS = 4_000;
/** how long the fake Discord dedupes a nonce; Discord says "a few minutes" */
const NONCE_WINDOW_MS = 180_000;
const SEED = testSeed();

type KillPoint = 'startup' | 'sync' | 'post' | 'edit' | 'idle';

interface Expected {
  txid: string;
  address: string;
  net: bigint;
  balanceAfter: bigint;
  mined: boolean;
}

interface TrialReport {
  trial: number;
  point: KillPoint;
  /** the awaited event happened (else killed on timeout) */
  hit: boolean;
  /** ms from spawn to the kill */
  killedAtMs: number;
  opened: boolean;
  /** ms from spawn to 'ready: commands registered', if it got there */
  readyMs: number | undefined;
  syncs: number;
  historyRequests: number;
  /** histories read over Electrum (push on) */
  pushedHistories: number;
  /** message posts Discord acted on during this run, and how many of those the bot recorded */
  posts: number;
  postsRecorded: number;
  edits: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Poll `seen` every 5 ms until it holds, the bot exits or `timeoutMs` passes. */
async function waitForEvent(bot: BotRun, seen: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline && bot.alive()) {
    if (seen()) return true;
    await sleep(5);
  }
  return seen();
}

/** Where the bot hears of changes: by polling over HTTP alone, or also by push from Electrum. */
export type ChainSource = 'http' | 'electrum';

/**
 * The trials on one backend, as a test of its own: each backend has a file (crash-pglite.test.ts,
 * crash-postgres.test.ts, test/faults/crash-electrum.test.ts), so that they run in separate workers, beside
 * other files, rather than one after the other. Without TEST_DATABASE_URL the Postgres one is skipped.
 */
export function describeCrashTrials(backend: Backend, source: ChainSource = 'http'): void {
  const name = source === 'electrum' ? `${backend} with Electrum push` : backend;
  describe('kill -9 during sync and delivery', () => {
    it.runIf(testBackends().includes(backend))(
      `${name}: announces every change exactly once over ${TRIALS} kill -9 trials, and the database opens every time`,
      { timeout: 300_000 },
      (context) => crashTrials(backend, source, context),
    );
  });
}

async function crashTrials(backend: Backend, source: ChainSource, { expect, onTestFinished }: TestContext): Promise<void> {
  // Each run draws its own plan; SATBELL_TEST_SEED replays all of them.
  const seed = SEED + (backend === 'postgres' ? 1 : 0) + (source === 'electrum' ? 2 : 0);
  const tag = source === 'electrum' ? `${backend}+electrum` : backend;
  console.log(`[crash ${tag}] seed ${seed}: replay with SATBELL_TEST_SEED=${SEED}`);
  const random = seededRandom(seed);
  const world = await startCrashWorld(backend, source);
  onTestFinished(() => world.close());
  const addresses = await setUpThroughTheBot(world, tag, expect);

  world.api.latencyMs = CHAIN_LATENCY_MS;
  const expected: Expected[] = [];
  const balances = new Map(addresses.map((a) => [a, 1_000_000n]));
  const reports: TrialReport[] = [];
  const started = Date.now();
  for (let trial = 0; trial < TRIALS; trial++) {
    const plan = planTrial(trial, random, addresses[trial % ADDRESSES]!);
    changeTheChain(world.chain, trial, plan, balances, expected);
    reports.push(await killDuring(world, trial, plan, expect));
  }
  const trialsMs = Date.now() - started;

  // A last run delivers whatever is left; then it is stopped as a service manager would.
  const last = world.startBot();
  const done = (messages: FakeMessage[]) =>
    messages.length >= expected.length &&
    expected.every((e) => {
      const m = messages.find((x) => noticeTxid(x) === e.txid);
      return m !== undefined && (noticeStatus(m) ?? '').startsWith(e.mined ? 'Confirmed' : 'Unconfirmed');
    });
  const final = await waitUntilStable(world.notices, done, { stableMs: 3_000, timeoutMs: 90_000 });
  expect(last.alive(), last.output()).toBe(true);
  expect(await last.stop(), last.output()).toEqual({ code: 0, signal: null });

  const delivery = whatDiscordGot(world);
  const pushed = world.electrum ? whatPushRead(world.electrum, expected, reports) : undefined;
  console.log(summary({ tag, seed, trialsMs, final, expected, reports, delivery, pushed }));
  expectEveryChangeOnce(expect, expected, delivery);
  expect(reports).toHaveLength(TRIALS);
  // Push must have done its share between the kills: else the HTTP sync alone would pass these
  // trials, and they would say nothing about push.
  if (pushed) {
    expect(pushed.trials, `of the ${pushed.ready} trials that got ready, those in which the bot read a history over Electrum`).toBeGreaterThan(pushed.ready / 2);
    expect(pushed.txs, 'changes whose raw transaction push fetched').toBeGreaterThan(expected.length / 2);
  }
}

interface PushRead {
  /** trials in which the bot read a history over Electrum */
  trials: number;
  /** trials in which the bot got as far as ready */
  ready: number;
  /** the trials' transactions whose raw tx the bot fetched over Electrum: push read them before the sync did */
  txs: number;
}

function whatPushRead(electrum: ElectrumFake, expected: Expected[], reports: TrialReport[]): PushRead {
  const fetched = new Set(electrum.requests.filter((r) => r.method === 'blockchain.transaction.get').map((r) => (r.params as unknown[])[0]));
  return { trials: reports.filter((r) => r.pushedHistories > 0).length, ready: reports.filter((r) => r.readyMs !== undefined).length, txs: expected.filter((e) => fetched.has(e.txid)).length };
}

type CrashWorld = BotWorld & { proxy: DelayingProxy };

const isMessageWrite = (method: string, path: string) => (method === 'POST' || method === 'PATCH') && /\/channels\/\d+\/messages(\/\d+)?$/.test(path);

/** The world outside the bot: Discord (behind a proxy that delays answers), the chain, a database. */
async function startCrashWorld(backend: Backend, source: ChainSource): Promise<CrashWorld> {
  const world = await startBotWorld({
    backend,
    name: 'crash',
    electrum: source === 'electrum',
    env: { DISCORD_TOKEN: 'crash-token', LOG_LEVEL: 'debug' },
    discord: { nonceWindowMs: NONCE_WINDOW_MS },
    delayDiscord: (method, path) => (isMessageWrite(method, path) ? DISCORD_DELAY_MS : 0),
  });
  return { ...world, proxy: world.proxy! };
}

/** Setup through the bot: a notice channel and the tracked addresses, each with some history. */
async function setUpThroughTheBot(world: CrashWorld, tag: string, expect: ExpectStatic): Promise<string[]> {
  const { discord, chain, guildId, channelId } = world;
  const addresses = Array.from({ length: ADDRESSES }, (_, i) => testAddress(`crash-${tag}-${i}`));
  for (const address of addresses) chain.fund(address, 1_000_000n);
  chain.mine();
  const setup = world.startBot();
  await setup.waitForLog('ready: commands registered');
  const configured = await discord.runCommand({ guildId, name: 'config', subcommand: 'channel', options: { channel: channelId } }).reply();
  expect(configured.embeds.length + configured.content.length).toBeGreaterThan(0);
  for (const [i, address] of addresses.entries()) {
    const tracked = await discord.runCommand({ guildId, name: 'track', options: { address, label: `wallet ${i}` } }).reply();
    expect(JSON.stringify(tracked.embeds)).toContain('0.01000000 BTC');
  }
  expect(await setup.stop()).toEqual({ code: 0, signal: null });
  expect(world.notices()).toEqual([]);
  return addresses;
}

interface TrialPlan {
  address: string;
  outgoing: boolean;
  amount: bigint;
  mine: boolean;
  point: KillPoint;
  /** how far into the kill window the kill lands, 0 to 1 */
  fraction: number;
}

/** Every draw comes first and in a fixed order, so a seed always gives the same plan. */
function planTrial(trial: number, random: () => number, address: string): TrialPlan {
  const pick = <T>(weighted: [T, number][]): T => {
    let r = random() * weighted.reduce((n, [, w]) => n + w, 0);
    for (const [value, weight] of weighted) if ((r -= weight) < 0) return value;
    return weighted.at(-1)![0];
  };
  const outgoing = random() < 0.25;
  const amount = 1_000n + BigInt(Math.floor(random() * 90_000));
  // The last two trials never mine, so that unconfirmed notices are checked too.
  const mine = random() < 0.3 && trial < TRIALS - 2;
  // An edit follows a block only: most of a mining trial's kills aim at it.
  const point = pick<KillPoint>([
    ['startup', 0.2],
    ['sync', 0.25],
    ['post', mine ? 0.1 : 0.4],
    ['edit', mine ? 0.3 : 0],
    ['idle', 0.15],
  ]);
  return { address, outgoing, amount, mine, point, fraction: random() };
}

/** The trial's transaction (and block), and what its notice must then say. */
function changeTheChain(chain: FakeChain, trial: number, plan: TrialPlan, balances: Map<string, bigint>, expected: Expected[]): void {
  const { address, outgoing, amount } = plan;
  let tx: FakeTx;
  if (outgoing) {
    const fee = 1_500n;
    tx = chain.addTx({
      inputs: [{ address, value: 400_000n }],
      outputs: [{ address: testAddress(`crash-payee-${trial}`), value: amount }, { address, value: 400_000n - amount - fee }],
    });
  } else {
    tx = chain.fund(address, amount);
  }
  const net = outgoing ? -(amount + 1_500n) : amount;
  const balanceAfter = balances.get(address)! + net;
  balances.set(address, balanceAfter);
  expected.push({ txid: tx.txid, address, net, balanceAfter, mined: false });
  if (plan.mine) {
    chain.mine();
    for (const e of expected) e.mined = true;
  }
}

/** Start a bot, wait for the work the plan aims at, kill -9 it there, and say what it had done. */
async function killDuring(world: CrashWorld, trial: number, { point, fraction }: TrialPlan, expect: ExpectStatic): Promise<TrialReport> {
  const { proxy, api } = world;
  const bot = world.startBot();
  const since = bot.startedAt;
  const posts = () => proxy.requests.filter((r) => r.at >= since && r.method === 'POST' && isMessageWrite(r.method, r.path));
  const edits = () => proxy.requests.filter((r) => r.at >= since && r.method === 'PATCH' && isMessageWrite(r.method, r.path));
  const histories = () => api.requests.filter((r) => r.at >= since && r.path.startsWith('/rawaddr/'));
  const pushedHistories = () => (world.electrum?.requests ?? []).filter((r) => r.at >= since && r.method === 'blockchain.scripthash.get_history');
  let hit = true;
  if (point === 'startup') {
    await sleep(fraction * 2_500);
  } else {
    // Every trial that gets this far proves the database opened after the previous kill.
    await bot.waitForLog('ready: commands registered');
    if (point === 'idle') {
      hit = await waitForEvent(bot, () => bot.logged('sync done'), EVENT_TIMEOUT_MS);
      await sleep(fraction * 1_200);
    } else {
      const read = () => histories().length + pushedHistories().length > 0;
      const seen = point === 'sync' ? read : point === 'post' ? () => posts().length > 0 : () => edits().length > 0;
      hit = await waitForEvent(bot, seen, EVENT_TIMEOUT_MS);
      await sleep(fraction * ((point === 'sync' ? CHAIN_LATENCY_MS : DISCORD_DELAY_MS) + 60));
    }
  }
  const killedAtMs = Date.now() - since;
  if (!bot.alive()) expect.fail(`trial ${trial}: the bot exited by itself before the kill:\n${bot.output()}`);
  const exit = await bot.kill9();
  expect(exit, `trial ${trial}: the bot should die of SIGKILL`).toEqual({ code: null, signal: 'SIGKILL' });
  const logs = bot.logs();
  return {
    trial,
    point,
    hit,
    killedAtMs,
    opened: bot.logged('database ready'),
    readyMs: ((t) => (t === undefined ? undefined : t - since))(logs.find((l) => l.msg === 'ready: commands registered')?.time),
    syncs: logs.filter((l) => l.msg === 'sync done').length,
    historyRequests: histories().length,
    pushedHistories: pushedHistories().length,
    posts: posts().filter((r) => r.status === 200).length,
    postsRecorded: logs.filter((l) => l.msg === 'notice posted').length,
    edits: edits().length,
  };
}

interface Delivery {
  /** the notices in the channel at the end */
  messages: FakeMessage[];
  /** posts Discord answered (a post cut off by a kill mid-body never got that far) */
  posted: FakeDiscord['requests'];
  nonces: (string | undefined)[];
  repeatedNonces: (string | undefined)[];
  /** how long after its first post a nonce was posted again, at the most: Discord dedupes for minutes only */
  latestRepostMs: number;
}

function whatDiscordGot({ discord, proxy, channelId, notices }: CrashWorld): Delivery {
  const posted = discord.requests.filter((r) => r.method === 'POST' && r.path === `/channels/${channelId}/messages` && r.status === 200);
  const nonces = posted.map((r) => (r.body as { nonce?: string }).nonce);
  const repeatedNonces = [...new Set(nonces)].filter((n) => nonces.filter((x) => x === n).length > 1);
  const firstPost = new Map<string, number>();
  let latestRepostMs = 0;
  for (const r of proxy.requests) {
    if (r.method !== 'POST' || !isMessageWrite(r.method, r.path) || !r.body) continue;
    const nonce = (JSON.parse(r.body) as { nonce?: string }).nonce ?? '';
    const first = firstPost.get(nonce);
    if (first === undefined) firstPost.set(nonce, r.at);
    else latestRepostMs = Math.max(latestRepostMs, r.at - first);
  }
  return { messages: notices(), posted, nonces, repeatedNonces, latestRepostMs };
}

function summary(run: {
  tag: string;
  seed: number;
  trialsMs: number;
  final: { ms: number; settled: boolean };
  expected: Expected[];
  reports: TrialReport[];
  delivery: Delivery;
  pushed: PushRead | undefined;
}): string {
  const { tag, seed, trialsMs, final, expected, reports, pushed } = run;
  const { messages, posted, nonces, repeatedNonces, latestRepostMs } = run.delivery;
  const hits = (p: KillPoint) => reports.filter((r) => r.point === p && r.hit).length;
  return [
    `[crash ${tag}] seed ${seed}: ${TRIALS} trials in ${Math.round(trialsMs / 1000)} s, then delivered in ${Math.round(final.ms / 1000)} s` +
      ` (settled: ${final.settled}); ${expected.length} txs, ${expected.filter((e) => e.mined).length} mined, ${messages.length} notices`,
    `  kills: startup ${reports.filter((r) => r.point === 'startup').length}, mid-history ${hits('sync')}, mid-post ${hits('post')}, mid-edit ${hits('edit')}, idle ${hits('idle')}, ` +
      `on timeout ${reports.filter((r) => !r.hit).length}; before the database opened ${reports.filter((r) => !r.opened).length}`,
    `  posts Discord acted on but the bot never recorded: ${reports.reduce((n, r) => n + Math.max(0, r.posts - r.postsRecorded), 0)}; ` +
      `nonces posted more than once: ${repeatedNonces.length} (${posted.length} posts for ${new Set(nonces).size} nonces), ` +
      `at most ${Math.round(latestRepostMs / 1000)} s after the first; ` +
      `edits: ${messages.reduce((n, m) => n + m.history.length, 0)}`,
    ...(pushed ? [`  push: histories read over Electrum in ${pushed.trials} of the ${pushed.ready} trials that got ready; raw txs fetched by push for ${pushed.txs} of ${expected.length} changes`] : []),
    ...reports.map(
      (r) =>
        `  #${String(r.trial).padStart(2)} ${r.point.padEnd(7)} ${r.hit ? 'hit ' : 'miss'} at ${String(r.killedAtMs).padStart(5)} ms:` +
        ` opened ${r.opened ? 'y' : 'n'}, ready ${r.readyMs === undefined ? '-' : `at ${r.readyMs} ms`}, syncs ${r.syncs}, histories ${r.historyRequests}` +
        `${pushed ? ` (+${r.pushedHistories} pushed)` : ''},` +
        ` posts ${r.posts} (recorded ${r.postsRecorded}), edits ${r.edits}`,
    ),
  ].join('\n');
}

function expectEveryChangeOnce(expect: ExpectStatic, expected: Expected[], { messages, posted, nonces, latestRepostMs }: Delivery): void {
  // Restarted bots resumed their deliveries within the time Discord remembers a nonce. (A kill
  // leaves a batch of notices claimed for 10 s, and the trials kill every few seconds, so a
  // notice may wait through several of them: up to about a minute has been seen.)
  expect(latestRepostMs, 'a nonce was posted again after Discord forgot it').toBeLessThan(NONCE_WINDOW_MS);

  // Every message is one transaction's notice; every transaction has exactly one.
  expect(messages.filter((m) => !noticeTxid(m)).map((m) => m.embeds[0]?.title ?? m.content)).toEqual([]);
  const perTx: Record<string, number> = {};
  for (const m of messages) perTx[noticeTxid(m)!] = (perTx[noticeTxid(m)!] ?? 0) + 1;
  expect(perTx).toEqual(Object.fromEntries(expected.map((e) => [e.txid, 1])));

  // Each says what happened, and a mined one was edited to say it confirmed.
  for (const e of expected) {
    const m = messages.find((x) => noticeTxid(x) === e.txid)!;
    const embed = m.embeds[0]!;
    const field = (name: string) => embed.fields?.find((f) => f.name === name)?.value;
    const postsOfIt = posted.filter((r) => (r.body as { nonce?: string }).nonce === m.nonce);
    const why = `${e.txid}: posted ${postsOfIt.length} times, with statuses ${JSON.stringify(
      postsOfIt.map((r) => (r.body as { embeds?: { fields?: { name: string; value: string }[] }[] }).embeds?.[0]?.fields?.find((f) => f.name === 'Status')?.value),
    )}; edited ${m.history.length} times`;
    expect({ title: embed.title, balance: field('New balance'), status: noticeStatus(m) }, why).toEqual({
      title: `${e.net < 0n ? 'Outgoing' : 'Incoming'} ${signedBtc(e.net)}`,
      balance: btc(e.balanceAfter),
      status: e.mined ? expect.stringMatching(/^Confirmed in block /) : expect.stringMatching(/^Unconfirmed/),
    });
  }

  // Discord created one message per nonce, however often a nonce was posted.
  expect(new Set(messages.map((m) => m.nonce)).size).toBe(messages.length);
  for (const nonce of new Set(nonces)) expect(messages.filter((m) => m.nonce === nonce), `nonce ${nonce}`).toHaveLength(1);
}
