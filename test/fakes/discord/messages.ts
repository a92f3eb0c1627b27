import { ButtonStyle, ComponentType, MessageFlags } from 'discord.js';
import type { RestRequest, RestRouter } from './http.js';
import type { DiscordState, MessageContent, MessageRecord } from './state.js';
import type { RecordedFile } from './types.js';
import { apiError, FormErrors, unknownChannel, unknownMessage, type Reply } from './util.js';

interface EmbedLike {
  title?: string;
  description?: string;
  fields?: { name?: string; value?: string }[];
  footer?: { text?: string };
  author?: { name?: string };
}

/** Discord's message limits; a bot that breaks them in production gets exactly these 400s. */
export function checkMessage(body: MessageContent | undefined, files: RecordedFile[], { creating }: { creating: boolean }): Reply | null {
  const b = (body ?? {}) as MessageContent & { sticker_ids?: unknown[]; poll?: unknown };
  const errors = new FormErrors();
  errors.maxLength(['content'], b.content, 2000);
  const embeds = Array.isArray(b.embeds) ? (b.embeds as EmbedLike[]) : [];
  if (embeds.length > 10) errors.add(['embeds'], 'BASE_TYPE_MAX_LENGTH', 'Must be 10 or fewer in length.');
  let total = 0;
  embeds.forEach((embed, i) => {
    errors.maxLength(['embeds', i, 'title'], embed.title, 256);
    errors.maxLength(['embeds', i, 'description'], embed.description, 4096);
    errors.maxLength(['embeds', i, 'footer', 'text'], embed.footer?.text, 2048);
    errors.maxLength(['embeds', i, 'author', 'name'], embed.author?.name, 256);
    if ((embed.fields?.length ?? 0) > 25) errors.add(['embeds', i, 'fields'], 'BASE_TYPE_MAX_LENGTH', 'Must be 25 or fewer in length.');
    embed.fields?.forEach((field, j) => {
      for (const [key, max] of [['name', 256], ['value', 1024]] as const) {
        if (!field[key]) errors.add(['embeds', i, 'fields', j, key], 'BASE_TYPE_REQUIRED', 'This field is required');
        errors.maxLength(['embeds', i, 'fields', j, key], field[key], max);
      }
      total += (field.name?.length ?? 0) + (field.value?.length ?? 0);
    });
    total += [embed.title, embed.description, embed.footer?.text, embed.author?.name].reduce((n, s) => n + (s?.length ?? 0), 0);
  });
  if (total > 6000) errors.add(['embeds'], 'MAX_EMBED_SIZE_EXCEEDED', 'Embed size exceeds maximum size of 6000');
  checkComponents(b.components, errors);
  const invalid = errors.reply();
  if (invalid) return invalid;
  const empty =
    !b.content && embeds.length === 0 && !(Array.isArray(b.components) && b.components.length) && files.length === 0 && !b.sticker_ids?.length && !b.poll;
  if (creating && empty) return apiError(400, 50006, 'Cannot send an empty message');
  return null;
}

interface ComponentLike {
  type?: unknown;
  style?: unknown;
  custom_id?: unknown;
  url?: unknown;
  label?: unknown;
  components?: ComponentLike[];
}

/**
 * Action rows of buttons, Discord's limits on them included: at most 5 rows of at most 5 buttons, a custom_id
 * of 1–100 characters on every button but a link, unique within the message. Other components are not faked.
 */
