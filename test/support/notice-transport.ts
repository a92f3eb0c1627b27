import type { NoticePayload } from '../../src/db/schema.js';
import { DeliveryError, type Notice, type NoticeTransport } from '../../src/sync/notice-port.js';

/** One message as a channel shows it. */
export interface ShownMessage {
  id: string;
  channelId: string;
  nonce: string;
  payload: NoticePayload;
  version: number;
  edits: number;
}

/**
 * The channels notices end up in, as Discord keeps them: a post whose nonce is already known gives
 * back the message it created (`enforce_nonce`) instead of showing a second one, until
 * `forgetNonces()` says Discord's window has passed; an edit of a message that is not there fails
 * with 'message_gone'. Several transports (processes) may share one.
 */
export class NoticeChannels {
  readonly messages = new Map<string, ShownMessage>();
  private readonly byNonce = new Map<string, string>();
  private next = 1;

  post(notice: Notice): string {
    const known = this.byNonce.get(notice.nonce);
    if (known) return known;
    const id = `9${String(this.next++).padStart(17, '0')}`;
    this.messages.set(id, {
      id,
      channelId: notice.channelId,
      nonce: notice.nonce,
      payload: structuredClone(notice.payload),
      version: notice.version,
      edits: 0,
    });
    this.byNonce.set(notice.nonce, id);
    return id;
  }

  edit(notice: Notice & { messageId: string }): void {
    const shown = this.messages.get(notice.messageId);
    if (!shown) throw new DeliveryError('Unknown Message', 'message_gone');
    shown.payload = structuredClone(notice.payload);
    shown.version = notice.version;
    shown.edits++;
  }

  /** The message a channel shows for this notice's nonce, as the Discord transport recognises its marker. */
  find(notice: Notice): string | null {
    return this.inChannel(notice.channelId).find((m) => m.nonce === notice.nonce)?.id ?? null;
  }

  /** Discord's few minutes of nonce dedupe have passed: a repeated post now shows a second message. */
  forgetNonces(): void {
    this.byNonce.clear();
  }

  /** someone deleted the message in Discord */
  delete(messageId: string): void {
    this.messages.delete(messageId);
  }

  inChannel(channelId: string): ShownMessage[] {
    return [...this.messages.values()].filter((m) => m.channelId === channelId);
  }
}

export interface NoticeCall {
  op: 'post' | 'edit';
  noticeId: bigint;
  guildId: string;
  channelId: string;
  nonce: string;
  version: number;
  /** edit: the message edited; post: the message posted (null when the call failed) */
  messageId: string | null;
  payload: NoticePayload;
  /** what the call threw, if anything */
  error?: unknown;
}

type Hook = (op: 'post' | 'edit', notice: Notice) => void | Promise<void>;

/**
 * A NoticeTransport that records every call, in order, and delivers into `channels`. `before` runs
 * before the call reaches the channel and `after` once it did; either may throw (a failed call) or
 * wait (a slow or hung one).
 */
export class RecordingTransport implements NoticeTransport {
  readonly calls: NoticeCall[] = [];
  before: Hook | undefined;
  after: Hook | undefined;

  constructor(readonly channels = new NoticeChannels()) {}

  get posts(): NoticeCall[] {
    return this.calls.filter((c) => c.op === 'post');
  }
  get edits(): NoticeCall[] {
    return this.calls.filter((c) => c.op === 'edit');
  }
  /** Looks for an earlier post (findPosted), apart from `calls`: what each found, or the error. */
  readonly finds: { noticeId: bigint; found: string | null; error?: unknown }[] = [];
  /** runs before a look-up; may throw (the channel could not be read) */
  beforeFind: ((notice: Notice) => void | Promise<void>) | undefined;

  async post(notice: Notice): Promise<{ messageId: string }> {
    const call = this.record('post', notice, null);
    try {
      await this.before?.('post', notice);
      call.messageId = this.channels.post(notice);
      await this.after?.('post', notice);
      return { messageId: call.messageId };
    } catch (err) {
      call.error = err;
      throw err;
    }
  }

  async edit(notice: Notice & { messageId: string }): Promise<void> {
    const call = this.record('edit', notice, notice.messageId);
    try {
      await this.before?.('edit', notice);
      this.channels.edit(notice);
      await this.after?.('edit', notice);
    } catch (err) {
      call.error = err;
      throw err;
    }
  }

  async findPosted(notice: Notice): Promise<string | null> {
    const find: (typeof this.finds)[number] = { noticeId: notice.id, found: null };
    this.finds.push(find);
    try {
      await this.beforeFind?.(notice);
      find.found = this.channels.find(notice);
      return find.found;
    } catch (err) {
      find.error = err;
      throw err;
    }
  }

  private record(op: 'post' | 'edit', notice: Notice, messageId: string | null): NoticeCall {
    const call: NoticeCall = {
      op,
      noticeId: notice.id,
      guildId: notice.guildId,
      channelId: notice.channelId,
      nonce: notice.nonce,
      version: notice.version,
      messageId,
      payload: structuredClone(notice.payload),
    };
    this.calls.push(call);
    return call;
  }
}

/** A promise with its resolve, for holding a call until the test lets it go. */
export function gate(): { promise: Promise<void>; open(): void } {
  let open!: () => void;
  const promise = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { promise, open };
}
