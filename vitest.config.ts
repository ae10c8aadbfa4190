import { availableParallelism } from 'node:os';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Spawn tests run the built CLI: refuse a dist/ older than src/ (test/setup/dist-fresh.ts).
    globalSetup: ['test/setup/dist-fresh.ts'],
    // Every core: vitest's default leaves one idle, which on a 2-core machine halves the speed.
    maxWorkers: availableParallelism(),
    // Tests check results, never time: the limit only stops a hang (a loaded 2-core machine
    // runs a full check of every layer in seconds, not the default 5).
    testTimeout: 60_000,
  },
});
