import { ApplicationCommandOptionType, InteractionContextType } from 'discord.js';
import { type Command, required, suggestWatchedAddresses } from '../command.js';
import { renderTxns } from '../render/embeds.js';

export const txns: Command = {
  definition: {
    name: 'txns',
    description: 'Transactions of a Bitcoin address, newest first',
    contexts: [InteractionContextType.Guild],
    options: [
      {
        type: ApplicationCommandOptionType.String,
        name: 'address',
        description: 'Any Bitcoin address, or pick a tracked one',
        required: true,
        autocomplete: true,
        max_length: 100,
      },
      { type: ApplicationCommandOptionType.Boolean, name: 'fresh', description: 'Ask the network now instead of the stored list' },
    ],
  },
  defer: 'public',
  check: ({ options }, { wallet }) => void wallet.parseAddress(required(options.string('address'), 'address')),
  async execute({ guildId, options }, { wallet, links, providerName }) {
    const view = await wallet.txns({
      guildId,
      address: required(options.string('address'), 'address'),
      fresh: options.boolean('fresh') ?? false,
    });
    return { embeds: [renderTxns(view, links, providerName())] };
  },
  autocomplete: suggestWatchedAddresses,
};
