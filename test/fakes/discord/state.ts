import {
  ChannelType,
  GuildDefaultMessageNotifications,
  GuildExplicitContentFilter,
  GuildHubType,
  GuildMFALevel,
  GuildNSFWLevel,
  GuildPremiumTier,
  GuildVerificationLevel,
  Locale,
  MessageFlags,
  type APIAttachment,
  type APIEmbed,
  type APIGuildMember,
  type APIMessage,
  type APIRole,
  type APIUser,
  type GatewayGuildCreateDispatchData,
} from 'discord.js';
import type { FakeAttachment, FakeGuild, FakeMessage, FakeMessageVersion, RecordedFile } from './types.js';
import { ALL_PERMISSIONS, isoTimestamp, NO_FLAGS } from './util.js';

export interface ChannelRecord {
  id: string;
  guildId: string;
  name: string;
  type: number;
  position: number;
  deleted: boolean;
}

export interface MessageRecord {
  id: string;
  channelId: string;
  author: APIUser;
  /** 0 for a channel post, 20 for an interaction response. */
  type: number;
  nonce: string | number | null;
  createdAt: number;
  current: FakeMessageVersion;
  history: FakeMessageVersion[];
  /** The interaction this message answers: `type` 2 for a command, 3 for a component. */
  interaction: { id: string; type: number; name: string; user: APIUser; guildId: string } | null;
  deleted: boolean;
}

export interface MessageContent {
  content?: unknown;
  embeds?: unknown;
  components?: unknown;
  attachments?: unknown;
  flags?: unknown;
}

/** Channel types a message can be posted in. */
const TEXT_CHANNEL_TYPES = new Set<number>([
  ChannelType.GuildText,
  ChannelType.GuildAnnouncement,
  ChannelType.GuildVoice,
  ChannelType.GuildStageVoice,
  ChannelType.AnnouncementThread,
  ChannelType.PublicThread,
  ChannelType.PrivateThread,
]);

/** Guilds, channels, users and messages: what Discord would have in its database. */
export class DiscordState {
  readonly botUser: APIUser;
  /** The guilds' owner and the application's: someone who is not the bot. */
  readonly ownerId = '100000000000000000';
  readonly guilds = new Map<string, FakeGuild & { botRoleId: string; joinedAt: number }>();
  readonly channels = new Map<string, ChannelRecord>();
  readonly messages = new Map<string, MessageRecord>();
  readonly #users = new Map<string, APIUser>();

  constructor(
    readonly applicationId: string,
    guilds: FakeGuild[],
    readonly nextId: () => string,
    readonly now: () => number,
  ) {
    this.botUser = { id: applicationId, username: 'satbell-test', discriminator: '0', global_name: null, avatar: null, bot: true, flags: NO_FLAGS, public_flags: NO_FLAGS };
    for (const guild of guilds) {
      this.guilds.set(guild.id, { ...guild, botRoleId: nextId(), joinedAt: now() });
      guild.channels.forEach((channel, position) =>
        this.channels.set(channel.id, { id: channel.id, guildId: guild.id, name: channel.name, type: channel.type ?? ChannelType.GuildText, position, deleted: false }),
      );
    }
  }

  user(id: string): APIUser {
    let user = this.#users.get(id);
    if (!user) {
      user = { id, username: `user${id.slice(-4)}`, discriminator: '0', global_name: `User ${id.slice(-4)}`, avatar: null, flags: NO_FLAGS, public_flags: NO_FLAGS };
      this.#users.set(id, user);
    }
    return user;
  }

  liveChannel(id: string): ChannelRecord | undefined {
    const channel = this.channels.get(id);
    return channel && !channel.deleted ? channel : undefined;
  }

  isTextChannel(channel: ChannelRecord): boolean {
    return TEXT_CHANNEL_TYPES.has(channel.type);
  }

