import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FakeMessage } from '../fakes/discord.js';
import { testAddress } from '../support/addresses.js';
import { testBackends } from '../support/database.js';
import { EXPLORER, type Harness, isProgress, privateError, startHarness, visibleText } from '../support/harness.js';

const DEFERRED = 5;
const EPHEMERAL = 64;
let seed = 0;
const fresh = () => testAddress(`e2e-${seed++}`);

describe.each(testBackends())('slash commands end to end (%s)', (backend) => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ backend });
  });
  afterAll(async () => {
    await h?.close();
  });

  it('registers the eight commands to the configured server on start', () => {
    const names = (h.discord.commands.guilds.get(h.guildId) as { name: string }[]).map((c) => c.name).sort();
    expect(names).toEqual(['addresses', 'balance', 'config', 'help', 'label', 'track', 'txns', 'untrack']);
  });

  it('/track stores an address with its balance and shows it', async () => {
    const address = fresh();
    h.chain.fund(address, 120_000n);
    h.chain.mine();
    const interaction = h.run('track', { address, label: 'cold' });
    const reply = await interaction.reply();

    expect(interaction.callbacks[0]?.type).toBe(DEFERRED);
    expect(reply.flags & EPHEMERAL).toBe(0);
    const text = visibleText(reply);
    expect(text).toContain('Now tracking');
    expect(text).toContain(`cold — ${address}`);
    expect(text).toContain('0.00120000 BTC');
    expect(reply.embeds[0]?.url).toBe(`${EXPLORER}/address/${address}`);
  });

  it('/track of an address the server already tracks says so, privately', async () => {
    const address = fresh();
    await h.reply('track', { address, label: 'twice' });
    const reply = await privateError(h.run('track', { address: address.toUpperCase() }));
    expect(reply.content).toContain('already tracked in this server as **twice**');
  });

  it('/track refuses an invalid address at once and privately, asking the provider nothing', async () => {
    const calls = h.api.requests.length;
    const bad = `${fresh().slice(0, -1)}q`;
    const interaction = h.run('track', { address: bad });
    const reply = await interaction.reply();
    expect(interaction.callbacks.map((c) => c.type)).toEqual([4]);
    expect(reply.flags & EPHEMERAL).toBe(EPHEMERAL);
    expect(reply.content).toContain('is not a valid Bitcoin address (bad checksum)');
    expect(h.api.requests.length).toBe(calls);
    expect(visibleText(await h.reply('addresses'))).not.toContain(bad);
  });

  it('/addresses lists each watch with its label, stored balance and when it was updated', async () => {
    const address = fresh();
    h.chain.fund(address, 5_000n);
    await h.reply('track', { address, label: 'tips jar' });
    const reply = await h.reply('addresses');
    const text = visibleText(reply);
    expect(text).toContain('Tracked addresses');
    // The address once, shortened: its link holds it in full.
    expect(text).toContain(`**tips jar** — [\`${address.slice(0, 10)}…${address.slice(-6)}\`](${EXPLORER}/address/${address})`);
    expect(text).toMatch(/0\.00005000 BTC · updated <t:\d+:R>/);
  });

  it('/balance answers from storage, and live with fresh:true', async () => {
    const address = fresh();
    h.chain.fund(address, 10_000n);
    await h.reply('track', { address });
    h.chain.fund(address, 2_345n);

    const stored = visibleText(await h.reply('balance', { address }));
    expect(stored).toContain('0.00010000 BTC');
    expect(stored).toContain('Stored data');
    expect(stored).toMatch(/Last updated <t:\d+:R>/);

    const live = visibleText(await h.reply('balance', { address, fresh: true }));
    expect(live).toContain('0.00012345 BTC');
    expect(live).toContain('Live from blockchain.info');
    // The stored row followed.
    expect(visibleText(await h.reply('balance', { address }))).toContain('0.00012345 BTC');
  });

  it('/balance and /addresses say an address the sync checked and found unchanged was updated then', async () => {
    const address = fresh();
    h.chain.fund(address, 10_000n);
    await h.reply('track', { address, label: 'checked' });
    const tracked = Math.floor(Date.now() / 1000);
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    expect(await h.bot.syncNow()).toBe('completed');
    const updated = (text: string) => Number(/updated <t:(\d+):R>/i.exec(text)![1]);
    expect(updated(visibleText(await h.reply('balance', { address })))).toBeGreaterThan(tracked);
    expect(updated(visibleText(await h.reply('addresses')).split('**checked**')[1]!)).toBeGreaterThan(tracked);
  });

  it("/txns shows a confirmed transaction at its block's time, not when Blockchain.com first saw it", async () => {
    const address = fresh();
    const tx = h.chain.fund(address, 4_000n);
    const block = h.chain.mine();
    expect(block.time).not.toBe(tx.firstSeen);
    await h.reply('track', { address });
    const text = visibleText(await h.reply('txns', { address }));
    expect(text).toContain(`<t:${block.time}:R> · block ${block.height}`);
    expect(text).not.toContain(`<t:${tx.firstSeen}:`);
  });

  it('/balance of a valid address nobody tracks asks the network', async () => {
    const address = fresh();
    h.chain.fund(address, 777n);
    const text = visibleText(await h.reply('balance', { address }));
    expect(text).toContain('0.00000777 BTC');
    expect(text).toContain('not tracked in this server');
  });

  it('/txns lists the stored transactions of a long history newest first, a page at a time, with explorer links', async () => {
    const address = fresh();
    const txs = h.chain.addManyTxs(address, 120);
    h.chain.mine();
    const pending = h.chain.fund(address, 1_000_000n);
    await h.reply('track', { address, label: 'busy' });

    const reply = await h.reply('txns', { address });
    const text = visibleText(reply);
    expect(text).toContain('Transactions of busy');
    expect(text).toContain('121 transactions · page 1 of 13');
    const lines = reply.embeds[0]!.description!.split('\n').slice(1);
    expect(lines[0]).toContain(`${EXPLORER}/tx/${pending.txid}`);
    expect(lines[0]).toContain('unconfirmed');
    expect(lines[0]).toContain('+0.01000000 BTC');
    expect(lines[1]).toContain(`${EXPLORER}/tx/${txs.at(-1)!.txid}`);
    expect(lines[1]).toMatch(/<t:\d+:R> · block \d+/);
  });

  it('/txns with fresh:true shows a payment out of the address as a negative amount', async () => {
    const address = fresh();
    h.chain.fund(address, 300_000n);
    h.chain.mine();
    await h.reply('track', { address });
    h.chain.addTx({ inputs: [{ address, value: 300_000n }], outputs: [{ address: fresh(), value: 100_000n }, { address, value: 199_500n }] });
    const stored = visibleText(await h.reply('txns', { address }));
    expect(stored).toContain('1 transaction ·');
    const live = visibleText(await h.reply('txns', { address, fresh: true }));
    expect(live).toContain('-0.00100500 BTC');
    expect(live).toContain('2 transactions');
  });

  it('/track of a long history answers at once, then edits its reply with progress until the final answer', async () => {
    const address = fresh();
    h.chain.addManyTxs(address, 500);
    // Ten pages of 50 at 250 ms each: long enough for the progress to show between them.
    h.api.latencyMs = 250;
    try {
      const interaction = h.run('track', { address, label: 'whale' });
      const first = await interaction.reply();
      expect(interaction.callbacks.map((c) => c.type)).toEqual([DEFERRED]);
      expect(visibleText(first)).toContain('Tracking…');
      expect(visibleText(first)).toContain('fetched 50 of 500 transactions');

      let edits: FakeMessage[] = [];
      while (isProgress(edits.at(-1) ?? first)) edits = await interaction.waitForEdits(edits.length + 1);
      const versions = [first, ...edits];
      const progress = versions.slice(0, -1).map((m) => Number(/fetched ([\d,]+) of 500/.exec(visibleText(m))![1]!.replace(/,/g, '')));
      expect(progress.length).toBeGreaterThanOrEqual(2);
      expect(progress).toEqual([...progress].sort((a, b) => a - b));
      const final = visibleText(versions.at(-1)!);
      expect(final).toContain('Now tracking');
      expect(final).toContain('Transactions: 500');
    } finally {
      h.api.latencyMs = 0;
    }
  });

  it('/help lists every registered command with its description, one line each', async () => {
    const registered = h.discord.commands.guilds.get(h.guildId)!;
    const lines = (await h.reply('help')).embeds[0]!.description!.split('\n');
    for (const command of registered) {
      expect(lines.filter((l) => l.startsWith(`\`/${command.name} `) || l.startsWith(`\`/${command.name}\``)), `/${command.name}`).toHaveLength(1);
      expect(lines.find((l) => l.includes(`/${command.name}`))).toContain(command.description);
    }
    expect(lines).toContain('`/balance address [fresh]` — Balance of a Bitcoin address');
    expect(lines).toContain('`/config channel|threshold|show` — Where this server\'s balance-change notices go, and how big a change must be (Manage Server only)');
  });

  it('/untrack autocompletes from the server and removes only that watch', async () => {
    const address = fresh();
    await h.reply('track', { address, label: 'Old wallet' });
    const choices = await h.discord.autocomplete({ guildId: h.guildId, name: 'untrack', focused: 'address', value: 'old w' });
    expect(choices).toEqual([{ name: `Old wallet — ${address.slice(0, 10)}…${address.slice(-6)}`, value: address }]);

    const reply = await h.reply('untrack', { address });
    expect(visibleText(reply)).toContain('No longer tracking');
    expect(visibleText(await h.reply('addresses'))).not.toContain(address);
    const again = await privateError(h.run('untrack', { address }));
    expect(again.content).toContain('is not tracked in this server');
  });

  it('tells the user privately when the provider is down, and changes nothing', async () => {
    const address = fresh();
    // The provider retries twice with backoff before it gives up.
    h.api.failNext(/rawaddr/, { status: 502, body: '<html>bad gateway</html>', contentType: 'text/html' }, 3);
    const reply = await privateError(h.run('track', { address }));
    expect(reply.content).toContain('(blockchain.info) answered with an error. Nothing was changed');
    expect(visibleText(await h.reply('addresses'))).not.toContain(address);
  });

  it('says a service that answered an error answered one, and one whose answer is wrong that it does not add up, never "Nothing was changed" for a look-up', async () => {
    const address = fresh();
    h.api.failNext(/^\/balance$/, { status: 500, body: '{"error":"server-error","message":"Internal Server Error"}' }, 3);
    const refused = await privateError(h.run('balance', { address }));
    expect(refused.content).toBe('The Bitcoin data service (blockchain.info) answered with an error. Try again in a minute.');
    h.api.misbehave = { figures: { total_received: 0n, final_balance: 5n } };
    try {
      const wrong = await privateError(h.run('balance', { address }));
      expect(wrong.content).toBe('The Bitcoin data service (blockchain.info) gave an answer that does not add up. Try again in a minute.');
    } finally {
      h.api.misbehave = {};
    }
  });

  it('answers a command whose provider call outlasts Discord’s 3 seconds, because it deferred', async () => {
    const address = fresh();
    h.chain.fund(address, 1n);
    h.api.latencyMs = 3_500;
    try {
      const reply = await h.reply('balance', { address, fresh: true });
      expect(visibleText(reply)).toContain('0.00000001 BTC');
    } finally {
      h.api.latencyMs = 0;
    }
  });
});

describe('shutting down', () => {
  it('lets a command that is still running finish before the database closes', async () => {
    const h = await startHarness();
    try {
      const address = fresh();
      h.chain.fund(address, 4_200n);
      await h.reply('track', { address });
      h.api.latencyMs = 800;
      const interaction = h.run('balance', { address, fresh: true });
      await expect.poll(() => interaction.callbacks.length).toBe(1); // deferred, now asking the provider
      const stopping = h.bot.stop();
      expect(visibleText(await interaction.reply())).toContain('0.00004200 BTC');
      await stopping;
    } finally {
      await h.close();
    }
  });
});
