/**
 * Convolution (cross-correlation, no kernel flip), NCHW, cs231n conventions.
 * x (N,C,H,W), w (F,C,HH,WW), b (F,) -> out (N,F,Hout,Wout) with zero padding `pad`
 * on both sides and Hout = floor((H + 2*pad - HH) / stride) + 1.
 */
import type { DType, FloatArray, Tensor } from '../tensor/tensor.js';
import { asDType, dtypeOf, zeros } from '../tensor/tensor.js';
import {
  defineImpl,
  defineLayer,
  type FlopCount,
  type ForwardResult,
  type Gradients,
  type Inputs,
  type LayerMemory,
  type MemoryContext,
  type MemoryParts,
} from './types.js';
import { convGeometry, requireShape, type ConvGeometry, STRIDE_PAD_CAP } from './geometry.js';
import { gemm, gemmScratch, gemmScratchBytes, wasmAddress } from '../kernels/gemm.js';
import { col2im, im2col } from '../kernels/im2col.js';
import { parallelFor, planThreads, planThreadsWith, poolWorkerBytes, POOL_WORKERS, type ParallelTask } from '../kernels/parallel/pool.js';
import { arenaBytes, sharedArena, SHARED_ARENA, stagedArenaBytes, threadsWithinArena } from '../kernels/parallel/shared.js';
import { bytesOf, largestWorkspace, totalOf } from '../memory/estimate.js';
import { convAlgorithm, convAlgorithmName } from '../kernels/conv-algorithm.js';
import {
  winogradConvBackward,
  winogradConvForward,
  winogradDataScratch,
  winogradFilterScratch,
  winogradWorkFactor,
  WINOGRAD_TILE,
} from '../kernels/conv-winograd.js';
import { directArena, directConvBackward, directConvForward, directScratch } from '../kernels/conv-direct.js';
import { noteKernel } from '../kernels/provenance.js';
import { freshTensor } from '../kernels/fresh.js';
import { WASM_MR } from '../kernels/wasm/load.js';

/** The params of conv. */
export type ConvParams = { stride: number; pad: number };

export interface ConvCache {
  x: Tensor;
  w: Tensor;
  geom: ConvGeometry;
}

