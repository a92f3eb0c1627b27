import { defineConfig } from 'vitest/config';

/**
 * `npm run test:faults`: misbehaving services, a failing database and hostile input, each through
 * the real bot and the loopback fakes. Kept apart from `npm test` because the cases are slow by
 * nature (storms, freezes, expiring nonce windows); `.ci/run` runs both.
 */
export default defineConfig({
  test: {
    include: ['test/faults/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 60_000,
    globalSetup: ['test/support/global-setup.ts'],
    setupFiles: ['test/support/setup-file.ts'],
    pool: 'forks',
  },
});
