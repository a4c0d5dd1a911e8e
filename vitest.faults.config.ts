import { defineConfig } from 'vitest/config';

/**
 * The slow reliability suite (`npm run test:faults`): database, process and network faults, a
 * minute of mixed load, two replicas. Kept out of `npm test`; `.ci/run` runs it on PostgreSQL
 * after the suites. Files run one at a time: several stop servers or load the machine.
 */
export default defineConfig({
  test: {
    name: 'faults',
    include: ['test/faults/**/*.test.ts'],
    environment: 'node',
    globalSetup: ['test/support/global-setup.ts'],
    fileParallelism: false,
    testTimeout: 180_000,
    hookTimeout: 120_000,
  },
});
