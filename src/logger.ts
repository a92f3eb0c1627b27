import { type DestinationStream, pino, type Logger } from 'pino';

/**
 * Structured logs, to stdout unless `destination` says otherwise (the terminal shell keeps stdout
 * for its conversation). Secrets never reach them, whatever a caller passes.
 */
export function createLogger(level: string, destination?: DestinationStream): Logger {
  const options = {
    level,
    redact: {
      paths: ['token', '*.token', 'DISCORD_TOKEN', '*.DISCORD_TOKEN', 'headers.authorization', '*.headers.authorization'],
      censor: '[redacted]',
    },
  };
  return destination ? pino(options, destination) : pino(options);
}

export type { Logger };
