/**
 * Dense matrix multiply for the fast layers: C (M,N) = op(A) (M,K) . op(B) (K,N), row-major,
 * in float64 or float32 (the dtype of the arrays, which must agree).
 *
 * Both backends block the same way (Goto/BLIS): B is packed in KC x NC panels, A in MC x KC
 * blocks, each into contiguous micro-panels (MR rows / NR columns, k-major, zero-padded), and
 * a register-blocked micro-kernel computes MR x NR tiles of C from them. The packers read
 * through (row, column) strides, which is how the transposes are supported without copies.
 *  - 'wasm': WebAssembly SIMD kernels (src/kernels/wasm/gemm.wat), 4 x 4 f64 / 4 x 8 f32 tiles, with
 *    fused multiply-adds when the relaxed-SIMD build loads (src/kernels/wasm/load.ts).
 *    Operands outside the WASM memory are staged into it; `gemmScratch` hands out arrays that
 *    already live there so hot callers pay no copies.
 *  - 'js': plain JS, 4 x 4 tiles in scalar locals; the fallback and the reference the WASM
 *    kernels are tested against.
 */
import type { DType, FloatArray } from '../tensor/tensor.js';
import type { MemoryParts } from '../layers/types.js';
import { WASM_MAX_PAGES, WASM_PAGE, WASM_TILE_SCRATCH, onWasmReset, wasmGemm, wasmVariant, type WasmGemmExports } from './wasm/load.js';

/** How op(A) and op(B) are read, and whether C is overwritten or accumulated into. */
export interface GemmOptions {
  /** A is stored (K,M) and used transposed. */
  transA?: boolean;
  /** B is stored (N,K) and used transposed. */
  transB?: boolean;
  /** C += op(A) op(B) instead of C = op(A) op(B). */
  accumulate?: boolean;
}

/** Which kernels `gemm` uses: 'auto' is WASM when it loads, else JS. */
export type GemmBackend = 'auto' | 'wasm' | 'js';

let backendSetting: GemmBackend = 'auto';

/** Choose the GEMM backend for this thread ('wasm' falls back to 'js' when WASM is unavailable). */
export function setGemmBackend(backend: GemmBackend): void {
  backendSetting = backend;
}

/** The backend `gemm` uses on this thread right now. */
export function gemmBackend(): 'wasm' | 'js' {
  return backendSetting !== 'js' && wasmState() ? 'wasm' : 'js';
}

/** What runs `gemm` on this thread: 'wasm-relaxed (FMA)', 'wasm-simd128' or 'js'. */
export function gemmKernel(): string {
  if (gemmBackend() === 'js') return 'js';
  return wasmVariant() === 'relaxed' ? 'wasm-relaxed (FMA)' : 'wasm-simd128';
}

/** C (M,N) = op(A) op(B) (or += with `accumulate`); `c` must not alias `a` or `b`. */
export function gemm(c: FloatArray, a: FloatArray, b: FloatArray, M: number, N: number, K: number, opts: GemmOptions = {}): void {
  checkOperands(c, a, b, M, N, K);
  if (M === 0 || N === 0) return;
  if (K === 0) {
    if (!opts.accumulate) c.fill(0);
    return;
  }
  const st = backendSetting !== 'js' ? wasmState() : null;
  if (st && gemmWasm(st, c, a, b, M, N, K, opts)) return;
  gemmJs(c, a, b, M, N, K, opts);
}

function checkOperands(c: FloatArray, a: FloatArray, b: FloatArray, M: number, N: number, K: number): void {
  for (const [name, v] of [
    ['M', M],
    ['N', N],
    ['K', K],
  ] as const) {
    if (!Number.isInteger(v) || v < 0) throw new RangeError(`gemm: ${name} must be an integer >= 0, got ${v}`);
  }
  const ctor = c.constructor;
  if (a.constructor !== ctor || b.constructor !== ctor) {
    throw new TypeError(`gemm: A, B and C must have one dtype, got ${a.constructor.name}, ${b.constructor.name}, ${ctor.name}`);
  }
  if (c.length !== M * N) throw new RangeError(`gemm: C must have M*N = ${M * N} elements, got ${c.length}`);
  if (a.length !== M * K) throw new RangeError(`gemm: A must have M*K = ${M * K} elements, got ${a.length}`);
  if (b.length !== K * N) throw new RangeError(`gemm: B must have K*N = ${K * N} elements, got ${b.length}`);
}

