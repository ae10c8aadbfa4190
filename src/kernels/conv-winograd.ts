/**
 * Winograd convolution for 3x3 filters at stride 1 (Lavin & Gray, "Fast Algorithms for
 * Convolutional Neural Networks", 2016), NCHW, cs231n conventions, on the WASM kernels.
 *
 * F(m x m, 3 x 3) computes each m x m tile of the output from an alpha x alpha tile of the input
 * (alpha = m + 2) as Y = A^T [(G g G^T) . (B^T d B)] A. Summed over input channels, the alpha^2
 * elementwise products become alpha^2 matrix products, (F x C) . (C x tiles), done by the GEMM
 * micro-kernel on operands the transforms write already packed. Multiplies per output against
 * im2col + GEMM's 9 per (f, c): alpha^2 / m^2, that is 16/4 = 4 for F(2x2, 3x3) (2.25x fewer) and
 * 36/16 = 2.25 for F(4x4, 3x3) (4x fewer).
 *
 *  - both dtypes use F(2x2, 3x3). F(4x4, 3x3) (4x fewer multiplies) amplifies rounding through
 *    its transforms (entries 4, 5, 8, 1/6, 1/24): measured in float64 at x 4,8,16,16 and
 *    4,64,16,16, its output error was 4-7x im2col's (rms), F(2x2)'s 1.2-1.5x. That matters here more
 *    than in a training framework: the gradient checker evaluates its numeric side with the fast
 *    forward and models that forward's rounding as a direct sum's (gradcheck/numeric.ts); with
 *    F(4x4) three checks of test/gradcheck/modes.test.ts measured raw errors over their thresholds
 *    (1.17e-7 against 1e-7 at x 4,8,16,16). The generator keeps F(4x4) one line away
 *    (scripts/gen-winograd.mjs); test/kernels/conv-winograd.test.ts derives the bound for either.
 *  - backward data is the same forward transform on dout with the filters flipped and their
 *    in/out channels swapped, and offset pad - 2 (the "full" correlation);
 *  - backward filter uses the transposed identity dW = G^T [(A dy A^T) . (B^T d B)] G, summed over
 *    all tiles of the batch: alpha^2 GEMMs (F x tiles) . (tiles x C).
 *
 * The transforms are generated WASM (scripts/gen-winograd.mjs -> src/kernels/wasm/winograd.wat);
 * the filter transforms (G g G^T, and G^T dW G at the end of the backward pass) are small and run
 * here in float64. The batch is split over threads by images; each thread works in its own WASM
 * memory (gemmScratch) on images staged from the shared arena.
 */
import type { DType, FloatArray } from '../tensor/tensor.js';
import { gemmScratch, wasmAddress } from './gemm.js';
import { WASM_MR, WASM_NR, wasmGemm, type WasmGemmExports } from './wasm/load.js';
import { parallelFor, type ParallelTask } from './parallel/pool.js';
import { sharedArena, threadsWithinArena } from './parallel/shared.js';

/** The transform matrices of F(2x2, 3x3) and F(4x4, 3x3): B^T (alpha x alpha), G (alpha x 3), A^T (m x alpha). */
export const WINOGRAD_MATRICES = {
  2: {
    BT: [
      [1, 0, -1, 0],
      [0, 1, 1, 0],
      [0, -1, 1, 0],
      [0, 1, 0, -1],
    ],
    G: [
      [1, 0, 0],
      [1 / 2, 1 / 2, 1 / 2],
      [1 / 2, -1 / 2, 1 / 2],
      [0, 0, 1],
    ],
    AT: [
      [1, 1, 1, 0],
      [0, 1, -1, -1],
    ],
  },
  4: {
    BT: [
      [4, 0, -5, 0, 1, 0],
      [0, -4, -4, 1, 1, 0],
      [0, 4, -4, -1, 1, 0],
      [0, -2, -1, 2, 1, 0],
      [0, 2, -1, -2, 1, 0],
      [0, 4, 0, -5, 0, 1],
    ],
    G: [
      [1 / 4, 0, 0],
      [-1 / 6, -1 / 6, -1 / 6],
      [-1 / 6, 1 / 6, -1 / 6],
      [1 / 24, 1 / 12, 1 / 6],
      [1 / 24, -1 / 12, 1 / 6],
      [0, 0, 1],
    ],
    AT: [
      [1, 1, 1, 1, 1, 0],
      [0, 1, -1, 2, -2, 0],
      [0, 1, 1, 4, 4, 0],
      [0, 1, -1, 8, -8, 1],
    ],
  },
} as const;

