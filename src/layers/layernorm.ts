/**
 * Layer normalization, cs231n conventions: x (N,D) -> out (N,D), statistics per sample over
 * its D features (biased variance), out = gamma * xhat + beta with gamma, beta (D,). No
 * running statistics and no modes: train and test are the same computation.
 *
 * The fast kernel normalizes contiguous blocks: x viewed as (N, G, Cg, S), statistics per
 * sample n and group g over the block's Cg*S elements, gamma per channel g*Cg + cg. Layernorm
 * is (N, 1, D, 1); spatial groupnorm (N, G, C/G, H*W) reuses it unchanged.
 */
import { dtypeOf, zeros, type DType, type FloatArray, type Tensor } from '../tensor/tensor.js';
import { defineImpl, defineLayer, type ForwardResult, type Gradients, type Inputs, type ParamSpec, type PassMemory } from './types.js';
import { bytesOf } from '../memory/estimate.js';
import { requireRank, requireShape } from './geometry.js';
import { blockNormBackward, blockNormForward, type BlockView } from '../kernels/norm.js';
import { freshTensor } from '../kernels/fresh.js';

/** The params of layernorm. */
export type LayernormParams = { eps: number };

/** The eps param layernorm and spatial groupnorm share. */
export const EPS_PARAM: ParamSpec = {
  name: 'eps',
  flag: 'eps',
  help: 'added to the variance before the square root',
  kind: 'float',
  default: 1e-5,
  min: 0,
  minExclusive: true,
};

// ---------------------------------------------------------------------------------------
// Naive: the specification, per row, backward by the chain rule one stage at a time.
// ---------------------------------------------------------------------------------------

export interface LayernormNaiveCache {
  x: Tensor;
  xhat: Tensor;
  gamma: Tensor;
  mean: Float64Array;
  variance: Float64Array;
  eps: number;
}

/** Naive forward: x (N,D), gamma, beta (D,) -> out (N,D). */
export function layernormForwardNaive(inputs: Inputs, params: LayernormParams): ForwardResult<LayernormNaiveCache> {
  const { x, gamma, beta } = inputs;
  const { eps } = params;
  const [N, D] = x.shape;
  const mean = new Float64Array(N);
  const variance = new Float64Array(N);
  const xhat = zeros([N, D]);
  const out = zeros([N, D]);
  for (let n = 0; n < N; n++) {
    let sum = 0;
    for (let d = 0; d < D; d++) sum += x.data[n * D + d];
    mean[n] = sum / D;
    let sq = 0;
    for (let d = 0; d < D; d++) {
      const xc = x.data[n * D + d] - mean[n];
      sq += xc * xc;
    }
    variance[n] = sq / D;
    for (let d = 0; d < D; d++) {
      const i = n * D + d;
      xhat.data[i] = (x.data[i] - mean[n]) / Math.sqrt(variance[n] + eps);
      out.data[i] = gamma.data[d] * xhat.data[i] + beta.data[d];
    }
  }
  const cache: LayernormNaiveCache = { x, xhat, gamma, mean, variance, eps };
  return { out, cache };
}

/** Naive backward: dx (N,D), dgamma, dbeta (D,) from dout (N,D). */
export function layernormBackwardNaive(dout: Tensor, cache: LayernormNaiveCache): Gradients {
  const { x, xhat, gamma, mean, variance, eps } = cache;
  const [N, D] = x.shape;
  const dx = zeros([N, D]);
  const dgamma = zeros([D]);
  const dbeta = zeros([D]);
  for (let n = 0; n < N; n++) {
    const std = Math.sqrt(variance[n] + eps);
    let dvar = 0;
    let dmean = 0;
    let sumXc = 0;
    for (let d = 0; d < D; d++) {
      const i = n * D + d;
      const dxhat = dout.data[i] * gamma.data[d];
      dgamma.data[d] += dout.data[i] * xhat.data[i];
      dbeta.data[d] += dout.data[i];
      dvar += dxhat * (x.data[i] - mean[n]) * -0.5 * (variance[n] + eps) ** -1.5;
      dmean += -dxhat / std;
      sumXc += x.data[i] - mean[n];
    }
    dmean += (dvar * -2 * sumXc) / D;
    for (let d = 0; d < D; d++) {
      const i = n * D + d;
      const dxhat = dout.data[i] * gamma.data[d];
      dx.data[i] = dxhat / std + (dvar * 2 * (x.data[i] - mean[n])) / D + dmean / D;
    }
  }
  return { dx, dgamma, dbeta };
}

// ---------------------------------------------------------------------------------------
// Fast: fused loops over contiguous blocks, in the dtype of x, closed-form backward.
// ---------------------------------------------------------------------------------------

export interface BlockNormCache {
  view: BlockView;
  xShape: number[];
  gammaShape: number[];
  dtype: DType;
  xhat: FloatArray;
  gamma: FloatArray;
  /** 1 / sqrt(var + eps) per block, N*G values. */
  invStd: Float64Array;
}

