import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { type ElectrumHistoryEntry, fakeScriptHash } from '../fakes/chain/electrum.js';
import type { FakeGuild, FakeMessage } from '../fakes/discord.js';
import { testAddress } from '../support/addresses.js';
import { testBackends } from '../support/database.js';
import { EXPLORER, type Harness, startHarness, visibleText } from '../support/harness.js';

let seed = 0;
const fresh = () => testAddress(`push-${seed++}`);

const guild: FakeGuild = { id: '610000000000000001', name: 'Push', channels: [{ id: '610000000000000010', name: 'btc-alerts' }] };
const CHANNEL = guild.channels[0]!.id;
/** what "within seconds" is held to: the cron sync is set to the first of January, so only push can do it */
const SECONDS = { timeout: 10_000, interval: 50 };

const noticeText = (m: FakeMessage) =>
  [visibleText(m), ...m.embeds.flatMap((e) => (e.fields ?? []).map((f) => `${f.name}: ${f.value}`))].join('\n');

describe.each(testBackends())('real-time notices from an Electrum server (%s)', (backend) => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ backend, discord: { guilds: [guild] }, electrum: {} });
    await h.reply('config', { channel: CHANNEL }, { subcommand: 'channel' });
    await vi.waitFor(() => expect(h.electrum!.connections()).toBe(1), SECONDS);
  });
  afterAll(async () => {
    await h?.close();
  });

  const notices = () => h.discord.channelMessages(CHANNEL).filter((m) => !m.interactionId);
  const subscribed = (address: string) => h.electrum!.requests.some((r) => r.method === 'blockchain.scripthash.subscribe' && (r.params as unknown[])[0] === fakeScriptHash(address));

  async function track(address: string, label: string) {
    await h.reply('track', { address, label });
    await expect.poll(() => subscribed(address), SECONDS).toBe(true);
  }

  it('announces a payment within seconds of /track subscribing it, and edits it when a block confirms it', async () => {
    const address = fresh();
    await track(address, 'till');
    const before = notices().length;
    const payment = h.chain.fund(address, 50_000n);
    await expect.poll(() => notices().length, SECONDS).toBe(before + 1);
    const [notice] = notices().slice(before);
    expect(noticeText(notice!)).toContain('Incoming +0.00050000 BTC');
    expect(noticeText(notice!)).toContain('Status: Unconfirmed');
    expect(notice!.embeds[0]?.url).toBe(`${EXPLORER}/tx/${payment.txid}`);

    const block = h.chain.mine();
    await expect.poll(() => noticeText(notices()[before]!), SECONDS).toContain(`Status: Confirmed in block ${block.height.toLocaleString('en-US')}`);
    expect(notices()).toHaveLength(before + 1);
    expect(await h.reply('balance', { address })).toSatisfy((m: FakeMessage) => visibleText(m).includes('0.0005'));
    // Stored once, its net and fee are reused when it confirms: the raw tx was fetched once.
    const fetched = h.electrum!.requests.filter((r) => r.method === 'blockchain.transaction.get' && (r.params as unknown[])[0] === payment.txid);
    expect(fetched).toHaveLength(1);
  });

  it('unsubscribes an address once /untrack leaves no server watching it', async () => {
    const address = fresh();
    await track(address, 'gone-soon');
    await h.reply('untrack', { address });
    await expect
      .poll(() => h.electrum!.requests.some((r) => r.method === 'blockchain.scripthash.unsubscribe' && (r.params as unknown[])[0] === fakeScriptHash(address)), SECONDS)
      .toBe(true);
    const before = notices().length;
    h.chain.fund(address, 5_000n);
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(notices()).toHaveLength(before);
  });

  it('edits the notice of an evicted payment, and of a replaced one, announcing the replacement', async () => {
    const address = fresh();
    const payer = fresh();
    h.chain.fund(payer, 1_000_000n);
    h.chain.mine();
    await track(address, 'shop');
    const before = notices().length;
    const evicted = h.chain.fund(address, 20_000n);
    await expect.poll(() => notices().length, SECONDS).toBe(before + 1);
    h.chain.removeTx(evicted.txid);
    await expect.poll(() => notices()[before]!.history.length, SECONDS).toBe(1);

    const original = h.chain.addTx({ inputs: [{ address: payer, value: 1_000_000n }], outputs: [{ address, value: 300_000n }, { address: payer, value: 699_000n }], rbf: true });
    await expect.poll(() => notices().length, SECONDS).toBe(before + 2);
    h.chain.removeTx(original.txid);
    const replacement = h.chain.addTx({ inputs: [{ address: payer, value: 1_000_000n }], outputs: [{ address, value: 300_000n }, { address: payer, value: 698_000n }] });
    // No block, no sync: the same amount moves no balance, and push still sees the txid change.
    await expect.poll(() => notices().length, SECONDS).toBe(before + 3);
    expect(notices()[before + 1]!.history.length).toBeGreaterThan(0);
    expect(notices()[before + 2]!.embeds[0]?.url).toBe(`${EXPLORER}/tx/${replacement.txid}`);
  });

  it('announces each payment once that arrived while the connection was down, then back', async () => {
    const address = fresh();
    await track(address, 'offline');
    const before = notices().length;
    await h.electrum!.stop();
    h.chain.fund(address, 1_000n);
    h.chain.fund(address, 2_000n);
    await h.electrum!.restart();
    await expect.poll(() => notices().length, { timeout: 15_000, interval: 100 }).toBe(before + 2);
    h.electrum!.dropAll();
    h.chain.fund(address, 3_000n);
    await expect.poll(() => notices().length, { timeout: 15_000, interval: 100 }).toBe(before + 3);
    await expect.poll(() => h.electrum!.connections(), SECONDS).toBe(1);
    // A reconnect compares statuses: what was announced is not announced again.
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(notices()).toHaveLength(before + 3);
  });

  it('makes an idle reconciliation cost no HTTP call', async () => {
    const address = fresh();
    await track(address, 'idle');
    const before = notices().length;
    h.chain.fund(address, 8_000n);
    await expect.poll(() => notices().length, SECONDS).toBe(before + 1);
    const calls = h.api.requests.length;
    expect(await h.bot.syncNow()).toBe('completed');
    expect(h.api.requests.length).toBe(calls);
  });

  const reconnects = () => h.electrum!.requests.filter((r) => r.method === 'server.version').length;

  it.each([
    ['lists a transaction it does not have', (truth: ElectrumHistoryEntry[]) => [...truth, { tx_hash: 'ab'.repeat(32), height: 0 }]],
    ['leaves out the newest payment', (truth: ElectrumHistoryEntry[]) => truth.slice(0, -1)],
  ])('drops a server whose history %s, storing nothing wrong, and the sync reconciles over HTTP', async (_lie, lie) => {
    const address = fresh();
    await track(address, `lied-to-${seed}`);
    const before = notices().length;
    const dropped = reconnects();
    h.electrum!.misbehave = { history: (hash, truth) => (hash === fakeScriptHash(address) ? lie(truth) : truth) };
    h.chain.fund(address, 9_000n);
    h.chain.fund(address, 1_000n);
    await expect.poll(reconnects, SECONDS).toBeGreaterThan(dropped);
    expect(notices()).toHaveLength(before);
    h.electrum!.misbehave = {};
    expect(await h.bot.syncNow()).toBe('completed');
    await expect.poll(() => notices().length, SECONDS).toBe(before + 2);
    expect(visibleText(await h.reply('balance', { address }))).toContain('0.0001');
  });

  it('drops a connection that sends garbage or a status nobody asked for, and carries on', async () => {
    for (const garbage of [`{"jsonrpc":"2.0","method":"blockchain.scripthash.subscribe","params":["${'cd'.repeat(32)}",null]}\n`, 'not json\n']) {
      await expect.poll(() => h.electrum!.connections(), { timeout: 15_000, interval: 50 }).toBe(1);
      const dropped = reconnects();
      h.electrum!.sendRaw(garbage);
      await expect.poll(reconnects, { timeout: 15_000, interval: 50 }).toBeGreaterThan(dropped);
    }
    const address = fresh();
    await track(address, 'after-garbage');
    const before = notices().length;
    h.chain.fund(address, 3_000n);
    await expect.poll(() => notices().length, SECONDS).toBe(before + 1);
  });
});

