/**
 * Electrum servers index outputs by script hash, not by address: sha256 of the output script
 * (scriptPubKey), byte-reversed, as hex. This module turns every address satbell accepts into its
 * output script and that script into the hash a server is asked about.
 */
import { bech32, bech32m, createBase58check } from '@scure/base';
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex } from '@noble/hashes/utils.js';
import { parseAddress, type Network } from '../address.js';

const base58check = createBase58check(sha256);

const OP_DUP = 0x76;
const OP_HASH160 = 0xa9;
const OP_EQUAL = 0x87;
const OP_EQUALVERIFY = 0x88;
const OP_CHECKSIG = 0xac;
/** OP_1 is 0x51 … OP_16 is 0x60; witness v0 is OP_0 */
const OP_1 = 0x51;

/**
 * The output script paying `address` on `network`. The address is checked first (parseAddress), so
 * an invalid one throws the same invalid_address UserError as everywhere else.
 */
export function outputScript(address: string, network: Network): Uint8Array {
  const parsed = parseAddress(address, network);
  if (parsed.type === 'p2pkh') return Uint8Array.of(OP_DUP, OP_HASH160, 20, ...hash160Of(parsed.address), OP_EQUALVERIFY, OP_CHECKSIG);
  if (parsed.type === 'p2sh') return Uint8Array.of(OP_HASH160, 20, ...hash160Of(parsed.address), OP_EQUAL);
  // Every other type is segwit; parseAddress has already checked the checksum, version and length.
  const coder = parsed.type === 'p2wpkh' || parsed.type === 'p2wsh' ? bech32 : bech32m;
  const { words } = coder.decode(parsed.address as `${string}1${string}`, 90);
  const [version, ...programWords] = words;
  const program = bech32.fromWords(programWords);
  return Uint8Array.of(version === 0 ? 0 : OP_1 + version! - 1, program.length, ...program);
}

/** the script hash of `script`: sha256, least significant byte first, as hex */
export function scriptHash(script: Uint8Array): string {
  return bytesToHex(sha256(script).reverse());
}

/** the script hash an Electrum server knows `address` by */
export function addressScriptHash(address: string, network: Network): string {
  return scriptHash(outputScript(address, network));
}

/** the 20-byte hash of a base58 address, after its version byte */
function hash160Of(address: string): Uint8Array {
  return base58check.decode(address).subarray(1);
}
