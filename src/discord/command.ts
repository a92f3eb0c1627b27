import type {
  APIApplicationCommandOptionChoice,
  APIEmbed,
  AutocompleteInteraction,
  ChatInputCommandInteraction,
  RESTPostAPIChatInputApplicationCommandsJSONBody,
} from 'discord.js';
import type { Logger } from 'pino';
import type { SettingsService } from '../sync/settings.js';
import type { WalletService } from '../wallet/service.js';
import type { ExplorerLinks } from './render/format.js';

/** What every handler may use: the use cases and how to render, never the database or a provider. */
export interface CommandContext {
  wallet: WalletService;
  settings: SettingsService;
  links: ExplorerLinks;
  /** the data service that answered last (failover may switch), for "Live from …" */
  providerName: () => string;
  logger: Logger;
}

export interface CommandReply {
  content?: string;
  embeds?: APIEmbed[];
}

export interface Command {
  definition: RESTPostAPIChatInputApplicationCommandsJSONBody;
  /**
   * 'public' when the handler may call the network: the dispatcher acknowledges within Discord's
   * 3 seconds and the handler's answer edits that reply. false for answers from the database only.
   */
  defer: 'public' | false;
  /** Checks that need no I/O, run before deferring so that their errors can stay private. */
  check?(interaction: ChatInputCommandInteraction, ctx: CommandContext): void;
  execute(interaction: ChatInputCommandInteraction, ctx: CommandContext): Promise<CommandReply>;
  autocomplete?(interaction: AutocompleteInteraction, ctx: CommandContext): Promise<APIApplicationCommandOptionChoice[]>;
}

/** `cold — bc1qar0s…wf5mdq` choices for an address option, from this server's watches. */
export async function suggestWatchedAddresses(
  interaction: AutocompleteInteraction,
  { wallet }: CommandContext,
): Promise<APIApplicationCommandOptionChoice[]> {
  const watches = await wallet.suggest({ guildId: interaction.guildId!, fragment: String(interaction.options.getFocused()) });
  return watches.map((w) => ({
    name: (w.label ? `${w.label} — ${w.address}` : w.address).slice(0, 100),
    value: w.address,
  }));
}
