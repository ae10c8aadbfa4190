import { describe, expect, it } from 'vitest';
import { spatialGroupnorm, spatialGroupnormForwardNaive, type SpatialGroupnormParams } from '../../src/layers/spatial-groupnorm.js';
import { layernorm } from '../../src/layers/layernorm.js';
import { checkLayer } from '../../src/gradcheck/check-layer.js';
import { gradCheck } from '../../src/gradcheck/gradcheck.js';
import { validateParams } from '../../src/layers/params.js';
import type { ForwardResult, LayerImpl, Params } from '../../src/layers/types.js';
import { XoshiroRng, randn } from '../../src/tensor/rng.js';
import { clone, toDType, type Tensor } from '../../src/tensor/tensor.js';
import { ParamError, ShapeError } from '../../src/errors.js';
import { normRel, t as T } from '../helpers/tensors.js';

const paramsOf = (over: Record<string, unknown> = {}): Params => validateParams(spatialGroupnorm, over);

function inputsFor(xShape: number[], seed: number, gammaShape = [1, xShape[1], 1, 1]): Record<string, Tensor> {
  const rng = new XoshiroRng(seed);
  return { x: randn(rng, xShape), gamma: randn(rng, gammaShape), beta: randn(rng, gammaShape) };
}

// NOTE: dout comes from `seed + 1000`, not the inputs' seed: the same stream would make dout = x,
// for which a normalization's exact dx is ~0 and every relative error is noise.
describe('spatial_groupnorm gradient check', () => {
  const cases: { name: string; x: number[]; gamma?: number[]; params: Record<string, unknown> }[] = [
    { name: 'defaults (2,6,4,5) G=2', x: [2, 6, 4, 5], params: {} },
    { name: 'G = 1 (layer norm)', x: [2, 6, 4, 5], params: { G: 1 } },
    { name: 'G = C (instance norm)', x: [2, 6, 4, 5], params: { G: 6 } },
    { name: 'G = 3, gamma (C,)', x: [2, 6, 4, 5], gamma: [6], params: { G: 3 } },
    { name: 'odd sizes (3,4,3,5) G=4, eps 1e-3', x: [3, 4, 3, 5], params: { G: 4, eps: 1e-3 } },
    { name: 'one sample (1,6,3,5) G=3', x: [1, 6, 3, 5], params: { G: 3 } },
  ];
  for (const c of cases) {
    for (const seed of [1, 231]) {
      it(`${c.name}, seed ${seed}: naive and fast pass`, () => {
        const report = checkLayer(spatialGroupnorm, { params: paramsOf(c.params), inputs: inputsFor(c.x, seed, c.gamma), seed: seed + 1000, repeat: 0 });
        expect(report.gradients.map((g) => `${g.impl}.${g.name}`)).toEqual(['naive.dx', 'naive.dgamma', 'naive.dbeta', 'fast.dx', 'fast.dgamma', 'fast.dbeta']);
        for (const g of report.gradients) expect(g.relError, `${g.impl}.${g.name}`).toBeLessThan(spatialGroupnorm.tolerance.grad);
        expect(report.pass).toBe(true);
      });
    }
  }

  it('passes at the registry defaults, gamma (1,C,1,1)', () => {
    const report = checkLayer(spatialGroupnorm, { params: paramsOf(), repeat: 0 });
    expect(report.params).toEqual({ G: 2, eps: 1e-5 });
    expect(report.shapes).toEqual({ x: [2, 6, 4, 5], gamma: [1, 6, 1, 1], beta: [1, 6, 1, 1] });
    expect(report.pass).toBe(true);
  });
});

/** The values of sample n, channels c0..c1-1 of x (N,C,H,W). */
function block(t: Tensor, n: number, c0: number, c1: number): number[] {
  const [, C, H, W] = t.shape;
  const S = H * W;
  return Array.from(t.data.subarray((n * C + c0) * S, (n * C + c1) * S));
}
const mean = (v: number[]) => v.reduce((a, b) => a + b, 0) / v.length;
const variance = (v: number[]) => mean(v.map((e) => (e - mean(v)) ** 2));

