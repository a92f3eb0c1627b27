import { pino, type Logger } from 'pino';

/** Structured logs to stdout. Secrets never reach them, whatever a caller passes. */
export function createLogger(level: string): Logger {
  return pino({
    level,
    redact: {
      paths: ['token', '*.token', 'DISCORD_TOKEN', '*.DISCORD_TOKEN', 'headers.authorization', '*.headers.authorization'],
      censor: '[redacted]',
    },
  });
}

export type { Logger };
