import { describe, expect, it } from 'vitest';
import { descriptorChecksum, isValidChecksum } from '../../src/chain/descriptor/checksum.js';

/** `SCRIPT#CHECKSUM` split at its last `#`, as BIP-380's descsum_check reads it. */
const check = (text: string) => {
  const hash = text.lastIndexOf('#');
  return isValidChecksum(text.slice(0, hash), text.slice(hash + 1));
};

describe('the BIP-380 descriptor checksum', () => {
  it('computes the checksum of the BIP-380 vector', () => {
    expect(descriptorChecksum('raw(deadbeef)')).toBe('89f8spxm');
  });

  it('accepts the BIP-380 valid checksum', () => {
    expect(check('raw(deadbeef)#89f8spxm')).toBe(true);
  });

  it.each([
    ['a missing checksum', 'raw(deadbeef)#'],
    ['a checksum of 9 characters', 'raw(deadbeef)#89f8spxmx'],
    ['a checksum of 7 characters', 'raw(deadbeef)#89f8spx'],
    ['an error in the payload', 'raw(deedbeef)#89f8spxm'],
    ['an error in the checksum', 'raw(deedbeef)##9f8spxm'],
    ['a character outside the set', 'raw(Ü)#00000000'],
  ])('refuses the BIP-380 vector with %s', (_what, text) => {
    expect(check(text)).toBe(false);
  });

  it('refuses to compute a checksum over a character outside the set', () => {
    expect(() => descriptorChecksum('raw(Ü)')).toThrow(RangeError);
  });

  it('detects any single changed character of a real descriptor', () => {
    const descriptor = 'wpkh([d34db33f/84h/0h/0h]xpub6DJ2dNUysrn5Vt36jH2KLBT2i1auw1tTSSomg8PhqNiUtx8QX2SvC9nrHu81fT41fvDUnhMjEzQgXnQjKEu3oaqMSzhSrHMxyyoEAmUHQbY/0/*)';
    const checksum = descriptorChecksum(descriptor);
    for (let i = 0; i < descriptor.length; i += 7) {
      const changed = descriptor.slice(0, i) + (descriptor[i] === 'a' ? 'b' : 'a') + descriptor.slice(i + 1);
      expect(isValidChecksum(changed, checksum)).toBe(false);
    }
    expect(isValidChecksum(descriptor, checksum)).toBe(true);
  });
});
