import { REST, Routes } from 'discord.js';
import type { Command } from './command.js';

/**
 * Replace the application's commands with ours in one bulk overwrite: to one server when a guild
 * id is given (instant, for development), else globally.
 */
export async function registerCommands(
  rest: REST,
  applicationId: string,
  commands: readonly Command[],
  guildId?: string,
): Promise<void> {
  const body = commands.map((c) => c.definition);
  const route = guildId ? Routes.applicationGuildCommands(applicationId, guildId) : Routes.applicationCommands(applicationId);
  await rest.put(route, { body });
}
