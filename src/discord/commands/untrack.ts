import { ApplicationCommandOptionType, InteractionContextType } from 'discord.js';
import { type Command, required, suggestWatchedAddresses } from '../command.js';
import { renderUntracked } from '../render/embeds.js';

export const untrack: Command = {
  definition: {
    name: 'untrack',
    description: 'Stop tracking a Bitcoin address in this server',
    contexts: [InteractionContextType.Guild],
    options: [
      {
        type: ApplicationCommandOptionType.String,
        name: 'address',
        description: 'A tracked address',
        required: true,
        autocomplete: true,
        max_length: 100,
      },
    ],
  },
  defer: false,
  async execute({ guildId, options }, { wallet }) {
    const result = await wallet.untrack({ guildId, address: required(options.string('address'), 'address') });
    return { embeds: [renderUntracked(result)] };
  },
  autocomplete: suggestWatchedAddresses,
};
