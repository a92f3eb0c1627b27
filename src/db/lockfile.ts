import { closeSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';

/**
 * An exclusive, crash-tolerant lock on a path: the file holds the owner's pid. A lock whose owner is
 * gone (kill -9, power loss) is taken over; a lock whose owner is alive is refused.
 */
export class LockedError extends Error {
  override readonly name = 'LockedError';
}

export function acquireLockFile(path: string, what: string): () => void {
  for (let attempt = 0; attempt < 5; attempt++) {
    try {
      const fd = openSync(path, 'wx');
      writeSync(fd, `${process.pid}\n`);
      closeSync(fd);
      return () => release(path);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const owner = readOwner(path);
    if (owner !== undefined && isAlive(owner)) {
      throw new LockedError(
        `${what} is in use by ${owner === process.pid ? 'this' : 'another'} satbell process (pid ${owner}). Stop that process first, ` +
          `or point DATABASE_URL at another directory. The lock is ${path}.`,
      );
    }
    // Stale: its owner died without cleaning up. Remove it and race for it again.
    try {
      unlinkSync(path);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
  }
  throw new LockedError(`Could not take the lock ${path} for ${what}: another process keeps taking it.`);
}

function release(path: string): void {
  // Only remove our own lock: a process that wrongly took it over must keep it.
  if (readOwner(path) === process.pid) unlinkSync(path);
}

function readOwner(path: string): number | undefined {
  try {
    const pid = Number.parseInt(readFileSync(path, 'utf8').trim(), 10);
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it exists but belongs to someone else.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
