/**
 * Run as a process of its own (`tsx test/support/closed-socket-write.ts <database url>`): the
 * deterministic reproduction of porsager/postgres #1208 through satbell's own database client and
 * process guard. A transaction's backend is terminated while a query of it runs; postgres.js then
 * writes the transaction's ROLLBACK to the closed socket from a setImmediate. Prints one JSON line:
 * what the transaction failed with, how many faults the guard saw, and how 20 queries at once (every
 * connection of the pool, the broken one included) fared afterwards.
 */
import { sql } from 'drizzle-orm';
import postgres from 'postgres';
import { APPLICATION_NAME, openDatabase } from '../../src/db/client.js';
import { guardProcess, onDriverFault } from '../../src/db/driver-fault.js';
import { createLogger } from '../../src/logger.js';

const url = process.argv[2]!;
guardProcess(createLogger('silent'));
let faults = 0;
onDriverFault(() => faults++);
const database = await openDatabase(url);
const killer = postgres(url, { max: 1, onnotice: () => {} });

const codeOf = (err: unknown): string => {
  for (let e = err; e instanceof Error; e = e.cause) {
    const { code } = e as { code?: unknown };
    if (typeof code === 'string') return code;
  }
  return String(err);
};

let pid: number | undefined;
const transaction = database.db
  .transaction(async (tx) => {
    const [row] = (await tx.execute(sql`select pg_backend_pid() as pid`)) as unknown as { pid: number }[];
    pid = row!.pid;
    await tx.execute(sql`select pg_sleep(2)`);
  })
  .then(
    () => 'committed',
    (err: unknown) => codeOf(err),
  );
while (pid === undefined) await new Promise((r) => setTimeout(r, 20));
await killer`select pg_terminate_backend(${pid}) where exists (select 1 from pg_stat_activity where pid = ${pid} and application_name = ${APPLICATION_NAME})`;
const failedWith = await transaction;
await new Promise((r) => setTimeout(r, 200));

const started = performance.now();
const after = await Promise.all(
  Array.from({ length: 20 }, () =>
    database.db.execute(sql`select pg_sleep(0.05)`).then(
      () => 'ok',
      (err: unknown) => codeOf(err),
    ),
  ),
);
const afterMs = Math.round(performance.now() - started);
console.log(JSON.stringify({ failedWith, faults, after, afterMs }));
await killer.end();
await database.close();
process.exit(0);
