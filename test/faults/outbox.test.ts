/**
 * Never a second message. Discord dedupes a message nonce for a few minutes only: a post that
 * landed with its answer lost, followed by an outage longer than that, used to be posted again
 * and shown twice. The fake Discord here forgets a nonce after NONCE_WINDOW_MS, so every outage
 * below outlasts its memory; the bot must find its first post in the channel and edit it.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { FailureResponse } from '../fakes/discord.js';
import { testAddress } from '../support/addresses.js';
import { type BotWorld, startBotWorld } from '../support/bot-world.js';
import { noticeStatus, noticeTxid, waitUntilStable } from '../support/bots.js';
import { testBackends } from '../support/database.js';
import { type Harness, outboxSettled, startHarness } from '../support/harness.js';

/** how long the fake Discord remembers a nonce: Discord's "few minutes", shortened */
const NONCE_WINDOW_MS = 1_000;
/** how long Discord stays down after the lost answer: longer than it remembers the nonce */
const OUTAGE_MS = 3_000;

/** How the answer to the post that landed was lost, and whether the payment confirms during the outage. */
const TRIALS: { lost: string; answer: FailureResponse; confirm: 'during the outage' | 'after it' }[] = [
  { lost: 'a 503', answer: { status: 503, committed: true }, confirm: 'during the outage' },
  { lost: 'a dropped connection', answer: { status: 0, committed: true, dropConnection: true }, confirm: 'after it' },
  { lost: 'a 500', answer: { status: 500, committed: true }, confirm: 'after it' },
];

let seq = 0;

describe.each(testBackends())('a notice whose post landed unanswered, then an outage longer than the nonce window (%s)', (backend) => {
  let h: Harness;
  let channelId: string;
  beforeAll(async () => {
    h = await startHarness({ backend, discord: { nonceWindowMs: NONCE_WINDOW_MS } });
    channelId = h.discord.guilds[0]!.channels[0]!.id;
    await h.reply('config', { channel: channelId }, { subcommand: 'channel' });
  });
  afterAll(async () => {
    await h?.close();
  });

  const messagesRoute = () => new RegExp(`^/channels/${channelId}/messages$`);
  const shown = () => h.discord.channelMessages(channelId).filter((m) => !m.interactionId);
  const settled = () => outboxSettled(h, { timeout: 30_000, interval: 100 });

  it.each(TRIALS)('shows one message for the payment, kept up to date, when the answer was lost by $lost (confirmed $confirm)', async ({ answer, confirm }) => {
    const address = testAddress(`outbox-fault-${backend}-${seq++}`);
    h.chain.fund(address, 100_000n);
    h.chain.mine();
    await h.reply('track', { address });
    const before = shown().length;
    const requestsBefore = h.discord.requests.length;

    // The post lands, its answer is lost, and Discord answers nothing but 503 for a while: posts,
    // reads and edits of the channel alike.
    h.discord.failNext({ method: 'POST', path: messagesRoute() }, answer);
    for (const method of ['POST', 'GET']) h.discord.failNext({ method, path: messagesRoute() }, { status: 503 }, 1_000_000);
    h.discord.failNext({ method: 'PATCH', path: /^\/channels\/\d+\/messages\/\d+$/ }, { status: 503 }, 1_000_000);
    const txid = h.chain.fund(address, 25_000n).txid;
    expect(await h.bot.syncNow()).toBe('completed');
    await expect.poll(() => h.discord.requests.slice(requestsBefore).some((r) => r.committed), { timeout: 10_000 }).toBe(true);
    if (confirm === 'during the outage') {
      h.chain.mine();
      expect(await h.bot.syncNow()).toBe('completed');
    }
    await sleep(OUTAGE_MS);
    const recoveredAt = h.discord.requests.length;
    h.discord.clearFailures();
    await settled();
    if (confirm === 'after it') {
      h.chain.mine();
      expect(await h.bot.syncNow()).toBe('completed');
      await settled();
    }

    const forThisPayment = shown().filter((m) => noticeTxid(m) === txid);
    expect(forThisPayment).toHaveLength(1);
    expect(shown()).toHaveLength(before + 1);
    expect(noticeStatus(forThisPayment[0]!)).toMatch(/^Confirmed in block/);
    // The bot tried again during the outage, and after it posted nothing: it found its first post.
    const during = h.discord.requests.slice(requestsBefore, recoveredAt).filter((r) => messagesRoute().test(r.path));
    expect(during.filter((r) => r.method === 'GET').length).toBeGreaterThan(0);
    const after = h.discord.requests.slice(recoveredAt).filter((r) => messagesRoute().test(r.path));
    expect(after.filter((r) => r.method === 'POST')).toEqual([]);
  });
});

describe.each(testBackends())('a bot killed after Discord took its post, restarted after the nonce window (%s)', (backend) => {
  let world: BotWorld | undefined;
  afterEach(async () => {
    await world?.close();
    world = undefined;
  });

  it('shows one message for the payment, and its confirmation edits that message', async () => {
    // Discord's answers to posts are held back long enough for the kill to land before them.
    let holdPostsMs = 0;
    world = await startBotWorld({
      backend,
      name: 'outbox',
      env: { DISCORD_TOKEN: 'outbox-token', LOG_LEVEL: 'debug' },
      discord: { nonceWindowMs: NONCE_WINDOW_MS },
      delayDiscord: (method, path) => (method === 'POST' && /\/channels\/\d+\/messages$/.test(path) ? holdPostsMs : 0),
    });
    const { chain, channelId, notices: shown } = world;

    const address = testAddress(`outbox-kill-${backend}`);
    chain.fund(address, 100_000n);
    chain.mine();
    const first = world.startBot();
    await first.waitForLog('ready: commands registered');
    await world.run('config', { channel: channelId }, 'channel').reply();
    await world.run('track', { address }).reply();

    holdPostsMs = 60_000;
    const { txid } = chain.fund(address, 40_000n);
    await expect.poll(() => shown().length, { timeout: 15_000 }).toBe(1);
    await first.kill9();
    // Discord forgets the nonce; the payment confirms meanwhile.
    await sleep(NONCE_WINDOW_MS + 500);
    chain.mine();
    holdPostsMs = 0;

    const second = world.startBot();
    await second.waitForLog('ready: commands registered');
    const { value, settled } = await waitUntilStable(
      () => shown().map((m) => ({ txid: noticeTxid(m), status: noticeStatus(m) })),
      (messages) => messages.some((m) => m.status?.startsWith('Confirmed')),
      { stableMs: 1_500, timeoutMs: 30_000 },
    );
    expect(settled).toBe(true);
    expect(value).toEqual([{ txid, status: expect.stringMatching(/^Confirmed in block/) }]);
    expect(second.logged('found the notice posted by an earlier attempt; editing it')).toBe(true);
    expect(await second.stop()).toEqual({ code: 0, signal: null });
  });
});
