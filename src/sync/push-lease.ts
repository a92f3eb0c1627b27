/**
 * The push lease: a run lease (src/sync/coordinator.ts) held for as long as the process keeps
 * subscriptions, renewed every third of its time. When it lapses (the database was away too long,
 * or another process took it), the holder is told so and must let its subscriptions go; a process
 * that dies stops renewing, and another takes it over once it expires. While one process holds it,
 * the cron ticks of the sync are its own too (deferTicksToPush).
 */
import type { Logger } from '../logger.js';
import type { JobCoordinator, LeaseCoordinator } from './coordinator.js';

export type PushCoordinator = Pick<LeaseCoordinator, 'shouldRun' | 'onComplete'> & Pick<JobCoordinator, 'renew'>;

/** the job whose running lease is the push lease */
export const PUSH_JOB = 'push';

/**
 * The sync's coordinator, leaving every cron tick to the process that holds the push lease while
 * it lives: only that process knows which addresses are subscribed and stored as the server has
 * them, so only its sync can skip those. A tick another process took would poll every address.
 * When the holder dies its lease expires within seconds, and the ticks go to whoever takes them.
 * A run asked for now (not a tick: the one at start, or one a person asked for) runs anywhere.
 */
export function deferTicksToPush(sync: JobCoordinator, push: Pick<LeaseCoordinator, 'heldElsewhere'>, log: Logger): JobCoordinator {
  const isTick = (key: string) => key.includes(':');
  return {
    async shouldRun(key, ttlMs) {
      const elsewhere = isTick(key) && (await push.heldElsewhere(PUSH_JOB).catch((err: unknown) => (log.debug({ err }, 'could not ask who holds the push lease'), false)));
      // Declined before the tick is taken, so that the holder can still take it.
      return !elsewhere && sync.shouldRun(key, ttlMs);
    },
    onComplete: (key) => sync.onComplete?.(key),
    renew: (job, ttlMs) => sync.renew(job, ttlMs),
  };
}

export interface HeldLease {
  readonly held: boolean;
  /** take it unless held already; false: another process has it */
  take(): Promise<boolean>;
  /** stop renewing; the row stays until it expires or release() deletes it */
  drop(): void;
  /** give it back now, for another process to take at once */
  release(): Promise<void>;
}

export function createHeldLease({ coordinator, job, leaseMs, log, onLost }: { coordinator: PushCoordinator; job: string; leaseMs: number; log: Logger; onLost: () => void }): HeldLease {
  let held = false;
  let renewer: NodeJS.Timeout | undefined;
  const lease: HeldLease = {
    get held() {
      return held;
    },
    async take() {
      if (held) return true;
      held = await coordinator.shouldRun(job, leaseMs).catch((err: unknown) => (log.warn({ err }, 'could not ask for the push lease'), false));
      if (!held) return false;
      renewer = setInterval(() => {
        coordinator
          .renew(job, leaseMs)
          .then((still) => {
            if (still || !held) return;
            log.warn('the push lease went to another process; dropping subscriptions');
            lease.drop();
            onLost();
          })
          .catch((err: unknown) => log.warn({ err }, 'could not renew the push lease'));
      }, leaseMs / 3);
      return true;
    },
    drop() {
      held = false;
      clearInterval(renewer);
    },
    async release() {
      await coordinator.onComplete(job).catch((err: unknown) => log.warn({ err }, 'could not release the push lease'));
    },
  };
  return lease;
}
