import { describe, expect, it } from 'vitest';
import { spatialBatchnorm } from '../../src/layers/spatial-batchnorm.js';
import { batchnorm } from '../../src/layers/batchnorm.js';
import { checkLayer } from '../../src/gradcheck/check-layer.js';
import { validateParams } from '../../src/layers/params.js';
import type { Params } from '../../src/layers/types.js';
import { XoshiroRng, randn } from '../../src/tensor/rng.js';
import { clone, toDType, type Tensor } from '../../src/tensor/tensor.js';
import { ParamError, ShapeError } from '../../src/errors.js';
import { normRel, t as T } from '../helpers/tensors.js';

const paramsOf = (over: Record<string, unknown> = {}): Params => validateParams(spatialBatchnorm, over);

/** Inputs with gamma, beta of `gammaShape` and non-trivial running statistics. */
function inputsFor(xShape: number[], seed: number, gammaShape = [xShape[1]]): Record<string, Tensor> {
  const rng = new XoshiroRng(seed);
  const C = xShape[1];
  const rv = randn(rng, [C]);
  for (let c = 0; c < C; c++) rv.data[c] = 0.5 + rv.data[c] * rv.data[c];
  return {
    x: randn(rng, xShape),
    gamma: randn(rng, gammaShape),
    beta: randn(rng, gammaShape),
    running_mean: randn(rng, [C]),
    running_var: rv,
  };
}

/** The values of channel c of x (N,C,H,W). */
function channel(t: Tensor, c: number): number[] {
  const [N, C, H, W] = t.shape;
  const v: number[] = [];
  for (let n = 0; n < N; n++) for (let s = 0; s < H * W; s++) v.push(t.data[(n * C + c) * H * W + s]);
  return v;
}
const mean = (v: number[]) => v.reduce((a, b) => a + b, 0) / v.length;
const variance = (v: number[]) => mean(v.map((e) => (e - mean(v)) ** 2));

// NOTE: dout comes from `seed + 1000`, not the inputs' seed: the same stream would make dout = x,
// for which a normalization's exact dx is ~0 and every relative error is noise.
describe('spatial_batchnorm gradient check', () => {
  const cases: { name: string; x: number[]; gamma?: number[]; params: Record<string, unknown> }[] = [
    { name: 'defaults (2,3,4,5), gamma (C,)', x: [2, 3, 4, 5], params: {} },
    { name: 'gamma (1,C,1,1)', x: [2, 3, 4, 5], gamma: [1, 3, 1, 1], params: {} },
    { name: 'test mode', x: [2, 3, 4, 5], params: { mode: 'test' } },
    { name: 'test mode, gamma (1,C,1,1)', x: [3, 2, 3, 3], gamma: [1, 2, 1, 1], params: { mode: 'test' } },
    { name: 'odd sizes (3,2,3,7)', x: [3, 2, 3, 7], params: { momentum: 0.3 } },
    { name: 'one sample (1,4,5,3)', x: [1, 4, 5, 3], params: {} },
  ];
  for (const c of cases) {
    for (const seed of [1, 231]) {
      it(`${c.name}, seed ${seed}: naive and fast pass, gradients in gamma's shape`, () => {
        const report = checkLayer(spatialBatchnorm, { params: paramsOf(c.params), inputs: inputsFor(c.x, seed, c.gamma), seed: seed + 1000, repeat: 0 });
        expect(report.gradients.map((g) => `${g.impl}.${g.name}`)).toEqual(['naive.dx', 'naive.dgamma', 'naive.dbeta', 'fast.dx', 'fast.dgamma', 'fast.dbeta']);
        for (const g of report.gradients) expect(g.relError, `${g.impl}.${g.name}`).toBeLessThan(spatialBatchnorm.tolerance.grad);
        expect(report.pass).toBe(true);
      });
    }
  }

  it('passes at the registry defaults', () => {
    const report = checkLayer(spatialBatchnorm, { params: paramsOf(), repeat: 0 });
    expect(report.shapes).toEqual({ x: [2, 3, 4, 5], gamma: [3], beta: [3], running_mean: [3], running_var: [3] });
    expect(report.pass).toBe(true);
  });
});

