import type { Clock } from '../../src/chain/providers/limiter.js';

export interface VirtualClock extends Clock {
  /** every delay asked of sleep, in order */
  readonly sleeps: number[];
  /** move time on without anyone sleeping (e.g. past a cooldown) */
  advance(ms: number): void;
}

/**
 * A clock whose sleeps take no real time: each sleeper wakes on a later macrotask, earliest wake
 * time first, and the clock jumps to that time. Code that waits its turn runs in the order and at
 * the virtual times it would have, at full speed.
 */
export function createVirtualClock(start = 0): VirtualClock {
  let time = start;
  let seq = 0;
  const sleepers: { at: number; seq: number; wake: () => void }[] = [];
  const sleeps: number[] = [];

  const wakeEarliest = () => {
    sleepers.sort((a, b) => a.at - b.at || a.seq - b.seq);
    const next = sleepers.shift();
    if (!next) return;
    time = Math.max(time, next.at);
    next.wake();
  };

  return {
    sleeps,
    now: () => time,
    advance(ms) {
      time += ms;
    },
    sleep(ms, signal) {
      sleeps.push(ms);
      return new Promise<void>((resolve, reject) => {
        if (signal?.aborted) return reject(signal.reason);
        const sleeper = {
          at: time + ms,
          seq: seq++,
          wake: () => {
            signal?.removeEventListener('abort', onAbort);
            resolve();
          },
        };
        const onAbort = () => {
          sleepers.splice(sleepers.indexOf(sleeper), 1);
          reject(signal!.reason);
        };
        signal?.addEventListener('abort', onAbort, { once: true });
        sleepers.push(sleeper);
        setImmediate(wakeEarliest);
      });
    },
  };
}
