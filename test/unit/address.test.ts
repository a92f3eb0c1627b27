import { sha256 } from '@noble/hashes/sha2.js';
import { createBase58check } from '@scure/base';
import { describe, expect, it } from 'vitest';
import { isValidAddress, NETWORKS, parseAddress, type AddressType, type Network } from '../../src/chain/address.js';
import { renderSaid } from '../../src/discord/render/said.js';
import { isUserError } from '../../src/errors.js';
import { renderSaid as renderForShell } from '../../src/shell/render.js';

/** The refusal parseAddress gives, as Discord shows it (or as `render` does), or a failure if it accepted the input. */
function refusal(input: string, network?: Network, render = renderSaid): string {
  try {
    parseAddress(input, network);
  } catch (err) {
    if (isUserError(err) && err.code === 'invalid_address') return render(err.said);
    throw err;
  }
  throw new Error(`${input} was accepted on ${network ?? 'mainnet'}`);
}

/** The network a segwit test vector belongs to, so that its refusal is about the vector itself. */
const networkOf = (address: string): Network => (address.toLowerCase().startsWith('tb1') ? 'testnet' : 'mainnet');

describe('parseAddress on mainnet', () => {
  it.each<[string, AddressType]>([
    ['1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa', 'p2pkh'],
    ['3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy', 'p2sh'],
    ['bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq', 'p2wpkh'],
    ['bc1qrp33g0q5c5txsp9arysrx4k6zdkfs4nce4xj0gdcccefvpysxf3qccfmv3', 'p2wsh'],
    ['bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqzk5jj0', 'p2tr'],
  ])('accepts the real address %s as %s', (address, type) => {
    expect(parseAddress(address)).toEqual({ address, type, network: 'mainnet' });
    expect(isValidAddress(address)).toBe(true);
  });

  it('checks against mainnet when no network is given', () => {
    expect(parseAddress('1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa').network).toBe('mainnet');
    expect(isValidAddress('tb1qcrh3yqn4nlleplcez2yndq2ry8h9ncg3qh7n54')).toBe(false);
  });

  it('canonicalises an upper-case bech32 address to lower case', () => {
    expect(parseAddress('BC1QAR0SRRR7XFKVY5L643LYDNW9RE59GTZZWF5MDQ').address).toBe(
      'bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq',
    );
  });

  it('keeps a base58 address exactly as given, since base58 is case-sensitive', () => {
    expect(parseAddress('3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy').address).toBe('3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy');
    expect(isValidAddress('3j98t1wpez73cnmqviecrnyiwrnqrhwnly')).toBe(false);
  });

  it('trims the whitespace around a pasted address', () => {
    expect(parseAddress('  bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq\n').address).toBe(
      'bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq',
    );
    expect(parseAddress('\t1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa ').address).toBe('1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa');
  });

  it('refuses a bech32 address with one changed character because of its checksum', () => {
    expect(refusal('bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdr')).toContain('bad checksum');
    expect(refusal('bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqzk5jj9')).toContain('bad checksum');
  });

  it('refuses a base58 address with one changed character because of its checksum', () => {
    expect(refusal('1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNb')).toContain('bad checksum');
    expect(refusal('3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLz')).toContain('bad checksum');
  });

  it('refuses a mixed-case bech32 address and says so', () => {
    expect(refusal('bc1qAR0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq')).toContain('mixed case');
  });

  it('refuses a witness v1 address with a bech32 checksum (BIP-350)', () => {
    expect(refusal('bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqh2y7hd')).toContain(
      'witness v1 must use bech32m (BIP-350)',
    );
  });

  it('refuses a witness v0 address with a bech32m checksum', () => {
    expect(refusal('bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kemeawh')).toContain('witness v0 must use bech32');
  });

  it('refuses a witness v0 program that is neither 20 nor 32 bytes', () => {
    expect(refusal('BC1QR508D6QEJXTDG4Y5R3ZARVARYV98GJ9P')).toContain('20 or 32 bytes, not 16');
  });

  it('refuses addresses of other coins and plain text with a short reason', () => {
    expect(refusal('ltc1qg82tdt2as7lzdawupdlxpl9wn3z3hl2eshqn5w')).toContain('unknown prefix');
    const litecoinP2pkh = createBase58check(sha256).encode(Uint8Array.of(0x30, ...new Uint8Array(20).fill(7)));
    expect(refusal(litecoinP2pkh)).toContain('unknown prefix');
    expect(refusal('not an address')).toContain('no Bitcoin address uses');
    expect(refusal('   ')).toContain('empty');
  });

  it('refuses very long input before decoding it', () => {
    const started = performance.now();
    expect(refusal('1'.repeat(1_000_000))).toContain('too long');
    expect(refusal(`bc1q${'q'.repeat(90)}`)).toContain('too long');
    expect(performance.now() - started).toBeLessThan(1_000);
  });

  it('shows the user the address and the reason in the error message', () => {
    expect(refusal('tb1qcrh3yqn4nlleplcez2yndq2ry8h9ncg3qh7n54')).toBe(
      '`tb1qcrh3yqn4nlleplcez2yndq2ry8h9ncg3qh7n54` is not a valid Bitcoin address ' +
        '(this is a testnet/signet address, satbell is on mainnet). Check it for typos and paste it again.',
    );
    expect(refusal('tb1qcrh3yqn4nlleplcez2yndq2ry8h9ncg3qh7n54', undefined, renderForShell)).toBe(
      'tb1qcrh3yqn4nlleplcez2yndq2ry8h9ncg3qh7n54 is not a valid Bitcoin address ' +
        '(this is a testnet/signet address, satbell is on mainnet). Check it for typos and paste it again.',
    );
  });
});

