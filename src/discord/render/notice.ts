import type { APIEmbed } from 'discord.js';
import type { Notice } from '../../sync/notice-port.js';
import { COLOURS } from './embeds.js';
import { btc, escapeMarkdown, type ExplorerLinks, fullTime, relativeTime, shortTxid, signedBtc } from './format.js';

/** A balance-change notice as users read it in the channel. */
export function renderNotice(notice: Notice, links: ExplorerLinks): APIEmbed {
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
      {
        name: p.status === 'removed' ? 'Balance (as wrongly reported)' : gone ? 'Balance (had it gone through)' : 'New balance',
        value: btc(BigInt(p.balanceAfter)),
        inline: true,
      },
      { name: 'Fee', value: p.fee !== undefined ? btc(BigInt(p.fee)) : 'unknown', inline: true },
      { name: 'Status', value: status(p, links) },
      { name: 'Transaction', value: `[\`${shortTxid(txid)}\`](${links.tx(txid)})` },
    ],
    timestamp: p.time,
  };
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
