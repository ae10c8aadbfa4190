/**
 * The normalization kernels the fast norm layers share. They know views of memory, not layers:
 *
 * - channel statistics: x viewed as (A, C, B), statistics of channel c over its A*B elements.
 *   batchnorm is (N, D, 1), spatial batchnorm (N, C, H*W).
 * - block statistics: x viewed as (N, G, Cg, S), statistics of block (n, g) over its Cg*S
 *   contiguous elements, gamma per channel g*Cg + cg. layernorm is (N, 1, D, 1), spatial
 *   groupnorm (N, G, C/G, H*W).
 *
 * Outputs come first and are written, never allocated here. Statistics accumulate in float64
 * whatever the dtype of x; xhat and out are in the dtype of their arrays.
 */
import type { FloatArray } from '../tensor/tensor.js';

/** x viewed as (A, C, B): channel c's statistics run over its A*B elements. */
export interface ChannelView {
  A: number;
  C: number;
  B: number;
}

/**
 * Mean and biased variance per channel into `mean` and `variance` (C values each).
 * PERF: x is read in memory order with per-channel accumulators, in one pass of sums shifted
 * by each channel's first element (stable unless the spread is tiny against the distance to
 * that sample).
 */
export function channelStats(mean: Float64Array, variance: Float64Array, x: FloatArray, view: ChannelView): void {
  const { A, C, B } = view;
  const M = A * B;
  const shift = new Float64Array(C);
  for (let c = 0; c < C; c++) shift[c] = x[c * B];
  const s1 = new Float64Array(C);
  const s2 = new Float64Array(C);
  let i = 0;
  for (let a = 0; a < A; a++) {
    for (let c = 0; c < C; c++) {
      const k = shift[c];
      let t1 = 0;
      let t2 = 0;
      for (let b = 0; b < B; b++, i++) {
        const v = x[i] - k;
        t1 += v;
        t2 += v * v;
      }
      s1[c] += t1;
      s2[c] += t2;
    }
  }
  for (let c = 0; c < C; c++) {
    mean[c] = shift[c] + s1[c] / M;
    variance[c] = Math.max(0, (s2[c] - (s1[c] * s1[c]) / M) / M);
  }
}

/** xhat = (x - mean[c]) * invStd[c] and out = gamma[c] * xhat + beta[c] over the channel view. */
export function channelNormForward(
  out: FloatArray,
  xhat: FloatArray,
  x: FloatArray,
  gamma: FloatArray,
  beta: FloatArray,
  mean: Float64Array,
  invStd: Float64Array,
  view: ChannelView,
): void {
  const { A, C, B } = view;
  let i = 0;
  for (let a = 0; a < A; a++) {
    for (let c = 0; c < C; c++) {
      const mu = mean[c];
      const is = invStd[c];
      const gm = gamma[c];
      const bt = beta[c];
      for (let b = 0; b < B; b++, i++) {
        const xh = (x[i] - mu) * is;
        xhat[i] = xh;
        out[i] = gm * xh + bt;
      }
    }
  }
}

/**
 * Backward of channelNormForward into dx, dgamma and dbeta (C values each). With
 * dxhat = gamma * dout, sum(dxhat) = gamma * dbeta and sum(dxhat * xhat) = gamma * dgamma, so
 * with batch statistics (`train`) it is the closed form
 * dx = (gamma * inv_std / M) * (M*dout - dbeta - xhat * dgamma); with fixed statistics
 * dx = gamma * inv_std * dout.
 */
export function channelNormBackward(
  dx: FloatArray,
  dgamma: FloatArray,
  dbeta: FloatArray,
  dout: FloatArray,
  xhat: FloatArray,
  gamma: FloatArray,
  invStd: Float64Array,
  view: ChannelView,
  train: boolean,
): void {
  const { A, C, B } = view;
  const M = A * B;
  const sumDout = new Float64Array(C);
  const sumDoutXhat = new Float64Array(C);
  let i = 0;
  for (let a = 0; a < A; a++) {
    for (let c = 0; c < C; c++) {
      let t1 = 0;
      let t2 = 0;
      for (let b = 0; b < B; b++, i++) {
        t1 += dout[i];
        t2 += dout[i] * xhat[i];
      }
      sumDout[c] += t1;
      sumDoutXhat[c] += t2;
    }
  }
  i = 0;
  for (let a = 0; a < A; a++) {
    for (let c = 0; c < C; c++) {
      if (!train) {
        const coef = gamma[c] * invStd[c];
        for (let b = 0; b < B; b++, i++) dx[i] = coef * dout[i];
      } else {
        const coef = (gamma[c] * invStd[c]) / M;
        const sb = sumDout[c];
        const sg = sumDoutXhat[c];
        for (let b = 0; b < B; b++, i++) dx[i] = coef * (M * dout[i] - sb - xhat[i] * sg);
      }
    }
  }
  dgamma.set(sumDoutXhat);
  dbeta.set(sumDout);
}

