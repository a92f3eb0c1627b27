/**
 * The data services' budget, shared fairly: a long Retry-After keeps a provider out of the way
 * until it has passed, a command that must wait says so and gives up rather than hang, one server's
 * flood of /track delays another server's command by a turn or two only, and a server may track
 * at most MAX_ADDRESSES_PER_GUILD addresses. Through the real bot and the loopback fakes, with
 * Blockchain.com paced at 2 requests a second (the same logic as its real 0.1, twenty times faster).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { cannedResponses, type FakeResponse } from '../fakes/chain/index.js';
import type { FakeGuild, FakeInteraction, FakeMessage } from '../fakes/discord.js';
import { testAddress } from '../support/addresses.js';
import { testBackends } from '../support/database.js';
import { finalReply, type Harness, privateError, startHarness, visibleText } from '../support/harness.js';

let seed = 0;
const fresh = () => testAddress(`budget-${seed++}`);

const guilds: FakeGuild[] = ['1', '2'].map((n) => ({
  id: `70000000000000000${n}`,
  name: `Server ${n}`,
  channels: [
    { id: `7000000000000001${n}0`, name: 'general' },
    { id: `7000000000000001${n}1`, name: 'btc-alerts' },
  ],
}));
const [A, B] = guilds.map((g) => ({ guildId: g.id, channelId: g.channels[1]!.id })) as [Target, Target];
interface Target {
  guildId: string;
  channelId: string;
}

const BOTH = { CHAIN_PROVIDERS: 'blockchain-info,esplora', BLOCKCHAIN_INFO_RPS: '2', ESPLORA_RPS: '4' };
const BCI_ALONE = { CHAIN_PROVIDERS: 'blockchain-info', BLOCKCHAIN_INFO_RPS: '2' };
const rateLimited = (seconds: number): FakeResponse => ({ ...cannedResponses.rateLimited, headers: { 'retry-after': String(seconds) } });
/** what a /track is told; a read-only command has nothing to undo, so it is not told "Nothing was changed" */
const RATE_LIMIT_MESSAGE = /^blockchain\.info asked us to wait 15 minutes \(rate limit\); try again later\. Nothing was changed\.$/;
const RATE_LIMIT_READ_MESSAGE = /^blockchain\.info asked us to wait 15 minutes \(rate limit\); try again later\.$/;
const capMessage = (max: number) =>
  `This server already tracks ${max} addresses, the most it may (MAX_ADDRESSES_PER_GUILD). Untrack one first with \`/untrack\`, or ask whoever runs satbell to raise the limit.`;

/** One line per case with its figures, for docs/reliability.md. */
const figure = (text: string) => console.info(`[budget] ${text}`);