  channelPayload(channel: ChannelRecord, withGuildId = true) {
    return {
      id: channel.id,
      type: channel.type,
      name: channel.name,
      position: channel.position,
      ...(withGuildId ? { guild_id: channel.guildId } : {}),
      parent_id: null,
      permission_overwrites: [],
      nsfw: false,
      topic: null,
      last_message_id: null,
      rate_limit_per_user: 0,
      flags: 0,
    };
  }

  guildPayload(guildId: string): GatewayGuildCreateDispatchData {
    const guild = this.guilds.get(guildId)!;
    const everyone: APIRole = this.#role(guildId, '@everyone', 0, false);
    const botRole: APIRole = { ...this.#role(guild.botRoleId, this.botUser.username, 1, true), tags: { bot_id: this.botUser.id } };
    const joinedAt = isoTimestamp(guild.joinedAt);
    const botMember: APIGuildMember = {
      user: this.botUser, nick: null, avatar: null, banner: null, roles: [guild.botRoleId], joined_at: joinedAt,
      premium_since: null, deaf: false, mute: false, flags: NO_FLAGS, pending: false, communication_disabled_until: null,
    };
    const channels = [...this.channels.values()].filter((c) => c.guildId === guildId && !c.deleted);
    return {
      id: guild.id, name: guild.name, icon: null, splash: null, discovery_splash: null, owner_id: this.ownerId,
      region: 'us-west', afk_channel_id: null, afk_timeout: 300, widget_enabled: false, widget_channel_id: null,
      verification_level: GuildVerificationLevel.None, default_message_notifications: GuildDefaultMessageNotifications.OnlyMentions,
      explicit_content_filter: GuildExplicitContentFilter.Disabled, roles: [everyone, botRole], emojis: [], features: [],
      mfa_level: GuildMFALevel.None, application_id: null, system_channel_id: null, system_channel_flags: NO_FLAGS,
      rules_channel_id: null, max_presences: null, max_members: 500_000, vanity_url_code: null, description: null,
      banner: null, premium_tier: GuildPremiumTier.None, premium_subscription_count: 0, preferred_locale: Locale.EnglishUS,
      public_updates_channel_id: null, max_video_channel_users: 25, max_stage_video_channel_users: 50,
      nsfw_level: GuildNSFWLevel.Default, stickers: [], premium_progress_bar_enabled: false, hub_type: null as GuildHubType | null,
      safety_alerts_channel_id: null, incidents_data: null,
      joined_at: joinedAt, large: false, unavailable: false, member_count: 2, voice_states: [], members: [botMember],
      channels: channels.map((c) => this.channelPayload(c, false)) as GatewayGuildCreateDispatchData['channels'],
      threads: [], presences: [], stage_instances: [], guild_scheduled_events: [], soundboard_sounds: [],
    };
  }

  #role(id: string, name: string, position: number, managed: boolean): APIRole {
    return {
      id, name, color: 0, colors: { primary_color: 0, secondary_color: null, tertiary_color: null }, hoist: false, icon: null,
      unicode_emoji: null, position, permissions: (managed ? ALL_PERMISSIONS : 0n).toString(), managed, mentionable: false, flags: NO_FLAGS,
    };
  }

  createMessage(init: {
    channelId: string;
    type: number;
    body: MessageContent;
    files: RecordedFile[];
    nonce?: string | number | null;
    interaction?: MessageRecord['interaction'];
    flags?: number;
  }): MessageRecord {
    const record: MessageRecord = {
      id: this.nextId(),
      channelId: init.channelId,
      author: this.botUser,
      type: init.type,
      nonce: init.nonce ?? null,
      createdAt: this.now(),
      current: { content: '', embeds: [], components: [], attachments: [], flags: 0, editedAt: null },
      history: [],
      interaction: init.interaction ?? null,
      deleted: false,
    };
    this.#apply(record, init.body, init.files);
    if (init.flags !== undefined) record.current.flags = init.flags;
    this.messages.set(record.id, record);
    return record;
  }

