/**
 * "Notices were written": the apply use case says so after its transaction commits, and the
 * notice dispatcher listens, to look at once rather than at its next poll. Made before both, so
 * neither has to wait for the other to exist.
 */
export interface NoticeSignal {
  notify(): void;
  /** Hear every notify() from now on; returns the function that stops listening. */
  listen(listener: () => void): () => void;
}

export function createNoticeSignal(): NoticeSignal {
  const listeners = new Set<() => void>();
  return {
    notify() {
      for (const listener of listeners) listener();
    },
    listen(listener) {
      // A wrapper of its own, so that two listens of one function stop independently.
      const entry = () => listener();
      listeners.add(entry);
      return () => void listeners.delete(entry);
    },
  };
}
