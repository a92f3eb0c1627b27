import { formatBtc, formatSignedBtc } from '../../chain/amount.js';

/** Discord renders these in each reader's own time zone and language. */
export const relativeTime = (date: Date) => `<t:${Math.floor(date.getTime() / 1000)}:R>`;
export const fullTime = (date: Date) => `<t:${Math.floor(date.getTime() / 1000)}:f>`;

export const btc = formatBtc;
export const signedBtc = formatSignedBtc;

/** `1a2b3c4d…9f8e7d6c`: enough to recognise a txid, short enough for a line. */
export const shortTxid = (txid: string) => `${txid.slice(0, 8)}…${txid.slice(-8)}`;

/** `bc1qar0srr…wf5mdq` for autocomplete choices and lists; a short address is shown whole. */
export const shortAddress = (address: string) =>
  address.length <= 20 ? address : `${address.slice(0, 10)}…${address.slice(-6)}`;

/** Labels are user input: shown as plain text, whatever they hold. */
export { escapeMarkdown } from '../../text.js';

/** Where the renderers link to. */
export { createExplorerLinks, type ExplorerLinks } from '../../chain/explorer.js';
