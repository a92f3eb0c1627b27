import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { inflateSync, constants as zlibConstants } from 'node:zlib';
import {
  ApplicationCommandOptionType,
  ApplicationIntegrationType,
  ButtonStyle,
  ChannelType,
  Client,
  ComponentType,
  DiscordAPIError,
  EmbedBuilder,
  Events,
  GatewayIntentBits,
  InteractionContextType,
  InteractionResponseType,
  MessageFlags,
  PermissionFlagsBits,
  Routes,
  type Interaction,
  type RESTPostAPIChatInputApplicationCommandsJSONBody,
  type TextChannel,
} from 'discord.js';
import { afterEach, describe, expect, it, onTestFinished, vi } from 'vitest';
import { WebSocket } from 'ws';
import { startFakeDiscord, type FakeDiscord, type FakeDiscordOptions } from '../fakes/discord.js';

const GUILD = {
  id: '300000000000000001',
  name: 'Satoshi Fans',
  channels: [
    { id: '300000000000000010', name: 'general' },
    { id: '300000000000000011', name: 'alerts' },
    { id: '300000000000000012', name: 'Voice Lounge', type: ChannelType.GuildVoice },
    { id: '300000000000000013', name: 'Info', type: ChannelType.GuildCategory },
  ],
};
const [GENERAL, ALERTS, , CATEGORY] = GUILD.channels.map((c) => c.id) as [string, string, string, string];

const watch = {
  name: 'watch',
  description: 'Watch a Bitcoin address',
  options: [
    {
      type: ApplicationCommandOptionType.Subcommand,
      name: 'add',
      description: 'Start watching',
      options: [
        { type: ApplicationCommandOptionType.String, name: 'address', description: 'Address or label', required: true, autocomplete: true },
        { type: ApplicationCommandOptionType.Channel, name: 'channel', description: 'Where notices go', channel_types: [ChannelType.GuildText] },
        { type: ApplicationCommandOptionType.Boolean, name: 'fresh', description: 'Ask the network now' },
      ],
    },
  ],
} as const satisfies RESTPostAPIChatInputApplicationCommandsJSONBody;

const ping = {
  name: 'ping',
  description: 'Is the bot alive?',
  default_member_permissions: PermissionFlagsBits.ManageGuild.toString(),
} as const satisfies RESTPostAPIChatInputApplicationCommandsJSONBody;

interface Bot {
  fake: FakeDiscord;
  client: Client;
  /** Errors thrown by the test's interaction handler, so a broken handler fails the test instead of vanishing. */
  errors: unknown[];
  onInteraction(handler: (interaction: Interaction) => Promise<void>): void;
}

/** A fake Discord with a real discord.js client logged in, torn down (client first) when the test ends. */
async function startBot(opts: FakeDiscordOptions = {}): Promise<Bot> {
  const fake = await startFakeDiscord({ guilds: [GUILD], ...opts });
  const client = new Client({ intents: [GatewayIntentBits.Guilds], rest: { api: fake.apiUrl } });
  onTestFinished(async () => {
    await client.destroy();
    await fake.close();
  });
  const ready = once(client, Events.ClientReady);
  await client.login('fake-bot-token');
  await ready;
  const errors: unknown[] = [];
  return {
    fake,
    client,
    errors,
    onInteraction(handler) {
      client.on(Events.InteractionCreate, (interaction) => void handler(interaction).catch((error: unknown) => errors.push(error)));
    },
  };
}

const button = (customId: string, label: string, disabled = false) => ({ type: ComponentType.Button, style: ButtonStyle.Secondary, custom_id: customId, label, disabled });
const row = (...components: ReturnType<typeof button>[]) => ({ type: ComponentType.ActionRow, components });

afterEach(() => {
  vi.restoreAllMocks();
});

