import { sha256 } from '@noble/hashes/sha2.js';
import { bech32, hex } from '@scure/base';
import { HDKey } from '@scure/bip32';
import { NETWORK, p2pkh } from '@scure/btc-signer';
import { describe, expect, it } from 'vitest';
import { parseAddress, type Network } from '../../src/chain/address.js';
import { deriveRange, loadWallet, looksLikeWallet, parseWallet } from '../../src/chain/descriptor/index.js';
import { isUserError } from '../../src/errors.js';

// BIP-84 test vector: "abandon … about", account m/84'/0'/0' (master fingerprint 73c5da0a).
const BIP84_ZPUB = 'zpub6rFR7y4Q2AijBEqTUquhVz398htDFrtymD9xYYfG1m4wAcvPhXNfE3EfH1r1ADqtfSdVCToUG868RvUUkgDKf31mGDtKsAYz2oz2AGutZYs';
/** the same account key in plain BIP-32 versions, as descriptors spell it */
const BIP84_XPUB = 'xpub6CatWdiZiodmUeTDp8LT5or8nmbKNcuyvz7WyksVFkKB4RHwCD3XyuvPEbvqAQY3rAPshWcMLoP2fMFMKHPJ4ZeZXYVUhLv1VMrjPC7PW6V';
const BIP84_RECEIVE = ['bc1qcr8te4kr609gcawutmrza0j4xv80jy8z306fyu', 'bc1qnjg0jd8228aq7egyzacy8cys3knf9xvrerkf9g'];
const BIP84_CHANGE = 'bc1q8c6fshw2dlwun7ekn9qwf37cu2rn755upcp6el';
const BIP84_ZPRV = 'zprvAdG4iTXWBoARxkkzNpNh8r6Qag3irQB8PzEMkAFeTRXxHpbF9z4QgEvBRmfvqWvGp42t42nvgGpNgYSJA9iefm1yYNZKEm7z6qUWCroSQnE';

// BIP-49 test vector (testnet): account m/49'/1'/0', first receive address.
const BIP49_UPUB = 'upub5EFU65HtV5TeiSHmZZm7FUffBGy8UKeqp7vw43jYbvZPpoVsgU93oac7Wk3u6moKegAEWtGNF8DehrnHtv21XXEMYRUocHqguyjknFHYfgY';
const BIP49_RECEIVE = '2Mww8dCYPUpKHofjgcXcBCEGmniw9CoaiD2';
const BIP49_UPRV = 'uprv91G7gZkzehuMVxDJTYE6tLivdF8e4rvzSu1LFfKw3b2Qx1Aj8vpoFnHdfUZ3hmi9jsvPifmZ24RTN2KhwB8BfMLTVqaBReibyaFFcTP1s9n';

// BIP-86 test vector: account m/86'/0'/0'.
const BIP86_XPUB = 'xpub6BgBgsespWvERF3LHQu6CnqdvfEvtMcQjYrcRzx53QJjSxarj2afYWcLteoGVky7D3UKDP9QyrLprQ3VCECoY49yfdDEHGCtMMj92pReUsQ';
const BIP86_RECEIVE = ['bc1p5cyxnuxmeuwuvkwfem96lqzszd02n6xdcjrs20cac6yqjjwudpxqkedrcr', 'bc1p4qhjn9zdvkux4e44uhx8tc55attvtyu358kutcqkudyccelu0was9fqzwh'];
const BIP86_CHANGE = 'bc1p3qkhfews2uk44qtvauqyr2ttdsw7svhkl9nkm9s9c3x4ax5h60wqwruhk7';