  /** Applies a PATCH. The first edit of a deferred ("thinking…") response replaces it without a history entry. */
  editMessage(record: MessageRecord, body: MessageContent, files: RecordedFile[]): void {
    const wasLoading = (record.current.flags & MessageFlags.Loading) !== 0;
    if (!wasLoading) record.history.push(structuredClone(record.current));
    this.#apply(record, body, files);
    record.current.flags &= ~MessageFlags.Loading;
    record.current.editedAt = wasLoading ? null : isoTimestamp(this.now());
  }

  #apply(record: MessageRecord, body: MessageContent, files: RecordedFile[]): void {
    const next = record.current;
    if ('content' in body) next.content = typeof body.content === 'string' ? body.content : '';
    if ('embeds' in body) next.embeds = ((body.embeds ?? []) as APIEmbed[]).map((embed) => ({ type: 'rich', ...embed }) as APIEmbed);
    if ('components' in body) next.components = (body.components ?? []) as unknown[];
    if (Array.isArray(body.attachments)) {
      const kept = new Set(body.attachments.map((a: { id?: unknown }) => String(a.id)));
      next.attachments = next.attachments.filter((a) => kept.has(a.id));
    }
    // SuppressEmbeds is the one flag an edit may change; ephemeral and loading are fixed by the fake.
    if (typeof body.flags === 'number') {
      next.flags = (next.flags & ~MessageFlags.SuppressEmbeds) | (body.flags & MessageFlags.SuppressEmbeds);
    }
    for (const file of files) {
      next.attachments.push({ id: this.nextId(), filename: file.filename, size: file.size, contentType: file.contentType });
    }
  }

  snapshot(record: MessageRecord): FakeMessage {
    return structuredClone({
      ...record.current,
      id: record.id,
      channelId: record.channelId,
      authorId: record.author.id,
      nonce: record.nonce,
      interactionId: record.interaction?.id ?? null,
      createdAt: isoTimestamp(record.createdAt),
      history: record.history,
    });
  }

  /**
   * A message as the REST API returns it. Discord echoes a message's `nonce` in the answer to the
   * post (and the gateway's MESSAGE_CREATE) only: reading the channel later never shows it.
   */
  messagePayload(record: MessageRecord, { withNonce = false } = {}): APIMessage {
    const { current, interaction } = record;
    return {
      id: record.id,
      channel_id: record.channelId,
      author: record.author,
      content: current.content,
      timestamp: isoTimestamp(record.createdAt),
      edited_timestamp: current.editedAt,
      tts: false,
      mention_everyone: false,
      mentions: [],
      mention_roles: [],
      attachments: current.attachments.map((a) => this.#attachmentPayload(record.channelId, a)),
      embeds: current.embeds,
      components: current.components as APIMessage['components'],
      pinned: false,
      type: record.type,
      flags: current.flags,
      ...(record.nonce === null || !withNonce ? {} : { nonce: record.nonce }),
      ...(interaction
        ? {
            webhook_id: this.applicationId,
            application_id: this.applicationId,
            interaction_metadata:
              interaction.type === 2
                ? { id: interaction.id, type: 2, user: interaction.user, authorizing_integration_owners: { 0: interaction.guildId }, name: interaction.name, command_type: 1 }
                : { id: interaction.id, type: interaction.type, user: interaction.user, authorizing_integration_owners: { 0: interaction.guildId } },
            interaction: { id: interaction.id, type: interaction.type, name: interaction.name, user: interaction.user },
          }
        : {}),
    } as APIMessage;
  }

  #attachmentPayload(channelId: string, a: FakeAttachment): APIAttachment {
    const url = `https://cdn.discordapp.com/attachments/${channelId}/${a.id}/${encodeURIComponent(a.filename)}`;
    return { id: a.id, filename: a.filename, size: a.size, url, proxy_url: url.replace('cdn.discordapp.com', 'media.discordapp.net'), ...(a.contentType ? { content_type: a.contentType } : {}) };
  }
}
