// Register the slash commands without starting the bot: `npm run deploy-commands`.
import 'dotenv/config';
import { REST, Routes } from 'discord.js';
import type { APIApplication } from 'discord.js';
import { ConfigError, loadConfig } from './config/index.js';
import { commands } from './discord/commands/index.js';
import { registerCommands } from './discord/register.js';
import { explainDiscordFailure, StartupError } from './startup.js';

let apiUrl: string | undefined;
try {
  const config = loadConfig();
  apiUrl = config.DISCORD_API_URL;
  const rest = new REST(config.DISCORD_API_URL ? { api: config.DISCORD_API_URL } : {}).setToken(config.DISCORD_TOKEN);
  const application = (await rest.get(Routes.currentApplication())) as APIApplication;
  await registerCommands(rest, application.id, commands, config.DISCORD_GUILD_ID);
  console.log(
    `Registered ${commands.length} commands (${commands.map((c) => `/${c.definition.name}`).join(', ')}) ` +
      (config.DISCORD_GUILD_ID ? `to server ${config.DISCORD_GUILD_ID}.` : 'globally.'),
  );
} catch (err) {
  // A refused token or Discord out of reach, said as npm start says it.
  const explained = explainDiscordFailure(err, apiUrl);
  const known = err instanceof ConfigError || explained instanceof StartupError;
  console.error(known ? (explained as Error).message : `Could not register commands: ${(err as Error).message}`);
  process.exit(1);
}