describe('parseAddress on the test networks', () => {
  // Bitcoin Core's src/test/data/key_io_valid.json, one of each type and network.
  const vectors: [string, AddressType, Network[]][] = [
    ['mzK2FFDEhxqHcmrJw1ysqFkVyhUULo45hZ', 'p2pkh', ['testnet', 'signet', 'regtest']],
    ['2NC2hEhe28ULKAJkW5MjZ3jtTMJdvXmByvK', 'p2sh', ['testnet', 'signet', 'regtest']],
    ['mww4LvqtTMKvmeQvizPz2EQv26xTneWrbg', 'p2pkh', ['testnet', 'signet', 'regtest']],
    ['2MxFajLApXpYk4VodBSZSt7rw8y4ryABkfA', 'p2sh', ['testnet', 'signet', 'regtest']],
    ['tb1qcrh3yqn4nlleplcez2yndq2ry8h9ncg3qh7n54', 'p2wpkh', ['testnet', 'signet']],
    ['tb1quyl9ujpgwr2chdzdnnalen48sup245vdfnh2jxhsuq3yx80rrwlq5hqfe4', 'p2wsh', ['testnet', 'signet']],
    ['tb1pae5um27ahn8n73pgexe3kcwlp8dhswpn684h2k2w6t9a7w3eq65qephd5y', 'p2tr', ['testnet', 'signet']],
    ['tb1rgv5m6uvdk3kc7qsuz0c79v88ycr5w4wa', 'witness_unknown', ['testnet', 'signet']],
    ['bcrt1qdavt4j2sd7dlhqsavtnfxvzppw6k7qy97tmnu9', 'p2wpkh', ['regtest']],
    ['bcrt1qan8gntac7z7me2ejt4hpru42ad2f759fmy0m3ejvs98656znv7eqga4uhv', 'p2wsh', ['regtest']],
    ['bcrt1pfwxjqvtt4tcxrtdluukfmy2dv7xd2qzdfy6kajv5nwn4yam3wxkq3553uh', 'p2tr', ['regtest']],
    ['bcrt1sx6p8njlx7h9mc2agz4yg82dzne23050ncq72cneeecez2pst8mahn8xecsf8g6hzx94420', 'witness_unknown', ['regtest']],
  ];

  it.each(vectors)('accepts %s as %s on exactly its networks %j', (address, type, networks) => {
    for (const network of NETWORKS) {
      if (networks.includes(network)) {
        expect(parseAddress(address, network)).toEqual({ address, type, network });
      } else {
        expect(isValidAddress(address, network)).toBe(false);
      }
    }
  });

  it('refuses testnet and regtest addresses on mainnet, naming their network', () => {
    expect(refusal('mzK2FFDEhxqHcmrJw1ysqFkVyhUULo45hZ')).toContain(
      'this is a testnet/signet/regtest address, satbell is on mainnet',
    );
    expect(refusal('bcrt1qdavt4j2sd7dlhqsavtnfxvzppw6k7qy97tmnu9')).toContain(
      'this is a regtest address, satbell is on mainnet',
    );
  });

  it('refuses mainnet addresses on the test networks', () => {
    expect(refusal('1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa', 'testnet')).toContain(
      'this is a mainnet address, satbell is on testnet',
    );
    expect(refusal('bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq', 'regtest')).toContain(
      'this is a mainnet address, satbell is on regtest',
    );
  });
});

