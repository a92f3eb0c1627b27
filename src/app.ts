import { Client, Events, GatewayIntentBits } from 'discord.js';
import { createBlockchainInfoProvider } from './chain/providers/blockchain-info.js';
import type { Config } from './config/index.js';
import { type DatabaseHandle, openDatabase, redactUrl } from './db/client.js';
import type { CommandContext } from './discord/command.js';
import { commands } from './discord/commands/index.js';
import { createInteractionHandler } from './discord/interactions.js';
import { registerCommands } from './discord/register.js';
import { createExplorerLinks } from './discord/render/format.js';
import type { Logger } from './logger.js';
import { createSettingsService } from './sync/settings.js';
import { createWalletService } from './wallet/service.js';

export interface Bot {
  client: Client<true>;
  database: DatabaseHandle;
  /** Stop taking interactions, close Discord and the database. Safe to call twice. */
  stop(): Promise<void>;
}

/** Wire config → database → provider → wallet → Discord, log in and register the commands. */
export async function startBot(config: Config, logger: Logger): Promise<Bot> {
  const database = await openDatabase(config.DATABASE_URL);
  logger.info({ database: redactUrl(config.DATABASE_URL), kind: database.kind }, 'database ready');

  const provider = createBlockchainInfoProvider({ baseUrl: config.BLOCKCHAIN_INFO_URL, logger });
  const wallet = createWalletService({ db: database.db, provider, logger });
  const settings = createSettingsService({ db: database.db });
  const ctx: CommandContext = {
    wallet,
    settings,
    links: createExplorerLinks(config.EXPLORER_URL),
    providerName: provider.name,
    logger,
  };

  const client = new Client({
    intents: [GatewayIntentBits.Guilds],
    rest: config.DISCORD_API_URL ? { api: config.DISCORD_API_URL } : {},
  });
  const handle = createInteractionHandler(commands, ctx);
  client.on(Events.InteractionCreate, (interaction) => void handle(interaction));
  client.on(Events.Error, (err) => logger.error({ err }, 'discord client error'));

  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    await client.destroy();
    await database.close();
    logger.info('stopped');
  };

  try {
    const ready = new Promise<Client<true>>((resolve) => client.once(Events.ClientReady, resolve));
    await client.login(config.DISCORD_TOKEN);
    const readyClient = await ready;
    await registerCommands(client.rest, readyClient.application.id, commands, config.DISCORD_GUILD_ID);
    logger.info(
      { user: readyClient.user.tag, guilds: readyClient.guilds.cache.size, scope: config.DISCORD_GUILD_ID ?? 'global' },
      'ready: commands registered',
    );
    return { client: readyClient, database, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
