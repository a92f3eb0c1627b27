import { ApplicationCommandOptionType, ChannelType, InteractionContextType, PermissionFlagsBits } from 'discord.js';
import { parseBtc } from '../../chain/amount.js';
import { createMissingPermissionError } from '../../errors.js';
import { checkText } from '../../wallet/input.js';
import { type Command, required } from '../command.js';
import { renderSettings } from '../render/settings.js';

const NOTICE_CHANNEL_TYPES = [ChannelType.GuildText, ChannelType.GuildAnnouncement] as const;

export const config: Command = {
  definition: {
    name: 'config',
    description: "Where this server's balance-change notices go, and how big a change must be",
    contexts: [InteractionContextType.Guild],
    // Discord hides the command from other members, but a server's admins can grant it to any role:
    // the handler checks again.
    default_member_permissions: PermissionFlagsBits.ManageGuild.toString(),
    options: [
      {
        type: ApplicationCommandOptionType.Subcommand,
        name: 'channel',
        description: 'Post balance-change notices in this channel',
        options: [
          {
            type: ApplicationCommandOptionType.Channel,
            name: 'channel',
            description: 'A text or announcement channel',
            required: true,
            channel_types: [...NOTICE_CHANNEL_TYPES],
          },
        ],
      },
      {
        type: ApplicationCommandOptionType.Subcommand,
        name: 'threshold',
        description: 'Announce only changes of at least this amount',
        options: [
          {
            type: ApplicationCommandOptionType.String,
            name: 'btc',
            description: 'In BTC, e.g. 0.001; 0 announces any change',
            required: true,
            max_length: 40,
          },
        ],
      },
      { type: ApplicationCommandOptionType.Subcommand, name: 'show', description: 'Show the notice channel, the threshold and the last delivery error' },
    ],
  },
  verifyWith: 'config show',
  defer: false,
  check({ memberPermissions }) {
    if (!(memberPermissions & PermissionFlagsBits.ManageGuild)) throw createMissingPermissionError('config', 'Manage Server');
  },
  async execute({ guildId, options }, { settings, dataServices, pushStatus }) {
    const subcommand = required(options.subcommand(), 'subcommand');
    switch (subcommand) {
      case 'channel':
        // Discord offers only the channel types the definition allows.
        await settings.setChannel(guildId, required(options.channel('channel'), 'channel'));
        return { embeds: [renderSettings(await settings.get(guildId), 'channel')] };
      case 'threshold':
        await settings.setThreshold(guildId, parseBtc(checkText(required(options.string('btc'), 'btc'), 'The amount')));
        return { embeds: [renderSettings(await settings.get(guildId), 'threshold')] };
      case 'show':
        return { embeds: [renderSettings(await settings.get(guildId), undefined, dataServices(), pushStatus?.())] };
      default:
        throw new Error(`no handler for /config ${subcommand}`);
    }
  },
};
