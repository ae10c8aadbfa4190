/**
 * Convolution (cross-correlation, no kernel flip), NCHW, cs231n conventions.
 * x (N,C,H,W), w (F,C,HH,WW), b (F,) -> out (N,F,Hout,Wout) with zero padding `pad`
 * on both sides and Hout = floor((H + 2*pad - HH) / stride) + 1.
 */
import type { Tensor } from '../tensor/tensor.js';
import { zeros } from '../tensor/tensor.js';
import type { ForwardResult, Gradients, LayerSpec, Params } from './types.js';
import { convGeometry, requireShape, type ConvGeometry } from './geometry.js';

interface ConvCache {
  x: Tensor;
  w: Tensor;
  geom: ConvGeometry;
}

/** Naive forward: out[n,f,i,j] = b[f] + sum_{c,di,dj} xpad[n,c,i*stride+di,j*stride+dj] * w[f,c,di,dj]. */
export function convForwardNaive(inputs: Record<string, Tensor>, params: Params): ForwardResult {
  const { x, w, b } = inputs;
  const g = convGeometry(x.shape, w.shape, params.stride as number, params.pad as number);
  const { N, C, H, W, F, HH, WW, stride, pad, Hout, Wout } = g;
  const out = zeros([N, F, Hout, Wout]);
  for (let n = 0; n < N; n++) {
    for (let f = 0; f < F; f++) {
      for (let i = 0; i < Hout; i++) {
        for (let j = 0; j < Wout; j++) {
          let acc = b.data[f];
          for (let c = 0; c < C; c++) {
            for (let di = 0; di < HH; di++) {
              const h = i * stride + di - pad;
              if (h < 0 || h >= H) continue; // NOTE: padding is zeros, so it contributes nothing
              for (let dj = 0; dj < WW; dj++) {
                const ww = j * stride + dj - pad;
                if (ww < 0 || ww >= W) continue;
                acc += x.data[((n * C + c) * H + h) * W + ww] * w.data[((f * C + c) * HH + di) * WW + dj];
              }
            }
          }
          out.data[((n * F + f) * Hout + i) * Wout + j] = acc;
        }
      }
    }
  }
  const cache: ConvCache = { x, w, geom: g };
  return { out, cache };
}

/** Naive backward: dx (N,C,H,W), dw (F,C,HH,WW), db (F,) from dout (N,F,Hout,Wout). */
export function convBackwardNaive(dout: Tensor, cache: unknown): Gradients {
  const { x, w, geom } = cache as ConvCache;
  const { N, C, H, W, F, HH, WW, stride, pad, Hout, Wout } = geom;
  const dx = zeros(x.shape);
  const dw = zeros(w.shape);
  const db = zeros([F]);
  for (let n = 0; n < N; n++) {
    for (let f = 0; f < F; f++) {
      for (let i = 0; i < Hout; i++) {
        for (let j = 0; j < Wout; j++) {
          const g = dout.data[((n * F + f) * Hout + i) * Wout + j];
          db.data[f] += g;
          for (let c = 0; c < C; c++) {
            for (let di = 0; di < HH; di++) {
              const h = i * stride + di - pad;
              if (h < 0 || h >= H) continue;
              for (let dj = 0; dj < WW; dj++) {
                const ww = j * stride + dj - pad;
                if (ww < 0 || ww >= W) continue;
                const xi = ((n * C + c) * H + h) * W + ww;
                const wi = ((f * C + c) * HH + di) * WW + dj;
                dx.data[xi] += g * w.data[wi];
                dw.data[wi] += g * x.data[xi];
              }
            }
          }
        }
      }
    }
  }
  return { dx, dw, db };
}

export const conv: LayerSpec = {
  name: 'conv',
  summary: 'convolution (cross-correlation) with stride and zero padding',
  inputs: [
    { name: 'x', help: 'input (N,C,H,W)', grad: true, shape: [4, 3, 5, 5] },
    { name: 'w', help: 'filters (F,C,HH,WW)', grad: true, shape: [2, 3, 3, 3] },
    { name: 'b', help: 'biases (F,)', grad: true, shape: (s) => [s.w[0]] },
  ],
  params: [
    { name: 'stride', flag: 'stride', help: 'step between windows', kind: 'int', default: 1, min: 1 },
    { name: 'pad', flag: 'pad', help: 'zero padding on each side', kind: 'int', default: 1, min: 0 },
  ],
  check(shapes, params) {
    const g = convGeometry(shapes.x, shapes.w, params.stride as number, params.pad as number);
    requireShape('conv', 'b', shapes.b, [g.F]);
  },
  impls: { naive: { forward: convForwardNaive, backward: convBackwardNaive } },
  // Conv is linear in each input, so the centred difference has no truncation error; what is
  // left is rounding, about 1e-16 * |L| / h. At the default shapes that is ~1e-10 relative.
  tolerance: { grad: 1e-7 },
};
