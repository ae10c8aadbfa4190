/**
 * Synchronous loading of the WebAssembly kernels (src/kernels/wasm/*.wat, assembled by
 * scripts/build-wasm.mjs into dist/kernels/wasm/kernels.wasm and kernels-relaxed.wasm). Each thread
 * gets its own instance with its own memory. When no file loads or the engine lacks SIMD,
 * `wasmGemm()` returns null and callers use the JS kernels.
 *
 * Which build runs (the "variant"):
 *  - 'relaxed': kernels-relaxed.wasm, multiply-adds as relaxed_madd (fused on x64 with FMA3). On
 *    Node 20 (V8 11.3) relaxed SIMD is behind `--experimental-wasm-relaxed-simd`; the loader sets
 *    that flag with v8.setFlagsFromString before compiling (V8 flags are per process, so worker
 *    threads see it too) and uses the build only when WebAssembly.validate accepts it.
 *  - 'simd128': kernels.wasm, separate multiply and add.
 *  - 'auto' (default): 'relaxed' when it validates, else 'simd128'.
 * The environment variable CNN_CHECK_WASM=relaxed|simd128|auto sets the default (workers inherit it:
 * `CNN_CHECK_WASM=simd128 cnn-check bench` times the fallback); `setWasmVariant` changes it for
 * this thread.
 */
import { readFileSync } from 'node:fs';
import { setFlagsFromString } from 'node:v8';

/** The exports of the kernels module; addresses are byte offsets into `memory`, strides are in elements. */
/** An image (C, H, W) at byte `x` and the block of its im2col matrix at byte `cols` (`ld` columns, `es` bytes an element). */
type ImageBlockFn = (
  x: number,
  C: number,
  H: number,
  W: number,
  HH: number,
  WW: number,
  stride: number,
  pad: number,
  Hout: number,
  Wout: number,
  cols: number,
  ld: number,
  es: number,
) => void;

export interface WasmGemmExports {
  memory: WebAssembly.Memory;
  pack_a_64(src: number, rs: number, cs: number, mc: number, kc: number, dst: number): void;
  pack_a_32(src: number, rs: number, cs: number, mc: number, kc: number, dst: number): void;
  pack_b_64(src: number, rs: number, cs: number, kc: number, nc: number, dst: number): void;
  pack_b_32(src: number, rs: number, cs: number, kc: number, nc: number, dst: number): void;
  kernel_f64(mc: number, nc: number, kc: number, pa: number, pb: number, c: number, ldc: number, acc: number): void;
  kernel_f32(mc: number, nc: number, kc: number, pa: number, pb: number, c: number, ldc: number, acc: number): void;
  /** im2col of the image at byte `x` into the block at byte `cols` of a matrix with `ld` columns; es = element bytes. */
  im2col: ImageBlockFn;
  /** The adjoint: the image at byte `x` += the block folded back. */
  col2im: ImageBlockFn;
  /** Winograd input transform of one image (src/kernels/wasm/winograd.wat documents the arguments). */
  wino_in_f64_m2: WinoIn;
  wino_in_f32_m2: WinoIn;
  /** Winograd output transform into one image. */
  wino_out_f64_m2: WinoOut;
  wino_out_f32_m2: WinoOut;
  /** Winograd transform of the tiles of one image of dout (backward filter). */
  wino_dy_f64_m2: WinoDy;
  wino_dy_f32_m2: WinoDy;
  /** Phase-split padded copy of one image for the direct kernels (src/kernels/wasm/direct.wat). */
  stage_phases(x: number, C: number, H: number, W: number, pad: number, s: number, dst: number, Hp: number, Wq: number, es: number): void;
  /** Direct convolution of one staged image through a tap table. */
  direct_fwd_f64: DirectFwd;
  direct_fwd_f32: DirectFwd;
  /** Filter gradient (transposed) of the direct convolution of one image. */
  direct_dw_f64: DirectDw;
  direct_dw_f32: DirectDw;
  /** dst[r] += sum of row r (float64 sums) of a rows x cols matrix of es-byte floats. */
  row_sums(src: number, rows: number, cols: number, dst: number, es: number): void;
}

type DirectFwd = (xs: number, tap: number, K: number, wp: number, F: number, Hout: number, Wout: number, rowb: number, out: number, bias: number) => void;
type DirectDw = (xs: number, tap: number, K: number, dp: number, F: number, Hout: number, Wout: number, rowb: number, dwt: number) => void;

