import { describe, expect, it } from 'vitest';
import { batchnorm, batchnormForwardNaive, type BatchnormParams } from '../../src/layers/batchnorm.js';
import { checkLayer } from '../../src/gradcheck/check-layer.js';
import { gradCheck } from '../../src/gradcheck/gradcheck.js';
import { generateInputs, validateParams, resolveShapes } from '../../src/layers/params.js';
import type { ForwardResult, LayerImpl, Params } from '../../src/layers/types.js';
import { XoshiroRng, randn } from '../../src/tensor/rng.js';
import { clone, toDType, type Tensor } from '../../src/tensor/tensor.js';
import { ParamError, ShapeError } from '../../src/errors.js';
import { normRel, t as T } from '../helpers/tensors.js';

const paramsOf = (over: Record<string, unknown> = {}): Params => validateParams(batchnorm, over);

/** Inputs of `shape` with running statistics that are not the trivial zeros. */
function inputsFor(xShape: number[], seed: number): Record<string, Tensor> {
  const rng = new XoshiroRng(seed);
  const D = xShape[1];
  const rv = randn(rng, [D]);
  for (let d = 0; d < D; d++) rv.data[d] = 0.5 + rv.data[d] * rv.data[d];
  return { x: randn(rng, xShape), gamma: randn(rng, [D]), beta: randn(rng, [D]), running_mean: randn(rng, [D]), running_var: rv };
}

const GRAD_CASES: { name: string; x: number[]; params: Record<string, unknown> }[] = [
  { name: 'defaults (4,5) train', x: [4, 5], params: {} },
  { name: 'test mode', x: [4, 5], params: { mode: 'test' } },
  { name: 'odd sizes (7,3)', x: [7, 3], params: {} },
  { name: 'odd sizes (3,11), momentum 0', x: [3, 11], params: { momentum: 0 } },
  { name: 'large eps 1e-2, momentum 1', x: [5, 4], params: { eps: 1e-2, momentum: 1 } },
  { name: 'test mode, odd sizes (9,2)', x: [9, 2], params: { mode: 'test' } },
];

// NOTE: dout comes from `seed + 1000`, not the inputs' seed: the same stream would make dout = x,
// for which a normalization's exact dx is ~0 and every relative error is noise.
describe('batchnorm gradient check', () => {
  for (const c of GRAD_CASES) {
    for (const seed of [1, 2, 231]) {
      it(`${c.name}, seed ${seed}: naive and fast pass`, () => {
        const report = checkLayer(batchnorm, { params: paramsOf(c.params), inputs: inputsFor(c.x, seed), seed: seed + 1000, repeat: 0 });
        expect(report.problems).toEqual([]);
        expect(report.gradients.map((g) => `${g.impl}.${g.name}`)).toEqual(['naive.dx', 'naive.dgamma', 'naive.dbeta', 'fast.dx', 'fast.dgamma', 'fast.dbeta']);
        for (const g of report.gradients) {
          expect(g.relError, `${g.impl}.${g.name}`).toBeLessThan(batchnorm.tolerance.grad);
          expect(g.kinks).toBe(0);
          expect(g.checked).toBe(g.total);
        }
        expect(report.pass).toBe(true);
      });
    }
  }

  it('passes at the registry defaults (zero running statistics)', () => {
    const report = checkLayer(batchnorm, { params: paramsOf(), repeat: 0 });
    expect(report.shapes).toEqual({ x: [4, 5], gamma: [5], beta: [5], running_mean: [5], running_var: [5] });
    expect(report.pass).toBe(true);
  });
});

