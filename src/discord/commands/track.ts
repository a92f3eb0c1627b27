import { ApplicationCommandOptionType, InteractionContextType, type ChatInputCommandInteraction } from 'discord.js';
import type { Command, CommandContext } from '../command.js';
import { renderTracked } from '../render/embeds.js';

const address = (interaction: ChatInputCommandInteraction) => interaction.options.getString('address', true);

export const track: Command = {
  definition: {
    name: 'track',
    description: 'Track a Bitcoin address in this server',
    contexts: [InteractionContextType.Guild],
    options: [
      { type: ApplicationCommandOptionType.String, name: 'address', description: 'The Bitcoin address', required: true, max_length: 100 },
      { type: ApplicationCommandOptionType.String, name: 'label', description: 'A name for it, e.g. cold storage', max_length: 64 },
    ],
  },
  defer: 'public',
  check: (interaction, { wallet }) => void wallet.parseAddress(address(interaction)),
  async execute(interaction, { wallet, settings, links }: CommandContext) {
    const guildId = interaction.guildId!;
    const result = await wallet.track({
      guildId,
      userId: interaction.user.id,
      address: address(interaction),
      label: interaction.options.getString('label'),
    });
    const { channelId } = await settings.get(guildId);
    return { embeds: [renderTracked(result, links, { noticesOff: channelId === null })] };
  },
};
