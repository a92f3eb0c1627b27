import {
  type APIApplicationCommandBasicOption,
  type APIApplicationCommandOption,
  ApplicationCommandOptionType,
} from 'discord.js';
import type { Command, CommandOptions } from '../discord/command.js';

/**
 * A typed line, `/config threshold btc:0.001` or `/balance cold fresh:true`, checked against the
 * command's own definition as Discord would check it: known options only, the right types,
 * required ones present, lengths and choices kept. Bare words fill the options in order.
 */
export interface ParsedCommand {
  command: Command;
  subcommand: string | null;
  values: ReadonlyMap<string, string | boolean>;
  /** 0-based, from `page:N` (1-based) when the command has no option of that name */
  page: number | null;
}

/** A line the shell cannot run, with what to type instead. */
export class ParseError extends Error {
  override readonly name = 'ParseError';
}

export interface Token {
  /** `name` of `name:value`, unless the name was quoted */
  name: string | null;
  value: string;
}

/**
 * Split on spaces outside quotes; `"…"` or `'…'` hold spaces, `\` escapes the next character. A
 * quote opens only where a value starts, so that a descriptor's hardened steps (`84'/0'/0'`) need
 * no quoting.
 */
export function tokenize(line: string): Token[] {
  const tokens: Token[] = [];
  let value = '';
  let name: string | null = null;
  let started = false;
  let quoted = false;
  let quote: string | null = null;
  const end = () => {
    if (started) tokens.push({ name, value });
    value = '';
    name = null;
    started = false;
    quoted = false;
  };
  for (let i = 0; i < line.length; i++) {
    const char = line[i]!;
    if (char === '\\' && i + 1 < line.length && quote !== "'") {
      value += line[++i];
      started = quoted = true;
    } else if (quote) {
      if (char === quote) quote = null;
      else value += char;
    } else if ((char === '"' || char === "'") && value === '') {
      quote = char;
      started = quoted = true;
    } else if (/\s/.test(char)) {
      end();
    } else if (char === ':' && name === null && !quoted && /^[A-Za-z][\w-]*$/.test(value)) {
      name = value.toLowerCase();
      value = '';
      started = true;
    } else {
      value += char;
      started = true;
    }
  }
  if (quote) throw new ParseError(`A ${quote === '"' ? 'double' : 'single'} quote is not closed.`);
  end();
  return tokens;
}

const SUBCOMMAND_TYPES = new Set([ApplicationCommandOptionType.Subcommand, ApplicationCommandOptionType.SubcommandGroup]);

/** `/track <address> [label:…]`: how to type a command (or one of its subcommands). */
export function usage(command: Command, subcommand?: string): string {
  const options = command.definition.options ?? [];
  const subs = options.filter((o) => SUBCOMMAND_TYPES.has(o.type));
  if (subs.length && !subcommand) return subs.map((s) => usage(command, s.name)).join('\n');
  const leaf = subcommand ? ((subs.find((s) => s.name === subcommand) as { options?: APIApplicationCommandOption[] })?.options ?? []) : options;
  const parts = leaf.map((o) => ('required' in o && o.required ? `<${o.name}>` : `[${o.name}:…]`));
  return [`/${command.definition.name}`, ...(subcommand ? [subcommand] : []), ...parts].join(' ');
}

