/**
 * Deliberately broken backward passes, the mistakes people make in the cs231n assignment,
 * built on top of a correct implementation so any mode and dtype can be checked against them.
 */
import type { LayerImpl } from '../../src/layers/types.js';
import type { ConvGeometry } from '../../src/layers/geometry.js';
import { maxpoolBackwardNaive, type MaxpoolCache } from '../../src/layers/maxpool.js';
import { dtypeOf, zeros, type Tensor } from '../../src/tensor/tensor.js';

export type Backward = LayerImpl['backward'];
export interface ConvCache {
  x: Tensor;
  w: Tensor;
  geom: ConvGeometry;
}
interface PoolCache {
  xShape: number[];
  argmax: Int32Array;
}

const scaled = (t: Tensor, f: (v: number) => number): Tensor => ({ data: t.data.map(f), shape: t.shape });

/** The broken conv backward passes, built on `impl`'s own passes and in the dtype of its tensors. */
export function brokenConv(impl: LayerImpl): Record<string, Backward> {
  return {
    'dx cropped without the pad offset': (dout, cache) => {
      const { x, w, geom } = cache as ConvCache;
      const { N, C, H, W, stride, pad } = geom;
      const Hp = H + 2 * pad;
      const Wp = W + 2 * pad;
      const xpad = zeros([N, C, Hp, Wp], dtypeOf(x));
      for (let p = 0; p < N * C; p++)
        for (let h = 0; h < H; h++) for (let j = 0; j < W; j++) xpad.data[(p * Hp + h + pad) * Wp + j + pad] = x.data[(p * H + h) * W + j];
      const g = impl.backward(dout, cache);
      const dxpad = impl.backward(dout, impl.forward({ x: xpad, w, b: g.db }, { stride, pad: 0 }).cache).dx;
      const dx = zeros(x.shape, dtypeOf(x));
      for (let p = 0; p < N * C; p++) for (let h = 0; h < H; h++) for (let j = 0; j < W; j++) dx.data[(p * H + h) * W + j] = dxpad.data[(p * Hp + h) * Wp + j];
      return { ...g, dx };
    },
    'db averaged instead of summed': (dout, cache) => {
      const g = impl.backward(dout, cache);
      const { N, Hout, Wout } = (cache as ConvCache).geom;
      return { ...g, db: scaled(g.db, (v) => v / (N * Hout * Wout)) };
    },
    'dw missing the last output row': (dout, cache) => {
      const { geom } = cache as ConvCache;
      const cut = { data: dout.data.slice(), shape: dout.shape };
      for (let n = 0; n < geom.N; n++)
        for (let f = 0; f < geom.F; f++) for (let j = 0; j < geom.Wout; j++) cut.data[((n * geom.F + f) * geom.Hout + geom.Hout - 1) * geom.Wout + j] = 0;
      return { ...impl.backward(dout, cache), dw: impl.backward(cut, cache).dw };
    },
    'dw with the kernel flipped': (dout, cache) => {
      const g = impl.backward(dout, cache);
      const [F, C, HH, WW] = g.dw.shape;
      const dw = zeros(g.dw.shape, dtypeOf(g.dw));
      for (let p = 0; p < F * C; p++)
        for (let i = 0; i < HH; i++) for (let j = 0; j < WW; j++) dw.data[(p * HH + i) * WW + j] = g.dw.data[(p * HH + HH - 1 - i) * WW + WW - 1 - j];
      return { ...g, dw };
    },
    'dx with the wrong sign': (dout, cache) => {
      const g = impl.backward(dout, cache);
      return { ...g, dx: scaled(g.dx, (v) => -v) };
    },
  };
}

/** Broken max-pool backward passes (2x2 windows, stride 2). */
export const poolBroken: Record<string, Backward> = {
  'gradient sent to the next element of the window': (dout, cache) => {
    const { xShape, argmax } = cache as PoolCache;
    return maxpoolBackwardNaive(dout, { xShape, argmax: argmax.map((i) => (i % xShape[3] === xShape[3] - 1 ? i - 1 : i + 1)) });
  },
  'gradient averaged over the window': (dout, cache) => {
    const g = maxpoolBackwardNaive(dout, cache as MaxpoolCache);
    return { dx: scaled(g.dx, (v) => v / 4) };
  },
};

