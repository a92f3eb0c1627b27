import { ApplicationCommandOptionType, ApplicationCommandType } from 'discord.js';
import type { RestRequest, RestRouter } from './http.js';
import type { DiscordState } from './state.js';
import type { RegisteredCommand } from './types.js';
import { apiError, FormErrors, type Reply } from './util.js';

export interface OptionDef {
  type: number;
  name: string;
  description?: string;
  required?: boolean;
  autocomplete?: boolean;
  choices?: { name: string; value: string | number }[];
  options?: OptionDef[];
  channel_types?: number[];
  min_value?: number;
  max_value?: number;
  min_length?: number;
  max_length?: number;
}

export interface StoredCommand extends RegisteredCommand {
  options?: OptionDef[];
}

const NAME = /^[-_'\p{L}\p{N}\p{sc=Deva}\p{sc=Thai}]{1,32}$/u;
const SUBCOMMANDS = new Set<number>([ApplicationCommandOptionType.Subcommand, ApplicationCommandOptionType.SubcommandGroup]);

/** Application commands as Discord stores them, per application and per guild. */
export class CommandRegistry {
  global: StoredCommand[] = [];
  readonly guilds = new Map<string, StoredCommand[]>();

  constructor(private readonly state: DiscordState) {}

  find(guildId: string, name: string, type: number = ApplicationCommandType.ChatInput): StoredCommand | undefined {
    const match = (c: StoredCommand): boolean => c.name === name && c.type === type;
    return this.guilds.get(guildId)?.find(match) ?? this.global.find(match);
  }

  routes(router: RestRouter): void {
    for (const base of ['/applications/:app/commands', '/applications/:app/guilds/:guild/commands']) {
      router.route('GET', base, (req) => this.#scoped(req, (list) => ({ status: 200, body: list })));
      router.route('PUT', base, (req) => this.#scoped(req, (list, guildId) => this.#overwrite(list, req.body, guildId)));
      router.route('POST', base, (req) => this.#scoped(req, (list, guildId) => this.#upsert(list, req.body, guildId)));
      router.route('GET', `${base}/:command`, (req) => this.#scoped(req, (list) => this.#one(list, req, (c) => ({ status: 200, body: c }))));
      router.route('PATCH', `${base}/:command`, (req) =>
        this.#scoped(req, (list, guildId) => this.#one(list, req, (c) => this.#upsert(list, { ...c, ...(req.body as object) }, guildId, c.id))),
      );
      router.route('DELETE', `${base}/:command`, (req) =>
        this.#scoped(req, (list, guildId) =>
          this.#one(list, req, (c) => {
            this.#store(list.filter((x) => x !== c), guildId);
            return { status: 204 };
          }),
        ),
      );
    }
  }

  #scoped(req: RestRequest, then: (list: StoredCommand[], guildId: string | undefined) => Reply): Reply {
    const { app, guild } = req.params;
    if (app !== this.state.applicationId) return apiError(403, 20012, 'You are not authorized to perform this action on this application');
    if (guild !== undefined && !this.state.guilds.has(guild)) return apiError(403, 50001, 'Missing Access');
    return then(guild === undefined ? this.global : (this.guilds.get(guild) ?? []), guild);
  }

  #one(list: StoredCommand[], req: RestRequest, then: (c: StoredCommand) => Reply): Reply {
    const command = list.find((c) => c.id === req.params.command);
    return command ? then(command) : apiError(404, 10063, 'Unknown application command');
  }

  #overwrite(list: StoredCommand[], body: unknown, guildId: string | undefined): Reply {
    if (!Array.isArray(body)) return apiError(400, 50035, 'Invalid Form Body', { _errors: [{ code: 'BASE_TYPE_ARRAY', message: 'Must be an array.' }] });
    const invalid = validateCommands(body);
    if (invalid) return invalid;
    const stored = body.map((def) => this.#toStored(def as Record<string, unknown>, guildId, list));
    this.#store(stored, guildId);
    return { status: 200, body: stored };
  }

  #upsert(list: StoredCommand[], def: unknown, guildId: string | undefined, keepId?: string): Reply {
    const invalid = validateCommands([def]);
    if (invalid) return invalid;
    const stored = this.#toStored(def as Record<string, unknown>, guildId, list, keepId);
    const existed = list.some((c) => c.id === stored.id);
    this.#store([...list.filter((c) => c.id !== stored.id), stored], guildId);
    return { status: existed ? 200 : 201, body: stored };
  }

  #store(list: StoredCommand[], guildId: string | undefined): void {
    if (guildId === undefined) this.global = list;
    else this.guilds.set(guildId, list);
  }

  /** A command keeps its id while one of its type and name stays registered; a re-created one gets a new id. */
  #toStored(def: Record<string, unknown>, guildId: string | undefined, existing: StoredCommand[], keepId?: string): StoredCommand {
    const type = (def.type as number | undefined) ?? ApplicationCommandType.ChatInput;
    const name = String(def.name);
    const id = keepId ?? existing.find((c) => c.type === type && c.name === name)?.id ?? this.state.nextId();
    const { default_member_permissions, ...rest } = def;
    return {
      ...rest,
      id,
      application_id: this.state.applicationId,
      version: this.state.nextId(),
      type,
      name,
      description: String(def.description ?? ''),
      default_member_permissions: (default_member_permissions as string | null | undefined) ?? null,
      nsfw: def.nsfw ?? false,
      integration_types: def.integration_types ?? [0],
      contexts: def.contexts ?? null,
      ...(guildId ? { guild_id: guildId } : {}),
    };
  }
}