/** Naive forward: out[n,f,i,j] = b[f] + sum_{c,di,dj} xpad[n,c,i*stride+di,j*stride+dj] * w[f,c,di,dj]. */
export function convForwardNaive(inputs: Inputs, params: ConvParams): ForwardResult<ConvCache> {
  const { x, w, b } = inputs;
  const g = convGeometry(x.shape, w.shape, params.stride, params.pad);
  const { N, C, H, W, F, HH, WW, stride, pad, Hout, Wout } = g;
  const out = zeros([N, F, Hout, Wout]);
  // PERF: the arrays and each row's start held in locals: the same loops, ~30% faster (a full check runs thousands).
  const xd = x.data;
  const wd = w.data;
  for (let n = 0; n < N; n++) {
    for (let f = 0; f < F; f++) {
      for (let i = 0; i < Hout; i++) {
        for (let j = 0; j < Wout; j++) {
          let acc = b.data[f];
          for (let c = 0; c < C; c++) {
            for (let di = 0; di < HH; di++) {
              const h = i * stride + di - pad;
              if (h < 0 || h >= H) continue; // NOTE: padding is zeros, so it contributes nothing
              const xRow = ((n * C + c) * H + h) * W; // x[n, c, h, :]
              const wRow = ((f * C + c) * HH + di) * WW; // w[f, c, di, :]
              for (let dj = 0; dj < WW; dj++) {
                const ww = j * stride + dj - pad;
                if (ww < 0 || ww >= W) continue;
                acc += xd[xRow + ww] * wd[wRow + dj];
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
export function convBackwardNaive(dout: Tensor, cache: ConvCache): Gradients {
  const { x, w, geom } = cache;
  const { N, C, H, W, F, HH, WW, stride, pad, Hout, Wout } = geom;
  const dx = zeros(x.shape);
  const dw = zeros(w.shape);
  const db = zeros([F]);
  const xd = x.data;
  const wd = w.data;
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
              const xRow = ((n * C + c) * H + h) * W;
              const wRow = ((f * C + c) * HH + di) * WW;
              for (let dj = 0; dj < WW; dj++) {
                const ww = j * stride + dj - pad;
                if (ww < 0 || ww >= W) continue;
                dx.data[xRow + ww] += g * wd[wRow + dj];
                dw.data[wRow + dj] += g * xd[xRow + ww];
              }
            }
          }
        }
      }
    }
  }
  return { dx, dw, db };
}

/** Flops of one pass: forward 2*N*F*Hout*Wout*C*HH*WW; backward twice that (dx and dw). */
export function convFlops(g: ConvGeometry): FlopCount {
  const forward = 2 * g.N * g.F * g.Hout * g.Wout * g.C * g.HH * g.WW;
  return { forward, backward: 2 * forward };
}

/**
 * Images per GEMM in the fast passes: small images are batched side by side so the matrix
 * product has at least ~FAST_MIN_COLUMNS columns, within a columns buffer of FAST_MAX_COLUMNS
 * elements.
 */
const FAST_MIN_COLUMNS = 1024;
const FAST_MAX_COLUMNS = 1 << 22;

function imagesPerBlock(g: ConvGeometry, count: number): number {
  const HW = g.Hout * g.Wout;
  const K = g.C * g.HH * g.WW;
  const byWidth = Math.ceil(FAST_MIN_COLUMNS / HW);
  const byMemory = Math.max(1, Math.floor(FAST_MAX_COLUMNS / (K * HW)));
  return Math.max(1, Math.min(byWidth, byMemory, count));
}

/** Scratch of the forward task for blocks of `nb` images: columns (K, nb*HW), W (F, K), the output tile (F, nb*HW), one staged image. */
function forwardScratch(g: ConvGeometry, nb: number): number[] {
  const K = g.C * g.HH * g.WW;
  const HW = g.Hout * g.Wout;
  return [K * nb * HW, g.F * K, g.F * nb * HW, g.C * g.H * g.W];
}

/** Scratch of the backward task: columns, W, the dout block, dcolumns (K, nb*HW), dw^T (K, F), one staged image. */
function backwardScratch(g: ConvGeometry, nb: number): number[] {
  const K = g.C * g.HH * g.WW;
  const HW = g.Hout * g.Wout;
  return [K * nb * HW, g.F * K, g.F * nb * HW, K * nb * HW, K * g.F, g.C * g.H * g.W];
}

/** Images per claimed chunk when threaded: about four chunks per thread, whole GEMM blocks. */
function imagesPerChunk(g: ConvGeometry, threads: number): number {
  const nb = imagesPerBlock(g, g.N);
  return Math.max(nb, Math.ceil(g.N / (4 * threads) / nb) * nb);
}

/** Arguments of the forward task (shared arrays when it runs on several threads). */
export interface ConvForwardArgs {
  x: FloatArray;
  w: FloatArray;
  b: FloatArray;
  out: FloatArray;
  g: ConvGeometry;
  dtype: DType;
}

/**
 * Forward for images [n0, n1): out[n] = W (F, C*HH*WW) . im2col(x[n]) + b, a block of images
 * per GEMM. With the WASM backend each image is first copied into the WASM memory, where
 * im2col runs as WASM too.
 */
export function convForwardRange(args: ConvForwardArgs, n0: number, n1: number): void {
  const { x, w, b, out, g, dtype } = args;
  const { C, H, W, F, HH, WW, Hout, Wout } = g;
  const K = C * HH * WW;
  const HW = Hout * Wout;
  const CHW = C * H * W;
  const nb = imagesPerBlock(g, n1 - n0);
  const [cols, wmat, tile, image] = gemmScratch(dtype, forwardScratch(g, nb));
  const staged = wasmAddress(image) >= 0;
  wmat.set(w);
  for (let n = n0; n < n1; n += nb) {
    const m = Math.min(nb, n1 - n);
    const ld = m * HW;
    for (let q = 0; q < m; q++) {
      if (staged) {
        image.set(x.subarray((n + q) * CHW, (n + q + 1) * CHW));
        im2col(cols, q * HW, ld, image, 0, g);
      } else im2col(cols, q * HW, ld, x, (n + q) * CHW, g);
    }
    gemm(tile.subarray(0, F * ld), wmat, cols.subarray(0, K * ld), F, ld, K);
    for (let q = 0; q < m; q++) {
      for (let f = 0; f < F; f++) {
        const bf = b[f];
        const src = f * ld + q * HW;
        const dst = ((n + q) * F + f) * HW;
        for (let p = 0; p < HW; p++) out[dst + p] = tile[src + p] + bf;
      }
    }
  }
}

const CONV_FORWARD: ParallelTask<ConvForwardArgs> = { url: import.meta.url, name: 'convForwardRange', run: convForwardRange };

/**
 * Fast forward in the dtype of x (float32 or float64; w and b are converted to it), with the
 * batch split over threads for large problems. The algorithm is chosen per shape by
 * src/kernels/conv-algorithm.ts: Winograd for 3x3 stride 1, direct for few taps per window,
 * im2col + packed GEMM otherwise.
 */
export function convForwardFast(inputs: Inputs, params: ConvParams): ForwardResult<ConvCache> {
  const g = convGeometry(inputs.x.shape, inputs.w.shape, params.stride, params.pad);
  const dtype = dtypeOf(inputs.x);
  const x = inputs.x.data;
  const w = asDType(inputs.w.data, dtype);
  const b = asDType(inputs.b.data, dtype);
  const out = freshTensor([g.N, g.F, g.Hout, g.Wout], dtype);
  const algorithm = convAlgorithm(g, dtype);
  noteKernel(`conv forward: ${convAlgorithmName(algorithm, dtype)}`);
  if (algorithm === 'winograd') {
    winogradConvForward(out.data, x, w, b, g, dtype, planThreads(g.N, convFlops(g).forward * winogradWorkFactor(dtype)));
    return { out, cache: { x: inputs.x, w: { data: w, shape: inputs.w.shape }, geom: g } };
  }
  if (algorithm === 'direct') {
    directConvForward(out.data, x, w, b, g, dtype, planThreads(g.N, convFlops(g).forward));
    return { out, cache: { x: inputs.x, w: { data: w, shape: inputs.w.shape }, geom: g } };
  }
  const threads = threadsWithinArena(planThreads(g.N, convFlops(g).forward), [dtype, dtype, dtype, dtype], [x.length, w.length, b.length, out.data.length]);
  if (threads > 1) {
    // Workers read and write a reused shared arena; the output is copied out once.
    const [xs, ws, bs, outs] = sharedArena([dtype, dtype, dtype, dtype] as const, [x.length, w.length, b.length, out.data.length]);
    xs.set(x);
    ws.set(w);
    bs.set(b);
    parallelFor(CONV_FORWARD, { x: xs, w: ws, b: bs, out: outs, g, dtype }, g.N, threads, imagesPerChunk(g, threads));
    out.data.set(outs);
  } else {
    convForwardRange({ x, w, b, out: out.data, g, dtype }, 0, g.N);
  }
  const cache: ConvCache = { x: inputs.x, w: { data: w, shape: inputs.w.shape }, geom: g };
  return { out, cache };
}

/** Arguments of the backward task; each thread accumulates its own dw/db partial sums at its slot. */
export interface ConvBackwardArgs {
  x: FloatArray;
  w: FloatArray;
  dout: FloatArray;
  /** Written image by image (each image by one thread); need not be zeroed. */
  dx: FloatArray;
  /** (threads, C*HH*WW, F) partial dw, transposed: see convBackwardRange. */
  dwtParts: FloatArray;
  /** (threads, F) partial db. */
  dbParts: FloatArray;
  g: ConvGeometry;
  dtype: DType;
}

/**
 * Backward for images [n0, n1): dw^T += cols . dout[n]^T, dcols = W^T . dout[n],
 * dx[n] = col2im(dcols), db += row sums of dout[n].
 * PERF: dw is accumulated transposed, (C*HH*WW, F) = cols (K, HW) . dout^T (HW, F): the GEMM
 * packer then gathers the small dout (F x HW) across rows instead of the large columns matrix
 * (K x HW), ~7% faster in float64 and ~25% in float32 at the mid-size benchmark shape.
 */
export function convBackwardRange(args: ConvBackwardArgs, n0: number, n1: number, slot: number): void {
  const { x, w, dout, dx, dwtParts, dbParts, g, dtype } = args;
  const { C, H, W, F, HH, WW, Hout, Wout } = g;
  const K = C * HH * WW;
  const HW = Hout * Wout;
  const CHW = C * H * W;
  const nb = imagesPerBlock(g, n1 - n0);
  const [cols, wmat, dblock, dcols, dwtAcc, image] = gemmScratch(dtype, backwardScratch(g, nb));
  const staged = wasmAddress(image) >= 0;
  wmat.set(w);
  dwtAcc.fill(0);
  const db = new Float64Array(F);
  for (let n = n0; n < n1; n += nb) {
    const m = Math.min(nb, n1 - n);
    const ld = m * HW;
    for (let q = 0; q < m; q++) {
      if (staged) {
        image.set(x.subarray((n + q) * CHW, (n + q + 1) * CHW));
        im2col(cols, q * HW, ld, image, 0, g);
      } else im2col(cols, q * HW, ld, x, (n + q) * CHW, g);
      for (let f = 0; f < F; f++) {
        const src = ((n + q) * F + f) * HW;
        const dst = f * ld + q * HW;
        let s = 0;
        for (let p = 0; p < HW; p++) {
          const v = dout[src + p];
          dblock[dst + p] = v;
          s += v;
        }
        db[f] += s;
      }
    }
    const dblockM = dblock.subarray(0, F * ld);
    gemm(dwtAcc, cols.subarray(0, K * ld), dblockM, K, F, ld, { transB: true, accumulate: true });
    const dcolsM = dcols.subarray(0, K * ld);
    gemm(dcolsM, wmat, dblockM, K, ld, F, { transA: true });
    for (let q = 0; q < m; q++) {
      const at = (n + q) * CHW;
      if (staged) {
        image.fill(0);
        col2im(image, 0, dcolsM, q * HW, ld, g);
        dx.set(image, at);
      } else {
        dx.fill(0, at, at + CHW);
        col2im(dx, at, dcolsM, q * HW, ld, g);
      }
    }
  }
  // A slot may run several chunks: accumulate.
  const at = slot * K * F;
  for (let i = 0; i < K * F; i++) dwtParts[at + i] += dwtAcc[i];
  for (let f = 0; f < F; f++) dbParts[slot * F + f] += db[f];
}

const CONV_BACKWARD: ParallelTask<ConvBackwardArgs> = { url: import.meta.url, name: 'convBackwardRange', run: convBackwardRange };

/** Fast backward: dx (N,C,H,W), dw (F,C,HH,WW), db (F,) in the dtype of the forward pass. */
export function convBackwardFast(dout: Tensor, cache: ConvCache): Gradients {
  const { x, w, geom: g } = cache;
  const { F } = g;
  const dtype = dtypeOf(x);
  const K = g.C * g.HH * g.WW;
  const d = asDType(dout.data, dtype);
  const dx = freshTensor(x.shape, dtype);
  const algorithm = convAlgorithm(g, dtype);
  noteKernel(`conv backward: ${convAlgorithmName(algorithm, dtype)}`);
  if (algorithm === 'winograd') {
    const dw = zeros(w.shape, dtype);
    const db = zeros([F], dtype);
    winogradConvBackward(dx.data, dw.data, db.data, x.data, w.data, d, g, dtype, planThreads(g.N, convFlops(g).backward * winogradWorkFactor(dtype)));
    return { dx, dw, db };
  }
  if (algorithm === 'direct') {
    const dw = zeros(w.shape, dtype);
    const db = zeros([F], dtype);
    directConvBackward(dx.data, dw.data, db.data, x.data, w.data, d, g, dtype, planThreads(g.N, convFlops(g).backward));
    return { dx, dw, db };
  }
  const planned = planThreads(g.N, convFlops(g).backward);
  const threads = threadsWithinArena(
    planned,
    [dtype, dtype, dtype, dtype, dtype, dtype],
    [x.data.length, w.data.length, d.length, x.data.length, planned * K * F, planned * F],
  );
  let dwtParts: FloatArray;
  let dbParts: FloatArray;
  if (threads > 1) {
    const [xs, ws, ds, dxs, dwt, dbs] = sharedArena([dtype, dtype, dtype, dtype, dtype, dtype] as const, [
      x.data.length,
      w.data.length,
      d.length,
      x.data.length,
      threads * K * F,
      threads * F,
    ]);
    xs.set(x.data);
    ws.set(w.data);
    ds.set(d);
    dwt.fill(0);
    dbs.fill(0);
    parallelFor(CONV_BACKWARD, { x: xs, w: ws, dout: ds, dx: dxs, dwtParts: dwt, dbParts: dbs, g, dtype }, g.N, threads, imagesPerChunk(g, threads));
    dx.data.set(dxs);
    dwtParts = dwt;
    dbParts = dbs;
  } else {
    dwtParts = zeros([K * F], dtype).data;
    dbParts = zeros([F], dtype).data;
    convBackwardRange({ x: x.data, w: w.data, dout: d, dx: dx.data, dwtParts, dbParts, g, dtype }, 0, g.N, 0);
  }
  // Sum the per-thread partials, transposing dw^T (K, F) back to (F, K).
  const dw = zeros(w.shape, dtype);
  const db = zeros([F], dtype);
  for (let t = 0; t < Math.max(1, threads); t++) {
    for (let k = 0; k < K; k++) {
      const row = (t * K + k) * F;
      for (let f = 0; f < F; f++) dw.data[f * K + k] += dwtParts[row + f];
    }
    for (let f = 0; f < F; f++) db.data[f] += dbParts[t * F + f];
  }
  return { dx, dw, db };
}

/** Winograd's alpha (tile + 2) for a dtype. */
function winogradAlpha(dtype: DType): number {
  return WINOGRAD_TILE[dtype] + 2;
}

/**
 * Bytes of each implementation's passes at geometry `g` (LayerSpec.memory). Fast, by the algorithm
 * the rule picks (kernels/conv-algorithm.ts), from the same scratch lists the kernels take: per
 * thread, im2col's block of columns and GEMM tiles, Winograd's block of transformed tiles and
 * products, or the direct kernel's staged image and packings (gemmScratch, in the thread's WASM
 * memory, or a JS array when they exceed it); Winograd's filter transforms per pass; and when
 * threaded the shared arena the batch is staged through and the workers that ran.
 */

export function convMemory(g: ConvGeometry, ctx: MemoryContext): LayerMemory {
  const { dtype } = ctx;
  const { N, C, H, W, F, HH, WW, Hout, Wout } = g;
  const X = N * C * H * W;
  const Wn = F * C * HH * WW;
  const O = N * F * Hout * Wout;
  const K = C * HH * WW;
  const flops = convFlops(g);
  const algorithm = convAlgorithm(g, dtype);
  const workFactor = algorithm === 'winograd' ? winogradWorkFactor(dtype) : 1;
  const forwardThreads = planThreadsWith(ctx.threads, N, flops.forward * workFactor);
  const backwardThreads = planThreadsWith(ctx.threads, N, flops.backward * workFactor);
  const used = Math.max(forwardThreads, backwardThreads);
  const d = [dtype, dtype, dtype, dtype, dtype, dtype] as const;
  const grads: MemoryParts = { dx: bytesOf(dtype, X), dw: bytesOf(dtype, Wn), db: bytesOf(dtype, F) };
  let perThread: MemoryParts;
  let arena = 0;
  const backward: MemoryParts = { ...grads };
  const forward: MemoryParts = { out: bytesOf(dtype, O) };
  if (algorithm === 'winograd') {
    // Each thread's scratch at its largest block; U of the filters per pass, dW's partials on one thread.
    const data = { Cin: C, Hin: H, Win: W, Cout: F, Hout, Wout };
    const back = { Cin: F, Hin: Hout, Win: Wout, Cout: C, Hout: H, Wout: W };
    perThread = largestWorkspace(
      gemmScratchBytes(dtype, winogradDataScratch(data, N, dtype)),
      gemmScratchBytes(dtype, winogradDataScratch(back, N, dtype)),
      gemmScratchBytes(dtype, winogradFilterScratch({ C, H, W, F, Hout, Wout }, N, dtype)),
    );
    const a2 = winogradAlpha(dtype) ** 2;
    const pad = (n: number) => Math.ceil(n / WASM_MR) * WASM_MR;
    forward['filter transform'] = bytesOf(dtype, a2 * pad(F) * C);
    backward['filter transform'] = bytesOf(dtype, a2 * pad(C) * F);
    backward['dw partials'] = backwardThreads > 1 ? 0 : bytesOf(dtype, a2 * F * C);
    arena = Math.max(
      stagedArenaBytes(forwardThreads, d.slice(0, 4), [X, a2 * pad(F) * C, F, O]),
      stagedArenaBytes(backwardThreads, d.slice(0, 5), [X, O, a2 * pad(C) * F, X, backwardThreads * a2 * F * C]),
    );
  } else if (algorithm === 'direct') {
    const lens = directScratch(g, dtype);
    perThread = largestWorkspace(gemmScratchBytes(dtype, lens.forward), gemmScratchBytes(dtype, lens.backward));
    const fa = directArena(g, forwardThreads).forward;
    arena = Math.max(
      fa ? arenaBytes(d.slice(0, 4), fa) : 0,
      arenaBytes([dtype, dtype, dtype, dtype, dtype, 'float64'], directArena(g, backwardThreads).backward),
    );
  } else {
    // Every thread's blocks are at most imagesPerBlock(g, N) images.
    const nb = imagesPerBlock(g, N);
    perThread = largestWorkspace(gemmScratchBytes(dtype, forwardScratch(g, nb)), gemmScratchBytes(dtype, backwardScratch(g, nb)));
    backward['dw partials'] = backwardThreads > 1 ? 0 : bytesOf(dtype, K * F + F);
    arena = Math.max(
      stagedArenaBytes(forwardThreads, d.slice(0, 4), [X, Wn, F, O]),
      stagedArenaBytes(backwardThreads, d, [X, Wn, O, X, backwardThreads * K * F, backwardThreads * F]),
    );
  }
  const workspace: MemoryParts = { ...perThread };
  if (arena) workspace[SHARED_ARENA] = arena;
  if (used > 1) workspace[POOL_WORKERS] = poolWorkerBytes(used, totalOf(perThread));
  return {
    out: O,
    impls: {
      naive: { forward: { out: bytesOf('float64', O) }, backward: { dx: bytesOf('float64', X), dw: bytesOf('float64', Wn), db: bytesOf('float64', F) } },
      fast: { forward, backward, workspace },
    },
  };
}

export const conv = defineLayer<ConvParams>({
  name: 'conv',
  summary: 'convolution (cross-correlation) with stride and zero padding',
  inputs: [
    { name: 'x', help: 'input (N,C,H,W)', grad: true, shape: [4, 3, 5, 5] },
    { name: 'w', help: 'filters (F,C,HH,WW)', grad: true, shape: [2, 3, 3, 3] },
    { name: 'b', help: 'biases (F,)', grad: true, shape: (s) => [s.w[0]] },
  ],
  params: [
    { name: 'stride', flag: 'stride', help: 'step between windows', kind: 'int', default: 1, min: 1, ...STRIDE_PAD_CAP },
    { name: 'pad', flag: 'pad', help: 'zero padding on each side', kind: 'int', default: 1, min: 0, ...STRIDE_PAD_CAP },
  ],
  check(shapes, params) {
    const g = convGeometry(shapes.x, shapes.w, params.stride, params.pad);
    requireShape('conv', 'b', shapes.b, [g.F]);
  },
  impls: {
    naive: defineImpl(convForwardNaive, convBackwardNaive),
    fast: defineImpl(convForwardFast, convBackwardFast),
  },
  benchCases: [
    // The cs231n fast-layers notebook's shape, then a mid-size layer of a small CNN.
    { shapes: { x: [100, 3, 31, 31], w: [25, 3, 3, 3] }, params: { stride: 2, pad: 1 } },
    { shapes: { x: [32, 64, 32, 32], w: [64, 64, 3, 3] }, params: { stride: 1, pad: 1 } },
  ],
  flops: (shapes, params) => convFlops(convGeometry(shapes.x, shapes.w, params.stride, params.pad)),
  memory: (shapes, params, ctx) => convMemory(convGeometry(shapes.x, shapes.w, params.stride, params.pad), ctx),
  // Conv is linear in each input, so the centred difference has no truncation error; what is
  // left is rounding, about 1e-16 * |L| / h. At the default shapes that is ~1e-10 relative.
  tolerance: { grad: 1e-7 },
});
