/**
 * Statuses of one wallet's addresses that a server pushes together (a payment out and its change
 * back come as two) are applied together: each group's keys are collected until none came for
 * `delayMs` (or `maxDelayMs` after the first), then run as one batch. One batch per group runs at
 * a time; keys that come meanwhile make the next one.
 */
export interface DebouncedBatches {
  add(group: string, key: string): void;
  /** Drop what waits (a connection closed): nothing more runs. */
  clear(): void;
}

export function createDebouncedBatches({
  delayMs,
  maxDelayMs = delayMs * 5,
  run,
}: {
  delayMs: number;
  maxDelayMs?: number;
  run: (group: string, keys: string[]) => Promise<void>;
}): DebouncedBatches {
  const pending = new Map<string, { keys: Set<string>; firstAt: number; timer?: NodeJS.Timeout }>();
  const running = new Set<string>();
  let cleared = false;

  function schedule(group: string) {
    const batch = pending.get(group)!;
    clearTimeout(batch.timer);
    const wait = Math.max(0, Math.min(delayMs, batch.firstAt + maxDelayMs - Date.now()));
    batch.timer = setTimeout(() => fire(group), wait);
  }

  function fire(group: string) {
    const batch = pending.get(group);
    // A batch of this group still running: this one goes once it is done.
    if (!batch || running.has(group) || cleared) return;
    pending.delete(group);
    running.add(group);
    void run(group, [...batch.keys])
      .catch(() => {})
      .finally(() => {
        running.delete(group);
        if (pending.has(group)) schedule(group);
      });
  }

  return {
    add(group, key) {
      if (cleared) return;
      let batch = pending.get(group);
      if (!batch) pending.set(group, (batch = { keys: new Set(), firstAt: Date.now() }));
      batch.keys.add(key);
      schedule(group);
    },
    clear() {
      cleared = true;
      for (const batch of pending.values()) clearTimeout(batch.timer);
      pending.clear();
    },
  };
}