describe.each(testBackends())('sharing the data services’ budget (%s)', (backend) => {
  let h: Harness | undefined;
  afterEach(async () => {
    await h?.close();
    h = undefined;
  });

  async function start(env: Record<string, string>, esplora = true): Promise<Harness> {
    // Global commands (no DISCORD_GUILD_ID), so both servers have them.
    h = await startHarness({ backend, esplora, discord: { guilds, waitTimeoutMs: 60_000 }, env: { DISCORD_GUILD_ID: '', ...env } });
    for (const target of [A, B]) {
      await h.reply('config', { channel: target.channelId }, { subcommand: 'channel', guildId: target.guildId });
    }
    return h;
  }

  const notices = (target: Target) => h!.discord.channelMessages(target.channelId).filter((m) => !m.interactionId);

  /** the reply's text and how long it took from the command to it, in ms */
  async function timed(interaction: FakeInteraction, started = Date.now()): Promise<{ text: string; ms: number; message: FakeMessage }> {
    const message = await finalReply(interaction);
    return { text: visibleText(message), ms: Date.now() - started, message };
  }

  it('serves commands from Esplora at once after a 429 with Retry-After: 900, asks Blockchain.com nothing until it passed, and still announces payments', async () => {
    const h = await start(BOTH);
    const address = fresh();
    h.chain.fund(address, 50_000n);
    h.chain.mine();
    await h.reply('track', { address, label: 'kept' }, { guildId: A.guildId });

    // Four lookups queue at Blockchain.com; the first is answered 429, Retry-After: 900. Those
    // queued behind it cannot wait that long: they go to Esplora rather than sit in "thinking…".
    const lookups = Array.from({ length: 4 }, () => fresh());
    lookups.forEach((address, i) => h.chain.fund(address, BigInt(1_000 + i)));
    const bciBefore = h.api.requests.length;
    h.api.failNext(/^\/balance$/, rateLimited(900));
    const burstStarted = Date.now();
    const burst = await Promise.all(
      lookups.map((address, i) => timed(h.run('balance', { address }, { guildId: (i % 2 ? B : A).guildId }), burstStarted)),
    );
    burst.forEach(({ text }, i) => expect(text).toContain(`0.0000${1_000 + i} BTC`));
    expect(burst.filter((b) => b.text.includes('Live from esplora')).length).toBeGreaterThanOrEqual(3);
    const burstMs = Math.max(...burst.map((b) => b.ms));
    expect(burstMs).toBeLessThan(5_000);
    expect(h.api.requests.length - bciBefore).toBe(1);
    const asked = h.api.requests.length;

    const balance = await timed(h.run('balance', { address: 'kept', fresh: true }, { guildId: A.guildId }));
    expect(balance.text).toContain('0.00050000 BTC');
    expect(balance.text).toContain('Live from esplora');
    expect(balance.ms).toBeLessThan(3_000);

    const other = fresh();
    h.chain.fund(other, 7_000n);
    const tracked = await timed(h.run('track', { address: other }, { guildId: B.guildId }));
    expect(tracked.text).toContain('Now tracking');
    expect(tracked.ms).toBeLessThan(3_000);

    // A payment while Blockchain.com is paused: the sync asks Esplora, and the notice goes out.
    h.chain.fund(address, 1_234n);
    const syncStarted = Date.now();
    expect(await h.bot.syncNow()).toBe('completed');
    await expect.poll(() => notices(A).map(visibleText).join('\n'), { timeout: 10_000 }).toContain('Incoming +0.00001234 BTC');
    const noticeMs = Date.now() - syncStarted;

    expect(h.api.requests.length).toBe(asked);
    expect(h.esplora!.requests.length).toBeGreaterThan(0);
    figure(`${backend} retry-after 900, two providers: 4 queued lookups all answered within ${burstMs} ms, balance ${balance.ms} ms, track ${tracked.ms} ms, notice ${noticeMs} ms; blockchain.info requests during the pause: ${h.api.requests.length - asked}`);
  });

  it("answers a person within 3 s from Esplora while the sync pages Blockchain.com at its default 1 request / 10 s, and leaves the sync there", async () => {
    const h = await start({ CHAIN_PROVIDERS: 'blockchain-info,esplora', BLOCKCHAIN_INFO_RPS: '0.1', ESPLORA_RPS: '4' });
    const tracked = [fresh(), fresh(), fresh()];
    for (const address of tracked) await h.reply('track', { address }, { guildId: A.guildId });
    for (const address of tracked) h.chain.fund(address, 2_000n);
    const bciBefore = h.api.requests.length;
    const esploraBefore = h.esplora!.requests.length;
    const sync = h.bot.syncNow();
    // The sync's /balance has gone to Blockchain.com; its next request waits there for 10 s.
    await expect.poll(() => h.api.requests.slice(bciBefore).map((r) => r.path), { timeout: 15_000 }).toContain('/balance');

    const balance = await timed(h.run('balance', { address: tracked[0]!, fresh: true }, { guildId: A.guildId }));
    const other = fresh();
    h.chain.fund(other, 3_000n);
    const lookup = await timed(h.run('balance', { address: other }, { guildId: B.guildId }));
    expect(balance.text).toContain('0.00002000 BTC');
    expect(balance.text).toContain('Live from esplora');
    expect(lookup.text).toContain('0.00003000 BTC');
    for (const { ms } of [balance, lookup]) expect(ms).toBeLessThan(3_000);
    // Esplora served the people only; the sync kept to Blockchain.com.
    expect(h.esplora!.requests.slice(esploraBefore).map((r) => r.path).sort()).toEqual(
      [`/address/${tracked[0]}`, `/address/${tracked[0]}/txs`, `/address/${other}`].sort(),
    );
    figure(`${backend} sync paging blockchain.info at 0.1/s: a fresh balance in ${balance.ms} ms and a lookup in ${lookup.ms} ms, both from esplora`);
    void sync; // stopped with the bot
  });

  it('refuses promptly, saying for how long, when Blockchain.com alone asked to wait 15 minutes, and changes nothing', async () => {
    const h = await start(BCI_ALONE, false);
    const known = fresh();
    h.chain.fund(known, 4_000n);
    await h.reply('track', { address: known }, { guildId: A.guildId });
    const address = fresh();
    h.chain.fund(address, 9_000n);
    h.api.failNext(/^\/rawaddr\//, rateLimited(900));

    let started = Date.now();
    const first = await privateError(h.run('track', { address }, { guildId: A.guildId }));
    const firstMs = Date.now() - started;
    expect(first.content).toMatch(RATE_LIMIT_MESSAGE);
    const asked = h.api.requests.length;

    // The pause goes on: the next commands are refused without a request, the sync gives up too.
    started = Date.now();
    const second = await privateError(h.run('balance', { address }, { guildId: B.guildId }));
    const secondMs = Date.now() - started;
    expect(second.content).toMatch(RATE_LIMIT_READ_MESSAGE);
    started = Date.now();
    h.chain.fund(known, 1_000n);
    expect(await h.bot.syncNow()).toBe('failed');
    const syncMs = Date.now() - started;
    expect(visibleText(await h.reply('addresses', {}, { guildId: A.guildId }))).not.toContain(address);
    expect(h.api.requests.length).toBe(asked);
    for (const ms of [firstMs, secondMs, syncMs]) expect(ms).toBeLessThan(3_000);
    figure(`${backend} retry-after 900, blockchain.info alone: refused in ${firstMs} ms and ${secondMs} ms, sync gave up in ${syncMs} ms; requests during the pause: ${h.api.requests.length - asked}`);
  });

  it('says it waits for Blockchain.com alone, and for how long, then answers once a short Retry-After passed', async () => {
    const h = await start(BCI_ALONE, false);
    const address = fresh();
    h.chain.fund(address, 3_000n);
    h.api.failNext(/^\/balance$/, rateLimited(4));

    const started = Date.now();
    const interaction = h.run('balance', { address }, { guildId: A.guildId });
    const shown = visibleText(await interaction.reply());
    expect(shown).toMatch(/^Waiting for blockchain\.info, about [34] s…/);
    const { text, ms } = await timed(interaction, started);
    expect(text).toContain('0.00003000 BTC');
    const [limited, retried] = h.api.requests.filter((r) => r.path === '/balance');
    expect(retried!.at - limited!.at).toBeGreaterThanOrEqual(4_000);
    expect(ms).toBeLessThan(8_000);
    figure(`${backend} retry-after 4, blockchain.info alone: "${shown.split('\n')[0]}", answered in ${ms} ms; retry ${retried!.at - limited!.at} ms after the 429`);
  });

  it('answers another server within a couple of turns while one member’s 40 /track fill Blockchain.com’s queue, and answers all 40', async () => {
    const h = await start(BOTH);
    const theirs = fresh();
    h.chain.fund(theirs, 10_000n);
    h.chain.mine();
    await h.reply('track', { address: theirs, label: 'b-wallet' }, { guildId: B.guildId });

    const flood = Array.from({ length: 40 }, () => fresh());
    for (const address of flood) h.chain.fund(address, 1_000n);
    h.chain.mine();
    const bciBefore = h.api.requests.length;
    const floodStarted = Date.now();
    const tracks = flood.map((address) => timed(h.run('track', { address }, { guildId: A.guildId }), floodStarted));
    await expect.poll(() => h.api.requests.length - bciBefore, { timeout: 10_000 }).toBeGreaterThanOrEqual(3);

    // Server B, mid-flood: a fresh balance, and a payment that only the sync can find and announce.
    h.chain.fund(theirs, 2_500n);
    const balance = await timed(h.run('balance', { address: 'b-wallet', fresh: true }, { guildId: B.guildId }));
    expect(balance.text).toContain('0.00012500 BTC');
    h.chain.fund(theirs, 600n);
    const syncStarted = Date.now();
    expect(await h.bot.syncNow()).toBe('completed');
    await expect.poll(() => notices(B).map(visibleText).join('\n'), { timeout: 10_000 }).toContain('Incoming +0.00000600 BTC');
    const noticeMs = Date.now() - syncStarted;

    const answers = await Promise.all(tracks);
    const floodMs = Math.max(...answers.map((a) => a.ms));
    expect(answers.filter((a) => a.text.includes('Now tracking'))).toHaveLength(40);
    // A couple of Blockchain.com's 500 ms turns, and the machine's own slowness.
    expect(balance.ms).toBeLessThan(3_000);
    expect(noticeMs).toBeLessThan(5_000);
    const bci = h.api.requests.slice(bciBefore);
    const esplora = h.esplora!.requests.length;
    expect(esplora).toBeGreaterThan(0);
    // The pace held all along: Blockchain.com saw no two requests closer than its interval (less the loopback's jitter).
    const gaps = bci.slice(1).map((r, i) => r.at - bci[i]!.at);
    expect(Math.min(...gaps)).toBeGreaterThanOrEqual(250);
    figure(
      `${backend} 40 /track in A: B's balance in ${balance.ms} ms, B's notice ${noticeMs} ms after the sync began, ` +
        `A 40/40 answered within ${floodMs} ms; blockchain.info ${bci.length} requests (closest ${Math.min(...gaps)} ms apart), esplora ${esplora}`,
    );
  });

  it('refuses a /track beyond MAX_ADDRESSES_PER_GUILD with a clear message and no provider call, also when they come at once', async () => {
    const h = await start({ MAX_ADDRESSES_PER_GUILD: '3' }, false);
    const mine = [fresh(), fresh(), fresh(), fresh()];
    for (const address of mine.slice(0, 3)) expect(visibleText(await h.reply('track', { address }, { guildId: A.guildId }))).toContain('Now tracking');

    const asked = h.api.requests.length;
    const refused = await privateError(h.run('track', { address: mine[3]! }, { guildId: A.guildId }));
    expect(refused.content).toBe(capMessage(3));
    const refusedCalls = h.api.requests.length - asked;
    expect(refusedCalls).toBe(0);
    expect(visibleText(await h.reply('addresses', {}, { guildId: A.guildId }))).not.toContain(mine[3]);

    await h.reply('untrack', { address: mine[0]! }, { guildId: A.guildId });
    expect(visibleText(await h.reply('track', { address: mine[3]! }, { guildId: A.guildId }))).toContain('Now tracking');

    // Ten at once in server B: three get in, seven are refused, however the calls interleave.
    const burst = Array.from({ length: 10 }, () => fresh());
    const answers = await Promise.all(burst.map((address) => outcome(h.run('track', { address }, { guildId: B.guildId }))));
    expect(answers.filter((t) => t.includes('Now tracking'))).toHaveLength(3);
    expect(answers.filter((t) => t === capMessage(3))).toHaveLength(7);
    figure(`${backend} MAX_ADDRESSES_PER_GUILD=3: 4th refused with ${refusedCalls} provider calls; burst of 10 at once: 3 tracked, 7 refused`);
  });
});

/** What a deferred command came to: its final public reply, or the private followup of an error. */
async function outcome(interaction: FakeInteraction): Promise<string> {
  const followup = (async () => {
    for (const end = Date.now() + 30_000; Date.now() < end; await new Promise((resolve) => setTimeout(resolve, 50))) {
      if (interaction.followups.length > 0) return interaction.followups[0]!;
    }
    throw new Error('no reply and no followup within 30 s');
  })();
  return visibleText(await Promise.race([finalReply(interaction), followup]));
}