/** Output tile size m per dtype (see the module comment). */
export const WINOGRAD_TILE: Record<DType, 2> = { float64: 2, float32: 2 };

/** The WASM transforms of F(2x2, 3x3) in dtype. */
function transforms(ex: WasmGemmExports, dtype: DType) {
  if (dtype === 'float32') return { wIn: ex.wino_in_f32_m2, wOut: ex.wino_out_f32_m2, wDy: ex.wino_dy_f32_m2 };
  return { wIn: ex.wino_in_f64_m2, wOut: ex.wino_out_f64_m2, wDy: ex.wino_dy_f64_m2 };
}

/**
 * Tiles per GEMM block: images are batched until a block has at least WINO_MIN_TILES tiles (the
 * GEMM's N for forward and backward data, its K for backward filter), up to WINO_MAX_TILES so the
 * transformed block (alpha^2 x C x tiles) stays within a few MiB.
 */
const WINO_MIN_TILES = 64;
const WINO_MAX_TILES = 512;
/** Rows of A (output channels) per micro-kernel call, as the GEMM's MC: an A block in L2. */
const WINO_MC = 128;
/** A tile stride that never wraps: the tile layout of a panel whose k runs over tiles. */
const NO_WRAP = 1 << 30;

/** Tile geometry of one Winograd pass over planes Hin x Win -> Hout x Wout. */
export interface WinogradGeometry {
  m: 2 | 4;
  alpha: number;
  /** Tile rows and columns over the output; columns padded to a multiple of the vector lanes. */
  th: number;
  tw: number;
  twp: number;
  tilesPerImage: number;
}

/** Tiles of an output plane Hout x Wout for dtype. */
export function winogradGeometry(Hout: number, Wout: number, dtype: DType): WinogradGeometry {
  const m = WINOGRAD_TILE[dtype];
  const lanes = dtype === 'float32' ? 4 : 2;
  const th = Math.ceil(Hout / m);
  const tw = Math.ceil(Wout / m);
  const twp = Math.ceil(tw / lanes) * lanes;
  return { m, alpha: m + 2, th, tw, twp, tilesPerImage: th * twp };
}

function newArray(dtype: DType, n: number): FloatArray {
  return dtype === 'float32' ? new Float32Array(n) : new Float64Array(n);
}

/**
 * The filter transform U = G g G^T of every (o, i) pair, packed as the GEMM's A operand for each
 * of the alpha^2 positions xi: [xi][o / MR][i][o % MR], rows zero-padded to a multiple of MR.
 * Forward: o = f, i = c, g = w[f, c]. `flip` (backward data): o = c, i = f, g = w[f, c] rotated
 * by 180 degrees. Computed in float64, rounded once to dtype. w: (F, C, 3, 3).
 */
