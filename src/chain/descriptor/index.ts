/**
 * Whole wallets as satbell watches them: an extended public key (xpub, ypub, zpub and their test
 * network kin) or an output descriptor, parsed into one canonical descriptor and the addresses it
 * derives. Keys are decoded and derived by @scure/bip32, scripts and addresses built by
 * @scure/btc-signer; this module reads the text, checks it and says what is wrong with it.
 */
import type { HDKey } from '@scure/bip32';
import { NETWORK, p2pkh, p2sh, p2tr, p2wpkh, p2wsh, Script, TEST_NETWORK, utils } from '@scure/btc-signer';
import type { Network } from '../address.js';
import { UserError, value, words, type Said } from '../../errors.js';
import { descriptorChecksum, firstInvalidCharacter, isValidChecksum } from './checksum.js';
import { decodeExtendedKey, ExtendedKeyProblem, encodeExtendedKey, familyLabel, familyOf, findPrivateKey, WIF, type SlipScript } from './keys.js';
import { DescriptorProblem, formatScript, parseScript, shortKey, type KeyExpression, type ScriptExpression } from './parse.js';

export type ScriptKind = 'p2pkh' | 'p2sh-p2wpkh' | 'p2wpkh' | 'p2tr' | 'p2wsh' | 'p2sh-p2wsh';

export interface WalletDescriptor {
  /** canonical descriptor, public keys only, multipath form when it has two chains
   *  (e.g. "wpkh([d34db33f/84'/0'/0']xpub.../<0;1>/*)#checksum"): what is stored and derived from */
  descriptor: string;
  /** the BIP-380 checksum of `descriptor` (8 chars) */
  checksum: string;
  /** whether the pasted text carried a checksum (then it was verified) */
  checksumGiven: boolean;
  scriptKind: ScriptKind;
  /** how many chains: 2 (receive 0, change 1) for a bare key or <0;1>, 1 for a single /0/* path */
  chains: number;
  /** a short, non-revealing form for display and logs, e.g. "zpub6rFR…QeZ1" or "wsh(sortedmulti(2, 3 keys))" */
  short: string;
  /** the canonical address (as src/chain/address.ts parseAddress returns it) at chain, index */
  derive(chain: number, index: number): string;
}

/** Longer than a 20-key multisig descriptor with origins; refused before any parsing. */
export const MAX_WALLET_INPUT_LENGTH = 4000;
/** Derivation indexes are unhardened: 0 to 2^31 - 1. */
export const MAX_DERIVATION_INDEX = 0x7fffffff;

