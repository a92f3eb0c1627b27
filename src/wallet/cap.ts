/** MAX_ADDRESSES_PER_GUILD, held against tracks typed at the same time. */
import { createTooManyAddressesError } from '../errors.js';

/** Holds a place under the cap; call it to give the place back. */
export type Release = () => void;

/**
 * A place under a server's cap, held while the history is fetched, so that tracks typed at once
 * cannot pass the cap together. Checked before any provider call. Checks and releases take turns
 * per server: a release waits for a count that may have been read before its watch was stored,
 * so no watch is ever counted neither as stored nor as in flight.
 */
export function createTrackCap(max: number, storedCount: (guildId: string) => Promise<number>) {
  /** per server, tracks that passed the cap check and are still fetching: they count against it */
  const tracking = new Map<string, number>();
  const turns = createSerialQueue();
  return async function reserve(guildId: string): Promise<Release> {
    if (max === Infinity) return () => {};
    await turns.run(guildId, async () => {
      if ((await storedCount(guildId)) + (tracking.get(guildId) ?? 0) >= max) throw createTooManyAddressesError(max);
      tracking.set(guildId, (tracking.get(guildId) ?? 0) + 1);
    });
    return () =>
      void turns.run(guildId, () => {
        const left = (tracking.get(guildId) ?? 1) - 1;
        if (left > 0) tracking.set(guildId, left);
        else tracking.delete(guildId);
      });
  };
}

/** Runs functions one after another per key, each after the last one of its key settled. */
function createSerialQueue() {
  const tails = new Map<string, Promise<unknown>>();
  return {
    run<T>(key: string, fn: () => T | Promise<T>): Promise<T> {
      const result = (tails.get(key) ?? Promise.resolve()).then(fn);
      const tail = result.catch(() => {});
      tails.set(key, tail);
      void tail.then(() => {
        if (tails.get(key) === tail) tails.delete(key);
      });
      return result;
    },
  };
}