type WinoIn = (
  x: number,
  C: number,
  H: number,
  W: number,
  oh: number,
  ow: number,
  th: number,
  twp: number,
  P: number,
  tmp: number,
  dst: number,
  sxi: number,
  pc: number,
  spc: number,
  sc: number,
  t0: number,
  pt: number,
  spt: number,
  st: number,
) => void;
type WinoOut = (
  M: number,
  F: number,
  T: number,
  t0: number,
  th: number,
  tw: number,
  twp: number,
  out: number,
  Hout: number,
  Wout: number,
  bias: number,
  tmp: number,
) => void;
type WinoDy = (
  dy: number,
  F: number,
  Hout: number,
  Wout: number,
  th: number,
  twp: number,
  P: number,
  tmp: number,
  dst: number,
  sxi: number,
  pc: number,
  spc: number,
  sc: number,
  t0: number,
  pt: number,
  spt: number,
  st: number,
) => void;

/** Bytes [0, WASM_TILE_SCRATCH) of the memory belong to the kernels (edge tiles). */
export const WASM_TILE_SCRATCH = 256;
/** 64 KiB WebAssembly pages. */
export const WASM_PAGE = 65536;
/** The memory's declared maximum in pages (1 GiB). */
export const WASM_MAX_PAGES = 16384;
/** Micro-tile of the GEMM kernels: MR rows of A by NR columns of B (two vectors) per dtype. */
export const WASM_MR = 4;
export const WASM_NR = { float64: 4, float32: 8 } as const;

/** A build of the kernels. */
export type WasmVariant = 'relaxed' | 'simd128';

/** The two modules: `kernels` (each thread's own memory) and `shared-kernels` (imports the shared arena). */
type ModuleName = 'kernels' | 'shared-kernels';
const fileOf = (name: ModuleName, variant: WasmVariant): string => (variant === 'relaxed' ? `${name}-relaxed.wasm` : `${name}.wasm`);
/** Where the .wasm files are: next to this module in dist/, or in dist/ when running from src/. */
const DIRS = ['./', '../../../dist/kernels/wasm/'];

function envSetting(): WasmVariant | 'auto' {
  const v = process.env.CNN_CHECK_WASM;
  return v === 'relaxed' || v === 'simd128' ? v : 'auto';
}

let setting: WasmVariant | 'auto' = envSetting();
const compiled = new Map<string, WebAssembly.Module | null>();
const reasons = new Map<string, string>();
let instance: { variant: WasmVariant; exports: WasmGemmExports } | null | undefined;
const listeners: Array<() => void> = [];

function readBytes(file: string): Uint8Array<ArrayBuffer> | null {
  for (const dir of DIRS) {
    try {
      return new Uint8Array(readFileSync(new URL(dir + file, import.meta.url)));
    } catch {
      // try the next place
    }
  }
  reasons.set(file, `${file} not found (run \`npm run build\`)`);
  return null;
}

/**
 * Compile with TurboFan right away. PERF: V8 compiles WebAssembly lazily with its baseline compiler
 * (Liftoff) and tiers a function up to TurboFan only after it has run a while, with no on-stack
 * replacement: the first call of a GEMM kernel ran at 1.2-1.9 GFLOP/s against 25-27 for later calls
 * (f64, one core). `--no-liftoff --no-wasm-lazy-compilation` for the duration of this synchronous
 * compile makes every call fast (the module compiles in a few ms); V8's defaults are restored after.
 */
function compileOptimized(bytes: Uint8Array<ArrayBuffer>): WebAssembly.Module {
  setFlagsFromString('--no-liftoff');
  setFlagsFromString('--no-wasm-lazy-compilation');
  try {
    return new WebAssembly.Module(bytes);
  } finally {
    setFlagsFromString('--liftoff');
    setFlagsFromString('--wasm-lazy-compilation');
  }
}

