import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FakeGuild, FakeMessage } from '../fakes/discord.js';
import { testAddress } from '../support/addresses.js';
import { testBackends } from '../support/database.js';
import { buttons, EXPLORER, type Harness, privateError, startHarness, visibleText } from '../support/harness.js';

const DEFERRED_UPDATE = 6;
const UPDATE_MESSAGE = 7;
let seed = 0;
const fresh = () => testAddress(`paging-${seed++}`);

/** /addresses is counted in servers that only one test uses each. */
const guilds: FakeGuild[] = ['1', '2', '3'].map((n) => ({
  id: `70000000000000000${n}`,
  name: `Server ${n}`,
  channels: [{ id: `7000000000000001${n}0`, name: 'general' }],
}));
const [MAIN, QUIET, SHRINKING] = guilds.map((g) => g.id) as [string, string, string];
const OTHER_USER = '700000000000000099';

/** The transactions a /txns page lists, as the txids of their explorer links. */
const txidsShown = (message: FakeMessage) =>
  [...(message.embeds[0]?.description ?? '').matchAll(new RegExp(`${EXPLORER}/tx/([0-9a-f]{64})`, 'g'))].map((m) => m[1]);

const buttonStates = (message: FakeMessage) => buttons(message).map((b) => `${b.label}${b.disabled ? ' (disabled)' : ''}`);

/** An address with `n` confirmed transactions, tracked in the main server; its txids newest first. */
async function busyAddress(h: Harness, n: number, label: string) {
  const address = fresh();
  const txs = h.chain.addManyTxs(address, n);
  await h.reply('track', { address, label });
  return { address, newestFirst: txs.map((t) => t.txid).reverse() };
}

describe.each(testBackends())('paged replies end to end (%s)', (backend) => {
  let h: Harness;
  beforeAll(async () => {
    // Global commands (no DISCORD_GUILD_ID), so that both servers have them.
    h = await startHarness({ backend, discord: { guilds }, env: { DISCORD_GUILD_ID: '' } });
  });
  afterAll(async () => {
    await h?.close();
  });

  it('/txns of 25 transactions shows page 1 of 3 with Previous disabled, and Next and Previous turn the page in place', async () => {
    const { address, newestFirst } = await busyAddress(h, 25, 'pages');
    const first = await h.reply('txns', { address }, { guildId: MAIN });
    expect(visibleText(first)).toContain('25 transactions · page 1 of 3');
    expect(txidsShown(first)).toEqual(newestFirst.slice(0, 10));
    expect(buttonStates(first)).toEqual(['◀ Previous (disabled)', 'Next ▶']);

    const next = h.press(first, 'Next');
    const second = await next.reply();
    // /txns may ask the network, so the press is acknowledged first and the page edited in after.
    expect(next.callbacks.map((c) => c.type)).toEqual([DEFERRED_UPDATE]);
    expect(second.id).toBe(first.id);
    expect(visibleText(second)).toContain('page 2 of 3');
    expect(txidsShown(second)).toEqual(newestFirst.slice(10, 20));
    expect(buttonStates(second)).toEqual(['◀ Previous', 'Next ▶']);

    const third = await h.press(second, 'Next').reply();
    expect(visibleText(third)).toContain('page 3 of 3');
    expect(txidsShown(third)).toEqual(newestFirst.slice(20));
    expect(buttonStates(third)).toEqual(['◀ Previous', 'Next ▶ (disabled)']);

    const back = await h.press(third, 'Previous').reply();
    expect(visibleText(back)).toContain('page 2 of 3');
    expect(txidsShown(back)).toEqual(newestFirst.slice(10, 20));

    // One message all along, edited each time; nothing new was posted in the channel.
    const message = h.discord.message(first.id);
    expect(message.history).toHaveLength(3);
    expect(h.discord.channelMessages(guilds[0]!.channels[0]!.id).filter((m) => m.embeds[0]?.title === 'Transactions of pages')).toHaveLength(1);
  });

  it('refuses a press by anyone but the person who asked, privately and without a ping, and changes nothing', async () => {
    const { address } = await busyAddress(h, 12, 'mine');
    const reply = await h.reply('txns', { address }, { guildId: MAIN });
    const before = h.discord.message(reply.id);

    const press = h.press(reply, 'Next', OTHER_USER);
    const refusal = await privateError(press);
    expect(refusal.content).toBe(`Only <@${h.discord.defaultUserId}> can page this. Run \`/txns\` yourself to browse.`);
    const callback = h.discord.requests.find((r) => r.path === `/interactions/${press.id}/${press.token}/callback`);
    expect(callback?.body).toMatchObject({ data: { allowed_mentions: { parse: [] } } });
    expect(h.discord.message(reply.id)).toEqual(before);

    // The person who asked still can.
    expect(visibleText(await h.press(reply, 'Next').reply())).toContain('page 2 of 2');
  });

  it('/addresses pages a server’s addresses ten at a time, with their count and total on every page', async () => {
    const tracked = Array.from({ length: 12 }, () => fresh());
    for (const [i, address] of tracked.entries()) {
      h.chain.fund(address, 1_000n * BigInt(i + 1));
      await h.reply('track', { address }, { guildId: QUIET });
    }
    const first = await h.reply('addresses', {}, { guildId: QUIET });
    expect(visibleText(first)).toContain('12 addresses · total 0.00078000 BTC · page 1 of 2');
    for (const address of tracked.slice(0, 10)) expect(visibleText(first)).toContain(address);
    expect(visibleText(first)).not.toContain(tracked[10]);

    const press = h.press(first, 'Next');
    const second = await press.reply();
    // /addresses reads the database only: the page comes in the press's answer itself.
    expect(press.callbacks.map((c) => c.type)).toEqual([UPDATE_MESSAGE]);
    expect(visibleText(second)).toContain('12 addresses · total 0.00078000 BTC · page 2 of 2');
    for (const address of tracked.slice(10)) expect(visibleText(second)).toContain(address);
    expect(visibleText(second)).not.toContain(tracked[0]);
    expect(buttonStates(second)).toEqual(['◀ Previous', 'Next ▶ (disabled)']);
  });

  it('shows no buttons on a reply that fits one page', async () => {
    const { address } = await busyAddress(h, 3, 'short');
    const reply = await h.reply('txns', { address }, { guildId: MAIN });
    expect(visibleText(reply)).toContain('3 transactions');
    expect(visibleText(reply)).not.toContain('page 1');
    expect(reply.components).toEqual([]);
  });

  it('says there is no such page when the list shrank below the page asked for, and shows what is left, without buttons once one page is left', async () => {
    const tracked = Array.from({ length: 11 }, () => fresh());
    for (const address of tracked) await h.reply('track', { address }, { guildId: SHRINKING });
    const first = await h.reply('addresses', {}, { guildId: SHRINKING });
    expect(visibleText(first)).toContain('11 addresses · total 0.00000000 BTC · page 1 of 2');

    await h.reply('untrack', { address: tracked[0]! }, { guildId: SHRINKING });
    const after = await h.press(first, 'Next').reply();
    expect(visibleText(after)).toContain('10 addresses · total 0.00000000 BTC · There is no page 2: showing the only page');
    expect(visibleText(after)).not.toContain('page 1 of');
    expect(after.components).toEqual([]);
  });
});

