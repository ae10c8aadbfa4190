import { execFileSync } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { delimiter, dirname } from 'node:path';
import { defineConfig } from 'vitest/config';

/**
 * The PATH of the tests: the directory of the python3 this PATH resolves put first. The same
 * interpreter, reached directly: where python3 is a version manager's shim (pyenv's is a bash
 * script that runs several more), each start costs ~60 ms of CPU before Python does anything,
 * and the suite starts Python ~160 times (measured: 6% of its CPU).
 */
function testPath(): string {
  const path = process.env.PATH ?? '';
  try {
    const python = execFileSync('python3', ['-c', 'import sys; print(sys.executable)'], { encoding: 'utf8', timeout: 30_000 }).trim();
    return python ? `${dirname(python)}${delimiter}${path}` : path;
  } catch {
    return path; // no python3: the tests that need it say so
  }
}

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
    // No V8 background threads in the test workers (compilation and garbage collection run on the
    // main thread): two workers already keep both cores busy, and background work competes with
    // them. Measured here: the suite's CPU time 109 s -> 100 s, its wall time 62 s -> 57 s.
    execArgv: ['--single-threaded'],
    // numpy's BLAS threads busy-wait between calls (2% of the suite's CPU, measured with perf):
    // the tests' arrays are small and two test workers already share the cores.
    env: { OPENBLAS_NUM_THREADS: '1', PATH: testPath() },
    // Tests check results, never time: the limit only stops a hang (a loaded 2-core machine
    // runs a full check of every layer in seconds, not the default 5).
    testTimeout: 60_000,
  },
});
