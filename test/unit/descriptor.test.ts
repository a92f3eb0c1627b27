import { describe, expect, it } from 'vitest';
import { parseAddress } from '../../src/chain/address.js';
import { deriveRange, loadWallet, looksLikeWallet, parseWallet } from '../../src/chain/descriptor/index.js';
import { isUserError } from '../../src/errors.js';

// BIP-84 test vector: "abandon … about", account m/84'/0'/0' (master fingerprint 73c5da0a).
const BIP84_ZPUB = 'zpub6rFR7y4Q2AijBEqTUquhVz398htDFrtymD9xYYfG1m4wAcvPhXNfE3EfH1r1ADqtfSdVCToUG868RvUUkgDKf31mGDtKsAYz2oz2AGutZYs';
/** the same account key in plain BIP-32 versions, as descriptors spell it */
const BIP84_XPUB = 'xpub6CatWdiZiodmUeTDp8LT5or8nmbKNcuyvz7WyksVFkKB4RHwCD3XyuvPEbvqAQY3rAPshWcMLoP2fMFMKHPJ4ZeZXYVUhLv1VMrjPC7PW6V';
const BIP84_RECEIVE = ['bc1qcr8te4kr609gcawutmrza0j4xv80jy8z306fyu', 'bc1qnjg0jd8228aq7egyzacy8cys3knf9xvrerkf9g'];
const BIP84_CHANGE = 'bc1q8c6fshw2dlwun7ekn9qwf37cu2rn755upcp6el';

/** The refusal parseWallet gives, as plain words, or a failure if it accepted the input. */
function refusal(text: string, network: Parameters<typeof parseWallet>[1] = 'mainnet'): { code: string; message: string } {
  try {
    parseWallet(text, network);
  } catch (err) {
    if (isUserError(err)) return { code: err.code, message: err.message };
    throw err;
  }
  throw new Error(`${text} was accepted on ${network}`);
}

describe('a bare zpub (BIP-84)', () => {
  const wallet = parseWallet(BIP84_ZPUB, 'mainnet');

  it('derives the BIP-84 receive addresses on chain 0 and the change address on chain 1', () => {
    expect(deriveRange(wallet, 0, 0, 2)).toEqual(BIP84_RECEIVE);
    expect(wallet.derive(1, 0)).toBe(BIP84_CHANGE);
  });

  it('is a two-chain P2WPKH wallet spelt as a multipath wpkh() with the key in xpub versions', () => {
    expect(wallet.scriptKind).toBe('p2wpkh');
    expect(wallet.chains).toBe(2);
    expect(wallet.descriptor).toBe(`wpkh(${BIP84_XPUB}/<0;1>/*)#${wallet.checksum}`);
    expect(wallet.checksum).toMatch(/^[qpzry9x8gf2tvdw0s3jn54khce6mua7l]{8}$/);
    expect(wallet.checksumGiven).toBe(false);
  });

  it('shows itself as its shortened zpub', () => {
    expect(wallet.short).toBe('zpub6rFR…tZYs');
  });

  it('derives canonical addresses, as parseAddress returns them', () => {
    for (const address of deriveRange(wallet, 1, 0, 5)) expect(parseAddress(address, 'mainnet').address).toBe(address);
  });

  it('loads back from its stored descriptor to the same wallet', () => {
    const loaded = loadWallet(wallet.descriptor, 'mainnet');
    expect(loaded.descriptor).toBe(wallet.descriptor);
    expect(loaded.short).toBe(wallet.short);
    expect(loaded.checksumGiven).toBe(true);
    expect(deriveRange(loaded, 0, 0, 2)).toEqual(BIP84_RECEIVE);
  });
});

describe('wpkh() descriptors', () => {
  it('reads an origin with h and derives the one chain a /0/* path names', () => {
    const wallet = parseWallet(`wpkh([73c5da0a/84h/0h/0h]${BIP84_XPUB}/0/*)`, 'mainnet');
    expect(wallet.chains).toBe(1);
    expect(deriveRange(wallet, 0, 0, 2)).toEqual(BIP84_RECEIVE);
    expect(wallet.descriptor).toBe(`wpkh([73c5da0a/84'/0'/0']${BIP84_XPUB}/0/*)#${wallet.checksum}`);
    expect(() => wallet.derive(1, 0)).toThrow(RangeError);
  });

  it("reads ' and h alike, and a /1/* path as the change chain", () => {
    const withH = parseWallet(`wpkh([73C5DA0A/84h/0'/0h]${BIP84_XPUB}/1/*)`, 'mainnet');
    const withQuote = parseWallet(`wpkh([73c5da0a/84'/0'/0']${BIP84_XPUB}/1/*)`, 'mainnet');
    expect(withH.descriptor).toBe(withQuote.descriptor);
    expect(withH.derive(0, 0)).toBe(BIP84_CHANGE);
  });

  it('reads the BIP-389 multipath /<0;1>/* as receive and change', () => {
    const wallet = parseWallet(`wpkh([73c5da0a/84'/0'/0']${BIP84_XPUB}/<0;1>/*)`, 'mainnet');
    expect(wallet.chains).toBe(2);
    expect(wallet.derive(0, 1)).toBe(BIP84_RECEIVE[1]);
    expect(wallet.derive(1, 0)).toBe(BIP84_CHANGE);
    expect(wallet.short).toBe('wpkh(xpub6Cat…PW6V)');
  });

  it('accepts the zpub spelling inside a descriptor and stores it as the xpub', () => {
    const wallet = parseWallet(`wpkh(${BIP84_ZPUB}/<0;1>/*)`, 'mainnet');
    expect(wallet.descriptor).toBe(parseWallet(BIP84_ZPUB, 'mainnet').descriptor);
  });
});

describe('looksLikeWallet', () => {
  it.each([BIP84_ZPUB, `wpkh(${BIP84_XPUB}/0/*)`, `[73c5da0a/84h/0h/0h]${BIP84_XPUB}`, '  tpubD6NzVbkrYhZ4X  ', 'xprv9s21ZrQH143K3'])('takes %s for a wallet', (text) => {
    expect(looksLikeWallet(text)).toBe(true);
  });

  it.each(['bc1qcr8te4kr609gcawutmrza0j4xv80jy8z306fyu', '1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa', '3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy', 'cold storage', ''])('takes %s for something else', (text) => {
    expect(looksLikeWallet(text)).toBe(false);
  });
});

describe('private keys', () => {
  it('refuses the BIP-84 zprv with the warning and without echoing it', () => {
    const zprv = 'zprvAdG4iTXWBoARxkkzNpNh8r6Qag3irQB8PzEMkAFeTRXxHpbF9z4QgEvBRmfvqWvGp42t42nvgGpNgYSJA9iefm1yYNZKEm7z6qUWCroSQnE';
    const { code, message } = refusal(zprv);
    expect(code).toBe('private_key');
    expect(message).toContain('Never paste a private key anywhere');
    expect(message).toContain('move its funds');
    expect(message).not.toContain(zprv.slice(4, 20));
  });
});
