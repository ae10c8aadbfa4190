import { afterEach, describe, expect, it } from 'vitest';
import { gemm, gemmBackend, gemmJs, gemmKernel, gemmScratch, setGemmBackend, type GemmOptions } from '../../src/kernels/gemm.js';
import { readFileSync } from 'node:fs';
import { setWasmVariant, wasmGemmUnavailableReason, wasmVariant, type WasmVariant } from '../../src/kernels/wasm/load.js';
import { XoshiroRng } from '../../src/tensor/rng.js';
import type { DType, FloatArray } from '../../src/tensor/tensor.js';

/** The specification: a triple loop in float64, plus sum |a||b| per element for error bounds. */
function reference(a: FloatArray, b: FloatArray, M: number, N: number, K: number, o: GemmOptions, c0?: FloatArray) {
  const c = new Float64Array(M * N);
  const mag = new Float64Array(M * N);
  for (let i = 0; i < M; i++) {
    for (let j = 0; j < N; j++) {
      let s = c0 ? c0[i * N + j] : 0;
      let m = c0 ? Math.abs(c0[i * N + j]) : 0;
      for (let k = 0; k < K; k++) {
        const av = o.transA ? a[k * M + i] : a[i * K + k];
        const bv = o.transB ? b[j * K + k] : b[k * N + j];
        s += av * bv;
        m += Math.abs(av * bv);
      }
      c[i * N + j] = s;
      mag[i * N + j] = m;
    }
  }
  return { c, mag };
}

function random(n: number, dtype: DType, rng: XoshiroRng): FloatArray {
  const a = dtype === 'float32' ? new Float32Array(n) : new Float64Array(n);
  for (let i = 0; i < n; i++) a[i] = rng.randn();
  return a;
}

/**
 * Unit roundoff times K, with slack: a dot product of length K summed in any order is within
 * K * u * sum|a_k b_k| of the exact value (float32: u = 2^-24; float64: u = 2^-53).
 */
function bound(dtype: DType, K: number): number {
  return (dtype === 'float32' ? 2 ** -24 : 2 ** -53) * (K + 2) * 2;
}

function expectClose(actual: FloatArray, ref: { c: Float64Array; mag: Float64Array }, dtype: DType, K: number): void {
  const tol = bound(dtype, K);
  let worst = 0;
  for (let i = 0; i < actual.length; i++) {
    const err = Math.abs(actual[i] - ref.c[i]) - tol * ref.mag[i];
    worst = Math.max(worst, err);
  }
  expect(worst).toBeLessThanOrEqual(1e-300);
}

// Sizes chosen to cross every blocking and tile edge: MR/NR (4 and 4 / 8), odd K, KC = 256,
// MC = 64 (JS) / 128 (WASM), NC = 1024 (JS) / 2048 (WASM).
const SIZES: Array<[number, number, number]> = [
  [1, 1, 1],
  [1, 7, 1],
  [3, 5, 2],
  [4, 8, 2],
  [4, 16, 4],
  [5, 9, 3],
  [13, 17, 29],
  [65, 33, 257],
  [130, 20, 7],
  [3, 2051, 5],
  [7, 1025, 3],
];
const TRANSPOSES: GemmOptions[] = [{}, { transA: true }, { transB: true }, { transA: true, transB: true }];
const DTYPES: DType[] = ['float64', 'float32'];

afterEach(() => {
  setGemmBackend('auto');
  setWasmVariant('auto');
});

/** The two builds of the WASM kernels: fused multiply-add (relaxed SIMD) and separate multiply and add. */
const VARIANTS: WasmVariant[] = ['relaxed', 'simd128'];

describe('gemm JS backend vs the triple loop', () => {
  const rng = new XoshiroRng(7);
  for (const dtype of DTYPES) {
    for (const [M, N, K] of SIZES) {
      for (const t of TRANSPOSES) {
        it(`${dtype} ${M}x${N}x${K} ${t.transA ? 'A^T' : 'A'} ${t.transB ? 'B^T' : 'B'}`, () => {
          const a = random(M * K, dtype, rng);
          const b = random(K * N, dtype, rng);
          const c = dtype === 'float32' ? new Float32Array(M * N) : new Float64Array(M * N);
          c.fill(NaN); // overwritten, never read
          gemmJs(c, a, b, M, N, K, t);
          expectClose(c, reference(a, b, M, N, K, t), dtype, K);
        });
      }
    }
  }

  it('accumulates into C with accumulate: true', () => {
    const [M, N, K] = [6, 10, 5];
    const a = random(M * K, 'float64', rng);
    const b = random(K * N, 'float64', rng);
    const c0 = random(M * N, 'float64', rng);
    const c = c0.slice();
    gemmJs(c, a, b, M, N, K, { accumulate: true });
    expectClose(c, reference(a, b, M, N, K, {}, c0), 'float64', K);
  });
});

