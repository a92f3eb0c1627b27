import {
  type ButtonInteraction,
  type ChatInputCommandInteraction,
  DiscordAPIError,
  HTTPError,
  type InteractionEditReplyOptions,
  type InteractionReplyOptions,
  type InteractionUpdateOptions,
  MessageFlags,
  RESTJSONErrorCodes,
} from 'discord.js';
import type { Logger } from '../logger.js';

/**
 * The first answer to an interaction (its callback), sent exactly once and never lost:
 *
 * - `defer()` shows "thinking…" (for a button: acknowledges the press); calls after the first share it.
 *   With `hidden`, the reply is ephemeral: only the member who typed the command sees it.
 * - `answer(body)` edits that reply if it was deferred, else is the first answer itself.
 * - When Discord took a callback but its response was lost (a 5xx after commit, a dropped
 *   connection), @discordjs/rest sends it again and gets 40060 "already acknowledged": the
 *   callback went through, so the interaction is marked answered and the next step edits
 *   @original through the interaction's webhook. A callback that got no HTTP answer at all is
 *   sent once more, for the same verdict.
 */
export function createAcknowledgement(interaction: ChatInputCommandInteraction | ButtonInteraction, log: Logger, { hidden = false }: { hidden?: boolean } = {}) {
  let deferring: Promise<void> | undefined;
  /** a reply only its member sees: the "thinking…" and the first answer say so (edits keep it) */
  const flags = hidden ? { flags: MessageFlags.Ephemeral as const } : {};

  async function first(send: () => Promise<unknown>, committed: () => void): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        await send();
        return;
      } catch (err) {
        if (isAlreadyAcknowledged(err)) {
          log.warn('the response to an interaction callback was lost, but Discord had taken it');
          committed();
          return;
        }
        if (attempt >= 2 || !isLostResponse(err)) throw err;
        log.warn({ err }, 'no response to an interaction callback: sending it again');
      }
    }
  }

  return {
    defer(): Promise<void> {
      deferring ??= first(
        () => (interaction.isButton() ? interaction.deferUpdate() : interaction.deferReply(flags)),
        () => {
          interaction.deferred = true;
        },
      );
      return deferring;
    },

    /** The command's answer: an edit of "thinking…", or the first answer (a button's: the updated message). */
    async answer(body: InteractionEditReplyOptions & InteractionUpdateOptions & InteractionReplyOptions): Promise<void> {
      if (deferring) await deferring;
      if (interaction.deferred || interaction.replied) {
        await interaction.editReply(body);
        return;
      }
      await first(
        () => (interaction.isButton() ? interaction.update(body) : interaction.reply({ ...body, ...flags })),
        () => {
          interaction.replied = true;
        },
      );
    },

    /** A first answer that is private (an error, a refusal); after one, use followUp. */
    replyPrivately(body: InteractionReplyOptions): Promise<void> {
      return first(
        () => interaction.reply(body),
        () => {
          interaction.replied = true;
        },
      );
    },

    /** Wait for a deferral in flight to end, however it ends, so that `deferred` tells the truth. */
    async settled(): Promise<void> {
      await deferring?.catch(() => {});
    },
  };
}

export type Acknowledgement = ReturnType<typeof createAcknowledgement>;

/** 40060: this interaction was answered already, i.e. by an earlier attempt of our own callback. */
function isAlreadyAcknowledged(err: unknown): boolean {
  return err instanceof DiscordAPIError && err.code === RESTJSONErrorCodes.InteractionHasAlreadyBeenAcknowledged;
}

/** No HTTP answer was read: a 5xx after the retries, a timeout, or a connection that dropped. */
function isLostResponse(err: unknown): boolean {
  if (err instanceof HTTPError) return true;
  if (!(err instanceof Error) || err instanceof DiscordAPIError) return false;
  const code = String((err as { code?: unknown }).code ?? '');
  return err.name === 'AbortError' || code.startsWith('UND_ERR') || /^E[A-Z]+$/.test(code);
}
