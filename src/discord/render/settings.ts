import type { APIEmbed } from 'discord.js';
import type { ProviderStatus } from '../../chain/providers/failover.js';
import type { PushStatus } from '../../sync/push.js';
import type { GuildSettings } from '../../sync/settings.js';
import { COLOURS } from './embeds.js';
import { btc, escapeMarkdown, relativeTime } from './format.js';

/** A field value holds at most 1,024 characters; the start of an error message says enough. */
const ERROR_BUDGET = 900;

const describeThreshold = (sats: bigint) => (sats === 0n ? 'any change' : btc(sats));

/**
 * One configured data service, preferred first: why a reply says "Live from" another one than the
 * first is that the first failed lately and is given a rest.
 */
function describeServices(services: readonly ProviderStatus[]): string {
  const serving = services.find((s) => !s.restingUntil);
  return services
    .map(({ name, restingUntil }, i) =>
      restingUntil
        ? `${name}: failed lately, asked again ${relativeTime(restingUntil)} (or when the others fail)`
        : `${name}: ${services[i] === serving ? 'serving' : 'standing by'}`,
    )
    .join('\n');
}

/** What a /config subcommand just changed, in a sentence, given the settings as they now are. */
function confirmation(settings: GuildSettings, changed: 'channel' | 'threshold'): string {
  if (changed === 'channel') {
    return `Notices will be posted in <#${settings.channelId}>. satbell needs to see that channel and to send messages and embed links there.`;
  }
  const which = settings.thresholdSats === 0n ? 'any change' : `changes of at least **${btc(settings.thresholdSats)}**`;
  const off = settings.channelId ? '' : '\nNo channel is set yet: choose one with `/config channel` to turn notices on.';
  return `Notices will be posted for ${which}.${off}`;
}

/** A server's notice settings: /config show, or after `changed` the confirmation of /config channel or threshold. */
export function renderSettings(
  settings: GuildSettings,
  changed?: 'channel' | 'threshold',
  services?: readonly ProviderStatus[],
  push?: PushStatus | null,
): APIEmbed {
  const fields = [
    { name: 'Channel', value: settings.channelId ? `<#${settings.channelId}>` : 'not set — notices are off' },
    { name: 'Threshold', value: describeThreshold(settings.thresholdSats) },
  ];
  if (settings.lastDeliveryError) {
    const when = settings.lastDeliveryErrorAt ? ` (${relativeTime(settings.lastDeliveryErrorAt)})` : '';
    fields.push({ name: 'Last delivery error', value: `${escapeMarkdown(settings.lastDeliveryError.slice(0, ERROR_BUDGET))}${when}` });
  }
  if (services?.length) {
    const electrum = push === undefined ? [] : [describePush(push)];
    fields.push({ name: 'Data services', value: [describeServices(services), ...electrum].join('\n') });
  }
  return {
    color: changed ? COLOURS.success : COLOURS.neutral,
    title: changed ? 'Notice settings updated' : 'Notice settings',
    ...(changed ? { description: confirmation(settings, changed) } : {}),
    fields,
    footer: { text: 'Admins change them with /config channel and /config threshold' },
  };
}

/** the Electrum push line: where it is connected, and how many addresses the sync still polls */
function describePush(push: PushStatus | null): string {
  if (push === null) return 'Electrum: kept by another process of this bot';
  if (!push.server) return 'Electrum: no server reached — the sync polls every address over HTTP meanwhile';
  return `Electrum: ${push.server}, ${push.subscribed} subscribed, ${push.polled} polled`;
}