/** The fast normalization caches the broken passes below read (batchnorm.ts, layernorm.ts). */
interface NormCache {
  view: { A: number; C: number; B: number } | { N: number; G: number; Cg: number; S: number };
  xhat: ArrayLike<number>;
  gamma: ArrayLike<number>;
  invStd: Float64Array;
}

/** The spatial norms' plane-kernel caches (x and the statistics; xhat is recomputed, never stored). */
interface PlaneCache {
  x: ArrayLike<number>;
  xShape: number[];
  G?: number;
  gamma: ArrayLike<number>;
  mean: Float64Array;
  invStd: Float64Array;
  js?: NormCache;
}

/** A fast normalization's cache as the broken passes read it: the JS kernels' own, or one rebuilt from a plane-kernel cache. */
function normCache(cache: unknown): NormCache {
  if ('view' in (cache as object)) return cache as NormCache;
  const c = cache as PlaneCache;
  if (c.js) return c.js;
  const [N, C, H, W] = c.xShape;
  const B = H * W;
  const xhat = new Float64Array(N * C * B);
  if (c.G === undefined) {
    // Spatial batchnorm: statistics per channel over (N, H, W).
    for (let i = 0; i < xhat.length; i++) {
      const ch = Math.floor(i / B) % C;
      xhat[i] = (c.x[i] - c.mean[ch]) * c.invStd[ch];
    }
    return { view: { A: N, C, B }, xhat, gamma: c.gamma, invStd: c.invStd };
  }
  // Group norm: statistics per (sample, group) block of C/G channels.
  const Cg = C / c.G;
  for (let i = 0; i < xhat.length; i++) {
    const blk = Math.floor(i / (Cg * B));
    xhat[i] = (c.x[i] - c.mean[blk]) * c.invStd[blk];
  }
  return { view: { N, G: c.G, Cg, S: B }, xhat, gamma: c.gamma, invStd: c.invStd };
}

/**
 * dx of a fast normalization (batchnorm, layernorm, spatial batchnorm or groupnorm) without the path
 * through the mean (`mean`: the -sum(dxhat) term of the closed form dropped) or through the variance
 * (`variance`: the -xhat * sum(dxhat * xhat) term dropped); dgamma and dbeta stay right.
 */
export function brokenNorm(impl: LayerImpl, path: 'mean' | 'variance'): LayerImpl {
  return {
    forward: impl.forward,
    backward(dout, cache) {
      const g = impl.backward(dout, cache);
      const dx = { data: Float64Array.from(g.dx.data), shape: g.dx.shape };
      const { view, xhat, gamma, invStd } = normCache(cache);
      // Each group's elements, their gamma and 1 / std: channel c over (A, B), or block (n, g).
      const groups: { idx: number[]; gm: number[]; is: number }[] = [];
      if ('A' in view) {
        const { A, C, B } = view;
        for (let c = 0; c < C; c++) {
          const idx: number[] = [];
          for (let a = 0; a < A; a++) for (let b = 0; b < B; b++) idx.push((a * C + c) * B + b);
          groups.push({ idx, gm: idx.map(() => gamma[c]), is: invStd[c] });
        }
      } else {
        const { N, G, Cg, S } = view;
        for (let blk = 0; blk < N * G; blk++) {
          const idx = Array.from({ length: Cg * S }, (_, j) => blk * Cg * S + j);
          groups.push({ idx, gm: idx.map((_, j) => gamma[(blk % G) * Cg + Math.floor(j / S)]), is: invStd[blk] });
        }
      }
      for (const { idx, gm, is } of groups) {
        let s1 = 0;
        let s2 = 0;
        idx.forEach((i, j) => {
          s1 += gm[j] * dout.data[i];
          s2 += gm[j] * dout.data[i] * xhat[i];
        });
        for (const i of idx) dx.data[i] += (is / idx.length) * (path === 'mean' ? s1 : xhat[i] * s2);
      }
      return { ...g, dx: dtypeOf(g.dx) === 'float32' ? { data: Float32Array.from(dx.data), shape: dx.shape } : dx };
    },
  };
}