export function filterTransform(w: FloatArray, F: number, C: number, flip: boolean, dtype: DType): FloatArray {
  const m = WINOGRAD_TILE[dtype];
  const { G } = WINOGRAD_MATRICES[m];
  const a = m + 2;
  const O = flip ? C : F;
  const I = flip ? F : C;
  const Op = Math.ceil(O / WASM_MR) * WASM_MR;
  const u = newArray(dtype, a * a * Op * I);
  const g = new Float64Array(9);
  const Gg = new Float64Array(a * 3);
  const xiStride = Op * I;
  for (let o = 0; o < O; o++) {
    for (let i = 0; i < I; i++) {
      const f = flip ? i : o;
      const c = flip ? o : i;
      const at = (f * C + c) * 9;
      for (let k = 0; k < 9; k++) g[k] = w[at + (flip ? 8 - k : k)];
      for (let r = 0; r < a; r++) {
        for (let s = 0; s < 3; s++) Gg[r * 3 + s] = G[r][0] * g[s] + G[r][1] * g[3 + s] + G[r][2] * g[6 + s];
      }
      const dst = ((o >> 2) * I + i) * WASM_MR + (o & 3);
      for (let r = 0; r < a; r++) {
        for (let s = 0; s < a; s++) u[(r * a + s) * xiStride + dst] = Gg[r * 3] * G[s][0] + Gg[r * 3 + 1] * G[s][1] + Gg[r * 3 + 2] * G[s][2];
      }
    }
  }
  return u;
}

/** Images per block: at least WINO_MIN_TILES tiles, at most WINO_MAX_TILES (never fewer than one image). */
function imagesPerBlock(tilesPerImage: number, count: number): number {
  const nb = Math.max(1, Math.min(Math.ceil(WINO_MIN_TILES / tilesPerImage), Math.floor(WINO_MAX_TILES / tilesPerImage)));
  return Math.min(nb, Math.max(1, count));
}

/** Images per claimed chunk when threaded: about four chunks per thread, whole blocks. */
export function winogradChunk(N: number, tilesPerImage: number, threads: number): number {
  const nb = imagesPerBlock(tilesPerImage, N);
  return Math.max(nb, Math.ceil(N / (4 * threads) / nb) * nb);
}

/**
 * Lengths of the scratch views (on this thread's WASM memory) winogradForwardRange takes for
 * `count` images: the block's images, U, the transformed tiles V, the products M, the block's
 * outputs, one staged image, the transforms' temporaries and the bias. The memory estimate of the
 * conv layer uses the same list.
 */
export function winogradDataScratch(d: Pick<WinogradForwardArgs, 'Cin' | 'Hin' | 'Win' | 'Cout' | 'Hout' | 'Wout'>, count: number, dtype: DType): number[] {
  const { Cin, Hin, Win, Cout, Hout, Wout } = d;
  const E = dtype === 'float32' ? 4 : 8;
  const NR = WASM_NR[dtype];
  const { m, alpha, th, twp, tilesPerImage } = winogradGeometry(Hout, Wout, dtype);
  const a2 = alpha * alpha;
  const nb = imagesPerBlock(tilesPerImage, count);
  const Tmax = nb * tilesPerImage;
  const Tp = Math.ceil(Tmax / NR) * NR;
  const Coutp = Math.ceil(Cout / WASM_MR) * WASM_MR;
  return [
    nb * Cin * Hin * Win,
    a2 * Coutp * Cin,
    a2 * Tp * Cin,
    a2 * Cout * Tmax,
    nb * Cout * Hout * Wout,
    Cin * (th * m + 2) * (twp * m + 2),
    (64 * 16) / E,
    Cout,
  ];
}

/** Arguments of winogradForwardRange: one Winograd correlation of a batch (forward, or backward data). */
export interface WinogradForwardArgs {
  /** Input (N, Cin, Hin, Win). */
  x: FloatArray;
  /** filterTransform of the filters, (alpha^2, Coutp, Cin). */
  u: FloatArray;
  /** Cout values added to every output, or null. */
  bias: FloatArray | null;
  /** Output (N, Cout, Hout, Wout), written image by image. */
  out: FloatArray;
  Cin: number;
  Hin: number;
  Win: number;
  Cout: number;
  Hout: number;
  Wout: number;
  /** Input row/column of output (0, 0)'s window: -pad forward, pad - 2 for backward data. */
  offset: number;
  dtype: DType;
}

/**
 * out[n] = correlation of x[n] with the filters behind `u` (+ bias) for images [n0, n1): per block
 * of images, the input transform (packed B operands, one per xi), alpha^2 GEMMs into M, and the
 * output transform. Runs on this thread's WASM memory.
 */
