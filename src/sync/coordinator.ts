import { and, eq, gte, lt, ne, type SQL, sql } from 'drizzle-orm';
import type { RunCoordinator } from 'node-cron';
import type { Database } from '../db/client.js';
import { runLeases } from '../db/schema.js';
import type { Logger } from '../logger.js';

/**
 * Decides, across every bot process on one database, who runs a scheduled job and when.
 *
 * Run keys are `job` (run now, if nobody is running it) or `job:slot` (one cron fire; node-cron
 * makes them `name:slotISO`). A job name never contains ':'. Two kinds of row in `run_leases`:
 * - the slot row (`job:slot`): the first process to insert it has the tick; it is kept for a day
 *   so that a process whose clock or event loop runs late can never run the same tick again;
 * - the running lease (`job:running`): held for the whole run, renewed while it lasts, deleted
 *   when it ends. It keeps runs of different ticks from overlapping, and expires when its holder
 *   dies so that another process takes over.
 * Every row is a plain upsert, so any pooled connection will do: no session state, no advisory lock.
 * Expiry is compared with the database's `now()`, so skewed process clocks do not matter.
 */
export interface LeaseCoordinator extends JobCoordinator {
  /** Take the tick (for a slot key) and the job's running lease; false: someone else runs it. */
  shouldRun(key: string, ttlMs: number): Promise<boolean>;
  /** Release the job's running lease. The slot row stays: that tick has been had. */
  onComplete(key: string): Promise<void>;
  /** Delete rows whose time is up. Also done by onComplete, at most once per `gcEveryMs`. */
  collectGarbage(): Promise<number>;
  /** Another owner holds the job's running lease, and it has not expired. */
  heldElsewhere(job: string): Promise<boolean>;
}

/** What a scheduler needs: node-cron's coordinator, plus a heartbeat for long runs. */
export interface JobCoordinator extends RunCoordinator {
  /**
   * Push the running lease of `job` (a job name or any of its run keys) `ttlMs` further. False
   * when this process no longer holds it (it expired or another process took it): stop the run.
   */
  renew(job: string, ttlMs: number): Promise<boolean>;
}

export interface LeaseCoordinatorOptions {
  db: Database;
  /**
   * Who this process is: unique among live processes, one coordinator each. A process restarted
   * with the same owner (say, the only process on an embedded database) takes its dead self's
   * lease at once instead of waiting for it to expire.
   */
  owner: string;
  /** Only paces garbage collection; expiry always follows the database clock. */
  clock?: () => Date;
  logger?: Logger;
  /** how long a won slot is remembered; default one day */
  slotRetentionMs?: number;
  /** how often onComplete collects garbage; default one hour */
  gcEveryMs?: number;
}

const DAY_MS = 24 * 60 * 60 * 1000;
const HOUR_MS = 60 * 60 * 1000;

/** The job a run key belongs to: everything before the first ':'. */
function jobOfKey(key: string): string {
  const colon = key.indexOf(':');
  const job = colon < 0 ? key : key.slice(0, colon);
  if (!job) throw new Error(`A run key must start with a job name (got "${key}")`);
  return job;
}

export function createLeaseCoordinator({
  db,
  owner,
  clock = () => new Date(),
  logger,
  slotRetentionMs = DAY_MS,
  gcEveryMs = HOUR_MS,
}: LeaseCoordinatorOptions): LeaseCoordinator {
  if (!owner) throw new Error('A lease coordinator needs an owner');
  // Jobs this process holds or is asking for. Checked before any query, so two runs of one job in
  // this process never both ask — the database alone could not tell them apart (same owner).
  const held = new Set<string>();
  let lastGc = -Infinity;

  const until = (ms: number) => sql`now() + ${ms}::double precision * interval '1 millisecond'`;
  const runningKey = (job: string) => `${job}:running`;

  /** Insert the row, or take it over when `takeover` holds for the existing one. */
  async function take(key: string, holdMs: number, takeover: SQL): Promise<boolean> {
    const rows = await db
      .insert(runLeases)
      .values({ key, owner, expiresAt: until(holdMs) })
      .onConflictDoUpdate({
        target: runLeases.key,
        set: { owner: sql`excluded.owner`, expiresAt: sql`excluded.expires_at` },
        setWhere: takeover,
      })
      .returning({ key: runLeases.key });
    return rows.length > 0;
  }

  async function collectGarbage(): Promise<number> {
    lastGc = clock().getTime();
    const gone = await db
      .delete(runLeases)
      .where(lt(runLeases.expiresAt, sql`now()`))
      .returning({ key: runLeases.key });
    if (gone.length) logger?.debug({ rows: gone.length }, 'run leases collected');
    return gone.length;
  }

  return {
    async shouldRun(key, ttlMs) {
      const job = jobOfKey(key);
      if (held.has(job)) return false;
      held.add(job);
      let running = false;
      try {
        // The tick first: once inserted it is spent, even if the job turns out to be running
        // elsewhere. That tick is skipped everywhere; the next one runs. Releasing it instead would
        // let a later process run a tick late, for no gain.
        if (key !== job) {
          const tick = await take(key, Math.max(ttlMs, slotRetentionMs), lt(runLeases.expiresAt, sql`now()`));
          if (!tick) return false;
        }
        running = await take(
          runningKey(job),
          ttlMs,
          sql`${runLeases.expiresAt} < now() or ${runLeases.owner} = ${owner}`,
        );
        return running;
      } finally {
        if (!running) held.delete(job);
      }
    },

    async onComplete(key) {
      const job = jobOfKey(key);
      try {
        await db.delete(runLeases).where(and(eq(runLeases.key, runningKey(job)), eq(runLeases.owner, owner)));
      } finally {
        held.delete(job);
      }
      if (clock().getTime() - lastGc >= gcEveryMs) {
        await collectGarbage().catch((err: unknown) => logger?.warn({ err }, 'could not collect old run leases'));
      }
    },

    async renew(jobOrKey, ttlMs) {
      // Only a lease still ours and unexpired: once it has lapsed, another process may have run.
      const rows = await db
        .update(runLeases)
        .set({ expiresAt: until(ttlMs) })
        .where(
          and(
            eq(runLeases.key, runningKey(jobOfKey(jobOrKey))),
            eq(runLeases.owner, owner),
            gte(runLeases.expiresAt, sql`now()`),
          ),
        )
        .returning({ key: runLeases.key });
      return rows.length > 0;
    },

    collectGarbage,

    async heldElsewhere(job) {
      const rows = await db
        .select({ key: runLeases.key })
        .from(runLeases)
        .where(and(eq(runLeases.key, runningKey(jobOfKey(job))), ne(runLeases.owner, owner), gte(runLeases.expiresAt, sql`now()`)));
      return rows.length > 0;
    },
  };
}