const EXTENDED_KEY_START = /^[xyztuvXYZUV](?:pub|prv)/;
const DESCRIPTOR_START = /^(?:[A-Za-z_]+\(|\[)/;

/** Cheap shape test, no crypto: does this text look like a key or descriptor rather than an address? */
export function looksLikeWallet(text: string): boolean {
  const trimmed = text.trim();
  return EXTENDED_KEY_START.test(trimmed) || DESCRIPTOR_START.test(trimmed) || WIF.test(trimmed);
}

/** Parses and checks what a member pasted; throws a UserError saying what is wrong. */
export function parseWallet(text: string, network: Network): WalletDescriptor {
  return build(text, network);
}

/** Parses a stored `descriptor` back: trusted input, still checked, and its checksum must be there. */
export function loadWallet(descriptor: string, network: Network): WalletDescriptor {
  const wallet = build(descriptor, network);
  if (!wallet.checksumGiven) throw new RangeError('a stored wallet descriptor has no checksum');
  return wallet;
}

/** Addresses [from, to) of one chain, in order. */
export function deriveRange(wallet: WalletDescriptor, chain: number, from: number, to: number): string[] {
  checkIndex(from);
  if (!Number.isSafeInteger(to) || to < from || to > MAX_DERIVATION_INDEX + 1) throw new RangeError(`derivation range end ${to} is outside ${from}..2^31`);
  const out: string[] = [];
  for (let index = from; index < to; index++) out.push(wallet.derive(chain, index));
  return out;
}

const walletError = (reason: readonly Said[]) => new UserError('invalid_wallet', ['That is not a wallet satbell can watch: ', ...reason, '.']);

function build(input: string, network: Network): WalletDescriptor {
  // Before anything else can fail: a private key must be answered with the warning, whatever else is wrong.
  const privateKind = findPrivateKey(input.slice(0, 100_000));
  if (privateKind) {
    throw new UserError(
      'private_key',
      `That is ${privateKind}. Never paste a private key anywhere, here or in any other app, site or chat: treat this one as exposed and move its funds to a new wallet now. To watch a wallet, paste its extended public key (xpub, ypub or zpub) or a descriptor with public keys only.`,
    );
  }
  const text = input.trim();
  if (text.length === 0) throw walletError(['it is empty']);
  if (text.length > MAX_WALLET_INPUT_LENGTH) throw walletError([`it is longer than ${MAX_WALLET_INPUT_LENGTH.toLocaleString('en-US')} characters`]);

  const hash = text.indexOf('#');
  const givenChecksum = hash === -1 ? null : text.slice(hash + 1);
  // A checksum covers the text exactly as written, spaces included; without one, the spaces and
  // line breaks a paste brings mean nothing and go.
  const body = hash === -1 ? text.replace(/\s+/g, '') : text.slice(0, hash);
  const invalid = firstInvalidCharacter(body);
  if (invalid !== null) throw walletError(words`it contains ${value(visible(invalid))}, which no descriptor uses`);
  if (givenChecksum !== null && !isValidChecksum(body, givenChecksum)) {
    throw walletError(
      givenChecksum.length === 8
        ? words`its checksum ${value(`#${givenChecksum}`)} is wrong, so the descriptor was changed or mistyped. Copy it again from your wallet`
        : words`a checksum after ${value('#')} has 8 characters, not ${String(givenChecksum.length)}`,
    );
  }

  let script: ScriptExpression;
  try {
    script = body.includes('(') ? parseScript(body.replace(/\s+/g, '')) : bareKey(body, givenChecksum !== null);
  } catch (err) {
    if (err instanceof DescriptorProblem) throw walletError(err.said);
    throw err;
  }
  const family = familyOf(network);
  for (const key of keysOf(script)) {
    if (key.key.family !== family) {
      throw walletError(words`${value(key.key.prefix)} keys are for ${familyLabel(key.key.family)}, and satbell is on ${network}`);
    }
  }

  const canonical = formatScript(script);
  const checksum = descriptorChecksum(canonical);
  const chains = chainCount(script);
  const derive = deriver(script, network, chains);
  return {
    descriptor: `${canonical}#${checksum}`,
    checksum,
    checksumGiven: givenChecksum !== null,
    scriptKind: scriptKindOf(script),
    chains,
    short: shortForm(script),
    derive,
  };
}

/** A character as the user can see it: itself, or its code point when it is invisible. */
const visible = (char: string) => (/^[\p{L}\p{N}\p{P}\p{S}]$/u.test(char) ? char : `U+${char.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}`);

/** A bare extended key: its SLIP-132 script type, receive `/0/*` and change `/1/*`. */
function bareKey(text: string, hadChecksum: boolean): ScriptExpression {
  if (hadChecksum) throw new DescriptorProblem(words`a checksum after ${value('#')} belongs to a descriptor, not to a bare key`);
  if (text.startsWith('[')) {
    // SLIP-132 would say an xpub is P2PKH whatever its origin says; rather than guess, ask for the script.
    throw new DescriptorProblem(words`a key with its origin needs its script around it, as in ${value("wpkh([d34db33f/84'/0'/0']xpub…/<0;1>/*)")}`);
  }
  let key;
  try {
    key = decodeExtendedKey(text);
  } catch (err) {
    if (err instanceof ExtendedKeyProblem) throw new DescriptorProblem(words`${value(shortKey(text))} cannot be read: ${err.message}`);
    throw err;
  }
  const expression: KeyExpression = { origin: null, key, before: [], multipath: [0, 1], after: [] };
  const kind = ({ p2pkh: 'pkh', 'p2sh-p2wpkh': 'sh-wpkh', p2wpkh: 'wpkh' } as const)[key.script];
  return { kind, key: expression };
}

function keysOf(script: ScriptExpression): KeyExpression[] {
  return 'key' in script ? [script.key] : script.multi.keys;
}

function chainCount(script: ScriptExpression): number {
  return Math.max(1, ...keysOf(script).map((key) => key.multipath?.length ?? 1));
}

function scriptKindOf(script: ScriptExpression): ScriptKind {
  return ({ pkh: 'p2pkh', wpkh: 'p2wpkh', 'sh-wpkh': 'p2sh-p2wpkh', tr: 'p2tr', wsh: 'p2wsh', 'sh-wsh': 'p2sh-p2wsh' } as const)[script.kind];
}

const BARE_PREFIX_SCRIPT: Partial<Record<ScriptExpression['kind'], SlipScript>> = { pkh: 'p2pkh', 'sh-wpkh': 'p2sh-p2wpkh', wpkh: 'p2wpkh' };

/**
 * Worked out from the canonical structure alone, so that a wallet shows the same short form when it
 * is pasted and when it is loaded back: a descriptor that says no more than a bare key shows as that
 * key (in its SLIP-132 spelling), anything else as its script around a shortened key or a key count.
 */
function shortForm(script: ScriptExpression): string {
  if ('key' in script) {
    const { key } = script;
    const slip = BARE_PREFIX_SCRIPT[script.kind];
    const bare = slip && !key.origin && key.before.length === 0 && key.after.length === 0 && key.multipath?.join(';') === '0;1';
    if (bare) return shortKey(encodeExtendedKey(key.key.hd, key.key.family, slip));
    const inner = shortKey(encodeExtendedKey(key.key.hd, key.key.family));
    return script.kind === 'sh-wpkh' ? `sh(wpkh(${inner}))` : `${script.kind}(${inner})`;
  }
  const { sorted, threshold, keys } = script.multi;
  const multi = `wsh(${sorted ? 'sortedmulti' : 'multi'}(${threshold}, ${keys.length} keys))`;
  return script.kind === 'wsh' ? multi : `sh(${multi})`;
}

function checkIndex(index: number): void {
  if (!Number.isSafeInteger(index) || index < 0 || index > MAX_DERIVATION_INDEX) throw new RangeError(`derivation index ${index} is outside 0..2^31-1`);
}

const REGTEST_NETWORK = { ...TEST_NETWORK, bech32: 'bcrt' };
const ADDRESS_NETWORK = { mainnet: NETWORK, testnet: TEST_NETWORK, signet: TEST_NETWORK, regtest: REGTEST_NETWORK } as const;

/** derive(chain, index), with each key's parent for a chain derived once and kept. */
function deriver(script: ScriptExpression, network: Network, chains: number): (chain: number, index: number) => string {
  const net = ADDRESS_NETWORK[network];
  const keys = keysOf(script);
  const parents = new Map<number, HDKey[]>();
  const parentsOf = (chain: number): HDKey[] => {
    let found = parents.get(chain);
    if (!found) {
      found = keys.map((key) => [...key.before, ...(key.multipath ? [key.multipath[chain]!] : []), ...key.after].reduce((hd, step) => hd.deriveChild(step), key.key.hd));
      parents.set(chain, found);
    }
    return found;
  };
  return (chain, index) => {
    if (!Number.isInteger(chain) || chain < 0 || chain >= chains) throw new RangeError(`chain ${chain} is outside 0..${chains - 1}`);
    checkIndex(index);
    const pubkeys = parentsOf(chain).map((parent) => {
      const publicKey = parent.deriveChild(index).publicKey;
      if (!publicKey) throw new Error('derived key has no public key');
      return publicKey;
    });
    const first = pubkeys[0]!;
    switch (script.kind) {
      case 'pkh':
        return p2pkh(first, net).address!;
      case 'wpkh':
        return p2wpkh(first, net).address!;
      case 'sh-wpkh':
        return p2sh(p2wpkh(first, net), net).address!;
      case 'tr':
        return p2tr(first.subarray(1), undefined, net).address!;
      case 'wsh':
      case 'sh-wsh': {
        const ordered = script.multi.sorted ? [...pubkeys].sort(utils.compareBytes) : pubkeys;
        // Written out rather than through p2ms(), which stops at 16 keys where BIP-383 allows 20
        // (17 to 20 are pushed as one-byte numbers, as Bitcoin Core does).
        const multisig = Script.encode([script.multi.threshold, ...ordered, ordered.length, 'CHECKMULTISIG']);
        const witness = p2wsh({ type: 'ms', script: multisig }, net);
        return (script.kind === 'wsh' ? witness : p2sh(witness, net)).address!;
      }
    }
  };
}
