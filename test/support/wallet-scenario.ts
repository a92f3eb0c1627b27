/**
 * The BIP-84 wallet's life on a fake chain, for the end-to-end tests of whole wallets (in Discord
 * and in the shell): what happened before it was tracked, with what a member should then see.
 */
import type { FakeChain } from '../fakes/chain/index.js';
import { testAddress } from './addresses.js';
import { BIP84, p2wpkhAt } from './wallet-keys.js';

export const receive = (index: number) => p2wpkhAt(BIP84.zpub, 0, index);
export const change = (index: number) => p2wpkhAt(BIP84.zpub, 1, index);

/** The gap the scenario tracks the wallet with, small so that its window is quick to reach. */
export const GAP = 5;

/**
 * Receive and change activity, all confirmed: 0.01 BTC in at receive/0, 0.003 of it paid out
 * (fee 1,000 sats) with the change to change/0, then 0.0025 BTC in at receive/1.
 */
export function walletHistory(chain: FakeChain, seed: string) {
  chain.fund(receive(0), 1_000_000n);
  chain.mine();
  chain.addTx({
    inputs: [{ address: receive(0), value: 1_000_000n }],
    outputs: [{ address: testAddress(`${seed}-shop`), value: 300_000n }, { address: change(0), value: 699_000n }],
  });
  chain.mine();
  chain.fund(receive(1), 250_000n);
  chain.mine();
  return {
    balance: 949_000n,
    txCount: 3,
    used: 3,
    // Receive: 0..1 used, then GAP unused; change: 0 used, then GAP unused.
    scanned: 2 + GAP + (1 + GAP),
  };
}
