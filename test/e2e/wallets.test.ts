import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { count, inArray } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addresses, wallets } from '../../src/db/schema.js';
import { type BlockchainInfoFake, startBlockchainInfoFake } from '../fakes/chain/index.js';
import type { FakeGuild, FakeMessage } from '../fakes/discord.js';
import { testAddress } from '../support/addresses.js';
import { finalReply, type Harness, outboxSettled, privateError, startHarness, visibleText } from '../support/harness.js';
import { createCapturingLogger } from '../support/logs.js';
import { type ShellProcess, spawnShell } from '../support/process.js';
import { type } from '../support/shell-typing.js';
import { BIP32_V1_M0H, BIP32_V2_M0, BIP84, BIP86, p2pkhAt, p2trAt, sortedMultiAt } from '../support/wallet-keys.js';
import { change, GAP, receive, walletHistory } from '../support/wallet-scenario.js';

/**
 * Whole wallets through the real bot: the addresses each test expects are derived in
 * test/support/wallet-keys.ts with @scure/bip32 and @scure/btc-signer, apart from satbell's own
 * descriptor code, and paid on the fake chain with real inputs and outputs.
 */
const EPHEMERAL = 64;
const guilds: FakeGuild[] = ['1', '2'].map((n) => ({
  id: `61000000000000000${n}`,
  name: `Wallet server ${n}`,
  channels: [{ id: `6100000000000001${n}0`, name: 'btc-alerts' }],
}));
const [A, B] = guilds.map((g) => ({ guildId: g.id, channelId: g.channels[0]!.id })) as [Target, Target];
interface Target {
  guildId: string;
  channelId: string;
}

/** Everything a notice shows, its fields as "name: value". */
const noticeText = (m: FakeMessage) => [visibleText(m), ...m.embeds.flatMap((e) => (e.fields ?? []).map((f) => `${f.name}: ${f.value}`))].join('\n');

