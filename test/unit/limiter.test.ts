import { describe, expect, it } from 'vitest';
import { createRateLimiter, systemClock, WaitTooLongError } from '../../src/chain/providers/limiter.js';
import { createVirtualClock } from '../support/clock.js';

/** start `n` requests at once through `limiter`; resolves with the virtual time each one started */
async function startTimes(limiter: ReturnType<typeof createRateLimiter>, now: () => number, n: number): Promise<number[]> {
  return Promise.all(
    Array.from({ length: n }, async () => {
      const release = await limiter.acquire();
      const at = now();
      release();
      return at;
    }),
  );
}

describe('rate limiter', () => {
  it('spaces five requests made at once a quarter of a second apart at 4 a second, in the order asked', async () => {
    const clock = createVirtualClock();
    const limiter = createRateLimiter({ requestsPerSecond: 4, clock });
    expect(await startTimes(limiter, clock.now, 5)).toEqual([0, 250, 500, 750, 1000]);
  });

  it('lets a request through at once when the last one was long enough ago', async () => {
    const clock = createVirtualClock();
    const limiter = createRateLimiter({ requestsPerSecond: 0.1, clock });
    (await limiter.acquire())();
    clock.advance(60_000);
    expect(await startTimes(limiter, clock.now, 2)).toEqual([60_000, 70_000]);
  });

  it('spaces requests from when the one before really started, when a timer fires late', async () => {
    const clock = createVirtualClock();
    // The first wait overshoots by 50 ms, as a busy event loop's timers do; the next is on time.
    let sleeps = 0;
    const late = { ...clock, sleep: (ms: number, signal?: AbortSignal) => clock.sleep(ms + (sleeps++ === 0 ? 50 : 0), signal) };
    const limiter = createRateLimiter({ requestsPerSecond: 0.1, clock: late });
    const starts = await startTimes(limiter, clock.now, 3);
    const gaps = starts.slice(1).map((t, i) => t - starts[i]!);
    for (const gap of gaps) expect(gap).toBeGreaterThanOrEqual(10_000);
  });

  it('keeps no more requests in flight than the concurrency, handing a freed slot to the next in line', async () => {
    const limiter = createRateLimiter({ concurrency: 2 });
    const started: number[] = [];
    const releases: (() => void)[] = [];
    const all = [1, 2, 3, 4].map(async (n) => {
      releases[n] = await limiter.acquire();
      started.push(n);
    });
    await new Promise((resolve) => setImmediate(resolve));
    expect(started).toEqual([1, 2]);

    releases[1]!();
    releases[1]!(); // a second call must not free a second slot
    await new Promise((resolve) => setImmediate(resolve));
    expect(started).toEqual([1, 2, 3]);

    releases[2]!();
    await Promise.all(all);
    expect(started).toEqual([1, 2, 3, 4]);
  });

  it('holds back every request during a pause, one that was already waiting for its turn included', async () => {
    const clock = createVirtualClock();
    const limiter = createRateLimiter({ requestsPerSecond: 4, clock });
    const times = startTimes(limiter, clock.now, 3);
    limiter.pauseFor(10_000); // e.g. a 429 answered the request that started at 0
    expect(await times).toEqual([0, 10_000, 10_250]);
  });

  it('never shortens a pause already in force', async () => {
    const clock = createVirtualClock();
    const limiter = createRateLimiter({ clock });
    limiter.pauseFor(10_000);
    limiter.pauseFor(1_000);
    expect(await startTimes(limiter, clock.now, 1)).toEqual([10_000]);
  });

  it('rejects at once with the caller’s reason when aborted while waiting for its turn, and frees its place', async () => {
    const limiter = createRateLimiter({ requestsPerSecond: 0.1, concurrency: 1, clock: systemClock });
    const release = await limiter.acquire();
    const paced = new AbortController();
    const waiting = limiter.acquire(paced.signal);
    const started = Date.now();
    paced.abort(new Error('shutting down'));
    await expect(waiting).rejects.toThrow('shutting down');
    expect(Date.now() - started).toBeLessThan(1_000);

    // Aborted in the queue for a slot: the slot goes to the next caller, not to the one that left.
    const queued = new AbortController();
    const leaving = limiter.acquire(queued.signal);
    queued.abort(new Error('gone'));
    await expect(leaving).rejects.toThrow('gone');
    await expect(limiter.acquire(AbortSignal.abort(new Error('already')))).rejects.toThrow('already');
    release();
  });

  it('refuses a pace or concurrency that would stop every request', () => {
    expect(() => createRateLimiter({ requestsPerSecond: 0 })).toThrow('requestsPerSecond must be positive, got 0');
    expect(() => createRateLimiter({ concurrency: 0 })).toThrow('concurrency must be at least 1, got 0');
  });

  it('serves waiting keys in turn, so forty requests of one key delay another key’s by one interval only', async () => {
    const clock = createVirtualClock();
    const limiter = createRateLimiter({ requestsPerSecond: 2, concurrency: 1, clock });
    const started: { key: string; at: number }[] = [];
    const run = (key: string) =>
      limiter.acquire({ key }).then((release) => {
        started.push({ key, at: clock.now() });
        release();
      });
    const a = Array.from({ length: 40 }, () => run('guild-a'));
    await new Promise((resolve) => setImmediate(resolve));
    // guild-b asks while guild-a's first is done and 39 wait: it goes next but one at most.
    const b = run('guild-b');
    await Promise.all([...a, b]);
    const bAt = started.find((s) => s.key === 'guild-b')!.at;
    expect(bAt).toBeLessThanOrEqual(1_000);
    expect(started.filter((s) => s.key === 'guild-a')).toHaveLength(40);
    // The pace holds across keys: one start every 500 ms.
    expect(started.map((s) => s.at)).toEqual(Array.from({ length: 41 }, (_, i) => i * 500));
  });

  it("serves a person's request next, ahead of the sync's waiting ones, and estimates both waits so", async () => {
    const clock = createVirtualClock();
    const limiter = createRateLimiter({ requestsPerSecond: 0.1, concurrency: 1, clock });
    const started: string[] = [];
    const run = (key: string, background: boolean) =>
      limiter.acquire({ key, background }).then((release) => {
        started.push(key);
        release();
      });
    const sync = Array.from({ length: 5 }, () => run('sync', true));
    await new Promise((resolve) => setImmediate(resolve));
    // The sync's first has started; four wait, 10 s apart. A person waits for the next start only.
    expect(limiter.estimatedWaitMs('guild')).toBe(10_000);
    expect(limiter.estimatedWaitMs('sync', { background: true })).toBe(50_000);
    const person = run('guild', false);
    expect(limiter.estimatedWaitMs('sync', { background: true })).toBe(60_000);
    await Promise.all([...sync, person]);
    expect(started).toEqual(['sync', 'guild', 'sync', 'sync', 'sync', 'sync']);
    expect(clock.now()).toBe(50_000);
  });

  it('still gives the sync every other turn while a person keeps asking', async () => {
    const clock = createVirtualClock();
    const limiter = createRateLimiter({ requestsPerSecond: 0.1, concurrency: 1, clock });
    const started: string[] = [];
    const run = (key: string, background: boolean) =>
      limiter.acquire({ key, background }).then((release) => {
        started.push(key);
        release();
      });
    const sync = Array.from({ length: 3 }, () => run('sync', true));
    const person = Array.from({ length: 3 }, () => run('guild', false));
    await Promise.all([...sync, ...person]);
    expect(started).toEqual(['sync', 'guild', 'sync', 'guild', 'sync', 'guild']);
  });

  it('estimates the wait from the pause, the spacing and the turns of the keys ahead', async () => {
    const clock = createVirtualClock();
    const limiter = createRateLimiter({ requestsPerSecond: 0.1, concurrency: 1, clock });
    expect(limiter.estimatedWaitMs('a')).toBe(0);
    (await limiter.acquire({ key: 'a' }))();
    expect(limiter.estimatedWaitMs('a')).toBe(10_000);
    const queued = [1, 2, 3].map(() => limiter.acquire({ key: 'a' }).then((release) => release()));
    // Three of a's wait: another a waits for all three; b only for the next start and one of a's.
    expect(limiter.estimatedWaitMs('a')).toBe(40_000);
    expect(limiter.estimatedWaitMs('b')).toBe(20_000);
    limiter.pauseFor(60_000);
    expect(limiter.pausedMs()).toBe(60_000);
    expect(limiter.estimatedWaitMs('b')).toBe(70_000);
    await Promise.all(queued);
    expect(clock.now()).toBe(80_000);
    expect(limiter.pausedMs()).toBe(0);
  });

  it('refuses at once a request that would wait longer than it may, and starts nothing for it', async () => {
    const clock = createVirtualClock();
    const limiter = createRateLimiter({ requestsPerSecond: 0.1, clock });
    limiter.pauseFor(900_000);
    const err = await limiter.acquire({ maxWaitMs: 60_000 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WaitTooLongError);
    expect(err).toMatchObject({ waitMs: 900_000, paused: true });
    expect(clock.sleeps).toEqual([]);
    // A queue, not a pause, says so too.
    const other = createRateLimiter({ requestsPerSecond: 0.1, clock });
    (await other.acquire())();
    await expect(other.acquire({ maxWaitMs: 5_000 })).rejects.toMatchObject({ waitMs: 10_000, paused: false });
  });

  it('refuses a waiting request as soon as a pause pushes its turn past what it may wait, and tells the others the new wait', async () => {
    const clock = createVirtualClock();
    const limiter = createRateLimiter({ requestsPerSecond: 0.5, concurrency: 1, clock });
    (await limiter.acquire({ key: 'a' }))();
    const heard: number[] = [];
    const patient = limiter.acquire({ key: 'sync', maxWaitMs: 600_000, onWait: (ms) => heard.push(ms) });
    const hasty = limiter.acquire({ key: 'b', maxWaitMs: 60_000 });
    expect(heard).toEqual([2_000]);
    limiter.pauseFor(120_000);
    await expect(hasty).rejects.toMatchObject({ name: 'WaitTooLongError', waitMs: 120_000, paused: true });
    expect(heard).toEqual([2_000, 120_000]);
    (await patient)();
    expect(clock.now()).toBe(120_000);
  });

  it('says nothing of a wait too short to mention', async () => {
    const clock = createVirtualClock();
    const limiter = createRateLimiter({ requestsPerSecond: 4, clock });
    const heard: number[] = [];
    await Promise.all([1, 2].map(() => limiter.acquire({ onWait: (ms) => heard.push(ms) }).then((r) => r())));
    expect(heard).toEqual([]);
  });
});
