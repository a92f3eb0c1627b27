import type { APIEmbed } from 'discord.js';

export interface FakeChannel {
  id: string;
  name: string;
  /** A `ChannelType`; 0 (guild text) when left out. */
  type?: number;
}

export interface FakeGuild {
  id: string;
  name: string;
  channels: FakeChannel[];
}

export interface FakeDiscordOptions {
  applicationId?: string;
  /** Guilds the bot is in. Default: one guild with a text channel `general`. */
  guilds?: FakeGuild[];
  /** When set, REST and gateway refuse every other token; otherwise any non-empty bot token passes. */
  token?: string;
  /** How long the bot has for its first interaction response. Discord: 3 s. */
  interactionResponseMs?: number;
  /** How long an interaction token stays usable for edits and followups. Discord: 15 min. */
  interactionTokenMs?: number;
  /** How long `nonce` + `enforce_nonce` dedupes a channel post. Discord says "a few minutes". */
  nonceWindowMs?: number;
  /** How long `reply()`, `waitForEdits()`, `autocomplete()` and `ready()` wait before failing. */
  waitTimeoutMs?: number;
  /** Privileged intents switched on in the developer portal; asking for others closes the gateway with 4014. */
  privilegedIntents?: number;
  /** Refuse `runCommand` for a command the bot never registered, as Discord's client would. Default true. */
  requireRegisteredCommands?: boolean;
  heartbeatIntervalMs?: number;
  /** The fake's clock for token expiry, nonce windows, snowflakes and timestamps. */
  now?: () => number;
}

export interface RecordedFile {
  field: string;
  filename: string;
  size: number;
  contentType: string | null;
}

export interface RecordedRequest {
  method: string;
  /** Without the `/api/v10` prefix, e.g. `/channels/123/messages`. */
  path: string;
  query: Record<string, string>;
  /** Parsed JSON, or the `payload_json` part of a multipart body. */
  body: unknown;
  files: RecordedFile[];
  /** The Authorization header, or null (interaction callbacks and webhooks send none). */
  auth: string | null;
  /** The status the fake answered; 0 when it closed the connection instead. */
  status: number;
  /** An injected failure answered a request the fake had carried out (`committed`). */
  committed?: boolean;
}

export interface FakeAttachment {
  id: string;
  filename: string;
  size: number;
  contentType: string | null;
}

export interface FakeMessageVersion {
  content: string;
  embeds: APIEmbed[];
  components: unknown[];
  attachments: FakeAttachment[];
  flags: number;
  /** ISO time of the edit that produced this version; null for the version as created. */
  editedAt: string | null;
}

/** A snapshot of a message as a user would see it. */
export interface FakeMessage extends FakeMessageVersion {
  id: string;
  channelId: string;
  authorId: string;
  nonce: string | number | null;
  /** Set on interaction responses and followups. */
  interactionId: string | null;
  createdAt: string;
  /** Earlier versions, oldest first. */
  history: FakeMessageVersion[];
}

export type OptionValue = string | number | boolean;

/** How a committed callback's response goes missing. */
export type LostResponse = 'error' | 'drop';

export interface CommandInput {
  guildId: string;
  /** Default: the guild's first text channel. */
  channelId?: string;
  userId?: string;
  name: string;
  subcommand?: string;
  /** Values for CHANNEL options may be a channel id or name. */
  options?: Record<string, OptionValue>;
  /** Default: every permission. */
  memberPermissions?: bigint;
  locale?: string;
  /**
   * Discord takes the first callback of this interaction but its response is lost: a 500 after
   * commit ('error'), or a connection closed without an answer ('drop'). Later callbacks get 40060,
   * as they would from Discord.
   */
  loseCallbackResponse?: LostResponse;
}

export interface AutocompleteInput extends Omit<CommandInput, 'options'> {
  focused: string;
  value: string;
  options?: Record<string, OptionValue>;
}

export interface ButtonInput {
  /** The message the button is on, or its id. */
  message: FakeMessage | string;
  customId: string;
  /** Who presses it; default: the default user. */
  userId?: string;
  /** Default: every permission. */
  memberPermissions?: bigint;
  locale?: string;
  /**
   * Discord takes the first callback of this interaction but its response is lost: a 500 after
   * commit ('error'), or a connection closed without an answer ('drop'). Later callbacks get 40060,
   * as they would from Discord.
   */
  loseCallbackResponse?: LostResponse;
}

