import { z } from 'zod';

/**
 * Every setting satbell reads, parsed once at start. A bad value fails here with the variable's
 * name, never later in the middle of a command.
 */
const schema = z.object({
  DISCORD_TOKEN: z
    .string({ error: 'is not set' })
    .trim()
    .min(1, 'is empty'),
  DISCORD_API_URL: z.url({ error: 'must be a URL such as https://discord.com/api' }).optional(),
  DISCORD_GUILD_ID: z
    .string()
    .trim()
    .regex(/^\d{17,20}$/, 'must be a server (guild) id: 17 to 20 digits')
    .optional(),
  DATABASE_URL: z
    .string()
    .trim()
    .default('file:./data/satbell')
    .refine((url) => /^(postgres(ql)?:\/\/|file:.+|memory:$)/.test(url), {
      message: 'must start with postgres:// (a server), file: (embedded, on disk) or be memory:',
    }),
  BLOCKCHAIN_INFO_URL: z.url({ error: 'must be a URL such as https://blockchain.info' }).default('https://blockchain.info'),
  EXPLORER_URL: z.url({ error: 'must be a URL such as https://mempool.space' }).default('https://mempool.space'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
});

export type Config = z.infer<typeof schema>;
type Env = Record<string, string | undefined>;

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

const HOW_TO_GET_A_TOKEN =
  'create an application at https://discord.com/developers/applications, open Bot → Reset Token, and put it in .env as DISCORD_TOKEN=…';

/** Parse the environment. Empty strings count as unset so `KEY=` in .env falls back to the default. */
export function loadConfig(env: Env = process.env, { requireToken = true } = {}): Config {
  const cleaned = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v.trim() !== ''));
  const parsed = (requireToken ? schema : schema.extend({ DISCORD_TOKEN: z.string().default('') })).safeParse(cleaned);
  if (parsed.success) return parsed.data;
  const lines = parsed.error.issues.map((issue) => {
    const key = String(issue.path[0] ?? '');
    if (key === 'DISCORD_TOKEN') return `DISCORD_TOKEN is not set: ${HOW_TO_GET_A_TOKEN}`;
    return `${key} ${issue.message}`;
  });
  throw new ConfigError(`Invalid configuration: ${lines.join('; ')}`);
}