/** The checks Discord applies that a bot is most likely to trip over; each becomes a 50035 like Discord's. */
export function validateCommands(defs: unknown[]): Reply | null {
  const errors = new FormErrors();
  const seen = new Set<string>();
  defs.forEach((raw, i) => {
    const def = raw as Record<string, unknown>;
    const type = (def.type as number | undefined) ?? ApplicationCommandType.ChatInput;
    const key = `${type}:${String(def.name)}`;
    if (seen.has(key)) errors.add([i, 'name'], 'APPLICATION_COMMANDS_DUPLICATE_NAME', `Application command names must be unique`);
    seen.add(key);
    if (type !== ApplicationCommandType.ChatInput) return;
    checkNamed(errors, [i], def);
    checkOptions(errors, [i, 'options'], def.options as OptionDef[] | undefined);
  });
  return errors.reply();
}

function checkNamed(errors: FormErrors, path: (string | number)[], def: { name?: unknown; description?: unknown }): void {
  const name = typeof def.name === 'string' ? def.name : '';
  if (!NAME.test(name) || name !== name.toLowerCase()) {
    errors.add([...path, 'name'], 'APPLICATION_COMMAND_INVALID_NAME', `Command name is invalid: ${JSON.stringify(def.name)}`);
  }
  const description = typeof def.description === 'string' ? def.description : '';
  if (description.length < 1 || description.length > 100) {
    errors.add([...path, 'description'], 'BASE_TYPE_BAD_LENGTH', 'Must be between 1 and 100 in length.');
  }
}

function checkOptions(errors: FormErrors, path: (string | number)[], options: OptionDef[] | undefined): void {
  if (!options) return;
  if (options.length > 25) errors.add(path, 'BASE_TYPE_MAX_LENGTH', 'Must be 25 or fewer in length.');
  let optionalSeen = false;
  const names = new Set<string>();
  options.forEach((option, i) => {
    checkNamed(errors, [...path, i], option);
    if (names.has(option.name)) errors.add([...path, i, 'name'], 'APPLICATION_COMMAND_OPTION_NAME_NOT_UNIQUE', 'Option names must be unique');
    names.add(option.name);
    if (SUBCOMMANDS.has(option.type)) return checkOptions(errors, [...path, i, 'options'], option.options);
    if (option.required && optionalSeen) {
      errors.add([...path, i, 'required'], 'APPLICATION_COMMAND_OPTIONS_REQUIRED_INVALID', 'Required options must be placed before non-required options');
    }
    if (!option.required) optionalSeen = true;
    if ((option.choices?.length ?? 0) > 25) errors.add([...path, i, 'choices'], 'BASE_TYPE_MAX_LENGTH', 'Must be 25 or fewer in length.');
    if (option.autocomplete && option.choices?.length) {
      errors.add([...path, i, 'autocomplete'], 'APPLICATION_COMMAND_OPTION_AUTOCOMPLETE_WITH_CHOICES', 'Autocomplete cannot be set with choices');
    }
  });
}
