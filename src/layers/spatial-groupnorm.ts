/**
 * Spatial group normalization, cs231n conventions: x (N,C,H,W) -> out (N,C,H,W). The C
 * channels form G groups of C/G consecutive channels (channel c is in group floor(c / (C/G)));
 * statistics run per sample and group over (C/G)*H*W elements, biased variance, and
 * out = gamma[c] * xhat + beta[c] with gamma, beta (1,C,1,1) as in cs231n or (C,).
 * G = 1 is layer normalization over (C,H,W), G = C instance normalization.
 *
 * Naive spells the definition out; fast runs the plane kernels of src/kernels/norm-planes.ts on
 * the (N*C planes of H*W) view, combined per group (layernorm's block kernel on the (N, G, C/G, H*W)
 * view when WASM is unavailable: each group of a sample is contiguous in NCHW).
 */
import { ParamError } from '../errors.js';
import { zeros, type Tensor } from '../tensor/tensor.js';
import { defineImpl, defineLayer, type ForwardResult, type Gradients, type Inputs, type ParamSpec } from './types.js';
import { requireRank, requireShape } from './geometry.js';
import { EPS_PARAM, blockNormBackwardFast, blockNormFastMemory, blockNormForwardFast, normNaiveMemory, type BlockNormCache } from './layernorm.js';
import { requirePerChannel } from './spatial-batchnorm.js';
import { asDType, dtypeOf, type DType, type FloatArray } from '../tensor/tensor.js';
import { planeKernelsRun, planeNormBackward, planeNormForward } from '../kernels/norm-planes.js';
import { planeFastMemory } from './spatial-batchnorm.js';
import { freshTensor } from '../kernels/fresh.js';
import { noteKernel } from '../kernels/provenance.js';

const G_PARAM: ParamSpec = {
  name: 'G',
  flag: 'groups',
  help: 'number of channel groups, must divide C',
  kind: 'int',
  default: 2,
  min: 1,
};

/** The params of spatial groupnorm. */
export type SpatialGroupnormParams = { G: number; eps: number };

export interface SpatialGroupnormNaiveCache {
  x: Tensor;
  xhat: Tensor;
  gamma: Tensor;
  G: number;
  /** Per (n, g), N*G values. */
  mean: Float64Array;
  variance: Float64Array;
  eps: number;
}

/** Naive forward: x (N,C,H,W), gamma, beta (1,C,1,1) or (C,) -> out (N,C,H,W). */
export function spatialGroupnormForwardNaive(inputs: Inputs, params: SpatialGroupnormParams): ForwardResult<SpatialGroupnormNaiveCache> {
  const { x, gamma, beta } = inputs;
  const { G, eps } = params;
  const [N, C, H, W] = x.shape;
  const Cg = C / G;
  const M = Cg * H * W;
  const idx = (n: number, c: number, h: number, w: number): number => ((n * C + c) * H + h) * W + w;
  const mean = new Float64Array(N * G);
  const variance = new Float64Array(N * G);
  const xhat = zeros(x.shape);
  const out = zeros(x.shape);
  for (let n = 0; n < N; n++) {
    for (let g = 0; g < G; g++) {
      let sum = 0;
      for (let c = g * Cg; c < (g + 1) * Cg; c++) {
        for (let h = 0; h < H; h++) for (let w = 0; w < W; w++) sum += x.data[idx(n, c, h, w)];
      }
      const mu = sum / M;
      let sq = 0;
      for (let c = g * Cg; c < (g + 1) * Cg; c++) {
        for (let h = 0; h < H; h++) {
          for (let w = 0; w < W; w++) {
            const xc = x.data[idx(n, c, h, w)] - mu;
            sq += xc * xc;
          }
        }
      }
      const v = sq / M;
      mean[n * G + g] = mu;
      variance[n * G + g] = v;
      for (let c = g * Cg; c < (g + 1) * Cg; c++) {
        for (let h = 0; h < H; h++) {
          for (let w = 0; w < W; w++) {
            const i = idx(n, c, h, w);
            xhat.data[i] = (x.data[i] - mu) / Math.sqrt(v + eps);
            out.data[i] = gamma.data[c] * xhat.data[i] + beta.data[c];
          }
        }
      }
    }
  }
  const cache: SpatialGroupnormNaiveCache = { x, xhat, gamma, G, mean, variance, eps };
  return { out, cache };
}

