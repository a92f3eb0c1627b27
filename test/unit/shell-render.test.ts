import { describe, expect, it } from 'vitest';
import { createExplorerLinks, escapeMarkdown, fullTime, relativeTime } from '../../src/discord/render/format.js';
import { renderNotice } from '../../src/discord/render/notice.js';
import { formatTimestamp, renderEmbed, renderPage, renderReply, simplifyMarkdown } from '../../src/shell/render.js';
import type { Notice } from '../../src/sync/notice-port.js';

const now = new Date('2026-11-25T12:00:00Z');
const text = { now, locale: 'en-GB', timeZone: 'UTC' };
const md = (s: string) => simplifyMarkdown(s, text);
const ago = (seconds: number) => new Date(now.getTime() - seconds * 1000);

describe('simplifyMarkdown', () => {
  it('drops emphasis markers and keeps the words', () => {
    expect(md('**bold** and *it* and _it_ and __under__ and ~~gone~~ and ||secret||')).toBe('bold and it and it and under and gone and secret');
  });

  it('writes a link as its text followed by the URL', () => {
    expect(md('[`1a2b3c4d…9f8e7d6c`](https://mempool.space/tx/1a2b) · block 7')).toBe('1a2b3c4d…9f8e7d6c <https://mempool.space/tx/1a2b> · block 7');
  });

  it('leaves what is inside code and URLs alone', () => {
    expect(md('`a*b*c_d_` see https://x.test/a_b_c and `C:\\path`')).toBe('a*b*c_d_ see https://x.test/a_b_c and C:\\path');
  });

  it('unescapes what escapeMarkdown escaped, so a label reads as typed', () => {
    const label = 'my *cold* [wallet] _2_ `x` @everyone \\o/';
    expect(md(`**${escapeMarkdown(label)}** — \`bc1q\``)).toBe(`${label} — bc1q`);
  });

  it('writes relative timestamps as Discord reads them', () => {
    expect(md(`updated ${relativeTime(ago(3 * 60))}`)).toBe('updated 3 minutes ago');
    expect(md(relativeTime(ago(1)))).toBe('just now');
    expect(md(relativeTime(ago(-2 * 3600)))).toBe('in 2 hours');
    expect(md(relativeTime(ago(400 * 86400)))).toBe('1 year ago');
    expect(md(relativeTime(ago(45 * 86400)))).toBe('1 month ago');
    expect(md(relativeTime(ago(3 * 86400 - 1800)))).toBe('3 days ago');
    expect(md(relativeTime(ago(50)))).toBe('1 minute ago');
  });

  it('writes the other timestamp styles as local dates', () => {
    expect(md(fullTime(new Date('2024-04-20T00:09:27Z')))).toBe('20 April 2024 at 00:09');
    expect(md('<t:1713571767:D>')).toBe('20 April 2024');
    expect(md('<t:1713571767>')).toBe('20 April 2024 at 00:09');
    expect(formatTimestamp(1713571767, 't', text)).toBe('00:09');
  });

  it('names channels and members by id, and strips headings and subtext markers', () => {
    expect(md('Notices go to <#123456789012345678>, asked by <@42>\n-# small print\n## Title')).toBe(
      'Notices go to #123456789012345678, asked by @42\nsmall print\nTitle',
    );
  });
});

