import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deriveRange, parseWallet } from '../../src/chain/descriptor/index.js';
import { testAddress } from '../support/addresses.js';
import { testBackends } from '../support/database.js';
import { finalReply, type Harness, privateError, startHarness, visibleText } from '../support/harness.js';

const EPHEMERAL = 64;
/** BIP-84's account 0 of the "abandon … about" seed. */
const ZPUB = 'zpub6rFR7y4Q2AijBEqTUquhVz398htDFrtymD9xYYfG1m4wAcvPhXNfE3EfH1r1ADqtfSdVCToUG868RvUUkgDKf31mGDtKsAYz2oz2AGutZYs';
const zpub = parseWallet(ZPUB, 'mainnet');
const receive = (i: number) => deriveRange(zpub, 0, i, i + 1)[0]!;
const change = (i: number) => deriveRange(zpub, 1, i, i + 1)[0]!;

describe.each(testBackends())('/track of a whole wallet end to end (%s)', (backend) => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ backend });
  });
  afterAll(async () => {
    await h?.close();
  });

  it('scans a zpub, answers privately with its label, short key, checksum and balance, and lists it as one row', async () => {
    h.chain.fund(receive(0), 150_000n);
    h.chain.fund(change(1), 2_500n);
    h.chain.mine();
    const interaction = h.run('track', { address: ZPUB, gap: 3 });
    const reply = await interaction.reply();
    // "thinking…" is already private: the key reveals every address of the wallet.
    expect(interaction.ephemeral).toBe(true);
    expect(reply.flags & EPHEMERAL).toBe(EPHEMERAL);
    const done = await finalReply(interaction);
    expect(done.flags & EPHEMERAL).toBe(EPHEMERAL);
    const text = visibleText(done);
    expect(text).toContain('Now tracking a wallet');
    expect(text).toContain('**wallet 1** — wallet `zpub6rFR…tZYs`');
    expect(text).toContain('Balance: **0.00152500 BTC**');
    // receive 0..3, change 0..4
    expect(text).toContain('Addresses: 9 scanned, 2 used · gap 3');
    expect(text).toMatch(/Checksum `#[a-z0-9]{8}` — keep it with the descriptor/);
    expect(text).not.toContain(ZPUB);
    for (const message of h.discord.channelMessages(h.discord.guilds[0]!.channels[0]!.id)) {
      if (message.flags & EPHEMERAL) continue;
      expect(visibleText(message)).not.toContain('zpub6rFR');
    }

    const list = visibleText(await h.reply('addresses'));
    expect(list).toContain('**wallet 1** — wallet `zpub6rFR…tZYs`');
    expect(list).toContain('0.00152500 BTC · 2 of 9 addresses used');
    const balance = visibleText(await h.reply('balance', { address: 'Wallet 1' }));
    expect(balance).toContain('0.00152500 BTC');
    expect(balance).toContain('2 transactions · 2 of 9 addresses used · gap 3');
    const txns = visibleText(await h.reply('txns', { address: 'wallet 1' }));
    expect(txns).toContain('Transactions of wallet 1');
    expect(txns).toContain('+0.00150000 BTC');
    expect(txns).toContain('+0.00002500 BTC');
  });

  it('refuses a private key at once and privately, asking the provider nothing', async () => {
    const calls = h.api.requests.length;
    const xprv = 'xprv9s21ZrQH143K3QTDL4LXw2F7HEK3wJUD2nW2nRk4stbPy6cq3jPPqjiChkVvvNKmPGJxWUtg6LnF5kejMRNNU3TGtRBeJgk33yuGBxrMPHi';
    const reply = await privateError(h.run('track', { address: xprv }));
    expect(reply.content).not.toContain(xprv);
    expect(h.api.requests.length).toBe(calls);
  });

  it('/untrack of the wallet by its label removes it from /addresses', async () => {
    const single = testAddress('wallets-e2e-0');
    h.chain.fund(single, 1_000n);
    await h.reply('track', { address: single, label: 'tip jar' });
    const removed = visibleText(await h.reply('untrack', { address: 'wallet 1' }));
    expect(removed).toContain('**wallet 1** — wallet `zpub6rFR…tZYs` was removed');
    const list = visibleText(await h.reply('addresses'));
    expect(list).not.toContain('wallet 1');
    expect(list).toContain('tip jar');
  });
});
