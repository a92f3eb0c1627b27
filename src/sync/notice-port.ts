/**
 * The notice port: what the notice dispatcher (src/sync/notice-dispatcher.ts) hands a front end to deliver,
 * and what a delivery can fail with. Discord (src/discord/notices.ts) and the terminal shell
 * (src/shell/notices.ts) implement it without importing the dispatcher.
 */
import type { NoticePayload } from '../db/schema.js';

export interface Notice {
  id: bigint;
  guildId: string;
  channelId: string;
  kind: 'tx' | 'burst';
  txid: string | null;
  nonce: string;
  payload: NoticePayload;
  version: number;
  messageId: string | null;
}

/** Where notices go. The Discord implementation lives with the Discord glue. */
export interface NoticeTransport {
  /** Post a new message carrying `notice.nonce`; a repeat of the same nonce must not show twice. */
  post(notice: Notice): Promise<{ messageId: string }>;
  /** Make an existing message say what the notice says now. Safe to repeat. */
  edit(notice: Notice & { messageId: string }): Promise<void>;
  /**
   * The message an earlier post of this notice created, if the channel shows one: that post may
   * have landed with its answer lost. Null when there is none, or when the channel cannot be read.
   */
  findPosted(notice: Notice): Promise<string | null>;
}

/** A delivery that failed. Permanent ones (channel gone, no permission) are never retried. */
export class DeliveryError extends Error {
  override readonly name = 'DeliveryError';
  constructor(
    message: string,
    readonly kind: 'transient' | 'permanent' | 'message_gone',
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
