/**
 * Spatial batch normalization, cs231n conventions: x (N,C,H,W) -> out (N,C,H,W) with
 * statistics per channel over N, H and W; otherwise exactly batchnorm (modes, eps, momentum,
 * running statistics as state). gamma and beta are accepted as (C,) or (1,C,1,1) and their
 * gradients come back in the shape given; running statistics are (C,).
 *
 * Naive moves channels last, (N*H*W, C), and runs batchnorm's naive pass, as cs231n does; fast
 * runs the plane kernels of src/kernels/norm-planes.ts on the (N*C planes of H*W) view, on both
 * threads (batchnorm's JS kernel on the (N, C, H*W) view when WASM is unavailable).
 */
import { formatShape, sameShape, zeros, type Tensor } from '../tensor/tensor.js';
import { ShapeError } from '../errors.js';
import { defineImpl, defineLayer, type ForwardResult, type Gradients, type Inputs, type PassMemory } from './types.js';
import { requireRank, requireShape } from './geometry.js';
import {
  BATCHNORM_PARAMS,
  batchStatsBackwardFast,
  batchStatsFastMemory,
  batchStatsForwardFast,
  batchnormBackwardNaive,
  batchnormForwardNaive,
  batchnormNaiveMemory,
  type BatchStatsCache,
  type BatchnormMode,
  type BatchnormNaiveCache,
  type BatchnormParams,
} from './batchnorm.js';
import { bytesOf } from '../memory/estimate.js';
import { asDType, dtypeOf, type DType, type FloatArray } from '../tensor/tensor.js';
import { planeKernelsRun, planeNormBackward, planeNormForward, planeNormMemory } from '../kernels/norm-planes.js';
import { freshTensor } from '../kernels/fresh.js';
import { noteKernel } from '../kernels/provenance.js';

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

/** The fast pass's cache: statistics per channel, x itself (xhat is recomputed, never stored). */
export interface SpatialBatchnormFastCache {
  mode: BatchnormMode;
  /** x (N,C,H,W) as given to forward (forward passes never modify their inputs). */
  x: FloatArray;
  xShape: number[];
  gammaShape: number[];
  dtype: DType;
  gamma: FloatArray;
  /** Per channel, float64: the statistics the output was normalized with. */
  mean: Float64Array;
  invStd: Float64Array;
  /** The JS kernels' cache when the WASM kernels are unavailable. */
  js?: BatchStatsCache;
}

/**
 * Fast forward: x (N,C,H,W) -> out in x's dtype, on the plane kernels (src/kernels/norm-planes.ts):
 * per (n, c) plane shifted sums in one pass, then out = (x - mean) * gamma * inv_std + beta in one
 * more, on both threads; batchnorm's JS kernel on the (N, C, H*W) view without WASM.
 */
export function spatialBatchnormForwardFast(inputs: Inputs, params: BatchnormParams): ForwardResult<SpatialBatchnormFastCache> {
  const [N, C, H, W] = inputs.x.shape;
  const dtype = dtypeOf(inputs.x);
  const base = { mode: params.mode, x: inputs.x.data, xShape: [...inputs.x.shape], gammaShape: [...inputs.gamma.shape], dtype };
  if (!planeKernelsRun(N * C, H * W, dtype)) {
    noteKernel('spatial_batchnorm: js');
    const res = batchStatsForwardFast(inputs, params, { A: N, C, B: H * W });
    return { out: res.out, state: res.state, cache: { ...base, gamma: res.cache.gamma, mean: new Float64Array(0), invStd: res.cache.invStd, js: res.cache } };
  }
  noteKernel('spatial_batchnorm: wasm planes');
  const { mode, eps, momentum } = params;
  const x = inputs.x.data;
  const B = H * W;
  const M = N * B;
  const P = N * C;
  const gamma = asDType(inputs.gamma.data, dtype);
  const beta = inputs.beta.data;
  const rm = inputs.running_mean.data;
  const rv = inputs.running_var.data;
  const mean = new Float64Array(C);
  const variance = new Float64Array(C);
  const invStd = new Float64Array(C);
  // NOTE: every plane of channel c is shifted by the channel's first value, so the per-plane sums add up.
  const shift = mode === 'train' ? Float64Array.from({ length: P }, (_, p) => x[(p % C) * B]) : null;
  const out = freshTensor(inputs.x.shape, dtype);
  planeNormForward(out.data, x, P, B, dtype, shift, (s1, s2) => {
    for (let c = 0; c < C; c++) {
      if (s1 && s2 && shift) {
        let t1 = 0;
        let t2 = 0;
        for (let n = 0; n < N; n++) {
          t1 += s1[n * C + c];
          t2 += s2[n * C + c];
        }
        mean[c] = shift[c] + t1 / M;
        variance[c] = Math.max(0, (t2 - (t1 * t1) / M) / M);
      } else {
        mean[c] = rm[c];
        variance[c] = rv[c];
      }
      invStd[c] = 1 / Math.sqrt(variance[c] + eps);
    }
    const center = new Float64Array(P);
    const scale = new Float64Array(P);
    const bias = new Float64Array(P);
    for (let p = 0; p < P; p++) {
      const c = p % C;
      center[p] = mean[c];
      scale[p] = gamma[c] * invStd[c];
      bias[p] = beta[c];
    }
    return { center, scale, bias };
  });
  const newMean = freshTensor([C], dtype);
  const newVar = freshTensor([C], dtype);
  for (let c = 0; c < C; c++) {
    newMean.data[c] = mode === 'train' ? momentum * rm[c] + (1 - momentum) * mean[c] : rm[c];
    newVar.data[c] = mode === 'train' ? momentum * rv[c] + (1 - momentum) * variance[c] : rv[c];
  }
  return { out, cache: { ...base, gamma, mean, invStd }, state: { running_mean: newMean, running_var: newVar } };
}

