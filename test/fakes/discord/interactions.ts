import { randomBytes } from 'node:crypto';
import {
  ApplicationCommandType,
  ComponentType,
  InteractionResponseType as R,
  InteractionType,
  MessageFlags,
  PermissionFlagsBits,
  type APIChatInputApplicationCommandGuildInteraction,
  type APIMessageComponentGuildInteraction,
  type APIUser,
} from 'discord.js';
import type { CommandRegistry } from './commands.js';
import type { FakeGateway } from './gateway.js';
import type { RestRequest, RestRouter } from './http.js';
import { checkChoices, checkMessage } from './messages.js';
import { guildInteractionBase } from './payloads.js';
import { buildOptions } from './options.js';
import type { DiscordState, MessageContent, MessageRecord } from './state.js';
import type { AutocompleteChoice, AutocompleteInput, ButtonInput, CommandInput, FakeInteraction, FakeMessage, LostResponse } from './types.js';
import { ALL_PERMISSIONS, apiError, unknownMessage, type Reply, type Waiters } from './util.js';

interface InteractionRecord {
  id: string;
  token: string;
  type: InteractionType.ApplicationCommand | InteractionType.ApplicationCommandAutocomplete | InteractionType.MessageComponent;
  /** The command's name; for a component, the name of the command whose message it is on. */
  name: string;
  guildId: string;
  channelId: string;
  user: APIUser;
  createdAt: number;
  /** When the first callback was taken, on the fake's clock. */
  acknowledgedAt: number | null;
  callbacks: { type: number; data?: unknown }[];
  ephemeral: boolean;
  /** For a component: the message it is on, which callbacks 6 and 7 (and then @original) update. */
  message: MessageRecord | null;
  original: MessageRecord | null;
  /** @original when the user first saw it. */
  visible: FakeMessage | null;
  /** @original after each later edit. */
  edits: FakeMessage[];
  followups: MessageRecord[];
  choices: AutocompleteChoice[] | null;
  /** The next callback is committed but its response lost. */
  loseCallbackResponse?: LostResponse;
}

export interface InteractionTiming {
  responseMs: number;
  tokenMs: number;
  waitTimeoutMs: number;
  requireRegisteredCommands: boolean;
}

/** Flags a bot may set on an interaction message: SuppressEmbeds, Ephemeral, SuppressNotifications, IsComponentsV2. */
const SETTABLE_FLAGS = MessageFlags.SuppressEmbeds | MessageFlags.Ephemeral | MessageFlags.SuppressNotifications | MessageFlags.IsComponentsV2;

/** The callback types each kind of interaction may answer with. */
const ALLOWED_CALLBACKS: Record<InteractionRecord['type'], number[]> = {
  [InteractionType.ApplicationCommand]: [R.ChannelMessageWithSource, R.DeferredChannelMessageWithSource, R.Modal],
  [InteractionType.ApplicationCommandAutocomplete]: [R.ApplicationCommandAutocompleteResult],
  [InteractionType.MessageComponent]: [R.ChannelMessageWithSource, R.DeferredChannelMessageWithSource, R.DeferredMessageUpdate, R.UpdateMessage, R.Modal],
};

/** Callbacks after which the user sees a message: a new one (4, 5) or the component's, updated (6, 7). */
const MESSAGE_CALLBACKS: number[] = [R.ChannelMessageWithSource, R.DeferredChannelMessageWithSource, R.DeferredMessageUpdate, R.UpdateMessage];

