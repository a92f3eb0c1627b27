import 'dotenv/config';
import { type Bot, startBot } from './app.js';
import { ConfigError, loadConfig } from './config/index.js';
import { guardProcess } from './db/driver-fault.js';
import { chooseLogFormat } from './log-format.js';
import { configuredSecrets, createLogger } from './logger.js';
import { reportStartFailure } from './startup.js';

let config;
try {
  config = loadConfig();
} catch (err) {
  if (!(err instanceof ConfigError)) throw err;
  console.error(err.message);
  process.exit(1);
}

const secrets = configuredSecrets(config);
const logger = createLogger(config.LOG_LEVEL, { secrets, format: chooseLogFormat(config.LOG_FORMAT, process.stdout.isTTY) });
guardProcess(logger);
// A stop asked for while the bot is still starting (a service manager stopping it early) waits for
// the start to finish, then stops as usual: without a handler yet, SIGTERM would kill the process
// mid-open, and on PGlite that is as abrupt as kill -9.
let bot: Bot | undefined;
let stopAsked: string | undefined;
const shutdown = (signal: string) => {
  logger.info({ signal }, 'shutting down');
  if (!bot) {
    stopAsked = signal;
    // A start that hangs (say, Discord never answers) must not hold a stop up for ever.
    setTimeout(() => {
      logger.error('the start did not finish within 15 s of being asked to stop; exiting');
      process.exit(1);
    }, 15_000).unref();
    return;
  }
  bot.stop().then(
    () => process.exit(0),
    (err: unknown) => {
      logger.error({ err }, 'shutdown failed');
      process.exit(1);
    },
  );
};
process.once('SIGINT', shutdown);
process.once('SIGTERM', shutdown);
try {
  bot = await startBot(config, logger);
  if (stopAsked) shutdown(stopAsked);
} catch (err) {
  reportStartFailure(err, { logger, level: config.LOG_LEVEL, secrets });
  process.exit(1);
}
