/**
 * Every fast conv algorithm (src/kernels/conv-algorithm.ts) forced on every shape it applies to,
 * against the naive conv, forward and both backward passes, float64 and float32, one and two
 * threads, both WASM builds: element by element within a derived rounding bound.
 *
 * im2col + GEMM and direct compute each output as a dot product summed in some order (blocked over
 * K by the GEMM, over the batch per thread), so in the standard model (Higham, Accuracy and
 * Stability, sec. 3.1) every element is within gamma_d(u) * sum |terms| of the exact value, with d
 * the longest chain of roundings: the K products and K sums of one dot product plus the partial
 * sums added across K blocks, images, blocks and threads. Counted generously:
 *   out: d = K + 8 (K = C*HH*WW; the bias is one more term), dx: d = F*HH*WW + 8 (the GEMM's F terms,
 *   then col2im's up to HH*WW overlapping windows), dw: d = N*Hout*Wout + N + 8, db: float64 sums.
 * sum |terms| is the naive conv run on absolute values (|x|, |w|, |b|, |dout|), and the naive
 * reference's own error (gamma_d at 2^-53 times the same sums) is added. Winograd has its own bound
 * (conv-winograd.test.ts) and is checked here only against the rule.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { convBackwardFast, convBackwardNaive, convForwardFast, convForwardNaive } from '../../src/layers/conv.js';
import {
  convAlgorithm,
  convAlgorithmApplies,
  setConvAlgorithm,
  WINOGRAD_MIN_CHANNELS,
  DIRECT_MAX_K,
  type ConvAlgorithm,
} from '../../src/kernels/conv-algorithm.js';
import { setGemmBackend } from '../../src/kernels/gemm.js';
import { setWasmVariant, type WasmVariant } from '../../src/kernels/wasm/load.js';
import { DEFAULT_MIN_WORK_PER_THREAD, defaultThreads, setMinWorkPerThread, setThreads } from '../../src/kernels/parallel/pool.js';
import { convGeometry } from '../../src/layers/geometry.js';
import { XoshiroRng, randn } from '../../src/tensor/rng.js';
import { toDType, type DType, type FloatArray, type Tensor } from '../../src/tensor/tensor.js';

const U: Record<DType, number> = { float64: 2 ** -53, float32: 2 ** -24 };
const gamma = (d: number, u: number): number => (d * u) / (1 - d * u);

interface Case {
  name: string;
  x: number[];
  w: number[];
  stride: number;
  pad: number;
}

const CASES: Case[] = [
  { name: 'cs231n fast-layers style: 3 channels, stride 2, pad 1', x: [4, 3, 15, 15], w: [5, 3, 3, 3], stride: 2, pad: 1 },
  { name: 'pad 0, stride 1', x: [2, 2, 9, 8], w: [6, 2, 3, 3], stride: 1, pad: 0 },
  { name: 'rectangular kernel, stride 3, pad 1', x: [2, 2, 11, 13], w: [6, 2, 2, 4], stride: 3, pad: 1 },
  { name: '1x1 kernel, stride 3, pad 2', x: [2, 3, 10, 11], w: [3, 3, 1, 1], stride: 3, pad: 2 },
  { name: '1x1 kernel, stride 3, pad 0', x: [2, 3, 10, 11], w: [3, 3, 1, 1], stride: 3, pad: 0 },
  { name: 'pad one less than the window', x: [2, 2, 6, 7], w: [3, 2, 3, 2], stride: 2, pad: 2 },
  { name: 'N = 1, single channel, odd output width', x: [1, 1, 4, 5], w: [1, 1, 2, 3], stride: 1, pad: 0 },
  { name: 'more filters than the micro-tiles, wide rows', x: [3, 3, 6, 21], w: [11, 3, 3, 3], stride: 1, pad: 1 },
  { name: 'kernel the size of the padded input', x: [2, 1, 3, 3], w: [2, 1, 5, 5], stride: 1, pad: 1 },
  { name: 'many taps (K = 100)', x: [2, 4, 8, 8], w: [3, 4, 5, 5], stride: 1, pad: 2 },
];

const ALGORITHMS: ConvAlgorithm[] = ['im2col', 'direct'];
const RUNS: Array<{ threads: number; variant: WasmVariant | 'auto' }> = [
  { threads: 1, variant: 'relaxed' },
  { threads: 1, variant: 'simd128' },
  { threads: 2, variant: 'auto' },
];

const abs = (t: Tensor): Tensor => ({ data: Float64Array.from(t.data, Math.abs), shape: t.shape });

/** Worst (|actual - ref| - bound): <= 0 when every element is within its bound. */
function excess(actual: FloatArray, ref: FloatArray, magnitude: FloatArray, k: number): number {
  let worst = -Infinity;
  for (let i = 0; i < ref.length; i++) worst = Math.max(worst, Math.abs(actual[i] - ref[i]) - k * magnitude[i]);
  return worst;
}

afterAll(() => {
  setThreads(defaultThreads());
  setMinWorkPerThread(DEFAULT_MIN_WORK_PER_THREAD);
  setConvAlgorithm('auto');
  setWasmVariant('auto');
  setGemmBackend('auto');
});