describe('batchnorm known answers', () => {
  it('train mode: every feature has mean 0 and std sqrt(var/(var+eps)) before gamma, beta', () => {
    const eps = 1e-5;
    const inputs: Record<string, Tensor> = { ...inputsFor([6, 4], 7), gamma: T([1, 1, 1, 1], [4]), beta: T([0, 0, 0, 0], [4]) };
    for (const impl of [batchnorm.impls.naive, batchnorm.impls.fast!]) {
      const { out } = impl.forward(inputs, paramsOf({ eps }));
      for (let d = 0; d < 4; d++) {
        const col = (t: Tensor) => Array.from({ length: 6 }, (_, n) => t.data[n * 4 + d]);
        const mean = (v: number[]) => v.reduce((a, b) => a + b, 0) / v.length;
        const variance = (v: number[]) => mean(v.map((e) => (e - mean(v)) ** 2));
        const v = variance(col(inputs.x));
        expect(Math.abs(mean(col(out)))).toBeLessThan(1e-15);
        expect(Math.sqrt(variance(col(out)))).toBeCloseTo(Math.sqrt(v / (v + eps)), 14);
      }
    }
  });

  it('test mode normalizes with the running statistics (hand values)', () => {
    // sqrt(running_var + eps) = 2 and 0.5; xhat = [[1, 2], [-1, -1]].
    const eps = 1e-5;
    const inputs = {
      x: T([3, 0, -1, -1.5], [2, 2]),
      gamma: T([2, 3], [2]),
      beta: T([0.5, -1], [2]),
      running_mean: T([1, -1], [2]),
      running_var: T([4 - eps, 0.25 - eps], [2]),
    };
    for (const impl of [batchnorm.impls.naive, batchnorm.impls.fast!]) {
      const res = impl.forward(inputs, paramsOf({ mode: 'test', eps }));
      const expected = [2.5, 5, -1.5, -4];
      expected.forEach((e, i) => {
        expect(res.out.data[i]).toBeCloseTo(e, 12);
      });
      // test mode leaves the running statistics as they were
      expect(Array.from(res.state!.running_mean.data)).toEqual([1, -1]);
      expect(Array.from(res.state!.running_var.data)).toEqual([4 - eps, 0.25 - eps]);
      // backward: the statistics are constants, dx = gamma / sqrt(var + eps) * dout
      const g = impl.backward(T([1, 1, 1, 1], [2, 2]), res.cache);
      [1, 6, 1, 6].forEach((e, i) => {
        expect(g.dx.data[i]).toBeCloseTo(e, 9);
      });
      expect(Array.from(g.dgamma.data).map((v) => +v.toFixed(9))).toEqual([0, 1]);
      expect(Array.from(g.dbeta.data)).toEqual([2, 2]);
    }
  });

  it('train mode updates the running statistics with momentum (hand values)', () => {
    // batch mean [2, 4], biased variance [1, 4];
    // running_mean = 0.9*[1, 0] + 0.1*[2, 4] = [1.1, 0.4], running_var = 0.9*[2, 1] + 0.1*[1, 4] = [1.9, 1.3]
    expect(batchnorm.stateOutputs).toEqual(['running_mean', 'running_var']);
    for (const impl of [batchnorm.impls.naive, batchnorm.impls.fast!]) {
      expect(handRunningStats(impl)).toEqual({ running_mean: [1.1, 0.4], running_var: [1.9, 1.3] });
    }
  });
});

/** Running statistics after one train-mode step on the hand example, rounded to 12 digits. */
function handRunningStats(impl: LayerImpl): { running_mean: number[]; running_var: number[] } {
  const inputs = {
    x: T([1, 2, 3, 6], [2, 2]),
    gamma: T([1, 1], [2]),
    beta: T([0, 0], [2]),
    running_mean: T([1, 0], [2]),
    running_var: T([2, 1], [2]),
  };
  const { state } = impl.forward(inputs, paramsOf({ momentum: 0.9 }));
  const r = (t: Tensor) => Array.from(t.data, (v) => +v.toFixed(12));
  return { running_mean: r(state!.running_mean), running_var: r(state!.running_var) };
}

describe('batchnorm purity', () => {
  for (const mode of ['train', 'test']) {
    it(`${mode}: forward and backward never modify their inputs`, () => {
      const inputs = inputsFor([5, 3], 3);
      const before = Object.fromEntries(Object.entries(inputs).map(([k, t]) => [k, clone(t)]));
      for (const impl of [batchnorm.impls.naive, batchnorm.impls.fast!]) {
        const res = impl.forward(inputs, paramsOf({ mode }));
        impl.backward(randn(new XoshiroRng(1), [5, 3]), res.cache);
      }
      for (const k of Object.keys(inputs)) expect(inputs[k].data).toEqual(before[k].data);
    });
  }

  it('running statistics are bit-identical after a full train-mode gradient check', () => {
    const inputs = inputsFor([4, 5], 11);
    const mean0 = Float64Array.from(inputs.running_mean.data);
    const var0 = Float64Array.from(inputs.running_var.data);
    const report = checkLayer(batchnorm, { params: paramsOf({ mode: 'train' }), inputs, repeat: 0 });
    expect(report.pass).toBe(true);
    expect(Buffer.from(inputs.running_mean.data.buffer).equals(Buffer.from(mean0.buffer))).toBe(true);
    expect(Buffer.from(inputs.running_var.data.buffer).equals(Buffer.from(var0.buffer))).toBe(true);
  });
});

