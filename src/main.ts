import 'dotenv/config';
import { startBot } from './app.js';
import { ConfigError, loadConfig } from './config/index.js';
import { guardProcess } from './db/driver-fault.js';
import { LockedError } from './db/lockfile.js';
import { createLogger } from './logger.js';

let config;
try {
  config = loadConfig();
} catch (err) {
  if (!(err instanceof ConfigError)) throw err;
  console.error(err.message);
  process.exit(1);
}

const logger = createLogger(config.LOG_LEVEL);
guardProcess(logger);
try {
  const bot = await startBot(config, logger);
  const shutdown = (signal: string) => {
    logger.info({ signal }, 'shutting down');
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
} catch (err) {
  if (err instanceof LockedError) console.error(err.message);
  else logger.fatal({ err }, 'could not start');
  process.exit(1);
}
