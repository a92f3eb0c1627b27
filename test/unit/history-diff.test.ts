import { describe, expect, it } from 'vitest';
import type { AddressHistory, ChainTx } from '../../src/chain/provider.js';
import { diffHistory, hasChanges, mergeChanges, noChanges, type StoredHistory } from '../../src/wallet/history-diff.js';

const ADDRESS = 'bc1qexampleaddress';
const HEIGHT = 870_000;
let seed = 0;

function tx(net: bigint, blockHeight: number | null = null, txid = `tx${++seed}`): ChainTx {
  return { txid, blockHeight, time: new Date(1_800_000_000_000 + seed), timeIsBlockTime: blockHeight !== null, fee: 141n, net };
}
const mined = (t: ChainTx, blockHeight = HEIGHT + 1): ChainTx => ({ ...t, blockHeight, timeIsBlockTime: true });

function historyOf(txs: ChainTx[], complete = true): AddressHistory {
  const balance = txs.reduce((sum, t) => sum + t.net, 0n);
  return { balance: { address: ADDRESS, balance, txCount: txs.length, totalReceived: balance }, txs, complete };
}

/** What was stored: each tx at the height it had then. */
const storedAs = (txs: ChainTx[]): StoredHistory => ({ isNewAddress: false, heights: new Map(txs.map((t) => [t.txid, t.blockHeight])) });
const NEW: StoredHistory = { isNewAddress: true, heights: new Map() };

describe('diffHistory', () => {
  it("takes a new address's whole history as added, marked as a baseline", () => {
    const txs = [tx(5_000n), tx(-2_000n, HEIGHT), tx(10_000n, HEIGHT - 1)];
    expect(diffHistory(NEW, historyOf(txs), 'partial')).toEqual({
      address: ADDRESS,
      balance: 13_000n,
      isNewAddress: true,
      added: txs,
      confirmed: [],
      vanished: [],
      removed: [],
      restored: [],
    });
  });

  it('adds only the transactions not stored before, newest first, for every scope but repair', () => {
    const old = tx(10_000n, HEIGHT - 1);
    const newer = tx(2_000n, HEIGHT);
    const newest = tx(-500n);
    for (const scope of ['partial', 'complete'] as const) {
      const changes = diffHistory(storedAs([old]), historyOf([newest, newer, old]), scope);
      expect(changes, scope).toMatchObject({ isNewAddress: false, added: [newest, newer], restored: [], confirmed: [], vanished: [], removed: [] });
      expect(changes.balance).toBe(11_500n);
    }
  });

  it('restores what a repair finds missing instead of announcing it', () => {
    const kept = tx(10_000n, HEIGHT - 1);
    const lost = tx(3_000n, HEIGHT - 5);
    const changes = diffHistory(storedAs([kept]), historyOf([kept, lost]), 'repair');
    expect(changes).toMatchObject({ added: [], restored: [lost], removed: [], vanished: [] });
    expect(hasChanges(changes)).toBe(true);
  });

  it('sees a stored unconfirmed transaction that arrives in a block as confirmed, and not as added', () => {
    const pending = tx(7_000n);
    const changes = diffHistory(storedAs([pending]), historyOf([mined(pending)]), 'partial');
    expect(changes).toMatchObject({ added: [], confirmed: [mined(pending)], vanished: [] });
  });

  it('does not confirm again a transaction stored in a block, even in another one (a reorg)', () => {
    const done = tx(7_000n, HEIGHT);
    expect(diffHistory(storedAs([done]), historyOf([mined(done, HEIGHT + 1)]), 'complete')).toMatchObject({ confirmed: [], added: [] });
  });

  it('takes a stored unconfirmed transaction the history lacks as vanished, in any scope', () => {
    const replaced = tx(7_000n);
    const old = tx(10_000n, HEIGHT - 1);
    const replacement = tx(7_000n);
    for (const scope of ['partial', 'complete', 'repair'] as const) {
      const changes = diffHistory(storedAs([replaced, old]), historyOf([replacement, old]), scope);
      expect(changes.vanished, scope).toEqual([replaced.txid]);
      expect(changes.removed, scope).toEqual([]);
    }
  });

  it('removes a stored confirmed transaction a complete or repair history lacks, and never for a partial one', () => {
    const wrong = tx(50_000n, HEIGHT - 2);
    const right = tx(10_000n, HEIGHT - 1);
    const stored = storedAs([right, wrong]);
    expect(diffHistory(stored, historyOf([right], false), 'partial')).toMatchObject({ removed: [], vanished: [], added: [] });
    expect(diffHistory(stored, historyOf([right]), 'complete')).toMatchObject({ removed: [wrong.txid], vanished: [] });
    expect(diffHistory(stored, historyOf([right]), 'repair')).toMatchObject({ removed: [wrong.txid], restored: [] });
  });

  it('adds again a transaction that vanished and then returns (its earlier unlink left nothing stored)', () => {
    const flaky = tx(4_000n);
    const gone = diffHistory(storedAs([flaky]), historyOf([]), 'partial');
    expect(gone.vanished).toEqual([flaky.txid]);
    // Now stored without it: it is new again, confirmed or not.
    expect(diffHistory(storedAs([]), historyOf([flaky]), 'partial')).toMatchObject({ added: [flaky], vanished: [] });
    expect(diffHistory(storedAs([]), historyOf([mined(flaky)]), 'partial')).toMatchObject({ added: [mined(flaky)], confirmed: [] });
  });

  it('changes nothing for the same history stored again', () => {
    const txs = [tx(1_000n), tx(2_000n, HEIGHT)];
    for (const scope of ['partial', 'complete', 'repair'] as const) {
      const changes = diffHistory(storedAs(txs), historyOf(txs), scope);
      expect(hasChanges(changes), scope).toBe(false);
      expect(changes.isNewAddress).toBe(false);
    }
  });

  it('keeps the order in which the stored transactions were given for vanished and removed ones', () => {
    const [a, b, c] = [tx(1n), tx(2n), tx(3n)];
    const [d, e] = [tx(4n, HEIGHT), tx(5n, HEIGHT - 1)];
    expect(diffHistory(storedAs([c, a, b, e, d]), historyOf([]), 'complete')).toMatchObject({
      vanished: [c.txid, a.txid, b.txid],
      removed: [e.txid, d.txid],
    });
  });
});

describe('noChanges and mergeChanges', () => {
  it('says nothing changed of an address that was not stored', () => {
    const changes = noChanges(historyOf([tx(9n)]));
    expect(changes).toEqual({ address: ADDRESS, balance: 9n, isNewAddress: false, added: [], confirmed: [], vanished: [], removed: [], restored: [] });
    expect(hasChanges(changes)).toBe(false);
  });

  it('adds up a refresh and the repair that followed it, with the balance of the later one', () => {
    const pending = tx(7_000n);
    const lost = tx(3_000n, HEIGHT - 5);
    const first = diffHistory(storedAs([pending]), historyOf([mined(pending)], false), 'partial');
    const repair = diffHistory(storedAs([mined(pending)]), historyOf([mined(pending), lost]), 'repair');
    expect(mergeChanges(first, repair)).toEqual({
      address: ADDRESS,
      balance: 10_000n,
      isNewAddress: false,
      added: [],
      confirmed: [mined(pending)],
      vanished: [],
      removed: [],
      restored: [lost],
    });
  });
});
