/**
 * Direct convolution for windows of few taps (K = C*HH*WW small, as the cs231n fast-layers shape
 * x 100,3,31,31, w 25,3,3,3, stride 2: K = 27), NCHW, cs231n conventions, on the WASM kernels.
 *
 * im2col + GEMM writes K values per output pixel and the GEMM packs them again: at K = 27 and
 * F = 25 that memory traffic costs about as much as the 2*K*F flops per pixel. Here each image is
 * copied once into a phase-split padded layout (stage_phases: columns split by their remainder
 * mod stride, so every tap reads contiguous inputs along an output row at any stride) and the
 * GEMM micro-kernel reads its B operand straight from it through a table of K tap offsets:
 *  - forward: out[n] (F x HW) = W (F x K) . taps(x[n]) + b, written once (accumulators start at b);
 *  - backward filter: dW^T (K x F) += taps(x[n]) . dout[n]^T, dout packed per image;
 *  - backward data: dcols = W^T . dout[n] by the micro-kernel (W^T packed once), then col2im;
 *  - db: row sums of dout[n] in float64.
 * The batch is split over threads by images (the calling thread's share read and written in place,
 * the workers' staged through the shared arena); each thread works in its own WASM memory.
 */
import type { DType, FloatArray } from '../tensor/tensor.js';
import { gemmScratch, wasmAddress } from './gemm.js';
import { WASM_MR, WASM_NR, wasmGemm } from './wasm/load.js';
import { parallelSplit, type ParallelTask } from './parallel/pool.js';
import type { WindowGeometry } from './im2col.js';
import { arenaFits, sharedArena } from './parallel/shared.js';

/** Convolution geometry in cs231n names (a ConvGeometry is one): the window's, and the batch and filter counts. */
export interface DirectConvGeometry extends WindowGeometry {
  N: number;
  F: number;
}

/** Images per claimed chunk when threaded: about four chunks per thread. */
const CHUNKS_PER_THREAD = 4;

interface Layout {
  /** Rows of each phase plane (the padded height) and its row length. */
  Hp: number;
  Wq: number;
  /** Elements of the staged image. */
  xsLen: number;
  /** Bytes from one output row to the next in the staged image. */
  rowb: number;
  /** Byte offset of each tap (K rounded up to 4; the extra ones repeat tap 0, their results are dropped). */
  taps: Int32Array;
}

/** The phase-split layout of one image and the tap table (see stage_phases in src/kernels/wasm/direct.wat). */
function layout(g: DirectConvGeometry, dtype: DType): Layout {
  const { C, H, W, HH, WW, stride: s, pad } = g;
  const E = dtype === 'float32' ? 4 : 8;
  const NR = WASM_NR[dtype];
  const Hp = H + 2 * pad;
  // NOTE: the kernels read NR - 1 columns past each output row's last tap; the slack keeps them inside the row.
  const Wq = Math.ceil((W + 2 * pad) / s) + NR + Math.floor((WW - 1) / s);
  const K = C * HH * WW;
  const taps = new Int32Array(Math.ceil(K / 4) * 4);
  for (let c = 0; c < C; c++) {
    for (let di = 0; di < HH; di++) {
      for (let dj = 0; dj < WW; dj++) {
        taps[(c * HH + di) * WW + dj] = (((c * s + (dj % s)) * Hp + di) * Wq + Math.floor(dj / s)) * E;
      }
    }
  }
  return { Hp, Wq, xsLen: C * s * Hp * Wq + NR, rowb: s * Wq * E, taps };
}

/**
 * Lengths of the scratch views (on this thread's WASM memory) of one forward and one backward
 * range: forward the image, its phase-split copy, the packed filters, the bias, the output and the
 * tap table; backward also dout, its packings, the transposed filters, the columns, this thread's
 * dW, dx and the db sums (F float64s: 2F elements whatever the dtype). The memory estimate of the
 * conv layer uses the same lists.
 */