describe('spatial_groupnorm known answers', () => {
  it('gamma = 1, beta = 0: every (sample, group) has mean ~0 and std sqrt(var/(var+eps))', () => {
    const eps = 1e-5;
    const inputs = { x: randn(new XoshiroRng(2), [2, 6, 3, 4]), gamma: T(Array(6).fill(1), [1, 6, 1, 1]), beta: T(Array(6).fill(0), [1, 6, 1, 1]) };
    for (const impl of [spatialGroupnorm.impls.naive, spatialGroupnorm.impls.fast!]) {
      const { out } = impl.forward(inputs, paramsOf({ G: 3, eps }));
      for (let n = 0; n < 2; n++) {
        for (let g = 0; g < 3; g++) {
          const v = variance(block(inputs.x, n, 2 * g, 2 * g + 2));
          expect(Math.abs(mean(block(out, n, 2 * g, 2 * g + 2)))).toBeLessThan(1e-15);
          expect(Math.sqrt(variance(block(out, n, 2 * g, 2 * g + 2)))).toBeCloseTo(Math.sqrt(v / (v + eps)), 14);
          // a single channel of a group is NOT normalized on its own
          expect(Math.abs(mean(block(out, n, 2 * g, 2 * g + 1)))).toBeGreaterThan(1e-3);
        }
      }
    }
  });

  it('G = 1 equals layernorm over (C,H,W) per sample, forward and backward', () => {
    const [N, C, H, W] = [3, 4, 2, 3];
    const S = H * W;
    const inputs = inputsFor([N, C, H, W], 5);
    // layernorm's gamma is per feature: channel c's value repeated over its H*W positions
    const expand = (t: Tensor) => ({ data: Float64Array.from({ length: C * S }, (_, k) => t.data[Math.floor(k / S)]), shape: [C * S] });
    const lnInputs = { x: { data: inputs.x.data, shape: [N, C * S] }, gamma: expand(inputs.gamma), beta: expand(inputs.beta) };
    const dout = randn(new XoshiroRng(8), [N, C, H, W]);
    for (const impl of ['naive', 'fast'] as const) {
      const gn = spatialGroupnorm.impls[impl]!.forward(inputs, paramsOf({ G: 1 }));
      const ln = layernorm.impls[impl]!.forward(lnInputs, { eps: 1e-5 });
      expect(normRel(gn.out.data, ln.out.data)).toBeLessThan(1e-14);
      const ggn = spatialGroupnorm.impls[impl]!.backward(dout, gn.cache);
      const gln = layernorm.impls[impl]!.backward({ data: dout.data, shape: [N, C * S] }, ln.cache);
      expect(normRel(ggn.dx.data, gln.dx.data)).toBeLessThan(1e-13);
      // dgamma of a channel = the sum of layernorm's dgamma over the channel's positions
      const summed = Array.from({ length: C }, (_, c) => Array.from(gln.dgamma.data.subarray(c * S, (c + 1) * S)).reduce((a, b) => a + b, 0));
      expect(normRel(ggn.dgamma.data, summed)).toBeLessThan(1e-13);
    }
  });

  it('G = C equals instance norm (each (sample, channel) over H,W)', () => {
    const [N, C, H, W] = [2, 3, 4, 5];
    const eps = 1e-5;
    const inputs = inputsFor([N, C, H, W], 6);
    const expected = new Float64Array(N * C * H * W);
    for (let n = 0; n < N; n++) {
      for (let c = 0; c < C; c++) {
        const v = block(inputs.x, n, c, c + 1);
        const mu = mean(v);
        const sd = Math.sqrt(variance(v) + eps);
        v.forEach((e, s) => {
          expected[(n * C + c) * H * W + s] = inputs.gamma.data[c] * ((e - mu) / sd) + inputs.beta.data[c];
        });
      }
    }
    for (const impl of [spatialGroupnorm.impls.naive, spatialGroupnorm.impls.fast!]) {
      expect(normRel(impl.forward(inputs, paramsOf({ G: C, eps })).out.data, expected)).toBeLessThan(1e-14);
    }
  });

  it('a hand example: one sample, G = 2 over channels {0,1} and {2,3}', () => {
    // group 0 values [1, 3 | 5, 7]: mean 4, var 5; group 1 values [0, 0 | 2, 2]: mean 1, var 1
    const eps = 1e-5;
    const inputs = { x: T([1, 3, 5, 7, 0, 0, 2, 2], [1, 4, 1, 2]), gamma: T([1, 2, 1, -1], [4]), beta: T([0, 0, 10, 0], [4]) };
    const a = Math.sqrt(5 + eps);
    const b = Math.sqrt(1 + eps);
    const expected = [-3 / a, -1 / a, (2 * 1) / a, (2 * 3) / a, -1 / b + 10, -1 / b + 10, -1 / b, -1 / b];
    for (const impl of [spatialGroupnorm.impls.naive, spatialGroupnorm.impls.fast!]) {
      const { out } = impl.forward(inputs, paramsOf({ G: 2, eps }));
      expected.forEach((e, i) => {
        expect(out.data[i]).toBeCloseTo(e, 13);
      });
    }
  });
});

