/**
 * The convolution of conv-impl.mjs in TypeScript, for `cnn-check conv --impl examples/conv-impl.ts`.
 * cnn-check imports TypeScript modules through tsx (`npm install --save-dev tsx` in your project).
 *
 *   forward({x, w, b}, {stride, pad}) -> {out, cache}
 *     x (N, C, H, W), w (F, C, HH, WW), b (F,)  ->  out (N, F, Hout, Wout)
 *     Hout = floor((H + 2*pad - HH) / stride) + 1, Wout likewise; zero padding on both sides;
 *     cross-correlation (the kernel is not flipped).
 *   backward(dout, cache) -> {dx, dw, db}, each in the shape of its input.
 */

/** A tensor: values in C order and their dimensions. */
/** The layer this module implements, so that `suite --impl` and `bench --impl` know where it applies. */
export const layer = 'conv';

export interface Tensor {
  data: Float64Array | Float32Array;
  shape: number[];
}

interface ConvParams {
  stride: number;
  pad: number;
}

interface ConvCache {
  x: Tensor;
  w: Tensor;
  stride: number;
  pad: number;
  Hout: number;
  Wout: number;
}

export function forward({ x, w, b }: Record<string, Tensor>, { stride, pad }: ConvParams): { out: Tensor; cache: ConvCache } {
  const [N, C, H, W] = x.shape;
  const [F, , HH, WW] = w.shape;
  const Hout = Math.floor((H + 2 * pad - HH) / stride) + 1;
  const Wout = Math.floor((W + 2 * pad - WW) / stride) + 1;
  const out = new Float64Array(N * F * Hout * Wout);
  for (let n = 0; n < N; n++) {
    for (let f = 0; f < F; f++) {
      for (let i = 0; i < Hout; i++) {
        for (let j = 0; j < Wout; j++) {
          let sum = b.data[f];
          for (let c = 0; c < C; c++) {
            for (let di = 0; di < HH; di++) {
              const h = i * stride + di - pad; // row of x under this tap
              if (h < 0 || h >= H) continue; // a padding row: zero, adds nothing
              for (let dj = 0; dj < WW; dj++) {
                const col = j * stride + dj - pad;
                if (col < 0 || col >= W) continue;
                sum += x.data[((n * C + c) * H + h) * W + col] * w.data[((f * C + c) * HH + di) * WW + dj];
              }
            }
          }
          out[((n * F + f) * Hout + i) * Wout + j] = sum;
        }
      }
    }
  }
  return { out: { data: out, shape: [N, F, Hout, Wout] }, cache: { x, w, stride, pad, Hout, Wout } };
}

export function backward(dout: Tensor, { x, w, stride, pad, Hout, Wout }: ConvCache): { dx: Tensor; dw: Tensor; db: Tensor } {
  const [N, C, H, W] = x.shape;
  const [F, , HH, WW] = w.shape;
  const dx = new Float64Array(x.data.length);
  const dw = new Float64Array(w.data.length);
  const db = new Float64Array(F);
  for (let n = 0; n < N; n++) {
    for (let f = 0; f < F; f++) {
      for (let i = 0; i < Hout; i++) {
        for (let j = 0; j < Wout; j++) {
          const g = dout.data[((n * F + f) * Hout + i) * Wout + j];
          db[f] += g; // summed over n, i and j: every output of filter f adds b[f]
          for (let c = 0; c < C; c++) {
            for (let di = 0; di < HH; di++) {
              const h = i * stride + di - pad;
              if (h < 0 || h >= H) continue;
              for (let dj = 0; dj < WW; dj++) {
                const col = j * stride + dj - pad;
                if (col < 0 || col >= W) continue;
                const xi = ((n * C + c) * H + h) * W + col;
                const wi = ((f * C + c) * HH + di) * WW + dj;
                dx[xi] += g * w.data[wi];
                dw[wi] += g * x.data[xi];
              }
            }
          }
        }
      }
    }
  }
  return {
    dx: { data: dx, shape: [...x.shape] },
    dw: { data: dw, shape: [...w.shape] },
    db: { data: db, shape: [F] },
  };
}
