import type { ExplorerLinks } from '../discord/render/format.js';
import { renderNotice } from '../discord/render/notice.js';
import type { Notice, NoticeTransport } from '../sync/notice-port.js';
import { renderEmbed } from './render.js';

/**
 * Notices printed where you type, rendered from the very embed the Discord bot posts. The outbox
 * delivers them as it does to Discord, so what prints here is what a channel would show.
 */
export function createTerminalNoticeTransport(print: (text: string) => void, links: ExplorerLinks): NoticeTransport {
  const show = (notice: Notice, what: string) => print(`[notice #${notice.channelId}] ${what}${renderEmbed(renderNotice(notice, links))}`);
  return {
    async post(notice) {
      show(notice, '');
      // The same id for a repeated post of the same notice, as Discord's nonce gives.
      return { messageId: `shell-${notice.id}` };
    },
    async edit(notice) {
      show(notice, 'updated: ');
    },
    // A print cannot land unanswered: a notice never posted has no message to find.
    async findPosted() {
      return null;
    },
  };
}