/** x viewed as (N, G, Cg, S): block (n, g) holds channels g*Cg .. g*Cg+Cg-1, S values each. */
export interface BlockView {
  N: number;
  G: number;
  Cg: number;
  S: number;
}

/**
 * Normalize each block with its own statistics: out, xhat in x's layout, invStd (N*G values).
 * PERF: each block is contiguous in NCHW, so both passes stream through memory: shifted sums
 * for the statistics, then xhat and out written together.
 */
export function blockNormForward(
  out: FloatArray,
  xhat: FloatArray,
  invStd: Float64Array,
  x: FloatArray,
  gamma: FloatArray,
  beta: FloatArray,
  eps: number,
  view: BlockView,
): void {
  const { N, G, Cg, S } = view;
  const L = Cg * S;
  for (let blk = 0; blk < N * G; blk++) {
    const base = blk * L;
    const k = x[base];
    let s1 = 0;
    let s2 = 0;
    for (let j = base; j < base + L; j++) {
      const v = x[j] - k;
      s1 += v;
      s2 += v * v;
    }
    const mu = k + s1 / L;
    const is = 1 / Math.sqrt(Math.max(0, (s2 - (s1 * s1) / L) / L) + eps);
    invStd[blk] = is;
    const c0 = (blk % G) * Cg;
    let i = base;
    for (let cg = 0; cg < Cg; cg++) {
      const gm = gamma[c0 + cg];
      const bt = beta[c0 + cg];
      for (let s = 0; s < S; s++, i++) {
        const xh = (x[i] - mu) * is;
        xhat[i] = xh;
        out[i] = gm * xh + bt;
      }
    }
  }
}

/**
 * Backward of blockNormForward into dx, dgamma and dbeta (G*Cg values each). Per block of L
 * elements, with dxhat = gamma[c] * dout:
 * dx = (1/L) * inv_std * (L*dxhat - sum(dxhat) - xhat * sum(dxhat*xhat)).
 */
export function blockNormBackward(
  dx: FloatArray,
  dgamma: FloatArray,
  dbeta: FloatArray,
  dout: FloatArray,
  xhat: FloatArray,
  gamma: FloatArray,
  invStd: Float64Array,
  view: BlockView,
): void {
  const { N, G, Cg, S } = view;
  const L = Cg * S;
  const dgammaAcc = new Float64Array(G * Cg);
  const dbetaAcc = new Float64Array(G * Cg);
  for (let blk = 0; blk < N * G; blk++) {
    const base = blk * L;
    const c0 = (blk % G) * Cg;
    let sumDxhat = 0;
    let sumDxhatXhat = 0;
    let i = base;
    for (let cg = 0; cg < Cg; cg++) {
      const gm = gamma[c0 + cg];
      let t1 = 0;
      let t2 = 0;
      for (let s = 0; s < S; s++, i++) {
        t1 += dout[i];
        t2 += dout[i] * xhat[i];
      }
      dbetaAcc[c0 + cg] += t1;
      dgammaAcc[c0 + cg] += t2;
      sumDxhat += gm * t1;
      sumDxhatXhat += gm * t2;
    }
    const coef = invStd[blk] / L;
    i = base;
    for (let cg = 0; cg < Cg; cg++) {
      const gm = gamma[c0 + cg];
      for (let s = 0; s < S; s++, i++) dx[i] = coef * (L * gm * dout[i] - sumDxhat - xhat[i] * sumDxhatXhat);
    }
  }
  dgamma.set(dgammaAcc);
  dbeta.set(dbetaAcc);
}
