/**
 * Money is bigint satoshis everywhere; these are the only conversions to and from BTC text, and
 * none of them goes through a JS number (which loses satoshis above 2^53 and rounds decimals).
 */
import { createInvalidAmountError } from '../errors.js';

export const SATS_PER_BTC = 100_000_000n;
/** The most bitcoin that will ever exist, in satoshis. */
export const MAX_SATS = 21_000_000n * SATS_PER_BTC;
/** Far longer than any sensible amount; refused before any parsing. */
const MAX_INPUT_LENGTH = 40;

const PLAIN_AMOUNT = /^(\d*)(?:\.(\d*))?$/;

/** `120000n` → `"0.00120000 BTC"`: plain digits, exactly 8 decimals, a minus sign when negative. */
export function formatBtc(sats: bigint): string {
  const abs = sats < 0n ? -sats : sats;
  const whole = abs / SATS_PER_BTC;
  const fraction = (abs % SATS_PER_BTC).toString().padStart(8, '0');
  return `${sats < 0n ? '-' : ''}${whole}.${fraction} BTC`;
}

/** Like formatBtc, with a `+` on positive amounts (for balance changes); zero has no sign. */
export function formatSignedBtc(sats: bigint): string {
  return sats > 0n ? `+${formatBtc(sats)}` : formatBtc(sats);
}

/**
 * Parses an amount typed in BTC ("0.0012", "1", ".5", optionally followed by "BTC") into
 * satoshis. Zero is accepted; callers that need a positive amount check that themselves.
 * Throws an invalid_input UserError written for the user.
 */
export function parseBtc(text: string): bigint {
  const trimmed = text.trim();
  const fail = (reason: string) => createInvalidAmountError(trimmed, reason);
  if (trimmed.length > MAX_INPUT_LENGTH) throw fail('too long');

  const number = trimmed.replace(/\s*btc$/i, '');
  if (/^[-−]/.test(number)) throw fail('it cannot be negative');
  if (/\d[eE]/.test(number)) throw fail('write plain digits, without an exponent');
  if (number.includes(',')) throw fail('use a dot for decimals and no thousands separators');

  const match = PLAIN_AMOUNT.exec(number);
  const whole = match?.[1] ?? '';
  const fraction = match?.[2] ?? '';
  if (!match || whole + fraction === '') throw fail('it is not a number');
  if (fraction.length > 8) throw fail('bitcoin has at most 8 decimal places');

  const sats = BigInt(whole || '0') * SATS_PER_BTC + BigInt(fraction.padEnd(8, '0'));
  if (sats > MAX_SATS) throw fail('it is more than the 21,000,000 BTC that will ever exist');
  return sats;
}
