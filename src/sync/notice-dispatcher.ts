import { and, count, eq, inArray, isNull, lt, sql } from 'drizzle-orm';
import type { Logger } from 'pino';
import type { Database } from '../db/client.js';
import { retryTransient } from '../db/retry.js';
import { notices } from '../db/schema.js';
import { DeliveryError, type Notice, type NoticeTransport } from './notice-port.js';
import type { NoticeSignal } from './notice-signal.js';
import { createSettingsService } from './settings.js';

export interface DispatcherOptions {
  db: Database;
  transport: NoticeTransport;
  logger: Logger;
  /** how long a claimed notice is left to its claimer; after that another dispatcher may retry it */
  claimMs?: number;
  /** how often to look for due notices when nobody pokes */
  pollMs?: number;
  batchSize?: number;
  /** backoff after the n-th failed attempt */
  backoffMs?: (attempt: number) => number;
  /**
   * Deliver only this server's notices. The terminal shell sets it: on a database a Discord bot
   * also uses, the other servers' notices are the bot's to post.
   */
  guildId?: string;
  /** Deliver every server's notices but this one's: the Discord bot leaves the shell's alone. */
  exceptGuildId?: string;
  /** told when notices were written: a started dispatcher looks at once (see poke) */
  wakeOn?: NoticeSignal;
}

const defaultBackoff = (attempt: number) => {
  const base = Math.min(300_000, 2_000 * 2 ** Math.min(attempt - 1, 10));
  return Math.round(base / 2 + Math.random() * (base / 2));
};

/**
 * Delivers the outbox: posts new notices, edits changed ones, retries failures with backoff and
 * records permanent ones. Several dispatchers (processes) may share one table: each claims rows
 * for a short lease instead of holding a transaction open across a Discord call.
 */
