import type { Logger } from 'pino';
import type { ChainProvider } from '../chain/provider.js';
import type { Now, WalletService } from '../wallet/service.js';
import { groupByWallet, walletIds } from './wallet-groups.js';

export interface SyncReport {
  addresses: number;
  refreshed: number;
  failed: number;
  added: number;
  confirmed: number;
  vanished: number;
  /** stored confirmed txs the chain does not have, removed when a complete history said so */
  removed: number;
  /** the chain's tip as asked this pass; null when not needed or not answered */
  tipHeight: number | null;
  /** stored txs given their block's time in place of a first-seen one */
  blockTimes: number;
}

/**
 * The sync's share of each provider: a queue of its own, taking turns with people's commands (a
 * command that starts waiting goes before the sync's next request), and more patience than a
 * person has, since nobody waits on it; a pause longer than that is left to the next pass.
 */
const SYNC_REQUEST = { key: 'sync', background: true, preferWaitMs: 60_000, maxWaitMs: 10 * 60_000 } as const;

/**
 * How often an address waiting on a confirmation is read again when no block came: a payment
 * replaced by one of the same amount, or evicted along with its count, moves no balance.
 */
export const UNCONFIRMED_RECHECK_MS = 30 * 60_000;

/**
 * Blocks whose time is asked per pass for stored txs that show a first-seen time (Blockchain.com
 * gives block times for the newest blocks of a history only): one paced call each, so a long
 * history is mended over a few passes without crowding people's commands.
 */
export const BLOCK_TIMES_PER_PASS = 5;

/**
 * One pass over every tracked address: ask for all balances in as few calls as the provider
 * allows, then fetch new transactions only for addresses whose balance or transaction count moved,
 * whose stored rows disagree with each other (something wrong got in: the refresh mends it), or
 * that still have unconfirmed transactions and may see them confirm: once the chain's tip moved
 * past the last read (asked once a pass), or every half hour to see one vanish. Moved addresses go
 * first, so that a payment is never kept waiting behind a confirmation. A wallet's addresses are
 * fetched one by one but stored in one transaction. One failing address (or wallet) never fails
 * the pass: it is logged and retried next time.
 */
export function createSync({
  wallet,
  provider,
  logger,
  clock = () => new Date(),
  isCurrent,
}: {
  wallet: WalletService;
  provider: ChainProvider;
  logger: Logger;
  clock?: Now;
  /**
   * With push on (src/sync/push.ts): the address is subscribed and stored as the server has it,
   * so the pass leaves it alone and an idle reconciliation makes no HTTP call.
   */
  isCurrent?: (address: string, storedStatus: string | null) => boolean;
}) {
  /** the tip, or undefined when the provider cannot say: then every waiting address is read, as it may have confirmed */
  async function tipHeight(signal?: AbortSignal): Promise<number | undefined> {
    try {
      return await provider.getTipHeight({ ...SYNC_REQUEST, signal });
    } catch (err) {
      signal?.throwIfAborted();
      logger.warn({ err }, 'could not ask the chain tip; reading every address that waits on a confirmation');
      return undefined;
    }
  }

  /** A few stored first-seen times replaced by their block's; a failure leaves them for the next pass. */
  async function mendBlockTimes(signal?: AbortSignal): Promise<number> {
    if (!provider.getBlockTimes) return 0;
    try {
      const heights = await wallet.heightsLackingBlockTime(BLOCK_TIMES_PER_PASS);
      if (!heights.length) return 0;
      return await wallet.storeBlockTimes(await provider.getBlockTimes(heights, { ...SYNC_REQUEST, signal }));
    } catch (err) {
      signal?.throwIfAborted();
      logger.warn({ err }, 'could not ask block times; will retry next time');
      return 0;
    }
  }

  return async function syncAll(signal?: AbortSignal): Promise<SyncReport> {
    const all = await wallet.trackedAddresses();
    const tracked = isCurrent ? all.filter((a) => !isCurrent(a.address, a.electrumStatus)) : all;
    const report: SyncReport = {
      addresses: tracked.length,
      refreshed: 0,
      failed: 0,
      added: 0,
      confirmed: 0,
      vanished: 0,
      removed: 0,
      tipHeight: null,
      blockTimes: 0,
    };
    if (!tracked.length) {
      if (all.length) logger.info({ ...report, pushed: all.length }, 'sync done: push has every address as stored');
      return report;
    }

    const live = await provider.getBalances(
      tracked.map((a) => a.address),
      { ...SYNC_REQUEST, signal },
    );
    const moved = (a: (typeof tracked)[number]) => {
      const now = live.get(a.address);
      return !now || now.balance !== a.balance || now.txCount !== a.txCount;
    };
    await wallet.markChecked(tracked.filter((a) => !moved(a)));
    const urgent = tracked.filter((a) => moved(a) || a.inconsistent);
    const waiting = tracked.filter((a) => !moved(a) && !a.inconsistent && a.hasUnconfirmed);
    // Asked after the balances but before any history: a history read after it is at least that recent.
    const tip = urgent.length || waiting.length ? await tipHeight(signal) : undefined;
    report.tipHeight = tip ?? null;
    const stale = clock().getTime() - UNCONFIRMED_RECHECK_MS;
    const due = waiting.filter(
      (a) => tip === undefined || a.txsTipHeight !== tip || !a.txsUpdatedAt || a.txsUpdatedAt.getTime() <= stale,
    );

    // A wallet's addresses are stored together: a payment out with its change back is one notice.
    const work = [...urgent, ...due].map((a) => ({ address: a.address, wallets: walletIds(a.wallets) }));
    const inWallet = new Set(work.filter((w) => w.wallets.length).map((w) => w.address));
    for (const group of groupByWallet(work)) {
      if (signal?.aborted) break;
      try {
        const request = { ...SYNC_REQUEST, signal };
        const changes =
          group.length === 1 && !inWallet.has(group[0]!)
            ? [await wallet.refresh(group[0]!, request, { tipHeight: tip })]
            : await wallet.refreshMany(group, request, { tipHeight: tip });
        report.refreshed += group.length;
        for (const c of changes) {
          report.added += c.added.length;
          report.confirmed += c.confirmed.length;
          report.vanished += c.vanished.length;
          report.removed += c.removed.length;
        }
      } catch (err) {
        if (signal?.aborted) break;
        report.failed += group.length;
        logger.warn({ err, address: group[0], addresses: group.length }, 'sync of an address failed; will retry next time');
      }
    }
    if (!signal?.aborted) report.blockTimes = await mendBlockTimes(signal);
    // An aborted pass is not a completed one: say so to the scheduler (what it stored is kept).
    signal?.throwIfAborted();
    logger.info(isCurrent ? { ...report, pushed: all.length - tracked.length } : report, 'sync done');
    return report;
  };
}
