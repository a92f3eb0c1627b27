import { ApplicationCommandOptionType, InteractionContextType } from 'discord.js';
import { addressOption, checkAddressOption, type Command, loadPage, required, suggestWatchedAddresses } from '../command.js';
import { renderTxns, renderWaiting } from '../render/embeds.js';
import { renderWalletTxns } from '../render/wallets.js';

export const txns: Command = {
  definition: {
    name: 'txns',
    description: 'Transactions of a Bitcoin address, newest first',
    contexts: [InteractionContextType.Guild],
    options: [
      addressOption('Any Bitcoin address, or the label of a tracked one or of a wallet'),
      { type: ApplicationCommandOptionType.Boolean, name: 'fresh', description: 'Ask the network now instead of the stored list' },
    ],
  },
  defer: 'public',
  check: checkAddressOption,
  async execute({ guildId, options, page: requested, progress }, { wallet, links, providerName }) {
    const address = required(options.string('address'), 'address');
    // fresh:true asks the network for the reply as typed; turning its pages reads what that stored.
    const fresh = (options.boolean('fresh') ?? false) && requested === 0;
    const onWait = (provider: string, waitMs: number) => progress({ embeds: [renderWaiting({ provider, waitMs })] });
    const { view, page } = await loadPage(
      requested,
      (offset, limit) => wallet.txns({ guildId, address, fresh, offset, limit, onWait }),
      (v) => v.listed,
    );
    const embed = view.kind === 'wallet' ? renderWalletTxns(view, links, providerName(), page) : renderTxns(view, links, providerName(), page);
    return { embeds: [embed], page };
  },
  autocomplete: suggestWatchedAddresses,
};
