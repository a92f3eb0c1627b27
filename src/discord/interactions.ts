import {
  type AutocompleteInteraction,
  type ButtonInteraction,
  type ChatInputCommandInteraction,
  type Interaction,
  type InteractionReplyOptions,
  MessageFlags,
} from 'discord.js';
import { isUserError, UserError } from '../errors.js';
import type { Logger } from '../logger.js';
import { type Acknowledgement, createAcknowledgement } from './acknowledge.js';
import type { Command, CommandContext, CommandReply, CommandRequest } from './command.js';
import { createPaging, type PageButtons } from './paging.js';
import { isTooLate } from './too-late.js';

/** Labels and addresses are user input: no reply of ours ever pings anyone. */
const NO_MENTIONS = { parse: [] } as const;

export interface InteractionHandlerOptions {
  /** How long Previous/Next stay usable after the command or the last press; default 5 minutes. */
  pageIdleMs?: number;
  /**
   * How long a command may work before its first answer is "thinking…" (Discord allows 3 s from
   * the interaction's creation, network included); default 1.5 s.
   */
  acknowledgeAfterMs?: number;
  /** How long a command may run before the user is told it is not finishing; default 60 s. */
  commandTimeoutMs?: number;
}

const ACKNOWLEDGE_AFTER_MS = 1_500;
const COMMAND_TIMEOUT_MS = 60_000;
/** Autocomplete gets no second chance: an empty list before Discord's 3 s beats none at all. */
const AUTOCOMPLETE_WITHIN_MS = 2_000;

/**
 * The one place that answers interactions: finds the command, defers when it may be slow, turns
 * expected failures into private messages and unexpected ones into a reference the logs can find,
 * and pages paged replies with Previous/Next buttons.
 */
