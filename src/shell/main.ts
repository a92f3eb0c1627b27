import 'dotenv/config';
import { mkdirSync, openSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { pino } from 'pino';
import { ConfigError, type CoreConfig, loadConfig } from '../config/index.js';
import { type Core, openCore } from '../core.js';
import { redactUrl } from '../db/client.js';
import { guardProcess } from '../db/driver-fault.js';
import { LockedError } from '../db/lockfile.js';
import { commands } from '../discord/commands/index.js';
import { configuredSecrets, createLogger } from '../logger.js';
import { explainDataDirectoryFailure, reportStartFailure } from '../startup.js';
import { countUndelivered } from '../sync/notice-dispatcher.js';
import { createTerminalNoticeTransport } from './notices.js';
import { createShell, SHELL_CHANNEL_ID, SHELL_GUILD_ID } from './session.js';
import { createTerminal } from './terminal.js';

// `npm run shell`: the bot's core, commands and sync, with a prompt instead of Discord. stdout is
// the conversation. Logs never land on the prompt: they go to a file (see logFileFor), at `warn`
// unless LOG_LEVEL says otherwise, as readable lines unless LOG_FORMAT=json. stderr carries only
// the one line that says why the shell could not start or stopped.

let config: CoreConfig;
try {
  config = loadConfig(process.env, { requireToken: false, defaults: { LOG_LEVEL: 'warn', DATABASE_URL: 'file:./data/shell' } });
} catch (err) {
  if (!(err instanceof ConfigError)) throw err;
  console.error(err.message);
  process.exit(1);
}
const secrets = configuredSecrets(config);
const logFile = logFileFor(config.DATABASE_URL);
let logFd: number;
try {
  mkdirSync(dirname(resolve(logFile)), { recursive: true });
  logFd = openSync(logFile, 'a');
} catch (err) {
  const dataDirectory = config.DATABASE_URL.startsWith('file:') ? config.DATABASE_URL.slice('file:'.length) : dirname(logFile);
  console.error(explainDataDirectoryFailure(err, dataDirectory)?.message ?? `Cannot write the shell's log file ${logFile}: ${String(err)}`);
  process.exit(1);
}
const logger = createLogger(config.LOG_LEVEL, {
  destination: pino.destination({ dest: logFd, sync: true }),
  secrets,
  format: config.LOG_FORMAT ?? 'pretty',
});
guardProcess(logger);
// An exit on an error the log alone recorded (an uncaught exception) still says so where you type.
let explained = false;
process.once('exit', (code) => {
  if (code !== 0 && code !== 130 && !explained) process.stderr.write(`The shell stopped on an error; ${logFile} says what it was.\n`);
});

let core: Core;
try {
  core = await openCore(config, logger);
} catch (err) {
  explained = true;
  if (err instanceof LockedError) {
    console.error(
      `${err.message} The shell and the bot cannot share an embedded database at once: stop the bot, ` +
        'or give the shell its own, e.g. DATABASE_URL=memory: npm run shell',
    );
    process.exit(1);
  }
  reportStartFailure(err, { logger, level: config.LOG_LEVEL, secrets });
  process.exit(1);
}

const terminal = createTerminal({ input: process.stdin, output: process.stdout, commands });

let stopping: Promise<void> | undefined;
/** Stop syncing and delivering, close the database, exit. A second Ctrl-C does not wait. */
function stop(): Promise<void> {
  if (!stopping) {
    terminal.close();
    stopping = core.stop().then(
      () => process.exit(0),
      (err: unknown) => {
        logger.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  }
  return stopping;
}
const interrupt = () => {
  if (stopping) process.exit(130);
  void stop();
};
terminal.onInterrupt(interrupt);
process.on('SIGINT', interrupt);
process.on('SIGTERM', () => void stop());

// The shell's server needs a notice channel for notices to be written at all; keep one chosen before.
if (!(await core.ctx.settings.get(SHELL_GUILD_ID)).channelId) await core.ctx.settings.setChannel(SHELL_GUILD_ID, SHELL_CHANNEL_ID);
core.startBackground(createTerminalNoticeTransport(terminal.print, core.ctx.links), { guildId: SHELL_GUILD_ID });

const shell = createShell({
  commands,
  ctx: core.ctx,
  print: terminal.print,
  syncNow: core.syncNow,
  undelivered: () => countUndelivered(core.database.db, SHELL_GUILD_ID),
});

terminal.print(
  `satbell shell (${describeDatabase(config.DATABASE_URL)}); logs go to ${logFile}; notices print here as they happen. Type /help for the commands, exit to quit.`,
);
for await (const line of terminal.lines()) {
  if ((await shell.run(line)) === 'exit') break;
}
await stop();

/** Beside an embedded database (file:./data/shell → ./data/shell.log); for any other, under ./data, where the bot keeps its data. */
function logFileFor(url: string): string {
  return url.startsWith('file:') ? `${url.slice('file:'.length)}.log` : './data/shell.log';
}

function describeDatabase(url: string): string {
  if (url === 'memory:') return 'data in memory, gone on exit';
  return `data in ${url.startsWith('file:') ? url.slice('file:'.length) : redactUrl(url)}`;
}
