// Labels in these messages are shown as the replies show them: as plain text, whatever they hold.
// No markdown and no slash: each front end renders the parts (src/discord/render/said.ts, src/shell/render.ts).
import type { ProviderFailure } from './chain/provider.js';
import { withoutForbidden } from './text.js';

/**
 * Expected failures: each has a stable code and a message written for the person who typed the
 * command. Anything that is not a UserError is a bug or an outage and is reported generically.
 */
export type UserErrorCode =
  | 'invalid_address'
  /** an extended key or descriptor that cannot be watched as a wallet */
  | 'invalid_wallet'
  /** a private key pasted where a public one belongs: refused with a warning, never echoed */
  | 'private_key'
  | 'not_tracked'
  | 'unknown_address'
  | 'already_tracked'
  | 'label_taken'
  | 'limit_reached'
  | 'invalid_input'
  | 'missing_permission'
  | 'provider_unavailable'
  /** a command that did not finish in time (the database or a provider not answering) */
  | 'unavailable';

/**
 * A piece of what a user is told: plain words, or a thing each front end marks its own way
 * (Discord as inline code, bold and a slash command; the shell as plain text and its own syntax).
 */
export type Said =
  | string
  /** shown as typed: an address, an amount, a character */
  | { readonly value: string }
  /** a name that stands out: a label, a permission */
  | { readonly name: string }
  /** a command worth running next, by its name and any subcommand: `addresses`, `config show` */
  | { readonly command: string };

export const value = (text: string): Said => ({ value: text });
export const named = (text: string): Said => ({ name: text });
export const command = (nameAndSubcommand: string): Said => ({ command: nameAndSubcommand });

/** `words\`${value(input)} is not valid\``: a message as its parts, plain words between them. */
export function words(strings: TemplateStringsArray, ...parts: Said[]): Said[] {
  return strings.flatMap((text, i) => (i < parts.length ? [text, parts[i]!] : [text])).filter((part) => part !== '');
}

/** The parts as plain words, for logs: the front ends render `said` themselves. */
export function plainWords(said: readonly Said[]): string {
  return said
    .map((part) => (typeof part === 'string' ? part : 'value' in part ? part.value : 'name' in part ? part.name : `the ${part.command} command`))
    .join('');
}

export class UserError extends Error {
  override readonly name = 'UserError';
  /** what the user is told, for the front end to render */
  readonly said: readonly Said[];
  constructor(
    readonly code: UserErrorCode,
    said: string | readonly Said[],
    options?: { cause?: unknown },
  ) {
    const parts = typeof said === 'string' ? [said] : said;
    super(plainWords(parts), options);
    this.said = parts;
  }
}

export const isUserError = (err: unknown): err is UserError => err instanceof UserError;

/** Keeps what is wrong with the address apart, for messages that must say more than that. */
export class InvalidAddressError extends UserError {
  constructor(
    readonly input: string,
    readonly reason: string,
  ) {
    super('invalid_address', words`${value(shorten(input, 100))} is not a valid Bitcoin address (${reason}). Check it for typos and paste it again.`);
  }
}

export const createInvalidAddressError = (input: string, reason: string) => new InvalidAddressError(input, reason);

/** Wherever a tracked address is expected, its label will do: this is neither. */
export const createUnknownAddressOrLabelError = (input: string, addressProblem: string | null) =>
  new UserError(
    'unknown_address',
    addressProblem
      ? words`${value(shorten(input, 100))} is neither a valid Bitcoin address (${addressProblem}) nor a label in this server. Check it for typos, or see this server's labels with ${command('addresses')}.`
      : words`${value(shorten(input, 100))} is neither a Bitcoin address nor a label in this server. See this server's labels with ${command('addresses')}, or paste the full address.`,
  );

export const createInvalidAmountError = (input: string, reason: string) =>
  new UserError('invalid_input', words`${value(shorten(input, 40))} is not a valid BTC amount (${reason}). Write it in BTC like ${value('0.0012')}.`);

export const createNotTrackedError = (address: string) =>
  new UserError(
    'not_tracked',
    words`${value(address)} is not tracked in this server. Use ${command('addresses')} to see what is, or ${command('track')} to add it.`,
  );

