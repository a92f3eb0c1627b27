/**
 * Made-up histories for database tests that store through the one road (apply-history.ts): a
 * clock that moves a minute per store, fresh addresses and txids of the file's own, and the
 * provider's answer for an address whose transactions (newest first) are given.
 */
import { createHash } from 'node:crypto';
import type { AddressHistory, ChainTx } from '../../src/chain/provider.js';
import { testAddress } from './addresses.js';

export function historyFixtures(prefix: string, { start, fee }: { start: string; fee: bigint }) {
  let clock = Date.parse(start);
  let seed = 0;
  return {
    /** the clock, as milliseconds */
    now: () => clock,
    /** a minute later: the time of the next store */
    tick: () => new Date((clock += 60_000)),
    /** a number no other call in the file has had */
    next: () => ++seed,
    fresh: () => testAddress(`${prefix}-${++seed}`),
    newTxid: () => createHash('sha256').update(`${prefix}-tx-${++seed}`).digest('hex'),
    /** a transaction moving `net` for the address it is given to; unconfirmed unless a height is given */
    tx(net: bigint, opts: { blockHeight?: number | null; fee?: bigint; txid?: string } = {}): ChainTx {
      return {
        txid: opts.txid ?? createHash('sha256').update(`${prefix}-tx-${++seed}`).digest('hex'),
        blockHeight: opts.blockHeight ?? null,
        time: new Date(clock + 1_000 * ++seed),
        timeIsBlockTime: (opts.blockHeight ?? null) !== null,
        fee: opts.fee ?? fee,
        net,
      };
    },
  };
}

/** What a provider says of an address whose transactions (newest first) are `txs`, all of them. */
export function historyOf(address: string, txs: ChainTx[]): AddressHistory {
  const balance = txs.reduce((sum, t) => sum + t.net, 0n);
  return {
    balance: { address, balance, txCount: txs.length, totalReceived: txs.reduce((s, t) => s + (t.net > 0n ? t.net : 0n), 0n) },
    txs,
    complete: true,
  };
}