describe('spatial_groupnorm fast equals naive', () => {
  const cases: [number[], number[] | undefined, Record<string, unknown>][] = [
    [[2, 6, 4, 5], undefined, {}],
    [[2, 6, 4, 5], [6], { G: 3 }],
    [[3, 4, 3, 5], undefined, { G: 4 }],
    [[2, 8, 16, 16], undefined, { G: 1 }],
  ];
  for (const [xShape, gammaShape, over] of cases) {
    const label = `${JSON.stringify(xShape)} gamma ${JSON.stringify(gammaShape ?? [1, xShape[1], 1, 1])} ${JSON.stringify(over)}`;
    it(`float64 ${label} to 1e-12, inputs untouched`, () => {
      const inputs = inputsFor(xShape, 5, gammaShape);
      const before = Object.fromEntries(Object.entries(inputs).map(([k, t]) => [k, clone(t)]));
      const n = spatialGroupnorm.impls.naive.forward(inputs, paramsOf(over));
      const f = spatialGroupnorm.impls.fast!.forward(inputs, paramsOf(over));
      expect(normRel(f.out.data, n.out.data)).toBeLessThan(1e-12);
      const dout = randn(new XoshiroRng(9), xShape);
      const gn = spatialGroupnorm.impls.naive.backward(dout, n.cache);
      const gf = spatialGroupnorm.impls.fast!.backward(dout, f.cache);
      for (const k of ['dx', 'dgamma', 'dbeta']) {
        expect(gn[k].shape).toEqual(k === 'dx' ? xShape : inputs.gamma.shape);
        expect(gf[k].shape).toEqual(gn[k].shape);
        expect(normRel(gf[k].data, gn[k].data), k).toBeLessThan(1e-12);
      }
      for (const k of Object.keys(inputs)) expect(inputs[k].data).toEqual(before[k].data);
    });

    it(`float32 ${label} within 2e-6 of float64 naive`, () => {
      const in32 = Object.fromEntries(Object.entries(inputsFor(xShape, 5, gammaShape)).map(([k, t]) => [k, toDType(t, 'float32')]));
      const in64 = Object.fromEntries(Object.entries(in32).map(([k, t]) => [k, toDType(t, 'float64')]));
      const n = spatialGroupnorm.impls.naive.forward(in64, paramsOf(over));
      const f = spatialGroupnorm.impls.fast!.forward(in32, paramsOf(over));
      expect(f.out.data).toBeInstanceOf(Float32Array);
      expect(normRel(f.out.data, n.out.data)).toBeLessThan(2e-6);
      const dout32 = toDType(randn(new XoshiroRng(9), xShape), 'float32');
      const gn = spatialGroupnorm.impls.naive.backward(toDType(dout32, 'float64'), n.cache);
      const gf = spatialGroupnorm.impls.fast!.backward(dout32, f.cache);
      for (const k of ['dx', 'dgamma', 'dbeta']) {
        expect(gf[k].data).toBeInstanceOf(Float32Array);
        expect(normRel(gf[k].data, gn[k].data), k).toBeLessThan(2e-6);
      }
    });
  }
});

