/**
 * Builds the chain provider satbell uses: the configured services, in order, each paced by its own
 * rate limiter, behind failover.
 */
import type { Logger } from 'pino';
import { blockchainInfoPolicy, createBlockchainInfoProvider } from './blockchain-info.js';
import { createEsploraProvider, esploraPolicy } from './esplora.js';
import { createFailoverProvider, type FailoverProvider } from './failover.js';
import type { HttpOptions } from './http.js';
import type { Clock } from './limiter.js';

export type ProviderKind = 'esplora' | 'blockchain-info';
export const PROVIDER_KINDS: readonly ProviderKind[] = ['esplora', 'blockchain-info'];

export interface ChainProviderConfig {
  /** in order of preference; the next serves while one is failing */
  providers: readonly ProviderKind[];
  /** e.g. https://mempool.space/api */
  esploraUrl: string;
  /** e.g. https://blockchain.info */
  blockchainInfoUrl: string;
  /** override the pace for every provider (a number) or some; default: each service's policy */
  requestsPerSecond?: number | Partial<Record<ProviderKind, number>>;
  /** how long a failed provider is passed over; default 5 minutes */
  cooldownMs?: number;
  logger: Pick<Logger, 'debug' | 'info' | 'warn'>;
  fetch?: typeof fetch;
  clock?: Clock;
}

export function createChainProvider({
  providers,
  esploraUrl,
  blockchainInfoUrl,
  requestsPerSecond,
  cooldownMs,
  logger,
  fetch,
  clock,
}: ChainProviderConfig): FailoverProvider {
  if (providers.length === 0) throw new Error('at least one chain provider must be configured');
  const paceOf = (kind: ProviderKind) => (typeof requestsPerSecond === 'number' ? requestsPerSecond : requestsPerSecond?.[kind]);
  const common = (kind: ProviderKind): Partial<HttpOptions> => {
    const pace = paceOf(kind);
    return { logger, fetch, clock, ...(pace === undefined ? {} : { requestsPerSecond: pace }) };
  };

  const built = [...new Set(providers)].map((kind) =>
    kind === 'esplora'
      ? createEsploraProvider({ ...esploraPolicy, ...common(kind), baseUrl: esploraUrl })
      : createBlockchainInfoProvider({ ...blockchainInfoPolicy, ...common(kind), baseUrl: blockchainInfoUrl }),
  );
  return createFailoverProvider(built, { logger, cooldownMs, now: clock && (() => clock.now()) });
}
