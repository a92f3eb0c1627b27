import type { JobCoordinator } from '../../src/sync/coordinator.js';

export interface MemoryCoordinator extends JobCoordinator {
  /** every call, in order */
  readonly calls: string[];
  /** answer false to the next `n` elections, as if another process were running the job */
  busyElsewhere(n: number): void;
  /** answer false to every renewal from now on, as if the lease had been taken over */
  loseLease(): void;
  /** make shouldRun throw, as a coordinator whose database is down */
  fail(err: Error | undefined): void;
}

/** One process's view of a coordinator, in memory: enough for the scheduler's own behaviour. */
export function createMemoryCoordinator(): MemoryCoordinator {
  const calls: string[] = [];
  let busy = 0;
  let lost = false;
  let failure: Error | undefined;
  return {
    calls,
    busyElsewhere: (n) => void (busy = n),
    loseLease: () => void (lost = true),
    fail: (err) => void (failure = err),
    async shouldRun(key) {
      calls.push(`shouldRun ${key}`);
      if (failure) throw failure;
      if (busy > 0) {
        busy--;
        return false;
      }
      return true;
    },
    async onComplete(key) {
      calls.push(`onComplete ${key}`);
    },
    async renew(job) {
      calls.push(`renew ${job}`);
      return !lost;
    },
  };
}