export function winogradForwardRange(args: WinogradForwardArgs, n0: number, n1: number): void {
  const { x, u, bias, out, Cin, Hin, Win, Cout, Hout, Wout, offset, dtype } = args;
  const ex = wasmGemm()!;
  const E = dtype === 'float32' ? 4 : 8;
  const NR = WASM_NR[dtype];
  const wg = winogradGeometry(Hout, Wout, dtype);
  const { alpha, th, tw, twp, tilesPerImage } = wg;
  const a2 = alpha * alpha;
  const nb = imagesPerBlock(tilesPerImage, n1 - n0);
  const Tmax = nb * tilesPerImage;
  const Tp = Math.ceil(Tmax / NR) * NR;
  const Coutp = Math.ceil(Cout / WASM_MR) * WASM_MR;
  const inSize = Cin * Hin * Win;
  const outSize = Cout * Hout * Wout;
  const [img, us, vs, ms, outs, stage, tmp, bs] = gemmScratch(dtype, winogradDataScratch(args, n1 - n0, dtype));
  us.set(u);
  if (bias) bs.set(bias);
  const imgAt = wasmAddress(img);
  const uAt = wasmAddress(us);
  const vAt = wasmAddress(vs);
  const mAt = wasmAddress(ms);
  const outAt = wasmAddress(outs);
  const stageAt = wasmAddress(stage);
  const tmpAt = wasmAddress(tmp);
  const biasAt = bias ? wasmAddress(bs) : -1;
  const { wIn, wOut } = transforms(ex, dtype);
  const kernel = dtype === 'float32' ? ex.kernel_f32 : ex.kernel_f64;
  const vXi = Tp * Cin * E; // bytes per xi of V: (Tp / NR) panels of Cin x NR
  const uXi = Coutp * Cin * E;
  for (let n = n0; n < n1; n += nb) {
    const q1 = Math.min(nb, n1 - n);
    const T = q1 * tilesPerImage;
    img.set(x.subarray(n * inSize, (n + q1) * inSize));
    for (let q = 0; q < q1; q++) {
      // V as the GEMM's B operand: panels of NR tiles, k = channel (chan(c) = c*NR*E, tile(t) = (t/NR)*Cin*NR*E + (t%NR)*E).
      wIn(imgAt + q * inSize * E, Cin, Hin, Win, offset, offset, th, twp, stageAt, tmpAt, vAt, vXi, NO_WRAP, 0, NR * E, q * tilesPerImage, NR, Cin * NR * E, E);
    }
    for (let xi = 0; xi < a2; xi++) {
      for (let ic = 0; ic < Cout; ic += WINO_MC) {
        const mc = Math.min(WINO_MC, Cout - ic);
        kernel(mc, T, Cin, uAt + xi * uXi + ic * Cin * E, vAt + xi * vXi, mAt + (xi * Cout + ic) * T * E, T, 0);
      }
    }
    for (let q = 0; q < q1; q++) {
      wOut(mAt, Cout, T, q * tilesPerImage, th, tw, twp, outAt + q * outSize * E, Hout, Wout, biasAt, tmpAt);
    }
    out.set(outs.subarray(0, q1 * outSize), n * outSize);
  }
}

/** Arguments of winogradFilterRange: the backward-filter pass of a batch. */
export interface WinogradFilterArgs {
  x: FloatArray;
  dout: FloatArray;
  /** (threads, alpha^2, F, C): each thread adds its transformed dW at its slot. */
  dwParts: FloatArray;
  C: number;
  H: number;
  W: number;
  F: number;
  Hout: number;
  Wout: number;
  pad: number;
  dtype: DType;
}

/**
 * Lengths of the scratch views winogradFilterRange takes for `count` images: the block's images and
 * douts, their transforms, this thread's dWhat, one staged image or dout, the temporaries. The
 * memory estimate of the conv layer uses the same list.
 */
