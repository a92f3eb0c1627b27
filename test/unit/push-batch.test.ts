import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createDebouncedBatches } from '../../src/sync/push-batch.js';

describe('createDebouncedBatches', () => {
  beforeEach(() => void vi.useFakeTimers());
  afterEach(() => void vi.useRealTimers());

  function recorder() {
    const runs: [string, string[]][] = [];
    let release: (() => void) | undefined;
    let hold = false;
    const run = (group: string, keys: string[]) => {
      runs.push([group, keys]);
      return hold ? new Promise<void>((resolve) => (release = resolve)) : Promise.resolve();
    };
    return { runs, run, hold: () => (hold = true), release: () => release?.() };
  }

  it('runs the keys of one group that come within the delay as one batch, each group apart', async () => {
    const r = recorder();
    const batches = createDebouncedBatches({ delayMs: 300, run: r.run });
    batches.add('w1', 'a');
    await vi.advanceTimersByTimeAsync(200);
    batches.add('w1', 'b');
    batches.add('w2', 'c');
    await vi.advanceTimersByTimeAsync(299);
    expect(r.runs).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    expect(r.runs).toEqual([
      ['w1', ['a', 'b']],
      ['w2', ['c']],
    ]);
  });

  it('never waits longer than the longest delay, however often keys keep coming', async () => {
    const r = recorder();
    const batches = createDebouncedBatches({ delayMs: 300, maxDelayMs: 1_000, run: r.run });
    for (let i = 0; i < 8; i++) {
      batches.add('w', String(i));
      await vi.advanceTimersByTimeAsync(200);
    }
    // keys at 0, 200 … 800 ms; the batch goes at 1,000 ms
    expect(r.runs[0]).toEqual(['w', ['0', '1', '2', '3', '4']]);
  });

  it('runs one batch of a group at a time: what comes meanwhile is the next batch', async () => {
    const r = recorder();
    r.hold();
    const batches = createDebouncedBatches({ delayMs: 300, run: r.run });
    batches.add('w', 'a');
    await vi.advanceTimersByTimeAsync(300);
    batches.add('w', 'b');
    await vi.advanceTimersByTimeAsync(1_000);
    expect(r.runs).toEqual([['w', ['a']]]);
    r.release();
    await vi.advanceTimersByTimeAsync(300);
    expect(r.runs).toEqual([
      ['w', ['a']],
      ['w', ['b']],
    ]);
  });

  it('runs nothing more once cleared', async () => {
    const r = recorder();
    const batches = createDebouncedBatches({ delayMs: 300, run: r.run });
    batches.add('w', 'a');
    batches.clear();
    batches.add('w', 'b');
    await vi.advanceTimersByTimeAsync(1_000);
    expect(r.runs).toEqual([]);
  });
});
