/**
 * Bitcoin address parsing: base58check (P2PKH, P2SH) and segwit (BIP-173 bech32 for witness v0,
 * BIP-350 bech32m for v1+). Checksums are verified by @scure/base; this module only decides what a
 * decoded payload means and on which network it is valid.
 */
import { bech32, bech32m, createBase58check } from '@scure/base';
import { sha256 } from '@noble/hashes/sha2.js';
import { createInvalidAddressError, isUserError } from '../errors.js';

export type Network = 'mainnet' | 'testnet' | 'signet' | 'regtest';
export const NETWORKS: readonly Network[] = ['mainnet', 'testnet', 'signet', 'regtest'];

export type AddressType = 'p2pkh' | 'p2sh' | 'p2wpkh' | 'p2wsh' | 'p2tr' | 'witness_unknown';

export interface ParsedAddress {
  /** canonical form: bech32 in lower case, base58 exactly as given (it is case-sensitive) */
  address: string;
  type: AddressType;
  /** the network the address was checked against */
  network: Network;
}

/** Longer than any address; refused before decoding so hostile input costs nothing. */
const MAX_INPUT_LENGTH = 100;
/** BIP-173's limit for a whole segwit address. */
const MAX_BECH32_LENGTH = 90;

interface NetworkGroup {
  /** how the address's network is named to the user */
  label: string;
  networks: readonly Network[];
}
const MAINNET: NetworkGroup = { label: 'mainnet', networks: ['mainnet'] };

// Test networks share encodings: testnet and signet both use `tb`, and all three use the same
// base58 versions, so an address of theirs is valid on each network of its group.
const SEGWIT_PREFIXES = new Map<string, NetworkGroup>([
  ['bc', MAINNET],
  ['tb', { label: 'testnet/signet', networks: ['testnet', 'signet'] }],
  ['bcrt', { label: 'regtest', networks: ['regtest'] }],
]);
const TEST_NETWORKS: NetworkGroup = { label: 'testnet/signet/regtest', networks: ['testnet', 'signet', 'regtest'] };
const BASE58_VERSIONS = new Map<number, { type: 'p2pkh' | 'p2sh'; group: NetworkGroup }>([
  [0x00, { type: 'p2pkh', group: MAINNET }],
  [0x05, { type: 'p2sh', group: MAINNET }],
  [0x6f, { type: 'p2pkh', group: TEST_NETWORKS }],
  [0xc4, { type: 'p2sh', group: TEST_NETWORKS }],
]);

const SEGWIT_START = /^(?:bc|tb|bcrt)1/i;
const BECH32_DATA = /^[qpzry9x8gf2tvdw0s3jn54khce6mua7l]*$/;
const BASE58_TEXT = /^[1-9A-HJ-NP-Za-km-z]+$/;
const BECH32_SHAPE = /^[a-z0-9]+1[a-z0-9]+$/i;

const base58check = createBase58check(sha256);

interface Decoded {
  address: string;
  type: AddressType;
  group: NetworkGroup;
}

/** Parses and validates `input` for `network`; throws an invalid_address UserError saying why not. */
export function parseAddress(input: string, network: Network = 'mainnet'): ParsedAddress {
  const text = input.trim();
  if (text.length === 0) throw createInvalidAddressError(text, 'it is empty');
  if (text.length > MAX_INPUT_LENGTH) throw createInvalidAddressError(text, 'too long');

  const decoded = SEGWIT_START.test(text) ? decodeSegwit(text) : decodeBase58(text);
  if (!decoded.group.networks.includes(network)) {
    throw createInvalidAddressError(text, `this is a ${decoded.group.label} address, satbell is on ${network}`);
  }
  return { address: decoded.address, type: decoded.type, network };
}

export function isValidAddress(input: string, network?: Network): boolean {
  try {
    parseAddress(input, network);
    return true;
  } catch (err) {
    if (isUserError(err)) return false;
    throw err;
  }
}

function decodeSegwit(text: string): Decoded {
  const fail = (reason: string) => createInvalidAddressError(text, reason);
  if (text.length > MAX_BECH32_LENGTH) throw fail('too long');
  const lower = text.toLowerCase();
  if (text !== lower && text !== text.toUpperCase()) throw fail('mixed case');

  // The separator is the last '1'; the data part cannot contain one.
  const separator = lower.lastIndexOf('1');
  const group = SEGWIT_PREFIXES.get(lower.slice(0, separator));
  if (!group) throw fail('unknown prefix');
  if (!BECH32_DATA.test(lower.slice(separator + 1))) throw fail('it contains a character bech32 does not use');

  // A string cannot be valid under both checksums (BIP-350), so at most one of these succeeds.
  const asBech32 = bech32.decodeUnsafe(lower, MAX_BECH32_LENGTH);
  const asBech32m = bech32m.decodeUnsafe(lower, MAX_BECH32_LENGTH);
  const decoded = asBech32 || asBech32m;
  if (!decoded) throw fail('bad checksum');

  const [version, ...programWords] = decoded.words;
  if (version === undefined) throw fail('no witness version');
  if (version > 16) throw fail(`unknown witness version ${version}`);
  const program = bech32.fromWordsUnsafe(programWords);
  if (!program) throw fail('bad padding in the witness program');

  if (version === 0) {
    if (!asBech32) throw fail('witness v0 must use bech32 (BIP-173), not bech32m');
    if (program.length === 20) return { address: lower, type: 'p2wpkh', group };
    if (program.length === 32) return { address: lower, type: 'p2wsh', group };
    throw fail(`a witness v0 program is 20 or 32 bytes, not ${program.length}`);
  }
  if (!asBech32m) throw fail(`witness v${version} must use bech32m (BIP-350)`);
  if (program.length < 2 || program.length > 40) {
    throw fail(`a witness program is 2 to 40 bytes, not ${program.length}`);
  }
  return { address: lower, type: version === 1 && program.length === 32 ? 'p2tr' : 'witness_unknown', group };
}

function decodeBase58(text: string): Decoded {
  const fail = (reason: string) => createInvalidAddressError(text, reason);
  if (!BASE58_TEXT.test(text)) {
    throw fail(BECH32_SHAPE.test(text) ? 'unknown prefix' : 'it contains characters no Bitcoin address uses');
  }
  let payload: Uint8Array;
  try {
    payload = base58check.decode(text);
  } catch {
    // the alphabet was checked above, so what is left to fail is the checksum
    throw fail('bad checksum');
  }
  const kind = BASE58_VERSIONS.get(payload[0] ?? -1);
  if (!kind) throw fail('unknown prefix');
  if (payload.length !== 21) throw fail('wrong length');
  return { address: text, type: kind.type, group: kind.group };
}