export function winogradFilterScratch(d: Pick<WinogradFilterArgs, 'C' | 'H' | 'W' | 'F' | 'Hout' | 'Wout'>, count: number, dtype: DType): number[] {
  const { C, H, W, F, Hout, Wout } = d;
  const E = dtype === 'float32' ? 4 : 8;
  const NR = WASM_NR[dtype];
  const { m, alpha, th, twp, tilesPerImage } = winogradGeometry(Hout, Wout, dtype);
  const a2 = alpha * alpha;
  const nb = imagesPerBlock(tilesPerImage, count);
  const Tmax = nb * tilesPerImage;
  const Cp = Math.ceil(C / NR) * NR;
  const Fp = Math.ceil(F / WASM_MR) * WASM_MR;
  const stageLen = Math.max(C * (th * m + 2) * (twp * m + 2), F * th * m * twp * m);
  return [nb * C * H * W, nb * F * Hout * Wout, a2 * Cp * Tmax, a2 * Fp * Tmax, a2 * F * C, stageLen, (64 * 16) / E];
}

/**
 * dWhat[xi] (F x C) += (A dy A^T)[xi] (F x tiles) . (B^T d B)[xi]^T (tiles x C) over the tiles of
 * images [n0, n1), added into dwParts at `slot`. G^T dWhat G happens once, in winogradFilterGrad.
 */
export function winogradFilterRange(args: WinogradFilterArgs, n0: number, n1: number, slot: number): void {
  const { x, dout, dwParts, C, H, W, F, Hout, Wout, pad, dtype } = args;
  const ex = wasmGemm()!;
  const E = dtype === 'float32' ? 4 : 8;
  const NR = WASM_NR[dtype];
  const MR = WASM_MR;
  const wg = winogradGeometry(Hout, Wout, dtype);
  const { alpha, th, twp, tilesPerImage } = wg;
  const a2 = alpha * alpha;
  const nb = imagesPerBlock(tilesPerImage, n1 - n0);
  const Cp = Math.ceil(C / NR) * NR;
  const Fp = Math.ceil(F / MR) * MR;
  const inSize = C * H * W;
  const dSize = F * Hout * Wout;
  const [img, dimg, vs, dys, dw, stage, tmp] = gemmScratch(dtype, winogradFilterScratch(args, n1 - n0, dtype));
  dw.fill(0);
  const imgAt = wasmAddress(img);
  const dAt = wasmAddress(dimg);
  const vAt = wasmAddress(vs);
  const dyAt = wasmAddress(dys);
  const dwAt = wasmAddress(dw);
  const stageAt = wasmAddress(stage);
  const tmpAt = wasmAddress(tmp);
  const { wIn, wDy } = transforms(ex, dtype);
  const kernel = dtype === 'float32' ? ex.kernel_f32 : ex.kernel_f64;
  for (let n = n0; n < n1; n += nb) {
    const q1 = Math.min(nb, n1 - n);
    const T = q1 * tilesPerImage;
    const vXi = Cp * T * E;
    const dyXi = Fp * T * E;
    img.set(x.subarray(n * inSize, (n + q1) * inSize));
    dimg.set(dout.subarray(n * dSize, (n + q1) * dSize));
    for (let q = 0; q < q1; q++) {
      // B operand, columns = channels: panels of NR channels, k = tile (lane stores NR*E apart).
      wIn(imgAt + q * inSize * E, C, H, W, -pad, -pad, th, twp, stageAt, tmpAt, vAt, vXi, NR, T * NR * E, E, q * tilesPerImage, NO_WRAP, 0, NR * E);
      // A operand, rows = output channels: panels of MR, k = tile.
      wDy(dAt + q * dSize * E, F, Hout, Wout, th, twp, stageAt, tmpAt, dyAt, dyXi, MR, T * MR * E, E, q * tilesPerImage, NO_WRAP, 0, MR * E);
    }
    for (let xi = 0; xi < a2; xi++) {
      for (let ic = 0; ic < F; ic += WINO_MC) {
        const mc = Math.min(WINO_MC, F - ic);
        kernel(mc, C, T, dyAt + xi * dyXi + ic * T * E, vAt + xi * vXi, dwAt + (xi * F + ic) * C * E, C, 1);
      }
    }
  }
  const at = slot * a2 * F * C;
  for (let i = 0; i < a2 * F * C; i++) dwParts[at + i] += dw[i];
}

