/**
 * The descriptor checksum of BIP-380 ("Output Script Descriptors General Operation", section
 * Checksum): a BCH code over the descriptor's characters, 8 characters of the bech32 alphabet.
 * No small, kept package offers it on its own, so it is written here from the BIP's reference code;
 * test/unit/descriptor-checksum.test.ts checks it on the BIP's vectors.
 */

const INPUT_CHARSET = '0123456789()[],\'/*abcdefgh@:$%{}IJKLMNOPQRSTUVWXYZ&+-.;<=>?!^_|~ijklmnopqrstuvwxyzABCDEFGH`#"\\ ';
const CHECKSUM_CHARSET = 'qpzry9x8gf2tvdw0s3jn54khce6mua7l';
const GENERATOR = [0xf5dee51989n, 0xa9fdca3312n, 0x1bab10e32dn, 0x3706b1677an, 0x644d626ffdn];

/** The 40-bit state does not fit JS's 32-bit bitwise operators, hence bigint. */
function polymod(symbols: readonly number[]): bigint {
  let chk = 1n;
  for (const value of symbols) {
    const top = chk >> 35n;
    chk = ((chk & 0x7ffffffffn) << 5n) ^ BigInt(value);
    for (let i = 0; i < 5; i++) if ((top >> BigInt(i)) & 1n) chk ^= GENERATOR[i]!;
  }
  return chk;
}

/** Each character's position in its group of 32, and after every third one their three groups. */
function expand(text: string): number[] | null {
  const symbols: number[] = [];
  const groups: number[] = [];
  for (const char of text) {
    const v = INPUT_CHARSET.indexOf(char);
    if (v === -1) return null;
    symbols.push(v & 31);
    groups.push(v >> 5);
    if (groups.length === 3) {
      symbols.push(groups[0]! * 9 + groups[1]! * 3 + groups[2]!);
      groups.length = 0;
    }
  }
  if (groups.length === 1) symbols.push(groups[0]!);
  else if (groups.length === 2) symbols.push(groups[0]! * 3 + groups[1]!);
  return symbols;
}

/** The first character outside the descriptor character set, or null when there is none. */
export function firstInvalidCharacter(text: string): string | null {
  for (const char of text) if (!INPUT_CHARSET.includes(char)) return char;
  return null;
}

/** The 8-character checksum of `descriptor` (without its `#`); throws on a character outside the set. */
export function descriptorChecksum(descriptor: string): string {
  const symbols = expand(descriptor);
  if (!symbols) throw new RangeError('descriptor has a character outside the BIP-380 character set');
  const chk = polymod([...symbols, 0, 0, 0, 0, 0, 0, 0, 0]) ^ 1n;
  let out = '';
  for (let i = 0; i < 8; i++) out += CHECKSUM_CHARSET[Number((chk >> BigInt(5 * (7 - i))) & 31n)];
  return out;
}

/** Whether `checksum` is the right one for `descriptor`. */
export function isValidChecksum(descriptor: string, checksum: string): boolean {
  if (checksum.length !== 8) return false;
  const symbols = expand(descriptor);
  if (!symbols) return false;
  const tail: number[] = [];
  for (const char of checksum) {
    const v = CHECKSUM_CHARSET.indexOf(char);
    if (v === -1) return false;
    tail.push(v);
  }
  return polymod([...symbols, ...tail]) === 1n;
}