describe('batchnorm fast equals naive', () => {
  const cases: [number[], Record<string, unknown>][] = [
    [[4, 5], {}],
    [[4, 5], { mode: 'test' }],
    [[7, 3], { momentum: 0.5 }],
    [[64, 10], {}],
    [[1, 6], {}],
  ];
  for (const [xShape, over] of cases) {
    it(`float64 ${JSON.stringify(xShape)} ${JSON.stringify(over)}: out, state, gradients to 1e-12`, () => {
      const inputs = inputsFor(xShape, 5);
      const params = paramsOf(over);
      const n = batchnorm.impls.naive.forward(inputs, params);
      const f = batchnorm.impls.fast!.forward(inputs, params);
      expect(f.out.data).toBeInstanceOf(Float64Array);
      expect(normRel(f.out.data, n.out.data)).toBeLessThan(1e-12);
      for (const k of ['running_mean', 'running_var']) expect(normRel(f.state![k].data, n.state![k].data)).toBeLessThan(1e-12);
      const dout = randn(new XoshiroRng(9), xShape);
      const gn = batchnorm.impls.naive.backward(dout, n.cache);
      const gf = batchnorm.impls.fast!.backward(dout, f.cache);
      for (const k of ['dx', 'dgamma', 'dbeta']) {
        expect(gf[k].shape).toEqual(gn[k].shape);
        expect(normRel(gf[k].data, gn[k].data), k).toBeLessThan(1e-12);
      }
    });

    it(`float32 ${JSON.stringify(xShape)} ${JSON.stringify(over)}: float32 results within 2e-6 of float64 naive`, () => {
      // Each result is rounded to float32 once (2^-24 ~ 6e-8 relative); xhat is cached in float32,
      // which adds 2^-24 per term to sums that may cancel (dgamma = sum(dout * xhat)). Measured
      // worst over 200 seeds and all norm layers: 3.2e-7 normwise; 2e-6 leaves 6x margin.
      const in32 = Object.fromEntries(Object.entries(inputsFor(xShape, 5)).map(([k, t]) => [k, toDType(t, 'float32')]));
      const in64 = Object.fromEntries(Object.entries(in32).map(([k, t]) => [k, toDType(t, 'float64')]));
      const params = paramsOf(over);
      const n = batchnorm.impls.naive.forward(in64, params);
      const f = batchnorm.impls.fast!.forward(in32, params);
      expect(f.out.data).toBeInstanceOf(Float32Array);
      expect(f.state!.running_mean.data).toBeInstanceOf(Float32Array);
      expect(normRel(f.out.data, n.out.data)).toBeLessThan(2e-6);
      for (const k of ['running_mean', 'running_var']) expect(normRel(f.state![k].data, n.state![k].data)).toBeLessThan(2e-6);
      const dout32 = toDType(randn(new XoshiroRng(9), xShape), 'float32');
      const gn = batchnorm.impls.naive.backward(toDType(dout32, 'float64'), n.cache);
      const gf = batchnorm.impls.fast!.backward(dout32, f.cache);
      for (const k of ['dx', 'dgamma', 'dbeta']) {
        expect(gf[k].data, k).toBeInstanceOf(Float32Array);
        expect(normRel(gf[k].data, gn[k].data), k).toBeLessThan(2e-6);
      }
    });
  }
});

