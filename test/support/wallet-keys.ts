/**
 * Wallet keys from the BIPs' test vectors, and their addresses derived here on their own road:
 * @scure/bip32 for the child keys, @scure/btc-signer for the scripts, and nothing of
 * src/chain/descriptor, so that a test comparing the two catches a wrong derivation there.
 */
import { hex } from '@scure/base';
import { HDKey } from '@scure/bip32';
import { NETWORK, p2ms, p2pkh, p2tr, p2wpkh, p2wsh } from '@scure/btc-signer';

/** BIP-84: "abandon … about", account m/84'/0'/0' (master fingerprint 73c5da0a). */
export const BIP84 = {
  zpub: 'zpub6rFR7y4Q2AijBEqTUquhVz398htDFrtymD9xYYfG1m4wAcvPhXNfE3EfH1r1ADqtfSdVCToUG868RvUUkgDKf31mGDtKsAYz2oz2AGutZYs',
  zprv: 'zprvAdG4iTXWBoARxkkzNpNh8r6Qag3irQB8PzEMkAFeTRXxHpbF9z4QgEvBRmfvqWvGp42t42nvgGpNgYSJA9iefm1yYNZKEm7z6qUWCroSQnE',
  /** the BIP's own first receive addresses and first change address */
  receive: ['bc1qcr8te4kr609gcawutmrza0j4xv80jy8z306fyu', 'bc1qnjg0jd8228aq7egyzacy8cys3knf9xvrerkf9g'],
  change: 'bc1q8c6fshw2dlwun7ekn9qwf37cu2rn755upcp6el',
};

/** BIP-86: the same mnemonic, account m/86'/0'/0', and its first receive address. */
export const BIP86 = {
  xpub: 'xpub6BgBgsespWvERF3LHQu6CnqdvfEvtMcQjYrcRzx53QJjSxarj2afYWcLteoGVky7D3UKDP9QyrLprQ3VCECoY49yfdDEHGCtMMj92pReUsQ',
  origin: "73c5da0a/86'/0'/0'",
  receive: 'bc1p5cyxnuxmeuwuvkwfem96lqzszd02n6xdcjrs20cac6yqjjwudpxqkedrcr',
};

/** BIP-32 test vector 1, m/0H (master fingerprint 3442193e). */
export const BIP32_V1_M0H = { xpub: 'xpub68Gmy5EdvgibQVfPdqkBBCHxA5htiqg55crXYuXoQRKfDBFA1WEjWgP6LHhwBZeNK1VTsfTFUHCdrfp1bgwQ9xv5ski8PX9rL2dZXvgGDnw', origin: "3442193e/0'" };
/** BIP-32 test vector 2, m/0 (master fingerprint bd16bee5), also BIP-389's multipath key. */
export const BIP32_V2_M0 = { xpub: 'xpub69H7F5d8KSRgmmdJg2KhpAK8SR3DjMwAdkxj3ZuxV27CprR9LgpeyGmXUbC6wb7ERfvrnKZjXoUmmDznezpbZb7ap6r1D3tgFxHmwMkQTPH', origin: 'bd16bee5/0' };

/** SLIP-132's zpub version bytes (BIP-84, P2WPKH). */
const ZPUB_VERSIONS = { public: 0x04b24746, private: 0x04b2430c };

function childKey(extended: string, chain: number, index: number): Uint8Array {
  const versions = extended.startsWith('zpub') ? ZPUB_VERSIONS : undefined;
  return HDKey.fromExtendedKey(extended, versions).deriveChild(chain).deriveChild(index).publicKey!;
}

/** The P2WPKH address at chain/index of an xpub or zpub. */
export const p2wpkhAt = (extended: string, chain: number, index: number): string => p2wpkh(childKey(extended, chain, index), NETWORK).address!;

/** The P2PKH address at chain/index of an xpub. */
export const p2pkhAt = (xpub: string, chain: number, index: number): string => p2pkh(childKey(xpub, chain, index), NETWORK).address!;

/** The BIP-86 key-path P2TR address at chain/index of an xpub (btc-signer tweaks the x-only key). */
export const p2trAt = (xpub: string, chain: number, index: number): string => p2tr(childKey(xpub, chain, index).slice(1), undefined, NETWORK).address!;

/** The P2WSH address of an m-of-n sortedmulti at chain/index: the child keys sorted as BIP-67 says. */
export function sortedMultiAt(m: number, xpubs: readonly string[], chain: number, index: number): string {
  const keys = xpubs.map((x) => childKey(x, chain, index)).sort((a, b) => hex.encode(a).localeCompare(hex.encode(b)));
  return p2wsh(p2ms(m, keys), NETWORK).address!;
}