export interface AutocompleteChoice {
  name: string;
  value: string | number;
}

export interface FakeInteraction {
  id: string;
  token: string;
  /** Accepted `POST /interactions/:id/:token/callback` bodies. */
  callbacks: { type: number; data?: unknown }[];
  /** When Discord created the interaction, on the fake's clock (ms). */
  createdAt: number;
  /** When the first callback was taken, on the fake's clock; null until then. Discord allows 3 s. */
  acknowledgedAt: number | null;
  /**
   * The first user-visible reply: a type-4 callback's message, or after a type-5 callback the first edit of
   * @original. For a button press, also the message it is on as a type-7 callback updated it, or after a type-6
   * callback as its first edit left it.
   */
  reply(): Promise<FakeMessage>;
  /** The first `n` edits of @original after `reply()`'s version. */
  waitForEdits(n: number): Promise<FakeMessage[]>;
  ephemeral: boolean;
  followups: FakeMessage[];
}

/** An application command as Discord stores and returns it. */
export interface RegisteredCommand {
  id: string;
  application_id: string;
  version: string;
  type: number;
  name: string;
  description: string;
  guild_id?: string;
  options?: unknown[];
  default_member_permissions: string | null;
  [key: string]: unknown;
}

export interface FailureResponse {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
  /** Discord acts on the request (the message is posted) before it answers with this failure. */
  committed?: boolean;
  /** Close the connection instead of answering (the status is then not sent). */
  dropConnection?: boolean;
}

export interface FakeDiscord {
  apiUrl: string;
  applicationId: string;
  guilds: FakeGuild[];
  /** The user `runCommand` acts as when no `userId` is given. */
  defaultUserId: string;
  requests: RecordedRequest[];
  /** Gateway payloads the bot sent, heartbeats left out. */
  gatewayPayloads: { op: number; d: unknown }[];
  /** What bulk overwrites (PUT) and single creates left registered, with the ids Discord handed back. */
  commands: { global: RegisteredCommand[]; guilds: Map<string, RegisteredCommand[]> };
  /** Resolves once a bot is connected and has been sent READY and its GUILD_CREATEs (not that discord.js has processed them). */
  ready(): Promise<void>;
  /**
   * Dispatches a slash command (INTERACTION_CREATE, type 2) as Discord's client would send it. Throws at once for
   * what Discord's UI would never send: an unregistered command, unknown or missing options, a member lacking
   * the command's default_member_permissions.
   */
  runCommand(input: CommandInput): FakeInteraction;
  /**
   * Presses a button (INTERACTION_CREATE, type 3) as Discord's client would. Throws at once for what the client
   * would never send: a button the message does not show now, a disabled one, a message private to someone else.
   */
  clickButton(input: ButtonInput): FakeInteraction;
  /** A message (channel post, interaction reply or followup) as users see it now. */
  message(id: string): FakeMessage;
  /** Dispatches an autocomplete (type 4); resolves with the choices of the bot's type-8 callback. */
  autocomplete(input: AutocompleteInput): Promise<AutocompleteChoice[]>;
  /** Messages in a channel as users see them (channel posts and non-ephemeral interaction replies), oldest first. */
  channelMessages(channelId: string): FakeMessage[];
  /**
   * The next `times` requests matching `method` and `path` (without /api/v10) get `response` instead. A 429 gets
   * Discord's body and `retry-after` / `x-ratelimit-*` headers filled in; other statuses pass through as given.
   */
  failNext(match: { method: string; path: RegExp }, response: FailureResponse, times?: number): void;
  /** Ends every injected failure not used up yet, as when an outage is over. */
  clearFailures(): void;
  /** Deletes a channel as a moderator would: CHANNEL_DELETE goes out, later posts get 10003. */
  deleteChannel(channelId: string): void;
  /** Sends opcode 7 (Reconnect); resolves once the bot has resumed. */
  reconnectGateway(): Promise<void>;
  /** Closes every socket and the server. Destroy the discord.js client first, or it keeps reconnecting. */
  close(): Promise<void>;
}
