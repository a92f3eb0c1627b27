import { InteractionContextType } from 'discord.js';
import { type Command, loadPage } from '../command.js';
import { renderAddresses } from '../render/embeds.js';

export const addresses: Command = {
  definition: {
    name: 'addresses',
    description: "This server's tracked addresses with their balances",
    contexts: [InteractionContextType.Guild],
  },
  defer: false,
  async execute({ guildId, page: requested }, { wallet, links }) {
    const { view, page } = await loadPage(
      requested,
      (offset, limit) => wallet.listPage({ guildId, offset, limit }),
      (v) => v.total,
    );
    return { embeds: [renderAddresses(view, links, page)], page };
  },
};