// ---------------------------------------------------------------------------------------------
// JS backend

/** JS micro-tile: 4 x 4 accumulators in scalar locals. */
const JS_MR = 4;
const JS_NR = 4;
/** JS blocking: an A block of 64 x 256 doubles (128 KiB) sits in L2 while a 256 x 4 B micro-panel sits in L1. */
const JS_MC = 64;
const JS_KC = 256;
const JS_NC = 1024;

const jsPackA = new Float64Array(JS_MC * JS_KC);
const jsPackB = new Float64Array(JS_KC * JS_NC);

/** The JS backend of `gemm` (exported for tests and as the reference for the WASM kernels). */
export function gemmJs(c: FloatArray, a: FloatArray, b: FloatArray, M: number, N: number, K: number, opts: GemmOptions = {}): void {
  checkOperands(c, a, b, M, N, K);
  if (!opts.accumulate) c.fill(0);
  if (M === 0 || N === 0 || K === 0) return;
  const rsA = opts.transA ? 1 : K;
  const csA = opts.transA ? M : 1;
  const rsB = opts.transB ? 1 : N;
  const csB = opts.transB ? K : 1;
  // PERF: the packed buffers are Float64Array whatever the dtype, so the micro-kernel sees one
  // array type; float32 inputs are widened while packing and rounded once when stored into C.
  for (let jc = 0; jc < N; jc += JS_NC) {
    const nc = Math.min(JS_NC, N - jc);
    for (let pc = 0; pc < K; pc += JS_KC) {
      const kc = Math.min(JS_KC, K - pc);
      packBJs(jsPackB, b, pc * rsB + jc * csB, rsB, csB, kc, nc);
      for (let ic = 0; ic < M; ic += JS_MC) {
        const mc = Math.min(JS_MC, M - ic);
        packAJs(jsPackA, a, ic * rsA + pc * csA, rsA, csA, mc, kc);
        kernelJs(mc, nc, kc, jsPackA, jsPackB, c, ic * N + jc, N);
      }
    }
  }
}

/** Pack rows [0, mc) x k [0, kc) of A (element (i,k) at off + i*rs + k*cs) into 4-row panels. */
function packAJs(dst: Float64Array, src: FloatArray, off: number, rs: number, cs: number, mc: number, kc: number): void {
  let d = 0;
  for (let ir = 0; ir < mc; ir += JS_MR) {
    const rows = Math.min(JS_MR, mc - ir);
    for (let k = 0; k < kc; k++) {
      const p = off + ir * rs + k * cs;
      for (let i = 0; i < JS_MR; i++) dst[d++] = i < rows ? src[p + i * rs] : 0;
    }
  }
}

/** Pack k [0, kc) x columns [0, nc) of B (element (k,j) at off + k*rs + j*cs) into 4-column panels. */
function packBJs(dst: Float64Array, src: FloatArray, off: number, rs: number, cs: number, kc: number, nc: number): void {
  let d = 0;
  for (let jr = 0; jr < nc; jr += JS_NR) {
    const cols = Math.min(JS_NR, nc - jr);
    for (let k = 0; k < kc; k++) {
      const p = off + k * rs + jr * cs;
      for (let j = 0; j < JS_NR; j++) dst[d++] = j < cols ? src[p + j * cs] : 0;
    }
  }
}

