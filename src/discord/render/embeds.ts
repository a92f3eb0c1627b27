import type { APIEmbed } from 'discord.js';
import type { BalanceView, TxnsView } from '../../wallet/service.js';
import { btc, escapeMarkdown, type ExplorerLinks, relativeTime, shortTxid, signedBtc } from './format.js';

export const COLOURS = {
  neutral: 0xf7931a, // bitcoin orange
  incoming: 0x2ecc71,
  outgoing: 0xe74c3c,
  success: 0x2ecc71,
  removed: 0x95a5a6,
} as const;

/** Discord allows 4,096 characters of description; keep a margin for the "and N more" line. */
const DESCRIPTION_BUDGET = 3_900;

const title = (address: string, label: string | null) =>
  label ? `${escapeMarkdown(label)} — ${address}` : address;

const sourceFooter = (source: 'stored' | 'live', provider: string) =>
  source === 'live' ? `Live from ${provider}` : 'Stored data · use fresh:true to ask the network now';

export function renderTracked(
  result: { address: string; label: string | null; balance: bigint; txCount: number; asOf: Date },
  links: ExplorerLinks,
  { noticesOff = false }: { noticesOff?: boolean } = {},
): APIEmbed {
  return {
    color: COLOURS.success,
    title: 'Now tracking',
    url: links.address(result.address),
    description: [
      `**${title(result.address, result.label)}**`,
      `Balance: **${btc(result.balance)}**`,
      `Transactions: ${result.txCount.toLocaleString('en-US')}`,
      ...(noticesOff ? ['', 'Balance-change notices are off in this server: an admin can turn them on with `/config channel`.'] : []),
    ].join('\n'),
    timestamp: result.asOf.toISOString(),
  };
}

export function renderUntracked(result: { address: string; label: string | null }): APIEmbed {
  return {
    color: COLOURS.removed,
    title: 'No longer tracking',
    description: `**${title(result.address, result.label)}** was removed from this server's list.`,
  };
}

export function renderBalance(view: BalanceView, links: ExplorerLinks, provider: string): APIEmbed {
  const updated = view.source === 'stored' ? `\nLast updated ${relativeTime(view.asOf)}` : '';
  return {
    color: COLOURS.neutral,
    title: view.label ? escapeMarkdown(view.label) : 'Balance',
    url: links.address(view.address),
    description: [
      `\`${view.address}\``,
      `**${btc(view.balance)}**`,
      `${view.txCount.toLocaleString('en-US')} transactions${view.tracked ? '' : ' · not tracked in this server'}${updated}`,
    ].join('\n'),
    footer: { text: sourceFooter(view.source, provider) },
    timestamp: view.asOf.toISOString(),
  };
}

export function renderTxns(view: TxnsView, links: ExplorerLinks, provider: string): APIEmbed {
  const lines: string[] = [];
  let used = 0;
  for (const tx of view.txs) {
    const when = tx.blockHeight === null ? 'unconfirmed' : `${relativeTime(tx.time)} · block ${tx.blockHeight}`;
    const line = `[\`${shortTxid(tx.txid)}\`](${links.tx(tx.txid)}) · ${when} · **${signedBtc(tx.net)}**`;
    if (used + line.length + 1 > DESCRIPTION_BUDGET) break;
    lines.push(line);
    used += line.length + 1;
  }
  const shown = lines.length;
  const header = `\`${view.address}\``;
  const body = shown ? lines.join('\n') : 'No transactions yet.';
  const count =
    view.total > shown
      ? `Newest ${shown} of ${view.total.toLocaleString('en-US')} transactions`
      : `${view.total.toLocaleString('en-US')} transaction${view.total === 1 ? '' : 's'}`;
  return {
    color: COLOURS.neutral,
    title: view.label ? `Transactions of ${escapeMarkdown(view.label)}` : 'Transactions',
    url: links.address(view.address),
    description: `${header}\n${body}`,
    footer: { text: `${count} · ${sourceFooter(view.source, provider)}` },
    timestamp: view.asOf.toISOString(),
  };
}

export interface WatchLine {
  address: string;
  label: string | null;
  balance: bigint;
  balanceUpdatedAt: Date;
}

export function renderAddresses(watches: WatchLine[], links: ExplorerLinks): APIEmbed {
  if (!watches.length) {
    return {
      color: COLOURS.neutral,
      title: 'Tracked addresses',
      description: 'No address is tracked in this server yet. Add one with `/track`.',
    };
  }
  const lines: string[] = [];
  let used = 0;
  for (const w of watches) {
    const name = w.label ? `**${escapeMarkdown(w.label)}** ` : '';
    const line = `${name}[\`${w.address}\`](${links.address(w.address)})\n${btc(w.balance)} · updated ${relativeTime(w.balanceUpdatedAt)}`;
    if (used + line.length + 2 > DESCRIPTION_BUDGET) break;
    lines.push(line);
    used += line.length + 2;
  }
  const total = watches.reduce((sum, w) => sum + w.balance, 0n);
  const more = watches.length - lines.length;
  return {
    color: COLOURS.neutral,
    title: 'Tracked addresses',
    description: lines.join('\n\n') + (more ? `\n\n…and ${more} more` : ''),
    footer: { text: `${watches.length} address${watches.length === 1 ? '' : 'es'} · total ${btc(total)}` },
  };
}