describe('renderEmbed', () => {
  it('puts the title first and indents description, fields and footer with its time under it', () => {
    const embed = {
      title: 'Now **tracking**',
      url: 'https://mempool.space/address/bc1q',
      description: '**cold — bc1q**\nBalance: **0.00021000 BTC**',
      fields: [
        { name: 'Fee', value: '0.00000200 BTC', inline: true },
        { name: 'Status', value: 'line one\nline two' },
      ],
      footer: { text: 'Stored data · use fresh:true' },
      timestamp: '2024-04-20T00:09:27.000Z',
    };
    expect(renderEmbed(embed, text)).toBe(
      [
        'Now tracking',
        '  cold — bc1q',
        '  Balance: 0.00021000 BTC',
        '  Fee: 0.00000200 BTC',
        '  Status: line one',
        '    line two',
        '  Stored data · use fresh:true · 20 April 2024 at 00:09',
      ].join('\n'),
    );
  });

  it('renders an embed without a title as its indented body', () => {
    expect(renderEmbed({ description: 'just this' }, text)).toBe('  just this');
  });

  it('renders a balance-change notice as the channel would show it', () => {
    const notice: Notice = {
      id: 7n,
      guildId: 'shell',
      channelId: 'terminal',
      kind: 'tx',
      txid: 'ab'.repeat(32),
      nonce: 'n',
      version: 2,
      messageId: null,
      payload: {
        address: 'bc1qexample',
        label: 'cold',
        net: '50000',
        balanceAfter: '71000',
        fee: '141',
        status: 'confirmed',
        blockHeight: 840_001,
        time: '2024-04-20T00:19:27.000Z',
      },
    };
    const rendered = renderEmbed(renderNotice(notice, createExplorerLinks('https://mempool.space')), text);
    expect(rendered).toBe(
      [
        'Incoming +0.00050000 BTC',
        '  cold — bc1qexample <https://mempool.space/address/bc1qexample>',
        '  New balance: 0.00071000 BTC',
        '  Fee: 0.00000141 BTC',
        '  Status: Confirmed in block 840,001, 20 April 2024 at 00:19 (3 years ago)',
        `  Transaction: abababab…abababab <https://mempool.space/tx/${'ab'.repeat(32)}>`,
        '  20 April 2024 at 00:19',
      ].join('\n'),
    );
  });
  it('renders the notice of a transaction removed because it was never on the chain for the address, in grey', () => {
    const notice: Notice = {
      id: 8n,
      guildId: 'shell',
      channelId: 'terminal',
      kind: 'tx',
      txid: 'cd'.repeat(32),
      nonce: 'n',
      version: 2,
      messageId: 'm',
      payload: { address: 'bc1qexample', label: null, net: '-400000', balanceAfter: '-729695', fee: '141', status: 'removed', blockHeight: 840_001 },
    };
    const embed = renderNotice(notice, createExplorerLinks('https://mempool.space'));
    expect(embed.color).toBe(0x95a5a6);
    expect(renderEmbed(embed, text)).toBe(
      [
        'Not on the chain: Outgoing -0.00400000 BTC',
        '  bc1qexample <https://mempool.space/address/bc1qexample>',
        '  Balance (as wrongly reported): -0.00729695 BTC',
        '  Fee: 0.00000141 BTC',
        '  Status: Not on the chain: this transaction never touched this address. The data service that reported it was wrong; the balance has been corrected.',
        `  Transaction: cdcdcdcd…cdcdcdcd <https://mempool.space/tx/${'cd'.repeat(32)}>`,
      ].join('\n'),
    );
  });
});

describe('renderReply', () => {
  it('shows the content, then each embed, apart', () => {
    expect(renderReply({ content: 'Fetched **150** of 2,345', embeds: [{ title: 'A' }, { title: 'B' }] }, text)).toBe('Fetched 150 of 2,345\n\nA\n\nB');
  });
});

describe('renderPage', () => {
  it('says where a paged reply is and which way one can go', () => {
    expect(renderPage({ index: 0, count: 14 })).toBe('page 1 of 14 — type next for more');
    expect(renderPage({ index: 1, count: 14 })).toBe('page 2 of 14 — type next or prev');
    expect(renderPage({ index: 13, count: 14 })).toBe('page 14 of 14 — type prev to go back');
  });

  it('says nothing for a reply of one page', () => {
    expect(renderPage({ index: 0, count: 1 })).toBe('');
    expect(renderPage(undefined)).toBe('');
  });
});
