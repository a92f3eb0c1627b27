/**
 * Client-side politeness for one provider: space requests out, cap how many are in flight, and
 * hold everything back when the service says it is overwhelmed. The public services answer 429
 * without saying for how long and ban clients that keep pushing, so the pace is set here rather
 * than discovered there.
 */

/** Time, injectable so tests never really wait. */
export interface Clock {
  /** milliseconds, as Date.now() */
  now(): number;
  /** resolve after `ms`, or reject with `signal.reason` as soon as it aborts */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: (ms, signal) =>
    new Promise<void>((resolve, reject) => {
      if (signal?.aborted) return reject(signal.reason);
      const onAbort = () => {
        clearTimeout(timer);
        reject(signal!.reason);
      };
      const timer = setTimeout(() => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      }, ms);
      signal?.addEventListener('abort', onAbort, { once: true });
    }),
};

export interface RateLimiterOptions {
  /** starts per second, spaced evenly (no bursts); default: unlimited */
  requestsPerSecond?: number;
  /** requests in flight at once; default: unlimited */
  concurrency?: number;
  clock?: Clock;
}

export interface AcquireOptions {
  signal?: AbortSignal;
  /** whose request: waiting keys are served in turn, one start each; default: one shared key */
  key?: string;
  /** nobody waits on it (the sync): a person's key that starts waiting goes ahead of it in the round */
  background?: boolean;
  /** refuse with a WaitTooLongError, at once or when a pause makes it so, rather than wait longer */
  maxWaitMs?: number;
  /** told about how long the wait will be when it is worth saying (a second or more), and again when a pause changes it */
  onWait?: (waitMs: number) => void;
}

/** The turn would come later than the caller allows; nothing was started. */
export class WaitTooLongError extends Error {
  override readonly name = 'WaitTooLongError';
  constructor(
    readonly waitMs: number,
    /** the wait is a pause (pauseFor), not the queue */
    readonly paused: boolean,
  ) {
    super(`the wait for a turn, about ${Math.ceil(waitMs / 1000)} s, is longer than allowed`);
  }
}

export interface RateLimiter {
  /**
   * Wait for a turn: a free concurrency slot and the next start time, taking turns with the other
   * keys waiting. Resolves with the function that gives the slot back (call it once the answer is
   * read). Rejects with `signal.reason` on abort. A bare signal is accepted for older callers.
   */
  acquire(options?: AcquireOptions | AbortSignal): Promise<() => void>;
  /** start nothing for `ms` from now (never shortens a pause already in force) */
  pauseFor(ms: number): void;
  /** about how long a request for `key` (a background one when `background`) asked for now would wait for its turn */
  estimatedWaitMs(key?: string, lane?: { background?: boolean }): number;
  /** what is left of the pause; 0 when none */
  pausedMs(): number;
}

/** A wait shorter than this is not worth telling anyone about. */
const WAIT_WORTH_SAYING_MS = 1_000;
const SHARED_KEY = '';

interface Waiter {
  key: string;
  background: boolean;
  /** latest time its turn may come */
  deadline: number;
  onWait?: (waitMs: number) => void;
  grant(): void;
  fail(err: unknown): void;
}

