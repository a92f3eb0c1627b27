/** Embeds of whole wallets: the private /track reply and its progress, /balance and /txns of a wallet. */
import type { APIEmbed } from 'discord.js';
import type { ScanProgress, TrackedWallet, WalletBalanceView, WalletTxnsView } from '../../wallet/service.js';
import { COLOURS, type PagePosition, position, type ProviderWait, sourceFooter, txLines, waitingLine } from './embeds.js';
import { btc, escapeMarkdown, type ExplorerLinks, relativeTime } from './format.js';

const count = (n: number) => n.toLocaleString('en-US');
const named = (label: string, short: string) => `**${escapeMarkdown(label)}** — wallet \`${short}\``;

/** The /track reply for a wallet: private, since it names the key. */
export function renderTrackedWallet(result: TrackedWallet, { noticesOff = false }: { noticesOff?: boolean } = {}): APIEmbed {
  return {
    color: COLOURS.success,
    title: 'Now tracking a wallet',
    description: [
      named(result.label, result.short),
      `Balance: **${btc(result.balance)}**`,
      `Transactions: ${count(result.txCount)}`,
      `Addresses: ${count(result.scanned)} scanned, ${count(result.used)} used · gap ${count(result.gap)}`,
      ...(result.checksumGiven ? [] : [`Checksum \`#${result.checksum}\` — keep it with the descriptor`]),
      '',
      'Only you can see this reply: the key reveals every address of the wallet. Notices and other replies name it by its label.',
      ...(noticesOff ? ['', 'Balance-change notices are off in this server: an admin can turn them on with `/config channel`.'] : []),
    ].join('\n'),
    timestamp: result.asOf.toISOString(),
  };
}

/** What /track of a wallet shows while it scans: "scanned 40 addresses, 12 used", then the histories. */
export function renderWalletProgress(progress: ScanProgress, wait?: ProviderWait): APIEmbed {
  const { scanned, used, histories } = progress;
  return {
    color: COLOURS.neutral,
    title: 'Tracking a wallet…',
    description: [
      `Scanned ${count(scanned)} ${scanned === 1 ? 'address' : 'addresses'}, ${count(used)} used.`,
      ...(histories ? [`Fetching their histories: ${count(histories.fetched)} of ${count(histories.total)}.`] : []),
      ...(wait ? [waitingLine(wait)] : []),
    ].join('\n'),
  };
}

export function renderWalletBalance(view: WalletBalanceView, provider: string): APIEmbed {
  const updated = view.source === 'stored' ? `\nLast updated ${relativeTime(view.asOf)}` : '';
  return {
    color: COLOURS.neutral,
    title: escapeMarkdown(view.label),
    description: [
      `wallet \`${view.short}\``,
      `**${btc(view.balance)}**`,
      `${count(view.txCount)} transactions · ${count(view.used)} of ${count(view.watched)} addresses used · gap ${count(view.gap)}${updated}`,
    ].join('\n'),
    footer: { text: sourceFooter(view.source, provider) },
    timestamp: view.asOf.toISOString(),
  };
}

export function renderWalletTxns(view: WalletTxnsView, links: ExplorerLinks, provider: string, page?: PagePosition): APIEmbed {
  const lines = txLines(view.txs, links);
  const header = `wallet \`${view.short}\`${view.source === 'stored' ? ` · updated ${relativeTime(view.asOf)}` : ''}`;
  return {
    color: COLOURS.neutral,
    title: `Transactions of ${escapeMarkdown(view.label)}`,
    description: `${header}\n${lines.length ? lines.join('\n') : 'No transactions yet.'}`,
    footer: { text: [`${count(view.total)} ${view.total === 1 ? 'transaction' : 'transactions'}`, ...position(page), sourceFooter(view.source, provider)].join(' · ') },
    timestamp: view.asOf.toISOString(),
  };
}