const FORWARD_TASK: ParallelTask<WinogradForwardArgs> = { url: import.meta.url, name: 'winogradForwardRange', run: winogradForwardRange };
const FILTER_TASK: ParallelTask<WinogradFilterArgs> = { url: import.meta.url, name: 'winogradFilterRange', run: winogradFilterRange };

/** Run winogradForwardRange over N images on `threads` threads (args on shared memory when threads > 1). */
export function winogradForward(args: WinogradForwardArgs, N: number, threads: number): void {
  const wg = winogradGeometry(args.Hout, args.Wout, args.dtype);
  if (threads > 1) parallelFor(FORWARD_TASK, args, N, threads, winogradChunk(N, wg.tilesPerImage, threads));
  else winogradForwardRange(args, 0, N);
}

/** Run winogradFilterRange over N images; dwParts must hold max(1, threads) zeroed slots. */
export function winogradFilter(args: WinogradFilterArgs, N: number, threads: number): void {
  const wg = winogradGeometry(args.Hout, args.Wout, args.dtype);
  if (threads > 1) parallelFor(FILTER_TASK, args, N, threads, winogradChunk(N, wg.tilesPerImage, threads));
  else winogradFilterRange(args, 0, N, 0);
}

/**
 * dw (F, C, 3, 3) = G^T dWhat G from the per-thread parts (slots, alpha^2, F, C), summed over slots
 * in float64 and rounded once into dw.
 */
export function winogradFilterGrad(dw: FloatArray, dwParts: FloatArray, slots: number, F: number, C: number, dtype: DType): void {
  const m = WINOGRAD_TILE[dtype];
  const { G } = WINOGRAD_MATRICES[m];
  const a = m + 2;
  const FC = F * C;
  const X = new Float64Array(a * a);
  const GX = new Float64Array(3 * a);
  for (let p = 0; p < FC; p++) {
    for (let xi = 0; xi < a * a; xi++) {
      let s = 0;
      for (let t = 0; t < slots; t++) s += dwParts[(t * a * a + xi) * FC + p];
      X[xi] = s;
    }
    // GX = G^T X (3 x alpha), dw = GX G (3 x 3)
    for (let r = 0; r < 3; r++) {
      for (let j = 0; j < a; j++) {
        let s = 0;
        for (let i = 0; i < a; i++) s += G[i][r] * X[i * a + j];
        GX[r * a + j] = s;
      }
    }
    for (let r = 0; r < 3; r++) {
      for (let c = 0; c < 3; c++) {
        let s = 0;
        for (let j = 0; j < a; j++) s += GX[r * a + j] * G[j][c];
        dw[p * 9 + r * 3 + c] = s;
      }
    }
  }
}

/** True when the Winograd kernels can run on this thread (the WASM kernels loaded). */
export function winogradAvailable(ex: WasmGemmExports | null = wasmGemm()): boolean {
  return ex !== null && typeof ex.wino_in_f64_m2 === 'function';
}

/** The part of a conv geometry the Winograd passes need (a ConvGeometry is one). */
export interface WinogradConvGeometry {
  N: number;
  C: number;
  H: number;
  W: number;
  F: number;
  pad: number;
  Hout: number;
  Wout: number;
}

/** Multiplies of the Winograd passes relative to im2col + GEMM (alpha^2 / (9 m^2)), for thread planning. */
export function winogradWorkFactor(dtype: DType): number {
  const m = WINOGRAD_TILE[dtype];
  return ((m + 2) * (m + 2)) / (9 * m * m);
}

