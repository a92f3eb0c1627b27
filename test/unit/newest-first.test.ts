import { describe, expect, it } from 'vitest';
import type { ChainTx } from '../../src/chain/provider.js';
import { newestFirst } from '../../src/wallet/apply-history.js';

const tx = (txid: string, blockHeight: number | null, minute: number): ChainTx => ({
  txid,
  blockHeight,
  time: new Date(Date.UTC(2026, 11, 1, 12, minute)),
  timeIsBlockTime: blockHeight !== null,
  fee: 100n,
  net: 1n,
});

describe('newestFirst', () => {
  it("merges several addresses' new transactions newest first, each once", () => {
    const payment = tx('pay', null, 5);
    const later = tx('later', null, 9);
    const mined = tx('mined', 880_001, 1);
    const older = tx('older', 880_000, 3);
    expect(newestFirst([[payment, mined], [later, { ...payment, net: -5n }], [older]]).map((t) => t.txid)).toEqual(['later', 'pay', 'mined', 'older']);
  });

  it('keeps the order the lists give transactions of one block at one time', () => {
    const [a, b, c] = ['a', 'b', 'c'].map((id) => tx(id, 880_000, 0));
    expect(newestFirst([[b!, a!], [c!]]).map((t) => t.txid)).toEqual(['b', 'a', 'c']);
  });
});
