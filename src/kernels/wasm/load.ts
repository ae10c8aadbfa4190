/**
 * Synchronous loading of the WebAssembly SIMD GEMM and im2col kernels (src/kernels/wasm/gemm.wat, assembled into
 * dist/kernels/wasm/gemm.wasm by scripts/build-wasm.mjs). Each thread gets its own instance with its
 * own memory. When the file is missing or the engine lacks SIMD, `wasmGemm()` returns null and
 * callers use the JS kernels.
 */
import { readFileSync } from 'node:fs';

/** The exports of gemm.wasm; addresses are byte offsets into `memory`, strides are in elements. */
export interface WasmGemmExports {
  memory: WebAssembly.Memory;
  pack_a_64(src: number, rs: number, cs: number, mc: number, kc: number, kcp: number, dst: number): void;
  pack_a_32(src: number, rs: number, cs: number, mc: number, kc: number, kcp: number, dst: number): void;
  pack_b_64(src: number, rs: number, cs: number, kc: number, kcp: number, nc: number, dst: number): void;
  pack_b_32(src: number, rs: number, cs: number, kc: number, kcp: number, nc: number, dst: number): void;
  kernel_f64(mc: number, nc: number, kcp: number, pa: number, pb: number, c: number, ldc: number): void;
  kernel_f32(mc: number, nc: number, kcp: number, pa: number, pb: number, c: number, ldc: number): void;
  /** im2col of the image at byte `x` into the block at byte `cols` of a matrix with `ld` columns; es = element bytes. */
  im2col(x: number, C: number, H: number, W: number, HH: number, WW: number, stride: number, pad: number, Hout: number, Wout: number, cols: number, ld: number, es: number): void;
  /** The adjoint: the image at byte `x` += the block folded back. */
  col2im(x: number, C: number, H: number, W: number, HH: number, WW: number, stride: number, pad: number, Hout: number, Wout: number, cols: number, ld: number, es: number): void;
}

/** Bytes [0, WASM_TILE_SCRATCH) of the memory belong to the kernels (edge tiles). */
export const WASM_TILE_SCRATCH = 256;
/** 64 KiB WebAssembly pages. */
export const WASM_PAGE = 65536;
/** The memory's declared maximum in pages (1 GiB). */
export const WASM_MAX_PAGES = 16384;

/** Where the .wasm file is: next to this module in dist/, or in dist/ when running from src/. */
const CANDIDATES = ['./gemm.wasm', '../../../dist/kernels/wasm/gemm.wasm'];

let compiled: WebAssembly.Module | null | undefined;
let instance: WasmGemmExports | null | undefined;
let loadError: string | undefined;

function compile(): WebAssembly.Module | null {
  if (compiled !== undefined) return compiled;
  compiled = null;
  for (const rel of CANDIDATES) {
    let bytes: Uint8Array<ArrayBuffer>;
    try {
      bytes = new Uint8Array(readFileSync(new URL(rel, import.meta.url)));
    } catch {
      continue;
    }
    try {
      // NOTE: synchronous compilation is fine in Node for any module size (browsers cap it on
      // the main thread); the module is 4 KB.
      compiled = new WebAssembly.Module(bytes);
      loadError = undefined;
    } catch (err) {
      loadError = `gemm.wasm did not compile: ${(err as Error).message}`;
    }
    return compiled;
  }
  loadError = 'gemm.wasm not found (run `npm run build`)';
  return compiled;
}

/** This thread's instance of the kernels, or null when WebAssembly SIMD is unavailable. */
export function wasmGemm(): WasmGemmExports | null {
  if (instance !== undefined) return instance;
  const mod = compile();
  instance = mod ? (new WebAssembly.Instance(mod, {}).exports as unknown as WasmGemmExports) : null;
  return instance;
}

/** Why `wasmGemm()` is null, or undefined when it is not. */
export function wasmGemmUnavailableReason(): string | undefined {
  wasmGemm();
  return loadError;
}