describe('Electrum subscription cap', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ discord: { guilds: [guild] }, electrum: { maxSubscriptions: 1 } });
    await h.reply('config', { channel: CHANNEL }, { subcommand: 'channel' });
  });
  afterAll(async () => {
    await h?.close();
  });

  it('keeps the addresses past the cap on polling, and says so in /config show', async () => {
    const [first, second] = [fresh(), fresh()];
    await h.reply('track', { address: first, label: 'pushed' });
    await h.reply('track', { address: second, label: 'polled' });
    await expect.poll(() => h.electrum!.subscriptions(), SECONDS).toBe(1);
    const show = await h.reply('config', {}, { subcommand: 'show' });
    expect(visibleText(show)).toMatch(/Electrum: 127\.0\.0\.1:\d+, 1 subscribed, 1 polled/);
    const notices = () => h.discord.channelMessages(CHANNEL).filter((m) => !m.interactionId);
    h.chain.fund(first, 1_000n);
    await expect.poll(() => notices().length, SECONDS).toBe(1);
    h.chain.fund(second, 2_000n);
    const calls = h.api.requests.length;
    expect(await h.bot.syncNow()).toBe('completed');
    expect(h.api.requests.length).toBeGreaterThan(calls);
    await expect.poll(() => notices().length, SECONDS).toBe(2);
    expect(noticeText(notices()[1]!)).toContain('Incoming +0.00002000 BTC');

    // /untrack frees the place: the polled address is subscribed, and pushed from then on.
    await h.reply('untrack', { address: first });
    await expect.poll(async () => visibleText(await h.reply('config', {}, { subcommand: 'show' })), SECONDS).toMatch(/1 subscribed, 0 polled/);
    h.chain.fund(second, 3_000n);
    await expect.poll(() => notices().length, SECONDS).toBe(3);
  });
});
