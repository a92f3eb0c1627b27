import { setTimeout as sleep } from 'node:timers/promises';
import { type Logger as CronLogger, schedule } from 'node-cron';
import { CRON_HINT, cronProblems } from '../config/cron.js';
import type { Logger } from '../logger.js';
import type { JobCoordinator } from './coordinator.js';

export interface ScheduleJobOptions {
  /** names the job in logs and in its run keys: letters, digits, '.', '_' or '-' */
  name: string;
  /** five fields, or six with seconds first */
  cron: string;
  /** one run; stop when `signal` aborts (shutdown, or the lease was lost) and leave nothing half done */
  run: (signal: AbortSignal) => Promise<void>;
  coordinator: JobCoordinator;
  logger: Logger;
  /** how long a run's lease lasts without a heartbeat; renewed every third of it. Default 30 s */
  leaseMs?: number;
  /** also run once as soon as the job is free, without waiting for the first tick */
  runAtStart?: boolean;
}

/** completed or failed: it ran here. skipped: it was running (here or elsewhere), or stopping. */
export type RunOutcome = 'completed' | 'failed' | 'skipped';

export interface ScheduledJob {
  /** Run now unless the job is running anywhere; errors are logged, not thrown. */
  runNow(): Promise<RunOutcome>;
  /** Stop scheduling, abort the current run and wait for it (and its lease's release). */
  stop(): Promise<void>;
}

export const DEFAULT_LEASE_MS = 30_000;

/** Why `expr` is not a cron expression node-cron accepts, or undefined when it is. */
export function validateCron(expr: string): string | undefined {
  const problems = cronProblems(expr);
  return problems.length ? `"${expr}" is not a valid cron expression (${problems.join('; ')}): use ${CRON_HINT}` : undefined;
}

/**
 * Run `run` on `cron` in every process, but once per tick across all of them and never two runs
 * at once: node-cron asks `coordinator` before each fire. A run's lease is renewed while it lasts
 * and, if it is lost anyway, the run is aborted so that it cannot overlap its successor.
 *
 * `runAtStart` runs once per process start, through the same lease: if another process is running
 * the job it waits for it (or for a dead process's lease to expire) and then runs, unless a tick
 * has run here meanwhile. Processes started together thus sync one after another, never at once.
 */
export function scheduleJob({
  name,
  cron,
  run,
  coordinator,
  logger,
  leaseMs = DEFAULT_LEASE_MS,
  runAtStart = false,
}: ScheduleJobOptions): ScheduledJob {
  const problem = validateCron(cron);
  if (problem) throw new Error(`Cannot schedule ${name}: ${problem}`);
  if (!/^[\w.-]+$/.test(name)) throw new Error(`A job name is letters, digits, '.', '_' or '-' (got "${name}")`);
  if (!(leaseMs >= 100)) throw new Error(`leaseMs must be at least 100 (got ${leaseMs})`);

  const log = logger.child({ job: name });
  const stopping = new AbortController();
  /** every promise stop() must see settled: elections, runs, the start loop */
  const pending = new Set<Promise<unknown>>();
  const track = <T>(promise: Promise<T>): Promise<T> => {
    pending.add(promise);
    const forget = () => pending.delete(promise);
    promise.then(forget, forget);
    return promise;
  };
  /** a run of this job in this process, from its election to its lease's release */
  let active: { key: string; controller: AbortController; released: () => void } | undefined;
  let electing = false;
  let runsStarted = 0;

  async function elect(key: string): Promise<boolean> {
    if (stopping.signal.aborted || electing || active) return false;
    electing = true;
    try {
      if (!(await coordinator.shouldRun(key, leaseMs))) return false;
      if (stopping.signal.aborted) {
        await coordinator.onComplete?.(key);
        return false;
      }
      let released!: () => void;
      track(new Promise<void>((resolve) => (released = resolve)));
      active = { key, controller: new AbortController(), released };
      return true;
    } finally {
      electing = false;
    }
  }

  async function release(key: string): Promise<void> {
    const current = active;
    try {
      await coordinator.onComplete?.(key);
    } finally {
      active = undefined;
      current?.released();
    }
  }

  async function execute(): Promise<RunOutcome> {
    const current = active;
    if (!current || current.controller.signal.aborted) return 'skipped';
    runsStarted++;
    const started = performance.now();
    const heartbeat = startHeartbeat(current.controller);
    try {
      await run(current.controller.signal);
      log.info({ key: current.key, ms: Math.round(performance.now() - started) }, 'job finished');
      return 'completed';
    } catch (err) {
      log.error({ err, key: current.key, ms: Math.round(performance.now() - started) }, 'job failed');
      return 'failed';
    } finally {
      await heartbeat.stop();
    }
  }

  /** Renew the lease every third of it; abort the run once it is surely lost. */
  function startHeartbeat(controller: AbortController) {
    let lastRenewed = performance.now();
    let timer: NodeJS.Timeout | undefined;
    let beat: Promise<void> = Promise.resolve();
    const tick = async () => {
      try {
        if (await coordinator.renew(name, leaseMs)) lastRenewed = performance.now();
        else controller.abort(new Error(`${name} lost its lease to another process`));
      } catch (err) {
        // The database may be back before the lease runs out; until then the lease still holds.
        if (performance.now() - lastRenewed >= leaseMs) {
          controller.abort(new Error(`${name} could not renew its lease`));
        }
        log.warn({ err }, 'could not renew the run lease');
      }
      if (timer && !controller.signal.aborted) timer = setTimeout(() => (beat = tick()), leaseMs / 3);
    };
    timer = setTimeout(() => (beat = tick()), leaseMs / 3);
    return {
      async stop() {
        clearTimeout(timer);
        timer = undefined;
        await beat;
      },
    };
  }

  const cronLogger: CronLogger = {
    info: (message) => log.debug(message),
    warn: (message) => log.warn(message),
    error: (message, err) =>
      message instanceof Error ? log.error({ err: message }, message.message) : log.error({ err }, message),
    debug: (message, err) => log.debug({ err }, String(message)),
  };

  const task = schedule(
    cron,
    async () => {
      await execute();
    },
    {
      name,
      noOverlap: true,
      distributed: true,
      distributedLease: leaseMs,
      logger: cronLogger,
      runCoordinator: {
        shouldRun: (key) => track(elect(key)),
        onComplete: (key) => release(key),
      },
    },
  );

  async function runNow(): Promise<RunOutcome> {
    let elected: boolean;
    try {
      elected = await elect(name);
    } catch (err) {
      log.error({ err }, 'could not ask the coordinator; not running');
      return 'skipped';
    }
    if (!elected) return 'skipped';
    try {
      return await execute();
    } finally {
      await release(name).catch((err: unknown) => log.warn({ err }, 'could not release the run lease'));
    }
  }

  async function runOnceAtStart(): Promise<void> {
    const retryMs = Math.min(1_000, leaseMs / 3);
    while (!stopping.signal.aborted && runsStarted === 0) {
      if ((await runNow()) !== 'skipped') return;
      log.debug('running elsewhere; the start run waits for it');
      await sleep(retryMs, undefined, { signal: stopping.signal }).catch(() => {});
    }
  }

  if (runAtStart) track(runOnceAtStart());

  return {
    runNow: () => track(runNow()),
    async stop() {
      if (!stopping.signal.aborted) {
        stopping.abort(new Error(`${name} is stopping`));
        task.destroy();
        active?.controller.abort(stopping.signal.reason);
      }
      while (pending.size) await Promise.allSettled([...pending]);
    },
  };
}
