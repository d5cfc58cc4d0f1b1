import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/env/global-setup.ts'],
    testTimeout: 120_000,
    hookTimeout: 300_000,
    pool: 'forks',
    // each integration file runs its own moto and operator; two at a time fit two cores
    maxWorkers: 2,
    reporters: ['default'],
  },
});
