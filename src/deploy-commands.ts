// Register the slash commands without starting the bot: `npm run deploy-commands`.
import 'dotenv/config';
import { REST, Routes } from 'discord.js';
import type { APIApplication } from 'discord.js';
import { ConfigError, loadConfig } from './config/index.js';
import { commands } from './discord/commands/index.js';
import { registerCommands } from './discord/register.js';

try {
  const config = loadConfig();
  const rest = new REST(config.DISCORD_API_URL ? { api: config.DISCORD_API_URL } : {}).setToken(config.DISCORD_TOKEN);
  const application = (await rest.get(Routes.currentApplication())) as APIApplication;
  await registerCommands(rest, application.id, commands, config.DISCORD_GUILD_ID);
  console.log(
    `Registered ${commands.length} commands (${commands.map((c) => `/${c.definition.name}`).join(', ')}) ` +
      (config.DISCORD_GUILD_ID ? `to server ${config.DISCORD_GUILD_ID}.` : 'globally.'),
  );
} catch (err) {
  console.error(err instanceof ConfigError ? err.message : `Could not register commands: ${(err as Error).message}`);
  process.exit(1);
}
