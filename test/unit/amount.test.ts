import { describe, expect, it } from 'vitest';
import { formatBtc, formatSignedBtc, parseBtc, SATS_PER_BTC } from '../../src/chain/amount.js';
import { renderSaid } from '../../src/discord/render/said.js';
import { isUserError } from '../../src/errors.js';

const ALL_BITCOIN = 21_000_000n * SATS_PER_BTC;

/** The message parseBtc gives the user, as Discord shows it, or a failure if it accepted the text. */
function refusal(text: string): string {
  try {
    parseBtc(text);
  } catch (err) {
    if (isUserError(err) && err.code === 'invalid_input') return renderSaid(err.said);
    throw err;
  }
  throw new Error(`${text} was accepted`);
}

describe('formatBtc', () => {
  it.each([
    [0n, '0.00000000 BTC'],
    [1n, '0.00000001 BTC'],
    [120_000n, '0.00120000 BTC'],
    [SATS_PER_BTC, '1.00000000 BTC'],
    [123_456_789n, '1.23456789 BTC'],
    [ALL_BITCOIN, '21000000.00000000 BTC'],
    [-5n, '-0.00000005 BTC'],
    [-120_000n, '-0.00120000 BTC'],
  ])('formats %s sats as %s', (sats, text) => {
    expect(formatBtc(sats)).toBe(text);
  });

  it('keeps every satoshi of amounts beyond the safe range of a JS number', () => {
    expect(formatBtc(9_007_199_254_740_993n)).toBe('90071992.54740993 BTC');
  });
});

describe('formatSignedBtc', () => {
  it.each([
    [120_000n, '+0.00120000 BTC'],
    [-120_000n, '-0.00120000 BTC'],
    [0n, '0.00000000 BTC'],
    [1n, '+0.00000001 BTC'],
  ])('formats %s sats as %s', (sats, text) => {
    expect(formatSignedBtc(sats)).toBe(text);
  });
});

describe('parseBtc', () => {
  it.each([
    ['0.0012', 120_000n],
    ['1', SATS_PER_BTC],
    ['.5', 50_000_000n],
    ['1.', SATS_PER_BTC],
    ['0', 0n],
    ['0.00000001', 1n],
    ['00.10', 10_000_000n],
    ['21000000', ALL_BITCOIN],
    ['21000000.00000000', ALL_BITCOIN],
    ['  0.0012 BTC ', 120_000n],
    ['0.5btc', 50_000_000n],
  ])('reads %j as %s sats', (text, sats) => {
    expect(parseBtc(text)).toBe(sats);
  });

  it('reads back what formatBtc writes', () => {
    for (const sats of [0n, 1n, 120_000n, 123_456_789n, ALL_BITCOIN]) expect(parseBtc(formatBtc(sats))).toBe(sats);
  });

  it('refuses more than 8 decimal places rather than rounding', () => {
    expect(refusal('0.000000001')).toContain('at most 8 decimal places');
  });

  it('refuses more than the 21,000,000 BTC that will ever exist', () => {
    expect(refusal('21000000.00000001')).toContain('21,000,000 BTC');
    expect(refusal('99999999999999999999')).toContain('21,000,000 BTC');
  });

  it('refuses negative amounts', () => {
    expect(refusal('-1')).toContain('cannot be negative');
    expect(refusal('-0.5 BTC')).toContain('cannot be negative');
  });

  it('refuses exponents and thousands separators', () => {
    expect(refusal('1e-3')).toContain('without an exponent');
    expect(refusal('1E8')).toContain('without an exponent');
    expect(refusal('1,000.5')).toContain('no thousands separators');
  });

  it.each(['', ' ', '.', 'abc', '0x10', '+1', '1.2.3', '1 000', 'Infinity', 'NaN', '١'])(
    'refuses %j as not a number',
    (text) => {
      expect(refusal(text)).toContain('not a number');
    },
  );

  it('refuses very long input before parsing it', () => {
    expect(refusal('1'.repeat(1_000))).toContain('too long');
  });

  it('tells the user what they typed and how to write an amount', () => {
    expect(refusal('abc')).toBe('`abc` is not a valid BTC amount (it is not a number). Write it in BTC like `0.0012`.');
  });
});