function compile(variant: WasmVariant, name: ModuleName = 'kernels'): WebAssembly.Module | null {
  const file = fileOf(name, variant);
  if (compiled.has(file)) return compiled.get(file)!;
  let mod: WebAssembly.Module | null = null;
  const bytes = readBytes(file);
  if (bytes) {
    if (variant === 'relaxed' && !WebAssembly.validate(bytes)) setFlagsFromString('--experimental-wasm-relaxed-simd');
    if (!WebAssembly.validate(bytes)) {
      reasons.set(file, `${file} does not validate on this engine (${variant === 'relaxed' ? 'no relaxed SIMD' : 'no WebAssembly SIMD'})`);
    } else {
      try {
        mod = compileOptimized(bytes);
      } catch (err) {
        reasons.set(file, `${file} did not compile: ${(err as Error).message}`);
      }
    }
  }
  compiled.set(file, mod);
  return mod;
}

/** This thread's instance of the kernels (of the chosen variant), or null when WebAssembly SIMD is unavailable. */
export function wasmGemm(): WasmGemmExports | null {
  if (instance !== undefined) return instance?.exports ?? null;
  const order: WasmVariant[] = setting === 'auto' ? ['relaxed', 'simd128'] : [setting];
  instance = null;
  for (const variant of order) {
    const mod = compile(variant);
    if (mod) {
      instance = { variant, exports: new WebAssembly.Instance(mod, {}).exports as unknown as WasmGemmExports };
      break;
    }
  }
  return instance?.exports ?? null;
}

/** The variant `wasmGemm()` runs on this thread, or null when it is unavailable. */
export function wasmVariant(): WasmVariant | null {
  wasmGemm();
  return instance?.variant ?? null;
}

/**
 * Choose the build for this thread ('auto': relaxed when it validates). Drops the current instance
 * (and its memory): arrays from gemmScratch are invalid afterwards. For tests and benchmarks.
 */
export function setWasmVariant(v: WasmVariant | 'auto'): void {
  if (v === setting && instance !== undefined) return;
  setting = v;
  instance = undefined;
  for (const f of listeners) f();
}

/** Called whenever setWasmVariant drops the instance (gemm.ts resets its memory state). */
export function onWasmReset(f: () => void): void {
  listeners.push(f);
}

/** Why `wasmGemm()` is null, or undefined when it is not. */
export function wasmGemmUnavailableReason(): string | undefined {
  if (wasmGemm()) return undefined;
  return [...reasons.values()].join('; ') || 'no WebAssembly SIMD';
}

/** The exports of the shared-memory module; addresses are byte offsets into the shared arena. */
export interface SharedKernelExports {
  plane_sums_f64: PlaneSums;
  plane_sums_f32: PlaneSums;
  plane_bwd_sums_f64: PlaneBwdSums;
  plane_bwd_sums_f32: PlaneBwdSums;
  plane_affine_f64: PlaneAffine;
  plane_affine_f32: PlaneAffine;
  plane_dx_f64: PlaneDx;
  plane_dx_f32: PlaneDx;
  /** 2x2 stride-2 max-pooling of planes [p0, p1) of H x W (H, W even): values and flat argmax (i32). */
  maxpool2_f64: Maxpool2;
  maxpool2_f32: Maxpool2;
}

type Maxpool2 = (x: number, p0: number, p1: number, H: number, W: number, out: number, argmax: number) => void;

type PlaneSums = (x: number, P: number, B: number, shift: number, s1: number, s2: number) => void;
type PlaneBwdSums = (dout: number, x: number, P: number, B: number, center: number, t1: number, t2: number) => void;
type PlaneAffine = (x: number, P: number, B: number, center: number, scale: number, bias: number, out: number) => void;
type PlaneDx = (dout: number, x: number, P: number, B: number, ka: number, kb: number, center: number, kc: number, dx: number) => void;

let sharedInstance: { memory: WebAssembly.Memory; exports: SharedKernelExports } | null = null;

/**
 * The shared-memory kernels instantiated on `memory` (the shared arena, which every thread can
 * reach), of the variant this thread's kernels use; null without WebAssembly SIMD. The last instance
 * is kept: a worker gets a new Memory object with every task, so it instantiates per task (a few
 * microseconds; the module is compiled once per thread).
 */
export function sharedKernels(memory: WebAssembly.Memory): SharedKernelExports | null {
  if (sharedInstance?.memory === memory) return sharedInstance.exports;
  const variant = wasmVariant();
  if (!variant) return null;
  const mod = compile(variant, 'shared-kernels');
  if (!mod) return null;
  const exports = new WebAssembly.Instance(mod, { env: { memory } }).exports as unknown as SharedKernelExports;
  sharedInstance = { memory, exports };
  return exports;
}
