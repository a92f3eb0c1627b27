import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js';
import { Address, OutScript, NETWORK, TEST_NETWORK } from '@scure/btc-signer';
import { describe, expect, it } from 'vitest';
import { addressScriptHash, outputScript, scriptHash } from '../../src/chain/electrum/scripthash.js';
import type { Network } from '../../src/chain/address.js';

const REGTEST = { ...TEST_NETWORK, bech32: 'bcrt' };

/** the output script as @scure/btc-signer builds it: a second implementation to agree with */
const theirScript = (address: string, network: Network) =>
  bytesToHex(OutScript.encode(Address(network === 'mainnet' ? NETWORK : network === 'regtest' ? REGTEST : TEST_NETWORK).decode(address)));

describe('Electrum script hashes', () => {
  it('gives the spec’s script hash for the genesis address', () => {
    expect(bytesToHex(outputScript('1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa', 'mainnet'))).toBe('76a91462e907b15cbf27d5425399ebf6f0fb50ebb88f1888ac');
    expect(addressScriptHash('1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa', 'mainnet')).toBe('8b01df4e368ea28f8dc0423bcf7a4923e3a12d307c875e47a0cfbf90b5c39161');
  });

  it('gives the spec’s script hash for the regtest address of its status example', () => {
    expect(addressScriptHash('bcrt1qn7d2x7272lznt5hhk9s07q3cqnrqljnwladrd3', 'regtest')).toBe('f04bf26fc16a27abaa2f10540da7a24e369e6ec408f2d901202a7c0cd4a6112d');
  });

  it('is the byte-reversed sha256 of the script', () => {
    const script = hexToBytes('76a91462e907b15cbf27d5425399ebf6f0fb50ebb88f1888ac');
    expect(bytesToHex(sha256(script))).toBe('6191c3b590bfcfa0475e877c302da1e323497acf3b42c08d8fa28e364edf018b');
    expect(scriptHash(script)).toBe('8b01df4e368ea28f8dc0423bcf7a4923e3a12d307c875e47a0cfbf90b5c39161');
  });

  const vectors: [type: string, address: string, network: Network, script: string][] = [
    ['p2pkh', '1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa', 'mainnet', '76a91462e907b15cbf27d5425399ebf6f0fb50ebb88f1888ac'],
    ['p2sh', '3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy', 'mainnet', 'a914b472a266d0bd89c13706a4132ccfb16f7c3b9fcb87'],
    ['p2wpkh (BIP-173, upper case)', 'BC1QW508D6QEJXTDG4Y5R3ZARVARY0C5XW7KV8F3T4', 'mainnet', '0014751e76e8199196d454941c45d1b3a323f1433bd6'],
    ['p2wsh (BIP-173)', 'tb1qrp33g0q5c5txsp9arysrx4k6zdkfs4nce4xj0gdcccefvpysxf3q0sl5k7', 'testnet', '00201863143c14c5166804bd19203356da136c985678cd4d27a1b8c6329604903262'],
    ['p2tr (BIP-350)', 'bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqzk5jj0', 'mainnet', '512079be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798'],
    ['p2pkh on testnet', 'mipcBbFg9gMiCh81Kj8tqqdgoZub1ZJRfn', 'testnet', '76a914243f1394f44554f4ce3fd68649c19adc483ce92488ac'],
  ];
  it.each(vectors)('builds the output script of a %s address', (_type, address, network, script) => {
    expect(bytesToHex(outputScript(address, network))).toBe(script);
    expect(theirScript(address, network)).toBe(script);
    expect(addressScriptHash(address, network)).toBe(bytesToHex(sha256(hexToBytes(script)).reverse()));
  });

  it('builds the script of a future witness version (BIP-350: v16 and v2)', () => {
    expect(bytesToHex(outputScript('BC1SW50QGDZ25J', 'mainnet'))).toBe('6002751e');
    expect(bytesToHex(outputScript('bc1zw508d6qejxtdg4y5r3zarvaryvaxxpcs', 'mainnet'))).toBe('5210751e76e8199196d454941c45d1b3a323');
  });

  it('refuses an invalid address the way /track does', () => {
    expect(() => outputScript('bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t5', 'mainnet')).toThrow(/bad checksum/);
    expect(() => outputScript('1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa', 'regtest')).toThrow(/mainnet address/);
  });
});
