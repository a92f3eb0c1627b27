/**
 * What every provider answer must agree with before satbell believes it: itself (sums that add up,
 * counts that match the list) and the request (the address asked, the page asked). An answer that
 * fails is the service's fault: a ProviderError saying exactly what was wrong, so failover asks
 * the next provider and nothing is stored.
 */
import { formatBtc, MAX_SATS } from '../amount.js';
import { ProviderError, type AddressBalance, type AddressHistory } from '../provider.js';

/** bech32 is answered in lower case whatever case was asked; base58 is case-sensitive */
export const canonical = (address: string) => (/^(?:bc|tb|bcrt)1/i.test(address) ? address.toLowerCase() : address);

/** at most this much of a foreign text goes into a message */
const quote = (text: string) => text.slice(0, 100);

/** The address an answer names must be the one asked for. */
export function checkEcho(provider: string, endpoint: string, asked: string, answered: string): void {
  if (canonical(answered) !== canonical(asked)) {
    throw new ProviderError(provider, `${endpoint} answered for another address (${quote(answered)})`);
  }
}

/**
 * An amount no real answer can hold: negative (unless `signed`, as a tx's net may be), or beyond
 * the 21,000,000 BTC that will ever exist, either way.
 */
export function checkAmount(provider: string, what: string, sats: bigint, { signed = false } = {}): void {
  if (!signed && sats < 0n) throw new ProviderError(provider, `${what} is negative (${formatBtc(sats)})`);
  if (sats > MAX_SATS || sats < -MAX_SATS) {
    throw new ProviderError(provider, `${what} is beyond the 21,000,000 BTC that will ever exist (${formatBtc(sats)})`);
  }
}

/** A balance within supply, never more than what the address ever received. */
export function checkBalance(provider: string, endpoint: string, balance: AddressBalance): void {
  const of = `${endpoint}: ${quote(balance.address)}`;
  checkAmount(provider, `${of} balance`, balance.balance);
  checkAmount(provider, `${of} total received`, balance.totalReceived);
  if (balance.balance > balance.totalReceived) {
    throw new ProviderError(
      provider,
      `${of} balance (${formatBtc(balance.balance)}) is more than its total received (${formatBtc(balance.totalReceived)})`,
    );
  }
}

/** `received − sent = balance`, as Blockchain.com's totals must be. */
export function checkTotals(provider: string, endpoint: string, totals: { received: bigint; sent: bigint; balance: bigint }): void {
  checkAmount(provider, `${endpoint} total sent`, totals.sent);
  if (totals.received - totals.sent !== totals.balance) {
    throw new ProviderError(
      provider,
      `${endpoint} totals disagree: received ${formatBtc(totals.received)} − sent ${formatBtc(totals.sent)} is not the balance ${formatBtc(totals.balance)}`,
    );
  }
}

/** A page holding more than was asked for is not the page asked for. */
export function checkPageSize(provider: string, endpoint: string, length: number, limit: number): void {
  if (length > limit) throw new ProviderError(provider, `${endpoint} answered ${length} txs to a request for at most ${limit}`);
}

/**
 * A history agrees with its own balance: each fee and net within supply, no more txs than the
 * count says, and when it is complete, exactly that many, their nets adding up to the balance.
 * A history that stopped at a known txid can only be checked that far (the rest is the caller's
 * to compare with what it stored). `changing` says the pages disagreed with each other.
 */
export function checkHistory(provider: string, history: AddressHistory, { changing = false } = {}): void {
  const { balance, txs, complete } = history;
  const of = `the history of ${quote(balance.address)}`;
  const seen = new Set<string>();
  for (const tx of txs) {
    if (seen.has(tx.txid)) throw new ProviderError(provider, `${of} lists tx ${tx.txid} twice`);
    seen.add(tx.txid);
    checkAmount(provider, `${of}: the fee of tx ${tx.txid}`, tx.fee);
    checkAmount(provider, `${of}: the net of tx ${tx.txid}`, tx.net, { signed: true });
  }
  const retry = changing ? ' (it changed while it was being paged; try again later)' : '';
  if (txs.length > balance.txCount || (complete && txs.length !== balance.txCount)) {
    throw new ProviderError(provider, `${of} lists ${txs.length} txs but says it has ${balance.txCount}${retry}`);
  }
  if (!complete) return;
  const sum = txs.reduce((total, tx) => total + tx.net, 0n);
  if (sum !== balance.balance) {
    throw new ProviderError(provider, `${of} adds up to ${formatBtc(sum)} but its balance is ${formatBtc(balance.balance)}${retry}`);
  }
}

/** far beyond any height Bitcoin will reach for a long while, and well within a JS number */
const MAX_HEIGHT = 100_000_000;

/** A tip height as a plain-text answer: a whole number, nothing else, within reason. */
export function parseHeight(provider: string, endpoint: string, text: string): number {
  const trimmed = text.trim();
  if (!/^\d{1,9}$/.test(trimmed) || Number(trimmed) > MAX_HEIGHT) {
    throw new ProviderError(provider, `${endpoint} answered ${quote(JSON.stringify(trimmed))}, which is not a block height`);
  }
  return Number(trimmed);
}
