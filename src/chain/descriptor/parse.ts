/**
 * The descriptor forms satbell watches (BIP-380 key expressions with BIP-389 multipath, BIP-381
 * pkh/sh, BIP-382 wpkh/wsh, BIP-383 multi/sortedmulti, BIP-386 tr key path), read by a descent that
 * only follows these forms: any other nesting is refused at its first step, so input depth costs nothing.
 */
import { HARDENED_OFFSET } from '@scure/bip32';
import { plainWords, value, words, type Said } from '../../errors.js';
import { decodeExtendedKey, encodeExtendedKey, ExtendedKeyProblem, type ExtendedKey } from './keys.js';

/** A descriptor that cannot be watched, and why, in words for the person who pasted it. */
export class DescriptorProblem extends Error {
  constructor(readonly said: Said[]) {
    super(plainWords(said));
  }
}
const problem = (said: Said[]) => new DescriptorProblem(said);

export interface KeyOrigin {
  /** 8 lower-case hex characters */
  fingerprint: string;
  /** child numbers, hardened ones with HARDENED_OFFSET added */
  path: number[];
}

export interface KeyExpression {
  origin: KeyOrigin | null;
  key: ExtendedKey;
  /** unhardened steps between the key and the multipath step (or the wildcard when there is none) */
  before: number[];
  /** BIP-389 alternatives, one per chain, or null */
  multipath: number[] | null;
  /** unhardened steps between the multipath step and the wildcard */
  after: number[];
}

export interface Multi {
  sorted: boolean;
  threshold: number;
  keys: KeyExpression[];
}

export type ScriptExpression =
  | { kind: 'pkh' | 'wpkh' | 'sh-wpkh' | 'tr'; key: KeyExpression }
  | { kind: 'wsh' | 'sh-wsh'; multi: Multi };

/** BIP-383's limit for multi() and sortedmulti() outside of tapscript. */
export const MAX_MULTI_KEYS = 20;
const MAX_INDEX = HARDENED_OFFSET - 1;
const SUPPORTED = 'pkh(), wpkh(), sh(wpkh()), tr(), wsh(multi()), wsh(sortedmulti()) and sh(wsh(…))';

class Reader {
  private at = 0;
  constructor(private readonly text: string) {}

  /** a function name and its opening parenthesis */
  name(): string {
    const match = /^([A-Za-z_]+)\(/.exec(this.text.slice(this.at, this.at + 20));
    if (!match) throw problem(words`it should start with a script such as ${value('wpkh(')}; satbell reads ${SUPPORTED}`);
    this.at += match[0].length;
    return match[1]!;
  }

  /** up to the next `,` or `)`: key expressions contain neither */
  argument(): string {
    const rest = this.text.slice(this.at);
    const end = rest.search(/[,)]/);
    const arg = end === -1 ? rest : rest.slice(0, end);
    this.at += arg.length;
    return arg;
  }

  peek(): string | undefined {
    return this.text[this.at];
  }

  expect(char: string, what: string): void {
    if (this.text[this.at] !== char) throw problem(words`${value(char)} is missing ${what}`);
    this.at += 1;
  }

  done(): boolean {
    return this.at === this.text.length;
  }
}

/** Parses a descriptor without its checksum. */
export function parseScript(text: string): ScriptExpression {
  const reader = new Reader(text);
  const script = readTop(reader);
  if (!reader.done()) throw problem(words`there is text after the descriptor's last ${value(')')}`);
  return script;
}

function readTop(reader: Reader): ScriptExpression {
  const name = reader.name();
  switch (name) {
    case 'pkh':
    case 'wpkh':
    case 'tr': {
      const key = readKey(reader.argument());
      if (name === 'tr' && reader.peek() === ',') {
        throw problem(words`this ${value('tr()')} has a script tree; satbell watches taproot wallets by their key path only, ${value('tr(KEY)')}`);
      }
      reader.expect(')', `after the key of ${name}()`);
      return { kind: name, key };
    }
    case 'sh': {
      const inner = reader.name();
      let script: ScriptExpression;
      if (inner === 'wpkh') {
        const key = readKey(reader.argument());
        reader.expect(')', 'after the key of wpkh()');
        script = { kind: 'sh-wpkh', key };
      } else if (inner === 'wsh') {
        script = { kind: 'sh-wsh', multi: readWsh(reader) };
      } else {
        throw problem(words`inside ${value('sh()')} satbell reads ${value('wpkh()')} or ${value('wsh()')}, not ${value(`${inner}()`)}`);
      }
      reader.expect(')', 'to close sh()');
      return script;
    }
    case 'wsh':
      return { kind: 'wsh', multi: readWsh(reader) };
    default:
      throw problem(words`satbell does not watch ${value(`${name}()`)} descriptors; it reads ${SUPPORTED}`);
  }
}