/**
 * Forward: out (N, F, Hout, Wout) = conv(x, w) + b for 3x3 filters at stride 1, written into `out`.
 * x, w, b in dtype. `threads` > 1 stages through the shared arena.
 */
export function winogradConvForward(
  out: FloatArray,
  x: FloatArray,
  w: FloatArray,
  b: FloatArray,
  g: WinogradConvGeometry,
  dtype: DType,
  threads: number,
): void {
  const { N, C, H, W, F, pad, Hout, Wout } = g;
  const u = filterTransform(w, F, C, false, dtype);
  threads = threadsWithinArena(threads, [dtype, dtype, dtype, dtype], [x.length, u.length, b.length, out.length]);
  const base = { Cin: C, Hin: H, Win: W, Cout: F, Hout, Wout, offset: -pad, dtype };
  if (threads > 1) {
    const [xs, us, bs, outs] = sharedArena([dtype, dtype, dtype, dtype] as const, [x.length, u.length, b.length, out.length]);
    xs.set(x);
    us.set(u);
    bs.set(b);
    winogradForward({ ...base, x: xs, u: us, bias: bs, out: outs }, N, threads);
    out.set(outs);
  } else {
    winogradForward({ ...base, x, u, bias: b, out }, N, 1);
  }
}

/**
 * Backward: dx (N, C, H, W), dw (F, C, 3, 3) and db (F,) from dout (N, F, Hout, Wout), written into
 * the given arrays. dx is the flipped-filter Winograd correlation of dout (offset pad - 2); dw
 * the transposed identity over all tiles; db the sums of dout.
 */
export function winogradConvBackward(
  dx: FloatArray,
  dw: FloatArray,
  db: FloatArray,
  x: FloatArray,
  w: FloatArray,
  dout: FloatArray,
  g: WinogradConvGeometry,
  dtype: DType,
  threads: number,
): void {
  const { N, C, H, W, F, pad, Hout, Wout } = g;
  const m = WINOGRAD_TILE[dtype];
  const a2 = (m + 2) * (m + 2);
  const u = filterTransform(w, F, C, true, dtype);
  threads = threadsWithinArena(threads, [dtype, dtype, dtype, dtype, dtype], [x.length, dout.length, u.length, dx.length, threads * a2 * F * C]);
  const slots = Math.max(1, threads);
  const dataArgs = { Cin: F, Hin: Hout, Win: Wout, Cout: C, Hout: H, Wout: W, offset: pad - 2, dtype };
  const filterArgs = { C, H, W, F, Hout, Wout, pad, dtype };
  let dwParts: FloatArray;
  if (threads > 1) {
    const [xs, ds, us, dxs, parts] = sharedArena([dtype, dtype, dtype, dtype, dtype] as const, [
      x.length,
      dout.length,
      u.length,
      dx.length,
      slots * a2 * F * C,
    ]);
    xs.set(x);
    ds.set(dout);
    us.set(u);
    parts.fill(0);
    winogradForward({ ...dataArgs, x: ds, u: us, bias: null, out: dxs }, N, threads);
    winogradFilter({ ...filterArgs, x: xs, dout: ds, dwParts: parts }, N, threads);
    dx.set(dxs);
    dwParts = parts;
  } else {
    dwParts = newArray(dtype, a2 * F * C);
    winogradForward({ ...dataArgs, x: dout, u, bias: null, out: dx }, N, 1);
    winogradFilter({ ...filterArgs, x, dout, dwParts }, N, 1);
  }
  winogradFilterGrad(dw, dwParts, slots, F, C, dtype);
  const HW = Hout * Wout;
  const sums = new Float64Array(F);
  for (let n = 0; n < N; n++) {
    for (let f = 0; f < F; f++) {
      let s = 0;
      const at = (n * F + f) * HW;
      for (let p = 0; p < HW; p++) s += dout[at + p];
      sums[f] += s;
    }
  }
  db.set(sums);
}