/**
 * Fast backward: dx (N,C,H,W), dgamma and dbeta in gamma's shape, in x's dtype: per plane the fused
 * sums of dout and dout * (x - mean), then dx = gamma * inv_std * (dout - dbeta/M - xhat * dgamma/M)
 * (train) or gamma * inv_std * dout (test) in one pass.
 */
export function spatialBatchnormBackwardFast(dout: Tensor, cache: SpatialBatchnormFastCache): Gradients {
  if (cache.js) return batchStatsBackwardFast(dout, cache.js);
  const { mode, x, xShape, gammaShape, dtype, gamma, mean, invStd } = cache;
  const [N, C, H, W] = xShape;
  const B = H * W;
  const M = N * B;
  const P = N * C;
  const dx = freshTensor(xShape, dtype);
  const dgamma = freshTensor(gammaShape, dtype);
  const dbeta = freshTensor(gammaShape, dtype);
  const center = Float64Array.from({ length: P }, (_, p) => mean[p % C]);
  planeNormBackward(dx.data, asDType(dout.data, dtype), x, P, B, dtype, center, (t1, t2) => {
    const ka = new Float64Array(P);
    const kb = new Float64Array(P);
    const kc = new Float64Array(P);
    for (let c = 0; c < C; c++) {
      let sd = 0;
      let sdc = 0;
      for (let n = 0; n < N; n++) {
        sd += t1[n * C + c];
        sdc += t2[n * C + c];
      }
      const dg = invStd[c] * sdc;
      dgamma.data[c] = dg;
      dbeta.data[c] = sd;
      const k = (gamma[c] * invStd[c]) / M;
      for (let n = 0; n < N; n++) {
        const p = n * C + c;
        ka[p] = gamma[c] * invStd[c];
        kb[p] = mode === 'train' ? -k * invStd[c] * dg : 0;
        kc[p] = mode === 'train' ? -k * sd : 0;
      }
    }
    return { ka, kb, kc };
  });
  return { dx, dgamma, dbeta };
}

/** Throws unless `shape` is (C,) or (1,C,1,1). */
export function requirePerChannel(where: string, name: string, shape: readonly number[], C: number): void {
  if (!sameShape(shape, [C]) && !sameShape(shape, [1, C, 1, 1])) {
    throw new ShapeError(`${where}: ${name} must have shape ${formatShape([C])} or ${formatShape([1, C, 1, 1])}, got ${formatShape(shape)}`);
  }
}

/**
 * The plane kernels' passes over x (N,C,H,W) with S statistics (per channel here, per (n, group) in
 * group norm): out and the statistics, dx and dgamma/dbeta, and the kernels' arena and workers.
 */
export function planeFastMemory(X: number, C: number, P: number, B: number, dtype: DType, threads: number): PassMemory {
  const planes = planeNormMemory(P, B, dtype, threads);
  return {
    forward: { out: bytesOf(dtype, X), statistics: bytesOf('float64', 3 * Math.max(C, P)) + bytesOf(dtype, 2 * C) + planes.perPass },
    backward: { dx: bytesOf(dtype, X), 'dgamma, dbeta': bytesOf(dtype, 2 * C) + bytesOf('float64', 2 * C) + planes.perPass },
    workspace: planes.workspace,
  };
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
  memory: (shapes, _params, { dtype, threads }) => {
    const [N, C, H, W] = shapes.x;
    const X = N * C * H * W;
    // Naive: batchnorm's passes on channel-last copies, and the results moved back to channels-first.
    const bn = batchnormNaiveMemory(N * H * W, C);
    const copy = bytesOf('float64', X);
    const naive = {
      forward: { ...bn.forward, 'x channels-last': copy, out: bn.forward.out + copy },
      backward: { ...bn.backward, 'dout channels-last': copy, dx: bn.backward.dx + copy },
    };
    return {
      out: X,
      impls: { naive, fast: planeKernelsRun(N * C, H * W, dtype) ? planeFastMemory(X, C, N * C, H * W, dtype, threads) : batchStatsFastMemory(X, C, dtype) },
    };
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