describe('gemm WASM backend', () => {
  it('loads (npm run build assembles src/kernels/wasm/*.wat), the relaxed-SIMD build by default', () => {
    expect(wasmGemmUnavailableReason()).toBeUndefined();
    setGemmBackend('wasm');
    expect(gemmBackend()).toBe('wasm');
    // Node 20 validates relaxed SIMD once the loader has set --experimental-wasm-relaxed-simd; Node >= 22 always.
    expect(wasmVariant()).toBe('relaxed');
    expect(gemmKernel()).toBe('wasm-relaxed (FMA)');
    setWasmVariant('simd128');
    expect(gemmKernel()).toBe('wasm-simd128');
  });

  it('fuses the multiply-adds only in the relaxed build (f64x2 / f32x4.relaxed_madd opcodes)', () => {
    const bytes = (file: string) => readFileSync(new URL(`../../dist/kernels/wasm/${file}`, import.meta.url)).toString('hex');
    // 0xfd prefix, LEB128 opcode 0x107 (f64x2.relaxed_madd) and 0x105 (f32x4.relaxed_madd).
    for (const op of ['fd8702', 'fd8502']) {
      expect(bytes('kernels-relaxed.wasm')).toContain(op);
      expect(bytes('kernels.wasm')).not.toContain(op);
    }
  });

  const rng = new XoshiroRng(11);
  for (const variant of VARIANTS) {
    for (const dtype of DTYPES) {
      for (const [M, N, K] of SIZES) {
        for (const t of TRANSPOSES) {
          it(`${variant} ${dtype} ${M}x${N}x${K} ${t.transA ? 'A^T' : 'A'} ${t.transB ? 'B^T' : 'B'} equals the JS kernel`, () => {
            setWasmVariant(variant);
            const a = random(M * K, dtype, rng);
            const b = random(K * N, dtype, rng);
            const make = () => (dtype === 'float32' ? new Float32Array(M * N) : new Float64Array(M * N));
            const cJs = make();
            gemmJs(cJs, a, b, M, N, K, t);
            setGemmBackend('wasm');
            expect(wasmVariant()).toBe(variant);
            const cWasm = make().fill(NaN);
            gemm(cWasm, a, b, M, N, K, t);
            const ref = reference(a, b, M, N, K, t);
            expectClose(cWasm, ref, dtype, K);
            // Both backends block the same way and sum k in the same order (fused or not, within the bound).
            expectClose(cWasm, { c: Float64Array.from(cJs), mag: ref.mag }, dtype, K);
          });
        }
      }
    }
  }

  it('reads and writes scratch arrays in place, with the same result as staged operands', () => {
    setGemmBackend('wasm');
    const [M, N, K] = [37, 45, 300];
    for (const dtype of DTYPES) {
      const a = random(M * K, dtype, rng);
      const b = random(N * K, dtype, rng);
      const staged = dtype === 'float32' ? new Float32Array(M * N) : new Float64Array(M * N);
      gemm(staged, a, b, M, N, K, { transB: true });
      const [sa, sb, sc] = gemmScratch(dtype, [M * K, N * K, M * N]);
      sa.set(a);
      sb.set(b);
      sc.fill(1);
      gemm(sc, sa, sb, M, N, K, { transB: true, accumulate: true });
      let worst = 0;
      for (let i = 0; i < M * N; i++) worst = Math.max(worst, Math.abs(sc[i] - (staged[i] + 1)));
      expect(worst).toBeLessThan(dtype === 'float32' ? 1e-3 : 1e-10);
    }
  });

  it('accumulates into a C outside the WASM memory', () => {
    setGemmBackend('wasm');
    const [M, N, K] = [9, 19, 11];
    const a = random(M * K, 'float64', rng);
    const b = random(K * N, 'float64', rng);
    const c0 = random(M * N, 'float64', rng);
    const c = c0.slice();
    gemm(c, a, b, M, N, K, { accumulate: true });
    expectClose(c, reference(a, b, M, N, K, {}, c0), 'float64', K);
  });
});

describe('gemm edge cases and operand checks', () => {
  for (const backend of ['js', 'wasm'] as const) {
    it(`${backend}: K = 0 gives zeros (or leaves C with accumulate); M = 0 is a no-op`, () => {
      setGemmBackend(backend);
      const c = new Float64Array([1, 2, 3, 4]);
      gemm(c, new Float64Array(0), new Float64Array(0), 2, 2, 0, { accumulate: true });
      expect(Array.from(c)).toEqual([1, 2, 3, 4]);
      gemm(c, new Float64Array(0), new Float64Array(0), 2, 2, 0);
      expect(Array.from(c)).toEqual([0, 0, 0, 0]);
      gemm(new Float64Array(0), new Float64Array(0), new Float64Array(6), 0, 2, 3);
    });
  }

  it('refuses operands of the wrong length or mixed dtypes', () => {
    expect(() => gemm(new Float64Array(4), new Float64Array(5), new Float64Array(4), 2, 2, 2)).toThrow(/A must have M\*K = 4 elements, got 5/);
    expect(() => gemm(new Float64Array(3), new Float64Array(4), new Float64Array(4), 2, 2, 2)).toThrow(/C must have/);
    expect(() => gemm(new Float64Array(4), new Float32Array(4), new Float64Array(4), 2, 2, 2)).toThrow(TypeError);
    expect(() => gemm(new Float64Array(4), new Float64Array(4), new Float64Array(4), 2, 2, -1)).toThrow(RangeError);
  });
});
