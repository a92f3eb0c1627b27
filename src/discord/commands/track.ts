import { ApplicationCommandOptionType, InteractionContextType } from 'discord.js';
import { MAX_GAP, type ScanProgress } from '../../wallet/service.js';
import { type Command, type CommandContext, type CommandRequest, required } from '../command.js';
import { type ProviderWait, renderTrackProgress, renderTracked, renderWaiting } from '../render/embeds.js';
import { renderTrackedWallet, renderWalletProgress } from '../render/wallets.js';

const address = ({ options }: Pick<CommandRequest, 'options'>) => required(options.string('address'), 'address');

/** A descriptor with three keys and their origins runs to several hundred characters. */
const MAX_INPUT = 4_000;

export const track: Command = {
  definition: {
    name: 'track',
    description: 'Track a Bitcoin address, or a whole wallet (xpub/ypub/zpub or descriptor), in this server',
    contexts: [InteractionContextType.Guild],
    options: [
      {
        type: ApplicationCommandOptionType.String,
        name: 'address',
        description: 'A Bitcoin address, an extended public key (xpub, ypub, zpub) or an output descriptor',
        required: true,
        max_length: MAX_INPUT,
      },
      { type: ApplicationCommandOptionType.String, name: 'label', description: 'A name for it, e.g. cold storage', max_length: 64 },
      {
        type: ApplicationCommandOptionType.Integer,
        name: 'gap',
        description: 'For a wallet: unused addresses in a row to watch past the last used one (default 20)',
        min_value: 1,
        max_value: MAX_GAP,
      },
    ],
  },
  verifyWith: 'addresses',
  defer: 'public',
  // A wallet's key reveals every address of it: its reply is for the member who typed it.
  private: (request, ctx) => isWallet(request, ctx),
  check: (request, ctx) => void (isWallet(request, ctx) ? ctx.wallet.parseWallet(address(request)) : ctx.wallet.parseAddress(address(request))),
  execute: (request, ctx) => (isWallet(request, ctx) ? trackWallet(request, ctx) : trackAddress(request, ctx)),
};

/** Whether the member pasted a key or descriptor rather than an address (a shape test: parsing comes later). */
function isWallet(request: Pick<CommandRequest, 'options'>, { wallet }: CommandContext): boolean {
  const text = request.options.string('address');
  return text !== null && wallet.isWallet(text);
}

async function trackAddress(request: CommandRequest, { wallet, settings, links }: CommandContext) {
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
  if (result.kind === 'wallet') throw new Error('an address was tracked as a wallet');
  const { channelId } = await settings.get(guildId);
  return { embeds: [renderTracked(result, links, { noticesOff: channelId === null })] };
}

async function trackWallet(request: CommandRequest, { wallet, settings }: CommandContext) {
  let scanned: ScanProgress = { scanned: 0, used: 0 };
  const show = (wait?: ProviderWait) => request.progress({ embeds: [renderWalletProgress(scanned, wait)] });
  const result = await wallet.track({
    guildId: request.guildId,
    userId: request.userId,
    address: address(request),
    label: request.options.string('label'),
    gap: request.options.integer('gap'),
    onScan: (progress) => {
      scanned = progress;
      show();
    },
    onWait: (provider, waitMs) => show({ provider, waitMs }),
  });
  if (result.kind !== 'wallet') throw new Error('a wallet was tracked as an address');
  const { channelId } = await settings.get(request.guildId);
  return { embeds: [renderTrackedWallet(result, { noticesOff: channelId === null })] };
}
