/** The transaction JSON Blockchain.com's /rawaddr and /multiaddr share, and how addresses are batched. */
import * as z from 'zod';
import { count, sats, txid } from './wire.js';

export const NAME = 'blockchain.info';

/** an output, or the output an input spends: `addr` absent when it pays no address (OP_RETURN) */
export const txo = z.looseObject({ addr: z.string().optional(), value: sats });
export type Txo = z.output<typeof txo>;

export const rawTx = z.looseObject({
  hash: txid,
  block_height: count.nullish().transform((h) => h ?? null),
  time: count,
  fee: sats,
  result: sats,
  // a coinbase input spends nothing
  inputs: z.array(z.looseObject({ prev_out: txo.nullish() })),
  out: z.array(txo),
});
export type RawTx = z.output<typeof rawTx>;

/** the outputs a tx's inputs spend (a coinbase input spends none) */
export const spentBy = (tx: RawTx): Txo[] => tx.inputs.flatMap((input) => (input.prev_out ? [input.prev_out] : []));

export const sum = (txos: readonly { value: bigint }[]) => txos.reduce((total, txo) => total + txo.value, 0n);

/** the service has no documented cap; more than ~50 addresses or a URL near 4 KB is known to fail */
const BATCH = 50;
const BATCH_CHARS = 3_000;

/** at most BATCH addresses and BATCH_CHARS of URL-encoded text per batch */
export function batches(addresses: readonly string[]): string[][] {
  const result: string[][] = [];
  let current: string[] = [];
  let chars = 0;
  for (const address of addresses) {
    const length = encodeURIComponent(address).length + 1;
    if (current.length === BATCH || (current.length > 0 && chars + length > BATCH_CHARS)) {
      result.push(current);
      current = [];
      chars = 0;
    }
    current.push(address);
    chars += length;
  }
  if (current.length > 0) result.push(current);
  return result;
}