describe('spatial_groupnorm check()', () => {
  const cases: [string, Record<string, number[]>, Params, typeof ShapeError | typeof ParamError, string][] = [
    ['G not dividing C', {}, { G: 4 }, ParamError, 'spatial_groupnorm: expected G to divide C, got C = 6, G = 4'],
    ['G larger than C', {}, { G: 12 }, ParamError, 'spatial_groupnorm: expected G to divide C, got C = 6, G = 12'],
    ['G = 0', {}, { G: 0 }, ParamError, 'spatial_groupnorm: G: expected an integer >= 1, got 0'],
    ['eps 0', {}, { eps: 0 }, ParamError, 'spatial_groupnorm: eps: expected a number > 0, got 0'],
    ['gamma of the wrong length', { gamma: [5] }, {}, ShapeError, 'spatial_groupnorm: gamma must have shape (6,) or (1, 6, 1, 1), got (5,)'],
    ['beta not the shape of gamma', { beta: [6] }, {}, ShapeError, 'spatial_groupnorm: beta must have shape (1, 6, 1, 1), got (6,)'],
    ['x of rank 3', { x: [2, 6, 4] }, {}, ShapeError, 'spatial_groupnorm: x must be rank 4 (N,C,H,W), got rank 3 (2, 6, 4)'],
  ];
  for (const [name, shapes, over, type, message] of cases) {
    it(`refuses ${name}`, () => {
      const run = () => checkLayer(spatialGroupnorm, { params: { ...paramsOf(), ...over }, shapes, repeat: 0 });
      expect(run).toThrow(type);
      expect(run).toThrow(message);
    });
  }
});

// ---------------------------------------------------------------------------------------
// Broken implementations: a closed-form groupnorm with knobs. Backward recomputes the
// statistics of the groups it believes in, so forward and backward can disagree.
// ---------------------------------------------------------------------------------------

interface Variant {
  /** Groups the forward pass normalizes over (G correct, C = per channel). */
  forwardGroups: (G: number, C: number) => number;
  /** Groups the backward pass differentiates through. */
  backwardGroups: (G: number, C: number) => number;
  /** Element count of a group in the backward closed form (Cg*H*W correct). */
  backwardCount: (Cg: number, H: number, W: number) => number;
}

const CORRECT: Variant = { forwardGroups: (G) => G, backwardGroups: (G) => G, backwardCount: (Cg, H, W) => Cg * H * W };

/** xhat and 1/std for x (N,C,H,W) normalized over `groups` groups. */
function normalize(x: Tensor, groups: number, eps: number): { xhat: Float64Array; invStd: Float64Array } {
  const [N, C, H, W] = x.shape;
  const L = (C / groups) * H * W;
  const xhat = new Float64Array(x.data.length);
  const invStd = new Float64Array(N * groups);
  for (let blk = 0; blk < N * groups; blk++) {
    const v = Array.from(x.data.subarray(blk * L, (blk + 1) * L));
    const mu = mean(v);
    invStd[blk] = 1 / Math.sqrt(variance(v) + eps);
    v.forEach((e, k) => {
      xhat[blk * L + k] = (e - mu) * invStd[blk];
    });
  }
  return { xhat, invStd };
}