// BIP-32 test vector 1 (seed 000102…0f): the public keys along m/0H/1/2H/2/1000000000.
const V1 = {
  m0H: 'xpub68Gmy5EdvgibQVfPdqkBBCHxA5htiqg55crXYuXoQRKfDBFA1WEjWgP6LHhwBZeNK1VTsfTFUHCdrfp1bgwQ9xv5ski8PX9rL2dZXvgGDnw',
  m0H1: 'xpub6ASuArnXKPbfEwhqN6e3mwBcDTgzisQN1wXN9BJcM47sSikHjJf3UFHKkNAWbWMiGj7Wf5uMash7SyYq527Hqck2AxYysAA7xmALppuCkwQ',
  m0H12H: 'xpub6D4BDPcP2GT577Vvch3R8wDkScZWzQzMMUm3PWbmWvVJrZwQY4VUNgqFJPMM3No2dFDFGTsxxpG5uJh7n7epu4trkrX7x7DogT5Uv6fcLW5',
  m0H12H2: 'xpub6FHa3pjLCk84BayeJxFW2SP4XRrFd1JYnxeLeU8EqN3vDfZmbqBqaGJAyiLjTAwm6ZLRQUMv1ZACTj37sR62cfN7fe5JnJ7dh8zL4fiyLHV',
  m0H12H21000000000: 'xpub6H1LXWLaKsWFhvm6RVpEL9P4KfRZSW7abD2ttkWP3SSQvnyA8FSVqNTEcYFgJS2UaFcxupHiYkro49S8yGasTvXEYBVPamhGW6cFJodrTHy',
};
// BIP-32 test vector 2: m/0, also BIP-389's multipath vector key.
const V2_M0 = 'xpub69H7F5d8KSRgmmdJg2KhpAK8SR3DjMwAdkxj3ZuxV27CprR9LgpeyGmXUbC6wb7ERfvrnKZjXoUmmDznezpbZb7ap6r1D3tgFxHmwMkQTPH';
const V2_MASTER = 'xpub661MyMwAqRbcFW31YEwpkMuc5THy2PSt5bDMsktWQcFF8syAmRUapSCGu8ED9W6oDMSgv6Zz8idoc4a6mr8BDzTJY47LJhkJ8UB7WEGuduB';

/** The P2PKH address of an extended key's own public key: what pkh() must derive to reach it. */
const p2pkhOf = (xpub: string) => p2pkh(HDKey.fromExtendedKey(xpub).publicKey!, NETWORK).address!;