/** Naive backward: dx (N,C,H,W), dgamma and dbeta in gamma's shape, stage by stage per (n, g). */
export function spatialGroupnormBackwardNaive(dout: Tensor, cache: SpatialGroupnormNaiveCache): Gradients {
  const { x, xhat, gamma, G, mean, variance, eps } = cache;
  const [N, C, H, W] = x.shape;
  const Cg = C / G;
  const M = Cg * H * W;
  const idx = (n: number, c: number, h: number, w: number): number => ((n * C + c) * H + h) * W + w;
  const dx = zeros(x.shape);
  const dgamma = zeros(gamma.shape);
  const dbeta = zeros(gamma.shape);
  for (let n = 0; n < N; n++) {
    for (let g = 0; g < G; g++) {
      const mu = mean[n * G + g];
      const v = variance[n * G + g];
      const std = Math.sqrt(v + eps);
      let dvar = 0;
      let dmean = 0;
      let sumXc = 0;
      for (let c = g * Cg; c < (g + 1) * Cg; c++) {
        for (let h = 0; h < H; h++) {
          for (let w = 0; w < W; w++) {
            const i = idx(n, c, h, w);
            const dxhat = dout.data[i] * gamma.data[c];
            dgamma.data[c] += dout.data[i] * xhat.data[i];
            dbeta.data[c] += dout.data[i];
            dvar += dxhat * (x.data[i] - mu) * -0.5 * (v + eps) ** -1.5;
            dmean += -dxhat / std;
            sumXc += x.data[i] - mu;
          }
        }
      }
      dmean += (dvar * -2 * sumXc) / M;
      for (let c = g * Cg; c < (g + 1) * Cg; c++) {
        for (let h = 0; h < H; h++) {
          for (let w = 0; w < W; w++) {
            const i = idx(n, c, h, w);
            const dxhat = dout.data[i] * gamma.data[c];
            dx.data[i] = dxhat / std + (dvar * 2 * (x.data[i] - mu)) / M + dmean / M;
          }
        }
      }
    }
  }
  return { dx, dgamma, dbeta };
}

/** The fast pass's cache: statistics per (sample, group), x itself (xhat is recomputed, never stored). */
export interface SpatialGroupnormFastCache {
  /** x (N,C,H,W) as given to forward. */
  x: FloatArray;
  xShape: number[];
  gammaShape: number[];
  dtype: DType;
  G: number;
  gamma: FloatArray;
  /** Per (n, g), float64. */
  mean: Float64Array;
  invStd: Float64Array;
  /** The JS kernels' cache when the WASM kernels are unavailable. */
  js?: BlockNormCache;
}

/**
 * Fast forward: x (N,C,H,W) -> out in x's dtype, on the plane kernels (src/kernels/norm-planes.ts):
 * per (n, c) plane shifted sums, combined per (n, g), then out = (x - mean) * gamma * inv_std + beta,
 * on both threads; layernorm's JS block kernel on (N, G, C/G, H*W) without WASM.
 */
export function spatialGroupnormForwardFast(inputs: Inputs, params: SpatialGroupnormParams): ForwardResult<SpatialGroupnormFastCache> {
  const [N, C, H, W] = inputs.x.shape;
  const { G, eps } = params;
  const dtype = dtypeOf(inputs.x);
  const base = { x: inputs.x.data, xShape: [...inputs.x.shape], gammaShape: [...inputs.gamma.shape], dtype, G };
  if (!planeKernelsRun(N * C, H * W, dtype)) {
    noteKernel('spatial_groupnorm: js');
    const res = blockNormForwardFast(inputs, eps, { N, G, Cg: C / G, S: H * W });
    return { out: res.out, cache: { ...base, gamma: res.cache.gamma, mean: new Float64Array(0), invStd: res.cache.invStd, js: res.cache } };
  }
  noteKernel('spatial_groupnorm: wasm planes');
  const x = inputs.x.data;
  const Cg = C / G;
  const B = H * W;
  const L = Cg * B;
  const P = N * C;
  const gamma = asDType(inputs.gamma.data, dtype);
  const beta = inputs.beta.data;
  const mean = new Float64Array(N * G);
  const invStd = new Float64Array(N * G);
  // NOTE: every plane of block (n, g) is shifted by the block's first value, so the per-plane sums add up.
  const shift = Float64Array.from({ length: P }, (_, p) => x[Math.floor(p / Cg) * L]);
  const out = freshTensor(inputs.x.shape, dtype);
  planeNormForward(out.data, x, P, B, dtype, shift, (s1, s2) => {
    const center = new Float64Array(P);
    const scale = new Float64Array(P);
    const bias = new Float64Array(P);
    for (let blk = 0; blk < N * G; blk++) {
      let t1 = 0;
      let t2 = 0;
      for (let p = blk * Cg; p < (blk + 1) * Cg; p++) {
        t1 += s1![p];
        t2 += s2![p];
      }
      mean[blk] = shift[blk * Cg] + t1 / L;
      invStd[blk] = 1 / Math.sqrt(Math.max(0, (t2 - (t1 * t1) / L) / L) + eps);
      for (let p = blk * Cg; p < (blk + 1) * Cg; p++) {
        const c = p % C;
        center[p] = mean[blk];
        scale[p] = gamma[c] * invStd[blk];
        bias[p] = beta[c];
      }
    }
    return { center, scale, bias };
  });
  return { out, cache: { ...base, gamma, mean, invStd } };
}