export function directScratch(g: DirectConvGeometry, dtype: DType): { forward: number[]; backward: number[] } {
  const { C, H, W, F, HH, WW, Hout, Wout } = g;
  const K = C * HH * WW;
  const HW = Hout * Wout;
  const NR = WASM_NR[dtype];
  const L = layout(g, dtype);
  const inSize = C * H * W;
  return {
    forward: [inSize, L.xsLen, Math.ceil(F / WASM_MR) * WASM_MR * K, Math.ceil(F / WASM_MR) * WASM_MR, F * HW, L.taps.length],
    backward: [
      inSize,
      L.xsLen,
      F * HW,
      Math.ceil(F / NR) * NR * HW,
      F * Math.ceil(HW / NR) * NR,
      Math.ceil(K / WASM_MR) * WASM_MR * F,
      K * HW,
      K * F,
      inSize,
      L.taps.length,
      2 * F,
    ],
  };
}

/** A (rows x cols) row-major matrix packed as the GEMM's A operand: [r / MR][c][r % MR], zero rows to a multiple of MR. */
function packRows(src: FloatArray, rows: number, cols: number, transposed: boolean, dst: FloatArray): void {
  dst.fill(0);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      dst[(Math.floor(r / WASM_MR) * cols + c) * WASM_MR + (r % WASM_MR)] = transposed ? src[c * rows + r] : src[r * cols + c];
    }
  }
}

/** Arguments of the forward task (shared arrays when threaded). */
export interface DirectForwardArgs {
  x: FloatArray;
  w: FloatArray;
  b: FloatArray;
  out: FloatArray;
  g: DirectConvGeometry;
  dtype: DType;
}

/** out[n] = W . taps(x[n]) + b for images [n0, n1), on this thread's WASM memory. */
export function directForwardRange(args: DirectForwardArgs, n0: number, n1: number): void {
  const { x, w, b, out, g, dtype } = args;
  const { C, H, W, F, HH, WW, stride, pad, Hout, Wout } = g;
  const ex = wasmGemm()!;
  const K = C * HH * WW;
  const L = layout(g, dtype);
  const inSize = C * H * W;
  const outSize = F * Hout * Wout;
  const [img, xs, wp, bias, outs, tap] = gemmScratch(dtype, directScratch(g, dtype).forward);
  packRows(w, F, K, false, wp);
  bias.fill(0);
  bias.set(b);
  const tapAt = wasmAddress(tap);
  new Int32Array(tap.buffer, tapAt, L.taps.length).set(L.taps);
  const es = dtype === 'float32' ? 4 : 8;
  const fwd = dtype === 'float32' ? ex.direct_fwd_f32 : ex.direct_fwd_f64;
  const imgAt = wasmAddress(img);
  const xsAt = wasmAddress(xs);
  for (let n = n0; n < n1; n++) {
    img.set(x.subarray(n * inSize, (n + 1) * inSize));
    ex.stage_phases(imgAt, C, H, W, pad, stride, xsAt, L.Hp, L.Wq, es);
    fwd(xsAt, tapAt, K, wasmAddress(wp), F, Hout, Wout, L.rowb, wasmAddress(outs), wasmAddress(bias));
    out.set(outs, n * outSize);
  }
}

/** Arguments of the backward task; each thread adds its dW^T and db partial sums at its slot. */
export interface DirectBackwardArgs {
  x: FloatArray;
  w: FloatArray;
  dout: FloatArray;
  /** Written image by image. */
  dx: FloatArray;
  /** (threads, K, F): dW^T partial sums. */
  dwtParts: FloatArray;
  /** (threads, F) partial db, float64. */
  dbParts: Float64Array;
  g: DirectConvGeometry;
  dtype: DType;
}

