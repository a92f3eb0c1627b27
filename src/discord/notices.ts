import {
  DiscordAPIError,
  HTTPError,
  type REST,
  RESTJSONErrorCodes,
  Routes,
  type RESTGetAPIChannelMessagesResult,
  type RESTPostAPIChannelMessageResult,
} from 'discord.js';
import { DeliveryError, type Notice, type NoticeTransport } from '../sync/notice-port.js';
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

/** How many of a channel's newest messages are searched for a notice whose post may have landed. */
const LOOKUP_LIMIT = 100;

/**
 * The line in a notice's footer that lets the bot recognise its own post later: Discord returns a
 * message's nonce only in the answer to the post, never when the channel is read.
 */
export function noticeMarker(notice: Pick<Notice, 'nonce'>): string {
  return `satbell · ${notice.nonce}`;
}

/** Notices posted and edited through Discord's REST API, as the bot user `botUserId`. */
export function createDiscordNoticeTransport(rest: REST, links: ExplorerLinks, botUserId: string): NoticeTransport {
  const body = (notice: Notice) => ({
    embeds: [{ ...renderNotice(notice, links), footer: { text: noticeMarker(notice) } }],
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
    async findPosted(notice) {
      let recent: RESTGetAPIChannelMessagesResult;
      try {
        recent = (await rest.get(Routes.channelMessages(notice.channelId), {
          query: new URLSearchParams({ limit: String(LOOKUP_LIMIT) }),
        })) as RESTGetAPIChannelMessagesResult;
      } catch (err) {
        const failure = classify(err, notice);
        // A channel the bot may not read can still take its posts: leave the verdict to the
        // post, which carries the nonce.
        if (failure.kind === 'permanent') return null;
        throw failure;
      }
      const marker = noticeMarker(notice);
      const found = recent.find((m) => m.author.id === botUserId && m.embeds.some((e) => e.footer?.text === marker));
      return found?.id ?? null;
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