describe('batchnorm check()', () => {
  const cases: [string, Record<string, number[]>, Params, typeof ShapeError | typeof ParamError, string][] = [
    ['gamma of the wrong length', { gamma: [4] }, {}, ShapeError, 'batchnorm: gamma must have shape (5,), got (4,)'],
    ['running_var of the wrong length', { running_var: [6] }, {}, ShapeError, 'batchnorm: running_var must have shape (5,), got (6,)'],
    ['x of rank 3', { x: [4, 5, 1] }, {}, ShapeError, 'batchnorm: x must be rank 2 (N,D), got rank 3 (4, 5, 1)'],
    ['eps 0', {}, { eps: 0 }, ParamError, 'batchnorm: eps: expected a number > 0, got 0'],
    ['momentum 1.5', {}, { momentum: 1.5 }, ParamError, 'batchnorm: momentum: expected a number in [0, 1], got 1.5'],
    ['momentum -0.1', {}, { momentum: -0.1 }, ParamError, 'batchnorm: momentum: expected a number in [0, 1], got -0.1'],
    ['unknown mode', {}, { mode: 'eval' }, ParamError, "batchnorm: mode: expected one of train, test, got 'eval'"],
  ];
  for (const [name, shapes, over, type, message] of cases) {
    it(`refuses ${name}`, () => {
      const params = { ...paramsOf(), ...over };
      const run = () => checkLayer(batchnorm, { params, shapes, repeat: 0 });
      expect(run).toThrow(type);
      expect(run).toThrow(message);
    });
  }
});

// ---------------------------------------------------------------------------------------
// Broken implementations. A small closed-form batchnorm with knobs; with the knobs at their
// correct settings it must pass, so each failure below is the planted bug and nothing else.
// ---------------------------------------------------------------------------------------

interface Variant {
  /** Divisor of the forward variance: N (correct) or N-1. */
  forwardVarDivisor: (N: number) => number;
  /** 'full': dx through xhat, mean and variance, for a variance divided by backwardVarDivisor. */
  backward: 'full' | 'direct-only';
  backwardVarDivisor: (N: number) => number;
  momentumWrongWay: boolean;
}

const CORRECT: Variant = { forwardVarDivisor: (N) => N, backward: 'full', backwardVarDivisor: (N) => N, momentumWrongWay: false };

function variantImpl(v: Variant): LayerImpl {
  return {
    forward(inputs, params): ForwardResult {
      const { x, gamma, beta, running_mean, running_var } = inputs;
      const [N, D] = x.shape;
      const eps = params.eps as number;
      const m = params.momentum as number;
      const out = new Float64Array(N * D);
      const xhat = new Float64Array(N * D);
      const invStd = new Float64Array(D);
      const rm = new Float64Array(D);
      const rv = new Float64Array(D);
      for (let d = 0; d < D; d++) {
        let mu = 0;
        for (let n = 0; n < N; n++) mu += x.data[n * D + d] / N;
        let s = 0;
        for (let n = 0; n < N; n++) s += (x.data[n * D + d] - mu) ** 2;
        const variance = s / v.forwardVarDivisor(N);
        invStd[d] = 1 / Math.sqrt(variance + eps);
        for (let n = 0; n < N; n++) {
          xhat[n * D + d] = (x.data[n * D + d] - mu) * invStd[d];
          out[n * D + d] = gamma.data[d] * xhat[n * D + d] + beta.data[d];
        }
        const [keep, take] = v.momentumWrongWay ? [1 - m, m] : [m, 1 - m];
        rm[d] = keep * running_mean.data[d] + take * mu;
        rv[d] = keep * running_var.data[d] + take * variance;
      }
      return {
        out: { data: out, shape: [N, D] },
        cache: { xhat, invStd, gamma, N, D },
        state: { running_mean: { data: rm, shape: [D] }, running_var: { data: rv, shape: [D] } },
      };
    },
    backward(dout, cache) {
      const { xhat, invStd, gamma, N, D } = cache as { xhat: Float64Array; invStd: Float64Array; gamma: Tensor; N: number; D: number };
      const dx = new Float64Array(N * D);
      const dgamma = new Float64Array(D);
      const dbeta = new Float64Array(D);
      const K = v.backwardVarDivisor(N);
      for (let d = 0; d < D; d++) {
        let s1 = 0;
        let s2 = 0;
        for (let n = 0; n < N; n++) {
          const dxhat = dout.data[n * D + d] * gamma.data[d];
          s1 += dxhat;
          s2 += dxhat * xhat[n * D + d];
          dgamma[d] += dout.data[n * D + d] * xhat[n * D + d];
          dbeta[d] += dout.data[n * D + d];
        }
        for (let n = 0; n < N; n++) {
          const dxhat = dout.data[n * D + d] * gamma.data[d];
          dx[n * D + d] = v.backward === 'direct-only' ? dxhat * invStd[d] : invStd[d] * (dxhat - s1 / N - (xhat[n * D + d] * s2) / K);
        }
      }
      return { dx: { data: dx, shape: [N, D] }, dgamma: { data: dgamma, shape: [D] }, dbeta: { data: dbeta, shape: [D] } };
    },
  };
}

