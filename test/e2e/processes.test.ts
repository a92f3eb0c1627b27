/**
 * Two bot processes on one Postgres database, both syncing every second: each tick is synced by one
 * of them only, runs never overlap, and every change is announced once. PGlite admits one process
 * only (a second is refused: see start.test.ts), so this runs only when TEST_DATABASE_URL is set.
 *
 * Each process talks to a fake Blockchain.com of its own over one shared chain, so every request
 * says which process made it. Commands go to the fake Discord's newest gateway session only, so the
 * test sends them before the second process starts.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { type FakeTx, startBlockchainInfoFake } from '../fakes/chain/index.js';
import type { FakeMessage } from '../fakes/discord.js';
import { testAddress } from '../support/addresses.js';
import { startBotWorld } from '../support/bot-world.js';
import { type BotRun, killAllBots, noticeStatus, noticeTxid, waitUntilStable } from '../support/bots.js';

const ADDRESSES = 5;
const TXS = 10;

const cleanups: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  await killAllBots();
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** One sync run as a process logged it: its key (`sync` at start, else `sync:<slot>`) and when it ran. */
interface Run {
  process: number;
  key: string;
  start: number;
  end: number;
}

function runsOf(bot: BotRun, process: number): Run[] {
  return bot
    .logs()
    .filter((l) => l.msg === 'job finished' || l.msg === 'job failed')
    .map((l) => ({ process, key: String(l.key), start: l.time - Number(l.ms), end: l.time }));
}