function variantImpl(v: Variant): LayerImpl {
  return {
    forward(inputs, params): ForwardResult {
      const { x, gamma, beta } = inputs;
      const [, C, H, W] = x.shape;
      const S = H * W;
      const { xhat } = normalize(x, v.forwardGroups(params.G as number, C), params.eps as number);
      const out = new Float64Array(x.data.length);
      for (let i = 0; i < out.length; i++) {
        const c = Math.floor(i / S) % C;
        out[i] = gamma.data[c] * xhat[i] + beta.data[c];
      }
      return { out: { data: out, shape: [...x.shape] }, cache: { x, gamma, params } };
    },
    backward(dout, cache) {
      const { x, gamma, params } = cache as { x: Tensor; gamma: Tensor; params: Params };
      const [, C, H, W] = x.shape;
      const S = H * W;
      const G = v.backwardGroups(params.G as number, C);
      const Cg = C / G;
      const L = Cg * S;
      const M = v.backwardCount(Cg, H, W);
      const { xhat, invStd } = normalize(x, G, params.eps as number);
      const dx = new Float64Array(x.data.length);
      const dgamma = new Float64Array(C);
      const dbeta = new Float64Array(C);
      for (let blk = 0; blk < invStd.length; blk++) {
        let s1 = 0;
        let s2 = 0;
        for (let i = blk * L; i < (blk + 1) * L; i++) {
          const c = Math.floor(i / S) % C;
          const dxhat = dout.data[i] * gamma.data[c];
          s1 += dxhat;
          s2 += dxhat * xhat[i];
          dgamma[c] += dout.data[i] * xhat[i];
          dbeta[c] += dout.data[i];
        }
        for (let i = blk * L; i < (blk + 1) * L; i++) {
          const dxhat = dout.data[i] * gamma.data[Math.floor(i / S) % C];
          dx[i] = (invStd[blk] / M) * (M * dxhat - s1 - xhat[i] * s2);
        }
      }
      return {
        dx: { data: dx, shape: [...x.shape] },
        dgamma: { data: dgamma, shape: [...gamma.shape] },
        dbeta: { data: Float64Array.from(dbeta), shape: [...gamma.shape] },
      };
    },
  };
}

function gradRows(impl: LayerImpl, seed = 4): Record<string, { relError: number; pass: boolean }> {
  const params = paramsOf({ G: 2 });
  const res = gradCheck(spatialGroupnorm, impl, inputsFor([2, 6, 3, 4], seed), params, { rng: new XoshiroRng(seed + 1) });
  return Object.fromEntries(res.gradients.map((g) => [g.name, { relError: g.relError, pass: g.pass }]));
}

function matchesReferenceForward(impl: LayerImpl): boolean {
  const inputs = inputsFor([2, 6, 3, 4], 8);
  const params = paramsOf({ G: 2 });
  return normRel(impl.forward(inputs, params).out.data, spatialGroupnormForwardNaive(inputs, params as SpatialGroupnormParams).out.data) < 1e-12;
}

describe('spatial_groupnorm: broken implementations fail', () => {
  it('control: the variant harness with correct knobs passes the gradient check and the reference', () => {
    const impl = variantImpl(CORRECT);
    for (const seed of [4, 5, 6]) for (const row of Object.values(gradRows(impl, seed))) expect(row.pass).toBe(true);
    expect(matchesReferenceForward(impl)).toBe(true);
  });

  it('normalizing per channel in forward, differentiating per group in backward, fails the gradient check', () => {
    const rows = gradRows(variantImpl({ ...CORRECT, forwardGroups: (_G, C) => C }));
    expect(rows.dx.pass).toBe(false);
    expect(rows.dgamma.pass).toBe(false);
    expect(rows.dx.relError).toBeGreaterThan(1e-2);
  });

  it('normalizing per channel consistently in both passes is caught by the forward reference', () => {
    const impl = variantImpl({ ...CORRECT, forwardGroups: (_G, C) => C, backwardGroups: (_G, C) => C });
    for (const row of Object.values(gradRows(impl))) expect(row.pass).toBe(true); // consistent, so gradcheck cannot see it
    expect(matchesReferenceForward(impl)).toBe(false);
    expect(matchesReferenceForward(spatialGroupnorm.impls.naive)).toBe(true);
    expect(matchesReferenceForward(spatialGroupnorm.impls.fast!)).toBe(true);
  });

  it('backward dividing by the per-channel count H*W instead of (C/G)*H*W fails the gradient check', () => {
    const rows = gradRows(variantImpl({ ...CORRECT, backwardCount: (_Cg, H, W) => H * W }));
    expect(rows.dx.pass).toBe(false);
    expect(rows.dx.relError).toBeGreaterThan(1e-2);
    expect(rows.dgamma.pass && rows.dbeta.pass).toBe(true);
  });

  it('backward dividing by the whole sample C*H*W fails the gradient check', () => {
    const rows = gradRows(variantImpl({ ...CORRECT, backwardCount: (Cg, H, W) => 2 * Cg * H * W }));
    expect(rows.dx.pass).toBe(false);
  });
});
