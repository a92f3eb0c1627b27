import type { APIEmbed } from 'discord.js';
import { formatWait } from '../../errors.js';
import type { StoredTx } from '../../wallet/repository.js';
import type { BalanceView, TxnsView, Untracked, Renamed } from '../../wallet/service.js';
import { btc, escapeMarkdown, type ExplorerLinks, relativeTime, shortAddress, shortTxid, signedBtc } from './format.js';

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

export const sourceFooter = (source: 'stored' | 'live', provider: string) =>
  source === 'live' ? `Live from ${provider}` : 'Stored data · use fresh:true to ask the network now';

/** Where a paged reply is: "page 2 of 14"; `asked` when the page asked for is past the end (0-based). */
export interface PagePosition {
  index: number;
  count: number;
  asked?: number;
}
export function position(page: PagePosition | undefined): string[] {
  if (!page) return [];
  if (page.asked !== undefined) {
    const shown = page.count > 1 ? `showing the last page, ${page.index + 1} of ${page.count}` : 'showing the only page';
    return [`There is no page ${page.asked + 1}: ${shown}`];
  }
  return page.count > 1 ? [`page ${page.index + 1} of ${page.count}`] : [];
}

const plural = (n: number, one: string, many = `${one}s`) => `${n.toLocaleString('en-US')} ${n === 1 ? one : many}`;

/** A green or red dot before an amount: Discord colours a whole embed, never one line. */
const direction = (net: bigint) => (net < 0n ? '🔴' : '🟢');

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

