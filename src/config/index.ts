import { z } from 'zod';
import { NETWORKS } from '../chain/address.js';
import { PROVIDER_KINDS, type ProviderKind } from '../chain/providers/index.js';
import { type ElectrumServerAddress, parseElectrumServer } from '../chain/electrum/socket.js';
import { CRON_HINT, cronProblems } from './cron.js';

/** The sync's default schedule: every 5 minutes when it is all there is. */
export const POLLING_SYNC_CRON = '*/5 * * * *';
/** With an Electrum server pushing changes, the sync only reconciles: every 30 minutes is enough. */
export const RECONCILING_SYNC_CRON = '*/30 * * * *';

/**
 * Every setting satbell reads, parsed once at start. A bad value fails here with the variable's
 * name, never later in the middle of a command.
 */
const schema = z.object({
  // Optional here: the bot requires it (see loadConfig), the terminal shell runs without one.
  DISCORD_TOKEN: z.string().trim().min(1, 'is empty').optional(),
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
  NETWORK: z.enum(NETWORKS, { error: `must be one of ${NETWORKS.join(', ')}` }).default('mainnet'),
  CHAIN_PROVIDERS: z
    .string()
    .trim()
    .transform((text) => text.split(',').map((p) => p.trim()).filter(Boolean))
    .pipe(
      z
        .array(z.enum(PROVIDER_KINDS, { error: `lists providers from: ${PROVIDER_KINDS.join(', ')}` }))
        .min(1, `lists at least one of: ${PROVIDER_KINDS.join(', ')}`),
    )
    .optional(),
  ESPLORA_URL: z.url({ error: 'must be a URL such as https://mempool.space/api' }).optional(),
  BLOCKCHAIN_INFO_URL: z.url({ error: 'must be a URL such as https://blockchain.info' }).default('https://blockchain.info'),
  ESPLORA_RPS: rate('4'),
  BLOCKCHAIN_INFO_RPS: rate('0.1'),
  MAX_ADDRESSES_PER_GUILD: z
    .string()
    .trim()
    .default('500')
    .refine((text) => /^\d+$/.test(text) && Number(text) >= 1 && Number(text) <= 1_000_000, {
      message: 'must be a whole number of addresses from 1 to 1000000',
    })
    .transform(Number),
  EXPLORER_URL: z.url({ error: 'must be a URL such as https://mempool.space' }).default('https://mempool.space'),
  // Unset: a default that depends on ELECTRUM_SERVERS (see withChain).
  SYNC_CRON: z
    .string()
    .trim()
    .optional()
    .superRefine((expr, ctx) => {
      if (expr === undefined) return;
      const problems = cronProblems(expr);
      if (problems.length) ctx.addIssue({ code: 'custom', message: `must be a cron expression (${problems.join('; ')}): use ${CRON_HINT}` });
    }),
  ELECTRUM_SERVERS: z
    .string()
    .trim()
    .transform((text, ctx): ElectrumServerAddress[] => {
      const servers: ElectrumServerAddress[] = [];
      const items = text.split(',').map((s) => s.trim()).filter(Boolean);
      for (const item of items) {
        try {
          servers.push(parseElectrumServer(item));
        } catch {
          ctx.addIssue({ code: 'custom', message: `has "${item}", which is not tcp://host:port or ssl://host:port (e.g. ssl://electrum.local:50002)` });
        }
      }
      if (!items.length) ctx.addIssue({ code: 'custom', message: 'lists no server: use e.g. ssl://electrum.local:50002' });
      return servers;
    })
    .optional(),
  ELECTRUM_TLS_INSECURE: z
    .enum(['true', 'false'], { error: 'must be true or false' })
    .default('false')
    .transform((text) => text === 'true'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  // Unset: readable lines on a terminal, JSON elsewhere (src/log-format.ts chooses).
  LOG_FORMAT: z.enum(['json', 'pretty'], { error: 'must be json or pretty (unset: readable on a terminal, JSON otherwise)' }).optional(),
});

/** Requests per second: a positive number, or `unlimited` (a self-hosted service). */
function rate(fallback: string) {
  return z
    .string()
    .trim()
    .default(fallback)
    .transform((text) => (text === 'unlimited' ? Infinity : Number(text)))
    .refine((n) => n > 0, { message: "must be a positive number of requests per second, or 'unlimited'" });
}

/** Public services each network has. Blockchain.com serves mainnet only; regtest has no public service. */
const ESPLORA_DEFAULTS: Record<string, string | undefined> = {
  mainnet: 'https://mempool.space/api',
  testnet: 'https://mempool.space/testnet/api',
  signet: 'https://mempool.space/signet/api',
};

/**
 * Fewest calls on public services first: Blockchain.com answers 50 balances per call where Esplora
 * needs one call per address, so it leads on mainnet and Esplora stands by.
 */
const DEFAULT_PROVIDERS: Record<string, ProviderKind[]> = {
  mainnet: ['blockchain-info', 'esplora'],
  testnet: ['esplora'],
  signet: ['esplora'],
  regtest: ['esplora'],
};

const withChain = schema.transform((c, ctx) => {
  const providers = c.CHAIN_PROVIDERS ?? DEFAULT_PROVIDERS[c.NETWORK]!;
  if (c.NETWORK !== 'mainnet' && providers.includes('blockchain-info')) {
    ctx.addIssue({ code: 'custom', path: ['CHAIN_PROVIDERS'], message: `cannot include blockchain-info: it serves mainnet only, and NETWORK is ${c.NETWORK}` });
  }
  const esploraUrl = c.ESPLORA_URL ?? ESPLORA_DEFAULTS[c.NETWORK];
  if (!esploraUrl && providers.includes('esplora')) {
    ctx.addIssue({ code: 'custom', path: ['ESPLORA_URL'], message: `must be set on ${c.NETWORK}: there is no public Esplora for it (e.g. http://127.0.0.1:3002)` });
  }
  const electrumServers = c.ELECTRUM_SERVERS ?? [];
  const syncCron = c.SYNC_CRON ?? (electrumServers.length ? RECONCILING_SYNC_CRON : POLLING_SYNC_CRON);
  return { ...c, CHAIN_PROVIDERS: providers, ESPLORA_URL: esploraUrl ?? '', ELECTRUM_SERVERS: electrumServers, SYNC_CRON: syncCron };
});

/** Every setting but the token: what the core and the terminal shell run on. */
export type CoreConfig = z.output<typeof withChain>;
/** The Discord bot's settings: a token is required. */
export type Config = CoreConfig & { DISCORD_TOKEN: string };
type Env = Record<string, string | undefined>;

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

const HOW_TO_GET_A_TOKEN =
  'create an application at https://discord.com/developers/applications, open Bot → Reset Token, and put it in .env as DISCORD_TOKEN=…';

interface LoadOptions {
  /** The bot needs DISCORD_TOKEN; `npm run shell` passes false. */
  requireToken?: boolean;
  /** Defaults of this front end's own, for variables the environment leaves unset. */
  defaults?: Env;
}

/** Parse the environment. Empty strings count as unset so `KEY=` in .env falls back to the default. */
export function loadConfig(env?: Env, options?: LoadOptions & { requireToken?: true }): Config;
export function loadConfig(env: Env | undefined, options: LoadOptions & { requireToken: false }): CoreConfig;
export function loadConfig(env: Env = process.env, { requireToken = true, defaults = {} }: LoadOptions = {}): CoreConfig {
  const set = (vars: Env) => Object.entries(vars).filter(([, v]) => v !== undefined && v.trim() !== '');
  const cleaned = Object.fromEntries([...set(defaults), ...set(env)]);
  const parsed = withChain.safeParse(cleaned);
  const lines = parsed.success ? [] : parsed.error.issues.map((issue) => `${String(issue.path[0] ?? '')} ${issue.message}`);
  if (requireToken && cleaned.DISCORD_TOKEN === undefined) lines.unshift(`DISCORD_TOKEN is not set: ${HOW_TO_GET_A_TOKEN}`);
  if (!parsed.success || lines.length) throw new ConfigError(`Invalid configuration: ${lines.join('; ')}`);
  return parsed.data;
}
