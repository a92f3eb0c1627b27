/**
 * Made-up but stable scripts and sizes for fake transactions, shared by the API fakes so that
 * every fake shows the same tx the same way.
 */
import { createHash } from 'node:crypto';
import type { FakeTx } from './model.js';

const hex = (text: string, chars: number) => createHash('sha256').update(text).digest('hex').slice(0, chars);

/** null for P2WSH and P2TR, as on the real services; otherwise a stable made-up hash */
export function hash160(address: string): string | null {
  return /^bc1p/.test(address) || (/^bc1q/.test(address) && address.length > 42) ? null : hex(`hash160 ${address}`, 40);
}

/** the output script (hex) paying `address`, or an OP_RETURN when there is none */
export function scriptFor(address: string | null): string {
  if (address === null) return `6a0c${Buffer.from('satbell fake').toString('hex')}`;
  if (address.startsWith('bc1p')) return `5120${hex(`key ${address}`, 64)}`;
  const h = hash160(address);
  if (h === null) return `0020${hex(`script ${address}`, 64)}`;
  if (address.startsWith('bc1')) return `0014${h}`;
  if (address.startsWith('3')) return `a914${h}87`;
  return `76a914${h}88ac`;
}

/** Esplora's name for the kind of output script */
export function scriptType(address: string | null): string {
  if (address === null) return 'op_return';
  if (address.startsWith('bc1p')) return 'v1_p2tr';
  if (address.startsWith('bc1')) return hash160(address) === null ? 'v0_p2wsh' : 'v0_p2wpkh';
  return address.startsWith('3') ? 'p2sh' : 'p2pkh';
}

/** a plausible size in bytes: legacy inputs and outputs */
export const fakeSize = (tx: FakeTx): number => 10 + 148 * tx.inputs.length + 34 * tx.outputs.length;
