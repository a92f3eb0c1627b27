import type { APIEmbed } from 'discord.js';
import type { NoticeLine } from '../../db/schema.js';
import { noticeLines } from '../../sync/notice-lines.js';
import type { Notice } from '../../sync/notice-port.js';
import { COLOURS } from './embeds.js';
import { btc, escapeMarkdown, type ExplorerLinks, fullTime, relativeTime, shortAddress, shortTxid, signedBtc } from './format.js';

/** A balance-change notice as users read it in the channel. */
export function renderNotice(notice: Notice, links: ExplorerLinks): APIEmbed {
  const lines = noticeLines(notice.payload);
  if (lines.length > 1 || lines[0]!.kind === 'wallet') return renderLines(notice, lines, links);
  const p = notice.payload;
  const net = BigInt(p.net);
  const who = `${p.label ? `**${escapeMarkdown(p.label)}** — ` : ''}[\`${p.address}\`](${links.address(p.address)})`;

  if (notice.kind === 'burst') {
    return {
      color: net < 0n ? COLOURS.outgoing : COLOURS.incoming,
      title: `${p.count} new transactions`,
      url: links.address(p.address),
      description: `${who}\nToo many at once to announce one by one: see them all with \`/txns\`.`,
      fields: [
        { name: 'Net change', value: signedBtc(net), inline: true },
        { name: 'New balance', value: btc(BigInt(p.balanceAfter)), inline: true },
      ],
      timestamp: p.time,
    };
  }

  const txid = notice.txid!;
  const gone = p.status === 'replaced' || p.status === 'dropped' || p.status === 'removed';
  return {
    color: gone ? COLOURS.removed : net < 0n ? COLOURS.outgoing : COLOURS.incoming,
    title: `${p.status === 'removed' ? 'Not on the chain: ' : ''}${net < 0n ? 'Outgoing' : 'Incoming'} ${signedBtc(net)}`,
    url: links.tx(txid),
    description: who,
    fields: [
      { name: balanceName(p), value: btc(BigInt(p.balanceAfter)), inline: true },
      { name: 'Fee', value: p.fee !== undefined ? btc(BigInt(p.fee)) : 'unknown', inline: true },
      { name: 'Status', value: status(p, links) },
      { name: 'Transaction', value: `[\`${shortTxid(txid)}\`](${links.tx(txid)})` },
    ],
    timestamp: p.time,
  };
}

const INTERNAL = 'internal transfer, fee only';

/** What the balance after a transaction is, once it may not have gone through. */
function balanceName(p: Notice['payload']): string {
  const gone = p.status === 'replaced' || p.status === 'dropped';
  return p.status === 'removed' ? 'Balance (as wrongly reported)' : gone ? 'Balance (had it gone through)' : 'New balance';
}

/**
 * A notice about a wallet, or about several watches: one line each (a label, or a shortened
 * address; a wallet by its label only), with what the transaction did to it and its balance after.
 */
function renderLines(notice: Notice, lines: NoticeLine[], links: ExplorerLinks): APIEmbed {
  const p = notice.payload;
  const nets = lines.map((l) => BigInt(l.net));
  const outgoing = nets.every((n) => n < 0n);
  const gone = p.status === 'replaced' || p.status === 'dropped' || p.status === 'removed';
  const colour = gone ? COLOURS.removed : outgoing ? COLOURS.outgoing : COLOURS.incoming;
  const [only] = lines.length === 1 ? lines : [];
  const after = p.status === 'removed' ? 'balance as wrongly reported' : gone ? 'balance had it gone through' : 'new balance';

  if (notice.kind === 'burst') {
    return {
      color: colour,
      title: `${p.count} new transactions`,
      description: [...lines.map((l) => `${who(l, links)}: ${signedBtc(BigInt(l.net))} · new balance ${btc(BigInt(l.balanceAfter))}`), 'Too many at once to announce one by one: see them all with `/txns`.'].join('\n'),
      timestamp: p.time,
    };
  }

  const txid = notice.txid!;
  const direction = lines.every((l) => l.internal)
    ? 'Internal transfer'
    : outgoing
      ? 'Outgoing'
      : nets.every((n) => n >= 0n)
        ? 'Incoming'
        : 'Transaction';
  const headline = only ? `${direction} ${signedBtc(BigInt(only.net))}` : `${direction} · ${lines.length} watches`;
  const description = only
    ? `${who(only, links)}${only.internal ? `\nAn ${INTERNAL}: the coins stayed in the wallet.` : ''}`
    : lines
        .map((l) => `${who(l, links)}: ${signedBtc(BigInt(l.net))}${l.internal ? ` (${INTERNAL})` : ''} · ${after} ${btc(BigInt(l.balanceAfter))}`)
        .join('\n');
  return {
    color: colour,
    title: `${p.status === 'removed' ? 'Not on the chain: ' : ''}${headline}`,
    url: links.tx(txid),
    description,
    fields: [
      ...(only ? [{ name: balanceName(p), value: btc(BigInt(only.balanceAfter)), inline: true }] : []),
      { name: 'Fee', value: p.fee !== undefined ? btc(BigInt(p.fee)) : 'unknown', inline: true },
      { name: 'Status', value: status(p, links) },
      { name: 'Transaction', value: `[\`${shortTxid(txid)}\`](${links.tx(txid)})` },
    ],
    timestamp: p.time,
  };
}

/** A watch as a line names it: a wallet by its label only, never by a key or an address of it. */
function who(line: NoticeLine, links: ExplorerLinks): string {
  const label = line.label ? `**${escapeMarkdown(line.label)}**` : '';
  if (line.kind === 'wallet') return `${label} (wallet)`;
  const address = `[\`${shortAddress(line.address!)}\`](${links.address(line.address!)})`;
  return label ? `${label} — ${address}` : address;
}

function status(p: Notice['payload'], links: ExplorerLinks): string {
  switch (p.status) {
    case 'confirmed':
      return p.time
        ? `Confirmed in block ${p.blockHeight?.toLocaleString('en-US')}, ${fullTime(new Date(p.time))} (${relativeTime(new Date(p.time))})`
        : `Confirmed in block ${p.blockHeight?.toLocaleString('en-US')}`;
    case 'replaced':
      return p.replacedBy
        ? `Replaced: this transaction left the mempool; its likely replacement is [\`${shortTxid(p.replacedBy)}\`](${links.tx(p.replacedBy)})`
        : 'Replaced: this transaction left the mempool';
    case 'dropped':
      return 'Dropped from the mempool: this transaction will not confirm';
    case 'removed':
      return 'Not on the chain: this transaction never touched this address. The data service that reported it was wrong; the balance has been corrected.';
    default:
      return 'Unconfirmed: waiting in the mempool';
  }
}
