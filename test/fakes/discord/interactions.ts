import { randomBytes } from 'node:crypto';
import {
  ApplicationCommandType,
  InteractionContextType,
  InteractionResponseType as R,
  InteractionType,
  Locale,
  MessageFlags,
  PermissionFlagsBits,
  type APIChatInputApplicationCommandGuildInteraction,
  type APIUser,
} from 'discord.js';
import type { CommandRegistry } from './commands.js';
import type { FakeGateway } from './gateway.js';
import type { RestRequest, RestRouter } from './http.js';
import { checkMessage } from './messages.js';
import { buildOptions } from './options.js';
import type { DiscordState, MessageContent, MessageRecord } from './state.js';
import type { AutocompleteChoice, AutocompleteInput, CommandInput, FakeInteraction, FakeMessage } from './types.js';
import { ALL_PERMISSIONS, apiError, FormErrors, isoTimestamp, NO_FLAGS, unknownMessage, type Reply, type Waiters } from './util.js';

interface InteractionRecord {
  id: string;
  token: string;
  type: InteractionType.ApplicationCommand | InteractionType.ApplicationCommandAutocomplete;
  name: string;
  guildId: string;
  channelId: string;
  user: APIUser;
  createdAt: number;
  callbacks: { type: number; data?: unknown }[];
  ephemeral: boolean;
  original: MessageRecord | null;
  /** @original when the user first saw it. */
  visible: FakeMessage | null;
  /** @original after each later edit. */
  edits: FakeMessage[];
  followups: MessageRecord[];
  choices: AutocompleteChoice[] | null;
}

export interface InteractionTiming {
  responseMs: number;
  tokenMs: number;
  waitTimeoutMs: number;
  requireRegisteredCommands: boolean;
}

/** Flags a bot may set on an interaction message: SuppressEmbeds, Ephemeral, SuppressNotifications, IsComponentsV2. */
const SETTABLE_FLAGS = MessageFlags.SuppressEmbeds | MessageFlags.Ephemeral | MessageFlags.SuppressNotifications | MessageFlags.IsComponentsV2;

/** Dispatches interactions over the gateway and answers the callback and webhook-token routes the bot then calls. */
export class Interactions {
  readonly defaultUserId: string;
  #byId = new Map<string, InteractionRecord>();

  constructor(
    private readonly state: DiscordState,
    private readonly registry: CommandRegistry,
    private readonly gateway: FakeGateway,
    private readonly router: RestRouter,
    private readonly waiters: Waiters,
    private readonly timing: InteractionTiming,
  ) {
    this.defaultUserId = state.nextId();
  }

  runCommand(input: CommandInput): FakeInteraction {
    const record = this.#dispatch(InteractionType.ApplicationCommand, input);
    const { waitTimeoutMs } = this.timing;
    const waiters = this.waiters;
    const state = this.state;
    return {
      id: record.id,
      token: record.token,
      callbacks: record.callbacks,
      get ephemeral() {
        return record.ephemeral;
      },
      get followups() {
        return record.followups.map((m) => state.snapshot(m));
      },
      reply: () =>
        waiters.waitFor(
          () => {
            const first = record.callbacks[0];
            if (first && first.type !== R.ChannelMessageWithSource && first.type !== R.DeferredChannelMessageWithSource) {
              throw new Error(`/${record.name} was answered with callback type ${first.type}, not a message`);
            }
            return record.visible ?? undefined;
          },
          waitTimeoutMs,
          () => this.#describe(record, 'a reply'),
        ),
      waitForEdits: (n) =>
        waiters.waitFor(() => (record.edits.length >= n ? record.edits.slice(0, n) : undefined), waitTimeoutMs, () =>
          this.#describe(record, `${n} edit(s) of @original after the reply (got ${record.edits.length})`),
        ),
    };
  }