export const createAlreadyTrackedError = (address: string, label: string | null) =>
  new UserError(
    'already_tracked',
    label
      ? words`${value(address)} is already tracked in this server as ${named(withoutForbidden(label))}. Use ${command('balance')} to see it.`
      : words`${value(address)} is already tracked in this server. Use ${command('balance')} to see it.`,
  );

export const createLabelTakenError = (label: string, address: string) =>
  new UserError(
    'label_taken',
    words`The label ${named(withoutForbidden(label))} is already used for ${value(address)} in this server. Pick another label.`,
  );

export const createLabelTakenByWalletError = (label: string) =>
  new UserError('label_taken', words`The label ${named(withoutForbidden(label))} is already used for a wallet in this server. Pick another label.`);

export const createWalletAlreadyTrackedError = (label: string) =>
  new UserError('already_tracked', words`This wallet is already tracked in this server as ${named(withoutForbidden(label))}. Use ${command('balance')} to see it.`);

/** A wallet watches at least `needed` addresses (its gap on each chain): more than the server has room for. */
export const createWalletTooBigError = (max: number, needed: number, fit: number) =>
  new UserError(
    'limit_reached',
    words`This wallet needs at least ${needed.toLocaleString('en-US')} addresses, and this server has room for ${fit.toLocaleString('en-US')} more (MAX_ADDRESSES_PER_GUILD is ${max.toLocaleString('en-US')}). Track it with a smaller ${value('gap')}, untrack something first with ${command('untrack')}, or ask whoever runs satbell to raise the limit.`,
  );

/** Whether the command would have changed something: only then is "Nothing was changed" news. */
interface Changing {
  changes: boolean;
}

export const createProviderUnavailableError = (provider: string, cause: unknown, { failure, changes }: Changing & { failure: ProviderFailure }) => {
  const what = {
    unreachable: `The Bitcoin data service (${provider}) could not be reached.`,
    refused: `The Bitcoin data service (${provider}) answered with an error.`,
    invalid: `The Bitcoin data service (${provider}) gave an answer that does not add up.`,
    mixed: `No Bitcoin data service (${provider}) gave an answer satbell could use.`,
  }[failure];
  return new UserError('provider_unavailable', `${what} ${changes ? 'Nothing was changed; try' : 'Try'} again in a minute.`, { cause });
};

/** A rate-limited service would keep the command waiting longer than a person should wait. */
export const createProviderRateLimitedError = (
  provider: string,
  waitMs: number,
  { paused, changes }: Changing & { paused: boolean },
  cause: unknown,
) =>
  new UserError(
    'provider_unavailable',
    (paused
      ? `${provider} asked us to wait ${formatWait(waitMs)} (rate limit); try again later.`
      : `${provider} is busy: this would wait about ${formatWait(waitMs)} for its turn (rate limit); try again later.`) +
      (changes ? ' Nothing was changed.' : ''),
    { cause },
  );

export const createTooManyAddressesError = (max: number) =>
  new UserError(
    'limit_reached',
    words`This server already tracks ${max.toLocaleString('en-US')} ${max === 1 ? 'address' : 'addresses'}, the most it may (MAX_ADDRESSES_PER_GUILD). Untrack one first with ${command('untrack')}, or ask whoever runs satbell to raise the limit.`,
  );

/** A wait as people say it: `8 s`, `2 minutes`; rounded up, so that "try again" after it works. */
export function formatWait(ms: number): string {
  const seconds = Math.max(1, Math.ceil(ms / 1000));
  if (seconds < 90) return `${seconds} s`;
  const minutes = Math.ceil(seconds / 60);
  return `${minutes} minutes`;
}

export const createMissingPermissionError = (commandName: string, permission: string) =>
  new UserError(
    'missing_permission',
    words`${command(commandName)} is for members with the ${named(permission)} permission. Ask a server admin to run it.`,
  );

/** User input shown back: on one line, shortened, and without invisible characters. */
function shorten(text: string, max: number): string {
  const safe = withoutForbidden(text).replace(/\s+/g, ' ');
  return safe.length <= max ? safe : `${safe.slice(0, max - 1)}…`;
}