/** dW^T += taps(x[n]) . dout[n]^T, dx[n] = col2im(W^T . dout[n]), db += row sums, for images [n0, n1). */
export function directBackwardRange(args: DirectBackwardArgs, n0: number, n1: number, slot: number): void {
  const { x, w, dout, dx, dwtParts, dbParts, g, dtype } = args;
  const { C, H, W, F, HH, WW, stride, pad, Hout, Wout } = g;
  const ex = wasmGemm()!;
  const K = C * HH * WW;
  const HW = Hout * Wout;
  const L = layout(g, dtype);
  const inSize = C * H * W;
  const dSize = F * HW;
  // dbAcc: F float64 sums (2F elements whatever the dtype), which row_sums adds into.
  const [img, xs, dimg, dp, bp, wt, dcols, dwt, dxi, tap, dbAcc] = gemmScratch(dtype, directScratch(g, dtype).backward);
  packRows(w, K, F, true, wt);
  dwt.fill(0);
  const tapAt = wasmAddress(tap);
  new Int32Array(tap.buffer, tapAt, L.taps.length).set(L.taps);
  const es = dtype === 'float32' ? 4 : 8;
  const f32 = dtype === 'float32';
  const dwKernel = f32 ? ex.direct_dw_f32 : ex.direct_dw_f64;
  const packB = f32 ? ex.pack_b_32 : ex.pack_b_64;
  const kernel = f32 ? ex.kernel_f32 : ex.kernel_f64;
  const imgAt = wasmAddress(img);
  const xsAt = wasmAddress(xs);
  const dAt = wasmAddress(dimg);
  const dpAt = wasmAddress(dp);
  const bpAt = wasmAddress(bp);
  const dcolsAt = wasmAddress(dcols);
  const dxiAt = wasmAddress(dxi);
  const dbScratch = new Float64Array(dbAcc.buffer, dbAcc.byteOffset, F);
  dbScratch.fill(0);
  for (let n = n0; n < n1; n++) {
    img.set(x.subarray(n * inSize, (n + 1) * inSize));
    dimg.set(dout.subarray(n * dSize, (n + 1) * dSize));
    ex.stage_phases(imgAt, C, H, W, pad, stride, xsAt, L.Hp, L.Wq, es);
    // dW^T: dout[n]^T packed as B (k = pixel, columns = filters)
    packB(dAt, 1, HW, HW, F, dpAt);
    dwKernel(xsAt, tapAt, K, dpAt, F, Hout, Wout, L.rowb, wasmAddress(dwt));
    // dx: dcols (K x HW) = W^T (K x F) . dout[n] (F x HW), then folded back
    packB(dAt, HW, 1, F, HW, bpAt);
    kernel(K, HW, F, wasmAddress(wt), bpAt, dcolsAt, HW, 0);
    dxi.fill(0);
    ex.col2im(dxiAt, C, H, W, HH, WW, stride, pad, Hout, Wout, dcolsAt, HW, es);
    dx.set(dxi, n * inSize);
    ex.row_sums(dAt, F, HW, dbScratch.byteOffset, es);
  }
  const at = slot * K * F;
  for (let i = 0; i < K * F; i++) dwtParts[at + i] += dwt[i];
  for (let f = 0; f < F; f++) dbParts[slot * F + f] += dbScratch[f];
}

const FORWARD_TASK: ParallelTask<DirectForwardArgs> = { url: import.meta.url, name: 'directForwardRange', run: directForwardRange };
const BACKWARD_TASK: ParallelTask<DirectBackwardArgs> = { url: import.meta.url, name: 'directBackwardRange', run: directBackwardRange };

function chunk(N: number, threads: number): number {
  return Math.max(1, Math.ceil(N / (CHUNKS_PER_THREAD * threads)));
}

/**
 * Images the workers take when threaded (the calling thread takes the rest): the threads' equal
 * shares. PERF: the calling thread reads and writes its images in the caller's arrays directly and
 * only the workers' images are staged through the shared arena (parallelSplit). At the cs231n shape
 * staging the whole batch cost more than the second thread saved (serial copies of 7.4 MB per
 * forward: 3.9 ms for the threaded forward against 2.4 ms on one thread).
 */
function workerShare(N: number, threads: number): number {
  return Math.floor((N * (threads - 1)) / threads);
}

/**
 * Lengths of the shared-arena views of a forward (x, w, b, out: the workers' images only; none on
 * one thread) and a backward (x, w, dout, dx for the workers' images, the per-thread dW and db
 * partials, the last in float64; the partials also on one thread). The memory estimate uses them.
 */
