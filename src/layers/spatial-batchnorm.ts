/**
 * Spatial batch normalization, cs231n conventions: x (N,C,H,W) -> out (N,C,H,W) with
 * statistics per channel over N, H and W; otherwise exactly batchnorm (modes, eps, momentum,
 * running statistics as state). gamma and beta are accepted as (C,) or (1,C,1,1) and their
 * gradients come back in the shape given; running statistics are (C,).
 *
 * No math of its own: naive moves channels last, (N*H*W, C), and runs batchnorm's naive pass,
 * as cs231n does; fast runs batchnorm's kernel on the (N, C, H*W) view without moving data.
 */
import { formatShape, sameShape, zeros, type Tensor } from '../tensor/tensor.js';
import { ShapeError } from '../errors.js';
import { defineImpl, defineLayer, type ForwardResult, type Gradients, type Inputs } from './types.js';
import { requireRank, requireShape } from './geometry.js';
import {
  BATCHNORM_PARAMS, batchStatsBackwardFast, batchStatsFastMemory, batchStatsForwardFast, batchnormBackwardNaive,
  batchnormForwardNaive, batchnormNaiveMemory, type BatchStatsCache, type BatchnormNaiveCache, type BatchnormParams,
} from './batchnorm.js';
import { bytesOf } from '../memory/estimate.js';

/** (N,C,H,W) -> (N*H*W, C): every pixel of every sample becomes a row of C features. */
function channelsLast(t: Tensor): Tensor {
  const [N, C, H, W] = t.shape;
  const S = H * W;
  const out = zeros([N * S, C]);
  for (let n = 0; n < N; n++) {
    for (let c = 0; c < C; c++) {
      for (let s = 0; s < S; s++) out.data[(n * S + s) * C + c] = t.data[(n * C + c) * S + s];
    }
  }
  return out;
}

/** (N*H*W, C) -> (N,C,H,W), the inverse of channelsLast. */
function channelsFirst(t: Tensor, shape: readonly number[]): Tensor {
  const [N, C, H, W] = shape;
  const S = H * W;
  const out = zeros(shape);
  for (let n = 0; n < N; n++) {
    for (let c = 0; c < C; c++) {
      for (let s = 0; s < S; s++) out.data[(n * C + c) * S + s] = t.data[(n * S + s) * C + c];
    }
  }
  return out;
}

interface SpatialBatchnormNaiveCache {
  bn: BatchnormNaiveCache;
  xShape: number[];
  gammaShape: number[];
}

/**
 * Naive forward: x (N,C,H,W), gamma, beta (C,) or (1,C,1,1), running stats (C,) ->
 * out (N,C,H,W); state running_mean, running_var (C,).
 */
export function spatialBatchnormForwardNaive(inputs: Inputs, params: BatchnormParams): ForwardResult<SpatialBatchnormNaiveCache> {
  const { x, gamma } = inputs;
  const res = batchnormForwardNaive({ ...inputs, x: channelsLast(x) }, params);
  const cache: SpatialBatchnormNaiveCache = { bn: res.cache, xShape: [...x.shape], gammaShape: [...gamma.shape] };
  return { out: channelsFirst(res.out, x.shape), cache, state: res.state };
}

/** Naive backward: dx (N,C,H,W), dgamma and dbeta in gamma's shape. */
export function spatialBatchnormBackwardNaive(dout: Tensor, cache: SpatialBatchnormNaiveCache): Gradients {
  const { bn, xShape, gammaShape } = cache;
  const g = batchnormBackwardNaive(channelsLast(dout), bn);
  return {
    dx: channelsFirst(g.dx, xShape),
    dgamma: { data: g.dgamma.data, shape: [...gammaShape] },
    dbeta: { data: g.dbeta.data, shape: [...gammaShape] },
  };
}

/** Fast forward: x (N,C,H,W) -> out in x's dtype; batchnorm's kernel on the (N, C, H*W) view. */
export function spatialBatchnormForwardFast(inputs: Inputs, params: BatchnormParams): ForwardResult<BatchStatsCache> {
  const [N, C, H, W] = inputs.x.shape;
  return batchStatsForwardFast(inputs, params, { A: N, C, B: H * W });
}

/** Fast backward: dx (N,C,H,W), dgamma and dbeta in gamma's shape, in x's dtype. */
export const spatialBatchnormBackwardFast = batchStatsBackwardFast;

/** Throws unless `shape` is (C,) or (1,C,1,1). */
export function requirePerChannel(where: string, name: string, shape: readonly number[], C: number): void {
  if (!sameShape(shape, [C]) && !sameShape(shape, [1, C, 1, 1])) {
    throw new ShapeError(`${where}: ${name} must have shape ${formatShape([C])} or ${formatShape([1, C, 1, 1])}, got ${formatShape(shape)}`);
  }
}

export const spatialBatchnorm = defineLayer<BatchnormParams>({
  name: 'spatial_batchnorm',
  summary: 'batch normalization of (N,C,H,W) per channel over N,H,W, train or test mode',
  inputs: [
    { name: 'x', help: 'input (N,C,H,W)', grad: true, shape: [2, 3, 4, 5] },
    { name: 'gamma', help: 'scale (C,) or (1,C,1,1)', grad: true, shape: (s) => [s.x[1]] },
    { name: 'beta', help: 'shift, the shape of gamma', grad: true, shape: (s) => [...s.gamma] },
    { name: 'running_mean', help: 'running mean (C,)', grad: false, shape: (s) => [s.x[1]], init: 'zeros' },
    { name: 'running_var', help: 'running variance (C,)', grad: false, shape: (s) => [s.x[1]], init: 'zeros' },
  ],
  params: [...BATCHNORM_PARAMS],
  // The mid-size benchmark shape of cnn-check bench: x 32,64,32,32 (2M elements).
  benchCases: [{ shapes: { x: [32, 64, 32, 32] } }],
  check(shapes) {
    const where = 'spatial_batchnorm';
    requireRank(where, 'x', shapes.x, 4, 'N,C,H,W');
    const C = shapes.x[1];
    requirePerChannel(where, 'gamma', shapes.gamma, C);
    requireShape(where, 'beta', shapes.beta, shapes.gamma);
    requireShape(where, 'running_mean', shapes.running_mean, [C]);
    requireShape(where, 'running_var', shapes.running_var, [C]);
  },
  memory: (shapes, _params, { dtype }) => {
    const [N, C, H, W] = shapes.x;
    const X = N * C * H * W;
    // Naive: batchnorm's passes on channel-last copies, and the results moved back to channels-first.
    const bn = batchnormNaiveMemory(N * H * W, C);
    const copy = bytesOf('float64', X);
    const naive = {
      forward: { ...bn.forward, 'x channels-last': copy, out: bn.forward.out + copy },
      backward: { ...bn.backward, 'dout channels-last': copy, dx: bn.backward.dx + copy },
    };
    return { out: X, impls: { naive, fast: batchStatsFastMemory(X, C, dtype) } };
  },
  impls: {
    naive: defineImpl(spatialBatchnormForwardNaive, spatialBatchnormBackwardNaive),
    fast: defineImpl(spatialBatchnormForwardFast, spatialBatchnormBackwardFast),
  },
  // Batchnorm's numerics (see there); one perturbation moves all N*H*W outputs of its channel, so
  // rounding dominates. With the rounding-noise floor of the checker, 500 seeds x naive, fast at
  // the defaults measure median 5e-9, max 8.3e-7.
  tolerance: { grad: 1e-5 },
  stateOutputs: ['running_mean', 'running_var'],
});