export function createInteractionHandler(commands: readonly Command[], ctx: CommandContext, options: InteractionHandlerOptions = {}) {
  const byName = new Map(commands.map((c) => [c.definition.name, c]));
  const { logger } = ctx;
  const paging = createPaging({ idleMs: options.pageIdleMs, logger });
  const acknowledgeAfterMs = options.acknowledgeAfterMs ?? ACKNOWLEDGE_AFTER_MS;
  const commandTimeoutMs = options.commandTimeoutMs ?? COMMAND_TIMEOUT_MS;

  /**
   * Run a command so that Discord hears from us in time whatever the database does: whatever has
   * not answered after `acknowledgeAfterMs` (the checks included) is deferred, publicly, and
   * answers into "thinking…" later. A run that does not end within `commandTimeoutMs` is given up
   * on with a message saying what is known; it goes on in the background and is logged.
   */
  async function run(command: Command, request: CommandRequest, ack: Acknowledgement, log: Logger): Promise<CommandReply> {
    const timer = setTimeout(() => void ack.defer().catch(() => {}), acknowledgeAfterMs);
    let timeout: NodeJS.Timeout | undefined;
    const work = (async () => {
      await command.check?.(request, ctx);
      if (command.defer) await ack.defer();
      return command.execute(request, ctx);
    })();
    const givenUp = new Promise<never>((_, reject) => {
      timeout = setTimeout(() => reject(createTimeoutError(command)), commandTimeoutMs);
    });
    try {
      return await Promise.race([work, givenUp]);
    } catch (err) {
      if (err instanceof TimeoutError) {
        log.warn({ timeoutMs: commandTimeoutMs }, 'gave up on a command that did not finish');
        work.then(
          () => log.warn('a command given up on finished after all'),
          (lateErr: unknown) => log.warn({ err: lateErr }, 'a command given up on failed after all'),
        );
      }
      throw err;
    } finally {
      clearTimeout(timer);
      clearTimeout(timeout);
    }
  }

  async function autocomplete(interaction: AutocompleteInteraction): Promise<void> {
    const command = byName.get(interaction.commandName);
    try {
      const focused = interaction.options.getFocused(true);
      const request = { guildId: interaction.guildId ?? '', userId: interaction.user.id, focused: { name: focused.name, value: String(focused.value) } };
      const found = (async () => (interaction.guildId && (await command?.autocomplete?.(request, ctx))) || [])().catch((err: unknown) => {
        logger.warn({ err, command: interaction.commandName }, 'autocomplete failed');
        return [];
      });
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<[]>((resolve) => (timer = setTimeout(() => resolve([]), AUTOCOMPLETE_WITHIN_MS)));
      const choices = await Promise.race([found, late]).finally(() => clearTimeout(timer));
      await interaction.respond(choices.slice(0, 25));
    } catch (err) {
      if (!isTooLate(err)) logger.warn({ err, command: interaction.commandName }, 'autocomplete failed');
    }
  }

  async function chatInput(interaction: ChatInputCommandInteraction): Promise<void> {
    const command = byName.get(interaction.commandName);
    const log = logger.child({ command: interaction.commandName, guildId: interaction.guildId, interactionId: interaction.id });
    const ack = createAcknowledgement(interaction, log);
    try {
      if (!command) throw new Error(`no handler for /${interaction.commandName}`);
      if (!interaction.inGuild()) {
        await ack.replyPrivately({ content: 'satbell tracks addresses for a server: use its commands in a server channel.', flags: MessageFlags.Ephemeral, allowedMentions: NO_MENTIONS });
        return;
      }
      const progress = createProgress(interaction, log);
      const request = commandRequest(interaction, progress.show);
      const reply = await run(command, request, ack, log);
      await progress.finish();
      await ack.answer(message(reply, paging.open(command, request, interaction, reply)));
      log.debug('command answered');
    } catch (err) {
      await fail(interaction, ack, err, log);
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
    const ack = createAcknowledgement(interaction, log);
    try {
      if (!session) {
        // Expired, or from before a restart: take the dead buttons away and say why.
        await ack.answer({ components: [], allowedMentions: NO_MENTIONS });
        await interaction.followUp({ content: `These buttons have expired: run \`/${commandName}\` again.`, flags: MessageFlags.Ephemeral, allowedMentions: NO_MENTIONS });
        return;
      }
      const owner = session.request.userId;
      if (interaction.user.id !== owner) {
        await ack.replyPrivately({ content: `Only <@${owner}> can page this. Run \`/${commandName}\` yourself to browse.`, flags: MessageFlags.Ephemeral, allowedMentions: NO_MENTIONS });
        return;
      }
      const progress = createProgress(interaction, log);
      const request: CommandRequest = {
        ...session.request,
        memberPermissions: interaction.memberPermissions?.bitfield ?? session.request.memberPermissions,
        page: pressed.page,
        progress: progress.show,
      };
      const reply = await run(session.command, request, ack, log);
      await progress.finish();
      await ack.answer(message(reply, paging.turned(session, interaction, reply)));
      log.debug('page turned');
    } catch (err) {
      await fail(interaction, ack, err, log);
    }
  }

  /**
   * Errors are private. A public "thinking…" reply to a command cannot turn private, so it is
   * removed and the error follows up privately; a paged message that a press failed to turn stays.
   */
  async function fail(interaction: ChatInputCommandInteraction | ButtonInteraction, ack: Acknowledgement, err: unknown, log: Logger): Promise<void> {
    if (isTooLate(err)) {
      log.warn('interaction expired before we could answer');
      return;
    }
    if (isUserError(err)) log.info({ code: err.code }, 'command refused');
    else log.error({ err }, 'command failed');
    const content = isUserError(err) ? err.message : `Something went wrong on our side (ref \`${interaction.id}\`). Please try again.`;
    const privately: InteractionReplyOptions = { content, flags: MessageFlags.Ephemeral, allowedMentions: NO_MENTIONS };
    try {
      await ack.settled();
      if (!interaction.deferred && !interaction.replied) {
        await ack.replyPrivately(privately);
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

/** A run given up on after `commandTimeoutMs`. */
class TimeoutError extends UserError {}

/**
 * What the user is told when a command does not finish: a command that only reads has nothing to
 * undo, so it is not told so; one that may change stored data may or may not have, and
 * `verifyWith` shows which.
 */
function createTimeoutError(command: Command): TimeoutError {
  const name = `\`/${command.definition.name}\``;
  const why = 'the database or the Bitcoin data service is not answering right now';
  return new TimeoutError(
    'unavailable',
    command.verifyWith
      ? `${name} did not finish: ${why}, so whether it went through is unknown. In a minute, check with \`${command.verifyWith}\` before trying again.`
      : `${name} did not finish: ${why}. Try again in a minute.`,
  );
}
