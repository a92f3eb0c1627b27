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

export interface RateLimiter {
  /**
   * Wait for a turn: a free concurrency slot, then the next start time. Resolves with the function
   * that gives the slot back (call it once the answer is read). Rejects with `signal.reason` on abort.
   */
  acquire(signal?: AbortSignal): Promise<() => void>;
  /** start nothing for `ms` from now (never shortens a pause already in force) */
  pauseFor(ms: number): void;
}

export function createRateLimiter({
  requestsPerSecond = Infinity,
  concurrency = Infinity,
  clock = systemClock,
}: RateLimiterOptions = {}): RateLimiter {
  if (!(requestsPerSecond > 0)) throw new RangeError(`requestsPerSecond must be positive, got ${requestsPerSecond}`);
  if (!(concurrency >= 1)) throw new RangeError(`concurrency must be at least 1, got ${concurrency}`);
  const interval = 1000 / requestsPerSecond;
  let nextStart = -Infinity;
  /** when the last request actually started */
  let lastStart = -Infinity;
  let pausedUntil = -Infinity;
  let active = 0;
  const waiting: (() => void)[] = [];

  function release() {
    const next = waiting.shift();
    if (next) next(); // the slot passes straight on
    else active -= 1;
  }

  /** wait in line for a slot freed by release() */
  function queue(signal?: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      const onAbort = () => {
        waiting.splice(waiting.indexOf(grant), 1);
        reject(signal!.reason);
      };
      const grant = () => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      };
      waiting.push(grant);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  return {
    async acquire(signal) {
      if (signal?.aborted) throw signal.reason;
      // No await on the way to a start time unless we must queue: callers are served in call order.
      if (active < concurrency) active += 1;
      else await queue(signal);
      try {
        // Take a start time at once so callers keep their order; if a pause began while we
        // slept, that start time is void and we queue again behind the pause.
        for (;;) {
          const now = clock.now();
          const start = Math.max(now, nextStart, pausedUntil);
          nextStart = start + interval;
          if (start > now) await clock.sleep(start - now, signal);
          // Timers fire late: space from the actual start of the request before, or a late one
          // lets the next go early and a strict server counts two inside one interval.
          let at = clock.now();
          while (at >= pausedUntil && at < lastStart + interval) {
            await clock.sleep(lastStart + interval - at, signal);
            at = clock.now();
          }
          if (at >= pausedUntil) {
            lastStart = at;
            nextStart = Math.max(nextStart, at + interval);
            break;
          }
        }
      } catch (err) {
        release();
        throw err;
      }
      let released = false;
      return () => {
        if (released) return;
        released = true;
        release();
      };
    },

    pauseFor(ms) {
      pausedUntil = Math.max(pausedUntil, clock.now() + ms);
    },
  };
}
