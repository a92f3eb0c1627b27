/** Zod pieces for the numbers and ids every provider's JSON carries (integers arrive as bigint, see parseJson). */
import * as z from 'zod';

export const sats = z.bigint();

/** a non-negative integer small enough for a JS number: counts, heights, unix times */
export const count = z
  .bigint()
  .nonnegative()
  .max(BigInt(Number.MAX_SAFE_INTEGER))
  .transform((n) => Number(n));

export const txid = z.string().regex(/^[0-9a-f]{64}$/, 'expected a 64-hex txid');