  autocomplete(input: AutocompleteInput): Promise<AutocompleteChoice[]> {
    const record = this.#dispatch(InteractionType.ApplicationCommandAutocomplete, input);
    return this.waiters.waitFor(() => record.choices ?? undefined, this.timing.waitTimeoutMs, () => this.#describe(record, 'autocomplete choices'));
  }

  routes(router: RestRouter): void {
    const open = { auth: false };
    router.route('POST', '/interactions/:id/:token/callback', (req) => this.#callback(req), open);
    router.route('POST', '/webhooks/:app/:token', (req) => this.#withToken(req, (rec) => this.#followup(rec, req)), open);
    for (const method of ['GET', 'PATCH', 'DELETE']) {
      router.route(method, '/webhooks/:app/:token/messages/:message', (req) => this.#withToken(req, (rec) => this.#webhookMessage(rec, req)), open);
    }
  }

  #dispatch(type: InteractionRecord['type'], input: CommandInput | AutocompleteInput): InteractionRecord {
    const { state } = this;
    const guild = state.guilds.get(input.guildId);
    if (!guild) throw new Error(`runCommand: the bot is not in guild ${input.guildId}`);
    const channel = input.channelId
      ? state.liveChannel(input.channelId)
      : [...state.channels.values()].find((c) => c.guildId === guild.id && !c.deleted && state.isTextChannel(c));
    if (!channel || channel.guildId !== guild.id) throw new Error(`runCommand: no channel ${input.channelId ?? '(text)'} in guild ${guild.id}`);
    const command = this.registry.find(guild.id, input.name);
    if (!command && this.timing.requireRegisteredCommands) {
      throw new Error(`/${input.name} is not registered in guild ${guild.id} nor globally; register commands first or pass requireRegisteredCommands: false`);
    }
    const permissions = input.memberPermissions ?? ALL_PERMISSIONS;
    if (command?.default_member_permissions != null) {
      const needed = BigInt(command.default_member_permissions);
      const allowed = (permissions & PermissionFlagsBits.Administrator) !== 0n || (needed !== 0n && (permissions & needed) === needed);
      if (!allowed) throw new Error(`/${input.name} needs default_member_permissions ${needed}; Discord hides it from this member`);
    }
    const focused = 'focused' in input ? { name: input.focused, value: input.value } : undefined;
    const { options, resolved } = buildOptions(state, command, { ...input, commandName: input.name, focused });
    const user = state.user(input.userId ?? this.defaultUserId);
    const record: InteractionRecord = {
      id: state.nextId(), token: `aW50ZXJhY3Rpb246${randomBytes(48).toString('base64url')}`, type, name: input.name, guildId: guild.id,
      channelId: channel.id, user, createdAt: state.now(), callbacks: [], ephemeral: false, original: null, visible: null, edits: [],
      followups: [], choices: null,
    };
    const locale = (input.locale ?? Locale.EnglishUS) as Locale;
    const payload = {
      id: record.id,
      application_id: state.applicationId,
      type: InteractionType.ApplicationCommand,
      token: record.token,
      version: 1,
      data: {
        id: command?.id ?? state.nextId(), name: input.name, type: ApplicationCommandType.ChatInput,
        ...(command?.guild_id ? { guild_id: command.guild_id } : {}), options, ...(resolved ? { resolved } : {}),
      } as APIChatInputApplicationCommandGuildInteraction['data'],
      guild: { id: guild.id, locale: Locale.EnglishUS, features: [] },
      guild_id: guild.id,
      guild_locale: Locale.EnglishUS,
      channel: { ...state.channelPayload(channel), permissions: permissions.toString() } as APIChatInputApplicationCommandGuildInteraction['channel'],
      channel_id: channel.id,
      member: {
        user, roles: [], permissions: permissions.toString(), joined_at: isoTimestamp(state.now() - 86_400_000), nick: null, avatar: null,
        banner: null, premium_since: null, deaf: false, mute: false, flags: NO_FLAGS, pending: false, communication_disabled_until: null,
      },
      app_permissions: ALL_PERMISSIONS.toString(),
      locale,
      entitlements: [],
      authorizing_integration_owners: { 0: guild.id },
      context: InteractionContextType.Guild,
      attachment_size_limit: 10_485_760,
    } satisfies APIChatInputApplicationCommandGuildInteraction;
    this.#byId.set(record.id, record);
    // An autocomplete interaction has the same shape with type 4 (and the focused option marked).
    if (!this.gateway.dispatch('INTERACTION_CREATE', { ...payload, type }, guild.id)) {
      throw new Error('No bot is connected to the fake gateway: log a client in and await fake.ready() first.');
    }
    return record;
  }

  #callback(req: RestRequest): Reply {
    const record = this.#byId.get(req.params.id!);
    if (!record || record.token !== req.params.token) return apiError(404, 10062, 'Unknown interaction');
    if (record.callbacks.length > 0) return apiError(400, 40060, 'Interaction has already been acknowledged.');
    if (this.state.now() - record.createdAt > this.timing.responseMs) return apiError(404, 10062, 'Unknown interaction');
    const { type, data } = (req.body ?? {}) as { type?: number; data?: MessageContent & { choices?: unknown } };
    const allowed = record.type === InteractionType.ApplicationCommand ? [R.ChannelMessageWithSource, R.DeferredChannelMessageWithSource, R.Modal] : [R.ApplicationCommandAutocompleteResult];
    if (type === undefined || !allowed.includes(type)) {
      return apiError(400, 50035, 'Invalid Form Body', { type: { _errors: [{ code: 'INTERACTION_RESPONSE_TYPE_INVALID', message: 'Interaction response type is invalid' }] } });
    }
    const flags = typeof data?.flags === 'number' ? data.flags & SETTABLE_FLAGS : 0;
    if (type === R.ChannelMessageWithSource) {
      const invalid = checkMessage(data, req.files, { creating: true });
      if (invalid) return invalid;
      record.original = this.#message(record, data ?? {}, req.files, flags);
      record.visible = this.state.snapshot(record.original);
    } else if (type === R.DeferredChannelMessageWithSource) {
      record.original = this.#message(record, {}, [], MessageFlags.Loading | (flags & MessageFlags.Ephemeral));
    } else if (type === R.ApplicationCommandAutocompleteResult) {
      const invalid = checkChoices(data?.choices);
      if (invalid) return invalid;
      record.choices = data!.choices as AutocompleteChoice[];
    }
    record.ephemeral = (flags & MessageFlags.Ephemeral) !== 0;
    record.callbacks.push(data === undefined ? { type } : { type, data });
    this.waiters.notify();
    if (req.query.with_response !== 'true') return { status: 204 };
    const message = record.original && type !== R.ApplicationCommandAutocompleteResult ? record.original : null;
    return {
      status: 200,
      body: {
        interaction: {
          id: record.id, type: record.type,
          ...(message ? { response_message_id: message.id, response_message_loading: type === R.DeferredChannelMessageWithSource, response_message_ephemeral: record.ephemeral } : {}),
        },
        resource: { type, ...(message ? { message: this.state.messagePayload(message) } : {}) },
      },
    };
  }

  #withToken(req: RestRequest, then: (record: InteractionRecord) => Reply): Reply {
    if (req.params.app !== this.state.applicationId) return apiError(404, 10015, 'Unknown Webhook');
    const record = [...this.#byId.values()].find((r) => r.token === req.params.token);
    if (!record || this.state.now() - record.createdAt > this.timing.tokenMs) return apiError(401, 50027, 'Invalid Webhook Token');
    if (record.callbacks.length === 0) return apiError(404, 10015, 'Unknown Webhook');
    return then(record);
  }

  #followup(record: InteractionRecord, req: RestRequest): Reply {
    const body = (req.body ?? {}) as MessageContent;
    const invalid = checkMessage(body, req.files, { creating: true });
    if (invalid) return invalid;
    let message: MessageRecord;
    if (record.original && !record.original.deleted && record.original.current.flags & MessageFlags.Loading) {
      // The first followup after a deferral fills in the "thinking…" message instead of posting a new
      // one, unless that message was deleted: then it is a new message with its own flags.
      message = record.original;
      this.#edit(record, message, body, req.files);
    } else {
      const flags = typeof body.flags === 'number' ? body.flags & SETTABLE_FLAGS : 0;
      message = this.#message(record, body, req.files, flags);
      record.followups.push(message);
      this.waiters.notify();
    }
    return req.query.wait === 'true' ? { status: 200, body: this.state.messagePayload(message) } : { status: 204 };
  }

  #webhookMessage(record: InteractionRecord, req: RestRequest): Reply {
    const id = req.params.message;
    const message = id === '@original' ? record.original : [record.original, ...record.followups].find((m) => m?.id === id);
    if (!message || message.deleted) return unknownMessage();
    if (req.method === 'DELETE') {
      message.deleted = true;
      return { status: 204 };
    }
    if (req.method === 'PATCH') {
      const invalid = checkMessage(req.body as MessageContent, req.files, { creating: false });
      if (invalid) return invalid;
      this.#edit(record, message, req.body as MessageContent, req.files);
    }
    return { status: 200, body: this.state.messagePayload(message) };
  }

