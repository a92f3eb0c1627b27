import { ApplicationCommandOptionType as T } from 'discord.js';
import type { OptionDef, StoredCommand } from './commands.js';
import type { DiscordState } from './state.js';
import type { OptionValue } from './types.js';
import { ALL_PERMISSIONS } from './util.js';

interface DataOption {
  type: number;
  name: string;
  value?: string | number | boolean;
  focused?: boolean;
  options?: DataOption[];
}

export interface BuiltOptions {
  options: DataOption[];
  resolved?: { channels: Record<string, unknown> };
}

interface Input {
  commandName: string;
  guildId: string;
  subcommand?: string;
  options?: Record<string, OptionValue>;
  /** For autocomplete: the option being typed, sent as the raw string typed so far. */
  focused?: { name: string; value: string };
}

/**
 * Builds `data.options` (and `data.resolved`) as Discord's client would for this input. With the registered
 * definition at hand it types each option from it and refuses what Discord's UI could never send.
 */
export function buildOptions(state: DiscordState, command: StoredCommand | undefined, input: Input): BuiltOptions {
  const where = `/${input.commandName}${input.subcommand ? ` ${input.subcommand}` : ''}`;
  let defs = command?.options;
  const subcommandDef = defs?.find((d) => d.type === T.Subcommand && d.name === input.subcommand);
  if (command && input.subcommand && !subcommandDef) throw new Error(`${where}: the registered command has no subcommand "${input.subcommand}"`);
  if (command && !input.subcommand && defs?.some((d) => d.type === T.Subcommand || d.type === T.SubcommandGroup)) {
    throw new Error(`${where}: the registered command needs a subcommand`);
  }
  if (subcommandDef) defs = subcommandDef.options ?? [];

  const resolved: BuiltOptions['resolved'] = { channels: {} };
  const given = Object.entries(input.options ?? {});
  const options: DataOption[] = given.map(([name, value]) => {
    const def = defs?.find((d) => d.name === name);
    if (command && !def) throw new Error(`${where}: the registered command has no option "${name}"`);
    return { name, ...typed(state, input.guildId, `${where} ${name}`, def, value, resolved) };
  });
  if (input.focused) {
    const def = defs?.find((d) => d.name === input.focused!.name);
    if (command && !def?.autocomplete) throw new Error(`${where}: option "${input.focused.name}" is not registered with autocomplete: true`);
    options.push({ type: def?.type ?? T.String, name: input.focused.name, value: input.focused.value, focused: true });
  }
  for (const def of defs ?? []) {
    if (def.required && !options.some((o) => o.name === def.name) && !input.focused) {
      throw new Error(`${where}: required option "${def.name}" is missing`);
    }
  }

  const top = subcommandDef || input.subcommand ? [{ type: T.Subcommand, name: input.subcommand!, options }] : options;
  return Object.keys(resolved.channels).length > 0 ? { options: top, resolved } : { options: top };
}

function typed(
  state: DiscordState,
  guildId: string,
  where: string,
  def: OptionDef | undefined,
  value: OptionValue,
  resolved: NonNullable<BuiltOptions['resolved']>,
): { type: number; value: string | number | boolean } {
  const type = def?.type ?? (typeof value === 'boolean' ? T.Boolean : typeof value === 'number' ? (Number.isInteger(value) ? T.Integer : T.Number) : T.String);
  switch (type) {
    case T.String:
      if (typeof value !== 'string') throw new Error(`${where}: expects a string, got ${JSON.stringify(value)}`);
      if (def?.min_length !== undefined && value.length < def.min_length) throw new Error(`${where}: shorter than min_length ${def.min_length}`);
      if (def?.max_length !== undefined && value.length > def.max_length) throw new Error(`${where}: longer than max_length ${def.max_length}`);
      break;
    case T.Integer:
    case T.Number:
      if (typeof value !== 'number' || (type === T.Integer && !Number.isInteger(value))) throw new Error(`${where}: expects ${T[type]}, got ${JSON.stringify(value)}`);
      if (def?.min_value !== undefined && value < def.min_value) throw new Error(`${where}: below min_value ${def.min_value}`);
      if (def?.max_value !== undefined && value > def.max_value) throw new Error(`${where}: above max_value ${def.max_value}`);
      break;
    case T.Boolean:
      if (typeof value !== 'boolean') throw new Error(`${where}: expects a boolean, got ${JSON.stringify(value)}`);
      break;
    case T.Channel: {
      const channel = [...state.channels.values()].find((c) => c.guildId === guildId && !c.deleted && (c.id === value || c.name === value));
      if (!channel) throw new Error(`${where}: no channel ${JSON.stringify(value)} in guild ${guildId}`);
      if (def?.channel_types && !def.channel_types.includes(channel.type)) throw new Error(`${where}: channel type ${channel.type} is not in channel_types`);
      const { id, name, type: channelType } = channel;
      resolved.channels[id] = { id, name, type: channelType, guild_id: guildId, parent_id: null, nsfw: false, flags: 0, permissions: ALL_PERMISSIONS.toString() };
      return { type, value: id };
    }
    default:
      throw new Error(`${where}: option type ${T[type] ?? type} is not faked yet; add it to test/fakes/discord/options.ts`);
  }
  if (def?.choices && !def.choices.some((c) => c.value === value)) throw new Error(`${where}: ${JSON.stringify(value)} is not one of the registered choices`);
  return { type, value };
}