describe('spatial_batchnorm known answers', () => {
  it('train, gamma = 1, beta = 0: every channel has mean ~0 and std sqrt(var/(var+eps))', () => {
    const eps = 1e-5;
    const inputs: Record<string, Tensor> = { ...inputsFor([4, 3, 5, 6], 2), gamma: T([1, 1, 1], [3]), beta: T([0, 0, 0], [3]) };
    // a channel with a large offset and spread, and one with a tiny spread where eps matters
    for (let i = 0; i < 30; i++) {
      for (let n = 0; n < 4; n++) {
        inputs.x.data[(n * 3 + 1) * 30 + i] = 10 + 5 * inputs.x.data[(n * 3 + 1) * 30 + i];
        inputs.x.data[(n * 3 + 2) * 30 + i] *= 1e-3;
      }
    }
    for (const impl of [spatialBatchnorm.impls.naive, spatialBatchnorm.impls.fast!]) {
      const { out } = impl.forward(inputs, paramsOf({ eps }));
      for (let c = 0; c < 3; c++) {
        const v = variance(channel(inputs.x, c));
        expect(Math.abs(mean(channel(out, c)))).toBeLessThan(1e-14);
        expect(Math.sqrt(variance(channel(out, c)))).toBeCloseTo(Math.sqrt(v / (v + eps)), 13);
      }
      // the tiny channel's std is visibly below 1 because of eps: var ~1e-6 vs eps 1e-5
      expect(Math.sqrt(variance(channel(out, 2)))).toBeLessThan(0.5);
    }
  });

  it('train, with gamma and beta (1,C,1,1): channel mean = beta, std = |gamma| * sqrt(var/(var+eps))', () => {
    const eps = 1e-5;
    const gamma = T([2, -0.5, 3], [1, 3, 1, 1]);
    const beta = T([1, 0, -4], [1, 3, 1, 1]);
    const inputs: Record<string, Tensor> = { ...inputsFor([3, 3, 4, 4], 6), gamma, beta };
    for (const impl of [spatialBatchnorm.impls.naive, spatialBatchnorm.impls.fast!]) {
      const { out } = impl.forward(inputs, paramsOf({ eps }));
      for (let c = 0; c < 3; c++) {
        const v = variance(channel(inputs.x, c));
        expect(mean(channel(out, c))).toBeCloseTo(beta.data[c], 13);
        expect(Math.sqrt(variance(channel(out, c)))).toBeCloseTo(Math.abs(gamma.data[c]) * Math.sqrt(v / (v + eps)), 13);
      }
    }
  });

  it('test mode uses the running statistics (hand values) and returns them unchanged', () => {
    // channel 0: (x - 1) / 2 * 2 + 1; channel 1: (x + 1) / 0.5 * 3 - 1
    const eps = 1e-5;
    const inputs = {
      x: T([3, 5, 0, -1, -1.5, -0.5, 1, 2], [1, 2, 2, 2]),
      gamma: T([2, 3], [2]),
      beta: T([1, -1], [2]),
      running_mean: T([1, -1], [2]),
      running_var: T([4 - eps, 0.25 - eps], [2]),
    };
    const expected = [3, 5, 0, -1, -4, 2, 11, 17];
    for (const impl of [spatialBatchnorm.impls.naive, spatialBatchnorm.impls.fast!]) {
      const res = impl.forward(inputs, paramsOf({ mode: 'test', eps }));
      expected.forEach((e, i) => {
        expect(res.out.data[i]).toBeCloseTo(e, 12);
      });
      expect(Array.from(res.state!.running_mean.data)).toEqual([1, -1]);
      expect(Array.from(res.state!.running_var.data)).toEqual([4 - eps, 0.25 - eps]);
    }
  });

  it('train mode updates running statistics per channel (hand values)', () => {
    // channel 0 values [1, 3, 5, 7]: mean 4, biased var 5; channel 1 values [0, 0, 2, 2]: mean 1, var 1
    const inputs = {
      x: T([1, 3, 0, 0, 5, 7, 2, 2], [2, 2, 1, 2]),
      gamma: T([1, 1], [2]),
      beta: T([0, 0], [2]),
      running_mean: T([0, 10], [2]),
      running_var: T([1, 1], [2]),
    };
    for (const impl of [spatialBatchnorm.impls.naive, spatialBatchnorm.impls.fast!]) {
      const { state } = impl.forward(inputs, paramsOf({ momentum: 0.75 }));
      // 0.75*[0, 10] + 0.25*[4, 1] = [1, 7.75]; 0.75*[1, 1] + 0.25*[5, 1] = [2, 1]
      expect(Array.from(state!.running_mean.data, (v) => +v.toFixed(12))).toEqual([1, 7.75]);
      expect(Array.from(state!.running_var.data, (v) => +v.toFixed(12))).toEqual([2, 1]);
    }
  });

  it('equals batchnorm on x moved to (N*H*W, C)', () => {
    const inputs = inputsFor([2, 3, 2, 2], 4);
    const [N, C, H, W] = inputs.x.shape;
    const S = H * W;
    const rows = new Float64Array(N * S * C);
    for (let n = 0; n < N; n++) for (let c = 0; c < C; c++) for (let s = 0; s < S; s++) rows[(n * S + s) * C + c] = inputs.x.data[(n * C + c) * S + s];
    const bn = batchnorm.impls.fast!.forward({ ...inputs, x: { data: rows, shape: [N * S, C] } }, paramsOf());
    const sbn = spatialBatchnorm.impls.fast!.forward(inputs, paramsOf());
    for (let n = 0; n < N; n++) {
      for (let c = 0; c < C; c++) {
        for (let s = 0; s < S; s++) expect(sbn.out.data[(n * C + c) * S + s]).toBeCloseTo(bn.out.data[(n * S + s) * C + c], 14);
      }
    }
    // same statistics, summed in a different order: equal to rounding
    expect(normRel(sbn.state!.running_var.data, bn.state!.running_var.data)).toBeLessThan(1e-14);
  });
});