/** C[cOff + i*ldc + j] += sum_k Apacked[i,k] Bpacked[k,j] for i < mc, j < nc. */
function kernelJs(mc: number, nc: number, kc: number, ap: Float64Array, bp: Float64Array, c: FloatArray, cOff: number, ldc: number): void {
  for (let jr = 0; jr < nc; jr += JS_NR) {
    const cols = Math.min(JS_NR, nc - jr);
    for (let ir = 0; ir < mc; ir += JS_MR) {
      const rows = Math.min(JS_MR, mc - ir);
      let pa = ir * kc;
      let pb = jr * kc;
      let c00 = 0,
        c01 = 0,
        c02 = 0,
        c03 = 0;
      let c10 = 0,
        c11 = 0,
        c12 = 0,
        c13 = 0;
      let c20 = 0,
        c21 = 0,
        c22 = 0,
        c23 = 0;
      let c30 = 0,
        c31 = 0,
        c32 = 0,
        c33 = 0;
      for (let k = 0; k < kc; k++) {
        const a0 = ap[pa],
          a1 = ap[pa + 1],
          a2 = ap[pa + 2],
          a3 = ap[pa + 3];
        const b0 = bp[pb],
          b1 = bp[pb + 1],
          b2 = bp[pb + 2],
          b3 = bp[pb + 3];
        c00 += a0 * b0;
        c01 += a0 * b1;
        c02 += a0 * b2;
        c03 += a0 * b3;
        c10 += a1 * b0;
        c11 += a1 * b1;
        c12 += a1 * b2;
        c13 += a1 * b3;
        c20 += a2 * b0;
        c21 += a2 * b1;
        c22 += a2 * b2;
        c23 += a2 * b3;
        c30 += a3 * b0;
        c31 += a3 * b1;
        c32 += a3 * b2;
        c33 += a3 * b3;
        pa += JS_MR;
        pb += JS_NR;
      }
      const p = cOff + ir * ldc + jr;
      if (rows === JS_MR && cols === JS_NR) {
        c[p] += c00;
        c[p + 1] += c01;
        c[p + 2] += c02;
        c[p + 3] += c03;
        const p1 = p + ldc;
        c[p1] += c10;
        c[p1 + 1] += c11;
        c[p1 + 2] += c12;
        c[p1 + 3] += c13;
        const p2 = p1 + ldc;
        c[p2] += c20;
        c[p2 + 1] += c21;
        c[p2 + 2] += c22;
        c[p2 + 3] += c23;
        const p3 = p2 + ldc;
        c[p3] += c30;
        c[p3 + 1] += c31;
        c[p3 + 2] += c32;
        c[p3 + 3] += c33;
      } else {
        const tile = [c00, c01, c02, c03, c10, c11, c12, c13, c20, c21, c22, c23, c30, c31, c32, c33];
        for (let i = 0; i < rows; i++) {
          for (let j = 0; j < cols; j++) c[p + i * ldc + j] += tile[i * JS_NR + j];
        }
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// WASM backend

/**
 * WASM blocking, in elements of either dtype: an A block of W_MC x W_KC, a B panel of W_KC x W_NC.
 * PERF: the kernel keeps one B micro-panel (W_KC x NR: 8 KiB in f64) in L1 (32 KiB here) while it
 * streams the A block (W_MC x W_KC: 256 KiB in f64) from L2 (1 MiB); see BENCHMARKS.md for the sweep.
 */
const W_MC = 128;
const W_KC = 256;
const W_NC = 2048;
const ALIGN = 64;
const PACK_A_AT = WASM_TILE_SCRATCH;
const PACK_B_AT = PACK_A_AT + W_MC * W_KC * 8;
/** Where `gemmScratch` arrays start; staged operands go after the last scratch array. */
const SCRATCH_AT = PACK_B_AT + W_KC * (W_NC + 8) * 8;

interface WasmState {
  ex: WasmGemmExports;
  /** Every ArrayBuffer object the memory has had (the memory is shared: growing never detaches). */
  buffers: WeakSet<ArrayBufferLike>;
  buffer: ArrayBufferLike;
  /** End of the scratch arrays handed out last; staging starts here. */
  scratchEnd: number;
}

let wasmStateCache: WasmState | null | undefined;
onWasmReset(() => {
  wasmStateCache = undefined;
});

function wasmState(): WasmState | null {
  if (wasmStateCache !== undefined) return wasmStateCache;
  const ex = wasmGemm();
  if (!ex) {
    wasmStateCache = null;
    return null;
  }
  const st: WasmState = { ex, buffers: new WeakSet(), buffer: ex.memory.buffer, scratchEnd: SCRATCH_AT };
  st.buffers.add(st.buffer);
  wasmStateCache = st;
  return st;
}

const alignUp = (n: number): number => Math.ceil(n / ALIGN) * ALIGN;

/** Grow the memory to at least `bytes`; false when that exceeds its maximum. */
function ensureBytes(st: WasmState, bytes: number): boolean {
  const have = st.ex.memory.buffer.byteLength;
  if (bytes <= have) return true;
  const pages = Math.ceil((bytes - have) / WASM_PAGE);
  if (have / WASM_PAGE + pages > WASM_MAX_PAGES) return false;
  st.ex.memory.grow(pages);
  st.buffer = st.ex.memory.buffer;
  st.buffers.add(st.buffer);
  return true;
}

function viewOf(st: WasmState, dtype: DType, at: number, length: number): FloatArray {
  return dtype === 'float32' ? new Float32Array(st.buffer, at, length) : new Float64Array(st.buffer, at, length);
}

/** Run on WASM; false (nothing written) when the operands do not fit the memory. */
function gemmWasm(st: WasmState, c: FloatArray, a: FloatArray, b: FloatArray, M: number, N: number, K: number, opts: GemmOptions): boolean {
  const f32 = c instanceof Float32Array;
  const dtype: DType = f32 ? 'float32' : 'float64';
  const E = f32 ? 4 : 8;
  let top = alignUp(st.scratchEnd);
  const staged: Array<[FloatArray, number]> = [];
  const place = (arr: FloatArray, copyIn: boolean): number => {
    if (st.buffers.has(arr.buffer)) return arr.byteOffset;
    const at = top;
    top = alignUp(top + arr.length * E);
    if (copyIn) staged.push([arr, at]);
    return at;
  };
  const aAt = place(a, true);
  const bAt = place(b, true);
  const cIsView = st.buffers.has(c.buffer);
  const cAt = place(c, opts.accumulate === true);
  if (!ensureBytes(st, top)) return false;
  for (const [arr, at] of staged) viewOf(st, dtype, at, arr.length).set(arr);
  const cView = cIsView ? c : viewOf(st, dtype, cAt, M * N);
  gemmAt(st.ex, dtype, cAt, aAt, bAt, M, N, K, opts);
  if (!cIsView) c.set(cView);
  return true;
}

/**
 * C (at byte cAt) = op(A) op(B), or += with opts.accumulate, on operands already in the WASM memory
 * (byte addresses): the Goto/BLIS loops around the packers and the micro-kernel, which overwrites C
 * in the first K block unless accumulating (no separate zeroing pass).
 */
function gemmAt(ex: WasmGemmExports, dtype: DType, cAt: number, aAt: number, bAt: number, M: number, N: number, K: number, opts: GemmOptions): void {
  const f32 = dtype === 'float32';
  const E = f32 ? 4 : 8;
  const packA = f32 ? ex.pack_a_32 : ex.pack_a_64;
  const packB = f32 ? ex.pack_b_32 : ex.pack_b_64;
  const kernel = f32 ? ex.kernel_f32 : ex.kernel_f64;
  const rsA = opts.transA ? 1 : K;
  const csA = opts.transA ? M : 1;
  const rsB = opts.transB ? 1 : N;
  const csB = opts.transB ? K : 1;
  for (let jc = 0; jc < N; jc += W_NC) {
    const nc = Math.min(W_NC, N - jc);
    for (let pc = 0; pc < K; pc += W_KC) {
      const kc = Math.min(W_KC, K - pc);
      packB(bAt + (pc * rsB + jc * csB) * E, rsB, csB, kc, nc, PACK_B_AT);
      for (let ic = 0; ic < M; ic += W_MC) {
        const mc = Math.min(W_MC, M - ic);
        packA(aAt + (ic * rsA + pc * csA) * E, rsA, csA, mc, kc, PACK_A_AT);
        kernel(mc, nc, kc, PACK_A_AT, PACK_B_AT, cAt + (ic * N + jc) * E, N, opts.accumulate || pc > 0 ? 1 : 0);
      }
    }
  }
}

/** Byte address of `a` in this thread's WASM memory (an array from gemmScratch), or -1 when it lives elsewhere or WASM is off. */
export function wasmAddress(a: FloatArray): number {
  const st = backendSetting !== 'js' ? wasmState() : null;
  return st?.buffers.has(a.buffer) ? a.byteOffset : -1;
}

// ---------------------------------------------------------------------------------------------
// Scratch

const jsScratch: Record<DType, FloatArray> = { float64: new Float64Array(0), float32: new Float32Array(0) };

/**
 * Scratch arrays of `dtype` with the given lengths, reused across calls: each call returns
 * views on the same memory, so arrays from an earlier call must not be used after the next one.
 * With the WASM backend they live in the WASM memory, where `gemm` reads and writes them in
 * place; otherwise they are slices of one cached JS array. Contents are unspecified.
 */
export function gemmScratch(dtype: DType, lengths: readonly number[]): FloatArray[] {
  const st = backendSetting !== 'js' ? wasmState() : null;
  if (st) {
    const E = dtype === 'float32' ? 4 : 8;
    const at: number[] = [];
    let top = SCRATCH_AT;
    for (const len of lengths) {
      at.push(top);
      top = alignUp(top + len * E);
    }
    if (ensureBytes(st, top)) {
      st.scratchEnd = top;
      return lengths.map((len, i) => viewOf(st, dtype, at[i], len));
    }
  }
  const total = lengths.reduce((s, n) => s + n, 0);
  if (jsScratch[dtype].length < total) jsScratch[dtype] = dtype === 'float32' ? new Float32Array(total) : new Float64Array(total);
  const buf = jsScratch[dtype];
  let off = 0;
  return lengths.map((len) => {
    const part = buf.subarray(off, off + len);
    off += len;
    return part;
  });
}

// ---------------------------------------------------------------------------------------------
// Memory estimates (src/memory/): what the buffers above grow to, by the names estimates merge them under

/** This thread's WASM memory: the packing area, the scratch arrays, staged operands; at most WASM_MAX_PAGES pages. */
export const WASM_MEMORY = 'kernel WASM memory';
/** The JS scratch arrays gemmScratch falls back to (one per dtype) when the WASM memory cannot hold them. */
export function jsScratchName(dtype: DType): string {
  return `kernel JS scratch (${dtype})`;
}

/** Bytes a WASM memory grows to for `top` bytes of content: whole pages, never below the packing area. */
function wasmPagesBytes(top: number): number {
  return Math.ceil(Math.max(top, SCRATCH_AT) / WASM_PAGE) * WASM_PAGE;
}

/**
 * What `gemmScratch(dtype, lengths)` makes this thread hold: its WASM memory grown to fit the
 * arrays or, when they exceed its maximum (or WASM is off), the JS scratch array of `dtype`.
 */
export function gemmScratchBytes(dtype: DType, lengths: readonly number[]): MemoryParts {
  const E = dtype === 'float32' ? 4 : 8;
  if (gemmBackend() === 'wasm') {
    let top = SCRATCH_AT;
    for (const len of lengths) top = alignUp(top + len * E);
    if (Math.ceil(top / WASM_PAGE) <= WASM_MAX_PAGES) return { [WASM_MEMORY]: wasmPagesBytes(top) };
  }
  return { [jsScratchName(dtype)]: lengths.reduce((s, n) => s + n, 0) * E };
}

/**
 * What `gemm` on operands outside the WASM memory makes it grow to: A (M,K), B (K,N) and C (M,N),
 * those `staged` says are plain arrays, copied in after the packing area (nothing when they do not
 * fit: the JS kernels run in place then).
 */
export function gemmStagingBytes(dtype: DType, M: number, N: number, K: number, staged: { a: boolean; b: boolean; c: boolean }): MemoryParts {
  if (gemmBackend() !== 'wasm') return {};
  const E = dtype === 'float32' ? 4 : 8;
  let top = SCRATCH_AT;
  if (staged.a) top = alignUp(top + M * K * E);
  if (staged.b) top = alignUp(top + K * N * E);
  if (staged.c) top = alignUp(top + M * N * E);
  return Math.ceil(top / WASM_PAGE) <= WASM_MAX_PAGES ? { [WASM_MEMORY]: wasmPagesBytes(top) } : {};
}
