/**
 * im2col and its adjoint col2im: the windowing that turns a convolution into one matrix
 * product per image. For image n of x (N,C,H,W) and a window geometry (HH x WW windows,
 * stride, zero padding pad), the columns matrix is (C*HH*WW, Hout*Wout):
 *   cols[(c*HH + di)*WW + dj, i*Wout + j] = xpad[n, c, i*stride + di, j*stride + dj]
 * so row r matches the flattening of w (F, C, HH, WW) and W (F, C*HH*WW) . cols is out[n].
 * Several images can share one columns matrix side by side (a wider GEMM for small images):
 * the image's block starts at column offset `colOff` of a matrix with `ld` columns.
 * When both arrays live in the WASM memory (gemmScratch), the WASM versions of these loops
 * run instead (src/kernels/wasm/gemm.wat): about 4x faster, through v128 row copies and adds.
 */
import type { FloatArray } from '../tensor/tensor.js';
import { wasmAddress } from './gemm.js';
import { wasmGemm } from './wasm/load.js';

/** The part of a window geometry im2col needs (a ConvGeometry is one). */
export interface WindowGeometry {
  C: number;
  H: number;
  W: number;
  HH: number;
  WW: number;
  stride: number;
  pad: number;
  Hout: number;
  Wout: number;
}

/** Output indices j in [j0, j1) whose tap j*stride + offset lies inside [0, len). */
export function validRange(offset: number, stride: number, len: number, outLen: number): [number, number] {
  const j0 = offset >= 0 ? 0 : Math.ceil(-offset / stride);
  const j1 = offset > len - 1 ? 0 : Math.floor((len - 1 - offset) / stride) + 1;
  return [Math.min(j0, outLen), Math.max(Math.min(j1, outLen), Math.min(j0, outLen))];
}

/**
 * Columns (C*HH*WW rows, Hout*Wout columns at `colOff` of a matrix with `ld` columns) from the
 * image at x[xOff .. xOff + C*H*W); padding reads as 0.
 */
export function im2col(cols: FloatArray, colOff: number, ld: number, x: FloatArray, xOff: number, g: WindowGeometry): void {
  const { C, H, W, HH, WW, stride, pad, Hout, Wout } = g;
  const xAt = wasmAddress(x);
  const colsAt = xAt >= 0 ? wasmAddress(cols) : -1;
  if (colsAt >= 0 && x.BYTES_PER_ELEMENT === cols.BYTES_PER_ELEMENT) {
    const es = x.BYTES_PER_ELEMENT;
    wasmGemm()!.im2col(xAt + xOff * es, C, H, W, HH, WW, stride, pad, Hout, Wout, colsAt + colOff * es, ld, es);
    return;
  }
  const skip = ld - Hout * Wout;
  let o = colOff;
  for (let c = 0; c < C; c++) {
    for (let di = 0; di < HH; di++) {
      for (let dj = 0; dj < WW; dj++) {
        // PERF: the valid j range depends only on dj, so the inner loop has no bounds checks.
        const [j0, j1] = validRange(dj - pad, stride, W, Wout);
        for (let i = 0; i < Hout; i++) {
          const h = i * stride + di - pad;
          if (h < 0 || h >= H) {
            cols.fill(0, o, o + Wout);
            o += Wout;
            continue;
          }
          const xRow = xOff + (c * H + h) * W + dj - pad;
          let j = 0;
          for (; j < j0; j++) cols[o + j] = 0;
          if (stride === 1) {
            for (; j < j1; j++) cols[o + j] = x[xRow + j];
          } else {
            for (; j < j1; j++) cols[o + j] = x[xRow + j * stride];
          }
          for (; j < Wout; j++) cols[o + j] = 0;
          o += Wout;
        }
        o += skip;
      }
    }
  }
}

/** dx[dxOff ..] += the columns at `colOff` (of `ld`) folded back into the image: the adjoint of im2col. */
export function col2im(dx: FloatArray, dxOff: number, cols: FloatArray, colOff: number, ld: number, g: WindowGeometry): void {
  const { C, H, W, HH, WW, stride, pad, Hout, Wout } = g;
  const dxAt = wasmAddress(dx);
  const colsAt = dxAt >= 0 ? wasmAddress(cols) : -1;
  if (colsAt >= 0 && dx.BYTES_PER_ELEMENT === cols.BYTES_PER_ELEMENT) {
    const es = dx.BYTES_PER_ELEMENT;
    wasmGemm()!.col2im(dxAt + dxOff * es, C, H, W, HH, WW, stride, pad, Hout, Wout, colsAt + colOff * es, ld, es);
    return;
  }
  const skip = ld - Hout * Wout;
  let o = colOff;
  for (let c = 0; c < C; c++) {
    for (let di = 0; di < HH; di++) {
      for (let dj = 0; dj < WW; dj++) {
        const [j0, j1] = validRange(dj - pad, stride, W, Wout);
        for (let i = 0; i < Hout; i++) {
          const h = i * stride + di - pad;
          if (h >= 0 && h < H) {
            const xRow = dxOff + (c * H + h) * W + dj - pad;
            if (stride === 1) {
              for (let j = j0; j < j1; j++) dx[xRow + j] += cols[o + j];
            } else {
              for (let j = j0; j < j1; j++) dx[xRow + j * stride] += cols[o + j];
            }
          }
          o += Wout;
        }
        o += skip;
      }
    }
  }
}