describe('spatial_batchnorm purity', () => {
  it('running statistics are bit-identical after a full train-mode gradient check', () => {
    const inputs = inputsFor([2, 3, 4, 5], 11);
    const snapshot = Object.fromEntries(Object.entries(inputs).map(([k, t]) => [k, clone(t)]));
    const report = checkLayer(spatialBatchnorm, { params: paramsOf({ mode: 'train' }), inputs, repeat: 0 });
    expect(report.pass).toBe(true);
    for (const k of Object.keys(inputs)) {
      expect(Buffer.from(inputs[k].data.buffer).equals(Buffer.from(snapshot[k].data.buffer)), k).toBe(true);
    }
  });
});

describe('spatial_batchnorm fast equals naive', () => {
  const cases: [number[], number[] | undefined, Record<string, unknown>][] = [
    [[2, 3, 4, 5], undefined, {}],
    [[2, 3, 4, 5], [1, 3, 1, 1], {}],
    [[3, 2, 3, 7], undefined, { mode: 'test' }],
    [[4, 3, 16, 16], [1, 3, 1, 1], { momentum: 0.99 }],
  ];
  for (const [xShape, gammaShape, over] of cases) {
    const label = `${JSON.stringify(xShape)} gamma ${JSON.stringify(gammaShape ?? [xShape[1]])} ${JSON.stringify(over)}`;
    it(`float64 ${label} to 1e-12`, () => {
      const inputs = inputsFor(xShape, 5, gammaShape);
      const n = spatialBatchnorm.impls.naive.forward(inputs, paramsOf(over));
      const f = spatialBatchnorm.impls.fast!.forward(inputs, paramsOf(over));
      expect(normRel(f.out.data, n.out.data)).toBeLessThan(1e-12);
      for (const k of ['running_mean', 'running_var']) expect(normRel(f.state![k].data, n.state![k].data)).toBeLessThan(1e-12);
      const dout = randn(new XoshiroRng(9), xShape);
      const gn = spatialBatchnorm.impls.naive.backward(dout, n.cache);
      const gf = spatialBatchnorm.impls.fast!.backward(dout, f.cache);
      for (const k of ['dx', 'dgamma', 'dbeta']) {
        expect(gn[k].shape).toEqual(k === 'dx' ? xShape : inputs.gamma.shape);
        expect(gf[k].shape).toEqual(gn[k].shape);
        expect(normRel(gf[k].data, gn[k].data), k).toBeLessThan(1e-12);
      }
    });

    it(`float32 ${label} within 2e-6 of float64 naive`, () => {
      const in32 = Object.fromEntries(Object.entries(inputsFor(xShape, 5, gammaShape)).map(([k, t]) => [k, toDType(t, 'float32')]));
      const in64 = Object.fromEntries(Object.entries(in32).map(([k, t]) => [k, toDType(t, 'float64')]));
      const n = spatialBatchnorm.impls.naive.forward(in64, paramsOf(over));
      const f = spatialBatchnorm.impls.fast!.forward(in32, paramsOf(over));
      expect(f.out.data).toBeInstanceOf(Float32Array);
      expect(normRel(f.out.data, n.out.data)).toBeLessThan(2e-6);
      for (const k of ['running_mean', 'running_var']) expect(normRel(f.state![k].data, n.state![k].data)).toBeLessThan(2e-6);
      const dout32 = toDType(randn(new XoshiroRng(9), xShape), 'float32');
      const gn = spatialBatchnorm.impls.naive.backward(toDType(dout32, 'float64'), n.cache);
      const gf = spatialBatchnorm.impls.fast!.backward(dout32, f.cache);
      for (const k of ['dx', 'dgamma', 'dbeta']) {
        expect(gf[k].data).toBeInstanceOf(Float32Array);
        expect(normRel(gf[k].data, gn[k].data), k).toBeLessThan(2e-6);
      }
    });
  }
});

