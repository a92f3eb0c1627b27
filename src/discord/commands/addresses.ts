import { InteractionContextType } from 'discord.js';
import type { Command } from '../command.js';
import { renderAddresses } from '../render/embeds.js';

export const addresses: Command = {
  definition: {
    name: 'addresses',
    description: "This server's tracked addresses with their balances",
    contexts: [InteractionContextType.Guild],
  },
  defer: false,
  async execute({ guildId }, { wallet, links }) {
    const watches = await wallet.list({ guildId });
    return { embeds: [renderAddresses(watches, links)] };
  },
};
