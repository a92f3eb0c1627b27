import { type DestinationStream, pino, type Logger } from 'pino';
import { redactUrl } from './db/client.js';
import { createPrettyDestination, type LogFormat } from './log-format.js';

const CENSOR = '[redacted]';

export interface LoggerOptions {
  /** where lines go; stdout when left out (the terminal shell keeps stdout for its conversation) */
  destination?: DestinationStream;
  /** configured secret values (the bot token, the database password) that must never be printed */
  secrets?: readonly (string | undefined)[];
  /** JSON lines (the default), or readable ones (src/log-format.ts) */
  format?: LogFormat;
}

/**
 * Structured logs. Secrets never reach them, whatever a caller passes: known fields are censored,
 * and every finished line, nested `cause` errors and stack traces included, is scrubbed of the
 * configured secrets and of anything shaped like a token or a password in a URL. Readable lines
 * are made from the scrubbed JSON, so they carry no more than it does; they show stacks at debug
 * and trace only.
 */
export function createLogger(level: string, { destination, secrets = [], format = 'json' }: LoggerOptions = {}): Logger {
  const scrub = createScrubber(secrets);
  const options = {
    level,
    redact: {
      paths: ['token', '*.token', 'DISCORD_TOKEN', '*.DISCORD_TOKEN', 'headers.authorization', '*.headers.authorization'],
      censor: CENSOR,
    },
    hooks: { streamWrite: scrub },
  };
  if (format === 'pretty') {
    const out = destination ?? pino.destination({ dest: 1, sync: true });
    return pino(options, createPrettyDestination(out, { stack: level === 'debug' || level === 'trace' }));
  }
  return destination ? pino(options, destination) : pino(options);
}

/** The secret values in a configuration: the bot token and the password in DATABASE_URL. */
export function configuredSecrets(config: { DISCORD_TOKEN?: string; DATABASE_URL: string }): string[] {
  const secrets = config.DISCORD_TOKEN ? [config.DISCORD_TOKEN] : [];
  if (/^postgres(ql)?:/.test(config.DATABASE_URL)) {
    // Read the password without URL parsing: a URL that fails to parse still carries it.
    const userinfo = config.DATABASE_URL.match(/^[a-z]+:\/\/([^@/?#]*)@/i)?.[1];
    const password = userinfo?.includes(':') ? userinfo.slice(userinfo.indexOf(':') + 1) : undefined;
    if (password) secrets.push(password, safeDecode(password));
    for (const [, value] of config.DATABASE_URL.matchAll(/[?&]password=([^&#]*)/gi)) if (value) secrets.push(value, safeDecode(value));
  }
  return secrets;
}

/** Shorter than this, a value is not scrubbed on its own: it would blank out ordinary words. */
const MIN_SECRET_LENGTH = 4;

/** Patterns of secrets whatever their value, each with what it becomes. */
const PATTERNS: [RegExp, string | ((match: string, ...groups: string[]) => string)][] = [
  // Interaction tokens let anyone answer as the bot for 15 minutes; they ride in these URLs.
  [/(\/interactions\/\d+\/)[^/?#\s"'\\]+/g, `$1${CENSOR}`],
  [/(\/webhooks\/\d+\/)[^/?#\s"'\\]+/g, `$1${CENSOR}`],
  // An interaction token on its own: it starts with "interaction:" in base64.
  [/aW50ZXJhY3Rpb246[A-Za-z0-9_-]+/g, CENSOR],
  // A bot token: the bot's id in base64, a timestamp and an HMAC, dot-separated.
  [/[A-Za-z0-9_-]{23,28}\.[A-Za-z0-9_-]{6,7}\.[A-Za-z0-9_-]{27,}/g, CENSOR],
  // Postgres URLs through the one redaction the rest of the code uses, then any URL's password.
  [/postgres(?:ql)?:\/\/[^\s"'\\<>]+/g, (url) => redactUrl(url)],
  [/(\/\/[^\s/:"'@\\]+:)[^\s/"'@\\]+@/g, '$1***@'],
  // Bitcoin keys, whoever put them in a line (a database error quoting its query's parameters,
  // say): an extended private key or a WIF key is removed, an extended public key, which reveals
  // every address of a wallet, is shortened as replies show it.
  [/\b[xyztuvYZUV]prv[1-9A-HJ-NP-Za-km-z]{100,}/g, CENSOR],
  [/\b[5KLc9][1-9A-HJ-NP-Za-km-z]{50,51}\b/g, CENSOR],
  [/\b[xyztuvYZUV]pub[1-9A-HJ-NP-Za-km-z]{100,}/g, (key) => `${key.slice(0, 8)}…${key.slice(-4)}`],
  // A field called token or password, however deep in the line.
  [/("(?:token|password|access_token|client_secret)":)"(?:[^"\\]|\\.)*"/gi, `$1"${CENSOR}"`],
];

/** A function that removes secrets from text: the given values (as written, JSON-escaped or URL-encoded), then every PATTERN. */
export function createScrubber(secrets: readonly (string | undefined)[]): (text: string) => string {
  const forms = new Set<string>();
  for (const secret of secrets) {
    if (!secret || secret.length < MIN_SECRET_LENGTH) continue;
    forms.add(secret);
    forms.add(JSON.stringify(secret).slice(1, -1));
    forms.add(encodeURIComponent(secret));
  }
  // Longest first, so that a secret containing another is removed whole.
  const values = [...forms].sort((a, b) => b.length - a.length);
  return (text) => {
    let out = text;
    for (const value of values) out = out.split(value).join(CENSOR);
    for (const [pattern, replacement] of PATTERNS) {
      out = typeof replacement === 'string' ? out.replace(pattern, replacement) : out.replace(pattern, replacement);
    }
    return out;
  };
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

export type { Logger };
