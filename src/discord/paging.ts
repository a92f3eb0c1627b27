import { randomBytes } from 'node:crypto';
import {
  type APIActionRowComponent,
  type APIButtonComponentWithCustomId,
  ButtonStyle,
  type ButtonInteraction,
  type ChatInputCommandInteraction,
  ComponentType,
} from 'discord.js';
import type { Logger } from '../logger.js';
import type { Command, CommandReply, CommandRequest } from './command.js';
import { isTooLate } from './too-late.js';

/** How long Previous/Next stay usable after the command or the last press. */
export const DEFAULT_PAGE_IDLE_MS = 5 * 60_000;
/** The expiry edit uses the last interaction's token, which Discord honours for 15 minutes. */
const MAX_PAGE_IDLE_MS = 14 * 60_000;

export type PageButtons = APIActionRowComponent<APIButtonComponentWithCustomId>[];

/** What a paged reply was asked for, remembered so that a press can run the command again. */
interface PageSession {
  id: string;
  command: Command;
  request: Omit<CommandRequest, 'page' | 'progress'>;
  /** The last interaction on the message: its token removes the buttons when they expire. */
  latest: ChatInputCommandInteraction | ButtonInteraction;
  timer?: NodeJS.Timeout;
}

/**
 * Previous/Next buttons on paged replies. A button's custom_id is `page:<command>:<session>:<page>`:
 * the session, kept in memory, holds the command's options (an address alone can be 90 characters,
 * too long to spell out in the 100 a custom_id allows), who asked, and the token to remove the
 * buttons with. Interactions for a server always reach the process that owns it (one process, or
 * its shard), so memory is enough; after a restart a press finds no session and is told the
 * buttons expired. The target page is in the custom_id, so a double click lands on one page.
 */
export function createPaging({ idleMs = DEFAULT_PAGE_IDLE_MS, logger }: { idleMs?: number; logger: Logger }) {
  const sessions = new Map<string, PageSession>();
  const idle = Math.min(idleMs, MAX_PAGE_IDLE_MS);

  function arm(session: PageSession): void {
    clearTimeout(session.timer);
    session.timer = setTimeout(() => {
      sessions.delete(session.id);
      session.latest.editReply({ components: [], allowedMentions: { parse: [] } }).catch((err: unknown) => {
        if (!isTooLate(err)) logger.warn({ err, command: session.command.definition.name }, 'could not remove expired page buttons');
      });
    }, idle);
    session.timer.unref();
  }

  function buttons(session: PageSession, page: { index: number; count: number }): PageButtons {
    const button = (label: string, target: number, disabled: boolean): APIButtonComponentWithCustomId => ({
      type: ComponentType.Button,
      style: ButtonStyle.Secondary,
      label,
      custom_id: `page:${session.command.definition.name}:${session.id}:${target}`,
      disabled,
    });
    return [
      {
        type: ComponentType.ActionRow,
        components: [
          // At either end the disabled button still needs a custom_id of its own: it points at the nearest page.
          button('◀ Previous', Math.max(page.index - 1, 0), page.index === 0),
          button('Next ▶', Math.min(page.index + 1, page.count - 1), page.index >= page.count - 1),
        ],
      },
    ];
  }

  const paged = (reply: CommandReply) => reply.page !== undefined && reply.page.count > 1;

  return {
    /** The buttons for a reply to a typed command; a paged reply opens a session for them. */
    open(command: Command, request: Omit<CommandRequest, 'progress'>, interaction: ChatInputCommandInteraction, reply: CommandReply): PageButtons {
      if (!paged(reply)) return [];
      const { page: _page, ...asked } = request;
      const session: PageSession = { id: randomBytes(6).toString('base64url'), command, request: asked, latest: interaction };
      sessions.set(session.id, session);
      arm(session);
      return buttons(session, reply.page!);
    },

    /**
     * What a press asks for: the page and the session, which is undefined once the buttons
     * expired; null for a custom_id that is not a page button.
     */
    pressed(customId: string): { commandName: string; page: number; session: PageSession | undefined } | null {
      const match = /^page:([^:]{1,32}):([\w-]{1,16}):(\d{1,6})$/.exec(customId);
      if (!match) return null;
      return { commandName: match[1]!, page: Number(match[3]), session: sessions.get(match[2]!) };
    },

    /**
     * The buttons for the page a press led to; from now on its token removes them. None if they
     * expired while the press was being answered: the expiry's edit and this one agree.
     */
    turned(session: PageSession, interaction: ButtonInteraction, reply: CommandReply): PageButtons {
      if (!sessions.has(session.id)) return [];
      if (!paged(reply)) {
        clearTimeout(session.timer);
        sessions.delete(session.id);
        return [];
      }
      session.latest = interaction;
      arm(session);
      return buttons(session, reply.page!);
    },

    /** Forget every session (on shutdown): their buttons answer "expired" after a restart. */
    close(): void {
      for (const session of sessions.values()) clearTimeout(session.timer);
      sessions.clear();
    },
  };
}

