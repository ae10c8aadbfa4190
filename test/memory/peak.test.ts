/**
 * Estimates against the real peak: each case runs in its own Node process (peak.mjs), which
 * measures the resident memory the work added at its peak (VmHWM, Linux). The estimate must be an
 * upper bound, and not a loose one: at most MAX_OVERESTIMATE times the peak. Where a check stays
 * well below its estimate, the difference is mostly what a failure would need and a passing check
 * never allocates: the outputs a re-measurement holds (34 of them, memory/work.ts).
 * Sizes are modest (50-600 MB) and the cases run side by side, so this takes a few seconds.
 */
import { spawn } from 'node:child_process';
import { accessSync, constants, existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const script = fileURLToPath(new URL('./peak.mjs', import.meta.url));
/** The high-water mark can be reset only on Linux (clear_refs), where the peak is measured. */
const measurable = (() => {
  try {
    accessSync('/proc/self/clear_refs', constants.W_OK);
    return existsSync('/proc/self/status');
  } catch {
    return false;
  }
})();

/** Measured (Node 20, x86-64): 1.2-1.8x for a failing conv, the losses and exports, 2-2.5x for a passing conv, 3.1-3.4x for a passing relu or normalization. */
const MAX_OVERESTIMATE = 4;

interface Peak {
  estimate: number;
  peak: number;
  parts: { name: string; bytes: number }[];
}

function measure(job: object): Promise<Peak> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--expose-gc', script, JSON.stringify(job)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('close', (code) => (code === 0 ? resolve(JSON.parse(out) as Peak) : reject(new Error(`peak.mjs exited ${code}: ${err}`))));
  });
}

const CASES: [string, object][] = [
  [
    "a passing conv with a wide pad: threaded fast passes, the im2col columns in the kernels' scratch",
    { kind: 'check', layer: 'conv', shapes: { x: [2, 3, 5, 5] }, params: { pad: 150 } },
  ],
  [
    'a module whose backward is wrong: the comparison, its diagnosis, re-measured failures',
    { kind: 'check', layer: 'conv', shapes: { x: [4, 16, 32, 32], w: [16, 16, 3, 3] }, broken: true },
  ],
  ['a loss: a scalar output, so the garbage of evaluations is what grows', { kind: 'check', layer: 'svm_loss', shapes: { x: [2048, 1000] } }],
  ['an export', { kind: 'export', layer: 'relu', shapes: { x: [2000000] } }],
];

/** Cases measured at once: two, so they neither wait long nor crowd a loaded machine's memory. */
const CONCURRENCY = 2;

/** `f` over `items`, at most CONCURRENCY at a time; the promises in the items' order. */
function limited<T, R>(items: T[], f: (t: T) => Promise<R>): Promise<R>[] {
  const lanes: Promise<unknown>[] = Array.from({ length: CONCURRENCY }, () => Promise.resolve());
  return items.map((item, k) => {
    const p = lanes[k % CONCURRENCY].then(() => f(item));
    lanes[k % CONCURRENCY] = p.catch(() => undefined);
    return p;
  });
}

describe.skipIf(!measurable)('estimates bound the measured peak, within a factor', () => {
  const runs = new Map(limited(CASES, ([, job]) => measure(job)).map((p, k) => [CASES[k][0], p]));
  for (const p of runs.values()) p.catch(() => {});
  for (const [name] of CASES) {
    it(name, async () => {
      const r = await runs.get(name)!;
      const shown = `estimate ${(r.estimate / 2 ** 20).toFixed(1)} MiB, peak ${(r.peak / 2 ** 20).toFixed(1)} MiB (${r.parts
        .slice(0, 4)
        .map((p) => p.name)
        .join(', ')})`;
      expect(r.peak, shown).toBeGreaterThan(20 * 2 ** 20);
      expect(r.estimate, shown).toBeGreaterThanOrEqual(r.peak);
      expect(r.estimate, shown).toBeLessThanOrEqual(MAX_OVERESTIMATE * r.peak);
    }, 60_000);
  }
});
