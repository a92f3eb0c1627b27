/**
 * Addresses and labels as members type them: a valid address always means itself, else a label
 * names one of the server's watches, in any case.
 */
import { isValidAddress, parseAddress } from '../chain/address.js';
import { createLabelTakenError, createUnknownAddressOrLabelError, InvalidAddressError, UserError } from '../errors.js';
import type { WalletContext } from './context.js';
import { checkLabelText, checkText } from './input.js';

const MAX_LABEL_LENGTH = 64;

/**
 * What someone typed where an address is expected: a valid address wins, else the label of one of
 * this server's watches (any case). Returns the canonical address.
 */
export async function resolveAddress({ repo, network }: WalletContext, guildId: string, input: string): Promise<string> {
  checkText(input, 'The address or label');
  let problem: string;
  try {
    return parseAddress(input, network).address;
  } catch (err) {
    if (!(err instanceof InvalidAddressError)) throw err;
    problem = err.reason;
  }
  const label = input.trim().replace(/\s+/g, ' ');
  const watch = label ? await repo.findWatchByLabel(guildId, label) : undefined;
  if (watch) return watch.address;
  throw createUnknownAddressOrLabelError(input, looksLikeAddress(label) ? problem : null);
}

/** A label names one watch, and can never be mistaken for an address. */
export async function checkLabel({ repo, network }: WalletContext, guildId: string, label: string, address: string): Promise<void> {
  if (isValidAddress(label, network)) throw new UserError('invalid_input', 'A label cannot be a Bitcoin address: pick a name.');
  const clash = await repo.findWatchByLabel(guildId, label);
  if (clash && clash.address !== address) throw createLabelTakenError(label, clash.address);
}

/** A unique violation on a label becomes the label-taken error; anything else stays as it is. */
export async function labelClash({ repo }: WalletContext, err: unknown, guildId: string, label: string): Promise<unknown> {
  if (!isUniqueViolation(err)) return err;
  const clash = await repo.findWatchByLabel(guildId, label);
  return createLabelTakenError(label, clash?.address ?? 'another address');
}

/** A label as stored: checked (no links, mentions, markdown or control characters), spaces collapsed. */
export function normaliseLabel(label: string | null | undefined): string | null {
  const trimmed = label == null ? null : checkLabelText(label).trim().replace(/\s+/g, ' ');
  if (!trimmed) return null;
  if (trimmed.length > MAX_LABEL_LENGTH) {
    throw new UserError('invalid_input', `A label can be at most ${MAX_LABEL_LENGTH} characters long.`);
  }
  return trimmed;
}

/** Input that was meant as an address, so that what is wrong with it is worth saying. */
function looksLikeAddress(text: string): boolean {
  return /^(?:bc1|tb1|bcrt1|[123mn])[a-z0-9]{20,}$/i.test(text);
}

/** Postgres's unique_violation, however the driver wraps it. */
function isUniqueViolation(err: unknown): boolean {
  for (let e = err; e instanceof Error; e = e.cause) {
    if ((e as { code?: unknown }).code === '23505') return true;
  }
  return false;
}
