import { type AutocompleteInteraction, type ButtonInteraction, type ChatInputCommandInteraction, type Interaction, MessageFlags } from 'discord.js';
import { type FrontEnd, reportFailure, runCommand } from '../commands/pipeline.js';
import type { Logger } from '../logger.js';
import { type Acknowledgement, createAcknowledgement } from './acknowledge.js';
import type { Command, CommandContext, CommandRequest } from './command.js';
import { createDiscordFrontEnd, NO_MENTIONS } from './front-end.js';
import { createPaging } from './paging.js';
import { isTooLate } from './too-late.js';

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
 * The one place that answers interactions: finds the command or the page a button asks for and
 * hands it to the command pipeline (which defers when it may be slow and reports failures), and
 * pages paged replies with Previous/Next buttons.
 */
export function createInteractionHandler(commands: readonly Command[], ctx: CommandContext, options: InteractionHandlerOptions = {}) {
  const byName = new Map(commands.map((c) => [c.definition.name, c]));
  const { logger } = ctx;
  const paging = createPaging({ idleMs: options.pageIdleMs, logger });
  const acknowledgeAfterMs = options.acknowledgeAfterMs ?? ACKNOWLEDGE_AFTER_MS;
  const commandTimeoutMs = options.commandTimeoutMs ?? COMMAND_TIMEOUT_MS;

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

  const pipeline = { ctx, acknowledgeAfterMs, timeoutMs: commandTimeoutMs };

  async function chatInput(interaction: ChatInputCommandInteraction): Promise<void> {
    const command = byName.get(interaction.commandName);
    const log = logger.child({ command: interaction.commandName, guildId: interaction.guildId, interactionId: interaction.id });
    if (!command || !interaction.inGuild()) {
      const ack = createAcknowledgement(interaction, log);
      const front = createDiscordFrontEnd(interaction, ack, log, () => []);
      if (!command) await reportFailure(new Error(`no handler for /${interaction.commandName}`), front, log);
      else await refuse(ack, 'satbell tracks addresses for a server: use its commands in a server channel.', front, log);
      return;
    }
    const request = commandRequest(interaction);
    const ack = createAcknowledgement(interaction, log, { hidden: command.private?.(request, ctx) ?? false });
    const front = createDiscordFrontEnd(interaction, ack, log, (reply) => paging.open(command, request, interaction, reply));
    await runCommand(command, request, front, { ...pipeline, log });
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
    if (!session) {
      // Expired, or from before a restart: take the dead buttons away and say why.
      const front = createDiscordFrontEnd(interaction, ack, log, () => []);
      await ack
        .answer({ components: [], allowedMentions: NO_MENTIONS })
        .then(() => interaction.followUp({ content: `These buttons have expired: run \`/${commandName}\` again.`, flags: MessageFlags.Ephemeral, allowedMentions: NO_MENTIONS }))
        .catch((err: unknown) => reportFailure(err, front, log));
      return;
    }
    const owner = session.request.userId;
    if (interaction.user.id !== owner) {
      const front = createDiscordFrontEnd(interaction, ack, log, () => []);
      await refuse(ack, `Only <@${owner}> can page this. Run \`/${commandName}\` yourself to browse.`, front, log);
      return;
    }
    const request = {
      ...session.request,
      memberPermissions: interaction.memberPermissions?.bitfield ?? session.request.memberPermissions,
      page: pressed.page,
    };
    const front = createDiscordFrontEnd(interaction, ack, log, (reply) => paging.turned(session, interaction, reply));
    await runCommand(session.command, request, front, { ...pipeline, log });
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

/** The interaction as every front end hands it to a command (the pipeline adds the progress). */
function commandRequest(interaction: ChatInputCommandInteraction<'cached' | 'raw'>): Omit<CommandRequest, 'progress'> {
  const { options } = interaction;
  return {
    guildId: interaction.guildId,
    userId: interaction.user.id,
    memberPermissions: interaction.memberPermissions?.bitfield ?? 0n,
    options: {
      string: (name) => options.getString(name),
      boolean: (name) => options.getBoolean(name),
      integer: (name) => options.getInteger(name),
      channel: (name) => options.getChannel(name)?.id ?? null,
      subcommand: () => options.getSubcommand(false),
    },
    page: 0,
  };
}

/** A refusal before any command runs: the first answer, private. */
async function refuse(ack: Acknowledgement, content: string, front: FrontEnd, log: Logger): Promise<void> {
  await ack.replyPrivately({ content, flags: MessageFlags.Ephemeral, allowedMentions: NO_MENTIONS }).catch((err: unknown) => reportFailure(err, front, log));
}
