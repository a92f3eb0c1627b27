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
    // its own, cost more CPU than it saved in files this short (test/db and test/e2e: 12% less
    // without it).
    execArgv: ['--liftoff-only'],
    // A worker runs file after file in one module graph rather than loading discord.js, PGlite and
    // src/ afresh for each (unit tests: 13.5 against 6.8 CPU-s; npm test: 186 against 149). What
    // keeps files apart still holds: setup files run again before each file (so every file gets the
    // run's migrated database), no file mocks modules, the files that fake timers or spy on console
    // restore them after each test, and each file closes its bots, fakes and databases in its own
    // hooks.
    isolate: false,
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
