/** The INTERACTION_CREATE payload fields that are the same for commands, autocompletes and components. */
import { InteractionContextType, Locale, type APIChatInputApplicationCommandGuildInteraction, type APIUser } from 'discord.js';
import type { DiscordState } from './state.js';
import { ALL_PERMISSIONS, isoTimestamp, NO_FLAGS } from './util.js';

/** What every guild interaction carries: who pressed or typed, where, with which permissions. */
export function guildInteractionBase(
  state: DiscordState,
  record: { id: string; token: string; guildId: string; channelId: string; user: APIUser },
  permissions = ALL_PERMISSIONS,
  locale: string = Locale.EnglishUS,
) {
  const channel = state.channels.get(record.channelId)!;
  return {
    id: record.id,
    application_id: state.applicationId,
    token: record.token,
    version: 1,
    guild: { id: record.guildId, locale: Locale.EnglishUS, features: [] },
    guild_id: record.guildId,
    guild_locale: Locale.EnglishUS,
    channel: { ...state.channelPayload(channel), permissions: permissions.toString() } as APIChatInputApplicationCommandGuildInteraction['channel'],
    channel_id: channel.id,
    member: {
      user: record.user, roles: [], permissions: permissions.toString(), joined_at: isoTimestamp(state.now() - 86_400_000), nick: null, avatar: null,
      banner: null, premium_since: null, deaf: false, mute: false, flags: NO_FLAGS, pending: false, communication_disabled_until: null,
    },
    app_permissions: ALL_PERMISSIONS.toString(),
    locale: locale as Locale,
    entitlements: [],
    authorizing_integration_owners: { 0: record.guildId },
    context: InteractionContextType.Guild,
    attachment_size_limit: 10_485_760,
  } satisfies Partial<APIChatInputApplicationCommandGuildInteraction>;
}