describe.runIf(process.env.TEST_DATABASE_URL)('two bot processes on one database', () => {
  it('sync each tick in one process only and announce every change once', { timeout: 120_000 }, async () => {
    const world = await startBotWorld({ backend: 'postgres', name: 'processes', env: { DISCORD_TOKEN: 'processes-token', LOG_LEVEL: 'debug' } });
    cleanups.push(() => world.close());
    const { discord, chain, guildId, channelId, notices } = world;
    // A Blockchain.com of each process's own, over the one chain.
    const apis = [world.api, await startBlockchainInfoFake({ chain })] as const;
    cleanups.push(() => apis[1].close());
    const startBot = (n: 0 | 1) => world.startBot({ BLOCKCHAIN_INFO_URL: apis[n].url });

    // Process 1 alone: a channel and the addresses, through the bot.
    const addresses = Array.from({ length: ADDRESSES }, (_, i) => testAddress(`processes-${i}`));
    for (const address of addresses) chain.fund(address, 500_000n);
    chain.mine();
    const first = startBot(0);
    await first.waitForLog('ready: commands registered');
    await discord.runCommand({ guildId, name: 'config', subcommand: 'channel', options: { channel: channelId } }).reply();
    for (const [i, address] of addresses.entries()) {
      const tracked = await discord.runCommand({ guildId, name: 'track', options: { address, label: `shared ${i}` } }).reply();
      expect(JSON.stringify(tracked.embeds)).toContain('0.00500000 BTC');
    }

    // Process 2 joins; from here on no command is sent. Wait for its start run (or a tick of its own).
    const second = startBot(1);
    await second.waitForLog('ready: commands registered');
    await second.waitForLog('job finished', 20_000);
    const from = Date.now();

    // Changes over about five seconds, some of them mined.
    const txs: { tx: FakeTx; mined: boolean }[] = [];
    for (let i = 0; i < TXS; i++) {
      const address = addresses[i % ADDRESSES]!;
      const tx =
        i % 4 === 3
          ? chain.addTx({ inputs: [{ address, value: 200_000n }], outputs: [{ address: testAddress(`payee-${i}`), value: 50_000n }, { address, value: 149_000n }] })
          : chain.fund(address, 10_000n + BigInt(i));
      txs.push({ tx, mined: false });
      if (i === 3 || i === 7) {
        chain.mine();
        for (const t of txs) t.mined = true;
      }
      await sleep(500);
    }

    const done = (messages: FakeMessage[]) =>
      txs.every(({ tx, mined }) => {
        const m = messages.find((x) => noticeTxid(x) === tx.txid);
        return m !== undefined && (noticeStatus(m) ?? '').startsWith(mined ? 'Confirmed' : 'Unconfirmed');
      });
    const settled = await waitUntilStable(notices, done, { stableMs: 3_000, timeoutMs: 30_000 });
    const to = Date.now();

    // Both stayed up throughout, and both stop cleanly.
    expect(first.alive(), first.output()).toBe(true);
    expect(second.alive(), second.output()).toBe(true);
    const exits = await Promise.all([first.stop(), second.stop()]);
    expect(exits, `${first.output()}\n${second.output()}`).toEqual([
      { code: 0, signal: null },
      { code: 0, signal: null },
    ]);

    // Every transaction announced exactly once, each posted once, mined ones edited to confirmed.
    const messages = notices();
    const perTx: Record<string, number> = {};
    for (const m of messages) {
      const key = noticeTxid(m) ?? `not a transaction's notice: ${m.embeds[0]?.title ?? m.content}`;
      perTx[key] = (perTx[key] ?? 0) + 1;
    }
    expect(perTx).toEqual(Object.fromEntries(txs.map(({ tx }) => [tx.txid, 1])));
    for (const { tx, mined } of txs) {
      const m = messages.find((x) => noticeTxid(x) === tx.txid)!;
      expect(noticeStatus(m), tx.txid).toMatch(mined ? /^Confirmed in block / : /^Unconfirmed/);
    }
    const posts = discord.requests.filter((r) => r.method === 'POST' && r.path === `/channels/${channelId}/messages`);
    const nonces = posts.map((r) => (r.body as { nonce?: string }).nonce);
    expect(nonces.length).toBe(new Set(nonces).size);
    expect(new Set(messages.map((m) => m.nonce))).toEqual(new Set(nonces));

    // No tick ran twice, and runs never overlapped, across the two processes.
    const runs = [...runsOf(first, 0), ...runsOf(second, 1)].sort((a, b) => a.start - b.start);
    const keys = runs.map((r) => r.key).filter((k) => k !== 'sync');
    expect(keys.length - new Set(keys).size, `ticks run twice: ${JSON.stringify(keys)}`).toBe(0);
    for (const [i, run] of runs.entries()) {
      if (i > 0) expect(run.start, `run ${JSON.stringify(run)} overlaps ${JSON.stringify(runs[i - 1])}`).toBeGreaterThanOrEqual(runs[i - 1]!.end - 5);
    }

    // Every balance request (one a run: five addresses make one batch) belongs to a run of the
    // process that sent it, and no tick asked twice.
    const balanceRequests = apis.flatMap((api, process) => api.requests.filter((r) => r.path === '/balance').map((r) => ({ process, at: r.at })));
    const perRun = new Map<Run, number>();
    for (const request of balanceRequests) {
      const run = runs.find((r) => r.process === request.process && request.at >= r.start - 20 && request.at <= r.end + 20);
      // Only a run cut short by the SIGTERM at the end might go unlogged.
      if (!run) {
        expect(request.at, `a /balance request of process ${request.process + 1} outside any run`).toBeGreaterThan(to);
        continue;
      }
      perRun.set(run, (perRun.get(run) ?? 0) + 1);
    }
    expect([...perRun.values()].filter((n) => n > 1)).toEqual([]);
    const inWindow = balanceRequests.filter((r) => r.at >= from && r.at <= to);
    const perSecond = new Map<number, number>();
    for (const r of inWindow) perSecond.set(Math.floor(r.at / 1000), (perSecond.get(Math.floor(r.at / 1000)) ?? 0) + 1);

    const byProcess = (p: number) => runs.filter((r) => r.process === p).length;
    console.log(
      `[processes] ${txs.length} txs (${txs.filter((t) => t.mined).length} mined) → ${messages.length} notices, ${posts.length} posts, ` +
        `${messages.reduce((n, m) => n + m.history.length, 0)} edits; delivered in ${Math.round(settled.ms / 1000)} s; ` +
        `runs: process 1 ${byProcess(0)}, process 2 ${byProcess(1)}, ${keys.length} ticks, all distinct; ` +
        `/balance requests in ${Math.round((to - from) / 1000)} s: ${inWindow.length}, at most ${Math.max(0, ...perSecond.values())} in one second`,
    );
    expect(byProcess(0) + byProcess(1)).toBeGreaterThan(5);
  });
});