describe('BIP-350 segwit test vectors', () => {
  // bitcoin/bips bip-0350.mediawiki, "Test vectors for v0-v16 native segregated witness addresses"
  const valid: [string, AddressType][] = [
    ['BC1QW508D6QEJXTDG4Y5R3ZARVARY0C5XW7KV8F3T4', 'p2wpkh'],
    ['tb1qrp33g0q5c5txsp9arysrx4k6zdkfs4nce4xj0gdcccefvpysxf3q0sl5k7', 'p2wsh'],
    ['bc1pw508d6qejxtdg4y5r3zarvary0c5xw7kw508d6qejxtdg4y5r3zarvary0c5xw7kt5nd6y', 'witness_unknown'],
    ['BC1SW50QGDZ25J', 'witness_unknown'],
    ['bc1zw508d6qejxtdg4y5r3zarvaryvaxxpcs', 'witness_unknown'],
    ['tb1qqqqqp399et2xygdj5xreqhjjvcmzhxw4aywxecjdzew6hylgvsesrxh6hy', 'p2wsh'],
    ['tb1pqqqqp399et2xygdj5xreqhjjvcmzhxw4aywxecjdzew6hylgvsesf3hn0c', 'p2tr'],
    ['bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqzk5jj0', 'p2tr'],
  ];

  it.each(valid)('accepts the valid vector %s as %s', (address, type) => {
    const network = networkOf(address);
    expect(parseAddress(address, network)).toEqual({ address: address.toLowerCase(), type, network });
  });

  const invalid: [string, string][] = [
    ['tc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vq5zuyut', 'unknown prefix'], // invalid human-readable part
    ['bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqh2y7hd', 'witness v1 must use bech32m'], // bech32 instead of bech32m
    ['tb1z0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqglt7rf', 'witness v2 must use bech32m'], // bech32 instead of bech32m
    ['BC1S0XLXVLHEMJA6C4DQV22UAPCTQUPFHLXM9H8Z3K2E72Q4K9HCZ7VQ54WELL', 'witness v16 must use bech32m'], // bech32 instead of bech32m
    ['bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kemeawh', 'witness v0 must use bech32'], // bech32m instead of bech32
    ['tb1q0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vq24jc47', 'witness v0 must use bech32'], // bech32m instead of bech32
    ['bc1p38j9r5y49hruaue7wxjce0updqjuyyx0kh56v8s25huc6995vvpql3jow4', 'character bech32 does not use'], // invalid character in checksum
    ['BC130XLXVLHEMJA6C4DQV22UAPCTQUPFHLXM9H8Z3K2E72Q4K9HCZ7VQ7ZWS8R', 'unknown witness version 17'], // invalid witness version
    ['bc1pw5dgrnzv', '2 to 40 bytes, not 1'], // program of 1 byte
    ['bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7v8n0nx0muaewav253zgeav', '2 to 40 bytes, not 41'], // program of 41 bytes
    ['BC1QR508D6QEJXTDG4Y5R3ZARVARYV98GJ9P', '20 or 32 bytes, not 16'], // v0 program of 16 bytes
    ['tb1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vq47Zagq', 'mixed case'], // mixed case
    ['bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7v07qwwzcrf', 'bad padding'], // zero padding of more than 4 bits
    ['tb1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vpggkg4j', 'bad padding'], // non-zero padding
    ['bc1gmk9yu', 'no witness version'], // empty data section
  ];

  it.each(invalid)('refuses the invalid vector %s on every network (%s)', (address, reason) => {
    for (const network of NETWORKS) expect(isValidAddress(address, network)).toBe(false);
    expect(refusal(address, networkOf(address))).toContain(reason);
  });
});