describe.each(testBackends())('page buttons expire (%s)', (backend) => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ backend, bot: { pageIdleMs: 1_000 } });
  });
  afterAll(async () => {
    await h?.close();
  });

  it('removes the buttons a while after the last press, leaving the page as it was', async () => {
    const { address } = await busyAddress(h, 15, 'expiring');
    const reply = await h.reply('txns', { address });
    const second = await h.press(reply, 'Next').reply();
    expect(buttons(second)).toHaveLength(2);

    await expect.poll(() => h.discord.message(reply.id).components, { timeout: 5_000 }).toEqual([]);
    const expired = h.discord.message(reply.id);
    expect(expired.embeds).toEqual(second.embeds);
    expect(visibleText(expired)).toContain('page 2 of 2');
  });

});

describe.each(testBackends())('page buttons after a restart (%s)', (backend) => {
  let h: Harness;
  beforeAll(async () => {
    // On disk (or a server), so that the bot can restart on the same data.
    h = await startHarness({ backend: backend === 'pglite' ? 'pglite-file' : backend });
  });
  afterAll(async () => {
    await h?.close();
  });

  it('tells a press on buttons from before a restart, privately, that they expired, and takes them away', async () => {
    const { address } = await busyAddress(h, 15, 'restarted');
    const reply = await h.reply('txns', { address });
    await h.restart();

    const press = h.press(reply, 'Next');
    const notice = await privateError(press);
    expect(notice.content).toBe('These buttons have expired: run `/txns` again.');
    expect(press.callbacks.map((c) => c.type)).toEqual([UPDATE_MESSAGE]);
    const after = h.discord.message(reply.id);
    expect(after.components).toEqual([]);
    expect(after.embeds).toEqual(reply.embeds);
  });
});
