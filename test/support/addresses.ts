import { bech32 } from '@scure/base';
import { sha256 } from '@noble/hashes/sha2.js';

/** A valid mainnet P2WPKH address, different for each seed, with a real bech32 checksum. */
export function testAddress(seed: string | number): string {
  const program = sha256(new TextEncoder().encode(`satbell-test-${seed}`)).slice(0, 20);
  return bech32.encode('bc', [0, ...bech32.toWords(program)]);
}
