/**
 * The shared-memory WASM kernels (src/kernels/wasm/shared/): 2x2 max-pooling and the plane-wise
 * norms of spatial batchnorm and group norm, against the naive layers, on one and two threads
 * (planes split across them), both WASM builds, float64 and float32, with shapes whose rows and
 * planes end in the kernels' scalar tails.
 *
 * Max-pooling is exact (comparisons only): values and argmax must equal the naive pass's, ties and
 * NaN included. The norms use the tolerances the layer tests established for the fast passes
 * (test/layers/spatial-batchnorm.test.ts: 1e-12 in float64, 2e-6 in float32, relative to the
 * largest reference value).
 */
import { afterAll, describe, expect, it } from 'vitest';
import { maxpool, maxpoolBackwardFast, maxpoolForwardFast } from '../../src/layers/maxpool.js';
import { spatialBatchnorm } from '../../src/layers/spatial-batchnorm.js';
import { spatialGroupnorm } from '../../src/layers/spatial-groupnorm.js';
import { setWasmVariant, type WasmVariant } from '../../src/kernels/wasm/load.js';
import { clearKernelNotes, kernelNotes } from '../../src/kernels/provenance.js';
import { DEFAULT_MIN_WORK_PER_THREAD, defaultThreads, setMinWorkPerThread, setThreads } from '../../src/kernels/parallel/pool.js';
import { XoshiroRng, randn } from '../../src/tensor/rng.js';
import { toDType, type DType, type Tensor } from '../../src/tensor/tensor.js';
import { normRel } from '../helpers/tensors.js';

const RUNS: Array<{ threads: number; variant: WasmVariant | 'auto' }> = [
  { threads: 1, variant: 'relaxed' },
  { threads: 1, variant: 'simd128' },
  { threads: 2, variant: 'auto' },
];
const DTYPES: DType[] = ['float64', 'float32'];

afterAll(() => {
  setThreads(defaultThreads());
  setMinWorkPerThread(DEFAULT_MIN_WORK_PER_THREAD);
  setWasmVariant('auto');
});

function setup(threads: number, variant: WasmVariant | 'auto'): void {
  setThreads(threads);
  setMinWorkPerThread(0);
  setWasmVariant(variant);
}

/** Values from a few integers (ties in every window), with NaN sprinkled in when asked. */
function tied(shape: number[], seed: number, nans: boolean): Tensor {
  const rng = new XoshiroRng(seed);
  const t = randn(rng, shape);
  for (let i = 0; i < t.data.length; i++) t.data[i] = nans && rng.uniform() < 0.05 ? NaN : Math.floor(rng.uniform() * 4) - 2;
  return t;
}

const POOL_SHAPES = [
  [2, 3, 8, 8], // full vectors
  [3, 2, 6, 10], // 5 windows a row: a vector and a tail in float32, two and a tail in float64
  [1, 1, 2, 2], // one window
  [5, 3, 4, 18], // planes split unevenly over two threads
];

for (const { threads, variant } of RUNS) {
  describe(`2x2 max-pooling kernel equals naive (${threads} thread${threads > 1 ? 's' : ''}, ${variant})`, () => {
    POOL_SHAPES.forEach((shape, k) => {
      for (const dtype of DTYPES) {
        for (const nans of [false, true]) {
          it(`x ${shape} ${dtype}${nans ? ' with NaN' : ''}: same values, same argmax, same dx`, () => {
            setup(threads, variant);
            const params = { pool_height: 2, pool_width: 2, stride: 2 };
            const x = tied(shape, 40 + k, nans);
            const ref = maxpool.impls.naive.forward({ x }, params);
            clearKernelNotes();
            const fwd = maxpoolForwardFast({ x: toDType(x, dtype) }, params);
            expect(kernelNotes()).toContain('wasm 2x2');
            expect(Array.from(fwd.switches!)).toEqual(Array.from(ref.switches!));
            expect(Array.from(fwd.out.data)).toEqual(Array.from(toDType(ref.out, dtype).data));
            const dout = randn(new XoshiroRng(50 + k), ref.out.shape);
            const dx = maxpoolBackwardFast(toDType(dout, dtype), fwd.cache).dx;
            const refDx = maxpool.impls.naive.backward(dout, ref.cache).dx;
            expect(normRel(dx.data, refDx.data)).toBeLessThan(dtype === 'float32' ? 1e-7 : 1e-15);
          });
        }
      }
    });
  });
}

interface NormCase {
  x: number[];
  G?: number;
}

