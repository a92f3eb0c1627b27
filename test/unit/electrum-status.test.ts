import { describe, expect, it } from 'vitest';
import { historyStatus, statusAsListed, statusOrder, type HistoryEntry } from '../../src/chain/electrum/status.js';

/** protocol-basics.rst, "Status Example": get_history as the server listed it */
const specHistory: HistoryEntry[] = [
  { txHash: 'a6c9c361bd0bc536d6a22648efbf8f9b200e425ef6c3a7a9669dc444c532a347', height: 2472 },
  { txHash: '9c42f84b2fcdaff676ba25d9d4941741cc0d1a01cce0c23fdc4c0b2afa38431c', height: 2473 },
  { txHash: '770f2d4371b3fabb902dd9a103e2dd005fcd3971181078fca4a2a1d6ff127b30', height: 2473 },
  { txHash: '80b19848aed792565ab7c5a79b7c2a00fbf985741579396ebe0ab6098e607311', height: 0 },
  { txHash: 'e02a1dadfa83b996b24175df807b271ea5d02937ef5b35c195fac1e1bdc3198f', height: 0 },
  { txHash: 'bb4c8ab438c13b89ca80d1d5bee25b0b6b7f55673f4d801998ba97db161d9e85', height: -1 },
];
const SPEC_STATUS = '78e96c6562cafa71c115503b9411fdfdc595a45031e2ab76ff75162fe1b0590d';

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