function gradRows(impl: LayerImpl, seed = 4): Record<string, { relError: number; pass: boolean }> {
  const params = paramsOf();
  const shapes = resolveShapes(batchnorm, { x: [4, 5] }, params);
  const inputs = generateInputs(batchnorm, shapes, new XoshiroRng(seed));
  const res = gradCheck(batchnorm, impl, inputs, params, { rng: new XoshiroRng(seed + 1) });
  return Object.fromEntries(res.gradients.map((g) => [g.name, { relError: g.relError, pass: g.pass }]));
}

/** Forward agrees with the reference naive forward (out and state) to 1e-12. */
function matchesReferenceForward(impl: LayerImpl): boolean {
  const inputs = inputsFor([4, 5], 8);
  const ref = batchnormForwardNaive(inputs, paramsOf() as BatchnormParams);
  const got = impl.forward(inputs, paramsOf());
  return (
    normRel(got.out.data, ref.out.data) < 1e-12 &&
    normRel(got.state!.running_mean.data, ref.state!.running_mean.data) < 1e-12 &&
    normRel(got.state!.running_var.data, ref.state!.running_var.data) < 1e-12
  );
}

describe('batchnorm: broken implementations fail', () => {
  it('control: the variant harness with correct knobs passes every check', () => {
    const impl = variantImpl(CORRECT);
    for (const seed of [4, 5, 6]) for (const row of Object.values(gradRows(impl, seed))) expect(row.pass).toBe(true);
    expect(matchesReferenceForward(impl)).toBe(true);
    expect(handRunningStats(impl)).toEqual({ running_mean: [1.1, 0.4], running_var: [1.9, 1.3] });
  });

  it('dx ignoring the dependence through mean and variance fails the gradient check', () => {
    const rows = gradRows(variantImpl({ ...CORRECT, backward: 'direct-only' }));
    expect(rows.dx.pass).toBe(false);
    expect(rows.dx.relError).toBeGreaterThan(1e-2);
    expect(rows.dgamma.pass && rows.dbeta.pass).toBe(true); // the planted bug is in dx only
  });

  it('variance with N-1 in forward, backward derived for N, fails the gradient check', () => {
    const rows = gradRows(variantImpl({ ...CORRECT, forwardVarDivisor: (N) => N - 1 }));
    expect(rows.dx.pass).toBe(false);
    expect(rows.dx.relError).toBeGreaterThan(1e-3);
  });

  it('variance with N-1 in forward and a backward consistent with it passes the gradient check but fails the reference', () => {
    // A gradient check only proves backward matches forward; a consistently wrong layer needs
    // the forward reference (and the known-answer std = sqrt(var/(var+eps)) with var over N).
    const impl = variantImpl({ ...CORRECT, forwardVarDivisor: (N) => N - 1, backwardVarDivisor: (N) => N - 1 });
    for (const row of Object.values(gradRows(impl))) expect(row.pass).toBe(true);
    expect(matchesReferenceForward(impl)).toBe(false);
    expect(matchesReferenceForward(batchnorm.impls.naive)).toBe(true);
    expect(matchesReferenceForward(batchnorm.impls.fast!)).toBe(true);
  });

  it('momentum the wrong way round does not touch gradients; the running-statistics check catches it', () => {
    const impl = variantImpl({ ...CORRECT, momentumWrongWay: true });
    for (const row of Object.values(gradRows(impl))) expect(row.pass).toBe(true);
    // (1-m)*running + m*batch = 0.1*[1, 0] + 0.9*[2, 4] = [1.9, 3.6]
    expect(handRunningStats(impl).running_mean).toEqual([1.9, 3.6]);
    expect(handRunningStats(impl)).not.toEqual({ running_mean: [1.1, 0.4], running_var: [1.9, 1.3] });
    expect(matchesReferenceForward(impl)).toBe(false);
  });
});
