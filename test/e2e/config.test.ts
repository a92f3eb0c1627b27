import { ChannelType, PermissionFlagsBits } from 'discord.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSettingsService } from '../../src/sync/settings.js';
import type { FakeGuild } from '../fakes/discord.js';
import { testAddress } from '../support/addresses.js';
import { testBackends } from '../support/database.js';
import { type Harness, privateError, startHarness, visibleText } from '../support/harness.js';

const EPHEMERAL = 64;
const NOTICES_OFF_HINT = 'Balance-change notices are off in this server: an admin can turn them on with `/config channel`.';
let seed = 0;
const fresh = () => testAddress(`config-${seed++}`);

/** A moderator who may manage the server but is no administrator. */
const MANAGER = PermissionFlagsBits.ManageGuild | PermissionFlagsBits.ViewChannel | PermissionFlagsBits.SendMessages;
/** A member with the usual permissions and not Manage Server. */
const MEMBER = PermissionFlagsBits.ViewChannel | PermissionFlagsBits.SendMessages | PermissionFlagsBits.UseApplicationCommands;

const guilds: FakeGuild[] = [
  {
    id: '500000000000000001',
    name: 'Satbell Test',
    channels: [
      { id: '500000000000000011', name: 'general' },
      { id: '500000000000000012', name: 'btc-alerts' },
      { id: '500000000000000013', name: 'announcements', type: ChannelType.GuildAnnouncement },
      { id: '500000000000000014', name: 'Lounge', type: ChannelType.GuildVoice },
    ],
  },
  // The bot registers its commands to the first server only. Discord lets a server's admins grant
  // a command to roles that lack its default_member_permissions (Server Settings → Integrations);
  // the fake has no such overrides, but a command it does not find registered skips the same check.
  { id: '500000000000000002', name: 'Overridden', channels: [{ id: '500000000000000021', name: 'general' }] },
];
const [GUILD, OVERRIDDEN] = guilds as [FakeGuild, FakeGuild];

