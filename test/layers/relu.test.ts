import { describe, expect, it } from 'vitest';
import { relu } from '../../src/layers/relu.js';
import { checkLayer } from '../../src/gradcheck/check-layer.js';
import { gradCheck } from '../../src/gradcheck/gradcheck.js';
import type { LayerImpl } from '../../src/layers/types.js';
import { XoshiroRng, randn } from '../../src/tensor/rng.js';
import { clone, toDType, type Tensor } from '../../src/tensor/tensor.js';
import { ShapeError } from '../../src/errors.js';
import { t as T } from '../helpers/tensors.js';

const H = 1e-5;

describe('relu gradient check', () => {
  for (const shape of [[3, 4, 5], [7], [2, 3, 4, 5], [1, 1]]) {
    for (const seed of [1, 231]) {
      it(`${JSON.stringify(shape)}, seed ${seed}: naive and fast pass`, () => {
        const report = checkLayer(relu, { params: {}, shapes: { x: shape }, seed, repeat: 0 });
        expect(report.gradients.map((g) => `${g.impl}.${g.name}`)).toEqual(['naive.dx', 'fast.dx']);
        for (const g of report.gradients) expect(g.relError).toBeLessThan(relu.tolerance.grad);
        expect(report.pass).toBe(true);
      });
    }
  }
});

describe('relu known answers', () => {
  it('forward, backward and switches by hand', () => {
    const x = T([-1, 0, 2.5, -0.5, 3, 1e-300], [2, 3]);
    for (const impl of [relu.impls.naive, relu.impls.fast!]) {
      const res = impl.forward({ x }, {});
      expect(Array.from(res.out.data)).toEqual([0, 0, 2.5, 0, 3, 1e-300]);
      expect(res.out.shape).toEqual([2, 3]);
      expect(Array.from(res.switches!)).toEqual([0, 0, 1, 0, 1, 1]);
      // NOTE: x = 0 is inactive, as cs231n's dout * (x > 0)
      expect(Array.from(impl.backward(T([1, 2, 3, 4, 5, 6], [2, 3]), res.cache).dx.data)).toEqual([0, 0, 3, 0, 5, 6]);
    }
  });

  it('fast works in the dtype of x; naive in float64; both leave x untouched', () => {
    const x = toDType(randn(new XoshiroRng(2), [4, 6]), 'float32');
    const before = clone(x);
    const f = relu.impls.fast!.forward({ x }, {});
    const n = relu.impls.naive.forward({ x }, {});
    expect(f.out.data).toBeInstanceOf(Float32Array);
    expect(n.out.data).toBeInstanceOf(Float64Array);
    expect(Array.from(f.out.data)).toEqual(Array.from(n.out.data)); // max(0, x) is exact in any dtype
    const dout = toDType(randn(new XoshiroRng(3), [4, 6]), 'float32');
    const df = relu.impls.fast!.backward(dout, f.cache).dx;
    expect(df.data).toBeInstanceOf(Float32Array);
    expect(Array.from(df.data)).toEqual(Array.from(relu.impls.naive.backward(dout, n.cache).dx.data));
    expect(x.data).toEqual(before.data);
  });
});

/** x of (3,4,5) with `nearZero` elements placed within h of 0 (including exactly 0). */
function kinkyInput(nearZero: number[]): Tensor {
  const x = randn(new XoshiroRng(5), [3, 4, 5]);
  // keep every other element clear of the kink so only the planted ones straddle it
  for (let i = 0; i < x.data.length; i++) if (Math.abs(x.data[i]) < 1e-3) x.data[i] = 0.5;
  nearZero.forEach((v, k) => {
    x.data[7 * k + 3] = v;
  });
  return x;
}

describe('relu kinks', () => {
  const planted = [0, 0.3 * H, -0.7 * H, 0.99 * H, -1e-12];

  for (const implName of ['naive', 'fast'] as const) {
    it(`${implName}: elements within h of 0 are reported as kinks and excluded by default`, () => {
      const x = kinkyInput(planted);
      const res = gradCheck(relu, relu.impls[implName]!, { x }, {}, { rng: new XoshiroRng(1), h: H });
      const [row] = res.gradients;
      expect(row.kinks).toBe(planted.length);
      expect(row.checked).toBe(60 - planted.length);
      expect(row.total).toBe(60);
      expect(row.relError).toBeLessThan(relu.tolerance.grad);
      expect(res.pass).toBe(true);
    });

    it(`${implName}: with strictKinks the kinks are counted and fail the check`, () => {
      const x = kinkyInput(planted);
      const res = gradCheck(relu, relu.impls[implName]!, { x }, {}, { rng: new XoshiroRng(1), h: H, strictKinks: true });
      const [row] = res.gradients;
      expect(row.kinks).toBe(planted.length);
      expect(row.checked).toBe(60);
      // at x = 0 the analytic value is 0 and the centred difference dout/2: relative error 1
      expect(row.relError).toBeCloseTo(1, 6);
      expect(res.pass).toBe(false);
    });
  }

  it('elements farther than h from 0 are not kinks', () => {
    const x = kinkyInput([1.01 * H, -1.5 * H]);
    const res = gradCheck(relu, relu.impls.naive, { x }, {}, { rng: new XoshiroRng(1), h: H });
    expect(res.gradients[0].kinks).toBe(0);
    expect(res.pass).toBe(true);
  });

  it('a broken backward still FAILS with kinks present: kinks never hide a real error', () => {
    // forgets the mask: passes dout through where x < 0 too
    const broken: LayerImpl = {
      forward: relu.impls.naive.forward,
      backward: (dout) => ({ dx: clone(dout) }),
    };
    const x = kinkyInput(planted);
    const res = gradCheck(relu, broken, { x }, {}, { rng: new XoshiroRng(1), h: H });
    const [row] = res.gradients;
    expect(row.kinks).toBe(planted.length);
    expect(row.relError).toBe(1); // an inactive element: analytic dout, numeric 0
    expect(res.pass).toBe(false);
  });
});

describe('relu check()', () => {
  it('accepts any rank', () => {
    for (const shape of [[5], [2, 3], [1, 2, 3, 4, 5]]) expect(() => relu.check({ x: shape }, {})).not.toThrow();
  });

  it('refuses a zero dimension', () => {
    expect(() => relu.check({ x: [3, 0] }, {})).toThrow(ShapeError);
    expect(() => relu.check({ x: [3, 0] }, {})).toThrow('relu: x dimensions must be positive integers, got (3, 0)');
  });
});
