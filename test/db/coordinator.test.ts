import { setTimeout as sleep } from 'node:timers/promises';
import { like, sql } from 'drizzle-orm';
import { pino } from 'pino';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { runLeases } from '../../src/db/schema.js';
import { createLeaseCoordinator, type LeaseCoordinator } from '../../src/sync/coordinator.js';
import { scheduleJob } from '../../src/sync/scheduler.js';
import { createTestDatabase, testBackends } from '../support/database.js';

const LONG = 30_000;
const SHORT = 300;

describe.each(testBackends())('lease coordinator on %s', (backend) => {
  const logger = pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let a: LeaseCoordinator;
  let b: LeaseCoordinator;
  // Each test schedules a job of its own, so leftovers of one never decide another.
  let job: string;
  let jobs = 0;
  const slot = (second: number) => `${job}:2026-11-24T12:00:${String(second).padStart(2, '0')}.000Z`;

  beforeAll(async () => {
    database = await createTestDatabase(backend);
  });
  afterAll(async () => {
    await database?.close();
  });
  beforeEach(() => {
    job = `job${++jobs}`;
    a = createLeaseCoordinator({ db: database.db, owner: 'A' });
    b = createLeaseCoordinator({ db: database.db, owner: 'B' });
  });

  /** until `coordinator` is elected for the job (no slot), or `ms` pass */
  async function electedWithin(coordinator: LeaseCoordinator, ms: number): Promise<number | undefined> {
    const start = performance.now();
    while (performance.now() - start < ms) {
      if (await coordinator.shouldRun(job, SHORT)) return performance.now() - start;
      await sleep(25);
    }
    return undefined;
  }

  it('elects exactly one of two processes for a tick, and never runs that tick again', async () => {
    const won = await Promise.all([a.shouldRun(slot(0), LONG), b.shouldRun(slot(0), LONG)]);
    expect(won.filter(Boolean)).toHaveLength(1);
    const [winner, loser] = won[0] ? [a, b] : [b, a];
    await winner.onComplete(slot(0));
    expect(await loser.shouldRun(slot(0), LONG)).toBe(false);
    expect(await winner.shouldRun(slot(0), LONG)).toBe(false);
  });

  it('elects one process per tick over many racing ticks', async () => {
    for (let second = 0; second < 10; second++) {
      const won = await Promise.all([a, b].map((c) => c.shouldRun(slot(second), LONG)));
      expect(won.filter(Boolean)).toHaveLength(1);
      await (won[0] ? a : b).onComplete(slot(second));
    }
  });

  it('keeps a second run of the job, for any tick, waiting until the first completes', async () => {
    expect(await a.shouldRun(slot(0), LONG)).toBe(true);
    expect(await b.shouldRun(slot(1), LONG)).toBe(false);
    expect(await b.shouldRun(job, LONG)).toBe(false);
    expect(await a.shouldRun(slot(2), LONG)).toBe(false);
    await a.onComplete(slot(0));
    expect(await b.shouldRun(slot(3), LONG)).toBe(true);
    expect(await a.shouldRun(job, LONG)).toBe(false);
    await b.onComplete(slot(3));
    expect(await a.shouldRun(job, LONG)).toBe(true);
    await a.onComplete(job);
  });

  it('elects one of two runs asked for at once in the same process', async () => {
    const won = await Promise.all([a.shouldRun(job, LONG), a.shouldRun(slot(0), LONG)]);
    expect(won.filter(Boolean)).toHaveLength(1);
    await a.onComplete(job);
  });

  it('lets another process take over once a dead holder’s lease expires', async () => {
    const taken = performance.now();
    expect(await a.shouldRun(slot(0), SHORT)).toBe(true); // A is killed: it never completes
    expect(await b.shouldRun(slot(1), SHORT)).toBe(false);
    expect(await electedWithin(b, 2_000)).toBeDefined();
    // Not before the lease ran out, however slow the machine (timer granularity aside).
    expect(performance.now() - taken).toBeGreaterThanOrEqual(SHORT - 20);
    // Were A only stalled, it learns it has lost the lease, and its late completion frees nothing.
    expect(await a.renew(job, SHORT)).toBe(false);
    await a.onComplete(slot(0));
    expect(await createLeaseCoordinator({ db: database.db, owner: 'C' }).shouldRun(job, SHORT)).toBe(false);
    await b.onComplete(job);
  });

  it('tells whether another process holds a job, until its lease expires', async () => {
    expect(await b.heldElsewhere(job)).toBe(false);
    expect(await a.shouldRun(job, SHORT)).toBe(true);
    expect(await a.heldElsewhere(job)).toBe(false);
    expect(await b.heldElsewhere(job)).toBe(true);
    // Asked by one of the job's run keys, as for the job.
    expect(await b.heldElsewhere(slot(3))).toBe(true);
    await sleep(SHORT + 100);
    expect(await b.heldElsewhere(job)).toBe(false);
  });

  it('keeps a renewed lease past its ttl', async () => {
    // Wide margins: a loaded CI machine must not let a heartbeat arrive after the lease ran out.
    const ttl = 1_500;
    expect(await a.shouldRun(job, ttl)).toBe(true);
    for (let beat = 0; beat < 7; beat++) {
      await sleep(ttl / 5);
      expect(await a.renew(job, ttl)).toBe(true);
      expect(await b.shouldRun(job, ttl)).toBe(false);
    }
    // 2.1 s after it was taken, well past one ttl, the lease still held; once beats stop it goes.
    expect(await electedWithin(b, 5_000)).toBeDefined();
    await b.onComplete(job);
  });

  it('lets a restarted process with the same owner take its own stale lease at once', async () => {
    expect(await a.shouldRun(job, LONG)).toBe(true);
    const restarted = createLeaseCoordinator({ db: database.db, owner: 'A' });
    expect(await b.shouldRun(job, LONG)).toBe(false);
    expect(await restarted.shouldRun(job, LONG)).toBe(true);
    await restarted.onComplete(job);
  });

  it('judges expiry by the database clock, whatever the process clock says', async () => {
    const tomorrow = () => new Date(Date.now() + 86_400_000);
    const skewed = createLeaseCoordinator({ db: database.db, owner: 'S', clock: tomorrow });
    expect(await a.shouldRun(job, LONG)).toBe(true);
    expect(await skewed.shouldRun(job, LONG)).toBe(false);
    await a.onComplete(job);
  });

  it('collects rows whose time is up and keeps recent ticks and live leases', async () => {
    await database.db.insert(runLeases).values([
      { key: `${job}:2026-11-22T12:00:00.000Z`, owner: 'A', expiresAt: sql`now() - interval '1 hour'` },
      { key: `${job}:running`, owner: 'gone', expiresAt: sql`now() - interval '1 minute'` },
    ]);
    expect(await b.shouldRun(slot(0), LONG)).toBe(true);
    expect(await b.collectGarbage()).toBeGreaterThanOrEqual(1);
    const keys = async () =>
      (await database.db.select().from(runLeases).where(like(runLeases.key, `${job}:%`))).map((r) => r.key);
    expect((await keys()).sort()).toEqual([slot(0), `${job}:running`]);
    await b.onComplete(slot(0));
    expect(await keys()).toEqual([slot(0)]);
  });

  it('collects garbage on completion at most once per period', async () => {
    let now = new Date('2026-11-24T12:00:00Z');
    const c = createLeaseCoordinator({ db: database.db, owner: 'C', clock: () => now, gcEveryMs: 60_000 });
    const stale = async (key: string) =>
      database.db.insert(runLeases).values({ key, owner: 'X', expiresAt: sql`now() - interval '1 second'` });
    const remaining = async (key: string) =>
      (await database.db.select().from(runLeases).where(like(runLeases.key, key))).length;

    await stale(`${job}:old1`);
    expect(await c.shouldRun(job, LONG)).toBe(true);
    await c.onComplete(job);
    expect(await remaining(`${job}:old1`)).toBe(0);

    await stale(`${job}:old2`);
    expect(await c.shouldRun(job, LONG)).toBe(true);
    await c.onComplete(job);
    expect(await remaining(`${job}:old2`)).toBe(1);

    now = new Date(now.getTime() + 60_000);
    expect(await c.shouldRun(job, LONG)).toBe(true);
    await c.onComplete(job);
    expect(await remaining(`${job}:old2`)).toBe(0);
  });

  it('lets two schedulers run each tick at most once, never two runs at once, and stop cleanly', async () => {
    const runs: { owner: string; start: number; end?: number }[] = [];
    const elected: string[] = [];
    const processes = ['A', 'B'].map((owner) => {
      const leases = createLeaseCoordinator({ db: database.db, owner, logger });
      const coordinator: typeof leases = {
        ...leases,
        async shouldRun(key, ttlMs) {
          const won = await leases.shouldRun(key, ttlMs);
          if (won) elected.push(key);
          return won;
        },
      };
      return scheduleJob({
        name: 'sync',
        cron: '* * * * * *',
        coordinator,
        logger,
        leaseMs: 3_000,
        // A starts with a run, which B's ticks must wait for as they wait for each other's.
        runAtStart: owner === 'A',
        // Longer than a tick, so that the next tick finds the job still running.
        run: async (signal) => {
          const run: (typeof runs)[number] = { owner, start: performance.now() };
          runs.push(run);
          await sleep(1_200, undefined, { signal }).catch(() => {});
          run.end = performance.now();
        },
      });
    });

    await sleep(3_500);
    await Promise.all(processes.map((p) => p.stop()));

    expect(runs.length).toBeGreaterThanOrEqual(2);
    expect(runs.length).toBeLessThanOrEqual(elected.length);
    // Ticks are `sync:<slot>`; the start run is `sync`.
    const ticks = elected.filter((key) => key.startsWith('sync:'));
    expect(ticks.length).toBeGreaterThanOrEqual(1);
    expect(new Set(ticks).size).toBe(ticks.length);
    expect(elected.length - ticks.length).toBeLessThanOrEqual(1);
    for (const run of runs) expect(run.end).toBeDefined();
    const byStart = [...runs].sort((x, y) => x.start - y.start);
    for (let i = 1; i < byStart.length; i++) expect(byStart[i]!.start).toBeGreaterThanOrEqual(byStart[i - 1]!.end!);
    // Stopped: nobody still holds the job.
    expect(await database.db.select().from(runLeases).where(like(runLeases.key, 'sync:running'))).toEqual([]);
  });
});
