/**
 * Extended keys as people paste them: BIP-32 xpub/tpub and the SLIP-132 variants that name a script
 * type through their version bytes (ypub/upub for P2SH-P2WPKH, zpub/vpub for P2WPKH). @scure/bip32
 * decodes them once told the version; this module decides which version a key has, on which network
 * it is valid, and spots private keys so that they are refused before anything else is said.
 */
import { HDKey, type Versions } from '@scure/bip32';
import type { Network } from '../address.js';

export type KeyFamily = 'main' | 'test';
export type SlipScript = 'p2pkh' | 'p2sh-p2wpkh' | 'p2wpkh';

interface PublicVersion {
  prefix: string;
  family: KeyFamily;
  script: SlipScript;
  versions: Versions;
}

const PUBLIC_VERSIONS: readonly PublicVersion[] = [
  { prefix: 'xpub', family: 'main', script: 'p2pkh', versions: { public: 0x0488b21e, private: 0x0488ade4 } },
  { prefix: 'ypub', family: 'main', script: 'p2sh-p2wpkh', versions: { public: 0x049d7cb2, private: 0x049d7878 } },
  { prefix: 'zpub', family: 'main', script: 'p2wpkh', versions: { public: 0x04b24746, private: 0x04b2430c } },
  { prefix: 'tpub', family: 'test', script: 'p2pkh', versions: { public: 0x043587cf, private: 0x04358394 } },
  { prefix: 'upub', family: 'test', script: 'p2sh-p2wpkh', versions: { public: 0x044a5262, private: 0x044a4e28 } },
  { prefix: 'vpub', family: 'test', script: 'p2wpkh', versions: { public: 0x045f1cf6, private: 0x045f18bc } },
];

/** How descriptors spell a key of each family: plain BIP-32 versions, the script type is the descriptor's. */
const PLAIN: Record<KeyFamily, PublicVersion> = { main: PUBLIC_VERSIONS[0]!, test: PUBLIC_VERSIONS[3]! };

export const familyOf = (network: Network): KeyFamily => (network === 'mainnet' ? 'main' : 'test');
export const familyLabel = (family: KeyFamily) => (family === 'main' ? 'mainnet' : 'testnet/signet/regtest');

const BASE58_RUN = /[1-9A-HJ-NP-Za-km-z]+/g;
/**
 * Extended private keys of BIP-32 and SLIP-132, single- and multi-signature variants; a whole one
 * is 111 characters, but a part of one is a leak too.
 */
const EXTENDED_PRIVATE = /^[xyzYZtuvUV]prv[1-9A-HJ-NP-Za-km-z]{8,}$/;
/** WIF: 51 characters from `5` (mainnet) or `9` (test networks), 52 from `K`/`L` or `c` when compressed. */
export const WIF = /^(?:[59][1-9A-HJ-NP-Za-km-z]{50}|[KLc][1-9A-HJ-NP-Za-km-z]{51})$/;

/**
 * The kind of private key in `text` ("an extended private key", "a WIF private key"), or null.
 * By shape alone, so that a mistyped private key is caught too: it is exposed all the same.
 */
export function findPrivateKey(text: string): string | null {
  for (const run of text.match(BASE58_RUN) ?? []) {
    if (EXTENDED_PRIVATE.test(run)) return `an extended private key (${run.slice(0, 4)})`;
    if (WIF.test(run)) return 'a private key in WIF';
  }
  return null;
}

export interface ExtendedKey {
  hd: HDKey;
  /** the pasted prefix: xpub, ypub, … */
  prefix: string;
  family: KeyFamily;
  /** the script type SLIP-132 gives the prefix */
  script: SlipScript;
}

/** Why an extended key cannot be read; the caller words the refusal. */
export class ExtendedKeyProblem extends Error {}

export function decodeExtendedKey(text: string): ExtendedKey {
  const known = PUBLIC_VERSIONS.find((v) => text.startsWith(v.prefix));
  if (!known) throw new ExtendedKeyProblem('it is not an extended public key (xpub, ypub, zpub, tpub, upub or vpub)');
  let hd: HDKey;
  try {
    hd = HDKey.fromExtendedKey(text, known.versions);
  } catch (err) {
    const reason = err instanceof Error && /checksum/i.test(err.message) ? 'its checksum is wrong, so it was mistyped or cut short' : 'it does not decode as an extended public key';
    throw new ExtendedKeyProblem(reason);
  }
  if (hd.privateKey) throw new ExtendedKeyProblem('it holds a private key');
  return { hd, prefix: known.prefix, family: known.family, script: known.script };
}

/** `hd` spelt with the given prefix's version bytes (xpub/tpub inside descriptors, zpub for show). */
export function encodeExtendedKey(hd: HDKey, family: KeyFamily, script: SlipScript = 'p2pkh'): string {
  const version = PUBLIC_VERSIONS.find((v) => v.family === family && v.script === script) ?? PLAIN[family];
  const { depth, index, parentFingerprint, chainCode, publicKey } = hd;
  if (!chainCode || !publicKey) throw new RangeError('extended key without chain code or public key');
  return new HDKey({ versions: version.versions, depth, index, parentFingerprint, chainCode, publicKey }).publicExtendedKey;
}