const NORM_SHAPES: NormCase[] = [
  { x: [4, 6, 8, 8], G: 3 }, // planes of 64: vector loops only
  { x: [3, 4, 3, 5], G: 2 }, // planes of 15: scalar tails
  { x: [1, 8, 5, 7], G: 8 }, // N = 1; G = C (instance norm)
  { x: [5, 2, 4, 4], G: 1 }, // G = 1 (layer norm over C, H, W)
];

function normInputs(shape: number[], seed: number, gammaShape: number[], shift: number): Record<string, Tensor> {
  const rng = new XoshiroRng(seed);
  const x = randn(rng, shape);
  // NOTE: a mean far from 0 against a unit spread exercises the shifted sums and the centred coefficients.
  for (let i = 0; i < x.data.length; i++) x.data[i] = x.data[i] + shift;
  const C = shape[1];
  return {
    x,
    gamma: randn(rng, gammaShape),
    beta: randn(rng, gammaShape),
    running_mean: randn(rng, [C]),
    running_var: { data: Float64Array.from({ length: C }, () => 0.5 + rng.uniform()), shape: [C] },
  };
}

for (const { threads, variant } of RUNS) {
  describe(`plane-wise norm kernels equal naive (${threads} thread${threads > 1 ? 's' : ''}, ${variant})`, () => {
    NORM_SHAPES.forEach((c, k) => {
      for (const dtype of DTYPES) {
        const tol = dtype === 'float32' ? 2e-6 : 1e-12;
        for (const mode of ['train', 'test'] as const) {
          it(`spatial batchnorm x ${c.x} ${mode} ${dtype}`, () => {
            setup(threads, variant);
            const inputs = normInputs(c.x, 60 + k, [c.x[1]], 3);
            const params = { mode, eps: 1e-5, momentum: 0.9 };
            const rounded =
              dtype === 'float32' ? Object.fromEntries(Object.entries(inputs).map(([n, t]) => [n, toDType(toDType(t, 'float32'), 'float64')])) : inputs;
            const ref = spatialBatchnorm.impls.naive.forward(rounded, params);
            const dout = randn(new XoshiroRng(70 + k), c.x);
            const doutR = dtype === 'float32' ? toDType(toDType(dout, 'float32'), 'float64') : dout;
            const refG = spatialBatchnorm.impls.naive.backward(doutR, ref.cache);
            clearKernelNotes();
            const fwd = spatialBatchnorm.impls.fast!.forward(Object.fromEntries(Object.entries(inputs).map(([n, t]) => [n, toDType(t, dtype)])), params);
            expect(kernelNotes()).toContain('wasm planes');
            expect(normRel(fwd.out.data, ref.out.data)).toBeLessThan(tol);
            for (const s of ['running_mean', 'running_var']) expect(normRel(fwd.state![s].data, ref.state![s].data), s).toBeLessThan(tol);
            const g = spatialBatchnorm.impls.fast!.backward(toDType(dout, dtype), fwd.cache);
            for (const name of ['dx', 'dgamma', 'dbeta']) expect(normRel(g[name].data, refG[name].data), name).toBeLessThan(tol);
          });
        }
        it(`spatial group norm x ${c.x} G ${c.G} ${dtype}`, () => {
          setup(threads, variant);
          const inputs = normInputs(c.x, 80 + k, [1, c.x[1], 1, 1], 3);
          delete inputs.running_mean;
          delete inputs.running_var;
          const params = { G: c.G!, eps: 1e-5 };
          const rounded =
            dtype === 'float32' ? Object.fromEntries(Object.entries(inputs).map(([n, t]) => [n, toDType(toDType(t, 'float32'), 'float64')])) : inputs;
          const ref = spatialGroupnorm.impls.naive.forward(rounded, params);
          const dout = randn(new XoshiroRng(90 + k), c.x);
          const doutR = dtype === 'float32' ? toDType(toDType(dout, 'float32'), 'float64') : dout;
          const refG = spatialGroupnorm.impls.naive.backward(doutR, ref.cache);
          clearKernelNotes();
          const fwd = spatialGroupnorm.impls.fast!.forward(Object.fromEntries(Object.entries(inputs).map(([n, t]) => [n, toDType(t, dtype)])), params);
          expect(kernelNotes()).toContain('wasm planes');
          expect(normRel(fwd.out.data, ref.out.data)).toBeLessThan(tol);
          const g = spatialGroupnorm.impls.fast!.backward(toDType(dout, dtype), fwd.cache);
          for (const name of ['dx', 'dgamma', 'dbeta']) expect(normRel(g[name].data, refG[name].data), name).toBeLessThan(tol);
        });
      }
    });
  });
}