/** Fast forward on x viewed as `view`; gamma and beta hold G*Cg values (any shape); out in x's dtype. */
export function blockNormForwardFast(inputs: Inputs, eps: number, view: BlockView): ForwardResult<BlockNormCache> {
  const { x, gamma, beta } = inputs;
  const dtype = dtypeOf(x);
  const out = freshTensor(x.shape, dtype);
  const xhat = freshTensor(x.shape, dtype).data;
  const invStd = new Float64Array(view.N * view.G);
  blockNormForward(out.data, xhat, invStd, x.data, gamma.data, beta.data, eps, view);
  const cache: BlockNormCache = { view, xShape: [...x.shape], gammaShape: [...gamma.shape], dtype, xhat, gamma: gamma.data, invStd };
  return { out, cache };
}

/** Fast backward for blockNormForwardFast: dx in x's shape, dgamma and dbeta in gamma's shape, in x's dtype. */
export function blockNormBackwardFast(dout: Tensor, cache: BlockNormCache): Gradients {
  const { view, xShape, gammaShape, dtype, xhat, gamma, invStd } = cache;
  const dx = freshTensor(xShape, dtype);
  const dgamma = zeros(gammaShape, dtype);
  const dbeta = zeros(gammaShape, dtype);
  blockNormBackward(dx.data, dgamma.data, dbeta.data, dout.data, xhat, gamma, invStd, view);
  return { dx, dgamma, dbeta };
}

/**
 * Bytes of a normalization's naive passes over X elements, float64: out and xhat, `stats` mean and
 * variance values (one per row or group); dx, and `params` values each of dgamma and dbeta.
 */
export function normNaiveMemory(X: number, stats: number, params: number): PassMemory {
  return {
    forward: { out: bytesOf('float64', X), xhat: bytesOf('float64', X), statistics: bytesOf('float64', 2 * stats) },
    backward: { dx: bytesOf('float64', X), 'dgamma, dbeta': bytesOf('float64', 2 * params) },
  };
}

/** Bytes of blockNormForwardFast and its backward on X elements viewed as `view`, in `dtype`. */
export function blockNormFastMemory(X: number, view: BlockView, dtype: DType): PassMemory {
  const P = view.G * view.Cg;
  return {
    forward: { out: bytesOf(dtype, X), xhat: bytesOf(dtype, X), statistics: bytesOf('float64', view.N * view.G) },
    backward: { dx: bytesOf(dtype, X), 'dgamma, dbeta': bytesOf(dtype, 2 * P) + bytesOf('float64', 2 * P) },
  };
}

/** Fast forward: x (N,D) -> out (N,D) in x's dtype; the (N, 1, D, 1) view of blockNormForwardFast. */
export function layernormForwardFast(inputs: Inputs, params: LayernormParams): ForwardResult<BlockNormCache> {
  const [N, D] = inputs.x.shape;
  return blockNormForwardFast(inputs, params.eps, { N, G: 1, Cg: D, S: 1 });
}

/** Fast backward: dx (N,D), dgamma, dbeta (D,) in x's dtype. */
export const layernormBackwardFast = blockNormBackwardFast;

export const layernorm = defineLayer<LayernormParams>({
  name: 'layernorm',
  summary: 'layer normalization of (N,D) features, per sample over D',
  inputs: [
    { name: 'x', help: 'input (N,D)', grad: true, shape: [4, 5] },
    { name: 'gamma', help: 'scale (D,)', grad: true, shape: (s) => [s.x[1]] },
    { name: 'beta', help: 'shift (D,)', grad: true, shape: (s) => [s.x[1]] },
  ],
  params: [EPS_PARAM],
  // The mid-size benchmark's 2M elements as (N, D): 32 samples of 65536 features.
  benchCases: [{ shapes: { x: [32, 65536] } }],
  check(shapes) {
    const where = 'layernorm';
    requireRank(where, 'x', shapes.x, 2, 'N,D');
    requireShape(where, 'gamma', shapes.gamma, [shapes.x[1]]);
    requireShape(where, 'beta', shapes.beta, [shapes.x[1]]);
  },
  memory: (shapes, _params, { dtype }) => {
    const [N, D] = shapes.x;
    return { out: N * D, impls: { naive: normNaiveMemory(N * D, N, D), fast: blockNormFastMemory(N * D, { N, G: 1, Cg: D, S: 1 }, dtype) } };
  },
  impls: {
    naive: defineImpl(layernormForwardNaive, layernormBackwardNaive),
    fast: defineImpl(layernormForwardFast, layernormBackwardFast),
  },
  // Same numerics as batchnorm (see there): ~1e-10 absolute error, worst element near 0.
  // Measured over 4000 runs at the defaults: max 2.4e-7, 4 above 1e-7; x (10,16): 1 of 6000
  // runs above 1e-5 (max 1.1e-5). 1e-5 keeps false failures near 1 in 1e4 runs at the defaults.
  tolerance: { grad: 1e-5 },
});