export function directArena(g: DirectConvGeometry, threads: number): { forward: number[] | null; backward: number[] } {
  const { N, C, H, W, F, HH, WW, Hout, Wout } = g;
  const split = threads > 1 ? workerShare(N, threads) : 0;
  const slots = split > 0 ? threads : 1;
  const inSize = C * H * W;
  const dSize = F * Hout * Wout;
  const K = C * HH * WW;
  return {
    forward: split === 0 ? null : [split * inSize, F * K, F, split * dSize],
    backward: [split * inSize, F * K, split * dSize, split * inSize, slots * K * F, slots * F],
  };
}

/** `threads`, or 1 when the staged images of either pass would not fit the shared arena. */
function directThreads(g: DirectConvGeometry, threads: number, dtype: DType): number {
  if (threads <= 1) return threads;
  const { forward, backward } = directArena(g, threads);
  const forwardFits = forward === null || arenaFits([dtype, dtype, dtype, dtype], forward);
  return forwardFits && arenaFits([dtype, dtype, dtype, dtype, dtype, 'float64'], backward) ? threads : 1;
}

/** Forward into `out` (N, F, Hout, Wout); x, w, b in dtype. */
export function directConvForward(out: FloatArray, x: FloatArray, w: FloatArray, b: FloatArray, g: DirectConvGeometry, dtype: DType, threads: number): void {
  threads = directThreads(g, threads, dtype);
  const split = threads > 1 ? workerShare(g.N, threads) : 0;
  if (split === 0) {
    directForwardRange({ x, w, b, out, g, dtype }, 0, g.N);
    return;
  }
  const inSize = g.C * g.H * g.W;
  const [xs, ws, bs, outs] = sharedArena([dtype, dtype, dtype, dtype] as const, directArena(g, threads).forward!);
  xs.set(x.subarray(0, split * inSize));
  ws.set(w);
  bs.set(b);
  parallelSplit(
    FORWARD_TASK,
    { x: xs, w: ws, b: bs, out: outs, g, dtype },
    g.N,
    split,
    threads,
    (n0, n1) => directForwardRange({ x, w, b, out, g, dtype }, n0, n1),
    chunk(split, threads - 1),
  );
  out.set(outs);
}

/** Backward into dx (N, C, H, W), dw (F, C, HH, WW), db (F,) from dout (N, F, Hout, Wout). */
export function directConvBackward(
  dx: FloatArray,
  dw: FloatArray,
  db: FloatArray,
  x: FloatArray,
  w: FloatArray,
  dout: FloatArray,
  g: DirectConvGeometry,
  dtype: DType,
  threads: number,
): void {
  const { N, C, F, HH, WW } = g;
  const K = C * HH * WW;
  threads = directThreads(g, threads, dtype);
  const split = threads > 1 ? workerShare(N, threads) : 0;
  const slots = split > 0 ? threads : 1;
  const inSize = g.C * g.H * g.W;
  const dSize = F * g.Hout * g.Wout;
  const [xs, ws, ds, dxs, dwtParts, dbParts] = sharedArena([dtype, dtype, dtype, dtype, dtype, 'float64'] as const, directArena(g, threads).backward);
  dwtParts.fill(0);
  dbParts.fill(0);
  const mine = { x, w, dout, dx, dwtParts, dbParts, g, dtype };
  if (split === 0) {
    directBackwardRange(mine, 0, N, 0);
  } else {
    xs.set(x.subarray(0, split * inSize));
    ws.set(w);
    ds.set(dout.subarray(0, split * dSize));
    parallelSplit(
      BACKWARD_TASK,
      { x: xs, w: ws, dout: ds, dx: dxs, dwtParts, dbParts, g, dtype },
      N,
      split,
      threads,
      (n0, n1) => directBackwardRange(mine, n0, n1, 0),
      chunk(split, threads - 1),
    );
    dx.set(dxs);
  }
  for (let f = 0; f < F; f++) {
    let s = 0;
    for (let t = 0; t < slots; t++) s += dbParts[t * F + f];
    db[f] = s;
    for (let k = 0; k < K; k++) {
      let v = 0;
      for (let t = 0; t < slots; t++) v += dwtParts[(t * K + k) * F + f];
      dw[f * K + k] = v;
    }
  }
}
