/** MAX_ADDRESSES_PER_GUILD, held against tracks typed at the same time. */
import { createTooManyAddressesError, createWalletTooBigError } from '../errors.js';

/** Holds a place under the cap; call it to give the place back. */
export type Release = () => void;

/** Places held under the cap, and how many addresses fitted when they were taken. */
export interface Reservation {
  release: Release;
  /** the places free when reserved, these included (Infinity: no cap) */
  room: number;
}

/**
 * Places under a server's cap, held while the history is fetched (or a wallet scanned), so that
 * tracks typed at once cannot pass the cap together. Checked before any provider call. Checks
 * and releases take turns per server: a release waits for a count that may have been read before
 * its watch was stored, so no watch is ever counted neither as stored nor as in flight. `places`:
 * one for an address; for a wallet, the fewest addresses it can watch (its gap on each chain).
 */
export function createTrackCap(max: number, storedCount: (guildId: string) => Promise<number>) {
  /** per server, places taken by tracks that passed the cap check and are still fetching */
  const tracking = new Map<string, number>();
  const turns = createSerialQueue();
  return async function reserve(guildId: string, places = 1): Promise<Reservation> {
    if (max === Infinity) return { release: () => {}, room: Infinity };
    const room = await turns.run(guildId, async () => {
      const free = max - (await storedCount(guildId)) - (tracking.get(guildId) ?? 0);
      if (free < places) throw places === 1 ? createTooManyAddressesError(max) : createWalletTooBigError(max, places, Math.max(0, free));
      tracking.set(guildId, (tracking.get(guildId) ?? 0) + places);
      return free;
    });
    const release = () =>
      void turns.run(guildId, () => {
        const left = (tracking.get(guildId) ?? places) - places;
        if (left > 0) tracking.set(guildId, left);
        else tracking.delete(guildId);
      });
    return { release, room };
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