/**
 * Fast backward: dx (N,C,H,W), dgamma and dbeta in gamma's shape, in x's dtype. Per plane the fused
 * sums of dout and dout * (x - mean); per block of L = (C/G)*H*W values, with dxhat = gamma[c] * dout,
 * dx = (inv_std / L) * (L * dxhat - sum(dxhat) - xhat * sum(dxhat * xhat)) in one pass.
 */
export function spatialGroupnormBackwardFast(dout: Tensor, cache: SpatialGroupnormFastCache): Gradients {
  if (cache.js) return blockNormBackwardFast(dout, cache.js);
  const { x, xShape, gammaShape, dtype, G, gamma, mean, invStd } = cache;
  const [N, C, H, W] = xShape;
  const Cg = C / G;
  const B = H * W;
  const L = Cg * B;
  const P = N * C;
  const dx = freshTensor(xShape, dtype);
  const dgamma = freshTensor(gammaShape, dtype);
  const dbeta = freshTensor(gammaShape, dtype);
  const center = Float64Array.from({ length: P }, (_, p) => mean[Math.floor(p / Cg)]);
  planeNormBackward(dx.data, asDType(dout.data, dtype), x, P, B, dtype, center, (t1, t2) => {
    const ka = new Float64Array(P);
    const kb = new Float64Array(P);
    const kc = new Float64Array(P);
    const dg = new Float64Array(C);
    const dbt = new Float64Array(C);
    for (let blk = 0; blk < N * G; blk++) {
      const is = invStd[blk];
      let sumDxhat = 0;
      let sumDxhatXhat = 0;
      for (let p = blk * Cg; p < (blk + 1) * Cg; p++) {
        const c = p % C;
        dbt[c] += t1[p];
        dg[c] += is * t2[p];
        sumDxhat += gamma[c] * t1[p];
        sumDxhatXhat += gamma[c] * is * t2[p];
      }
      for (let p = blk * Cg; p < (blk + 1) * Cg; p++) {
        ka[p] = is * gamma[p % C];
        kb[p] = -(is / L) * is * sumDxhatXhat;
        kc[p] = -(is / L) * sumDxhat;
      }
    }
    dgamma.data.set(dg);
    dbeta.data.set(dbt);
    return { ka, kb, kc };
  });
  return { dx, dgamma, dbeta };
}

export const spatialGroupnorm = defineLayer<SpatialGroupnormParams>({
  name: 'spatial_groupnorm',
  summary: 'group normalization of (N,C,H,W) per sample over groups of C/G channels',
  inputs: [
    { name: 'x', help: 'input (N,C,H,W)', grad: true, shape: [2, 6, 4, 5] },
    { name: 'gamma', help: 'scale (1,C,1,1) or (C,)', grad: true, shape: (s) => [1, s.x[1], 1, 1] },
    { name: 'beta', help: 'shift, the shape of gamma', grad: true, shape: (s) => [...s.gamma] },
  ],
  params: [G_PARAM, EPS_PARAM],
  // The mid-size benchmark shape of cnn-check bench, with 8 groups of 8 channels.
  benchCases: [{ shapes: { x: [32, 64, 32, 32] }, params: { G: 8 } }],
  check(shapes, params) {
    const where = 'spatial_groupnorm';
    requireRank(where, 'x', shapes.x, 4, 'N,C,H,W');
    const C = shapes.x[1];
    const { G } = params;
    if (C % G !== 0) throw new ParamError(`${where}: expected G to divide C, got C = ${C}, G = ${G}`);
    requirePerChannel(where, 'gamma', shapes.gamma, C);
    requireShape(where, 'beta', shapes.beta, shapes.gamma);
  },
  memory: (shapes, params, { dtype, threads }) => {
    const [N, C, H, W] = shapes.x;
    const X = N * C * H * W;
    return {
      out: X,
      impls: {
        naive: normNaiveMemory(X, N * params.G, C),
        fast: planeKernelsRun(N * C, H * W, dtype)
          ? planeFastMemory(X, C, N * C, H * W, dtype, threads)
          : blockNormFastMemory(X, { N, G: params.G, Cg: C / params.G, S: H * W }, dtype),
      },
    };
  },
  impls: {
    naive: defineImpl(spatialGroupnormForwardNaive, spatialGroupnormBackwardNaive),
    fast: defineImpl(spatialGroupnormForwardFast, spatialGroupnormBackwardFast),
  },
  // Batchnorm's numerics (see there); a perturbation moves the (C/G)*H*W outputs of its group, so
  // rounding dominates. With the rounding-noise floor of the checker, 500 seeds x naive, fast at
  // the defaults measure median 2e-8, max 1.1e-6. Broken passes (normalizing per channel,
  // dividing by the wrong count) measure 1.0. NOTE: a mistake of eps's size (backward without
  // eps) measures only 2e-5..3e-2; check with --eps 1e-2 to make such mistakes large.
  tolerance: { grad: 1e-5 },
});
