import {
  type APIApplicationCommandBasicOption,
  type APIApplicationCommandOptionChoice,
  type APIEmbed,
  ApplicationCommandOptionType,
  type RESTPostAPIChatInputApplicationCommandsJSONBody,
} from 'discord.js';
import { UserError, value, words } from '../errors.js';
import { withoutForbidden } from '../text.js';
import type { CommandContext } from '../commands/context.js';
import { shortAddress } from './render/format.js';

/** What every handler may use; it lives beside the pipeline, which core builds it for. */
export type { CommandContext } from '../commands/context.js';

export interface CommandReply {
  content?: string;
  embeds?: APIEmbed[];
  /**
   * This reply is page `index` (0-based) of `count`: the front end offers previous/next, which
   * run the command again with the same options and `request.page` set.
   */
  page?: { index: number; count: number };
}

/**
 * What a command receives: the same shape whether it was typed in Discord or in `npm run shell`,
 * so both run the very same handlers.
 */
export interface CommandRequest {
  guildId: string;
  userId: string;
  /** the member's permission bits in that server (Discord's PermissionFlagsBits) */
  memberPermissions: bigint;
  options: CommandOptions;
  /** which page of a paged reply to answer (0-based); 0 when first typed */
  page: number;
  /**
   * Show how a long command is getting on: the front end replaces what the user sees with this
   * interim reply (rate-limited there), until the final one.
   */
  progress(reply: CommandReply): void;
}

export interface CommandOptions {
  string(name: string): string | null;
  boolean(name: string): boolean | null;
  /** an integer option (Discord checks its range; the shell does too) */
  integer(name: string): number | null;
  /** a channel option's channel id */
  channel(name: string): string | null;
  subcommand(): string | null;
}

export interface AutocompleteRequest {
  guildId: string;
  userId: string;
  /** the option being typed and what has been typed so far */
  focused: { name: string; value: string };
}

/** A required option: Discord enforces it, the shell may not, so say which is missing. */
export function required<T>(given: T | null, name: string): T {
  if (given === null || given === undefined) throw new UserError('invalid_input', words`The option ${value(name)} is required.`);
  return given;
}

export interface Command {
  definition: RESTPostAPIChatInputApplicationCommandsJSONBody;
  /**
   * 'public' when the handler may call the network: the pipeline (src/commands/pipeline.ts) has
   * the front end defer, which Discord shows as "thinking…" within its 3 seconds, and the answer
   * edits that reply. false for answers from the database only: they answer at once, unless the
   * database is slow, when the pipeline defers them too.
   */
  defer: 'public' | false;
  /**
   * Whether this request's reply, "thinking…" and progress included, is for the person who typed
   * it only (Discord's ephemeral): /track of a wallet, whose addresses the reply would reveal.
   */
  private?(request: Omit<CommandRequest, 'progress'>, ctx: CommandContext): boolean;
  /**
   * Quick checks (no network: parsing, the database at most), run before deferring so that their
   * errors stay private and come at once. The pipeline awaits it; on Discord it defers anyway when
   * they take long (a slow database), and their errors then follow up privately.
   */
  check?(request: CommandRequest, ctx: CommandContext): void | Promise<void>;
  /**
   * For a command that changes stored data: the command (name and any subcommand, no slash: each
   * front end writes it its own way) that shows whether a run went through.
   * A run given up on (the database not answering) can then only say "unknown, check with …";
   * without it, a run given up on changed nothing.
   */
  verifyWith?: string;
  execute(request: CommandRequest, ctx: CommandContext): Promise<CommandReply>;
  autocomplete?(request: AutocompleteRequest, ctx: CommandContext): Promise<APIApplicationCommandOptionChoice[]>;
}

/**
 * `cold — bc1qar0srr…wf5mdq` choices for an address option, from this server's watches (the value
 * is the address), and `savings — wallet zpub6rFR…QeZ1` for its wallets (the value is the label).
 */
export async function suggestWatchedAddresses(
  request: AutocompleteRequest,
  { wallet }: CommandContext,
): Promise<APIApplicationCommandOptionChoice[]> {
  const found = await wallet.suggest({ guildId: request.guildId, fragment: request.focused.value });
  return found.map((w) =>
    // Choice names are plain text, but Discord refuses control characters an older version may have stored.
    w.kind === 'wallet'
      ? { name: `${withoutForbidden(w.label)} — wallet ${w.short}`.slice(0, 100), value: w.label.slice(0, 100) }
      : { name: (w.label ? `${withoutForbidden(w.label)} — ${shortAddress(w.address)}` : w.address).slice(0, 100), value: w.address },
  );
}

/** The `address` option of every command that takes a tracked address or its label. */
export const addressOption = (description: string) =>
  ({
    type: ApplicationCommandOptionType.String,
    name: 'address',
    description,
    required: true,
    autocomplete: true,
    max_length: 100,
  }) as const satisfies APIApplicationCommandBasicOption;

/** The `check` of such a command: an input that is neither an address nor a label (of a watch or wallet) is refused privately, at once. */
export async function checkAddressOption({ guildId, options }: CommandRequest, { wallet }: CommandContext): Promise<void> {
  await wallet.resolveWatch({ guildId, address: required(options.string('address'), 'address') });
}

/** How many items a page of a paged reply holds. */
export const PAGE_SIZE = 10;

/**
 * Load page `requested` of a list of `listed(view)` items. A page past the end (asked for by
 * number, or Next on an old reply whose list has shrunk since) gives the last page, and `asked`
 * says which was asked for, so that the reply can say it has no such page.
 */
export async function loadPage<T>(
  requested: number,
  load: (offset: number, limit: number) => Promise<T>,
  listed: (view: T) => number,
): Promise<{ view: T; page: { index: number; count: number; asked?: number } }> {
  const asked = Math.max(0, Math.floor(requested));
  const view = await load(asked * PAGE_SIZE, PAGE_SIZE);
  const count = Math.max(1, Math.ceil(listed(view) / PAGE_SIZE));
  if (asked < count) return { view, page: { index: asked, count } };
  return { view: await load((count - 1) * PAGE_SIZE, PAGE_SIZE), page: { index: count - 1, count, asked } };
}