/** The refusal parseWallet gives, or a failure if it accepted the input. */
function refusal(text: string, network: Network = 'mainnet'): { code: string; message: string } {
  try {
    parseWallet(text, network);
  } catch (err) {
    if (isUserError(err)) return { code: err.code, message: err.message };
    throw err;
  }
  throw new Error(`${text.slice(0, 60)} was accepted on ${network}`);
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

  it('refuses to load a stored descriptor without its checksum', () => {
    expect(() => loadWallet(wallet.descriptor.split('#')[0]!, 'mainnet')).toThrow(/no checksum/);
  });

  it('is read with the spaces and line ends a paste brings', () => {
    expect(parseWallet(`  ${BIP84_ZPUB}\n`, 'mainnet').descriptor).toBe(wallet.descriptor);
    expect(parseWallet(`wpkh(\n  ${BIP84_XPUB.slice(0, 50)}\n${BIP84_XPUB.slice(50)}/<0;1>/*\n)`, 'mainnet').descriptor).toBe(wallet.descriptor);
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
    const withH = parseWallet(`wpkh([73C5DA0A/84h/0'/0H]${BIP84_XPUB}/1/*)`, 'mainnet');
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

  it('verifies a checksum Bitcoin Core gave, and keeps the canonical one', () => {
    // Bitcoin Core's descriptor documentation and wallet tests use this descriptor and checksum.
    const core = 'wpkh([d34db33f/84h/0h/0h]xpub6DJ2dNUysrn5Vt36jH2KLBT2i1auw1tTSSomg8PhqNiUtx8QX2SvC9nrHu81fT41fvDUnhMjEzQgXnQjKEu3oaqMSzhSrHMxyyoEAmUHQbY/0/*)#cjjspncu';
    const wallet = parseWallet(core, 'mainnet');
    expect(wallet.checksumGiven).toBe(true);
    expect(wallet.descriptor).toBe(`${core.split('#')[0]!.replace('[d34db33f/84h/0h/0h]', "[d34db33f/84'/0'/0']")}#${wallet.checksum}`);
    // the same descriptor spelt with ', as Bitcoin Core's deriveaddresses help gives it
    expect(wallet.checksum).toBe('trd0mf0l');
    expect(loadWallet(wallet.descriptor, 'mainnet').derive(0, 0)).toBe(wallet.derive(0, 0));
  });

  it('refuses a checksum that does not match, saying so', () => {
    const { code, message } = refusal(`wpkh([73c5da0a/84'/0'/0']${BIP84_XPUB}/0/*)#cjjspncu`);
    expect(code).toBe('invalid_wallet');
    expect(message).toContain('its checksum #cjjspncu is wrong');
  });

  it('refuses a checksum of the wrong length', () => {
    expect(refusal(`wpkh(${BIP84_XPUB}/0/*)#abc`).message).toContain('has 8 characters, not 3');
  });
});

describe('sh(wpkh()) and ypub/upub (BIP-49)', () => {
  it('derives the BIP-49 testnet address from the bare upub', () => {
    const wallet = parseWallet(BIP49_UPUB, 'testnet');
    expect(wallet.scriptKind).toBe('p2sh-p2wpkh');
    expect(wallet.derive(0, 0)).toBe(BIP49_RECEIVE);
    expect(wallet.descriptor).toMatch(/^sh\(wpkh\(tpub[1-9A-HJ-NP-Za-km-z]+\/<0;1>\/\*\)\)#/);
    expect(wallet.short).toBe('upub5EFU…YfgY');
  });

  it('derives the same address from the sh(wpkh()) descriptor with the tpub spelling, on signet and regtest too', () => {
    const tpub = /tpub[1-9A-HJ-NP-Za-km-z]+/.exec(parseWallet(BIP49_UPUB, 'testnet').descriptor)![0];
    for (const network of ['testnet', 'signet', 'regtest'] as const) {
      expect(parseWallet(`sh(wpkh([00000000/49'/1'/0']${tpub}/0/*))`, network).derive(0, 0)).toBe(BIP49_RECEIVE);
    }
  });

  it('derives bcrt1 addresses for a vpub on regtest and tb1 on testnet', () => {
    const tpub = /tpub[1-9A-HJ-NP-Za-km-z]+/.exec(parseWallet(BIP49_UPUB, 'testnet').descriptor)![0];
    const regtest = parseWallet(`wpkh(${tpub}/0/*)`, 'regtest').derive(0, 0);
    const testnet = parseWallet(`wpkh(${tpub}/0/*)`, 'testnet').derive(0, 0);
    expect(regtest).toMatch(/^bcrt1q/);
    expect(testnet).toMatch(/^tb1q/);
    expect(parseAddress(regtest, 'regtest').type).toBe('p2wpkh');
  });
});

describe('tr() key path (BIP-86)', () => {
  it('derives the BIP-86 receive and change addresses', () => {
    const wallet = parseWallet(`tr([73c5da0a/86'/0'/0']${BIP86_XPUB}/<0;1>/*)`, 'mainnet');
    expect(wallet.scriptKind).toBe('p2tr');
    expect(deriveRange(wallet, 0, 0, 2)).toEqual(BIP86_RECEIVE);
    expect(wallet.derive(1, 0)).toBe(BIP86_CHANGE);
    expect(wallet.short).toBe('tr(xpub6BgB…eUsQ)');
  });

  it('refuses a script tree clearly', () => {
    const { message } = refusal(`tr(${BIP86_XPUB}/0/*,pk(${BIP84_XPUB}/0/*))`);
    expect(message).toContain('has a script tree');
    expect(refusal(`tr(${BIP86_XPUB}/0/*,{pk(${BIP84_XPUB}/0/*),pk(${V1.m0H}/0/*)})`).message).toContain('has a script tree');
  });
});

describe('pkh() and xpubs (BIP-32 test vector 1)', () => {
  it('derives public children along the vector: m/0H → m/0H/1, m/0H/1/2H → …/2 → …/2/1000000000', () => {
    expect(parseWallet(`pkh(${V1.m0H}/*)`, 'mainnet').derive(0, 1)).toBe(p2pkhOf(V1.m0H1));
    expect(parseWallet(`pkh(${V1.m0H12H}/*)`, 'mainnet').derive(0, 2)).toBe(p2pkhOf(V1.m0H12H2));
    expect(parseWallet(`pkh(${V1.m0H12H}/2/*)`, 'mainnet').derive(0, 1_000_000_000)).toBe(p2pkhOf(V1.m0H12H21000000000));
  });

  it('reads a bare xpub as pkh() with receive and change', () => {
    const wallet = parseWallet(V1.m0H12H, 'mainnet');
    expect(wallet.scriptKind).toBe('p2pkh');
    expect(wallet.descriptor).toBe(`pkh(${V1.m0H12H}/<0;1>/*)#${wallet.checksum}`);
    expect(parseWallet(`pkh(${V1.m0H12H}/<2;3>/*)`, 'mainnet').derive(0, 1_000_000_000)).toBe(p2pkhOf(V1.m0H12H21000000000));
    expect(wallet.short).toBe('xpub6D4B…cLW5');
  });

  it('refuses a hardened step after the key, which a public key cannot derive (vector 2, m/0 → 2147483647H)', () => {
    for (const text of [`pkh(${V2_M0}/2147483647h/*)`, `pkh(${V2_M0}/0/*h)`, `pkh(${V2_M0}/0/*')`, `pkh(${V2_M0}/<0h;1h>/*)`]) {
      const { code, message } = refusal(text);
      expect(code).toBe('invalid_wallet');
      expect(message).toContain('cannot be derived from a public key');
    }
  });
});

describe('multipath (BIP-389)', () => {
  it('derives the BIP-389 vector wpkh(…/<1;3>/2/*) as its two expansions', () => {
    const origin = '[ffffffff/13h]';
    const wallet = parseWallet(`wpkh(${origin}${V2_M0}/<1;3>/2/*)`, 'mainnet');
    expect(wallet.chains).toBe(2);
    expect(deriveRange(wallet, 0, 0, 3)).toEqual(deriveRange(parseWallet(`wpkh(${origin}${V2_M0}/1/2/*)`, 'mainnet'), 0, 0, 3));
    expect(deriveRange(wallet, 1, 0, 3)).toEqual(deriveRange(parseWallet(`wpkh(${origin}${V2_M0}/3/2/*)`, 'mainnet'), 0, 0, 3));
    expect(wallet.descriptor.startsWith(`wpkh([ffffffff/13']${V2_M0}/<1;3>/2/*)#`)).toBe(true);
  });

  it('derives multi() keys in lockstep (the BIP-389 multi vector, in wsh())', () => {
    const multipath = parseWallet(`wsh(multi(2,${V2_M0}/<1;2>/*,${V1.m0H}/<3;4>/0/*))`, 'mainnet');
    const first = parseWallet(`wsh(multi(2,${V2_M0}/1/*,${V1.m0H}/3/0/*))`, 'mainnet');
    const second = parseWallet(`wsh(multi(2,${V2_M0}/2/*,${V1.m0H}/4/0/*))`, 'mainnet');
    expect(multipath.chains).toBe(2);
    expect(multipath.derive(0, 7)).toBe(first.derive(0, 7));
    expect(multipath.derive(1, 7)).toBe(second.derive(0, 7));
  });

  it.each([
    ['two multipath steps', `pkh(${V2_MASTER}/<0;1>/<2;3>/*)`, 'only one'],
    ['a multipath step in the origin', `pkh([deadbeef/<0;1>]${V2_MASTER}/0/*)`, 'is not a derivation step'],
    ['multipath steps of different lengths', `wsh(multi(2,${V2_M0}/<1;2;3>/0/*,${V1.m0H}/0/*,${V2_MASTER}/0/0/<3;4>/*))`, 'same number of choices'],
    ['an empty multipath step', `wpkh(${V2_MASTER}/<>/*)`, 'is not a multipath step'],
    ['a multipath step without its start', `wpkh(${V2_MASTER}/0>/*)`, 'is not a multipath step'],
    ['a multipath step without its end', `wpkh(${V2_MASTER}/<0/*)`, 'is not a multipath step'],
    ['a multipath step with a missing index', `wpkh(${V2_MASTER}/<0;>/*)`, 'empty step'],
    ['a multipath step with a repeated index', `wpkh(${V2_MASTER}/<0;0>/*)`, 'repeats a choice'],
  ])('refuses the BIP-389 invalid vector with %s', (_what, text, reason) => {
    const { code, message } = refusal(text);
    expect(code).toBe('invalid_wallet');
    expect(message).toContain(reason);
  });
});

describe('multisig: wsh(sortedmulti()), wsh(multi()), sh(wsh())', () => {
  const keys = [`[73c5da0a/84'/0'/0']${BIP84_XPUB}/<0;1>/*`, `[73c5da0a/86'/0'/0']${BIP86_XPUB}/<0;1>/*`, `[3442193e/0'/1/2']${V1.m0H12H}/<0;1>/*`];
  const orders = [keys, [keys[2]!, keys[0]!, keys[1]!], [keys[1]!, keys[2]!, keys[0]!]];

  it('gives a 2-of-3 sortedmulti the same addresses whatever the order of its keys', () => {
    const addresses = orders.map((order) => deriveRange(parseWallet(`wsh(sortedmulti(2,${order.join(',')}))`, 'mainnet'), 1, 0, 3));
    expect(addresses[1]).toEqual(addresses[0]);
    expect(addresses[2]).toEqual(addresses[0]);
    expect(parseWallet(`wsh(sortedmulti(2,${keys.join(',')}))`, 'mainnet').short).toBe('wsh(sortedmulti(2, 3 keys))');
  });

  it('gives multi() different addresses for a different key order', () => {
    const [first, second] = orders.map((order) => parseWallet(`wsh(multi(2,${order.join(',')}))`, 'mainnet').derive(0, 0));
    expect(first).not.toBe(second);
  });

  it('builds the witness script of BIP-383 from the derived keys: OP_2 <keys> OP_3 OP_CHECKMULTISIG', () => {
    const pubkeys = [BIP84_XPUB, BIP86_XPUB, V1.m0H12H].map((xpub) => HDKey.fromExtendedKey(xpub).deriveChild(0).deriveChild(5).publicKey!);
    const script = Uint8Array.from([0x52, ...pubkeys.flatMap((key) => [0x21, ...key]), 0x53, 0xae]);
    const expected = bech32.encode('bc', [0, ...bech32.toWords(sha256(script))]);
    expect(parseWallet(`wsh(multi(2,${keys.join(',')}))`, 'mainnet').derive(0, 5)).toBe(expected);
    const sorted = [...pubkeys].sort((a, b) => hex.encode(a).localeCompare(hex.encode(b)));
    const sortedScript = Uint8Array.from([0x52, ...sorted.flatMap((key) => [0x21, ...key]), 0x53, 0xae]);
    expect(parseWallet(`wsh(sortedmulti(2,${keys.join(',')}))`, 'mainnet').derive(0, 5)).toBe(bech32.encode('bc', [0, ...bech32.toWords(sha256(sortedScript))]));
  });

  it('wraps the same script in P2SH for sh(wsh())', () => {
    const wallet = parseWallet(`sh(wsh(sortedmulti(2,${keys.join(',')})))`, 'mainnet');
    expect(wallet.scriptKind).toBe('p2sh-p2wsh');
    expect(wallet.derive(0, 0)).toMatch(/^3/);
    expect(wallet.short).toBe('sh(wsh(sortedmulti(2, 3 keys)))');
    expect(loadWallet(wallet.descriptor, 'mainnet').derive(1, 4)).toBe(wallet.derive(1, 4));
  });

  it.each([
    ['a threshold of 0', `wsh(multi(0,${keys.join(',')}))`, 'it must be from 1 to 3'],
    ['a threshold above the key count', `wsh(multi(4,${keys.join(',')}))`, 'asks for 4 of 3'],
    ['a huge threshold', `wsh(multi(99999999999,${keys.join(',')}))`, 'a number from 1 to 20'],
    ['more than 20 keys', `wsh(multi(2,${Array.from({ length: 21 }, (_, i) => `${BIP84_XPUB}/${i}/*`).join(',')}))`, 'at most 20 keys'],
    ['no keys', 'wsh(multi(2))', 'has no keys'],
    ['the same key twice', `wsh(multi(1,${keys[0]},${keys[0]}))`, 'the same key twice'],
    ['the same key twice under two origins', `wsh(multi(1,${keys[0]},[00000000]${BIP84_XPUB}/<0;1>/*))`, 'the same key twice'],
    ['a bare multi()', `multi(2,${keys.join(',')})`, 'does not watch multi()'],
    ['sh(multi())', `sh(multi(2,${keys.join(',')}))`, 'inside sh() satbell reads'],
    ['a miniscript inside wsh()', `wsh(and_v(v:pk(${keys[0]}),pk(${keys[1]})))`, 'inside wsh() satbell reads'],
  ])('refuses %s', (_what, text, reason) => {
    const { code, message } = refusal(text);
    expect(code).toBe('invalid_wallet');
    expect(message).toContain(reason);
  });

  it('accepts 20 keys, pushing 17 and 20 as numbers in the witness script as Bitcoin Core does', () => {
    const twenty = Array.from({ length: 20 }, (_, i) => `${BIP84_XPUB}/${i}/*`);
    const pubkeys = twenty.map((_, i) => HDKey.fromExtendedKey(BIP84_XPUB).deriveChild(i).deriveChild(0).publicKey!);
    const script = Uint8Array.from([0x01, 17, ...pubkeys.flatMap((key) => [0x21, ...key]), 0x01, 20, 0xae]);
    expect(parseWallet(`wsh(multi(17,${twenty.join(',')}))`, 'mainnet').derive(0, 0)).toBe(bech32.encode('bc', [0, ...bech32.toWords(sha256(script))]));
  });
});

describe('what is not a wallet', () => {
  it.each([
    ['a key with no wildcard', `wpkh(${BIP84_XPUB})`, 'stands for one fixed address'],
    ['a key with a fixed path', `wpkh(${BIP84_XPUB}/0/5)`, 'stands for one fixed address'],
    ['a plain public key', 'wpkh(0330d54fd0dd420a6e5f8d3624f5f3482cae350f79d5f0753bf5beef9c2d91af3c)', 'plain public key'],
    ['an unknown script', `combo(${BIP84_XPUB}/0/*)`, 'does not watch combo()'],
    ['an address descriptor', 'addr(bc1qcr8te4kr609gcawutmrza0j4xv80jy8z306fyu)', 'does not watch addr()'],
    ['a mistyped key', `wpkh(${BIP84_XPUB.slice(0, -1)}X/0/*)`, 'its checksum is wrong'],
    ['a truncated bare key', BIP84_ZPUB.slice(0, 80), 'cannot be read'],
    ['a bare key with an origin', `[73c5da0a/84'/0'/0']${BIP84_XPUB}`, 'needs its script around it'],
    ['a bad fingerprint', `wpkh([73c5da0/84'/0'/0']${BIP84_XPUB}/0/*)`, '8 hex characters'],
    ['an unclosed origin', `wpkh([73c5da0a/84'${BIP84_XPUB}/0/*)`, 'is not closed'],
    ['a step too large', `wpkh(${BIP84_XPUB}/2147483648/*)`, 'is not a derivation step'],
    ['a missing parenthesis', `wpkh(${BIP84_XPUB}/0/*`, 'is missing'],
    ['text after the end', `wpkh(${BIP84_XPUB}/0/*))`, 'text after'],
    ['a character no descriptor uses', `wpkh(${BIP84_XPUB}/0/*)é`, 'which no descriptor uses'],
    ['an invisible character, named by its code point', `wpkh(${BIP84_XPUB}/0/*\u200b)`, 'it contains U+200B'],
    ['an empty text', '   ', 'it is empty'],
  ])('refuses %s', (_what, text, reason) => {
    const { code, message } = refusal(text);
    expect(code).toBe('invalid_wallet');
    expect(message).toContain(reason);
  });

  it('refuses a mainnet key on regtest, and a test network key on mainnet, naming the networks', () => {
    expect(refusal(BIP84_ZPUB, 'regtest').message).toContain('zpub keys are for mainnet, and satbell is on regtest');
    expect(refusal(`wpkh(${BIP84_XPUB}/0/*)`, 'testnet').message).toContain('xpub keys are for mainnet, and satbell is on testnet');
    expect(refusal(BIP49_UPUB, 'mainnet').message).toContain('upub keys are for testnet/signet/regtest, and satbell is on mainnet');
  });
});

describe('private keys', () => {
  /** the BIP-84 account key re-spelt with another private version: xprv, yprv, tprv, vprv … */
  const respell = (privateVersion: number) => {
    const hd = HDKey.fromExtendedKey(BIP84_ZPRV, { public: 0x04b24746, private: 0x04b2430c });
    const { depth, index, parentFingerprint, chainCode, privateKey } = hd;
    return new HDKey({ versions: { public: 0, private: privateVersion }, depth, index, parentFingerprint, chainCode: chainCode!, privateKey: privateKey! }).privateExtendedKey;
  };
  const privateKeys = {
    xprv: respell(0x0488ade4),
    yprv: respell(0x049d7878),
    zprv: BIP84_ZPRV,
    tprv: respell(0x04358394),
    uprv: BIP49_UPRV,
    vprv: respell(0x045f18bc),
    'WIF 5… (BIP-380)': '5KYZdUEo39z3FPrtuX2QbbwGnNP5zTd7yyr2SC1j299sBCnWjss',
    'WIF L… (BIP-380)': 'L4rK1yDtCWekvXuE6oXD9jCYfFNV2cWRpVuPLBcCU2z8TrisoyY1',
    'WIF K… (BIP-84)': 'KyZpNDKnfs94vbrwhJneDi77V6jF64PWPF8x5cdJb8ifgg2DUc9d',
    'WIF c… (BIP-49)': 'cULrpoZGXiuC19Uhvykx7NugygA3k86b3hmdCeyvHYQZSxojGyXJ',
  };

  it.each(Object.entries(privateKeys))('refuses a bare %s with the warning, without echoing it', (_kind, key) => {
    expect(looksLikeWallet(key)).toBe(true);
    for (const network of ['mainnet', 'regtest'] as const) {
      const { code, message } = refusal(key, network);
      expect(code).toBe('private_key');
      expect(message).toContain('Never paste a private key anywhere');
      expect(message).toContain('treat this one as exposed and move its funds');
      expect(message).not.toContain(key.slice(4, 16));
    }
  });

  it.each([
    ['in a descriptor (BIP-380)', 'wpkh([deadbeef/0h/1h/2h]xprvA1RpRA33e1JQ7ifknakTFpgNXPmW2YvmhqLQYMmrj4xJXXWYpDPS3xz7iAxn8L39njGVyuoseXzU6rcxFLJ8HFsTjSyQbLYnMpCqE2VbFWc/3/4/5/*)'],
    ['as a multisig cosigner', `wsh(sortedmulti(2,${BIP84_XPUB}/0/*,${privateKeys.xprv}/0/*))`],
    ['with a wrong checksum', `wpkh(${privateKeys.xprv}/0/*)#aaaaaaaa`],
    ['in an unknown script', `rawtr(${privateKeys.xprv}/0/*)`],
    ['with a hardened step', 'pkh(xprv9s21ZrQH143K31xYSDQpPDxsXRTUcvj2iNHm5NUtrGiGG5e2DtALGdso3pGz6ssrdK4PFmM8NSpSBHNqPqm55Qn3LqFtT2emdEXVYsCzC2U/<2147483647h;0>/0)'],
    ['as a WIF key', 'wpkh(L4rK1yDtCWekvXuE6oXD9jCYfFNV2cWRpVuPLBcCU2z8TrisoyY1)'],
    ['mistyped (its checksum broken)', `${BIP84_ZPRV.slice(0, -1)}1`],
    ['cut short', BIP84_ZPRV.slice(0, 40)],
    ['at the end of a text too long to read', `wpkh(${'x'.repeat(5000)},${privateKeys.tprv})`],
  ])('refuses a private key %s before any other error', (_where, text) => {
    const { code, message } = refusal(text, text.includes('tprv') ? 'testnet' : 'mainnet');
    expect(code).toBe('private_key');
    expect(message).not.toMatch(/[xyztuv]prv[1-9A-HJ-NP-Za-km-z]{8}/);
  });
});

describe('hostile input', () => {
  it('refuses more than 4,000 characters before parsing', () => {
    expect(refusal(`wpkh(${BIP84_XPUB}/0/*)${' '.repeat(10)}${'a'.repeat(4000)}`).message).toContain('longer than 4,000 characters');
  });

  it('refuses deep nesting at its first wrong step, quickly', () => {
    const started = performance.now();
    expect(refusal(`${'sh('.repeat(900)}wpkh(${BIP84_XPUB}/0/*)${')'.repeat(900)}`).message).toContain('inside sh() satbell reads');
    expect(refusal(`${'wsh('.repeat(700)}multi(1,${BIP84_XPUB}/0/*)${')'.repeat(700)}`).message).toContain('inside wsh() satbell reads');
    expect(performance.now() - started).toBeLessThan(1000);
  });

  it('derives indexes 0 to 2^31-1 only', () => {
    const wallet = parseWallet(BIP84_ZPUB, 'mainnet');
    expect(wallet.derive(0, 2 ** 31 - 1)).toMatch(/^bc1q/);
    for (const index of [2 ** 31, -1, 1.5, Number.NaN]) expect(() => wallet.derive(0, index)).toThrow(RangeError);
    expect(() => wallet.derive(2, 0)).toThrow(RangeError);
    expect(() => deriveRange(wallet, 0, 2 ** 31 - 1, 2 ** 31 + 1)).toThrow(RangeError);
    expect(() => deriveRange(wallet, 0, 5, 4)).toThrow(RangeError);
    expect(deriveRange(wallet, 0, 3, 3)).toEqual([]);
    expect(deriveRange(wallet, 0, 2 ** 31 - 1, 2 ** 31)).toEqual([wallet.derive(0, 2 ** 31 - 1)]);
  });
});

describe('looksLikeWallet', () => {
  it.each([BIP84_ZPUB, `wpkh(${BIP84_XPUB}/0/*)`, `[73c5da0a/84h/0h/0h]${BIP84_XPUB}`, '  tpubD6NzVbkrYhZ4X  ', 'xprv9s21ZrQH143K3', 'sh(wsh('])('takes %s for a wallet', (text) => {
    expect(looksLikeWallet(text)).toBe(true);
  });

  it.each(['bc1qcr8te4kr609gcawutmrza0j4xv80jy8z306fyu', '1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa', '3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy', BIP49_RECEIVE, 'cold storage', 'xavier', ''])(
    'takes %s for something else',
    (text) => {
      expect(looksLikeWallet(text)).toBe(false);
    },
  );
});
