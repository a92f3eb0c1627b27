import { describe, expect, it } from 'vitest';
import type { NoticeLine, NoticePayload } from '../../src/db/schema.js';
import { createExplorerLinks } from '../../src/discord/render/format.js';
import { renderNotice } from '../../src/discord/render/notice.js';
import { renderEmbed } from '../../src/shell/render.js';
import type { Notice } from '../../src/sync/notice-port.js';

const links = createExplorerLinks('https://mempool.space');
const text = { now: new Date('2026-11-25T12:00:00Z'), locale: 'en-GB', timeZone: 'UTC' };
const TXID = 'ef'.repeat(32);
const COLD = 'bc1q8nl2p6t3spj9kp002aqnkrynmj04wtq805xjap';
const HOT = 'bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq';

function notice(lines: NoticeLine[], extra: Partial<NoticePayload> = {}, kind: Notice['kind'] = 'tx'): Notice {
  const [first] = lines;
  return {
    id: 9n,
    guildId: 'shell',
    channelId: 'terminal',
    kind,
    txid: kind === 'tx' ? TXID : null,
    nonce: 'n',
    version: 1,
    messageId: null,
    payload: {
      label: first!.label,
      address: first!.address ?? COLD,
      net: first!.net,
      balanceAfter: first!.balanceAfter,
      lines,
      ...(kind === 'tx' ? { fee: '500', status: 'unconfirmed', blockHeight: null } : {}),
      time: '2026-11-25T11:00:00.000Z',
      ...extra,
    },
  };
}

const cold: NoticeLine = { key: `address:${COLD}`, kind: 'address', label: 'cold', address: COLD, net: '20000', balanceAfter: '120000' };
const hot: NoticeLine = { key: `address:${HOT}`, kind: 'address', label: null, address: HOT, net: '-5000', balanceAfter: '45000' };
const savings: NoticeLine = { key: 'wallet:3', kind: 'wallet', label: 'Savings', net: '-170000', balanceAfter: '80000' };

describe('a notice with a line for each watch', () => {
  it('shows each watch on a line of its own, with its amount and balance, in Discord', () => {
    const embed = renderNotice(notice([cold, hot, savings]), links);
    expect(embed.title).toBe('Transaction · 3 watches');
    expect(embed.url).toBe(`https://mempool.space/tx/${TXID}`);
    expect(embed.description!.split('\n')).toEqual([
      `**cold** — [\`bc1q8nl2p6…05xjap\`](https://mempool.space/address/${COLD}): +0.00020000 BTC · new balance 0.00120000 BTC`,
      `[\`bc1qar0srr…wf5mdq\`](https://mempool.space/address/${HOT}): -0.00005000 BTC · new balance 0.00045000 BTC`,
      '**Savings** (wallet): -0.00170000 BTC · new balance 0.00080000 BTC',
    ]);
    expect(embed.fields!.map((f) => f.name)).toEqual(['Fee', 'Status', 'Transaction']);
  });

  it('prints the same in the shell', () => {
    expect(renderEmbed(renderNotice(notice([cold, hot]), links), text)).toBe(
      [
        'Transaction · 2 watches',
        `  cold — bc1q8nl2p6…05xjap <https://mempool.space/address/${COLD}>: +0.00020000 BTC · new balance 0.00120000 BTC`,
        `  bc1qar0srr…wf5mdq <https://mempool.space/address/${HOT}>: -0.00005000 BTC · new balance 0.00045000 BTC`,
        '  Fee: 0.00000500 BTC',
        '  Status: Unconfirmed: waiting in the mempool',
        `  Transaction: efefefef…efefefef <https://mempool.space/tx/${TXID}>`,
        '  25 November 2026 at 11:00',
      ].join('\n'),
    );
  });

  it('says incoming or outgoing when every watch gained or lost', () => {
    expect(renderNotice(notice([cold, { ...cold, key: 'wallet:1', kind: 'wallet', label: 'W' }]), links).title).toBe('Incoming · 2 watches');
    expect(renderNotice(notice([hot, savings]), links).title).toBe('Outgoing · 2 watches');
  });

  it('names a wallet by its label alone, as one line or with the others', () => {
    const embed = renderNotice(notice([savings]), links);
    expect(renderEmbed(embed, text)).toBe(
      [
        'Outgoing -0.00170000 BTC',
        '  Savings (wallet)',
        '  New balance: 0.00080000 BTC',
        '  Fee: 0.00000500 BTC',
        '  Status: Unconfirmed: waiting in the mempool',
        `  Transaction: efefefef…efefefef <https://mempool.space/tx/${TXID}>`,
        '  25 November 2026 at 11:00',
      ].join('\n'),
    );
    // The payload's single fields stand in for old readers; the wallet's address is not shown.
    expect(JSON.stringify(embed)).not.toContain(COLD);
  });

  it('says a move between a wallet\'s own addresses was an internal transfer that cost the fee', () => {
    const internal: NoticeLine = { ...savings, net: '-500', balanceAfter: '99500', internal: true };
    expect(renderEmbed(renderNotice(notice([internal]), links), text).split('\n').slice(0, 4)).toEqual([
      'Internal transfer -0.00000500 BTC',
      '  Savings (wallet)',
      '  An internal transfer, fee only: the coins stayed in the wallet.',
      '  New balance: 0.00099500 BTC',
    ]);
    const both = renderNotice(notice([internal, hot]), links);
    expect(both.title).toBe('Outgoing · 2 watches');
    expect(both.description!.split('\n')[0]).toBe('**Savings** (wallet): -0.00000500 BTC (internal transfer, fee only) · new balance 0.00099500 BTC');
  });

  it('greys out a removed transaction and says what its lines were wrongly told', () => {
    const embed = renderNotice(notice([cold, savings], { status: 'removed' }), links);
    expect(embed.color).toBe(0x95a5a6);
    expect(embed.title).toBe('Not on the chain: Transaction · 2 watches');
    expect(embed.description).toContain('balance as wrongly reported 0.00080000 BTC');
  });

  it('sums up a burst with a line for each watch holding the address', () => {
    const embed = renderNotice(notice([{ ...cold, net: '21000' }, { ...savings, net: '21000' }], { count: 6 }, 'burst'), links);
    expect(renderEmbed(embed, text).split('\n')).toEqual([
      '6 new transactions',
      `  cold — bc1q8nl2p6…05xjap <https://mempool.space/address/${COLD}>: +0.00021000 BTC · new balance 0.00120000 BTC`,
      '  Savings (wallet): +0.00021000 BTC · new balance 0.00080000 BTC',
      '  Too many at once to announce one by one: see them all with /txns.',
      '  25 November 2026 at 11:00',
    ]);
  });

  it('renders a notice with one address line exactly as one stored without lines', () => {
    const { lines: _, ...stored } = notice([cold]).payload;
    expect(renderNotice(notice([cold]), links)).toEqual(renderNotice({ ...notice([cold]), payload: stored }, links));
    expect(renderNotice(notice([cold]), links).description).toBe(`**cold** — [\`${COLD}\`](https://mempool.space/address/${COLD})`);
  });
});