describe('the fake Discord', () => {
  it('logs a real discord.js client in with its user, application, guild and channels cached', async () => {
    const { fake, client } = await startBot({ applicationId: '400000000000000001' });

    expect(client.user?.id).toBe('400000000000000001');
    expect(client.application?.id).toBe('400000000000000001');
    const guild = client.guilds.cache.get(GUILD.id);
    expect(guild?.name).toBe('Satoshi Fans');
    expect(guild?.channels.cache.get(ALERTS)?.name).toBe('alerts');
    expect(guild?.members.me?.permissionsIn(ALERTS).has(PermissionFlagsBits.SendMessages)).toBe(true);
    expect(fake.requests[0]).toMatchObject({ method: 'GET', path: '/gateway/bot', auth: 'Bot fake-bot-token' });
    expect(fake.gatewayPayloads[0]).toMatchObject({ op: 2, d: { token: 'fake-bot-token', intents: GatewayIntentBits.Guilds } });
  });

  it('dispatches guild commands with the ids it handed back at registration, to members allowed to see them', async () => {
    const { fake, client, errors, onInteraction } = await startBot();
    const registered = await client.application!.commands.set([watch, ping], GUILD.id);
    const seen: string[] = [];
    onInteraction(async (interaction) => {
      if (!interaction.isChatInputCommand()) return;
      seen.push(`${interaction.commandId} ${interaction.command?.name}`);
      await interaction.reply('ok');
    });

    await fake.runCommand({ guildId: GUILD.id, name: 'ping' }).reply();

    const pingId = registered.find((c) => c.name === 'ping')!.id;
    expect(fake.commands.guilds.get(GUILD.id)?.map((c) => c.id)).toEqual([...registered.keys()]);
    expect(seen).toEqual([`${pingId} ping`]);
    expect(() => fake.runCommand({ guildId: GUILD.id, name: 'ping', memberPermissions: PermissionFlagsBits.SendMessages })).toThrow(
      /default_member_permissions/,
    );
    const again = await client.application!.commands.set([watch, ping], GUILD.id);
    expect([...again.keys()]).toEqual([...registered.keys()]);
    expect(errors).toEqual([]);
  });

  it('delivers a slash command whose deferred reply is edited into an embed', async () => {
    const { fake, client, errors, onInteraction } = await startBot();
    await client.application!.commands.set([watch], GUILD.id);
    const seen: Record<string, unknown> = {};
    onInteraction(async (interaction) => {
      if (!interaction.isChatInputCommand()) return;
      await interaction.deferReply();
      Object.assign(seen, {
        subcommand: interaction.options.getSubcommand(),
        address: interaction.options.getString('address', true),
        fresh: interaction.options.getBoolean('fresh'),
        channel: interaction.options.getChannel('channel')?.id,
        guildId: interaction.guildId,
        userId: interaction.user.id,
        canManage: interaction.memberPermissions?.has(PermissionFlagsBits.ManageGuild),
        botCanSend: interaction.appPermissions.has(PermissionFlagsBits.SendMessages),
        channelName: (interaction.channel as TextChannel | null)?.name,
        locale: interaction.locale,
        context: interaction.context,
        owner: interaction.authorizingIntegrationOwners[ApplicationIntegrationType.GuildInstall],
        inCachedGuild: interaction.inCachedGuild(),
      });
      const embed = new EmbedBuilder().setTitle('Watching bc1qexample').setDescription('Notices go to #alerts');
      await interaction.editReply({ embeds: [embed] });
    });

    const run = fake.runCommand({
      guildId: GUILD.id,
      name: 'watch',
      subcommand: 'add',
      options: { address: 'bc1qexample', fresh: true, channel: 'alerts' },
      memberPermissions: PermissionFlagsBits.SendMessages,
    });
    const reply = await run.reply();

    expect(reply.embeds[0]).toMatchObject({ title: 'Watching bc1qexample', description: 'Notices go to #alerts' });
    expect(reply.flags & MessageFlags.Loading).toBe(0);
    expect(run.callbacks.map((c) => c.type)).toEqual([5]);
    expect(run.ephemeral).toBe(false);
    expect(seen).toEqual({
      subcommand: 'add', address: 'bc1qexample', fresh: true, channel: ALERTS, guildId: GUILD.id, userId: fake.defaultUserId,
      canManage: false, botCanSend: true, channelName: 'general', locale: 'en-US', context: InteractionContextType.Guild,
      owner: GUILD.id, inCachedGuild: true,
    });
    expect(fake.channelMessages(GENERAL).map((m) => m.id)).toEqual([reply.id]);
    expect(errors).toEqual([]);
  });

  it('reports later edits of the original reply as progress updates', async () => {
    const { fake, errors, onInteraction } = await startBot({ requireRegisteredCommands: false });
    onInteraction(async (interaction) => {
      if (!interaction.isChatInputCommand()) return;
      await interaction.reply('Checking 0/2…');
      await interaction.editReply('Checking 1/2…');
      await interaction.editReply('Done: 2/2');
      await interaction.followUp({ content: 'One more thing', flags: MessageFlags.Ephemeral });
    });

    const run = fake.runCommand({ guildId: GUILD.id, name: 'sync' });

    expect((await run.reply()).content).toBe('Checking 0/2…');
    const edits = await run.waitForEdits(2);
    expect(edits.map((m) => m.content)).toEqual(['Checking 1/2…', 'Done: 2/2']);
    expect(edits[1]!.history.map((v) => v.content)).toEqual(['Checking 0/2…', 'Checking 1/2…']);
    await vi.waitFor(() => expect(run.followups).toMatchObject([{ content: 'One more thing', flags: MessageFlags.Ephemeral }]));
    expect(fake.channelMessages(GENERAL).map((m) => m.content)).toEqual(['Done: 2/2']);
    expect(errors).toEqual([]);
  });

  it('shows an ephemeral reply to the user only, never in the channel', async () => {
    const { fake, errors, onInteraction } = await startBot({ requireRegisteredCommands: false });
    const responded: unknown[] = [];
    onInteraction(async (interaction) => {
      if (!interaction.isChatInputCommand()) return;
      const response = await interaction.reply({ content: 'Only you can see this', flags: MessageFlags.Ephemeral, withResponse: true });
      responded.push(response.resource?.message?.content, response.interaction.responseMessageEphemeral);
    });

    const run = fake.runCommand({ guildId: GUILD.id, name: 'secret' });

    expect((await run.reply()).content).toBe('Only you can see this');
    expect(run.ephemeral).toBe(true);
    await vi.waitFor(() => expect(responded).toEqual(['Only you can see this', true]));
    expect(fake.channelMessages(GENERAL)).toEqual([]);
    expect(errors).toEqual([]);
  });

  it('returns the choices the bot sends for an autocomplete', async () => {
    const { fake, client, errors, onInteraction } = await startBot();
    await client.application!.commands.set([watch], GUILD.id);
    onInteraction(async (interaction) => {
      if (!interaction.isAutocomplete()) return;
      const typed = interaction.options.getFocused();
      await interaction.respond([`${typed}1`, `${typed}2`].map((label) => ({ name: label, value: label })));
    });

    const choices = await fake.autocomplete({ guildId: GUILD.id, name: 'watch', subcommand: 'add', focused: 'address', value: 'bc1q' });

    expect(choices).toEqual([{ name: 'bc1q1', value: 'bc1q1' }, { name: 'bc1q2', value: 'bc1q2' }]);
    expect(errors).toEqual([]);
  });

  it('delivers a button press to discord.js and shows the message as the update (7) left it, buttons included', async () => {
    const { fake, errors, onInteraction } = await startBot({ requireRegisteredCommands: false });
    const pressed: unknown[] = [];
    onInteraction(async (interaction) => {
      if (interaction.isChatInputCommand()) {
        await interaction.reply({ content: 'Page 1', components: [row(button('next', 'Next'), button('prev', 'Previous', true))] });
      } else if (interaction.isButton()) {
        pressed.push(interaction.customId, interaction.user.id, interaction.message.id, interaction.message.content);
        await interaction.update({ content: 'Page 2', components: [row(button('next2', 'Next', true))] });
      }
    });

    const command = fake.runCommand({ guildId: GUILD.id, name: 'pages' });
    const first = await command.reply();
    expect(first.components).toEqual([row(button('next', 'Next'), button('prev', 'Previous', true))]);
    const press = fake.clickButton({ message: first, customId: 'next', userId: '300000000000000099' });
    const updated = await press.reply();

    expect(pressed).toEqual(['next', '300000000000000099', first.id, 'Page 1']);
    expect(press.callbacks.map((c) => c.type)).toEqual([InteractionResponseType.UpdateMessage]);
    expect(updated).toMatchObject({ id: first.id, content: 'Page 2', components: [row(button('next2', 'Next', true))] });
    expect(updated.history.map((v) => v.content)).toEqual(['Page 1']);
    // The command's own handle sees the edit too: it is the same message.
    expect((await command.waitForEdits(1))[0]!.content).toBe('Page 2');
    expect(fake.message(first.id).content).toBe('Page 2');
    expect(errors).toEqual([]);
  });

  it('after a deferred update (6), shows the first edit of @original as the press’s reply and posts followups apart', async () => {
    const { fake, errors, onInteraction } = await startBot({ requireRegisteredCommands: false });
    onInteraction(async (interaction) => {
      if (interaction.isChatInputCommand()) {
        await interaction.reply({ content: 'Page 1', components: [row(button('next', 'Next'))] });
      } else if (interaction.isButton()) {
        await interaction.deferUpdate();
        await interaction.editReply({ content: 'Page 2', components: [] });
        await interaction.followUp({ content: 'Only you see this', flags: MessageFlags.Ephemeral });
      }
    });

    const first = await fake.runCommand({ guildId: GUILD.id, name: 'pages' }).reply();
    const press = fake.clickButton({ message: first.id, customId: 'next' });
    const updated = await press.reply();

    expect(press.callbacks.map((c) => c.type)).toEqual([InteractionResponseType.DeferredMessageUpdate]);
    expect(updated).toMatchObject({ id: first.id, content: 'Page 2', components: [] });
    await vi.waitFor(() => expect(press.followups).toMatchObject([{ content: 'Only you see this', flags: MessageFlags.Ephemeral }]));
    expect(fake.channelMessages(GENERAL).map((m) => m.content)).toEqual(['Page 2']);
    expect(errors).toEqual([]);
  });

  it('refuses to press what Discord’s client could not: a missing button, a disabled one, someone else’s ephemeral message', async () => {
    const { fake, onInteraction } = await startBot({ requireRegisteredCommands: false });
    onInteraction(async (interaction) => {
      if (!interaction.isChatInputCommand()) return;
      const flags = interaction.commandName === 'private' ? MessageFlags.Ephemeral : undefined;
      await interaction.reply({ content: 'Buttons', components: [row(button('on', 'On'), button('off', 'Off', true))], flags });
    });

    const shown = await fake.runCommand({ guildId: GUILD.id, name: 'public' }).reply();
    expect(() => fake.clickButton({ message: shown, customId: 'gone' })).toThrow(/shows no button gone \(it shows \["on","off"\]\)/);
    expect(() => fake.clickButton({ message: shown, customId: 'off' })).toThrow(/disabled/);
    const mine = await fake.runCommand({ guildId: GUILD.id, name: 'private' }).reply();
    expect(() => fake.clickButton({ message: mine, customId: 'on', userId: '300000000000000099' })).toThrow(/ephemeral/);
  });

  it('answers Discord’s 400 for buttons it would refuse: a duplicate custom_id, one over 100 characters', async () => {
    const { fake, errors, onInteraction } = await startBot({ requireRegisteredCommands: false });
    const codes: unknown[] = [];
    onInteraction(async (interaction) => {
      if (!interaction.isChatInputCommand()) return;
      const components = interaction.commandName === 'twice' ? [row(button('same', 'A'), button('same', 'B'))] : [row(button('x'.repeat(101), 'Long'))];
      await interaction.reply({ content: 'Buttons', components }).catch((error: DiscordAPIError) => codes.push(error.code, JSON.stringify(error.rawError)));
    });

    fake.runCommand({ guildId: GUILD.id, name: 'twice' });
    await vi.waitFor(() => expect(codes).toEqual([50035, expect.stringContaining('COMPONENT_CUSTOM_ID_DUPLICATED')]));
    fake.runCommand({ guildId: GUILD.id, name: 'long' });
    await vi.waitFor(() => expect(codes.slice(2)).toEqual([50035, expect.stringContaining('Must be between 1 and 100 in length.')]));
    expect(errors).toEqual([]);
  });

  it('refuses a second initial response and one that comes after the response window', async () => {
    const { fake, errors, onInteraction } = await startBot({ requireRegisteredCommands: false, interactionResponseMs: 200 });
    const outcomes: unknown[] = [];
    onInteraction(async (interaction) => {
      if (!interaction.isChatInputCommand()) return;
      if (interaction.commandName === 'slow') await new Promise((resolve) => setTimeout(resolve, 300));
      // Straight to REST: discord.js itself refuses a second deferReply(); the point is what Discord answers.
      const defer = () =>
        interaction.client.rest.post(Routes.interactionCallback(interaction.id, interaction.token), {
          body: { type: InteractionResponseType.DeferredChannelMessageWithSource },
          auth: false,
        });
      for (const _attempt of [1, 2]) await defer().then(() => outcomes.push('ok'), (error: DiscordAPIError) => outcomes.push(error.code));
    });

    fake.runCommand({ guildId: GUILD.id, name: 'twice' });
    await vi.waitFor(() => expect(outcomes).toEqual(['ok', 40060]));
    fake.runCommand({ guildId: GUILD.id, name: 'slow' });
    await vi.waitFor(() => expect(outcomes).toEqual(['ok', 40060, 10062, 10062]));
    expect(errors).toEqual([]);
  });

  it('creates one message when a post with enforce_nonce is sent twice', async () => {
    const { fake, client } = await startBot();
    const channel = (await client.channels.fetch(ALERTS)) as TextChannel;

    const first = await channel.send({ content: 'Received 0.00120000 BTC', nonce: 'notice-42', enforceNonce: true });
    const second = await channel.send({ content: 'Received 0.00120000 BTC', nonce: 'notice-42', enforceNonce: true });

    expect(second.id).toBe(first.id);
    expect(fake.channelMessages(ALERTS)).toMatchObject([{ id: first.id, content: 'Received 0.00120000 BTC', nonce: 'notice-42' }]);
  });

  it('forgets a nonce after its window: the same post then creates a second message', async () => {
    let now = Date.now();
    const { fake, client } = await startBot({ nonceWindowMs: 2_000, now: () => now });
    const channel = (await client.channels.fetch(ALERTS)) as TextChannel;

    const first = await channel.send({ content: 'Received', nonce: 'notice-7', enforceNonce: true });
    now += 2_001;
    const second = await channel.send({ content: 'Received', nonce: 'notice-7', enforceNonce: true });

    expect(second.id).not.toBe(first.id);
    expect(fake.channelMessages(ALERTS)).toHaveLength(2);
  });

  it('pages channel history newest first, with limit, before and after, and no nonce', async () => {
    const { client } = await startBot();
    const channel = (await client.channels.fetch(ALERTS)) as TextChannel;
    const sent: string[] = [];
    for (let i = 0; i < 5; i++) sent.push((await channel.send({ content: `m${i}`, nonce: `n${i}`, enforceNonce: true })).id);
    type Listed = { id: string; content: string; nonce?: string }[];
    const list = (query: Record<string, string>) =>
      client.rest.get(Routes.channelMessages(ALERTS), { query: new URLSearchParams(query) }) as Promise<Listed>;

    expect((await list({})).map((m) => m.content)).toEqual(['m4', 'm3', 'm2', 'm1', 'm0']);
    expect((await list({ limit: '2' })).map((m) => m.content)).toEqual(['m4', 'm3']);
    expect((await list({ limit: '2', before: sent[3]! })).map((m) => m.content)).toEqual(['m2', 'm1']);
    expect((await list({ limit: '2', after: sent[0]! })).map((m) => m.content)).toEqual(['m2', 'm1']);
    expect((await list({})).some((m) => 'nonce' in m)).toBe(false);
    await expect(list({ limit: '101' })).rejects.toMatchObject({ status: 400, code: 50035 });
    await expect(list({ limit: '0' })).rejects.toMatchObject({ status: 400, code: 50035 });
  });

  it('can carry out a post and then lose its answer, by a 503 or a dropped connection', async () => {
    const { fake, client } = await startBot();
    const post = { method: 'POST', path: new RegExp(`^/channels/${ALERTS}/messages$`) };
    const send = (content: string) =>
      client.rest.post(Routes.channelMessages(ALERTS), { body: { content } }).then(
        () => 'answered',
        () => 'failed',
      );

    // discord.js retries a 503 three times: the first try lands, the retries are refused.
    fake.failNext(post, { status: 503, committed: true });
    fake.failNext(post, { status: 503 }, 3);
    expect(await send('after a 503')).toBe('failed');
    // A connection closed without an answer is not retried.
    fake.failNext(post, { status: 0, committed: true, dropConnection: true });
    expect(await send('after a drop')).toBe('failed');

    expect(fake.channelMessages(ALERTS).map((m) => m.content)).toEqual(['after a 503', 'after a drop']);
    expect(fake.requests.filter((r) => post.path.test(r.path)).map((r) => [r.status, r.committed ?? false])).toEqual([
      [503, true], [503, false], [503, false], [503, false],
      [0, true],
    ]);
    fake.failNext(post, { status: 503 }, 100);
    fake.clearFailures();
    expect(await send('once it is over')).toBe('answered');
  });

  it('edits a channel post and keeps what it said before', async () => {
    const { fake, client } = await startBot();
    const channel = (await client.channels.fetch(ALERTS)) as TextChannel;
    const sent = await channel.send('Pending: 0.001 BTC');

    await sent.edit('Confirmed: 0.001 BTC');
    const fetched = await channel.messages.fetch({ message: sent.id, force: true });

    expect(fetched.content).toBe('Confirmed: 0.001 BTC');
    expect(fetched.editedTimestamp).not.toBeNull();
    expect(fake.channelMessages(ALERTS)).toMatchObject([{ content: 'Confirmed: 0.001 BTC', history: [{ content: 'Pending: 0.001 BTC' }] }]);
  });

  it('refuses a nonce longer than Discord allows', async () => {
    const { client } = await startBot();
    const channel = (await client.channels.fetch(ALERTS)) as TextChannel;

    const sent = channel.send({ content: 'hi', nonce: 'a-uuid-is-36-characters-long-oh-no!!', enforceNonce: true });

    await expect(sent).rejects.toMatchObject({ status: 400, code: 50035 });
  });

  it('passes injected failures to the bot: discord.js retries a 500 and surfaces a 403', async () => {
    const { fake, client } = await startBot();
    const channel = (await client.channels.fetch(ALERTS)) as TextChannel;
    const post = { method: 'POST', path: new RegExp(`^/channels/${ALERTS}/messages$`) };

    fake.failNext(post, { status: 500 });
    await channel.send('survives a 500');
    fake.failNext(post, { status: 403, body: { code: 50013, message: 'Missing Permissions' } });
    const refused = channel.send('never arrives');

    await expect(refused).rejects.toMatchObject({ status: 403, code: 50013 });
    expect(fake.requests.filter((r) => post.path.test(r.path)).map((r) => r.status)).toEqual([500, 200, 403]);
    expect(fake.channelMessages(ALERTS).map((m) => m.content)).toEqual(['survives a 500']);
  });

  it('takes files as multipart and shows them as attachments', async () => {
    const { fake, client } = await startBot();
    const channel = (await client.channels.fetch(ALERTS)) as TextChannel;

    await channel.send({ content: 'report', files: [{ attachment: Buffer.from('txid,amount'), name: 'report.csv' }] });

    expect(fake.requests.at(-1)).toMatchObject({ body: { content: 'report' }, files: [{ filename: 'report.csv', size: 11 }] });
    expect(fake.channelMessages(ALERTS)).toMatchObject([{ content: 'report', attachments: [{ filename: 'report.csv', size: 11 }] }]);
  });

  it('refuses messages and commands Discord would refuse', async () => {
    const { client } = await startBot();
    const post = (body: object) => client.rest.post(`/channels/${ALERTS}/messages`, { body });

    await expect(post({ content: '' })).rejects.toMatchObject({ code: 50006 });
    await expect(post({ content: 'x'.repeat(2001) })).rejects.toMatchObject({ code: 50035, rawError: { errors: { content: expect.anything() } } });
    await expect(post({ embeds: [{ description: 'x'.repeat(4097) }] })).rejects.toMatchObject({ code: 50035 });
    const badName = client.application!.commands.set([{ name: 'Watch', description: 'Capitalised names are refused' }], GUILD.id);
    await expect(badName).rejects.toMatchObject({ code: 50035 });
  });

  it('makes discord.js wait out a 429 on a channel post so the message appears once', async () => {
    const { fake, client } = await startBot();
    const channel = (await client.channels.fetch(ALERTS)) as TextChannel;
    fake.failNext({ method: 'POST', path: /^\/channels\/\d+\/messages$/ }, { status: 429, body: { retry_after: 0.3 } });

    await channel.send('after the rate limit');

    const posts = fake.requests.filter((r) => r.method === 'POST' && r.path === `/channels/${ALERTS}/messages`);
    expect(posts.map((r) => r.status)).toEqual([429, 200]);
    expect(fake.channelMessages(ALERTS).map((m) => m.content)).toEqual(['after the rate limit']);
  });

  it('answers like Discord for unknown or non-text channels, missing tokens and unknown routes', async () => {
    const { fake, client } = await startBot();
    const consoleError = vi.spyOn(console, 'error').mockImplementation(() => undefined);
    const post = (channelId: string) => client.rest.post(`/channels/${channelId}/messages`, { body: { content: 'x' } });

    await expect(post('999')).rejects.toMatchObject({ status: 404, code: 10003 });
    await expect(post(CATEGORY)).rejects.toMatchObject({ status: 400, code: 50008 });
    fake.deleteChannel(ALERTS);
    await vi.waitFor(() => expect(client.channels.cache.has(ALERTS)).toBe(false));
    await expect(post(ALERTS)).rejects.toMatchObject({ status: 404, code: 10003 });
    const anonymous = await fetch(`${fake.apiUrl}/v10/channels/${GENERAL}/messages`, { method: 'POST' });
    expect(anonymous.status).toBe(401);
    await expect(client.rest.get('/guilds/1/bans')).rejects.toMatchObject({ status: 404 });
    expect(consoleError).toHaveBeenCalledWith(expect.stringContaining('GET /guilds/1/bans'));
  });

  it('resumes the session after telling the bot to reconnect, without losing an interaction', async () => {
    const { fake, client, errors, onInteraction } = await startBot({ requireRegisteredCommands: false });
    onInteraction(async (interaction) => {
      if (interaction.isChatInputCommand()) await interaction.reply('still here');
    });

    await fake.reconnectGateway();
    const reply = await fake.runCommand({ guildId: GUILD.id, name: 'ping' }).reply();

    expect(reply.content).toBe('still here');
    expect(fake.gatewayPayloads.filter((p) => p.op === 2)).toHaveLength(1);
    expect(fake.gatewayPayloads.filter((p) => p.op === 6)).toHaveLength(1);
    expect(client.isReady()).toBe(true);
    expect(errors).toEqual([]);
  });

  it('acknowledges heartbeats, so discord.js measures a ping and never sees a zombie connection', async () => {
    const { fake, client } = await startBot({ heartbeatIntervalMs: 50 });

    await vi.waitFor(() => expect(client.ws.ping).toBeGreaterThanOrEqual(0));
    await new Promise((resolve) => setTimeout(resolve, 200));

    expect(fake.gatewayPayloads.map((p) => p.op)).toEqual([2]);
  });

  it('speaks zlib-stream to a client that asks for it', async () => {
    const fake = await startFakeDiscord();
    onTestFinished(() => fake.close());
    const info = (await (await fetch(`${fake.apiUrl}/v10/gateway/bot`, { headers: { authorization: 'Bot t' } })).json()) as { url: string };
    const ws = new WebSocket(`${info.url}?v=10&encoding=json&compress=zlib-stream`);
    const frames: Buffer[] = [];
    ws.on('message', (data: Buffer) => frames.push(data));
    await once(ws, 'open');
    await vi.waitFor(() => expect(frames).toHaveLength(1));
    ws.send(JSON.stringify({ op: 2, d: { token: 't', intents: GatewayIntentBits.Guilds, properties: {} } }));
    await vi.waitFor(() => expect(frames).toHaveLength(3));
    ws.close();
    await once(ws, 'close');

    const inflated = inflateSync(Buffer.concat(frames), { finishFlush: zlibConstants.Z_SYNC_FLUSH }).toString();
    const payloads = inflated.match(/\{"op".*?(?=\{"op"|$)/gs)!.map((text) => JSON.parse(text) as { op: number; t: string | null });
    expect(payloads.map((p) => p.t ?? p.op)).toEqual([10, 'READY', 'GUILD_CREATE']);
  });

  it('leaves nothing running once the client is destroyed and the fake closed, so the process exits', async () => {
    const script = `
      import { Client, Events, GatewayIntentBits } from 'discord.js';
      import { startFakeDiscord } from './test/fakes/discord.ts';
      const fake = await startFakeDiscord({ requireRegisteredCommands: false });
      const client = new Client({ intents: [GatewayIntentBits.Guilds], rest: { api: fake.apiUrl } });
      client.on(Events.InteractionCreate, (i) => void i.reply('pong'));
      await client.login('token');
      await fake.ready();
      const reply = await fake.runCommand({ guildId: fake.guilds[0].id, name: 'ping' }).reply();
      await client.destroy();
      await fake.close();
      console.log('replied', reply.content);
    `;
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '--eval', script], {
      cwd: fileURLToPath(new URL('../..', import.meta.url)),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const killer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    const [code, signal] = (await once(child, 'exit')) as [number | null, NodeJS.Signals | null];
    clearTimeout(killer);

    expect({ code, signal, output: output.trim() }).toEqual({ code: 0, signal: null, output: 'replied pong' });
  });
});
