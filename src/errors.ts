// Labels in these messages are shown as the replies show them: as plain text, whatever they hold.
import type { ProviderFailure } from './chain/provider.js';
import { escapeMarkdown, withoutForbidden } from './text.js';

/**
 * Expected failures: each has a stable code and a message written for the person who typed the
 * command. Anything that is not a UserError is a bug or an outage and is reported generically.
 */
export type UserErrorCode =
  | 'invalid_address'
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

export class UserError extends Error {
  override readonly name = 'UserError';
  constructor(
    readonly code: UserErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export const isUserError = (err: unknown): err is UserError => err instanceof UserError;

/** Keeps what is wrong with the address apart, for messages that must say more than that. */
export class InvalidAddressError extends UserError {
  constructor(
    readonly input: string,
    readonly reason: string,
  ) {
    super('invalid_address', `\`${truncate(input, 100)}\` is not a valid Bitcoin address (${reason}). Check it for typos and paste it again.`);
  }
}

export const createInvalidAddressError = (input: string, reason: string) => new InvalidAddressError(input, reason);

/** Wherever a tracked address is expected, its label will do: this is neither. */
export const createUnknownAddressOrLabelError = (input: string, addressProblem: string | null) =>
  new UserError(
    'unknown_address',
    addressProblem
      ? `\`${truncate(input, 100)}\` is neither a valid Bitcoin address (${addressProblem}) nor a label in this server. Check it for typos, or see this server's labels with \`/addresses\`.`
      : `\`${truncate(input, 100)}\` is neither a Bitcoin address nor a label in this server. See this server's labels with \`/addresses\`, or paste the full address.`,
  );

export const createInvalidAmountError = (input: string, reason: string) =>
  new UserError(
    'invalid_input',
    `\`${truncate(input, 40)}\` is not a valid BTC amount (${reason}). Write it in BTC like \`0.0012\`.`,
  );

export const createNotTrackedError = (address: string) =>
  new UserError(
    'not_tracked',
    `\`${address}\` is not tracked in this server. Use \`/addresses\` to see what is, or \`/track\` to add it.`,
  );

export const createAlreadyTrackedError = (address: string, label: string | null) =>
  new UserError(
    'already_tracked',
    `\`${address}\` is already tracked in this server${label ? ` as **${escapeMarkdown(label)}**` : ''}. Use \`/balance\` to see it.`,
  );

export const createLabelTakenError = (label: string, address: string) =>
  new UserError(
    'label_taken',
    `The label **${escapeMarkdown(label)}** is already used for \`${address}\` in this server. Pick another label.`,
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
    `This server already tracks ${max.toLocaleString('en-US')} ${max === 1 ? 'address' : 'addresses'}, the most it may (MAX_ADDRESSES_PER_GUILD). Untrack one first with \`/untrack\`, or ask whoever runs satbell to raise the limit.`,
  );

/** A wait as people say it: `8 s`, `2 minutes`; rounded up, so that "try again" after it works. */
export function formatWait(ms: number): string {
  const seconds = Math.max(1, Math.ceil(ms / 1000));
  if (seconds < 90) return `${seconds} s`;
  const minutes = Math.ceil(seconds / 60);
  return `${minutes} minutes`;
}

export const createMissingPermissionError = (command: string, permission: string) =>
  new UserError(
    'missing_permission',
    `\`/${command}\` is for members with the **${permission}** permission. Ask a server admin to run it.`,
  );

/** User input shown back inside inline code: shortened, unable to close the code span, and without invisible characters. */
function truncate(text: string, max: number): string {
  const safe = withoutForbidden(text).replace(/`/g, "'").replace(/\s+/g, ' ');
  return safe.length <= max ? safe : `${safe.slice(0, max - 1)}…`;
}
