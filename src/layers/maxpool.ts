/**
 * Max-pooling, NCHW, no padding, floor output size:
 * x (N,C,H,W) -> out (N,C,Hout,Wout), Hout = floor((H - pool_height) / stride) + 1.
 */
import type { Tensor } from '../tensor/tensor.js';
import { zeros } from '../tensor/tensor.js';
import type { ForwardResult, Gradients, LayerSpec, Params } from './types.js';
import { poolGeometry } from './geometry.js';

interface MaxpoolCache {
  xShape: number[];
  /** Flat index into x of each output's winner. */
  argmax: Int32Array;
}

/**
 * Naive forward. NOTE: ties go to the first maximum in row-major window order (strict `>`),
 * as numpy's argmax does; backward routes the whole upstream gradient to that one element.
 */
export function maxpoolForwardNaive(inputs: Record<string, Tensor>, params: Params): ForwardResult {
  const { x } = inputs;
  const g = poolGeometry(x.shape, params.pool_height as number, params.pool_width as number, params.stride as number);
  const { N, C, H, W, pool_height, pool_width, stride, Hout, Wout } = g;
  const out = zeros([N, C, Hout, Wout]);
  const argmax = new Int32Array(out.data.length);
  for (let n = 0; n < N; n++) {
    for (let c = 0; c < C; c++) {
      const base = (n * C + c) * H * W;
      for (let i = 0; i < Hout; i++) {
        for (let j = 0; j < Wout; j++) {
          let best = -Infinity;
          let bestIdx = base + i * stride * W + j * stride;
          for (let di = 0; di < pool_height; di++) {
            for (let dj = 0; dj < pool_width; dj++) {
              const idx = base + (i * stride + di) * W + (j * stride + dj);
              const v = x.data[idx];
              if (v > best || Number.isNaN(v)) {
                best = v;
                bestIdx = idx;
                if (Number.isNaN(v)) break; // NaN propagates, as np.max does
              }
            }
            if (Number.isNaN(best)) break;
          }
          const o = ((n * C + c) * Hout + i) * Wout + j;
          out.data[o] = best;
          argmax[o] = bestIdx;
        }
      }
    }
  }
  const cache: MaxpoolCache = { xShape: x.shape, argmax };
  return { out, cache, switches: argmax };
}

/** Naive backward: dx (N,C,H,W), each dout element added to its window's winner. */
export function maxpoolBackwardNaive(dout: Tensor, cache: unknown): Gradients {
  const { xShape, argmax } = cache as MaxpoolCache;
  const dx = zeros(xShape);
  for (let o = 0; o < argmax.length; o++) dx.data[argmax[o]] += dout.data[o];
  return { dx };
}

export const maxpool: LayerSpec = {
  name: 'maxpool',
  summary: 'max-pooling over pool_height x pool_width windows, no padding',
  inputs: [{ name: 'x', help: 'input (N,C,H,W)', grad: true, shape: [3, 2, 8, 8] }],
  params: [
    { name: 'pool_height', flag: 'pool-height', help: 'window height', kind: 'int', default: 2, min: 1 },
    { name: 'pool_width', flag: 'pool-width', help: 'window width', kind: 'int', default: 2, min: 1 },
    { name: 'stride', flag: 'stride', help: 'step between windows', kind: 'int', default: 2, min: 1 },
  ],
  check(shapes, params) {
    poolGeometry(shapes.x, params.pool_height as number, params.pool_width as number, params.stride as number);
  },
  impls: { naive: { forward: maxpoolForwardNaive, backward: maxpoolBackwardNaive } },
  // Piecewise linear: away from kinks (detected and excluded) the centred difference is exact
  // up to rounding, ~1e-16 * |L| / h.
  tolerance: { grad: 1e-7 },
};
