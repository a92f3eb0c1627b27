/**
 * The original strategy, kept only to be measured against: two calls per address, every address,
 * every cycle. `/balance?active=<one address>` then `/rawaddr/<address>`, over HTTP to the same
 * fake, through the same rate limiter as satbell's provider, so its calls and its time are real.
 */
import { createRateLimiter } from '../src/chain/providers/limiter.js';

export interface BaselineOptions {
  baseUrl: string;
  /** requests in flight at once (the original made them one after the other) */
  concurrency: number;
  /** request starts per second; Infinity: unpaced */
  requestsPerSecond: number;
}

export interface BaselineCycle {
  calls: number;
  failed: number;
}

export function createBaseline({ baseUrl, concurrency, requestsPerSecond }: BaselineOptions) {
  const limiter = createRateLimiter({ requestsPerSecond, concurrency });

  async function get(path: string, counts: BaselineCycle): Promise<void> {
    const release = await limiter.acquire();
    try {
      counts.calls += 1;
      const response = await fetch(`${baseUrl}${path}`, { headers: { accept: 'application/json' } });
      const text = await response.text();
      if (!response.ok) counts.failed += 1;
      else JSON.parse(text); // the original read every answer
    } catch {
      counts.failed += 1;
    } finally {
      release();
    }
  }

  return async function baselineCycle(addresses: readonly string[]): Promise<BaselineCycle> {
    const counts: BaselineCycle = { calls: 0, failed: 0 };
    let next = 0;
    const worker = async () => {
      while (next < addresses.length) {
        const address = encodeURIComponent(addresses[next++]!);
        await get(`/balance?active=${address}`, counts);
        await get(`/rawaddr/${address}`, counts);
      }
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, addresses.length) }, worker));
    return counts;
  };
}