export function createNoticeDispatcher({
  db,
  transport,
  logger,
  claimMs = 10_000,
  pollMs = 1_000,
  batchSize = 10,
  backoffMs = defaultBackoff,
  guildId,
  exceptGuildId,
  wakeOn,
}: DispatcherOptions) {
  const settings = createSettingsService({ db });
  let running = false;
  /** deliverDue may also be called without start(), e.g. by tests; only a started loop stops early */
  let started = false;
  let loop: Promise<void> | undefined;
  let wake: (() => void) | undefined;
  let poked = false;
  let stopListening: (() => void) | undefined;

  /** Claim due notices: not failed, not up to date, not claimed by a live dispatcher. */
  async function claim(): Promise<(Notice & { attempts: number })[]> {
    const due = sql`select ${notices.id} from ${notices}
      where ${notices.failedAt} is null and ${notices.deliveredVersion} < ${notices.version}
        and ${notices.nextAttemptAt} <= now() and (${notices.claimedUntil} is null or ${notices.claimedUntil} < now())
        ${guildId === undefined ? sql`` : sql`and ${notices.guildId} = ${guildId}`}
        ${exceptGuildId === undefined ? sql`` : sql`and ${notices.guildId} <> ${exceptGuildId}`}
      order by ${notices.id} limit ${batchSize} for update skip locked`;
    return db
      .update(notices)
      .set({ claimedUntil: sql`now() + ${claimMs} * interval '1 millisecond'`, attempts: sql`${notices.attempts} + 1` })
      .where(sql`${notices.id} in (${due})`)
      .returning({
        id: notices.id,
        guildId: notices.guildId,
        channelId: notices.channelId,
        kind: notices.kind,
        txid: notices.txid,
        nonce: notices.nonce,
        payload: notices.payload,
        version: notices.version,
        messageId: notices.messageId,
        attempts: notices.attempts,
      })
      .then((rows) => rows.sort((a, b) => (a.id < b.id ? -1 : 1)));
  }

  async function deliver(notice: Notice & { attempts: number }): Promise<void> {
    const log = logger.child({ noticeId: String(notice.id), guildId: notice.guildId, channelId: notice.channelId });
    try {
      let messageId = notice.messageId;
      if (!messageId && notice.attempts > 1) {
        // Attempted before and no message recorded: that post may have landed with its answer lost.
        // Discord remembers a nonce for a few minutes only, and a retry after a longer outage would
        // show a second message. Look in the channel first, and edit what is there.
        messageId = await transport.findPosted(notice);
        if (messageId) {
          await db.update(notices).set({ messageId }).where(eq(notices.id, notice.id));
          log.info({ messageId }, 'found the notice posted by an earlier attempt; editing it');
        }
      }
      if (messageId) await transport.edit({ ...notice, messageId });
      else {
        messageId = (await transport.post(notice)).messageId;
        // Record the message at once: if what follows fails, the retry must edit it, not post
        // again after Discord's nonce window may have closed. Only this process knows the id, so
        // it keeps trying through a database outage of up to a minute.
        const posted = messageId;
        await retryTransient(() => db.update(notices).set({ messageId: posted }).where(eq(notices.id, notice.id)), {
          logger: log,
          what: 'recording a posted notice',
          budgetMs: 60_000,
        });
        // A post that repeats an earlier one (its answer was lost, or the process died before
        // recording it) gets back the message first created, as it was then: the notice may have
        // changed since (say, confirmed). Make it say what the notice says now.
        if (notice.version > 1) await transport.edit({ ...notice, messageId });
      }
      await db
        .update(notices)
        .set({
          messageId,
          deliveredVersion: sql`greatest(${notices.deliveredVersion}, ${notice.version})`,
          claimedUntil: null,
          lastError: null,
        })
        .where(eq(notices.id, notice.id));
      await settings.clearDeliveryError(notice.guildId);
      log.debug({ messageId, version: notice.version }, notice.messageId ? 'notice edited' : 'notice posted');
    } catch (err) {
      const failure = err instanceof DeliveryError ? err : new DeliveryError(String((err as Error)?.message ?? err), 'transient', { cause: err });
      if (failure.kind === 'message_gone') {
        // Someone deleted the message: there is nothing left to edit. Stop trying.
        log.info('notice message was deleted; no more edits');
        await db
          .update(notices)
          .set({
            deliveredVersion: sql`greatest(${notices.deliveredVersion}, ${notice.version})`,
            claimedUntil: null,
            lastError: failure.message,
          })
          .where(eq(notices.id, notice.id));
      } else if (failure.kind === 'permanent') {
        log.warn({ err: failure }, 'notice cannot be delivered; giving up');
        await db.transaction(async (tx) => {
          await tx
            .update(notices)
            .set({ failedAt: sql`now()`, claimedUntil: null, lastError: failure.message })
            .where(eq(notices.id, notice.id));
          await createSettingsService({ db: tx }).recordDeliveryError(notice.guildId, failure.message, new Date());
        });
      } else {
        const delay = backoffMs(notice.attempts);
        log.warn({ err: failure, attempt: notice.attempts, retryInMs: delay }, 'notice delivery failed; will retry');
        await db
          .update(notices)
          .set({
            claimedUntil: null,
            lastError: failure.message,
            nextAttemptAt: sql`now() + ${delay} * interval '1 millisecond'`,
          })
          .where(eq(notices.id, notice.id));
      }
    }
  }

  /** Deliver what is due now; returns how many notices were attempted. */
  async function deliverDue(): Promise<number> {
    let attempted = 0;
    for (;;) {
      const batch = await claim();
      if (!batch.length) return attempted;
      // One at a time: a channel reads in order, and Discord's per-channel limit is low anyway.
      for (const [i, notice] of batch.entries()) {
        if (!running && started) {
          // Stopping: hand the rest back at once rather than leave them claimed for claimMs.
          await db
            .update(notices)
            .set({ claimedUntil: null })
            .where(inArray(notices.id, batch.slice(i).map((n) => n.id)));
          return attempted;
        }
        await deliver(notice);
        attempted++;
      }
    }
  }

  async function run(): Promise<void> {
    while (running) {
      try {
        await deliverDue();
      } catch (err) {
        logger.error({ err }, 'notice dispatcher failed; retrying shortly');
      }
      if (!running) break;
      if (poked) {
        poked = false;
        continue;
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, pollMs);
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      wake = undefined;
    }
  }

  /** Something was written: look now rather than at the next poll. */
  function poke() {
    poked = true;
    wake?.();
  }

  return {
    deliverDue,
    /** Start delivering at once (pending notices from before a restart included), then keep polling. */
    start() {
      if (running) return;
      running = true;
      started = true;
      stopListening = wakeOn?.listen(poke);
      loop = run();
    },
    poke,
    /** Finish the notice in hand, then stop; undelivered notices stay pending for the next start. */
    async stop() {
      running = false;
      stopListening?.();
      wake?.();
      await loop;
    },
  };
}

export type NoticeDispatcher = ReturnType<typeof createNoticeDispatcher>;

/** How many of a server's notices still wait to be posted or edited; failed ones are not waiting. */
export async function countUndelivered(db: Database, guildId: string): Promise<number> {
  const [row] = await db
    .select({ n: count() })
    .from(notices)
    .where(and(eq(notices.guildId, guildId), isNull(notices.failedAt), lt(notices.deliveredVersion, notices.version)));
  return row?.n ?? 0;
}
