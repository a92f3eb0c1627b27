import { type APIApplicationCommandOption, ApplicationCommandOptionType } from 'discord.js';
import type { Command } from '../discord/command.js';

const SHELL_WORDS = ['next', 'prev', 'sync', 'exit'];

/**
 * Tab completion for readline: command names, then subcommands, then `name:` for the options the
 * command's definition has. Values are left to you.
 */
export function completer(line: string, commands: readonly Command[]): [string[], string] {
  const current = /\S*$/.exec(line)![0];
  const words = line.trimStart().split(/\s+/);
  if (words.length === 1) {
    const slash = current.startsWith('/') ? '/' : '';
    const names = [...commands.map((c) => `${slash}${c.definition.name}`), ...(slash ? [] : SHELL_WORDS)];
    return [names.filter((n) => n.startsWith(current)), current];
  }
  const command = commands.find((c) => c.definition.name === words[0]!.replace(/^\//, '').toLowerCase());
  if (!command || current.includes(':')) return [[], current];
  let options: readonly APIApplicationCommandOption[] = command.definition.options ?? [];
  const subcommands = options.filter((o) => o.type === ApplicationCommandOptionType.Subcommand);
  if (subcommands.length) {
    if (words.length === 2) return [subcommands.map((s) => s.name).filter((n) => n.startsWith(current)), current];
    options = subcommands.find((s) => s.name === words[1])?.options ?? [];
  }
  return [options.map((o) => `${o.name}:`).filter((n) => n.startsWith(current)), current];
}
