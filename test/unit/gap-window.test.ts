import { describe, expect, it } from 'vitest';
import { windowShortfall } from '../../src/wallet/gap-window.js';

describe('windowShortfall', () => {
  it('asks for the first gap addresses of a chain nothing was derived of', () => {
    expect(windowShortfall(-1, 0, 20)).toEqual({ from: 0, to: 20 });
  });

  it('asks for nothing while gap unused addresses follow the last used one', () => {
    expect(windowShortfall(-1, 20, 20)).toBeUndefined();
    expect(windowShortfall(4, 25, 20)).toBeUndefined();
  });

  it('asks for the next ones when a payment used an address near the end of the window', () => {
    // 0..19 derived, 17 just got used: 18 and 19 follow, 18 more are wanted
    expect(windowShortfall(17, 20, 20)).toEqual({ from: 20, to: 38 });
    expect(windowShortfall(0, 1, 1)).toEqual({ from: 1, to: 2 });
  });
});
