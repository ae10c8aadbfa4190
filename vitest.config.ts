import { availableParallelism } from 'node:os';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Spawn tests run the built CLI: refuse a dist/ older than src/ (test/setup/dist-fresh.ts).
    globalSetup: ['test/setup/dist-fresh.ts'],
    // Every core: vitest's default leaves one idle, which on a 2-core machine halves the speed.
    maxWorkers: availableParallelism(),
    // One module graph per worker, not per file: the files share no mutable module state (no
    // mocks, no chdir, no env writes), and re-importing the sources for each of ~80 files cost
    // ~15 s of a ~115 s run.
    isolate: false,
    // Tests check results, never time: the limit only stops a hang (a loaded 2-core machine
    // runs a full check of every layer in seconds, not the default 5).
    testTimeout: 60_000,
  },
});
