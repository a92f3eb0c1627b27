import { DiscordAPIError, RESTJSONErrorCodes } from 'discord.js';

/** Discord's "too late" answers: the interaction or its message is gone, and nobody is waiting. */
export function isTooLate(err: unknown): boolean {
  return (
    err instanceof DiscordAPIError &&
    (err.code === RESTJSONErrorCodes.UnknownInteraction || err.code === RESTJSONErrorCodes.UnknownMessage)
  );
}
