import { describe, expect, it } from 'vitest';
import { attachSpeedups, caseKey, defaultBenchCases, runBench, type BenchCaseSpec, type BenchProgress, type BenchResult } from '../../src/bench/run.js';
import { conv, convFlops } from '../../src/layers/conv.js';
import { maxpool } from '../../src/layers/maxpool.js';
import { convGeometry } from '../../src/layers/geometry.js';
import { LAYERS } from '../../src/layers/registry.js';
import { resolveShapes } from '../../src/layers/params.js';
import { getThreads } from '../../src/kernels/parallel/pool.js';
import { ShapeError } from '../../src/errors.js';

const tinyConv: BenchCaseSpec = { layer: conv, shapes: { x: [3, 2, 6, 6], w: [2, 2, 3, 3] }, params: { stride: 1, pad: 1 } };
const tinyPool: BenchCaseSpec = { layer: maxpool, shapes: { x: [2, 2, 4, 4] }, params: { pool_height: 2, pool_width: 2, stride: 2 } };
const quick = { warmup: 0, repeat: 1, threads: 1, naiveBudgetSec: Infinity } as const;

describe('flop counts', () => {
  it('conv: forward 2*N*F*Hout*Wout*C*HH*WW, backward twice that', () => {
    const g = convGeometry([2, 3, 5, 5], [4, 3, 3, 3], 1, 1);
    expect(convFlops(g)).toEqual({ forward: 2 * 2 * 4 * 5 * 5 * 3 * 3 * 3, backward: 4 * 2 * 4 * 5 * 5 * 3 * 3 * 3 });
    expect(conv.flops!({ x: [2, 3, 5, 5], w: [4, 3, 3, 3], b: [4] }, { stride: 1, pad: 1 })).toEqual(convFlops(g));
  });

  it('maxpool defines none (comparisons are not flops)', () => {
    expect(maxpool.flops).toBeUndefined();
  });
});

describe('default benchmark cases', () => {
  it('conv: the cs231n fast-layers shape and a mid-size layer', () => {
    const cases = defaultBenchCases(conv);
    expect(cases.map((c) => [c.shapes, c.params])).toEqual([
      [
        { x: [100, 3, 31, 31], w: [25, 3, 3, 3] },
        { stride: 2, pad: 1 },
      ],
      [
        { x: [32, 64, 32, 32], w: [64, 64, 3, 3] },
        { stride: 1, pad: 1 },
      ],
    ]);
    expect(defaultBenchCases(maxpool)[0].shapes).toEqual({ x: [100, 3, 32, 32] });
  });

  it('every registered layer has at least one case that passes its own check', () => {
    for (const layer of LAYERS) {
      const cases = defaultBenchCases(layer);
      expect(cases.length, layer.name).toBeGreaterThan(0);
      for (const c of cases) expect(() => layer.check(resolveShapes(layer, c.shapes, c.params), c.params)).not.toThrow();
    }
  });
});

describe('runBench', () => {
  it('returns one record per case, dtype and impl, with stats, GFLOP/s and speedups', () => {
    const progress: BenchProgress[] = [];
    const report = runBench([tinyConv, tinyPool], { ...quick, dtypes: ['float64', 'float32'], impls: ['naive', 'fast'], onProgress: (p) => progress.push(p) });
    expect(report.results.map((r) => `${r.layer} ${r.dtype} ${r.impl}`)).toEqual([
      'conv float64 naive',
      'conv float64 fast',
      'conv float32 naive',
      'conv float32 fast',
      'maxpool float64 naive',
      'maxpool float64 fast',
      'maxpool float32 naive',
      'maxpool float32 fast',
    ]);
    for (const r of report.results) {
      expect(r.forwardMs.samples).toBe(1);
      expect(r.forwardMs.min).toBeLessThanOrEqual(r.forwardMs.median);
      expect(r.backwardMs.max).toBeGreaterThanOrEqual(r.backwardMs.median);
      expect(r.threads).toBe(1);
      expect(r.estimatedFrom).toBeUndefined();
      if (r.layer === 'conv') {
        expect(r.gflops!.forward).toBeCloseTo(convFlops(convGeometry([3, 2, 6, 6], [2, 2, 3, 3], 1, 1)).forward / r.forwardMs.median / 1e6, 6);
        expect(r.shapes).toEqual({ x: [3, 2, 6, 6], w: [2, 2, 3, 3], b: [2] });
      } else expect(r.gflops).toBeNull();
      if (r.impl === 'fast') expect(r.speedup).toBeGreaterThan(0);
      else expect(r.speedup).toBeUndefined();
    }
    expect(progress.map((p) => p.index)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(progress.every((p) => p.total === 8 && p.phase === 'time')).toBe(true);
    expect(report.machine.cores).toBeGreaterThan(0);
  });

  it('estimates a naive run over budget from a smaller batch, and restores the thread setting', () => {
    const before = getThreads();
    const progress: BenchProgress[] = [];
    const report = runBench([tinyConv], {
      ...quick,
      threads: 2,
      naiveBudgetSec: 1e-9,
      dtypes: ['float64'],
      impls: ['naive', 'fast'],
      onProgress: (p) => progress.push(p),
    });
    const [naive, fast] = report.results;
    expect(naive.estimatedFrom).toEqual({ batch: 1 });
    expect(naive.shapes.x).toEqual([3, 2, 6, 6]); // reported at the full batch
    expect(fast.estimatedFrom).toBeUndefined();
    expect(fast.threads).toBe(2);
    expect(progress.map((p) => p.phase)).toEqual(['probe', 'time', 'time']);
    expect(getThreads()).toBe(before);
  });

  it('notes layers without the requested implementation', () => {
    const noFast = { ...conv, name: 'slow_conv', impls: { naive: conv.impls.naive } };
    const report = runBench([{ ...tinyConv, layer: noFast }], { ...quick, dtypes: ['float64'], impls: ['naive', 'fast'] });
    expect(report.results.map((r) => r.impl)).toEqual(['naive']);
    expect(report.notes).toEqual(['slow_conv: no fast implementation']);
  });

  it('validates every case before timing any', () => {
    const bad: BenchCaseSpec = { layer: conv, shapes: { x: [1, 3, 4, 4], w: [2, 5, 3, 3] }, params: { stride: 1, pad: 0 } };
    const progress: BenchProgress[] = [];
    expect(() => runBench([tinyConv, bad], { ...quick, dtypes: ['float64'], impls: ['naive'], onProgress: (p) => progress.push(p) })).toThrow(ShapeError);
    expect(progress).toEqual([]);
  });
});

describe('speedups', () => {
  const row = (impl: 'naive' | 'fast', fwd: number, bwd: number, dtype: 'float64' | 'float32' = 'float64'): BenchResult => ({
    layer: 'conv',
    impl,
    dtype,
    threads: 1,
    shapes: { x: [1] },
    params: { stride: 1 },
    forwardMs: { median: fwd, min: fwd, max: fwd, samples: 1 },
    backwardMs: { median: bwd, min: bwd, max: bwd, samples: 1 },
    gflops: null,
  });

  it('is naive (forward + backward) over fast (forward + backward), within the same case and dtype', () => {
    const rows = [row('naive', 30, 70), row('fast', 1, 3), row('fast', 1, 1, 'float32')];
    attachSpeedups(rows);
    expect(rows[1].speedup).toBe(25);
    expect(rows[2].speedup).toBeUndefined();
    expect(caseKey({ ...rows[0], params: { b: 1, a: 2 } })).toBe(caseKey({ ...rows[0], params: { a: 2, b: 1 } }));
  });
});
