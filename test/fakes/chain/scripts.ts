/**
 * The output scripts and sizes of fake transactions, shared by every view of the fake chain so
 * that each shows the same tx the same way. A real address gets its real output script (decoded
 * with @scure/btc-signer, not satbell's own code), so that its Electrum script hash is the real
 * one; a made-up address that does not decode (some tests use shapes without checksums) gets a
 * stable made-up script.
 */
import { createHash } from 'node:crypto';
import { Address, NETWORK, OutScript, TEST_NETWORK } from '@scure/btc-signer';
import type { FakeTx } from './model.js';

const hex = (text: string, chars: number) => createHash('sha256').update(text).digest('hex').slice(0, chars);

const NETWORKS = [NETWORK, TEST_NETWORK, { ...TEST_NETWORK, bech32: 'bcrt' }];
const OP_RETURN = `6a0c${Buffer.from('satbell fake').toString('hex')}`;
const scripts = new Map<string, string>();

/** the output script (hex) paying `address`, or an OP_RETURN when there is none */
export function scriptFor(address: string | null): string {
  if (address === null) return OP_RETURN;
  let script = scripts.get(address);
  if (script === undefined) {
    script = realScript(address) ?? madeUpScript(address);
    scripts.set(address, script);
  }
  return script;
}

function realScript(address: string): string | undefined {
  const text = /^(?:bc|tb|bcrt)1/i.test(address) ? address.toLowerCase() : address;
  for (const network of NETWORKS) {
    try {
      return Buffer.from(OutScript.encode(Address(network).decode(text))).toString('hex');
    } catch {
      // not an address of this network: try the next
    }
  }
  return undefined;
}

/** as the fakes made them before scripts were real: the shape follows the address's prefix and length */
function madeUpScript(address: string): string {
  if (address.startsWith('bc1p')) return `5120${hex(`key ${address}`, 64)}`;
  if (address.startsWith('bc1') && address.length > 42) return `0020${hex(`script ${address}`, 64)}`;
  const h = hex(`hash160 ${address}`, 40);
  if (address.startsWith('bc1')) return `0014${h}`;
  if (address.startsWith('3')) return `a914${h}87`;
  return `76a914${h}88ac`;
}

/** the 20-byte hash in a P2PKH, P2SH or P2WPKH script; null for P2WSH and P2TR, as on the real services */
export function hash160(address: string): string | null {
  const script = scriptFor(address);
  if (/^76a914[0-9a-f]{40}88ac$/.test(script)) return script.slice(6, 46);
  if (/^a914[0-9a-f]{40}87$/.test(script) || /^0014[0-9a-f]{40}$/.test(script)) return script.slice(4, 44);
  return null;
}

/** Esplora's name for the kind of output script */
export function scriptType(address: string | null): string {
  const script = scriptFor(address);
  if (script.startsWith('6a')) return 'op_return';
  if (/^76a914[0-9a-f]{40}88ac$/.test(script)) return 'p2pkh';
  if (/^a914[0-9a-f]{40}87$/.test(script)) return 'p2sh';
  if (/^0014[0-9a-f]{40}$/.test(script)) return 'v0_p2wpkh';
  if (/^0020[0-9a-f]{64}$/.test(script)) return 'v0_p2wsh';
  if (/^5120[0-9a-f]{64}$/.test(script)) return 'v1_p2tr';
  return 'unknown';
}

/** a plausible size in bytes: legacy inputs and outputs */
export const fakeSize = (tx: FakeTx): number => 10 + 148 * tx.inputs.length + 34 * tx.outputs.length;