interface ButtonLike {
  type?: number;
  custom_id?: string;
  url?: string;
  disabled?: boolean;
}

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
    return this.#handle(this.#dispatch(InteractionType.ApplicationCommand, input));
  }

  /**
   * Presses a button (INTERACTION_CREATE, type 3) as Discord's client would. Throws at once for what the
   * client would never send: a button the message does not show now, a disabled one, a message deleted or
   * private to someone else.
   */
  clickButton(input: ButtonInput): FakeInteraction {
    const { state } = this;
    const messageId = typeof input.message === 'string' ? input.message : input.message.id;
    const message = state.messages.get(messageId);
    if (!message || message.deleted) throw new Error(`clickButton: no message ${messageId}`);
    const userId = input.userId ?? this.defaultUserId;
    if (message.current.flags & MessageFlags.Ephemeral && message.interaction?.user.id !== userId) {
      throw new Error(`clickButton: message ${messageId} is ephemeral and only ${message.interaction?.user.id} sees it`);
    }
    const buttons = message.current.components.flatMap((row) => ((row as { components?: unknown[] }).components ?? []) as ButtonLike[]);
    const button = buttons.find((b) => b.type === ComponentType.Button && b.custom_id === input.customId);
    if (!button) {
      throw new Error(`clickButton: message ${messageId} shows no button ${input.customId} (it shows ${JSON.stringify(buttons.map((b) => b.custom_id ?? b.url))})`);
    }
    if (button.disabled) throw new Error(`clickButton: button ${input.customId} is disabled; Discord's client does not let anyone press it`);
    const channel = state.liveChannel(message.channelId);
    if (!channel) throw new Error(`clickButton: the channel of message ${messageId} was deleted`);
    const record = this.#newRecord(InteractionType.MessageComponent, message.interaction?.name ?? '', channel.guildId, channel.id, userId);
    record.message = message;
    record.loseCallbackResponse = input.loseCallbackResponse;
    const payload = {
      ...guildInteractionBase(this.state, record, input.memberPermissions, input.locale),
      type: InteractionType.MessageComponent,
      data: { custom_id: input.customId, component_type: ComponentType.Button },
      message: state.messagePayload(message),
    } as unknown as APIMessageComponentGuildInteraction;
    this.#send(record, payload);
    return this.#handle(record);
  }

  /** The test's handle on an interaction: what the bot answered, as users see it. */
  #handle(record: InteractionRecord): FakeInteraction {
    const { waitTimeoutMs } = this.timing;
    const waiters = this.waiters;
    const state = this.state;
    const what = record.type === InteractionType.MessageComponent ? 'the button press' : `/${record.name}`;
    return {
      id: record.id,
      token: record.token,
      callbacks: record.callbacks,
      createdAt: record.createdAt,
      get acknowledgedAt() {
        return record.acknowledgedAt;
      },
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
            if (first && !MESSAGE_CALLBACKS.includes(first.type)) {
              throw new Error(`${what} was answered with callback type ${first.type}, not a message`);
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

  /** A message as users see it now. */
  message(id: string): FakeMessage {
    const message = this.state.messages.get(id);
    if (!message || message.deleted) throw new Error(`no message ${id}`);
    return this.state.snapshot(message);
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

  #dispatch(type: InteractionType.ApplicationCommand | InteractionType.ApplicationCommandAutocomplete, input: CommandInput | AutocompleteInput): InteractionRecord {
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
    const record = this.#newRecord(type, input.name, guild.id, channel.id, input.userId ?? this.defaultUserId);
    record.loseCallbackResponse = input.loseCallbackResponse;
    const payload = {
      ...guildInteractionBase(this.state, record, permissions, input.locale),
      // An autocomplete interaction has the same shape with type 4 (and the focused option marked).
      type,
      data: {
        id: command?.id ?? state.nextId(), name: input.name, type: ApplicationCommandType.ChatInput,
        ...(command?.guild_id ? { guild_id: command.guild_id } : {}), options, ...(resolved ? { resolved } : {}),
      } as APIChatInputApplicationCommandGuildInteraction['data'],
    };
    this.#send(record, payload);
    return record;
  }

  #newRecord(type: InteractionRecord['type'], name: string, guildId: string, channelId: string, userId: string): InteractionRecord {
    const { state } = this;
    return {
      id: state.nextId(), token: `aW50ZXJhY3Rpb246${randomBytes(48).toString('base64url')}`, type, name, guildId,
      channelId, user: state.user(userId), createdAt: state.now(), acknowledgedAt: null, callbacks: [], ephemeral: false, message: null, original: null,
      visible: null, edits: [], followups: [], choices: null,
    };
  }

  #send(record: InteractionRecord, payload: object): void {
    this.#byId.set(record.id, record);
    if (!this.gateway.dispatch('INTERACTION_CREATE', payload, record.guildId)) {
      throw new Error('No bot is connected to the fake gateway: log a client in and await fake.ready() first.');
    }
  }

  #callback(req: RestRequest): Reply {
    const record = this.#byId.get(req.params.id!);
    if (!record || record.token !== req.params.token) return apiError(404, 10062, 'Unknown interaction');
    if (record.callbacks.length > 0) return apiError(400, 40060, 'Interaction has already been acknowledged.');
    if (this.state.now() - record.createdAt > this.timing.responseMs) return apiError(404, 10062, 'Unknown interaction');
    const { type, data } = (req.body ?? {}) as { type?: number; data?: MessageContent & { choices?: unknown } };
    const allowed = ALLOWED_CALLBACKS[record.type];
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
    } else if (type === R.UpdateMessage || type === R.DeferredMessageUpdate) {
      // The message the component is on becomes @original: updated now (7) or by a later edit (6).
      const message = record.message!;
      if (message.deleted) return unknownMessage();
      record.original = message;
      if (type === R.UpdateMessage) {
        const invalid = checkMessage(data, req.files, { creating: false });
        if (invalid) return invalid;
        this.#edit(message, data ?? {}, req.files);
      }
    } else if (type === R.ApplicationCommandAutocompleteResult) {
      const invalid = checkChoices(data?.choices);
      if (invalid) return invalid;
      record.choices = data!.choices as AutocompleteChoice[];
    }
    record.ephemeral = record.original ? (record.original.current.flags & MessageFlags.Ephemeral) !== 0 : (flags & MessageFlags.Ephemeral) !== 0;
    record.callbacks.push(data === undefined ? { type } : { type, data });
    record.acknowledgedAt = this.state.now();
    this.waiters.notify();
    const lost = record.loseCallbackResponse;
    if (lost) {
      // Taken, and the bot never hears so: Discord answering 500 after commit, or the connection dropping.
      record.loseCallbackResponse = undefined;
      return lost === 'drop' ? { status: 0, drop: true } : { status: 500, body: { message: '500: Internal Server Error', code: 0 } };
    }
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
      this.#edit(message, body, req.files);
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
      this.#edit(message, req.body as MessageContent, req.files);
    }
    return { status: 200, body: this.state.messagePayload(message) };
  }

  /** Edits a message, through whichever token: every interaction whose @original it is sees the new version. */
  #edit(message: MessageRecord, body: MessageContent, files: RestRequest['files']): void {
    this.state.editMessage(message, body ?? {}, files);
    const snapshot = this.state.snapshot(message);
    for (const record of this.#byId.values()) {
      if (record.original !== message) continue;
      if (record.visible) record.edits.push(snapshot);
      else record.visible = snapshot;
    }
    this.waiters.notify();
  }

  #message(record: InteractionRecord, body: MessageContent, files: RestRequest['files'], flags: number): MessageRecord {
    const interaction = { id: record.id, type: record.type, name: record.name, user: record.user, guildId: record.guildId };
    return this.state.createMessage({ channelId: record.channelId, type: 20, body, files, interaction, flags });
  }

  #describe(record: InteractionRecord, wanted: string): string {
    const calls = this.router.requests
      .filter((r) => r.path.includes(record.token) || r.path.includes(`/interactions/${record.id}/`))
      .map((r) => `${r.method} ${r.path.replace(record.token, ':token')} → ${r.status}`);
    return [
      `The bot did not produce ${wanted} for ${record.type === InteractionType.MessageComponent ? 'a button press on' : ''} /${record.name} (interaction ${record.id}) within ${this.timing.waitTimeoutMs} ms.`,
      `Callbacks: ${JSON.stringify(record.callbacks.map((c) => c.type))}.`,
      `Requests with this interaction's token: ${calls.length ? calls.join('; ') : 'none'}.`,
    ].join(' ');
  }
}
