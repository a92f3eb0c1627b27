import { command as commandPart, isUserError, UserError, words } from '../errors.js';
import type { Logger } from '../logger.js';
import type { Command, CommandReply, CommandRequest } from '../discord/command.js';
import type { CommandContext } from './context.js';

/**
 * What the pipeline needs of a front end (a Discord slash command, a Discord page button, the
 * shell): it decides when to call these, the front end how each looks.
 */
export interface FrontEnd {
  /**
   * Tell the user the answer is coming ("thinking…"); later calls share the first. A front end that
   * shows nothing until the answer (the shell) has none.
   */
  defer?(): Promise<void>;
  /** An interim reply of a long command; none comes after `answer` or `fail` is called. */
  progress(reply: CommandReply): void;
  answer(reply: CommandReply): Promise<void>;
  /** An expected refusal (its words for the user) or an unexpected failure (a reference at most). */
  fail(failure: Failure): Promise<void>;
  /** The user can no longer be answered (Discord's interaction expired): then nothing is sent. */
  expired?(err: unknown): boolean;
}

export type Failure = { kind: 'refused'; error: UserError } | { kind: 'unexpected'; error: unknown };

export interface PipelineOptions {
  ctx: CommandContext;
  log: Logger;
  /** Defer whatever has not answered after this long, the checks included; never when unset. */
  acknowledgeAfterMs?: number;
  /**
   * Give up on a run that has shown no progress for this long, saying what is known; it goes on in
   * the background and is logged. Each progress starts the wait again, up to `maxRunMs` in all: a
   * wallet scan or a long history at a paced service's one call in ten seconds is slow, not stuck.
   * Never when unset: the shell's user sees the progress and can wait as long as it takes.
   */
  timeoutMs?: number;
  /** with `timeoutMs`: give up after this long however it is getting on; default MAX_RUN_MS */
  maxRunMs?: number;
}

/** Discord lets a deferred reply be edited for 15 minutes: the answer must come before that. */
export const MAX_RUN_MS = 14 * 60_000;

/**
 * The one road of a command through satbell, whatever it was typed in: check, defer when the
 * command asks (or when it is slow), execute with progress, give up after the timeout, then answer
 * or fail. It never throws: every failure reaches the front end or the log.
 */
export async function runCommand(
  command: Command,
  request: Omit<CommandRequest, 'progress'>,
  front: FrontEnd,
  options: PipelineOptions,
): Promise<void> {
  let settled = false;
  const deadline = createDeadline(command, options);
  const progress = (reply: CommandReply) => {
    if (settled) return;
    deadline.progressed();
    front.progress(reply);
  };
  try {
    const reply = await withDeadlines(command, { ...request, progress }, front, options, deadline);
    settled = true;
    await front.answer(reply);
  } catch (err) {
    settled = true;
    await reportFailure(err, front, options.log);
  }
}

/** A failure as the user hears of it: a refusal in its own words, anything else as a bug or outage. */
export async function reportFailure(err: unknown, front: FrontEnd, log: Logger): Promise<void> {
  if (front.expired?.(err)) {
    log.warn('interaction expired before we could answer');
    return;
  }
  if (isUserError(err)) {
    log.info({ code: err.code }, 'command refused');
    await front.fail({ kind: 'refused', error: err });
  } else {
    log.error({ err }, 'command failed');
    await front.fail({ kind: 'unexpected', error: err });
  }
}

interface Deadline {
  /** rejects with the timeout's user error once the run is given up on; never without a timeout */
  readonly expired: Promise<never> | undefined;
  progressed(): void;
  clear(): void;
}

/** `timeoutMs` without progress, `maxRunMs` in all. */
function createDeadline(command: Command, { timeoutMs, maxRunMs = MAX_RUN_MS }: PipelineOptions): Deadline {
  if (timeoutMs === undefined) return { expired: undefined, progressed: () => {}, clear: () => {} };
  let giveUp: () => void = () => {};
  const expired = new Promise<never>((_, reject) => {
    giveUp = () => reject(createTimeoutError(command));
  });
  // Nobody may be racing it yet when it fires: that is handled where it is raced.
  expired.catch(() => {});
  let idle = setTimeout(giveUp, timeoutMs);
  const cap = setTimeout(giveUp, Math.max(timeoutMs, maxRunMs));
  return {
    expired,
    progressed() {
      clearTimeout(idle);
      idle = setTimeout(giveUp, timeoutMs);
    },
    clear() {
      clearTimeout(idle);
      clearTimeout(cap);
    },
  };
}

/** check → defer → execute, deferred after `acknowledgeAfterMs` and given up on at the deadline. */
async function withDeadlines(command: Command, request: CommandRequest, front: FrontEnd, options: PipelineOptions, deadline: Deadline): Promise<CommandReply> {
  const { ctx, log, acknowledgeAfterMs, timeoutMs } = options;
  const timers: NodeJS.Timeout[] = [];
  if (acknowledgeAfterMs !== undefined && front.defer) {
    const defer = front.defer.bind(front);
    timers.push(setTimeout(() => void defer().catch(() => {}), acknowledgeAfterMs));
  }
  const work = (async () => {
    await command.check?.(request, ctx);
    if (command.defer) await front.defer?.();
    return command.execute(request, ctx);
  })();
  const racing: Promise<CommandReply>[] = [work];
  if (deadline.expired) racing.push(deadline.expired);
  try {
    return await Promise.race(racing);
  } catch (err) {
    if (err instanceof TimeoutError) {
      log.warn({ timeoutMs }, 'gave up on a command that did not finish');
      work.then(
        () => log.warn('a command given up on finished after all'),
        (lateErr: unknown) => log.warn({ err: lateErr }, 'a command given up on failed after all'),
      );
    }
    throw err;
  } finally {
    for (const timer of timers) clearTimeout(timer);
    deadline.clear();
  }
}

/** A run given up on after `timeoutMs`. */
class TimeoutError extends UserError {}

/**
 * What the user is told when a command does not finish: a command that only reads has nothing to
 * undo, so it is not told so; one that may change stored data may or may not have, and
 * `verifyWith` shows which.
 */
function createTimeoutError(command: Command): TimeoutError {
  const name = commandPart(command.definition.name);
  const why = 'the database or the Bitcoin data service is not answering right now';
  return new TimeoutError(
    'unavailable',
    command.verifyWith
      ? words`${name} did not finish: ${why}, so whether it went through is unknown. In a minute, check with ${commandPart(command.verifyWith)} before trying again.`
      : words`${name} did not finish: ${why}. Try again in a minute.`,
  );
}
