import {
  type APIApplicationCommandOption,
  ApplicationCommandOptionType,
  InteractionContextType,
  PermissionFlagsBits,
} from 'discord.js';
import type { Command } from '../command.js';
import { renderHelp } from '../render/embeds.js';

/**
 * /help, built from the registry it is part of: each command's usage and description exactly as
 * registered with Discord, so the two cannot drift apart. `all` is read when /help runs.
 */
export function createHelp(all: () => readonly Command[]): Command {
  return {
    definition: {
      name: 'help',
      description: 'What each satbell command does',
      contexts: [InteractionContextType.Guild],
    },
    defer: false,
    async execute() {
      return { embeds: [renderHelp(all().map(({ definition }) => ({ usage: usage(definition.name, definition.options ?? []), description: describe(definition) })))] };
    },
  };
}

/** `/balance address [fresh]`, or `/config channel|threshold|show` for subcommands. */
function usage(name: string, options: readonly APIApplicationCommandOption[]): string {
  const subcommands = options.filter((o) => o.type === ApplicationCommandOptionType.Subcommand);
  if (subcommands.length) return `/${name} ${subcommands.map((o) => o.name).join('|')}`;
  return [`/${name}`, ...options.map((o) => (o.required ? o.name : `[${o.name}]`))].join(' ');
}

function describe(definition: Command['definition']): string {
  const permissions = definition.default_member_permissions;
  const forManagers = permissions != null && (BigInt(permissions) & PermissionFlagsBits.ManageGuild) !== 0n;
  return forManagers ? `${definition.description} (Manage Server only)` : definition.description;
}
