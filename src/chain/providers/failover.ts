/**
 * Several providers behind one: the first healthy one in the list serves. One that fails is set
 * aside for a cooldown while the next serves, then gets the next call again, so the preferred
 * provider comes back by itself once it answers. One that is paused (its Retry-After, or our
 * pause after its 429) is passed over until the pause is over, however short the cooldown; and
 * a call that says how long it would rather wait goes past one whose queue is longer than that.
 */
import type { Logger } from 'pino';
import { ProviderError, ProviderWaitError, requestOptions, type ChainProvider, type HistoriesOptions, type RequestOptions } from '../provider.js';

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
  /** every provider, in the order they are preferred: for an admin asking why replies come from where they do */
  status(): ProviderStatus[];
}

export interface ProviderStatus {
  name: string;
  /** set aside after failing: not asked before then unless every other one fails too */
  restingUntil?: Date;
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

  /**
   * The healthy, unpaused ones whose wait is short enough, in order; then the others of them,
   * shortest wait first; then (when every one failed lately or is paused) the rest, shortest wait
   * first, so that a call is refused, or waits, only when no provider can serve it sooner.
   */
  function order({ key, background, preferWaitMs = Infinity }: RequestOptions): number[] {
    const t = now();
    const candidates = providers.map((p, i) => ({
      i,
      wait: p.estimatedWaitMs?.(key, { background }) ?? 0,
      ready: (restingUntil.get(i) ?? -Infinity) <= t && !((p.pausedMs?.() ?? 0) > 0),
    }));
    const byWait = (a: { wait: number }, b: { wait: number }) => a.wait - b.wait;
    const ready = candidates.filter((c) => c.ready);
    return [
      ...ready.filter((c) => c.wait <= preferWaitMs),
      ...ready.filter((c) => c.wait > preferWaitMs).sort(byWait),
      ...candidates.filter((c) => !c.ready).sort(byWait),
    ].map((c) => c.i);
  }

  async function call<T>(
    what: string,
    request: RequestOptions,
    run: (provider: ChainProvider) => Promise<T>,
    /** only these providers can serve the call (an optional one) */
    can: (provider: ChainProvider) => boolean = () => true,
  ): Promise<T> {
    const { signal } = request;
    const failures: ProviderError[] = [];
    for (const i of order(request).filter((i) => can(providers[i]!))) {
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
        // Not asked at all, so not unwell: its pause or queue keeps it out of the next call's way.
        if (err instanceof ProviderWaitError) continue;
        // A Retry-After longer than the cooldown is the service's word: no call before it passes.
        const restMs = Math.max(cooldownMs, err.waitMs ?? 0);
        restingUntil.set(i, now() + restMs);
        if (providers.length > 1) logger?.warn({ err, provider: provider.name, what, cooldownMs: restMs }, 'provider failed; trying the next');
      }
    }
    if (failures.length === 1) throw failures[0]!;
    // Every one asked us to wait: the one that can serve soonest says how long.
    if (failures.every((f) => f.waitMs !== undefined)) throw failures.reduce((a, b) => (b.waitMs! < a.waitMs! ? b : a));
    throw new ProviderError(
      providers.map((p) => p.name).join(', '),
      `every provider failed: ${failures.map((f) => f.message).join('; ')}`,
      failures.at(-1)?.status,
      { cause: new AggregateError(failures), failure: failures.every((f) => f.failure === failures[0]!.failure) ? failures[0]!.failure : 'mixed' },
    );
  }

  return {
    get name() {
      return lastServedBy ?? first.name;
    },
    get lastServedBy() {
      return lastServedBy;
    },
    status() {
      const t = now();
      return providers.map((p, i) => {
        const until = restingUntil.get(i) ?? -Infinity;
        return until > t ? { name: p.name, restingUntil: new Date(until) } : { name: p.name };
      });
    },
    getBalances: (addresses, request) => {
      const options = requestOptions(request);
      return call('balances', options, (p) => p.getBalances(addresses, options));
    },
    getHistory: (address, options = {}) => call('history', options, (p) => p.getHistory(address, options)),
    ...(providers.some((p) => p.getHistories)
      ? {
          getHistories: (addresses: readonly string[], options: HistoriesOptions = {}) =>
            call('histories', options, (p) => p.getHistories!(addresses, options), (p) => p.getHistories !== undefined),
        }
      : {}),
    getTipHeight: (request = {}) => call('tip height', request, (p) => p.getTipHeight(request)),
    ...(providers.some((p) => p.getBlockTimes)
      ? {
          getBlockTimes: (heights: readonly number[], request: RequestOptions = {}) =>
            call('block times', request, (p) => p.getBlockTimes!(heights, request), (p) => p.getBlockTimes !== undefined),
        }
      : {}),
    estimatedWaitMs: (key, lane) => Math.min(...providers.map((p) => p.estimatedWaitMs?.(key, lane) ?? 0)),
    pausedMs: () => Math.min(...providers.map((p) => p.pausedMs?.() ?? 0)),
  };
}
