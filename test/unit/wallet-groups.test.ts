import { describe, expect, it } from 'vitest';
import { groupByWallet, walletGroupNames, walletIds } from '../../src/sync/wallet-groups.js';

describe('groupByWallet', () => {
  it('keeps an address of no wallet on its own, and puts a wallet\'s addresses together in the order they came', () => {
    expect(
      groupByWallet([
        { address: 'a', wallets: [] },
        { address: 'w1', wallets: ['1'] },
        { address: 'b', wallets: [] },
        { address: 'w2', wallets: ['1'] },
      ]),
    ).toEqual([['a'], ['w1', 'w2'], ['b']]);
  });

  it('joins two wallets that share an address, however late the shared one comes', () => {
    expect(
      groupByWallet([
        { address: 'x', wallets: ['2'] },
        { address: 'y', wallets: ['3'] },
        { address: 'z', wallets: ['4'] },
        { address: 'shared', wallets: ['3', '2'] },
      ]),
    ).toEqual([['x', 'y', 'shared'], ['z']]);
  });

  it("names every address of wallets sharing some by one group, the smallest wallet id, and leaves single watches out", () => {
    const names = walletGroupNames([
      { address: 'only-wide', wallets: ['12'] },
      { address: 'single', wallets: [] },
      { address: 'both', wallets: ['9', '12'] },
      { address: 'only-narrow', wallets: ['9'] },
      { address: 'other', wallets: ['30'] },
    ]);
    expect(Object.fromEntries(names)).toEqual({ 'only-wide': '9', both: '9', 'only-narrow': '9', other: '30' });
  });

  it('reads the stored list of wallet ids', () => {
    expect(walletIds('')).toEqual([]);
    expect(walletIds('3,12')).toEqual(['3', '12']);
  });
});
