import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testAddress } from '../support/addresses.js';
import { testBackends } from '../support/database.js';
import { type Harness, privateError, startHarness, visibleText } from '../support/harness.js';

const IMMEDIATE = 4;
let seed = 0;
const fresh = () => testAddress(`labels-${seed++}`);
/** How an autocomplete choice shows an address: its start and end. */
const short = (address: string) => `${address.slice(0, 10)}…${address.slice(-6)}`;

describe.each(testBackends())('labels and autocomplete end to end (%s)', (backend) => {
  let h: Harness;
  // Each test in a server of its own, so that labels and suggestions never meet.
  let guildId: string;
  let guilds = 0;
  beforeAll(async () => {
    const servers = Array.from({ length: 8 }, (_, i) => ({
      id: `80000000000000000${i}`,
      name: `Server ${i}`,
      channels: [{ id: `8000000000000001${i}0`, name: 'general' }],
    }));
    h = await startHarness({ backend, discord: { guilds: servers }, env: { DISCORD_GUILD_ID: '' } });
  });
  afterAll(async () => {
    await h?.close();
  });

  const nextServer = () => (guildId = `80000000000000000${guilds++}`);
  const reply = (name: string, options: Record<string, string | boolean> = {}) => h.reply(name, options, { guildId });
  const run = (name: string, options: Record<string, string | boolean> = {}) => h.run(name, options, { guildId });
  const suggest = (name: string, value: string, focused = 'address') => h.discord.autocomplete({ guildId, name, focused, value });

  async function track(label?: string) {
    const address = fresh();
    h.chain.fund(address, 50_000n);
    await reply('track', label ? { address, label } : { address });
    return address;
  }

  it('offers every command that takes a tracked address autocompletion of it, but not /track', () => {
    const registered = h.discord.commands.global as { name: string; options?: { name: string; autocomplete?: boolean }[] }[];
    const withAddress = registered.filter((c) => c.options?.some((o) => o.name === 'address')).map((c) => c.name);
    expect(withAddress.sort()).toEqual(['balance', 'label', 'track', 'txns', 'untrack']);
    for (const command of registered) {
      const address = command.options?.find((o) => o.name === 'address');
      if (address) expect(address.autocomplete ?? false, `/${command.name}`).toBe(command.name !== 'track');
    }
  });

  it('autocompletes from a fragment of a label, any case, as `label — bc1q…xyz`, the address as value', async () => {
    nextServer();
    const cold = await track('Cold storage');
    const hot = await track('Hot wallet');
    await track();

    expect(await suggest('balance', 'STOR')).toEqual([{ name: `Cold storage — ${short(cold)}`, value: cold }]);
    expect(await suggest('txns', 'wall')).toEqual([{ name: `Hot wallet — ${short(hot)}`, value: hot }]);
  });

  it('autocompletes from a fragment of the address, showing an unlabelled address in full', async () => {
    nextServer();
    const labelled = await track('Savings');
    const unlabelled = await track();

    expect(await suggest('untrack', labelled.slice(20, 30))).toEqual([{ name: `Savings — ${short(labelled)}`, value: labelled }]);
    expect(await suggest('label', unlabelled.slice(-12))).toEqual([{ name: unlabelled, value: unlabelled }]);
    expect(await suggest('balance', '')).toHaveLength(2);
  });

  it('takes a label, in any case, wherever /balance and /txns take an address', async () => {
    nextServer();
    const address = await track('Tip jar');

    const balance = visibleText(await reply('balance', { address: 'tip JAR' }));
    expect(balance).toContain(address);
    expect(balance).toContain('0.00050000 BTC');
    const txns = visibleText(await reply('txns', { address: '  Tip   jar ' }));
    expect(txns).toContain('Transactions of Tip jar');
    expect(txns).toContain('+0.00050000 BTC');
  });

  it('says at once and privately when what was typed is neither an address nor a label here', async () => {
    nextServer();
    await track('Known');

    const unknown = run('balance', { address: 'unknown' });
    const message = await privateError(unknown);
    expect(unknown.callbacks.map((c) => c.type)).toEqual([IMMEDIATE]);
    expect(message.content).toContain('`unknown` is neither a Bitcoin address nor a label in this server');

    const typo = `${fresh().slice(0, -1)}q`;
    const mistyped = await privateError(run('txns', { address: typo }));
    expect(mistyped.content).toContain('is neither a valid Bitcoin address (bad checksum) nor a label in this server');
  });

  it('/untrack takes a label', async () => {
    nextServer();
    const address = await track('Old one');
    expect(visibleText(await reply('untrack', { address: 'old one' }))).toContain(`Old one — ${address}`);
    expect(visibleText(await reply('addresses'))).not.toContain(address);
  });

  it('/label renames a watch, and the new label works where the old one did', async () => {
    nextServer();
    const address = await track('Hot wallet');

    const renamed = visibleText(await reply('label', { address: 'hot wallet', label: 'Spending' }));
    expect(renamed).toContain('Label changed');
    expect(renamed).toContain(`\`${address}\` is now **Spending** (was **Hot wallet**)`);
    expect(visibleText(await reply('balance', { address: 'spending' }))).toContain(address);
    expect(visibleText(await reply('addresses'))).toContain('**Spending**');
    expect((await privateError(run('balance', { address: 'Hot wallet' }))).content).toContain('is neither');

    // A change of case only is a rename too, and so is labelling an unlabelled address by its address.
    expect(visibleText(await reply('label', { address: 'spending', label: 'SPENDING' }))).toContain('is now **SPENDING**');
    const other = await track();
    expect(visibleText(await reply('label', { address: other, label: 'Second' }))).toContain('(was no label)');
  });

  it('/label refuses a label another address has, in any case, and changes nothing', async () => {
    nextServer();
    const cold = await track('Cold');
    const hot = await track('Hot');

    const refused = await privateError(run('label', { address: hot, label: 'COLD' }));
    expect(refused.content).toContain(`The label **COLD** is already used for \`${cold}\` in this server.`);
    const listed = visibleText(await reply('addresses'));
    expect(listed).toContain('**Hot**');
    expect(listed).toContain('**Cold**');

    const notAnAddress = await privateError(run('label', { address: hot, label: fresh() }));
    expect(notAnAddress.content).toContain('A label cannot be a Bitcoin address');
  });
});
