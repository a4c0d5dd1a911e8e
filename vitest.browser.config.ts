import { defineConfig } from 'vitest/config';

/**
 * The browser test of the operator console (`npm run test:browser`): Debian's chromium driven by
 * playwright-core. Kept out of `npm test`, which needs no browser; `.ci/run` runs it after the
 * suites.
 */
export default defineConfig({
  test: {
    name: 'browser',
    include: ['test/browser/**/*.test.ts'],
    environment: 'node',
    globalSetup: ['test/support/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
  },
});
