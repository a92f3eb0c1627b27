/**
 * Share one call among everyone who asks for the same key at once, and reuse its result for a
 * few seconds: ten people pressing fresh:true together cost the provider one request. Failures
 * are shared by those already waiting but never cached.
 */
export function createCoalescer<T>({ ttlMs, now = () => Date.now() }: { ttlMs: number; now?: () => number }) {
  const inflight = new Map<string, Promise<T>>();
  const cache = new Map<string, { value: T; at: number }>();

  return {
    get(key: string, load: () => Promise<T>, { useCache = true } = {}): Promise<T> {
      const cached = cache.get(key);
      if (useCache && cached && now() - cached.at < ttlMs) return Promise.resolve(cached.value);
      const running = inflight.get(key);
      if (running) return running;
      const promise = load().then(
        (value) => {
          cache.set(key, { value, at: now() });
          return value;
        },
      );
      inflight.set(key, promise);
      // Whatever happens, the next caller starts afresh; old entries are dropped as they expire.
      void promise.finally(() => {
        inflight.delete(key);
        for (const [k, v] of cache) if (now() - v.at >= ttlMs) cache.delete(k);
      }).catch(() => {});
      return promise;
    },
  };
}
