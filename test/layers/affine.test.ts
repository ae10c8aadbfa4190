import { describe, expect, it } from 'vitest';
import { affine } from '../../src/layers/affine.js';
import { checkLayer } from '../../src/gradcheck/check-layer.js';
import { gradCheck } from '../../src/gradcheck/gradcheck.js';
import type { LayerImpl } from '../../src/layers/types.js';
import { XoshiroRng, randn } from '../../src/tensor/rng.js';
import { clone, toDType } from '../../src/tensor/tensor.js';
import { ShapeError } from '../../src/errors.js';
import { normRel, t as T } from '../helpers/tensors.js';

const CASES: { name: string; x: number[]; w: number[] }[] = [
  { name: 'defaults x (10,2,3), w (6,5)', x: [10, 2, 3], w: [6, 5] },
  { name: 'plain matrix x (3,7), w (7,4)', x: [3, 7], w: [7, 4] },
  { name: 'cs231n x (2,4,5,6), w (120,3)', x: [2, 4, 5, 6], w: [120, 3] },
  { name: 'one sample, one output x (1,5), w (5,1)', x: [1, 5], w: [5, 1] },
];

describe('affine gradient check', () => {
  for (const c of CASES) {
    for (const seed of [1, 231]) {
      it(`${c.name}, seed ${seed}: naive and fast pass`, () => {
        const report = checkLayer(affine, { params: {}, shapes: { x: c.x, w: c.w }, seed, repeat: 0 });
        expect(report.gradients.map((g) => `${g.impl}.${g.name}`)).toEqual(['naive.dx', 'naive.dw', 'naive.db', 'fast.dx', 'fast.dw', 'fast.db']);
        for (const g of report.gradients) expect(g.relError, `${g.impl}.${g.name}`).toBeLessThan(affine.tolerance.grad);
        expect(report.pass).toBe(true);
      });
    }
  }

  it('a backward returning dw transposed (square w, so the shape still fits) fails on dw only', () => {
    const broken: LayerImpl = {
      forward: affine.impls.naive.forward,
      backward(dout, cache) {
        const g = affine.impls.naive.backward(dout, cache);
        const [D] = g.dw.shape;
        const dwT = new Float64Array(D * D);
        for (let d = 0; d < D; d++) for (let m = 0; m < D; m++) dwT[d * D + m] = g.dw.data[m * D + d];
        return { ...g, dw: { data: dwT, shape: [D, D] } };
      },
    };
    const rng = new XoshiroRng(3);
    const inputs = { x: randn(rng, [4, 3]), w: randn(rng, [3, 3]), b: randn(rng, [3]) };
    const res = gradCheck(affine, broken, inputs, {}, { rng });
    expect(res.gradients.find((g) => g.name === 'dw')!.pass).toBe(false);
    expect(res.gradients.find((g) => g.name === 'dx')!.pass).toBe(true);
  });
});

describe('affine known answers', () => {
  it("forward and backward by hand, x (2,1,3) flattened per sample, dx in x's shape", () => {
    const inputs = {
      x: T([1, 2, 3, 4, 5, 6], [2, 1, 3]),
      w: T([1, 0, 0, 1, 1, 1], [3, 2]),
      b: T([0.5, -1], [2]),
    };
    for (const impl of [affine.impls.naive, affine.impls.fast!]) {
      const res = impl.forward(inputs, {});
      expect(res.out.shape).toEqual([2, 2]);
      expect(Array.from(res.out.data)).toEqual([4.5, 4, 10.5, 10]);
      const g = impl.backward(T([1, 0, 0, 1], [2, 2]), res.cache);
      expect(g.dx.shape).toEqual([2, 1, 3]);
      expect(Array.from(g.dx.data)).toEqual([1, 0, 1, 0, 1, 1]); // dout @ w.T
      expect(Array.from(g.dw.data)).toEqual([1, 4, 2, 5, 3, 6]); // x.T @ dout
      expect(Array.from(g.db.data)).toEqual([1, 1]);
    }
  });
});

describe('affine fast equals naive', () => {
  for (const c of CASES) {
    it(`float64 ${c.name} to 1e-12, inputs untouched`, () => {
      const rng = new XoshiroRng(4);
      const inputs = { x: randn(rng, c.x), w: randn(rng, c.w), b: randn(rng, [c.w[1]]) };
      const before = Object.fromEntries(Object.entries(inputs).map(([k, t]) => [k, clone(t)]));
      const n = affine.impls.naive.forward(inputs, {});
      const f = affine.impls.fast!.forward(inputs, {});
      expect(normRel(f.out.data, n.out.data)).toBeLessThan(1e-12);
      const dout = randn(rng, n.out.shape);
      const gn = affine.impls.naive.backward(dout, n.cache);
      const gf = affine.impls.fast!.backward(dout, f.cache);
      for (const k of ['dx', 'dw', 'db']) {
        expect(gf[k].shape).toEqual(gn[k].shape);
        expect(normRel(gf[k].data, gn[k].data), k).toBeLessThan(1e-12);
      }
      for (const k of Object.keys(inputs)) expect(inputs[k as keyof typeof inputs].data).toEqual(before[k].data);
    });

    it(`float32 ${c.name} within 2e-6 of float64 naive`, () => {
      // Sums run in float64 and are rounded to float32 once: 2^-24 ~ 6e-8 relative to the result,
      // measured <= 6e-8 normwise; 2e-6 is the tolerance the norm layers share.
      const rng = new XoshiroRng(4);
      const in32 = { x: toDType(randn(rng, c.x), 'float32'), w: toDType(randn(rng, c.w), 'float32'), b: toDType(randn(rng, [c.w[1]]), 'float32') };
      const in64 = Object.fromEntries(Object.entries(in32).map(([k, t]) => [k, toDType(t, 'float64')]));
      const n = affine.impls.naive.forward(in64, {});
      const f = affine.impls.fast!.forward(in32, {});
      expect(f.out.data).toBeInstanceOf(Float32Array);
      expect(normRel(f.out.data, n.out.data)).toBeLessThan(2e-6);
      const dout32 = toDType(randn(rng, n.out.shape), 'float32');
      const gn = affine.impls.naive.backward(toDType(dout32, 'float64'), n.cache);
      const gf = affine.impls.fast!.backward(dout32, f.cache);
      for (const k of ['dx', 'dw', 'db']) {
        expect(gf[k].data).toBeInstanceOf(Float32Array);
        expect(normRel(gf[k].data, gn[k].data), k).toBeLessThan(2e-6);
      }
    });
  }
});

describe('affine check()', () => {
  const cases: [string, Record<string, number[]>, string][] = [
    [
      "w rows not the product of x's dims",
      { x: [10, 2, 3], w: [5, 5] },
      "affine: w must have D = 6 rows (the product of x's dims after N, x (10, 2, 3)), got w (5, 5)",
    ],
    ['x of rank 1', { x: [6], w: [6, 5] }, 'affine: x must be rank 2 or more (N,d1,...,dk), got rank 1 (6,)'],
    ['w of rank 3', { x: [2, 6], w: [6, 5, 1] }, 'affine: w must be rank 2 (D,M), got rank 3 (6, 5, 1)'],
    ['b of the wrong length', { x: [2, 6], w: [6, 5], b: [4] }, 'affine: b must have shape (5,), got (4,)'],
  ];
  for (const [name, shapes, message] of cases) {
    it(`refuses ${name}`, () => {
      const run = () => checkLayer(affine, { params: {}, shapes, repeat: 0 });
      expect(run).toThrow(ShapeError);
      expect(run).toThrow(message);
    });
  }
});
