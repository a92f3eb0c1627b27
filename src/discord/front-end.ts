import { type ButtonInteraction, type ChatInputCommandInteraction, type InteractionReplyOptions, MessageFlags } from 'discord.js';
import type { FrontEnd } from '../commands/pipeline.js';
import type { Logger } from '../logger.js';
import type { Acknowledgement } from './acknowledge.js';
import type { CommandReply } from './command.js';
import type { PageButtons } from './paging.js';
import { renderSaid } from './render/said.js';
import { isTooLate } from './too-late.js';

/** Labels and addresses are user input: no reply of ours ever pings anyone. */
export const NO_MENTIONS = { parse: [] } as const;

type Answerable = ChatInputCommandInteraction | ButtonInteraction;

/**
 * An interaction as the pipeline's front end: "thinking…" through the acknowledgement, progress
 * as rate-limited edits, the answer as the whole message with `buttons(reply)` under it, and
 * errors privately.
 */
export function createDiscordFrontEnd(
  interaction: Answerable,
  ack: Acknowledgement,
  log: Logger,
  buttons: (reply: CommandReply) => PageButtons,
): FrontEnd {
  const progress = createProgress(interaction, log);
  return {
    defer: () => ack.defer(),
    progress: progress.show,
    async answer(reply) {
      await progress.finish();
      await ack.answer(message(reply, buttons(reply)));
      log.debug('command answered');
    },
    fail: (failure) =>
      failPrivately(
        interaction,
        ack,
        failure.kind === 'refused' ? renderSaid(failure.error.said) : `Something went wrong on our side (ref \`${interaction.id}\`). Please try again.`,
        log,
      ),
    expired: isTooLate,
  };
}

/**
 * Errors are private. A public "thinking…" reply to a command cannot turn private, so it is
 * removed and the error follows up privately; a paged message that a press failed to turn stays.
 */
async function failPrivately(interaction: Answerable, ack: Acknowledgement, content: string, log: Logger): Promise<void> {
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
function createProgress(interaction: Answerable, log: Logger) {
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
