/**
 * Addresses and labels as members type them: a valid address always means itself, else a label
 * names one of the server's watches or wallets, in any case (labels are unique across both).
 */
import { isValidAddress, parseAddress } from '../chain/address.js';
import { createLabelTakenByWalletError, createLabelTakenError, createUnknownAddressOrLabelError, InvalidAddressError, UserError } from '../errors.js';
import type { WalletContext } from './context.js';
import type { WalletRow } from './wallet-repository.js';
import { checkLabelText, checkText } from './input.js';

const MAX_LABEL_LENGTH = 64;

/** What a member's input names among a server's watches: an address, or one of its wallets. */
export type Resolved = { kind: 'address'; address: string } | { kind: 'wallet'; wallet: WalletRow };

/**
 * What someone typed where an address is expected: a valid address wins, else the label of one of
 * this server's watches or wallets (any case).
 */
export async function resolveWatch({ repo, network }: WalletContext, guildId: string, input: string): Promise<Resolved> {
  checkText(input, 'The address or label');
  let problem: string;
  try {
    return { kind: 'address', address: parseAddress(input, network).address };
  } catch (err) {
    if (!(err instanceof InvalidAddressError)) throw err;
    problem = err.reason;
  }
  const label = input.trim().replace(/\s+/g, ' ');
  const watch = label ? await repo.findWatchByLabel(guildId, label) : undefined;
  if (watch) return { kind: 'address', address: watch.address };
  const wallet = label ? await repo.findWalletByLabel(guildId, label) : undefined;
  if (wallet) return { kind: 'wallet', wallet };
  throw createUnknownAddressOrLabelError(input, looksLikeAddress(label) ? problem : null);
}

/** Who holds a label: a single watch (by its address) or a wallet (by its id). */
export type LabelOwner = { address: string } | { walletId: bigint };

/** A label names one watch or wallet of a server (`owner`: the one being labelled, if it has one), and can never be mistaken for an address. */
export async function checkLabel({ repo, network }: WalletContext, guildId: string, label: string, owner?: LabelOwner): Promise<void> {
  if (isValidAddress(label, network)) throw new UserError('invalid_input', 'A label cannot be a Bitcoin address: pick a name.');
  const clash = await repo.findWatchByLabel(guildId, label);
  if (clash && !(owner && 'address' in owner && clash.address === owner.address)) throw createLabelTakenError(label, clash.address);
  const wallet = await repo.findWalletByLabel(guildId, label);
  if (wallet && !(owner && 'walletId' in owner && wallet.id === owner.walletId)) throw createLabelTakenByWalletError(label);
}

/** A unique violation on a label becomes the label-taken error; anything else stays as it is. */
export async function labelClash({ repo }: WalletContext, err: unknown, guildId: string, label: string): Promise<unknown> {
  if (!isUniqueViolation(err)) return err;
  const clash = await repo.findWatchByLabel(guildId, label);
  if (!clash && (await repo.findWalletByLabel(guildId, label))) return createLabelTakenByWalletError(label);
  return createLabelTakenError(label, clash?.address ?? 'another address');
}

/**
 * The first free label of the form "wallet 1", "wallet 2"… in the server, for a wallet tracked
 * without one: a wallet always has a label, the name its notices go by.
 */
export async function defaultWalletLabel(ctx: WalletContext, guildId: string): Promise<string> {
  const taken = async (label: string) => (await ctx.repo.findWatchByLabel(guildId, label)) ?? (await ctx.repo.findWalletByLabel(guildId, label));
  let n = (await ctx.repo.listWallets(guildId)).length + 1;
  while (await taken(`wallet ${n}`)) n++;
  return `wallet ${n}`;
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
export function isUniqueViolation(err: unknown): boolean {
  for (let e = err; e instanceof Error; e = e.cause) {
    if ((e as { code?: unknown }).code === '23505') return true;
  }
  return false;
}
