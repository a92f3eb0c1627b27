import type { Logger } from 'pino';
import type { ChainProvider } from '../chain/provider.js';
import type { WalletService } from '../wallet/service.js';

export interface SyncReport {
  addresses: number;
  refreshed: number;
  failed: number;
  added: number;
  confirmed: number;
  vanished: number;
  /** stored confirmed txs the chain does not have, removed when a complete history said so */
  removed: number;
}

/**
 * The sync's share of each provider: a queue of its own, taking turns with people's commands, and
 * more patience than a person has, since nobody waits on it; a pause longer than that is left to
 * the next pass.
 */
const SYNC_REQUEST = { key: 'sync', preferWaitMs: 60_000, maxWaitMs: 10 * 60_000 } as const;

/**
 * One pass over every tracked address: ask for all balances in as few calls as the provider
 * allows, then fetch new transactions only for addresses whose balance or transaction count moved,
 * that still have unconfirmed transactions (to see them confirm or vanish), or whose stored rows
 * disagree with each other (something wrong got in: the refresh mends it). One failing address
 * never fails the pass: it is logged and retried next time.
 */
export function createSync({ wallet, provider, logger }: { wallet: WalletService; provider: ChainProvider; logger: Logger }) {
  return async function syncAll(signal?: AbortSignal): Promise<SyncReport> {
    const tracked = await wallet.trackedAddresses();
    const report: SyncReport = { addresses: tracked.length, refreshed: 0, failed: 0, added: 0, confirmed: 0, vanished: 0, removed: 0 };
    if (!tracked.length) return report;

    const live = await provider.getBalances(
      tracked.map((a) => a.address),
      { ...SYNC_REQUEST, signal },
    );
    for (const stored of tracked) {
      if (signal?.aborted) break;
      const now = live.get(stored.address);
      const moved = !now || now.balance !== stored.balance || now.txCount !== stored.txCount;
      if (!moved && !stored.hasUnconfirmed && !stored.inconsistent) continue;
      try {
        const changes = await wallet.refresh(stored.address, { ...SYNC_REQUEST, signal });
        report.refreshed++;
        report.added += changes.added.length;
        report.confirmed += changes.confirmed.length;
        report.vanished += changes.vanished.length;
        report.removed += changes.removed.length;
      } catch (err) {
        if (signal?.aborted) break;
        report.failed++;
        logger.warn({ err, address: stored.address }, 'sync of an address failed; will retry next time');
      }
    }
    // An aborted pass is not a completed one: say so to the scheduler (what it stored is kept).
    signal?.throwIfAborted();
    logger.info(report, 'sync done');
    return report;
  };
}
