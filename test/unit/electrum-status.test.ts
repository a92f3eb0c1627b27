import { describe, expect, it } from 'vitest';
import { historyStatus, statusAsListed, statusOrder, type HistoryEntry } from '../../src/chain/electrum/status.js';
import { specHistory as listed, specStatus } from '../support/electrum-spec.js';

/** the spec's status example, get_history as the server listed it */
const specHistory: HistoryEntry[] = listed.map(({ txid, height }) => ({ txid, height }));

const SPEC_STATUS = specStatus;

describe('Electrum status', () => {
  it('gives the spec’s worked example its status', () => {
    expect(historyStatus(specHistory)).toBe(SPEC_STATUS);
    expect(statusAsListed(specHistory)).toBe(SPEC_STATUS);
  });

  it('is null for an empty history', () => {
    expect(historyStatus([])).toBeNull();
    expect(statusAsListed([])).toBeNull();
  });

  it('orders the mempool by (-height, tx_hash) and blocks by height, keeping a block’s own order', () => {
    const [a, b, c, d, e, f] = specHistory as [HistoryEntry, HistoryEntry, HistoryEntry, HistoryEntry, HistoryEntry, HistoryEntry];
    const shuffled = [f, e, b, d, c, a];
    expect(statusOrder(shuffled)).toEqual([a, b, c, d, e, f]);
    expect(historyStatus(shuffled)).toBe(SPEC_STATUS);
    // As listed, the same entries hash to something else: the order is part of the status.
    expect(statusAsListed(shuffled)).not.toBe(SPEC_STATUS);
  });

  it('changes when a transaction confirms, leaves or is added', () => {
    const confirmed = specHistory.map((e) => (e.height === 0 ? { ...e, height: 2474 } : e));
    expect(historyStatus(confirmed)).not.toBe(SPEC_STATUS);
    expect(historyStatus(specHistory.slice(0, 5))).not.toBe(SPEC_STATUS);
  });
});
