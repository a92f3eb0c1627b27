/**
 * Several providers behind one: the first healthy one in the list serves. One that fails is set
 * aside for a cooldown while the next serves, then gets the next call again, so the preferred
 * provider comes back by itself once it answers.
 */
import type { Logger } from 'pino';
import { ProviderError, type ChainProvider } from '../provider.js';

export interface FailoverOptions {
  logger?: Pick<Logger, 'info' | 'warn'>;
  /** how long a failed provider is passed over; default 5 minutes */
  cooldownMs?: number;
  /** milliseconds, as Date.now() */
  now?: () => number;
}

export interface FailoverProvider extends ChainProvider {
  /** the provider that answered the last successful call, or the first one before any call */
  readonly name: string;
  /** the provider that answered the last successful call */
  readonly lastServedBy: string | undefined;
  /** names of the providers being passed over right now */
  unhealthy(): string[];
}

export function createFailoverProvider(
  providers: readonly ChainProvider[],
  { logger, cooldownMs = 5 * 60_000, now = Date.now }: FailoverOptions = {},
): FailoverProvider {
  const first = providers[0];
  if (!first) throw new Error('failover needs at least one provider');
  /** index → time it may serve again */
  const restingUntil = new Map<number, number>();
  let lastServedBy: string | undefined;

  /** the healthy ones in order, then (when every one failed lately) the resting ones in order */
  function order(): number[] {
    const t = now();
    const indexes = providers.map((_, i) => i);
    const healthy = indexes.filter((i) => (restingUntil.get(i) ?? -Infinity) <= t);
    return [...healthy, ...indexes.filter((i) => !healthy.includes(i))];
  }

  async function call<T>(what: string, signal: AbortSignal | undefined, run: (provider: ChainProvider) => Promise<T>): Promise<T> {
    const failures: ProviderError[] = [];
    for (const i of order()) {
      const provider = providers[i]!;
      try {
        const result = await run(provider);
        if (restingUntil.delete(i)) logger?.info({ provider: provider.name }, 'provider is serving again');
        if (lastServedBy !== provider.name && lastServedBy !== undefined) {
          logger?.info({ provider: provider.name, previous: lastServedBy }, 'now served by another provider');
        }
        lastServedBy = provider.name;
        return result;
      } catch (err) {
        // The caller's abort, or a bug, is no sign the provider is unwell: pass it on untouched.
        if (signal?.aborted || !(err instanceof ProviderError)) throw err;
        failures.push(err);
        restingUntil.set(i, now() + cooldownMs);
        if (providers.length > 1) logger?.warn({ err, provider: provider.name, what, cooldownMs }, 'provider failed; trying the next');
      }
    }
    if (failures.length === 1) throw failures[0]!;
    throw new ProviderError(
      providers.map((p) => p.name).join(', '),
      `every provider failed: ${failures.map((f) => f.message).join('; ')}`,
      failures.at(-1)?.status,
      { cause: new AggregateError(failures) },
    );
  }

  return {
    get name() {
      return lastServedBy ?? first.name;
    },
    get lastServedBy() {
      return lastServedBy;
    },
    unhealthy() {
      const t = now();
      return providers.filter((_, i) => (restingUntil.get(i) ?? -Infinity) > t).map((p) => p.name);
    },
    getBalances: (addresses, signal) => call('balances', signal, (p) => p.getBalances(addresses, signal)),
    getHistory: (address, options) => call('history', options?.signal, (p) => p.getHistory(address, options)),
  };
}