describe.each(testBackends())('/config end to end (%s)', (backend) => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ backend, discord: { guilds, requireRegisteredCommands: false } });
  });
  afterAll(async () => {
    await h?.close();
  });

  const show = async (extra: { guildId?: string } = {}) => visibleText(await h.reply('config', {}, { subcommand: 'show', ...extra }));

  // First: every later test leaves the server with a channel.
  it('/track tells the server that notices are off until an admin sets a channel, and stops once one is set', async () => {
    const before = visibleText(await h.reply('track', { address: fresh() }));
    expect(before).toContain('Now tracking');
    expect(before).toContain(NOTICES_OFF_HINT);

    await h.reply('config', { channel: 'btc-alerts' }, { subcommand: 'channel' });
    const after = visibleText(await h.reply('track', { address: fresh() }));
    expect(after).toContain('Now tracking');
    expect(after).not.toContain('notices are off');
  });

  it('registers /config for members with Manage Server, in servers only, with its three subcommands', () => {
    const registered = h.discord.commands.guilds.get(GUILD.id)!.find((c) => c.name === 'config')!;
    expect(registered.default_member_permissions).toBe(PermissionFlagsBits.ManageGuild.toString());
    expect(registered.contexts).toEqual([0]);
    const options = registered.options as { name: string; options?: { name: string; channel_types?: number[] }[] }[];
    expect(options.map((o) => o.name)).toEqual(['channel', 'threshold', 'show']);
    expect(options[0]!.options![0]!.channel_types).toEqual([ChannelType.GuildText, ChannelType.GuildAnnouncement]);
  });

  it('/config channel sets where notices go, confirms it, and /config show shows it', async () => {
    const reply = await h.reply('config', { channel: 'announcements' }, { subcommand: 'channel', memberPermissions: MANAGER });
    expect(reply.flags & EPHEMERAL).toBe(0);
    expect(visibleText(reply)).toContain('Notices will be posted in <#500000000000000013>');
    expect(await show()).toMatch(/Channel\n<#500000000000000013>/);

    await h.reply('config', { channel: 'btc-alerts' }, { subcommand: 'channel' });
    expect(await show()).toMatch(/Channel\n<#500000000000000012>/);
  });

  it('Discord refuses a voice channel before the bot sees it, as registered', () => {
    expect(() => h.run('config', { channel: 'Lounge' }, { subcommand: 'channel' })).toThrow(/not in channel_types/);
  });

  it('/config threshold takes BTC and /config show shows it to the satoshi; 0 is any change', async () => {
    const reply = visibleText(await h.reply('config', { btc: '0.0005' }, { subcommand: 'threshold' }));
    expect(reply).toContain('Notices will be posted for changes of at least **0.00050000 BTC**');
    expect(await show()).toMatch(/Threshold\n0\.00050000 BTC/);

    expect(visibleText(await h.reply('config', { btc: '0' }, { subcommand: 'threshold' }))).toContain('Notices will be posted for any change');
    expect(await show()).toMatch(/Threshold\nany change/);
  });

  it.each([
    ['-1', 'it cannot be negative'],
    ['abc', 'it is not a number'],
    ['0.000000001', 'bitcoin has at most 8 decimal places'],
  ])('/config threshold refuses %s privately and changes nothing', async (btc, reason) => {
    await h.reply('config', { btc: '0.001' }, { subcommand: 'threshold' });
    const reply = await privateError(h.run('config', { btc }, { subcommand: 'threshold' }));
    expect(reply.content).toContain(`\`${btc}\` is not a valid BTC amount (${reason})`);
    expect(await show()).toMatch(/Threshold\n0\.00100000 BTC/);
  });

  it('Discord hides /config from a member without Manage Server', () => {
    expect(() => h.run('config', {}, { subcommand: 'show', memberPermissions: MEMBER })).toThrow(/default_member_permissions/);
  });

  it('refuses a member without Manage Server privately even where the command was granted to everyone', async () => {
    const where = { guildId: OVERRIDDEN.id, memberPermissions: MEMBER };
    const refused = await privateError(h.run('config', { btc: '1' }, { ...where, subcommand: 'threshold' }));
    expect(refused.content).toContain('`/config` is for members with the **Manage Server** permission');
    const peek = await privateError(h.run('config', {}, { ...where, subcommand: 'show' }));
    expect(peek.content).toContain('Manage Server');

    // An administrator there sees the defaults: the refused change left nothing behind.
    const text = await show({ guildId: OVERRIDDEN.id });
    expect(text).toMatch(/Channel\nnot set — notices are off/);
    expect(text).toMatch(/Threshold\nany change/);
  });

  it('/config show in a server that never configured anything says notices are off', async () => {
    const text = await show({ guildId: OVERRIDDEN.id });
    expect(text).toContain('Notice settings');
    expect(text).toContain('not set — notices are off');
    expect(text).not.toContain('Last delivery error');
  });

  it('/config show shows the last delivery error with when it happened, and setting a channel clears it', async () => {
    const at = new Date(Date.now() - 60_000);
    // What the outbox dispatcher records when Discord refuses a post for good.
    await createSettingsService({ db: h.bot.database.db }).recordDeliveryError(GUILD.id, 'Missing Permissions', at);
    expect(await show()).toContain(`Last delivery error\nMissing Permissions (<t:${Math.floor(at.getTime() / 1000)}:R>)`);

    await h.reply('config', { channel: 'btc-alerts' }, { subcommand: 'channel' });
    expect(await show()).not.toContain('Last delivery error');
  });
});

describe('/config show and the data services', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ discord: { guilds: [GUILD] }, esplora: true });
  });
  afterAll(async () => {
    await h?.close();
  });

  it('names each data service, preferred first, and says which failed lately and when it is asked again', async () => {
    const show = async () => visibleText(await h.reply('config', {}, { subcommand: 'show' }));
    expect(await show()).toMatch(/Data services\nblockchain\.info: serving\nesplora: standing by/);

    // Blockchain.com fails every try of a /balance: Esplora answers, and Blockchain.com is set aside.
    h.api.failNext(/^\/balance$/, { status: 500, body: '{"error":"server-error","message":"Internal Server Error"}' }, 10);
    expect(visibleText(await h.reply('balance', { address: fresh() }))).toContain('Live from esplora');

    expect(await show()).toMatch(/Data services\nblockchain\.info: failed lately, asked again <t:\d+:R> \(or when the others fail\)\nesplora: serving/);
  });
});
