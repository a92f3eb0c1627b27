import 'dotenv/config';
import { startBot } from './app.js';
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
  reportStartFailure(err, { logger, level: config.LOG_LEVEL, secrets });
  process.exit(1);
}