/** after `wsh(`: a multi() or sortedmulti() and the closing parenthesis of wsh() */
function readWsh(reader: Reader): Multi {
  const inner = reader.name();
  if (inner !== 'multi' && inner !== 'sortedmulti') {
    throw problem(words`inside ${value('wsh()')} satbell reads ${value('multi()')} or ${value('sortedmulti()')}, not ${value(`${inner}()`)}`);
  }
  const thresholdText = reader.argument();
  if (!/^\d{1,2}$/.test(thresholdText)) throw problem(words`${value(`${inner}()`)} starts with how many keys must sign, a number from 1 to ${String(MAX_MULTI_KEYS)}`);
  const threshold = Number(thresholdText);
  const keys: KeyExpression[] = [];
  while (reader.peek() === ',') {
    if (keys.length === MAX_MULTI_KEYS) throw problem(words`${value(`${inner}()`)} takes at most ${String(MAX_MULTI_KEYS)} keys`);
    reader.expect(',', '');
    keys.push(readKey(reader.argument()));
  }
  reader.expect(')', `after the keys of ${inner}()`);
  reader.expect(')', 'to close wsh()');
  if (keys.length === 0) throw problem(words`${value(`${inner}()`)} has no keys`);
  if (threshold < 1 || threshold > keys.length) {
    throw problem(words`${value(`${inner}()`)} asks for ${String(threshold)} of ${String(keys.length)} keys; it must be from 1 to ${String(keys.length)}`);
  }
  const seen = new Set<string>();
  for (const key of keys) {
    // the same key under two origins is still the same key
    const text = formatKey({ ...key, origin: null });
    if (seen.has(text)) throw problem(words`${value(`${inner}()`)} has the same key twice`);
    seen.add(text);
  }
  const lengths = new Set(keys.flatMap((key) => (key.multipath ? [key.multipath.length] : [])));
  if (lengths.size > 1) throw problem(words`the keys' ${value('/<…;…>')} steps must all have the same number of choices (BIP-389)`);
  return { sorted: inner === 'sortedmulti', threshold, keys };
}

