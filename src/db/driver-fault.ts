import type { Logger } from '../logger.js';

/**
 * postgres.js 3.4.x (node_modules/postgres/src/connection.js) buffers a small write and flushes it
 * from a setImmediate. When the connection's socket closes in between (a backend terminated, a
 * failover, a pooler restart), `closed()` has set the socket to null and the flush throws
 * `TypeError: Cannot read properties of null (reading 'write')` from the immediate callback: no
 * caller can catch it, so it reaches `uncaughtException` (porsager/postgres #1154, #1208, open in
 * the newest release). The query concerned has already been rejected with CONNECTION_CLOSED by
 * then, so the process can go on; but that connection never flushes again, so its pool must be
 * replaced (src/db/client.ts does, when told here).
 */
export function isPostgresClosedSocketWrite(err: unknown): boolean {
  if (!(err instanceof TypeError) || err.message !== "Cannot read properties of null (reading 'write')") return false;
  // The throwing frame, not any frame: the first line of the stack after the message.
  const frame = err.stack?.split('\n').find((line) => line.trimStart().startsWith('at '));
  return frame !== undefined && /\bnextWrite\b/.test(frame) && /[\\/]postgres[\\/](?:cjs[\\/])?src[\\/]connection\.js:\d+/.test(frame);
}

const listeners = new Set<() => void>();

/** Be told when a driver fault has left a connection unusable. Returns how to stop listening. */
export function onDriverFault(listener: () => void): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

/**
 * The process's last word on exceptions nobody caught: the postgres.js fault above is logged and
 * survived (its pools replaced); anything else is logged and ends the process with code 1, as Node
 * would have. Unhandled rejections arrive here too (Node's default turns them into exceptions).
 */
export function guardProcess(logger: Logger): void {
  process.on('uncaughtException', (err, origin) => {
    if (isPostgresClosedSocketWrite(err)) {
      logger.warn({ err }, 'database driver wrote to a closed connection (porsager/postgres #1208); carrying on with new connections');
      for (const listener of listeners) listener();
      return;
    }
    logger.fatal({ err, origin }, 'uncaught exception');
    process.exit(1);
  });
}
