import { InteractionContextType } from 'discord.js';
import { addressOption, type Command, required, suggestWatchedAddresses } from '../command.js';
import { renderUntracked } from '../render/embeds.js';

export const untrack: Command = {
  definition: {
    name: 'untrack',
    description: 'Stop tracking a Bitcoin address in this server',
    contexts: [InteractionContextType.Guild],
    options: [addressOption('A tracked address, or its label or a wallet\'s')],
  },
  verifyWith: 'addresses',
  defer: false,
  async execute({ guildId, options }, { wallet }) {
    const result = await wallet.untrack({ guildId, address: required(options.string('address'), 'address') });
    return { embeds: [renderUntracked(result)] };
  },
  autocomplete: suggestWatchedAddresses,
};
