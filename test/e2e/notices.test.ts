import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { watches } from '../../src/db/schema.js';
import type { FakeGuild, FakeMessage } from '../fakes/discord.js';
import { testAddress } from '../support/addresses.js';
import { testBackends } from '../support/database.js';
import { EXPLORER, type Harness, outboxSettled, startHarness, visibleText } from '../support/harness.js';

let seed = 0;
const fresh = () => testAddress(`notice-${seed++}`);

const guilds: FakeGuild[] = ['1', '2', '3'].map((n) => ({
  id: `60000000000000000${n}`,
  name: `Server ${n}`,
  channels: [
    { id: `6000000000000001${n}0`, name: 'general' },
    { id: `6000000000000001${n}1`, name: 'btc-alerts' },
  ],
}));
const [A, B, C] = guilds.map((g) => ({ guildId: g.id, channelId: g.channels[1]!.id })) as [Target, Target, Target];
interface Target {
  guildId: string;
  channelId: string;
}

/** Every field of a notice embed as one text, the way a reader takes it in. */
const noticeText = (m: FakeMessage) =>
  [visibleText(m), ...m.embeds.flatMap((e) => (e.fields ?? []).map((f) => `${f.name}: ${f.value}`))].join('\n');

describe.each(testBackends())('balance-change notices end to end (%s)', (backend) => {
  let h: Harness;
  beforeAll(async () => {
    // Global commands (no DISCORD_GUILD_ID), so every server has them.
    h = await startHarness({ backend, discord: { guilds }, env: { DISCORD_GUILD_ID: '' } });
    for (const target of [A, B]) {
      await h.reply('config', { channel: target.channelId }, { subcommand: 'channel', guildId: target.guildId });
    }
  });
  afterAll(async () => {
    await h?.close();
  });

  const messages = (target: Target) => h.discord.channelMessages(target.channelId).filter((m) => !m.interactionId);

  async function track(target: Target, address: string, label?: string) {
    await h.reply('track', label ? { address, label } : { address }, { guildId: target.guildId });
  }

  /** Sync, then wait until the outbox has delivered everything it holds. */
  async function sync() {
    expect(await h.bot.syncNow()).toBe('completed');
    await settled();
  }

  const settled = () => outboxSettled(h, { timeout: 15_000 });

  it('announces nothing of the history an address had when it was tracked', async () => {
    const address = fresh();
    h.chain.fund(address, 40_000n);
    h.chain.mine();
    h.chain.fund(address, 2_000n);
    const before = messages(A).length;
    await track(A, address, 'baseline');
    await sync();
    expect(messages(A)).toHaveLength(before);
  });

  it('announces an incoming payment once, then edits that same message when it confirms', async () => {
    const address = fresh();
    h.chain.fund(address, 100_000n);
    h.chain.mine();
    await track(A, address, 'savings');
    const before = messages(A).length;

    const payment = h.chain.fund(address, 50_000n);
    await sync();
    const posted = messages(A).slice(before);
    expect(posted).toHaveLength(1);
    const notice = posted[0]!;
    const text = noticeText(notice);
    expect(text).toContain('Incoming +0.00050000 BTC');
    expect(text).toContain(`**savings** — [\`${address}\`](${EXPLORER}/address/${address})`);
    expect(text).toContain('New balance: 0.00150000 BTC');
    expect(text).toContain('Fee: 0.00000000 BTC');
    expect(text).toContain('Status: Unconfirmed');
    expect(notice.embeds[0]?.url).toBe(`${EXPLORER}/tx/${payment.txid}`);

    const block = h.chain.mine();
    await sync();
    const after = messages(A).slice(before);
    expect(after).toHaveLength(1);
    expect(after[0]!.id).toBe(notice.id);
    expect(noticeText(after[0]!)).toContain(`Status: Confirmed in block ${block.height.toLocaleString('en-US')}`);
    expect(after[0]!.history).toHaveLength(1);

    await sync();
    expect(messages(A).slice(before)).toHaveLength(1);
    expect(messages(A).slice(before)[0]!.history).toHaveLength(1);
  });

  it('announces an outgoing payment with change as the negative amount that left, with its fee', async () => {
    const address = fresh();
    h.chain.fund(address, 500_000n);
    h.chain.mine();
    await track(A, address, 'spending');
    const before = messages(A).length;
    h.chain.addTx({
      inputs: [{ address, value: 500_000n }],
      outputs: [{ address: fresh(), value: 120_000n }, { address, value: 378_500n }],
    });
    await sync();
    const [notice] = messages(A).slice(before);
    const text = noticeText(notice!);
    expect(text).toContain('Outgoing -0.00121500 BTC');
    expect(text).toContain('New balance: 0.00378500 BTC');
    expect(text).toContain('Fee: 0.00001500 BTC');
  });

  it('edits the notice of a replaced transaction and announces the replacement as its own', async () => {
    const address = fresh();
    const payer = fresh();
    h.chain.fund(payer, 1_000_000n);
    h.chain.mine();
    await track(A, address, 'shop');
    const before = messages(A).length;
    const original = h.chain.addTx({ inputs: [{ address: payer, value: 1_000_000n }], outputs: [{ address, value: 300_000n }, { address: payer, value: 699_000n }], rbf: true });
    await sync();
    expect(messages(A).slice(before)).toHaveLength(1);

    h.chain.removeTx(original.txid);
    const replacement = h.chain.addTx({ inputs: [{ address: payer, value: 1_000_000n }], outputs: [{ address, value: 300_000n }, { address: payer, value: 698_000n }] });
    // The same amount to the address, so its balance and count did not move: the sync reads it
    // again once a block comes (or half an hour has passed), not at every pass.
    await sync();
    expect(messages(A).slice(before)).toHaveLength(1);
    expect(messages(A).slice(before)[0]!.history).toHaveLength(0);
    h.chain.mine();
    await sync();
    const [first, second] = messages(A).slice(before);
    expect(first!.history).toHaveLength(1);
    expect(noticeText(first!)).toContain(`likely replacement is [\`${replacement.txid.slice(0, 8)}`);
    expect(second).toBeDefined();
    expect(second!.embeds[0]?.url).toBe(`${EXPLORER}/tx/${replacement.txid}`);
    expect(noticeText(second!)).toContain('Incoming +0.00300000 BTC');
    expect(messages(A).slice(before)).toHaveLength(2);
  });

  it('posts one notice in each server that tracks the address and has a channel, none elsewhere', async () => {
    const address = fresh();
    await track(A, address, 'shared-a');
    await track(B, address, 'shared-b');
    await track(C, address, 'shared-c');
    const before = { a: messages(A).length, b: messages(B).length, c: h.discord.channelMessages(C.channelId).length };
    h.chain.fund(address, 7_000n);
    await sync();
    expect(messages(A).slice(before.a).map(noticeText)).toEqual([expect.stringContaining('**shared-a**')]);
    expect(messages(B).slice(before.b).map(noticeText)).toEqual([expect.stringContaining('**shared-b**')]);
    expect(h.discord.channelMessages(C.channelId)).toHaveLength(before.c);
  });

  it('sums up a burst of more than five new transactions in one notice', async () => {
    const address = fresh();
    await track(B, address, 'busy');
    const before = messages(B).length;
    for (let i = 1; i <= 7; i++) h.chain.fund(address, 1_000n * BigInt(i));
    await sync();
    const posted = messages(B).slice(before);
    expect(posted).toHaveLength(1);
    const text = noticeText(posted[0]!);
    expect(text).toContain('7 new transactions');
    expect(text).toContain('Net change: +0.00028000 BTC');
    expect(text).toContain('New balance: 0.00028000 BTC');
  });

  it('announces only changes at or above the server’s threshold', async () => {
    const address = fresh();
    await h.reply('config', { btc: '0.001' }, { subcommand: 'threshold', guildId: B.guildId });
    try {
      await track(B, address, 'threshold');
      const before = messages(B).length;
      h.chain.fund(address, 99_999n);
      h.chain.fund(address, 100_000n);
      await sync();
      const posted = messages(B).slice(before).map(noticeText);
      expect(posted).toEqual([expect.stringContaining('Incoming +0.00100000 BTC')]);
    } finally {
      await h.reply('config', { btc: '0' }, { subcommand: 'threshold', guildId: B.guildId });
    }
  });

  it('never lets a notice ping anyone', async () => {
    const address = fresh();
    await track(A, address, 'ping test');
    // /track refuses such a label now; an older version stored it.
    await h.bot.database.db.update(watches).set({ label: '@everyone look' }).where(and(eq(watches.guildId, A.guildId), eq(watches.address, address)));
    h.chain.fund(address, 1n);
    await sync();
    const posts = h.discord.requests.filter((r) => r.method === 'POST' && r.path === `/channels/${A.channelId}/messages`);
    expect(posts.length).toBeGreaterThan(0);
    for (const post of posts) expect((post.body as { allowed_mentions?: unknown }).allowed_mentions).toEqual({ parse: [] });
  });

  it('delivers a notice once after Discord answers 429 and then 500s', async () => {
    const address = fresh();
    await track(A, address, 'flaky');
    const before = messages(A).length;
    const route = { method: 'POST', path: new RegExp(`^/channels/${A.channelId}/messages$`) };
    h.discord.failNext(route, { status: 429, body: { message: 'You are being rate limited.', retry_after: 0.2, global: false }, headers: { 'retry-after': '1' } });
    // discord.js retries a 5xx three times itself; a fourth makes the outbox retry later.
    h.discord.failNext(route, { status: 500, body: { message: '500: Internal Server Error', code: 0 } }, 4);
    h.chain.fund(address, 3_333n);
    await sync();
    const posted = messages(A).slice(before);
    expect(posted).toHaveLength(1);
    expect(noticeText(posted[0]!)).toContain('+0.00003333 BTC');
  });

  it('stops retrying when the channel is gone, says so in /config show, and other servers still get theirs', async () => {
    const guild: Target = { guildId: C.guildId, channelId: guilds[2]!.channels[1]!.id };
    await h.reply('config', { channel: guild.channelId }, { subcommand: 'channel', guildId: guild.guildId });
    const address = fresh();
    await track(B, address, 'survivor');
    await track(guild, address, 'doomed');
    const beforeB = messages(B).length;
    h.discord.deleteChannel(guild.channelId);
    h.chain.fund(address, 12_345n);
    await sync();
    expect(messages(B).slice(beforeB)).toHaveLength(1);
    const show = await h.reply('config', {}, { subcommand: 'show', guildId: guild.guildId });
    expect(visibleText(show) + show.embeds.flatMap((e) => e.fields ?? []).map((f) => f.value).join('\n')).toMatch(/Unknown Channel/);
  });
});

describe('notices across a restart', () => {
  it('announces after downtime what happened while the bot was down', async () => {
    const h = await startHarness({ backend: 'pglite-file' });
    try {
      const channelId = h.discord.guilds[0]!.channels[0]!.id;
      await h.reply('config', { channel: channelId }, { subcommand: 'channel' });
      const address = fresh();
      await h.reply('track', { address, label: 'while away' });
      await h.restart(() => {
        h.chain.fund(address, 8_000n);
        h.chain.mine();
      });
      // The sync at start finds the payment.
      await expect
        .poll(() => h.discord.channelMessages(channelId).filter((m) => !m.interactionId).map(noticeText), { timeout: 15_000 })
        .toEqual([expect.stringContaining('Incoming +0.00008000 BTC')]);
    } finally {
      await h.close();
    }
  });
});
