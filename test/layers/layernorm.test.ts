import { describe, expect, it } from 'vitest';
import { layernorm } from '../../src/layers/layernorm.js';
import { checkLayer } from '../../src/gradcheck/check-layer.js';
import { validateParams } from '../../src/layers/params.js';
import type { Params } from '../../src/layers/types.js';
import { XoshiroRng, randn } from '../../src/tensor/rng.js';
import { clone, toDType, type Tensor } from '../../src/tensor/tensor.js';
import { ParamError, ShapeError } from '../../src/errors.js';
import { normRel, t as T } from '../helpers/tensors.js';

const paramsOf = (over: Record<string, unknown> = {}): Params => validateParams(layernorm, over);

function inputsFor(xShape: number[], seed: number): Record<string, Tensor> {
  const rng = new XoshiroRng(seed);
  const D = xShape[1];
  return { x: randn(rng, xShape), gamma: randn(rng, [D]), beta: randn(rng, [D]) };
}

// NOTE: dout comes from `seed + 1000`, not the inputs' seed: the same stream would make dout = x,
// for which a normalization's exact dx is ~0 and every relative error is noise.
describe('layernorm gradient check', () => {
  const cases: { name: string; x: number[]; params: Record<string, unknown> }[] = [
    { name: 'defaults (4,5)', x: [4, 5], params: {} },
    { name: 'odd sizes (3,7)', x: [3, 7], params: {} },
    { name: 'one sample (1,9)', x: [1, 9], params: {} },
    { name: 'wide (10,16), eps 1e-3', x: [10, 16], params: { eps: 1e-3 } },
  ];
  for (const c of cases) {
    for (const seed of [1, 231]) {
      it(`${c.name}, seed ${seed}: naive and fast pass`, () => {
        const report = checkLayer(layernorm, { params: paramsOf(c.params), inputs: inputsFor(c.x, seed), seed: seed + 1000, repeat: 0 });
        expect(report.gradients.map((g) => `${g.impl}.${g.name}`)).toEqual(['naive.dx', 'naive.dgamma', 'naive.dbeta', 'fast.dx', 'fast.dgamma', 'fast.dbeta']);
        for (const g of report.gradients) expect(g.relError, `${g.impl}.${g.name}`).toBeLessThan(layernorm.tolerance.grad);
        expect(report.pass).toBe(true);
      });
    }
  }

  it('passes at the registry defaults', () => {
    const report = checkLayer(layernorm, { params: paramsOf(), repeat: 0 });
    expect(report.shapes).toEqual({ x: [4, 5], gamma: [5], beta: [5] });
    expect(report.pass).toBe(true);
  });
});

describe('layernorm known answers', () => {
  it('each row is normalized over its features (hand values)', () => {
    // row [1, 2, 3, 6]: mean 3, biased variance (4 + 1 + 0 + 9) / 4 = 3.5
    const eps = 1e-5;
    const inputs = { x: T([1, 2, 3, 6, -2, -2, 2, 2], [2, 4]), gamma: T([1, 2, 1, 1], [4]), beta: T([0, 0, 1, 0], [4]) };
    const s0 = Math.sqrt(3.5 + eps);
    const s1 = Math.sqrt(4 + eps);
    const expected = [-2 / s0, (2 * -1) / s0, 0 + 1, 3 / s0, -2 / s1, (2 * -2) / s1, 2 / s1 + 1, 2 / s1];
    for (const impl of [layernorm.impls.naive, layernorm.impls.fast!]) {
      const { out } = impl.forward(inputs, paramsOf({ eps }));
      expected.forEach((e, i) => {
        expect(out.data[i]).toBeCloseTo(e, 13);
      });
    }
  });

  it('with gamma = 1, beta = 0 every row has mean 0 and std sqrt(var/(var+eps))', () => {
    const eps = 1e-3;
    const x = randn(new XoshiroRng(3), [5, 8]);
    const inputs = { x, gamma: T(Array(8).fill(1), [8]), beta: T(Array(8).fill(0), [8]) };
    const { out } = layernorm.impls.fast!.forward(inputs, paramsOf({ eps }));
    for (let n = 0; n < 5; n++) {
      const row = (t: Tensor) => Array.from(t.data.subarray(n * 8, n * 8 + 8));
      const mean = (v: number[]) => v.reduce((a, b) => a + b, 0) / v.length;
      const variance = (v: number[]) => mean(v.map((e) => (e - mean(v)) ** 2));
      const v = variance(row(x));
      expect(Math.abs(mean(row(out)))).toBeLessThan(1e-15);
      expect(Math.sqrt(variance(row(out)))).toBeCloseTo(Math.sqrt(v / (v + eps)), 14);
    }
  });
});

