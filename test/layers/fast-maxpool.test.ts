import { afterAll, describe, expect, it } from 'vitest';
import { maxpool, maxpoolBackwardFast, maxpoolForwardFast } from '../../src/layers/maxpool.js';
import { gradCheck } from '../../src/gradcheck/gradcheck.js';
import { DEFAULT_MIN_WORK_PER_THREAD, defaultThreads, setMinWorkPerThread, setThreads } from '../../src/kernels/parallel/pool.js';
import { XoshiroRng, randn } from '../../src/tensor/rng.js';
import { toDType, type DType, type Tensor } from '../../src/tensor/tensor.js';

interface Case {
  name: string;
  x: number[];
  pool_height: number;
  pool_width: number;
  stride: number;
}

const CASES: Case[] = [
  { name: 'tiling 2x2 stride 2', x: [2, 3, 8, 8], pool_height: 2, pool_width: 2, stride: 2 },
  { name: 'tiling 3x3 stride 3', x: [2, 2, 9, 12], pool_height: 3, pool_width: 3, stride: 3 },
  { name: 'tiling 1x1 stride 1', x: [1, 2, 3, 4], pool_height: 1, pool_width: 1, stride: 1 },
  { name: '2x2 stride 2 on odd sizes (general path, floor output)', x: [2, 3, 9, 7], pool_height: 2, pool_width: 2, stride: 2 },
  { name: 'overlapping 3x3 stride 2', x: [3, 2, 7, 7], pool_height: 3, pool_width: 3, stride: 2 },
  { name: 'rectangular 3x2 stride 1', x: [2, 2, 9, 10], pool_height: 3, pool_width: 2, stride: 1 },
  { name: 'stride larger than the window', x: [2, 1, 10, 10], pool_height: 2, pool_width: 2, stride: 3 },
  { name: 'window the size of the input', x: [2, 2, 5, 4], pool_height: 5, pool_width: 4, stride: 1 },
];

/**
 * Inputs drawn from a few integers, so windows hold ties, the same ties in float32 and float64
 * (small integers are exact in both): the tie rule, first maximum in row-major window order,
 * must give the naive pass's argmax exactly.
 */
function tiedInput(shape: number[], seed: number): Tensor {
  const rng = new XoshiroRng(seed);
  const t = randn(rng, shape);
  for (let i = 0; i < t.data.length; i++) t.data[i] = Math.floor(rng.uniform() * 4) - 2;
  return t;
}

afterAll(() => {
  setThreads(defaultThreads());
  setMinWorkPerThread(DEFAULT_MIN_WORK_PER_THREAD);
});

for (const threads of [1, 2]) {
  describe(`fast maxpool equals naive (${threads} thread${threads > 1 ? 's' : ''})`, () => {
    const setup = () => {
      setThreads(threads);
      setMinWorkPerThread(0);
    };
    CASES.forEach((c, k) => {
      for (const dtype of ['float64', 'float32'] as DType[]) {
        it(`${c.name}: x ${c.x} (${dtype})`, () => {
          setup();
          const params = { pool_height: c.pool_height, pool_width: c.pool_width, stride: c.stride };
          const x = tiedInput(c.x, 10 + k);
          const ref = maxpool.impls.naive.forward({ x }, params);
          const dout = randn(new XoshiroRng(20 + k), ref.out.shape);
          const refDx = maxpool.impls.naive.backward(dout, ref.cache).dx;

          const fwd = maxpoolForwardFast({ x: toDType(x, dtype) }, params);
          expect(fwd.out.shape).toEqual(ref.out.shape);
          expect(fwd.out.data).toBeInstanceOf(dtype === 'float32' ? Float32Array : Float64Array);
          expect(Array.from(fwd.out.data)).toEqual(Array.from(ref.out.data));
          expect(Array.from(fwd.switches!)).toEqual(Array.from(ref.switches!));

          const dx = maxpoolBackwardFast(toDType(dout, dtype), fwd.cache).dx;
          expect(dx.data).toBeInstanceOf(dtype === 'float32' ? Float32Array : Float64Array);
          const expected = dtype === 'float32' ? Array.from(toDType(refDx, 'float32').data) : Array.from(refDx.data);
          // float32: each dx element is a sum of at most ceil(pool/stride)^2 float32 values.
          const tol = dtype === 'float32' ? 1e-6 : 0;
          for (let i = 0; i < expected.length; i++) expect(Math.abs(dx.data[i] - expected[i])).toBeLessThanOrEqual(tol * (1 + Math.abs(expected[i])));
        });
      }
    });

    it('propagates the first NaN of a window and routes its gradient there, like naive', () => {
      setup();
      for (const c of [CASES[0], CASES[4]]) {
        const params = { pool_height: c.pool_height, pool_width: c.pool_width, stride: c.stride };
        const x = tiedInput(c.x, 5);
        x.data[1] = NaN;
        x.data[c.x[3] + 1] = NaN;
        const ref = maxpool.impls.naive.forward({ x }, params);
        const fwd = maxpoolForwardFast({ x }, params);
        expect(Array.from(fwd.switches!)).toEqual(Array.from(ref.switches!));
        expect(Array.from(fwd.out.data).map(String)).toEqual(Array.from(ref.out.data).map(String));
      }
    });

    it('passes the gradient check with the fast impl', () => {
      setup();
      for (const c of [CASES[0], CASES[4]]) {
        const x = randn(new XoshiroRng(31), c.x);
        const res = gradCheck(
          maxpool,
          maxpool.impls.fast!,
          { x },
          { pool_height: c.pool_height, pool_width: c.pool_width, stride: c.stride },
          {
            rng: new XoshiroRng(32),
          },
        );
        expect(res.problems).toEqual([]);
        for (const g of res.gradients) expect(g.pass, `${c.name} ${g.name} ${g.relError}`).toBe(true);
      }
    });
  });
}
