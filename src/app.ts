import { Client, Events, GatewayIntentBits, Options } from 'discord.js';
import type { Config } from './config/index.js';
import { type Core, openCore, SHELL_GUILD_ID } from './core.js';
import type { DatabaseHandle } from './db/client.js';
import { commands } from './discord/commands/index.js';
import { createInteractionHandler, type InteractionHandlerOptions } from './discord/interactions.js';
import { createDiscordNoticeTransport } from './discord/notices.js';
import { registerCommands } from './discord/register.js';
import type { Logger } from './logger.js';
import { explainDiscordFailure } from './startup.js';
import type { RunOutcome } from './sync/scheduler.js';

export interface Bot {
  client: Client<true>;
  database: DatabaseHandle;
  /** Run a sync now unless one is running (here or in another process). */
  syncNow(): Promise<RunOutcome>;
  /** Stop syncing and delivering, then close Discord and the database. Safe to call twice. */
  stop(): Promise<void>;
}

/**
 * The Discord bot: the core, a discord.js client that answers commands, and notices posted to
 * channels. `options` tune the interaction handler (tests shorten the page buttons' lifetime).
 */
export async function startBot(config: Config, logger: Logger, options: InteractionHandlerOptions = {}): Promise<Bot> {
  const core: Core = await openCore(config, logger);
  const client = new Client({
    intents: [GatewayIntentBits.Guilds],
    rest: config.DISCORD_API_URL ? { api: config.DISCORD_API_URL } : {},
    // Labels are user input: whatever a message says, it pings nobody (each send says so as well).
    allowedMentions: { parse: [] },
    // The bot reads nothing from the cache but guilds and channels (the ones discord.js must keep
    // whole, with roles and permission overwrites): everything else a gateway event brings is
    // dropped, as are the members and users of each interaction, except the bot's own.
    makeCache: Options.cacheWithLimits({
      ApplicationCommandManager: 0,
      ApplicationEmojiManager: 0,
      AutoModerationRuleManager: 0,
      BaseGuildEmojiManager: 0,
      DMMessageManager: 0,
      EntitlementManager: 0,
      GuildBanManager: 0,
      GuildEmojiManager: 0,
      GuildForumThreadManager: 0,
      GuildInviteManager: 0,
      GuildMemberManager: { maxSize: 0, keepOverLimit: (member) => member.id === member.client.user.id },
      GuildMessageManager: 0,
      GuildScheduledEventManager: 0,
      GuildStickerManager: 0,
      GuildTextThreadManager: 0,
      MessageManager: 0,
      PresenceManager: 0,
      ReactionManager: 0,
      ReactionUserManager: 0,
      StageInstanceManager: 0,
      ThreadManager: 0,
      ThreadMemberManager: 0,
      UserManager: { maxSize: 0, keepOverLimit: (user) => user.id === user.client.user.id },
      VoiceStateManager: 0,
    }),
  });
  const interactions = createInteractionHandler(commands, core.ctx, options);
  // Commands still running at shutdown finish (against an open database) before anything closes.
  const running = new Set<Promise<void>>();
  let accepting = true;
  client.on(Events.InteractionCreate, (interaction) => {
    if (!accepting) return;
    const handled = interactions.handle(interaction).finally(() => running.delete(handled));
    running.add(handled);
  });
  client.on(Events.Error, (err) => logger.error({ err }, 'discord client error'));

  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    accepting = false;
    await Promise.allSettled([...running]);
    interactions.close();
    await core.stop(); // the dispatcher may still be posting through the client: close it after
    await client.destroy();
    logger.info('stopped');
  };

  try {
    const ready = new Promise<Client<true>>((resolve) => client.once(Events.ClientReady, resolve));
    await client.login(config.DISCORD_TOKEN).catch((err: unknown) => {
      throw explainDiscordFailure(err, config.DISCORD_API_URL);
    });
    const readyClient = await ready;
    await registerCommands(client.rest, readyClient.application.id, commands, config.DISCORD_GUILD_ID);
    logger.info(
      { user: readyClient.user.tag, guilds: readyClient.guilds.cache.size, scope: config.DISCORD_GUILD_ID ?? 'global' },
      'ready: commands registered',
    );
    core.startBackground(createDiscordNoticeTransport(client.rest, core.ctx.links, readyClient.user.id), { exceptGuildId: SHELL_GUILD_ID });
    return { client: readyClient, database: core.database, syncNow: core.syncNow, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
