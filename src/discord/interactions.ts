import {
  type AutocompleteInteraction,
  type ButtonInteraction,
  type ChatInputCommandInteraction,
  type Interaction,
  type InteractionReplyOptions,
  MessageFlags,
} from 'discord.js';
import { isUserError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { Command, CommandContext, CommandReply, CommandRequest } from './command.js';
import { createPaging, type PageButtons } from './paging.js';
import { isTooLate } from './too-late.js';

/** Labels and addresses are user input: no reply of ours ever pings anyone. */
const NO_MENTIONS = { parse: [] } as const;

export interface InteractionHandlerOptions {
  /** How long Previous/Next stay usable after the command or the last press; default 5 minutes. */
  pageIdleMs?: number;
}

/**
 * The one place that answers interactions: finds the command, defers when it may be slow, turns
 * expected failures into private messages and unexpected ones into a reference the logs can find,
 * and pages paged replies with Previous/Next buttons.
 */
export function createInteractionHandler(commands: readonly Command[], ctx: CommandContext, options: InteractionHandlerOptions = {}) {
  const byName = new Map(commands.map((c) => [c.definition.name, c]));
  const { logger } = ctx;
  const paging = createPaging({ idleMs: options.pageIdleMs, logger });

  async function autocomplete(interaction: AutocompleteInteraction): Promise<void> {
    const command = byName.get(interaction.commandName);
    try {
      const focused = interaction.options.getFocused(true);
      const request = { guildId: interaction.guildId ?? '', userId: interaction.user.id, focused: { name: focused.name, value: String(focused.value) } };
      const choices = (interaction.guildId && (await command?.autocomplete?.(request, ctx))) || [];
      await interaction.respond(choices.slice(0, 25));
    } catch (err) {
      if (!isTooLate(err)) logger.warn({ err, command: interaction.commandName }, 'autocomplete failed');
    }
  }

  async function chatInput(interaction: ChatInputCommandInteraction): Promise<void> {
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
      await command.check?.(request, ctx);
      if (command.defer) await interaction.deferReply();
      const reply = await command.execute(request, ctx);
      await progress.finish();
      const body = message(reply, paging.open(command, request, interaction, reply));
      if (interaction.deferred || interaction.replied) await interaction.editReply(body);
      else await interaction.reply(body);
      log.debug('command answered');
    } catch (err) {
      await fail(interaction, err, log);
    }
  }

  /** Previous/Next: the same command again, for another page, shown in place of the old one. */
  async function button(interaction: ButtonInteraction): Promise<void> {
    const pressed = paging.pressed(interaction.customId);
    if (!pressed) {
      logger.warn({ customId: interaction.customId }, 'a button that is not ours was pressed');
      return;
    }
    const { session, commandName } = pressed;
    const log = logger.child({ command: commandName, guildId: interaction.guildId, interactionId: interaction.id, page: pressed.page });
    try {
      if (!session) {
        // Expired, or from before a restart: take the dead buttons away and say why.
        await interaction.update({ components: [] });
        await interaction.followUp({ content: `These buttons have expired: run \`/${commandName}\` again.`, flags: MessageFlags.Ephemeral, allowedMentions: NO_MENTIONS });
        return;
      }
      const owner = session.request.userId;
      if (interaction.user.id !== owner) {
        await interaction.reply({ content: `Only <@${owner}> can page this. Run \`/${commandName}\` yourself to browse.`, flags: MessageFlags.Ephemeral, allowedMentions: NO_MENTIONS });
        return;
      }
      const progress = createProgress(interaction, log);
      const request: CommandRequest = {
        ...session.request,
        memberPermissions: interaction.memberPermissions?.bitfield ?? session.request.memberPermissions,
        page: pressed.page,
        progress: progress.show,
      };
      await session.command.check?.(request, ctx);
      if (session.command.defer) await interaction.deferUpdate();
      const reply = await session.command.execute(request, ctx);
      await progress.finish();
      const body = message(reply, paging.turned(session, interaction, reply));
      if (interaction.deferred) await interaction.editReply(body);
      else await interaction.update(body);
      log.debug('page turned');
    } catch (err) {
      await fail(interaction, err, log);
    }
  }

  /**
   * Errors are private. A public "thinking…" reply to a command cannot turn private, so it is
   * removed and the error follows up privately; a paged message that a press failed to turn stays.
   */
  async function fail(interaction: ChatInputCommandInteraction | ButtonInteraction, err: unknown, log: Logger): Promise<void> {
    if (isTooLate(err)) {
      log.warn('interaction expired before we could answer');
      return;
    }
    if (isUserError(err)) log.info({ code: err.code }, 'command refused');
    else log.error({ err }, 'command failed');
    const content = isUserError(err) ? err.message : `Something went wrong on our side (ref \`${interaction.id}\`). Please try again.`;
    const privately: InteractionReplyOptions = { content, flags: MessageFlags.Ephemeral, allowedMentions: NO_MENTIONS };
    try {
      if (!interaction.deferred && !interaction.replied) {
        await interaction.reply(privately);
        return;
      }
      if (interaction.isChatInputCommand()) {
        await interaction.deleteReply().catch((deleteErr: unknown) => {
          if (!isTooLate(deleteErr)) throw deleteErr;
        });
      }
      await interaction.followUp(privately);
    } catch (sendErr) {
      if (!isTooLate(sendErr)) log.error({ err: sendErr }, 'could not report the error to the user');
    }
  }

  return {
    async handle(interaction: Interaction): Promise<void> {
      if (interaction.isAutocomplete()) await autocomplete(interaction);
      else if (interaction.isChatInputCommand()) await chatInput(interaction);
      else if (interaction.isButton()) await button(interaction);
    },
    /** Stop the page buttons' expiry timers (on shutdown). */
    close: () => paging.close(),
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

/** A reply as a whole message: an edit replaces everything, so nothing of the previous version lingers. */
function message(reply: CommandReply, components: PageButtons = []) {
  return { content: reply.content ?? '', embeds: reply.embeds ?? [], components, allowedMentions: NO_MENTIONS };
}

/** How often a long command may edit its deferred reply with progress: Discord rate-limits edits. */
const PROGRESS_EVERY_MS = 1_500;

/**
 * Progress edits of a deferred reply, at most one per PROGRESS_EVERY_MS and strictly in order, so
 * the final answer (sent after finish()) can never be overwritten by a late progress edit.
 */
function createProgress(interaction: ChatInputCommandInteraction | ButtonInteraction, log: Logger) {
  let chain = Promise.resolve();
  let lastAt = -Infinity;
  let finished = false;
  return {
    show(reply: CommandReply) {
      if (finished || !interaction.deferred || Date.now() - lastAt < PROGRESS_EVERY_MS) return;
      lastAt = Date.now();
      chain = chain
        .then(() => interaction.editReply(message(reply)))
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
