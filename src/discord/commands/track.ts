import { ApplicationCommandOptionType, InteractionContextType } from 'discord.js';
import { type Command, type CommandRequest, required } from '../command.js';
import { type ProviderWait, renderTrackProgress, renderTracked, renderWaiting } from '../render/embeds.js';

const address = ({ options }: CommandRequest) => required(options.string('address'), 'address');

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
  verifyWith: 'addresses',
  defer: 'public',
  check: (request, { wallet }) => void wallet.parseAddress(address(request)),
  async execute(request, { wallet, settings, links }) {
    const { guildId } = request;
    const label = request.options.string('label');
    const canonical = wallet.parseAddress(address(request)).address;
    /** how far a long history has got, once it has */
    let loaded: { fetched: number; total: number } | undefined;
    const show = (wait?: ProviderWait) => {
      const embed = loaded ? renderTrackProgress(canonical, label?.trim() || null, loaded.fetched, loaded.total, wait) : wait && renderWaiting(wait);
      if (embed) request.progress({ embeds: [embed] });
    };
    const result = await wallet.track({
      guildId,
      userId: request.userId,
      address: canonical,
      label,
      // A history that fits in one page needs no progress report: the answer is about to come.
      onProgress: (fetched, total) => {
        if (fetched >= total) return;
        loaded = { fetched, total };
        show();
      },
      onWait: (provider, waitMs) => show({ provider, waitMs }),
    });
    const { channelId } = await settings.get(guildId);
    return { embeds: [renderTracked(result, links, { noticesOff: channelId === null })] };
  },
};
