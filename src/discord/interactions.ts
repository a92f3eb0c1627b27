import {
  type ChatInputCommandInteraction,
  DiscordAPIError,
  type Interaction,
  type InteractionReplyOptions,
  MessageFlags,
  RESTJSONErrorCodes,
} from 'discord.js';
import { isUserError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { Command, CommandContext, CommandReply, CommandRequest } from './command.js';

/** Labels and addresses are user input: no reply of ours ever pings anyone. */
const NO_MENTIONS = { parse: [] } as const;

/**
 * The one place that answers interactions: finds the command, defers when it may be slow, turns
 * expected failures into private messages and unexpected ones into a reference the logs can find.
 */
export function createInteractionHandler(commands: readonly Command[], ctx: CommandContext) {
  const byName = new Map(commands.map((c) => [c.definition.name, c]));
  const { logger } = ctx;

  return async function handle(interaction: Interaction): Promise<void> {
    if (interaction.isAutocomplete()) {
      const command = byName.get(interaction.commandName);
      try {
        const focused = interaction.options.getFocused(true);
        const request = { guildId: interaction.guildId ?? '', userId: interaction.user.id, focused: { name: focused.name, value: String(focused.value) } };
        const choices = (interaction.guildId && (await command?.autocomplete?.(request, ctx))) || [];
        await interaction.respond(choices.slice(0, 25));
      } catch (err) {
        if (!isTooLate(err)) logger.warn({ err, command: interaction.commandName }, 'autocomplete failed');
      }
      return;
    }
    if (!interaction.isChatInputCommand()) return;
    const command = byName.get(interaction.commandName);
    const log = logger.child({ command: interaction.commandName, guildId: interaction.guildId, interactionId: interaction.id });
    try {
      if (!command) throw new Error(`no handler for /${interaction.commandName}`);
      if (!interaction.inGuild()) {
        await interaction.reply({ content: 'satbell tracks addresses for a server: use its commands in a server channel.', flags: MessageFlags.Ephemeral });
        return;
      }
      const progress = createProgress(interaction, log);
      const request = commandRequest(interaction, progress.show);
      command.check?.(request, ctx);
      if (command.defer) await interaction.deferReply();
      const reply = await command.execute(request, ctx);
      await progress.finish();
      await send(interaction, reply);
      log.debug('command answered');
    } catch (err) {
      if (isTooLate(err)) {
        log.warn('interaction expired before we could answer');
        return;
      }
      if (isUserError(err)) log.info({ code: err.code }, 'command refused');
      else log.error({ err }, 'command failed');
      const content = isUserError(err) ? err.message : `Something went wrong on our side (ref \`${interaction.id}\`). Please try again.`;
      await sendError(interaction, content).catch((sendErr: unknown) => {
        if (!isTooLate(sendErr)) log.error({ err: sendErr }, 'could not report the error to the user');
      });
    }
  };
}

/** The interaction as every front end hands it to a command. */
function commandRequest(
  interaction: ChatInputCommandInteraction<'cached' | 'raw'>,
  progress: CommandRequest['progress'],
): CommandRequest {
  const { options } = interaction;
  return {
    guildId: interaction.guildId,
    userId: interaction.user.id,
    memberPermissions: interaction.memberPermissions?.bitfield ?? 0n,
    options: {
      string: (name) => options.getString(name),
      boolean: (name) => options.getBoolean(name),
      channel: (name) => options.getChannel(name)?.id ?? null,
      subcommand: () => options.getSubcommand(false),
    },
    page: 0,
    progress,
  };
}

/** How often a long command may edit its deferred reply with progress: Discord rate-limits edits. */
const PROGRESS_EVERY_MS = 1_500;

/**
 * Progress edits of a deferred reply, at most one per PROGRESS_EVERY_MS and strictly in order, so
 * the final answer (sent after finish()) can never be overwritten by a late progress edit.
 */
function createProgress(interaction: ChatInputCommandInteraction, log: Logger) {
  let chain = Promise.resolve();
  let lastAt = -Infinity;
  let finished = false;
  return {
    show(reply: CommandReply) {
      if (finished || !interaction.deferred || Date.now() - lastAt < PROGRESS_EVERY_MS) return;
      lastAt = Date.now();
      chain = chain
        .then(() => interaction.editReply({ ...reply, allowedMentions: NO_MENTIONS }))
        .then(
          () => {},
          (err: unknown) => log.debug({ err }, 'progress edit failed'),
        );
    },
    async finish() {
      finished = true;
      await chain;
    },
  };
}

async function send(interaction: ChatInputCommandInteraction, reply: CommandReply): Promise<void> {
  if (interaction.deferred || interaction.replied) await interaction.editReply({ ...reply, allowedMentions: NO_MENTIONS });
  else await interaction.reply({ ...reply, allowedMentions: NO_MENTIONS });
}

/**
 * Errors are private. A public "thinking…" reply cannot turn private, so it is removed and the
 * error follows up privately.
 */
async function sendError(interaction: ChatInputCommandInteraction, content: string): Promise<void> {
  const message: InteractionReplyOptions = { content, flags: MessageFlags.Ephemeral, allowedMentions: NO_MENTIONS };
  if (interaction.deferred || interaction.replied) {
    await interaction.deleteReply().catch((err: unknown) => {
      if (!isTooLate(err)) throw err;
    });
    await interaction.followUp(message);
  } else {
    await interaction.reply(message);
  }
}

/** Discord's "too late" answers: the interaction or its message is gone, and nobody is waiting. */
export function isTooLate(err: unknown): boolean {
  return (
    err instanceof DiscordAPIError &&
    (err.code === RESTJSONErrorCodes.UnknownInteraction || err.code === RESTJSONErrorCodes.UnknownMessage)
  );
}