export function renderUntracked(result: Untracked): APIEmbed {
  const what = result.kind === 'wallet' ? `**${escapeMarkdown(result.label)}** — wallet \`${result.short}\`` : `**${title(result.address, result.label)}**`;
  return {
    color: COLOURS.removed,
    title: 'No longer tracking',
    description: `${what} was removed from this server's list.`,
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

/** One line per transaction, as many as the description has room for. */
export function txLines(txs: readonly StoredTx[], links: ExplorerLinks): string[] {
  const lines: string[] = [];
  let used = 0;
  for (const tx of txs) {
    const when = tx.blockHeight === null ? 'unconfirmed' : `${relativeTime(tx.time)} · block ${tx.blockHeight}`;
    const line = `${direction(tx.net)} [\`${shortTxid(tx.txid)}\`](${links.tx(tx.txid)}) · ${when} · **${signedBtc(tx.net)}**`;
    if (used + line.length + 1 > DESCRIPTION_BUDGET) break;
    lines.push(line);
    used += line.length + 1;
  }
  return lines;
}

export function renderTxns(view: TxnsView, links: ExplorerLinks, provider: string, page?: PagePosition): APIEmbed {
  const lines = txLines(view.txs, links);
  const header = `\`${view.address}\`${view.source === 'stored' ? ` · updated ${relativeTime(view.asOf)}` : ''}`;
  const body = lines.length ? lines.join('\n') : 'No transactions yet.';
  const count =
    view.listed < view.total
      ? `newest ${view.listed.toLocaleString('en-US')} of ${plural(view.total, 'transaction')}`
      : plural(view.total, 'transaction');
  return {
    color: COLOURS.neutral,
    title: view.label ? `Transactions of ${escapeMarkdown(view.label)}` : 'Transactions',
    url: links.address(view.address),
    description: `${header}\n${body}`,
    footer: { text: [count, ...position(page), sourceFooter(view.source, provider)].join(' · ') },
    timestamp: view.asOf.toISOString(),
  };
}

export type WatchLine =
  | {
      kind?: undefined;
      address: string;
      label: string | null;
      balance: bigint;
      /** when satbell last checked it, whether or not it changed */
      balanceUpdatedAt: Date;
    }
  | { kind: 'wallet'; label: string; short: string; balance: bigint; used: number; watched: number; balanceUpdatedAt: Date };

/** A watch's lines in /addresses: a wallet is one row, with how many of its addresses are used. */
function watchLine(w: WatchLine, links: ExplorerLinks): string {
  if (w.kind === 'wallet') {
    const used = `${w.used.toLocaleString('en-US')} of ${plural(w.watched, 'address', 'addresses')} used`;
    return `**${escapeMarkdown(w.label)}** — wallet \`${w.short}\`\n${btc(w.balance)} · ${used} · updated ${relativeTime(w.balanceUpdatedAt)}`;
  }
  const name = w.label ? `**${escapeMarkdown(w.label)}** — ` : '';
  return `${name}[\`${shortAddress(w.address)}\`](${links.address(w.address)})\n${btc(w.balance)} · updated ${relativeTime(w.balanceUpdatedAt)}`;
}

/**
 * `total`: rows (a wallet is one); `addresses`: the distinct addresses they watch, when a wallet
 * makes that a different number.
 */
export function renderAddresses(
  list: { watches: WatchLine[]; total: number; totalBalance: bigint; addresses?: number },
  links: ExplorerLinks,
  page?: PagePosition,
): APIEmbed {
  if (!list.total) {
    return {
      color: COLOURS.neutral,
      title: 'Tracked addresses',
      description: 'No address is tracked in this server yet. Add one with `/track`.',
    };
  }
  const lines: string[] = [];
  let used = 0;
  for (const w of list.watches) {
    const line = watchLine(w, links);
    if (used + line.length + 2 > DESCRIPTION_BUDGET) break;
    lines.push(line);
    used += line.length + 2;
  }
  const more = list.watches.length - lines.length;
  return {
    color: COLOURS.neutral,
    title: 'Tracked addresses',
    description: lines.join('\n\n') + (more ? `\n\n…and ${more} more` : ''),
    footer: { text: [watchCount(list), `total ${btc(list.totalBalance)}`, ...position(page)].join(' · ') },
  };
}

/** "3 addresses", or with wallets "2 watches, 43 addresses". */
function watchCount({ total, addresses }: { total: number; addresses?: number }): string {
  if (addresses === undefined || addresses === total) return plural(total, 'address', 'addresses');
  return `${plural(total, 'watch', 'watches')}, ${plural(addresses, 'address', 'addresses')}`;
}

/** A wait for a rate-limited data service, as a command in progress says it. */
export interface ProviderWait {
  provider: string;
  waitMs: number;
}

export const waitingLine = ({ provider, waitMs }: ProviderWait) => `Waiting for ${provider}, about ${formatWait(waitMs)}…`;

/** What /track shows while a long history is still coming in, and why it pauses when it does. */
export function renderTrackProgress(address: string, label: string | null, fetched: number, total: number, wait?: ProviderWait): APIEmbed {
  return {
    color: COLOURS.neutral,
    title: 'Tracking…',
    description: [
      `**${title(address, label)}**`,
      `Fetching its history: fetched ${fetched.toLocaleString('en-US')} of ${plural(total, 'transaction')}.`,
      ...(wait ? [waitingLine(wait)] : []),
    ].join('\n'),
  };
}

/** What a command shows while it waits its turn with a rate-limited data service. */
export function renderWaiting(wait: ProviderWait): APIEmbed {
  return {
    color: COLOURS.neutral,
    description: `${waitingLine(wait)}\nsatbell keeps to the pace the service allows; the answer follows here.`,
  };
}

export function renderRenamed(result: Renamed): APIEmbed {
  const was = result.previous ? `**${escapeMarkdown(result.previous)}**` : 'no label';
  const what = result.kind === 'wallet' ? `wallet \`${result.short}\`` : `\`${result.address}\``;
  return {
    color: COLOURS.success,
    title: 'Label changed',
    description: `${what} is now **${escapeMarkdown(result.label)}** (was ${was}).`,
  };
}

/** /help: one line a command, as the registry describes them. */
export function renderHelp(lines: { usage: string; description: string }[]): APIEmbed {
  return {
    color: COLOURS.neutral,
    title: 'satbell commands',
    description: [
      ...lines.map((l) => `\`${l.usage}\` — ${l.description}`),
      '',
      "Wherever an address is asked for, the label of one of this server's addresses will do.",
    ].join('\n'),
  };
}