/** Find the command a line names and check its options; throws ParseError saying what is wrong. */
export function parseCommand(tokens: Token[], commands: readonly Command[]): ParsedCommand {
  const [head, ...rest] = tokens;
  if (!head || head.name !== null) throw new ParseError('Type a command such as /help.');
  const name = head.value.replace(/^\//, '').toLowerCase();
  const command = commands.find((c) => c.definition.name === name);
  if (!command) {
    throw new ParseError(`There is no /${name}. The commands are ${commands.map((c) => `/${c.definition.name}`).join(', ')}; /help says more.`);
  }

  const top = command.definition.options ?? [];
  const subs = top.filter((o) => SUBCOMMAND_TYPES.has(o.type));
  let subcommand: string | null = null;
  let leaf = top as APIApplicationCommandBasicOption[];
  if (subs.length) {
    const word = rest[0]?.name === null ? rest.shift()!.value.toLowerCase() : undefined;
    const sub = subs.find((s) => s.name === word);
    if (!sub || sub.type !== ApplicationCommandOptionType.Subcommand) {
      const list = subs.map((s) => s.name).join(', ');
      throw new ParseError(word ? `/${name} has no subcommand ${word}: use one of ${list}.` : `/${name} needs a subcommand: ${list}.\n${usage(command)}`);
    }
    subcommand = sub.name;
    leaf = sub.options ?? [];
  }
  const display = `/${name}${subcommand ? ` ${subcommand}` : ''}`;

  const values = new Map<string, string | boolean>();
  let page: number | null = null;
  const positional: string[] = [];
  for (const token of rest) {
    if (token.name === null) {
      positional.push(token.value);
      continue;
    }
    const option = leaf.find((o) => o.name === token.name);
    if (!option && token.name === 'page') {
      page = pageIndex(token.value);
      continue;
    }
    if (!option) {
      const known = leaf.length ? `Its options: ${leaf.map((o) => o.name).join(', ')}.` : 'It takes no options.';
      throw new ParseError(`${display} has no option ${token.name}. ${known}`);
    }
    if (values.has(option.name)) throw new ParseError(`The option ${option.name} is given twice.`);
    values.set(option.name, convert(option, token.value));
  }
  for (const word of positional) {
    const option = leaf.find((o) => !values.has(o.name));
    if (!option) throw new ParseError(`${display} takes no more options than ${leaf.map((o) => o.name).join(', ') || 'none'}: what is ${word}?`);
    values.set(option.name, convert(option, word));
  }
  const missing = leaf.filter((o) => o.required && !values.has(o.name)).map((o) => o.name);
  if (missing.length) throw new ParseError(`${display} needs ${missing.join(' and ')}: ${usage(command, subcommand ?? undefined)}`);
  return { command, subcommand, values, page };
}

function pageIndex(text: string): number {
  if (!/^\d+$/.test(text) || Number(text) < 1) throw new ParseError(`page:${text} is not a page: use page:1, page:2, …`);
  return Number(text) - 1;
}

/** A typed value as the option's type wants it, or the reason it cannot be. */
function convert(option: APIApplicationCommandBasicOption, text: string): string | boolean {
  if (text === '') throw new ParseError(`${option.name}: has no value.`);
  switch (option.type) {
    case ApplicationCommandOptionType.Boolean: {
      const lower = text.toLowerCase();
      if (lower === 'true' || lower === 'false') return lower === 'true';
      throw new ParseError(`${option.name} is true or false, not ${text}.`);
    }
    case ApplicationCommandOptionType.Channel:
      // Whatever names a channel here is its id: the shell has no channel list to check against.
      return text.replace(/^<#(.+)>$/, '$1').replace(/^#/, '');
    case ApplicationCommandOptionType.String: {
      if (option.min_length !== undefined && text.length < option.min_length) {
        throw new ParseError(`${option.name} needs at least ${option.min_length} characters.`);
      }
      if (option.max_length !== undefined && text.length > option.max_length) {
        throw new ParseError(`${option.name} takes at most ${option.max_length} characters.`);
      }
      const choices = option.choices;
      if (choices?.length && !choices.some((c) => c.value === text)) {
        throw new ParseError(`${option.name} is one of ${choices.map((c) => c.value).join(', ')}.`);
      }
      return text;
    }
    case ApplicationCommandOptionType.Integer:
    case ApplicationCommandOptionType.Number:
      if (!Number.isFinite(Number(text)) || (option.type === ApplicationCommandOptionType.Integer && !/^-?\d+$/.test(text))) {
        throw new ParseError(`${option.name} is a number, not ${text}.`);
      }
      // As Discord does: a number outside the option's range is never sent.
      if ((option.min_value !== undefined && Number(text) < option.min_value) || (option.max_value !== undefined && Number(text) > option.max_value)) {
        throw new ParseError(`${option.name} is from ${option.min_value ?? '…'} to ${option.max_value ?? '…'}, not ${text}.`);
      }
      return text;
    default:
      return text;
  }
}

/** The parsed values as a command reads them. */
export function commandOptions(parsed: Pick<ParsedCommand, 'subcommand' | 'values'>): CommandOptions {
  const text = (name: string) => {
    const value = parsed.values.get(name);
    return typeof value === 'string' ? value : null;
  };
  return {
    string: text,
    channel: text,
    boolean: (name) => {
      const value = parsed.values.get(name);
      return typeof value === 'boolean' ? value : null;
    },
    integer: (name) => {
      const value = text(name);
      return value === null ? null : Number(value);
    },
    subcommand: () => parsed.subcommand,
  };
}