for (const { threads, variant } of RUNS) {
  for (const algorithm of ALGORITHMS) {
    describe(`${algorithm} conv equals naive within the derived bound (${threads} thread${threads > 1 ? 's' : ''}, ${variant})`, () => {
      CASES.forEach((c, k) => {
        // The direct kernel takes pads below the window only (conv-algorithm.ts); im2col takes every case.
        if (algorithm === 'direct' && c.pad >= Math.max(c.w[2], c.w[3])) return;
        for (const dtype of ['float64', 'float32'] as DType[]) {
          it(`${c.name}: x ${c.x} w ${c.w} stride ${c.stride} pad ${c.pad} (${dtype})`, () => {
            setThreads(threads);
            setMinWorkPerThread(0);
            setWasmVariant(variant);
            setConvAlgorithm(algorithm);
            const params = { stride: c.stride, pad: c.pad };
            const g = convGeometry(c.x, c.w, c.stride, c.pad);
            expect(convAlgorithm(g, dtype)).toBe(algorithm);
            const rng = new XoshiroRng(900 + k);
            const round = (t: Tensor): Tensor => (dtype === 'float32' ? toDType(toDType(t, 'float32'), 'float64') : t);
            const x = round(randn(rng, c.x));
            const w = round(randn(rng, c.w));
            const b = round(randn(rng, [c.w[0]]));
            const ref = convForwardNaive({ x, w, b }, params);
            const dout = round(randn(new XoshiroRng(950 + k), ref.out.shape));
            const refG = convBackwardNaive(dout, ref.cache);
            const inD = (t: Tensor): Tensor => toDType(t, dtype);
            const fwd = convForwardFast({ x: inD(x), w: inD(w), b: inD(b) }, params);
            const grads = convBackwardFast(inD(dout), fwd.cache);

            // sums of |terms|: the naive conv on absolute values (linear in each input, positive coefficients)
            const absFwd = convForwardNaive({ x: abs(x), w: abs(w), b: abs(b) }, params);
            const absG = convBackwardNaive(abs(dout), absFwd.cache);
            const { N, C, F, HH, WW, Hout, Wout } = g;
            const K = C * HH * WW;
            const u = U[dtype];
            const u64 = U.float64;
            const dOut = K + 8;
            const dDx = F * HH * WW + 8;
            const dDw = N * Hout * Wout + N + 8;
            expect(excess(fwd.out.data, ref.out.data, absFwd.out.data, gamma(dOut, u) + gamma(dOut, u64)), 'out').toBeLessThanOrEqual(0);
            expect(excess(grads.dx.data, refG.dx.data, absG.dx.data, gamma(dDx, u) + gamma(dDx, u64)), 'dx').toBeLessThanOrEqual(0);
            expect(excess(grads.dw.data, refG.dw.data, absG.dw.data, gamma(dDw, u) + gamma(dDw, u64)), 'dw').toBeLessThanOrEqual(0);
            // db: float64 sums of the dtype values, rounded once to dtype
            expect(excess(grads.db.data, refG.db.data, absG.db.data, gamma(dDw, u64) + u + gamma(dDw, u64)), 'db').toBeLessThanOrEqual(0);
            for (const name of ['dx', 'dw', 'db']) expect(grads[name].data).toBeInstanceOf(dtype === 'float32' ? Float32Array : Float64Array);
          });
        }
      });
    });
  }
}

describe('the algorithm rule', () => {
  it('Winograd for 3x3 stride 1 with enough channels, direct for few taps, im2col otherwise; JS GEMM: im2col', () => {
    setConvAlgorithm('auto');
    setGemmBackend('auto');
    const shape = (C: number, F: number, HH: number, stride: number) => ({ C, F, HH, WW: HH, stride, Hout: 16, Wout: 16 });
    expect(convAlgorithm(shape(64, 64, 3, 1), 'float64')).toBe('winograd');
    expect(convAlgorithm(shape(WINOGRAD_MIN_CHANNELS, WINOGRAD_MIN_CHANNELS, 3, 1), 'float32')).toBe('winograd');
    expect(convAlgorithm(shape(64, 64, 3, 2), 'float64')).toBe('im2col');
    expect(convAlgorithm(shape(3, 25, 3, 2), 'float64')).toBe('direct'); // the cs231n shape, K = 27
    expect(convAlgorithm(shape(3, 64, 3, 1), 'float64')).toBe('direct'); // too few channels for Winograd
    expect(convAlgorithm(shape(4, 8, 5, 1), 'float64')).toBe(4 * 25 <= DIRECT_MAX_K ? 'direct' : 'im2col');
    setGemmBackend('js');
    expect(convAlgorithm(shape(64, 64, 3, 1), 'float64')).toBe('im2col');
    expect(convAlgorithmApplies('direct', shape(3, 25, 3, 2))).toBe(false);
    setGemmBackend('auto');
  });

  it("a pad of at least the window is not the direct kernel's (it stages the padded image): im2col", () => {
    setConvAlgorithm('auto');
    setGemmBackend('auto');
    const g = { C: 3, F: 25, HH: 3, WW: 3, stride: 2, Hout: 16, Wout: 16 };
    expect(convAlgorithm({ ...g, pad: 2 }, 'float64')).toBe('direct');
    expect(convAlgorithmApplies('direct', { ...g, pad: 3 })).toBe(false);
    expect(convAlgorithm({ ...g, pad: 3 }, 'float64')).toBe('im2col');
    setConvAlgorithm('direct');
    expect(convAlgorithm({ ...g, pad: 2 ** 29 }, 'float64')).toBe('im2col');
    setConvAlgorithm('auto');
  });

  it('a forced algorithm that does not apply falls back to the rule', () => {
    setConvAlgorithm('winograd');
    expect(convAlgorithm({ C: 3, F: 25, HH: 3, WW: 3, stride: 2, Hout: 16, Wout: 16 }, 'float64')).toBe('direct');
    setConvAlgorithm('auto');
  });
});