function checkComponents(components: unknown, errors: FormErrors): void {
  if (components === undefined || components === null) return;
  if (!Array.isArray(components)) return errors.add(['components'], 'BASE_TYPE_ARRAY', 'Must be an array.');
  if (components.length > 5) errors.add(['components'], 'BASE_TYPE_MAX_LENGTH', 'Must be 5 or fewer in length.');
  const ids = new Set<string>();
  (components as ComponentLike[]).forEach((row, i) => {
    if (row.type !== ComponentType.ActionRow) {
      throw new Error(`component type ${String(row.type)} at the top level is not faked yet; add it to test/fakes/discord/messages.ts`);
    }
    const buttons = row.components ?? [];
    if (buttons.length < 1 || buttons.length > 5) errors.add(['components', i, 'components'], 'BASE_TYPE_BAD_LENGTH', 'Must be between 1 and 5 in length.');
    buttons.forEach((button, j) => {
      const at = ['components', i, 'components', j];
      if (button.type !== ComponentType.Button) {
        throw new Error(`component type ${String(button.type)} in an action row is not faked yet; add it to test/fakes/discord/messages.ts`);
      }
      errors.maxLength([...at, 'label'], button.label, 80);
      if (button.style === ButtonStyle.Link) {
        if (typeof button.url !== 'string') errors.add([...at, 'url'], 'BASE_TYPE_REQUIRED', 'This field is required');
        if (button.custom_id !== undefined) errors.add([...at, 'custom_id'], 'COMPONENT_LINK_CUSTOM_ID', 'A link button cannot have a custom_id');
        return;
      }
      if (typeof button.style !== 'number' || button.style < ButtonStyle.Primary || button.style > ButtonStyle.Premium) {
        errors.add([...at, 'style'], 'BASE_TYPE_CHOICES', 'Value must be one of {1, 2, 3, 4, 5, 6}.');
      }
      if (typeof button.custom_id !== 'string' || button.custom_id.length < 1 || [...button.custom_id].length > 100) {
        errors.add([...at, 'custom_id'], 'BASE_TYPE_BAD_LENGTH', 'Must be between 1 and 100 in length.');
      } else if (ids.has(button.custom_id)) {
        errors.add([...at, 'custom_id'], 'COMPONENT_CUSTOM_ID_DUPLICATED', 'Component custom id cannot be duplicated');
      } else {
        ids.add(button.custom_id);
      }
    });
  });
}

/** `POST/GET/PATCH/DELETE /channels/:channel/messages…` with `enforce_nonce` dedupe. */
export class ChannelMessages {
  #nonces = new Map<string, MessageRecord>();

  constructor(
    private readonly state: DiscordState,
    private readonly nonceWindowMs: number,
  ) {}

  /** What the bot posted in a channel, as users see it; ephemeral replies are not in a channel. */
  inChannel(channelId: string): MessageRecord[] {
    return [...this.state.messages.values()].filter((m) => m.channelId === channelId && !m.deleted && !(m.current.flags & MessageFlags.Ephemeral));
  }