describe('BIP-173 segwit test vectors', () => {
  // bitcoin/bips bip-0173.mediawiki; its valid list predates BIP-350
  it.each<[string, AddressType]>([
    ['BC1QW508D6QEJXTDG4Y5R3ZARVARY0C5XW7KV8F3T4', 'p2wpkh'],
    ['tb1qrp33g0q5c5txsp9arysrx4k6zdkfs4nce4xj0gdcccefvpysxf3q0sl5k7', 'p2wsh'],
    ['tb1qqqqqp399et2xygdj5xreqhjjvcmzhxw4aywxecjdzew6hylgvsesrxh6hy', 'p2wsh'],
  ])('still accepts the witness v0 vector %s as %s', (address, type) => {
    expect(parseAddress(address, networkOf(address)).type).toBe(type);
  });

  it.each([
    ['bc1pw508d6qejxtdg4y5r3zarvary0c5xw7kw508d6qejxtdg4y5r3zarvary0c5xw7k7grplx', 1],
    ['BC1SW50QA3JX3S', 16],
    ['bc1zw508d6qejxtdg4y5r3zarvaryvg6kdaj', 2],
  ])('refuses the once-valid witness v1+ vector %s, whose bech32 checksum BIP-350 replaced', (address, version) => {
    expect(refusal(address)).toContain(`witness v${version} must use bech32m (BIP-350)`);
  });

  const invalid: [string, string][] = [
    ['tc1qw508d6qejxtdg4y5r3zarvary0c5xw7kg3g4ty', 'unknown prefix'], // invalid human-readable part
    ['bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t5', 'bad checksum'], // invalid checksum
    ['BC13W508D6QEJXTDG4Y5R3ZARVARY0C5XW7KN40WF2', 'unknown witness version 17'], // invalid witness version
    ['bc1rw5uspcuh', 'witness v3 must use bech32m'], // invalid program length
    ['bc10w508d6qejxtdg4y5r3zarvary0c5xw7kw508d6qejxtdg4y5r3zarvary0c5xw7kw5rljs90', 'witness v15 must use bech32m'], // invalid program length
    ['BC1QR508D6QEJXTDG4Y5R3ZARVARYV98GJ9P', '20 or 32 bytes, not 16'], // v0 program of 16 bytes
    ['tb1qrp33g0q5c5txsp9arysrx4k6zdkfs4nce4xj0gdcccefvpysxf3q0sL5k7', 'mixed case'], // mixed case
    ['bc1zw508d6qejxtdg4y5r3zarvaryvqyzf3du', 'bad padding'], // zero padding of more than 4 bits
    ['tb1qrp33g0q5c5txsp9arysrx4k6zdkfs4nce4xj0gdcccefvpysxf3pjxtptv', 'bad padding'], // non-zero padding
    ['bc1gmk9yu', 'no witness version'], // empty data section
  ];

  it.each(invalid)('refuses the invalid vector %s on every network (%s)', (address, reason) => {
    for (const network of NETWORKS) expect(isValidAddress(address, network)).toBe(false);
    expect(refusal(address, networkOf(address))).toContain(reason);
  });
});