describe('whole wallets end to end', () => {
  let h: Harness;
  let seed = 0;
  const logs = createCapturingLogger('info');
  const stranger = () => testAddress(`wallets-e2e-${++seed}`);

  beforeAll(async () => {
    // Global commands (no DISCORD_GUILD_ID), so that both servers have them.
    h = await startHarness({ discord: { guilds }, env: { DISCORD_GUILD_ID: '' }, logger: logs.logger });
    for (const target of [A, B]) await h.reply('config', { channel: target.channelId }, { subcommand: 'channel', guildId: target.guildId });
  });
  afterAll(async () => {
    await h?.close();
  });

  const notices = (target: Target) => h.discord.channelMessages(target.channelId).filter((m) => !m.interactionId);
  /** Sync, wait until the outbox has posted all it holds, and return what `target` got since `before`. */
  async function syncFor(target: Target, before: number): Promise<string[]> {
    expect(await h.bot.syncNow()).toBe('completed');
    await outboxSettled(h, { timeout: 15_000 });
    return notices(target).slice(before).map(noticeText);
  }
  const track = (target: Target, options: Record<string, string | number>) => h.reply('track', options, { guildId: target.guildId });

  describe('a zpub wallet with receive and change activity (BIP-84)', () => {
    it('tracks it privately with the balance, transactions and used addresses of both chains', async () => {
      const before = walletHistory(h.chain, 'discord');
      const interaction = h.run('track', { address: BIP84.zpub, label: 'savings', gap: GAP }, { guildId: A.guildId });
      // "thinking…" is private already: the key reveals every address of the wallet.
      expect((await interaction.reply()).flags & EPHEMERAL).toBe(EPHEMERAL);
      const reply = await finalReply(interaction);
      const text = visibleText(reply);
      expect(reply.flags & EPHEMERAL).toBe(EPHEMERAL);
      expect(text).toContain('Now tracking a wallet');
      expect(text).toContain('**savings** — wallet `zpub6rFR…tZYs`');
      expect(before.balance).toBe(949_000n);
      expect(text).toContain('Balance: **0.00949000 BTC**');
      expect(text).toContain(`Transactions: ${before.txCount}`);
      expect(text).toContain(`Addresses: ${before.scanned} scanned, ${before.used} used · gap ${GAP}`);
      expect(text).not.toContain(BIP84.zpub);
      for (const message of h.discord.channelMessages(A.channelId)) {
        if (!(message.flags & EPHEMERAL)) expect(visibleText(message)).not.toContain('zpub6rFR');
      }
    });

    it('shows the wallet’s balance and its transactions with the wallet’s net by its label', async () => {
      const balance = visibleText(await h.reply('balance', { address: 'savings' }, { guildId: A.guildId }));
      expect(balance).toContain('0.00949000 BTC');
      expect(balance).toContain('3 transactions · 3 of 13 addresses used');

      const txns = visibleText(await h.reply('txns', { address: 'savings' }, { guildId: A.guildId }));
      expect(txns).toContain('Transactions of savings');
      const nets = [...txns.matchAll(/\*\*([+-]\d+\.\d{8} BTC)\*\*/g)].map((m) => m[1]);
      // Newest first; the payment out counts what left the wallet, its change back not.
      expect(nets).toEqual(['+0.00250000 BTC', '-0.00301000 BTC', '+0.01000000 BTC']);
      expect(txns).not.toContain(receive(0));
    });

    it('lists the wallet as one row in /addresses, with its used count', async () => {
      const list = visibleText(await h.reply('addresses', {}, { guildId: A.guildId }));
      expect(list).toContain('**savings** — wallet `zpub6rFR…tZYs`');
      expect(list).toContain('0.00949000 BTC · 3 of 13 addresses used');
      expect(list).not.toContain(receive(1).slice(0, 12));
    });

    it('announces a payment in once, naming the wallet by its label and no address of it', async () => {
      const before = notices(A).length;
      h.chain.fund(receive(2), 50_000n);
      const posted = await syncFor(A, before);
      expect(posted).toHaveLength(1);
      expect(posted[0]).toContain('Incoming +0.00050000 BTC');
      expect(posted[0]).toContain('**savings** (wallet)');
      expect(posted[0]).toContain('New balance: 0.00999000 BTC');
      expect(posted[0]).not.toContain(receive(2));
      h.chain.mine();
      await syncFor(A, before);
      expect(notices(A).slice(before)).toHaveLength(1);
    });

    it('announces a payment out with change back once, as the amount plus the fee', async () => {
      const before = notices(A).length;
      h.chain.addTx({
        inputs: [{ address: receive(1), value: 250_000n }],
        outputs: [{ address: stranger(), value: 100_000n }, { address: change(1), value: 149_000n }],
      });
      const posted = await syncFor(A, before);
      expect(posted).toHaveLength(1);
      expect(posted[0]).toContain('Outgoing -0.00101000 BTC');
      expect(posted[0]).toContain('Fee: 0.00001000 BTC');
      expect(posted[0]).toContain('New balance: 0.00898000 BTC');
      // Posted once with the whole net, never first with half of it and then edited.
      expect(notices(A).slice(before)[0]!.history).toHaveLength(0);
      h.chain.mine();
    });

    it('announces a move between its own addresses once, as the fee of an internal transfer', async () => {
      const before = notices(A).length;
      h.chain.addTx({ inputs: [{ address: change(0), value: 699_000n }], outputs: [{ address: receive(3), value: 698_500n }] });
      const posted = await syncFor(A, before);
      expect(posted).toHaveLength(1);
      expect(posted[0]).toContain('Internal transfer -0.00000500 BTC');
      expect(posted[0]).toMatch(/internal transfer, fee only/);
      expect(posted[0]).toContain('New balance: 0.00897500 BTC');
      expect(notices(A).slice(before)[0]!.history).toHaveLength(0);
      h.chain.mine();
    });

    it('moves its window on after a receive at its last address, and hears of a payment to the next one', async () => {
      // receive/3 is the last used: the window ends GAP addresses later.
      const last = 3 + GAP;
      const before = notices(A).length;
      h.chain.fund(receive(last), 10_000n);
      expect(await syncFor(A, before)).toEqual([expect.stringContaining('Incoming +0.00010000 BTC')]);
      h.chain.fund(receive(last + 1), 20_000n);
      const posted = await syncFor(A, before);
      expect(posted).toHaveLength(2);
      expect(posted[1]).toContain('Incoming +0.00020000 BTC');
      expect(posted[1]).toContain('New balance: 0.00927500 BTC');
      // Receive 0..last+1+GAP, change 0..1+GAP; used: receive 0, 1, 2, 3, last, last+1 and change 0, 1.
      const balance = visibleText(await h.reply('balance', { address: 'savings' }, { guildId: A.guildId }));
      expect(balance).toContain(`8 of ${last + 2 + GAP + 2 + GAP} addresses used`);
    });
  });

  it('announces a payment to a 2-of-3 wsh(sortedmulti) descriptor with key origins, and shows its checksum', async () => {
    const keys = [BIP32_V1_M0H, BIP32_V2_M0, { xpub: BIP86.xpub, origin: BIP86.origin }];
    const descriptor = `wsh(sortedmulti(2,${keys.map((k) => `[${k.origin}]${k.xpub}/<0;1>/*`).join(',')}))`;
    const reply = await track(A, { address: descriptor, label: 'vault' });
    expect(reply.flags & EPHEMERAL).toBe(EPHEMERAL);
    const text = visibleText(reply);
    expect(text).toContain('**vault** — wallet `wsh(sortedmulti(2, 3 keys))`');
    expect(text).toContain('Addresses: 40 scanned, 0 used · gap 20');
    expect(text).toMatch(/Checksum `#[a-z0-9]{8}` — keep it with the descriptor/);

    const before = notices(A).length;
    h.chain.fund(sortedMultiAt(2, keys.map((k) => k.xpub), 0, 7), 75_000n);
    const posted = await syncFor(A, before);
    expect(posted).toEqual([expect.stringContaining('Incoming +0.00075000 BTC')]);
    expect(posted[0]).toContain('**vault** (wallet)');
  });

  it('gives a wallet and one of its addresses tracked on their own one notice per transaction, with a line for each', async () => {
    const descriptor = `tr([${BIP86.origin}]${BIP86.xpub}/<0;1>/*)`;
    expect(p2trAt(BIP86.xpub, 0, 0)).toBe(BIP86.receive);
    await track(A, { address: descriptor, label: 'taproot' });
    await track(A, { address: BIP86.receive, label: 'tr-first' });
    const before = notices(A).length;
    h.chain.fund(BIP86.receive, 20_000n);
    const posted = await syncFor(A, before);
    expect(posted).toHaveLength(1);
    expect(posted[0]).toContain('**taproot** (wallet): +0.00020000 BTC');
    expect(posted[0]).toMatch(/\*\*tr-first\*\* — \[`bc1p5c[^`]*`\]\([^)]+\): \+0\.00020000 BTC/);
  });

  it('untracks a wallet by its label, keeping its address that another watch has and no other', async () => {
    const removed = visibleText(await h.reply('untrack', { address: 'taproot' }, { guildId: A.guildId }));
    expect(removed).toContain('**taproot** — wallet `tr(xpub6BgB…eUsQ)` was removed');
    const list = visibleText(await h.reply('addresses', {}, { guildId: A.guildId }));
    expect(list).not.toContain('taproot');
    expect(list).toContain('tr-first');
    const others = [p2trAt(BIP86.xpub, 0, 1), p2trAt(BIP86.xpub, 1, 0)];
    const stored = await h.bot.database.db.select({ address: addresses.address }).from(addresses).where(inArray(addresses.address, [BIP86.receive, ...others]));
    expect(stored.map((r) => r.address)).toEqual([BIP86.receive]);
  });

  it('posts one notice in each server that tracks the same wallet', async () => {
    const descriptor = `pkh([${BIP32_V2_M0.origin}]${BIP32_V2_M0.xpub}/<0;1>/*)`;
    await track(A, { address: descriptor, label: 'legacy-a' });
    await track(B, { address: descriptor, label: 'legacy-b' });
    const before = { a: notices(A).length, b: notices(B).length };
    h.chain.fund(p2pkhAt(BIP32_V2_M0.xpub, 1, 2), 30_000n);
    expect(await syncFor(A, before.a)).toEqual([expect.stringContaining('**legacy-a** (wallet)')]);
    expect(notices(B).slice(before.b).map(noticeText)).toEqual([expect.stringContaining('**legacy-b** (wallet)')]);
    expect(notices(B).slice(before.b).map(noticeText)[0]).toContain('Incoming +0.00030000 BTC');
  });

  it('names a wallet tracked without a label "wallet N", found by that label in any case', async () => {
    // legacy-b is the first wallet of server B.
    const tracked = visibleText(await track(B, { address: `sh(wpkh([${BIP32_V1_M0H.origin}]${BIP32_V1_M0H.xpub}/<0;1>/*))` }));
    expect(tracked).toContain('**wallet 2** — wallet `sh(wpkh(xpub68Gm…GDnw))`');
    const balance = visibleText(await h.reply('balance', { address: 'WALLET 2' }, { guildId: B.guildId }));
    expect(balance).toContain('0 of 40 addresses used · gap 20');
  });

  it('never logs a key whole', () => {
    const logged = JSON.stringify(logs.lines);
    expect(logged).toContain('zpub6rFR…tZYs');
    for (const key of [BIP84.zpub, BIP86.xpub, BIP32_V1_M0H.xpub, BIP32_V2_M0.xpub]) expect(logged).not.toContain(key.slice(4, 30));
  });

  describe('refusals', () => {
    const walletRows = async () => (await h.bot.database.db.select({ n: count() }).from(wallets))[0]!.n;

    it('refuses an extended private key with a warning, stores nothing and never echoes the key', async () => {
      const rows = await walletRows();
      const requests = h.api.requests.length;
      const refused = visibleText(await privateError(h.run('track', { address: BIP84.zprv, label: 'oops' }, { guildId: A.guildId })));
      expect(refused).toMatch(/Never paste a private key anywhere/);
      expect(refused).not.toContain(BIP84.zprv.slice(4, 24));
      expect(await walletRows()).toBe(rows);
      expect(h.api.requests.length).toBe(requests);
      expect(JSON.stringify(logs.lines)).not.toContain(BIP84.zprv.slice(4, 24));
    });

    it('refuses a descriptor whose checksum is wrong, and stores nothing', async () => {
      const rows = await walletRows();
      const descriptor = `wpkh([${BIP32_V1_M0H.origin}]${BIP32_V1_M0H.xpub}/<0;1>/*)`;
      const good = visibleText(await track(B, { address: descriptor, label: 'checked' }));
      const checksum = /Checksum `#([a-z0-9]{8})`/.exec(good)![1]!;
      await h.reply('untrack', { address: 'checked' }, { guildId: B.guildId });
      const wrong = `${checksum.slice(0, -1)}${checksum.endsWith('q') ? 'p' : 'q'}`;
      const refused = visibleText(await privateError(h.run('track', { address: `${descriptor}#${wrong}` }, { guildId: B.guildId })));
      expect(refused).toMatch(/checksum/i);
      expect(await walletRows()).toBe(rows);
    });
  });
});

describe('a whole wallet in npm run shell', () => {
  let api: BlockchainInfoFake;
  let shell: ShellProcess;
  let dir: string;

  beforeAll(async () => {
    api = await startBlockchainInfoFake();
    walletHistory(api.chain, 'shell');
    dir = mkdtempSync(join(tmpdir(), 'satbell-shell-wallet-'));
    // A sync runs at start and when `sync` is typed; the schedule stays out of the way.
    shell = spawnShell({ BLOCKCHAIN_INFO_URL: api.url, DATABASE_URL: 'memory:', SYNC_CRON: '0 0 1 1 *' }, dir);
  });
  afterAll(async () => {
    shell?.child.kill('SIGKILL');
    await shell?.exited;
    await api?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('tracks the zpub and shows its balance, transactions, row in the list and a payment to it', async () => {
    await expect.poll(() => shell.stdout(), { timeout: 20_000 }).toContain('\n'); // the greeting
    const tracked = await type(shell, `/track ${BIP84.zpub} label:savings gap:${GAP}`);
    expect(tracked).toContain('Now tracking a wallet\n');
    expect(tracked).toContain('  savings — wallet zpub6rFR…tZYs\n');
    expect(tracked).toContain('  Balance: 0.00949000 BTC\n');
    expect(tracked).toContain('  Addresses: 13 scanned, 3 used · gap 5\n');

    expect(await type(shell, '/balance savings')).toMatch(/^savings\n {2}wallet zpub6rFR…tZYs\n {2}0\.00949000 BTC\n {2}3 transactions · 3 of 13 addresses used/);
    const txns = await type(shell, '/txns savings');
    expect(txns).toMatch(/^Transactions of savings\n/);
    expect([...txns.matchAll(/ · ([+-]\d+\.\d{8} BTC)\n/g)].map((m) => m[1])).toEqual(['+0.00250000 BTC', '-0.00301000 BTC', '+0.01000000 BTC']);
    expect(await type(shell, '/addresses')).toContain('  savings — wallet zpub6rFR…tZYs\n  0.00949000 BTC · 3 of 13 addresses used');

    api.chain.addTx({ inputs: [{ address: receive(1), value: 250_000n }], outputs: [{ address: testAddress('shell-wallet-shop'), value: 100_000n }, { address: change(1), value: 149_000n }] });
    const seen = await type(shell, 'sync');
    expect(seen).toMatch(/^\[notice #terminal\] Outgoing -0\.00101000 BTC\n {2}savings \(wallet\)\n/);
    expect(seen.match(/\[notice #terminal\]/g)).toHaveLength(1);
  });
});
