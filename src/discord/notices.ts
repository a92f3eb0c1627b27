import { DiscordAPIError, HTTPError, type REST, RESTJSONErrorCodes, Routes, type RESTPostAPIChannelMessageResult } from 'discord.js';
import { DeliveryError, type Notice, type NoticeTransport } from '../sync/outbox.js';
import type { ExplorerLinks } from './render/format.js';
import { renderNotice } from './render/notice.js';

/** Failures no retry can fix: the channel is gone or the bot may not post there. */
const PERMANENT = new Set<number>([
  RESTJSONErrorCodes.UnknownChannel,
  RESTJSONErrorCodes.MissingAccess,
  RESTJSONErrorCodes.MissingPermissions,
  RESTJSONErrorCodes.CannotSendMessagesInNonTextChannel,
  // The request itself is wrong (say, a channel id that is no Discord id, from a shell sharing the
  // database): sending it again cannot help.
  RESTJSONErrorCodes.InvalidFormBodyOrContentType,
]);

/** Notices posted and edited through Discord's REST API. */
export function createDiscordNoticeTransport(rest: REST, links: ExplorerLinks): NoticeTransport {
  const body = (notice: Notice) => ({
    embeds: [renderNotice(notice, links)],
    // Labels are user input: a notice never pings anyone.
    allowed_mentions: { parse: [] },
  });
  return {
    async post(notice) {
      try {
        const message = (await rest.post(Routes.channelMessages(notice.channelId), {
          // The stored nonce with enforce_nonce: a re-post after a crash returns the first message.
          body: { ...body(notice), nonce: notice.nonce, enforce_nonce: true },
        })) as RESTPostAPIChannelMessageResult;
        return { messageId: message.id };
      } catch (err) {
        throw classify(err, notice);
      }
    },
    async edit(notice) {
      try {
        await rest.patch(Routes.channelMessage(notice.channelId, notice.messageId), { body: body(notice) });
      } catch (err) {
        throw classify(err, notice);
      }
    },
  };
}

function classify(err: unknown, notice: Notice): DeliveryError {
  if (err instanceof DiscordAPIError) {
    const code = Number(err.code);
    if (PERMANENT.has(code)) {
      return new DeliveryError(`cannot post in <#${notice.channelId}>: ${err.message} (Discord error ${code})`, 'permanent', { cause: err });
    }
    if (code === RESTJSONErrorCodes.UnknownMessage) return new DeliveryError(err.message, 'message_gone', { cause: err });
    return new DeliveryError(`Discord answered ${err.status}: ${err.message}`, 'transient', { cause: err });
  }
  if (err instanceof HTTPError) return new DeliveryError(`Discord answered ${err.status}`, 'transient', { cause: err });
  return new DeliveryError(`could not reach Discord: ${(err as Error)?.message ?? err}`, 'transient', { cause: err });
}