describe('spatial_batchnorm check()', () => {
  const cases: [string, Record<string, number[]>, Params, typeof ShapeError | typeof ParamError, string][] = [
    ['gamma of the wrong length', { gamma: [4] }, {}, ShapeError, 'spatial_batchnorm: gamma must have shape (3,) or (1, 3, 1, 1), got (4,)'],
    [
      'gamma (1,C,1,1) with the wrong C',
      { gamma: [1, 2, 1, 1] },
      {},
      ShapeError,
      'spatial_batchnorm: gamma must have shape (3,) or (1, 3, 1, 1), got (1, 2, 1, 1)',
    ],
    ['beta not the shape of gamma', { gamma: [1, 3, 1, 1], beta: [3] }, {}, ShapeError, 'spatial_batchnorm: beta must have shape (1, 3, 1, 1), got (3,)'],
    ['running_mean (1,C,1,1)', { running_mean: [1, 3, 1, 1] }, {}, ShapeError, 'spatial_batchnorm: running_mean must have shape (3,), got (1, 3, 1, 1)'],
    ['x of rank 2', { x: [4, 3] }, {}, ShapeError, 'spatial_batchnorm: x must be rank 4 (N,C,H,W), got rank 2 (4, 3)'],
    ['eps 0', {}, { eps: 0 }, ParamError, 'spatial_batchnorm: eps: expected a number > 0, got 0'],
    ['momentum 2', {}, { momentum: 2 }, ParamError, 'spatial_batchnorm: momentum: expected a number in [0, 1], got 2'],
    ['unknown mode', {}, { mode: 'inference' }, ParamError, "spatial_batchnorm: mode: expected one of train, test, got 'inference'"],
  ];
  for (const [name, shapes, over, type, message] of cases) {
    it(`refuses ${name}`, () => {
      const run = () => checkLayer(spatialBatchnorm, { params: { ...paramsOf(), ...over }, shapes, repeat: 0 });
      expect(run).toThrow(type);
      expect(run).toThrow(message);
    });
  }
});
