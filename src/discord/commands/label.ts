import { ApplicationCommandOptionType, InteractionContextType } from 'discord.js';
import { addressOption, type Command, required, suggestWatchedAddresses } from '../command.js';
import { renderRenamed } from '../render/embeds.js';

export const label: Command = {
  definition: {
    name: 'label',
    description: 'Give a tracked address a new label',
    contexts: [InteractionContextType.Guild],
    options: [
      addressOption('A tracked address, or its current label or a wallet\'s'),
      { type: ApplicationCommandOptionType.String, name: 'label', description: 'The new label, e.g. cold storage', required: true, max_length: 64 },
    ],
  },
  verifyWith: 'addresses',
  defer: false,
  async execute({ guildId, options }, { wallet }) {
    const result = await wallet.rename({
      guildId,
      address: required(options.string('address'), 'address'),
      label: required(options.string('label'), 'label'),
    });
    return { embeds: [renderRenamed(result)] };
  },
  autocomplete: suggestWatchedAddresses,
};