function readKey(text: string): KeyExpression {
  if (text === '') throw problem(['a key is missing']);
  let rest = text;
  let origin: KeyOrigin | null = null;
  if (rest.startsWith('[')) {
    const close = rest.indexOf(']');
    if (close === -1) throw problem(words`a key origin ${value('[…')} is not closed by ${value(']')}`);
    origin = readOrigin(rest.slice(1, close));
    rest = rest.slice(close + 1);
  }
  const slash = rest.indexOf('/');
  const keyText = slash === -1 ? rest : rest.slice(0, slash);
  if (/^(?:0[23][0-9a-fA-F]{64}|04[0-9a-fA-F]{128})$/.test(keyText)) {
    throw problem(words`a plain public key stands for one fixed address; satbell watches a wallet through its extended public key (${value('xpub…/<0;1>/*')}), and a single address with ${value('/track')} and the address`);
  }
  let key: ExtendedKey;
  try {
    key = decodeExtendedKey(keyText);
  } catch (err) {
    if (err instanceof ExtendedKeyProblem) throw problem(words`the key ${value(shortKey(keyText))} cannot be read: ${err.message}`);
    throw err;
  }
  const steps = slash === -1 ? [] : rest.slice(slash + 1).split('/');
  const last = steps.pop();
  if (last === undefined || !last.startsWith('*')) {
    throw problem(words`the key ${value(shortKey(keyText))} has no ${value('/*')} at the end, so it stands for one fixed address, not a wallet; end it with ${value('/<0;1>/*')} (receive and change) or ${value('/0/*')}`);
  }
  if (last !== '*') {
    if (/^\*['hH]$/.test(last)) throw problem(hardenedRefusal(keyText));
    throw problem(words`${value(`/${last}`)} is not a derivation step`);
  }
  const before: number[] = [];
  const after: number[] = [];
  let multipath: number[] | null = null;
  for (const step of steps) {
    if (step.startsWith('<') || step.endsWith('>')) {
      if (multipath) throw problem(words`a key may have only one ${value('/<…;…>')} step (BIP-389)`);
      multipath = readMultipath(step, keyText);
      continue;
    }
    const index = readStep(step);
    if (index >= HARDENED_OFFSET) throw problem(hardenedRefusal(keyText));
    (multipath ? after : before).push(index);
  }
  return { origin, key, before, multipath, after };
}

function readOrigin(inside: string): KeyOrigin {
  const [fingerprint = '', ...steps] = inside.split('/');
  if (!/^[0-9a-fA-F]{8}$/.test(fingerprint)) throw problem(words`a key origin starts with the 8 hex characters of a fingerprint, as in ${value('[d34db33f/84h/0h/0h]')}`);
  return { fingerprint: fingerprint.toLowerCase(), path: steps.map(readStep) };
}

/** NUM, NUMh, NUMH or NUM' as a child number (hardened ones with HARDENED_OFFSET added). */
function readStep(step: string): number {
  const match = /^(\d{1,10})(['hH]?)$/.exec(step);
  const index = match ? Number(match[1]) : NaN;
  if (!match || index > MAX_INDEX) {
    throw problem(step === '' ? ['a derivation path has an empty step (two slashes, or one at the end)'] : words`${value(step)} is not a derivation step: each is a number from 0 to ${String(MAX_INDEX)}, with h or ' when hardened`);
  }
  return match[2] ? index + HARDENED_OFFSET : index;
}

function readMultipath(step: string, keyText: string): number[] {
  if (!step.startsWith('<') || !step.endsWith('>') || step.length < 3) {
    throw problem(words`${value(step)} is not a multipath step: write it as ${value('<0;1>')} (BIP-389)`);
  }
  const choices = step.slice(1, -1).split(';').map(readStep);
  if (choices.length < 2) throw problem(words`${value(step)} has one choice; a multipath step has at least two, as in ${value('<0;1>')}`);
  if (choices.some((index) => index >= HARDENED_OFFSET)) throw problem(hardenedRefusal(keyText));
  if (new Set(choices).size !== choices.length) throw problem(words`${value(step)} repeats a choice (BIP-389)`);
  return choices;
}

const hardenedRefusal = (keyText: string) =>
  words`the key ${value(shortKey(keyText))} has a hardened step after it (h or '), which cannot be derived from a public key; paste the extended public key your wallet gives for that step instead`;

/** A key shortened so that it identifies without revealing: its first 8 and last 4 characters. */
export const shortKey = (text: string) => (text.length <= 16 ? text : `${text.slice(0, 8)}…${text.slice(-4)}`);

const formatStep = (index: number) => (index >= HARDENED_OFFSET ? `${index - HARDENED_OFFSET}'` : String(index));

/** The canonical key expression: origin with `'`, the key in plain BIP-32 versions (xpub/tpub). */
export function formatKey(key: KeyExpression): string {
  const origin = key.origin ? `[${[key.origin.fingerprint, ...key.origin.path.map(formatStep)].join('/')}]` : '';
  const steps = [...key.before.map(formatStep), ...(key.multipath ? [`<${key.multipath.map(formatStep).join(';')}>`] : []), ...key.after.map(formatStep), '*'];
  return `${origin}${encodeExtendedKey(key.key.hd, key.key.family)}/${steps.join('/')}`;
}

/** The canonical descriptor, without checksum. */
export function formatScript(script: ScriptExpression): string {
  switch (script.kind) {
    case 'pkh':
    case 'wpkh':
    case 'tr':
      return `${script.kind}(${formatKey(script.key)})`;
    case 'sh-wpkh':
      return `sh(wpkh(${formatKey(script.key)}))`;
    case 'wsh':
    case 'sh-wsh': {
      const { sorted, threshold, keys } = script.multi;
      const multi = `wsh(${sorted ? 'sortedmulti' : 'multi'}(${[threshold, ...keys.map(formatKey)].join(',')}))`;
      return script.kind === 'wsh' ? multi : `sh(${multi})`;
    }
  }
}