  #edit(record: InteractionRecord, message: MessageRecord, body: MessageContent, files: RestRequest['files']): void {
    this.state.editMessage(message, body ?? {}, files);
    if (message === record.original) {
      const snapshot = this.state.snapshot(message);
      if (record.visible) record.edits.push(snapshot);
      else record.visible = snapshot;
    }
    this.waiters.notify();
  }

  #message(record: InteractionRecord, body: MessageContent, files: RestRequest['files'], flags: number): MessageRecord {
    const interaction = { id: record.id, name: record.name, user: record.user, guildId: record.guildId };
    return this.state.createMessage({ channelId: record.channelId, type: 20, body, files, interaction, flags });
  }

  #describe(record: InteractionRecord, wanted: string): string {
    const calls = this.router.requests
      .filter((r) => r.path.includes(record.token) || r.path.includes(`/interactions/${record.id}/`))
      .map((r) => `${r.method} ${r.path.replace(record.token, ':token')} → ${r.status}`);
    return [
      `The bot did not produce ${wanted} for /${record.name} (interaction ${record.id}) within ${this.timing.waitTimeoutMs} ms.`,
      `Callbacks: ${JSON.stringify(record.callbacks.map((c) => c.type))}.`,
      `Requests with this interaction's token: ${calls.length ? calls.join('; ') : 'none'}.`,
    ].join(' ');
  }
}

function checkChoices(choices: unknown): Reply | null {
  const errors = new FormErrors();
  if (!Array.isArray(choices)) {
    errors.add(['data', 'choices'], 'BASE_TYPE_REQUIRED', 'This field is required');
    return errors.reply();
  }
  if (choices.length > 25) errors.add(['data', 'choices'], 'BASE_TYPE_MAX_LENGTH', 'Must be 25 or fewer in length.');
  choices.forEach((choice: { name?: unknown; value?: unknown }, i) => {
    if (typeof choice.name !== 'string' || choice.name.length < 1 || choice.name.length > 100) {
      errors.add(['data', 'choices', i, 'name'], 'BASE_TYPE_BAD_LENGTH', 'Must be between 1 and 100 in length.');
    }
    if (typeof choice.value === 'string') errors.maxLength(['data', 'choices', i, 'value'], choice.value, 100);
    else if (typeof choice.value !== 'number') errors.add(['data', 'choices', i, 'value'], 'BASE_TYPE_REQUIRED', 'This field is required');
  });
  return errors.reply();
}