  routes(router: RestRouter): void {
    router.route('GET', '/channels/:channel', (req) => {
      const channel = this.state.liveChannel(req.params.channel!);
      return channel ? { status: 200, body: this.state.channelPayload(channel) } : unknownChannel();
    });
    router.route('POST', '/channels/:channel/messages', (req) => this.#create(req));
    router.route('GET', '/channels/:channel/messages', (req) => this.#list(req));
    router.route('GET', '/channels/:channel/messages/:message', (req) =>
      this.#existing(req, (m) => ({ status: 200, body: this.state.messagePayload(m) })),
    );
    router.route('PATCH', '/channels/:channel/messages/:message', (req) =>
      this.#existing(req, (m) => {
        const invalid = checkMessage(req.body as MessageContent, req.files, { creating: false });
        if (invalid) return invalid;
        this.state.editMessage(m, req.body as MessageContent, req.files);
        return { status: 200, body: this.state.messagePayload(m) };
      }),
    );
    router.route('DELETE', '/channels/:channel/messages/:message', (req) =>
      this.#existing(req, (m) => {
        m.deleted = true;
        return { status: 204 };
      }),
    );
  }

  #create(req: RestRequest): Reply {
    const channel = this.state.liveChannel(req.params.channel!);
    if (!channel) return unknownChannel();
    if (!this.state.isTextChannel(channel)) return apiError(400, 50008, 'Cannot send messages in a non-text channel');
    const body = (req.body ?? {}) as MessageContent & { nonce?: unknown; enforce_nonce?: unknown };
    const nonce = body.nonce;
    if (nonce !== undefined && nonce !== null) {
      const errors = new FormErrors();
      if (typeof nonce === 'string') errors.maxLength(['nonce'], nonce, 25);
      else if (!Number.isInteger(nonce)) errors.add(['nonce'], 'BASE_TYPE_CHOICES', 'Value must be one of (string, integer).');
      const invalid = errors.reply();
      if (invalid) return invalid;
    }
    const key = `${this.state.botUser.id}:${String(nonce)}`;
    if (body.enforce_nonce === true && nonce !== undefined && nonce !== null) {
      const earlier = this.#nonces.get(key);
      if (earlier && this.state.now() - earlier.createdAt <= this.nonceWindowMs) {
        return { status: 200, body: this.state.messagePayload(earlier, { withNonce: true }) };
      }
    }
    const invalid = checkMessage(body, req.files, { creating: true });
    if (invalid) return invalid;
    const message = this.state.createMessage({ channelId: channel.id, type: 0, body, files: req.files, nonce: (nonce as string | number | undefined) ?? null });
    if (nonce !== undefined && nonce !== null) this.#nonces.set(key, message);
    return { status: 200, body: this.state.messagePayload(message, { withNonce: true }) };
  }

  /**
   * A page of the channel's history as Discord gives it: newest first, `limit` 1–100 (50 if left
   * out), the newest before `before`, or the oldest after `after` (still newest first within the page).
   */
  #list(req: RestRequest): Reply {
    if (!this.state.liveChannel(req.params.channel!)) return unknownChannel();
    const { limit: rawLimit = '50', before, after, around } = req.query;
    const errors = new FormErrors();
    const limit = Number(rawLimit);
    if (!/^\d+$/.test(rawLimit)) errors.add(['limit'], 'NUMBER_TYPE_COERCE', `Value "${rawLimit}" is not int.`);
    else if (limit < 1) errors.add(['limit'], 'NUMBER_TYPE_MIN', 'int value should be greater than or equal to 1.');
    else if (limit > 100) errors.add(['limit'], 'NUMBER_TYPE_MAX', 'int value should be less than or equal to 100.');
    for (const [key, value] of Object.entries({ before, after, around })) {
      if (value !== undefined && !/^\d{1,20}$/.test(value)) errors.add([key], 'NUMBER_TYPE_COERCE', `Value "${value}" is not snowflake.`);
    }
    const invalid = errors.reply();
    if (invalid) return invalid;
    if (around !== undefined) throw new Error('GET /channels/:id/messages?around= is not faked yet; add it to test/fakes/discord/messages.ts');
    const oldestFirst = this.inChannel(req.params.channel!).sort((a, b) => (BigInt(a.id) < BigInt(b.id) ? -1 : 1));
    let page: MessageRecord[];
    if (after !== undefined) page = oldestFirst.filter((m) => BigInt(m.id) > BigInt(after)).slice(0, limit).reverse();
    else page = oldestFirst.filter((m) => before === undefined || BigInt(m.id) < BigInt(before)).reverse().slice(0, limit);
    return { status: 200, body: page.map((m) => this.state.messagePayload(m)) };
  }

  #existing(req: RestRequest, then: (m: MessageRecord) => Reply): Reply {
    if (!this.state.liveChannel(req.params.channel!)) return unknownChannel();
    const message = this.state.messages.get(req.params.message!);
    if (!message || message.deleted || message.channelId !== req.params.channel || message.current.flags & MessageFlags.Ephemeral) return unknownMessage();
    return then(message);
  }
}

/** An autocomplete answer's choices, with Discord's limits on them. */
export function checkChoices(choices: unknown): Reply | null {
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
