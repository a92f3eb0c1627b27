import { setTimeout as sleep } from 'node:timers/promises';
import { getTasks } from 'node-cron';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { type ScheduledJob, type ScheduleJobOptions, scheduleJob, validateCron } from '../../src/sync/scheduler.js';
import { createCapturingLogger } from '../support/logs.js';
import { createMemoryCoordinator, type MemoryCoordinator } from '../support/memory-coordinator.js';

const EVERY_SECOND = '* * * * * *';
const NEVER_SOON = '0 0 1 1 *';

describe('validateCron', () => {
  it.each(['*/5 * * * *', EVERY_SECOND, '30 */2 * * * *', '@hourly'])('accepts %s', (expr) => {
    expect(validateCron(expr)).toBeUndefined();
  });

  it.each(['61 * * * *', '* * * *', '* * * * * * *', 'every 5 minutes', ''])('refuses "%s" and names it', (expr) => {
    expect(validateCron(expr)).toContain(`"${expr}" is not a valid cron expression`);
  });
});

describe('scheduleJob', () => {
  const jobs: ScheduledJob[] = [];
  afterEach(async () => {
    await Promise.all(jobs.splice(0).map((job) => job.stop()));
  });

  type StartOptions = Omit<ScheduleJobOptions, 'name' | 'cron' | 'coordinator' | 'logger'> & {
    cron?: string;
    coordinator?: MemoryCoordinator;
  };
  function start({ cron = NEVER_SOON, coordinator = createMemoryCoordinator(), ...options }: StartOptions) {
    const { logger, lines } = createCapturingLogger();
    const job = scheduleJob({ name: 'sync', cron, coordinator, logger, ...options });
    jobs.push(job);
    return { job, coordinator, lines };
  }

  it('refuses an invalid expression with a message naming it, and schedules nothing', () => {
    const before = getTasks().size;
    expect(() =>
      scheduleJob({
        name: 'sync',
        cron: '*/5 * * *',
        run: async () => {},
        coordinator: createMemoryCoordinator(),
        logger: createCapturingLogger().logger,
      }),
    ).toThrow('Cannot schedule sync: "*/5 * * *" is not a valid cron expression');
    expect(getTasks().size).toBe(before);
  });

  it('runs now through the coordinator and releases the lease after', async () => {
    const { job, coordinator } = start({ run: async () => {} });
    expect(await job.runNow()).toBe('completed');
    expect(coordinator.calls).toEqual(['shouldRun sync', 'onComplete sync']);
  });

  it('skips a run now while the job runs, here or in another process', async () => {
    let finish!: () => void;
    const { job, coordinator } = start({ run: () => new Promise<void>((resolve) => (finish = resolve)) });
    const first = job.runNow();
    await vi.waitFor(() => expect(finish).toBeDefined());
    expect(await job.runNow()).toBe('skipped');
    finish();
    expect(await first).toBe('completed');

    coordinator.busyElsewhere(1);
    expect(await job.runNow()).toBe('skipped');
    expect(coordinator.calls.filter((c) => c.startsWith('shouldRun'))).toHaveLength(2);
  });

  it('logs a failing run, and the next tick still runs', async () => {
    let runs = 0;
    const { job, lines } = start({
      cron: EVERY_SECOND,
      run: async () => {
        if (++runs === 1) throw new Error('provider down');
      },
    });
    await vi.waitFor(() => expect(runs).toBeGreaterThanOrEqual(2), { timeout: 3_500, interval: 50 });
    await job.stop();
    const failed = lines.filter((line) => line.msg === 'job failed');
    expect(failed).toHaveLength(1);
    expect(failed[0]).toMatchObject({ job: 'sync', err: { message: 'provider down' } });
    expect(lines.some((line) => line.msg === 'job finished')).toBe(true);
  });

  it('stop() aborts the current run and waits for it and for the lease to be released', async () => {
    const events: string[] = [];
    const { job, coordinator } = start({
      cron: EVERY_SECOND,
      run: async (signal) => {
        events.push('started');
        await new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }));
        await sleep(200); // rolling back takes a while
        events.push(`finished after ${(signal.reason as Error).message}`);
      },
    });
    await vi.waitFor(() => expect(events).toContain('started'), { timeout: 2_500, interval: 20 });
    await job.stop();
    events.push('stopped');
    expect(events).toEqual(['started', 'finished after sync is stopping', 'stopped']);
    expect(coordinator.calls.at(-1)).toMatch(/^onComplete sync:/);
  });

  it('stop() waits for a run that ignores the signal', async () => {
    const events: string[] = [];
    const { job } = start({
      run: async () => {
        events.push('started');
        await sleep(300);
        events.push('finished');
      },
    });
    const running = job.runNow();
    await vi.waitFor(() => expect(events).toContain('started'));
    await job.stop();
    events.push('stopped');
    expect(events).toEqual(['started', 'finished', 'stopped']);
    expect(await running).toBe('completed');
    expect(await job.runNow()).toBe('skipped');
  });

  it('runs once at start, after waiting for a run elsewhere to end', async () => {
    const coordinator = createMemoryCoordinator();
    coordinator.busyElsewhere(2);
    let runs = 0;
    start({ coordinator, runAtStart: true, leaseMs: 300, run: async () => void runs++ });
    await vi.waitFor(() => expect(runs).toBe(1), { timeout: 2_000, interval: 20 });
    await sleep(300);
    expect(runs).toBe(1);
    expect(coordinator.calls).toEqual(['shouldRun sync', 'shouldRun sync', 'shouldRun sync', 'onComplete sync']);
  });

  it('renews the lease of a long run, and aborts the run once the lease is lost', async () => {
    const coordinator = createMemoryCoordinator();
    let reason: unknown;
    const { job } = start({
      coordinator,
      leaseMs: 300,
      run: async (signal) => {
        await sleep(350);
        coordinator.loseLease();
        await new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }));
        reason = signal.reason;
      },
    });
    expect(await job.runNow()).toBe('completed');
    expect(coordinator.calls.filter((c) => c === 'renew sync').length).toBeGreaterThanOrEqual(2);
    expect(reason).toMatchObject({ message: 'sync lost its lease to another process' });
  });

  it('skips the run, logged, when the coordinator cannot be asked', async () => {
    const coordinator = createMemoryCoordinator();
    coordinator.fail(new Error('connection refused'));
    let runs = 0;
    const { job, lines } = start({ coordinator, run: async () => void runs++ });
    expect(await job.runNow()).toBe('skipped');
    expect(runs).toBe(0);
    expect(lines.find((line) => line.level === 50)).toMatchObject({ err: { message: 'connection refused' } });
  });
});
