import { defineConfig } from 'vitest/config';
import { LongFilesFirst } from './test/support/sequencer.js';

export default defineConfig({
  test: {
    // The fault suite has its own script and config (vitest.faults.config.ts).
    exclude: ['test/faults/**', '**/node_modules/**'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // As npm start runs the bot: V8's optimising recompile of PGlite's WebAssembly, in threads of
    // its own, cost more CPU than it saved in files this short (test/db and test/e2e: about 12% less).
    execArgv: ['--liftoff-only'],
    // More files at a time than the machine has cores: most of an end-to-end file's time is spent
    // waiting on bot processes, timers and sockets, and the unit and database files fill the gaps.
    maxWorkers: 4,
    sequence: { sequencer: LongFilesFirst },
    projects: [
      // No database, no processes: `npm run test:unit` runs these alone.
      { extends: true, test: { name: 'unit', include: ['test/unit/**/*.test.ts'] } },
      {
        extends: true,
        test: {
          name: 'db+e2e',
          include: ['test/db/**/*.test.ts', 'test/e2e/**/*.test.ts'],
          // Each file gets its own database, cloned from one migrated once for the run.
          globalSetup: ['test/support/global-setup.ts'],
          setupFiles: ['test/support/setup-file.ts'],
        },
      },
    ],
  },
});
