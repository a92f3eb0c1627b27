import { ApplicationCommandOptionType, InteractionContextType } from 'discord.js';
import { addressOption, checkAddressOption, type Command, required, suggestWatchedAddresses } from '../command.js';
import { renderBalance, renderWaiting } from '../render/embeds.js';
import { renderWalletBalance } from '../render/wallets.js';

export const balance: Command = {
  definition: {
    name: 'balance',
    description: 'Balance of a Bitcoin address',
    contexts: [InteractionContextType.Guild],
    options: [
      addressOption('Any Bitcoin address, or the label of a tracked one or of a wallet'),
      { type: ApplicationCommandOptionType.Boolean, name: 'fresh', description: 'Ask the network now instead of the stored figure' },
    ],
  },
  defer: 'public',
  check: checkAddressOption,
  async execute({ guildId, options, progress }, { wallet, links, providerName }) {
    const view = await wallet.balance({
      guildId,
      address: required(options.string('address'), 'address'),
      fresh: options.boolean('fresh') ?? false,
      onWait: (provider, waitMs) => progress({ embeds: [renderWaiting({ provider, waitMs })] }),
    });
    return { embeds: [view.kind === 'wallet' ? renderWalletBalance(view, providerName()) : renderBalance(view, links, providerName())] };
  },
  autocomplete: suggestWatchedAddresses,
};