describe('layernorm fast equals naive', () => {
  for (const xShape of [
    [4, 5],
    [3, 7],
    [8, 100],
    [2, 1],
  ]) {
    it(`float64 ${JSON.stringify(xShape)} to 1e-12, inputs untouched`, () => {
      const inputs = inputsFor(xShape, 5);
      const before = Object.fromEntries(Object.entries(inputs).map(([k, t]) => [k, clone(t)]));
      const n = layernorm.impls.naive.forward(inputs, paramsOf());
      const f = layernorm.impls.fast!.forward(inputs, paramsOf());
      expect(normRel(f.out.data, n.out.data)).toBeLessThan(1e-12);
      const dout = randn(new XoshiroRng(9), xShape);
      const gn = layernorm.impls.naive.backward(dout, n.cache);
      const gf = layernorm.impls.fast!.backward(dout, f.cache);
      for (const k of ['dx', 'dgamma', 'dbeta']) {
        expect(gf[k].shape).toEqual(gn[k].shape);
        expect(normRel(gf[k].data, gn[k].data), k).toBeLessThan(1e-12);
      }
      for (const k of Object.keys(inputs)) expect(inputs[k].data).toEqual(before[k].data);
    });

    it(`float32 ${JSON.stringify(xShape)} within 2e-6 of float64 naive`, () => {
      // See batchnorm: one float32 rounding per result plus float32 xhat in cancelling sums.
      const in32 = Object.fromEntries(Object.entries(inputsFor(xShape, 5)).map(([k, t]) => [k, toDType(t, 'float32')]));
      const in64 = Object.fromEntries(Object.entries(in32).map(([k, t]) => [k, toDType(t, 'float64')]));
      const n = layernorm.impls.naive.forward(in64, paramsOf());
      const f = layernorm.impls.fast!.forward(in32, paramsOf());
      expect(f.out.data).toBeInstanceOf(Float32Array);
      expect(normRel(f.out.data, n.out.data)).toBeLessThan(2e-6);
      const dout32 = toDType(randn(new XoshiroRng(9), xShape), 'float32');
      const gn = layernorm.impls.naive.backward(toDType(dout32, 'float64'), n.cache);
      const gf = layernorm.impls.fast!.backward(dout32, f.cache);
      for (const k of ['dx', 'dgamma', 'dbeta']) {
        expect(gf[k].data).toBeInstanceOf(Float32Array);
        expect(normRel(gf[k].data, gn[k].data), k).toBeLessThan(2e-6);
      }
    });
  }
});

describe('layernorm check()', () => {
  const cases: [string, Record<string, number[]>, Params, typeof ShapeError | typeof ParamError, string][] = [
    ['gamma of the wrong length', { gamma: [4] }, {}, ShapeError, 'layernorm: gamma must have shape (5,), got (4,)'],
    ['beta of rank 2', { beta: [1, 5] }, {}, ShapeError, 'layernorm: beta must have shape (5,), got (1, 5)'],
    ['x of rank 1', { x: [5] }, {}, ShapeError, 'layernorm: x must be rank 2 (N,D), got rank 1 (5,)'],
    ['eps -1', {}, { eps: -1 }, ParamError, 'layernorm: eps: expected a number > 0, got -1'],
  ];
  for (const [name, shapes, over, type, message] of cases) {
    it(`refuses ${name}`, () => {
      const run = () => checkLayer(layernorm, { params: { ...paramsOf(), ...over }, shapes, repeat: 0 });
      expect(run).toThrow(type);
      expect(run).toThrow(message);
    });
  }
});