export function createRateLimiter({
  requestsPerSecond = Infinity,
  concurrency = Infinity,
  clock = systemClock,
}: RateLimiterOptions = {}): RateLimiter {
  if (!(requestsPerSecond > 0)) throw new RangeError(`requestsPerSecond must be positive, got ${requestsPerSecond}`);
  if (!(concurrency >= 1)) throw new RangeError(`concurrency must be at least 1, got ${concurrency}`);
  const interval = 1000 / requestsPerSecond;
  /** when the last request actually started: spacing counts from there, so a late timer never lets the next go early */
  let lastStart = -Infinity;
  let pausedUntil = -Infinity;
  let active = 0;
  /**
   * Each waiting key's line, oldest first; the map's order is the round: the key served goes to
   * the back, so one key with forty requests waiting takes every other turn at most. A person's
   * key that starts waiting joins the round ahead of the background's (the sync's), so that a
   * command is served next rather than behind the sync's request, and the sync still gets its turn.
   */
  const lines = new Map<string, Waiter[]>();
  const isBackground = (line: readonly Waiter[]) => line[0]!.background;
  /** the sleep until the next start time, while one is due */
  let timer: AbortController | undefined;

  const nextStartAt = () => Math.max(lastStart + interval, pausedUntil);
  const pausedMs = () => Math.max(0, pausedUntil - clock.now());

  /** where a new line of `key` joins the round: ahead of the background's for a person, else at the back */
  const joinAt = (background: boolean) => (background ? lines.size : [...lines.values()].findIndex(isBackground));

  function estimatedWaitMs(key = SHARED_KEY, { background = false } = {}): number {
    const own = lines.get(key)?.length ?? 0;
    const keys = [...lines.keys()];
    let at = keys.indexOf(key);
    if (at < 0) at = joinAt(background) < 0 ? keys.length : joinAt(background);
    // Round-robin: before our turn, each key ahead of ours in the round gets as many turns as we
    // have ahead, plus one; each key behind ours as many.
    let ahead = own;
    keys.forEach((k, i) => {
      if (k !== key) ahead += Math.min(lines.get(k)!.length, i < at ? own + 1 : own);
    });
    return Math.max(0, nextStartAt() - clock.now()) + ahead * interval;
  }

  function enqueue(waiter: Waiter) {
    const line = lines.get(waiter.key);
    if (line) return void line.push(waiter);
    const at = joinAt(waiter.background);
    if (at < 0 || at === lines.size) return void lines.set(waiter.key, [waiter]);
    const round = [...lines];
    round.splice(at, 0, [waiter.key, [waiter]]);
    lines.clear();
    for (const [k, l] of round) lines.set(k, l);
  }

  /** Start whoever's turn it is, as long as a slot is free and the time has come. */
  function pump() {
    while (lines.size > 0 && active < concurrency) {
      const now = clock.now();
      const at = nextStartAt();
      if (at > now) return wakeAt(at - now);
      const [key, line] = lines.entries().next().value!;
      const waiter = line.shift()!;
      lines.delete(key);
      if (line.length > 0) lines.set(key, line);
      active += 1;
      lastStart = now;
      waiter.grant();
    }
    if (lines.size === 0) stopTimer();
  }

  /** Start times only move later, so a timer already set is never too late: it wakes and looks again. */
  function wakeAt(ms: number) {
    if (timer) return;
    const controller = new AbortController();
    timer = controller;
    clock.sleep(ms, controller.signal).then(
      () => {
        if (timer !== controller) return;
        timer = undefined;
        pump();
      },
      () => {},
    );
  }

  function stopTimer() {
    timer?.abort();
    timer = undefined;
  }

  function remove(waiter: Waiter) {
    const line = lines.get(waiter.key);
    const at = line?.indexOf(waiter) ?? -1;
    if (at < 0) return;
    line!.splice(at, 1);
    if (line!.length === 0) lines.delete(waiter.key);
    if (lines.size === 0) stopTimer();
  }

  function release() {
    active -= 1;
    pump();
  }

  return {
    acquire(options) {
      const {
        signal,
        key = SHARED_KEY,
        background = false,
        maxWaitMs = Infinity,
        onWait,
      } = options instanceof AbortSignal ? { signal: options } : (options ?? {});
      if (signal?.aborted) return Promise.reject(signal.reason);
      const wait = estimatedWaitMs(key, { background });
      if (wait > maxWaitMs) return Promise.reject(new WaitTooLongError(wait, pausedMs() > 0));
      if (wait >= WAIT_WORTH_SAYING_MS) onWait?.(wait);
      return new Promise<() => void>((resolve, reject) => {
        const onAbort = () => waiter.fail(signal!.reason);
        const waiter: Waiter = {
          key,
          background,
          deadline: clock.now() + maxWaitMs,
          onWait,
          grant() {
            signal?.removeEventListener('abort', onAbort);
            let released = false;
            resolve(() => {
              if (released) return;
              released = true;
              release();
            });
          },
          fail(err) {
            signal?.removeEventListener('abort', onAbort);
            remove(waiter);
            reject(err);
          },
        };
        enqueue(waiter);
        signal?.addEventListener('abort', onAbort, { once: true });
        pump();
      });
    },

    pauseFor(ms) {
      pausedUntil = Math.max(pausedUntil, clock.now() + ms);
      const left = pausedMs();
      // Those who cannot wait that long hear so now, not when their deadline has passed.
      for (const waiter of [...lines.values()].flat()) {
        if (pausedUntil > waiter.deadline) waiter.fail(new WaitTooLongError(left, true));
        else if (left >= WAIT_WORTH_SAYING_MS) waiter.onWait?.(left);
      }
    },

    estimatedWaitMs,
    pausedMs,
  };
}
