/**
 * Winograd convolution (src/kernels/conv-winograd.ts) against the naive conv, forward and both
 * backward passes, float64 and float32 (F(2x2,3x3) in both; the bound below is written for
 * F(4x4,3x3) too), element by element within a DERIVED rounding bound.
 *
 * The bound. In the standard model (every + and * rounds with relative error at most u: 2^-53 in
 * float64, 2^-24 in float32) a value computed by any program of additions and multiplications
 * whose longest chain of rounded operations has length d is within gamma_d * y_abs of the exact
 * value, gamma_d = d*u / (1 - d*u), where y_abs is the same program run on the absolute values of
 * every input and constant (Higham, Accuracy and Stability of Numerical Algorithms, 2nd ed., sec.
 * 3.1 and 3.5, applied stage by stage). So for the forward pass
 *   |Y_hat - Y| <= gamma_d * ( |A^T| [ sum_c (|G| |g_c| |G^T|) . (|B^T| |d_c| |B|) ] |A| + |b| )
 * with y_abs computed below by a plain Winograd over absolute values and the same tiles, and d
 * counted from the code (fused or unfused multiply-adds alike: a fused one rounds once, fewer):
 *   U = G g G^T   float64: 2 stages x (3 products + 2 sums + 1 for the inexact constants 1/6, 1/12,
 *                 1/24) = 8; float32: computed in float64 and rounded once, counted as 2;
 *   V = B^T d B   2 stages x 2 * (nonzeros per row of B^T) : 16 for F(4x4), 8 for F(2x2);
 *   sum over c    the GEMM: K products and K sums, K = C (forward) or F (backward data): K + 1;
 *   A^T M A       2 stages x 2 * (nonzeros per row of A^T): 20 for F(4x4), 12 for F(2x2); + 1 bias.
 * Backward filter, dW = G^T [sum_tiles (A dy A^T) . (B^T d B)] G: A dy A^T 2 x 2 x 4 = 16 (F(4x4)) or
 * 2 x 2 x 2 = 8, the tile sums at most 2 * tiles + blocks + threads + 1 <= 3 * tiles + 4, and G^T X G
 * in float64 2 x (2 alpha + 2) (+1 rounding to float32). The reference itself (naive loops in
 * float64) adds at most gamma_K(2^-53) times the direct sum of |terms|, included (the Winograd
 * absolute sum bounds the direct one: every direct term appears in it with a weight >= 1).
 *
 * These are worst-case bounds: on these cases the measured errors reach at most ~4% of them (a wrong
 * transform or tile offset gives errors of the size of the values themselves). They are
 * also checked against the plain relative tolerances of test/layers/fast-conv.test.ts (1e-12 in
 * float64, 1e-5 in float32, relative to the largest reference value), which Winograd meets here too.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { conv, convBackwardFast, convForwardFast } from '../../src/layers/conv.js';
import { convForwardNaive, convBackwardNaive } from '../../src/layers/conv.js';
import { WINOGRAD_MATRICES, WINOGRAD_TILE } from '../../src/kernels/conv-winograd.js';
import { convAlgorithm, setConvAlgorithm } from '../../src/kernels/conv-algorithm.js';
import { setWasmVariant, type WasmVariant } from '../../src/kernels/wasm/load.js';
import { DEFAULT_MIN_WORK_PER_THREAD, defaultThreads, setMinWorkPerThread, setThreads } from '../../src/kernels/parallel/pool.js';
import { convGeometry } from '../../src/layers/geometry.js';
import { XoshiroRng, randn } from '../../src/tensor/rng.js';
import { toDType, type DType, type FloatArray, type Tensor } from '../../src/tensor/tensor.js';
import { gradCheck } from '../../src/gradcheck/gradcheck.js';

const U: Record<DType, number> = { float64: 2 ** -53, float32: 2 ** -24 };
const gamma = (d: number, u: number): number => (d * u) / (1 - d * u);

interface Case {
  name: string;
  x: [number, number, number, number];
  F: number;
  pad: number;
}

const CASES: Case[] = [
  { name: 'square, pad 1', x: [2, 3, 8, 8], F: 4, pad: 1 },
  { name: 'pad 0, output not a multiple of the tile', x: [2, 4, 9, 7], F: 5, pad: 0 },
  { name: 'rectangular, pad 2 (backward data offset 0)', x: [2, 3, 6, 11], F: 3, pad: 2 },
  { name: 'pad 3 (wider than the filter: backward data reads inside)', x: [1, 2, 5, 6], F: 2, pad: 3 },
  { name: 'N = 1, many channels, odd sizes', x: [1, 12, 13, 10], F: 9, pad: 1 },
  { name: 'output smaller than one tile', x: [3, 2, 3, 4], F: 3, pad: 0 },
  { name: 'channels past the micro-tile and several tile rows', x: [3, 9, 16, 18], F: 10, pad: 1 },
];

const matAbs = (M: readonly (readonly number[])[]): number[][] => M.map((r) => r.map(Math.abs));

/**
 * y_abs of the Winograd correlation out[o, i, j] = sum_c sum_{a,b} inp[c, i + off + a, j + off + b] * filt(o, c)[a][b]
 * (zero outside inp), computed tile by tile like the kernels: |A^T| (sum_c |G||g||G^T| . |B^T||d||B|) |A|.
 */
function winogradAbs(
  inp: FloatArray,
  Cin: number,
  Hin: number,
  Win: number,
  filt: (o: number, c: number) => number[],
  Cout: number,
  Hout: number,
  Wout: number,
  off: number,
  m: 2 | 4,
): Float64Array {
  const { BT, G, AT } = WINOGRAD_MATRICES[m];
  const aBT = matAbs(BT);
  const aG = matAbs(G);
  const aAT = matAbs(AT);
  const a = m + 2;
  const out = new Float64Array(Cout * Hout * Wout);
  const uAbs: number[][][] = [];
  for (let o = 0; o < Cout; o++) {
    for (let c = 0; c < Cin; c++) {
      const g = filt(o, c).map(Math.abs);
      const u: number[] = [];
      for (let r = 0; r < a; r++) {
        for (let s = 0; s < a; s++) {
          let t = 0;
          for (let p = 0; p < 3; p++) for (let q = 0; q < 3; q++) t += aG[r][p] * g[p * 3 + q] * aG[s][q];
          u.push(t);
        }
      }
      uAbs[o] ??= [];
      uAbs[o][c] = u;
    }
  }
  for (let ty = 0; ty * m < Hout; ty++) {
    for (let tx = 0; tx * m < Wout; tx++) {
      const vAbs: number[][] = [];
      for (let c = 0; c < Cin; c++) {
        const d = (r: number, s: number): number => {
          const h = ty * m + off + r;
          const w = tx * m + off + s;
          return h < 0 || h >= Hin || w < 0 || w >= Win ? 0 : Math.abs(inp[(c * Hin + h) * Win + w]);
        };
        const v: number[] = [];
        for (let i = 0; i < a; i++) {
          for (let j = 0; j < a; j++) {
            let t = 0;
            for (let r = 0; r < a; r++) for (let s = 0; s < a; s++) t += aBT[i][r] * d(r, s) * aBT[j][s];
            v.push(t);
          }
        }
        vAbs.push(v);
      }
      for (let o = 0; o < Cout; o++) {
        const mAbs = new Float64Array(a * a);
        for (let c = 0; c < Cin; c++) for (let k = 0; k < a * a; k++) mAbs[k] += uAbs[o][c][k] * vAbs[c][k];
        for (let ii = 0; ii < m; ii++) {
          for (let jj = 0; jj < m; jj++) {
            const h = ty * m + ii;
            const w = tx * m + jj;
            if (h >= Hout || w >= Wout) continue;
            let t = 0;
            for (let i = 0; i < a; i++) for (let j = 0; j < a; j++) t += aAT[ii][i] * mAbs[i * a + j] * aAT[jj][j];
            out[(o * Hout + h) * Wout + w] = t;
          }
        }
      }
    }
  }
  return out;
}

/** dw_abs[f, c] = |G^T| (sum_tiles |A||dy||A^T| . |B^T||d||B|) |G| over every image's tiles. */
function winogradFilterAbs(
  x: FloatArray,
  dout: FloatArray,
  N: number,
  C: number,
  H: number,
  W: number,
  F: number,
  Hout: number,
  Wout: number,
  pad: number,
  m: 2 | 4,
): Float64Array {
  const { BT, G, AT } = WINOGRAD_MATRICES[m];
  const aBT = matAbs(BT);
  const aG = matAbs(G);
  const aAT = matAbs(AT);
  const a = m + 2;
  const X = new Float64Array(F * C * a * a);
  for (let n = 0; n < N; n++) {
    for (let ty = 0; ty * m < Hout; ty++) {
      for (let tx = 0; tx * m < Wout; tx++) {
        const v: number[][] = [];
        for (let c = 0; c < C; c++) {
          const d = (r: number, s: number): number => {
            const h = ty * m - pad + r;
            const w = tx * m - pad + s;
            return h < 0 || h >= H || w < 0 || w >= W ? 0 : Math.abs(x[((n * C + c) * H + h) * W + w]);
          };
          const vc: number[] = [];
          for (let i = 0; i < a; i++)
            for (let j = 0; j < a; j++) {
              let t = 0;
              for (let r = 0; r < a; r++) for (let s = 0; s < a; s++) t += aBT[i][r] * d(r, s) * aBT[j][s];
              vc.push(t);
            }
          v.push(vc);
        }
        for (let f = 0; f < F; f++) {
          const y = (r: number, s: number): number => {
            const h = ty * m + r;
            const w = tx * m + s;
            return h >= Hout || w >= Wout ? 0 : Math.abs(dout[((n * F + f) * Hout + h) * Wout + w]);
          };
          for (let i = 0; i < a; i++)
            for (let j = 0; j < a; j++) {
              let t = 0;
              for (let r = 0; r < m; r++) for (let s = 0; s < m; s++) t += aAT[r][i] * y(r, s) * aAT[s][j];
              for (let c = 0; c < C; c++) X[((f * C + c) * a + i) * a + j] += t * v[c][i * a + j];
            }
        }
      }
    }
  }
  const out = new Float64Array(F * C * 9);
  for (let p = 0; p < F * C; p++) {
    for (let r = 0; r < 3; r++)
      for (let q = 0; q < 3; q++) {
        let t = 0;
        for (let i = 0; i < a; i++) for (let j = 0; j < a; j++) t += aG[i][r] * X[(p * a + i) * a + j] * aG[j][q];
        out[p * 9 + r * 3 + q] = t;
      }
  }
  return out;
}

/** The naive conv's own rounding bound: gamma_K(2^-53) times the direct sum of |terms|. */
function directAbs(x: Tensor, w: Tensor, b: Tensor, pad: number): Float64Array {
  const abs = (t: Tensor): Tensor => ({ data: t.data.map(Math.abs), shape: t.shape });
  return Float64Array.from(convForwardNaive({ x: abs(x), w: abs(w), b: abs(b) }, { stride: 1, pad }).out.data);
}

/** Worst (|actual - ref| - bound) over the elements: <= 0 when every element is within its bound. */
function excess(actual: FloatArray, ref: FloatArray, bound: ArrayLike<number>): number {
  let worst = -Infinity;
  for (let i = 0; i < ref.length; i++) worst = Math.max(worst, Math.abs(actual[i] - ref[i]) - bound[i]);
  return worst;
}

function relMax(a: FloatArray, b: FloatArray): number {
  let d = 0;
  let m = 0;
  for (let i = 0; i < b.length; i++) {
    d = Math.max(d, Math.abs(a[i] - b[i]));
    m = Math.max(m, Math.abs(b[i]));
  }
  return d / m;
}

afterAll(() => {
  setThreads(defaultThreads());
  setMinWorkPerThread(DEFAULT_MIN_WORK_PER_THREAD);
  setConvAlgorithm('auto');
  setWasmVariant('auto');
});

const RUNS: Array<{ threads: number; variant: WasmVariant | 'auto' }> = [
  { threads: 1, variant: 'relaxed' },
  { threads: 1, variant: 'simd128' },
  { threads: 2, variant: 'auto' },
];

for (const { threads, variant } of RUNS) {
  describe(`winograd conv equals naive within the derived bound (${threads} thread${threads > 1 ? 's' : ''}, ${variant})`, () => {
    CASES.forEach((c, k) => {
      for (const dtype of ['float64', 'float32'] as DType[]) {
        it(`${c.name}: x ${c.x} F ${c.F} pad ${c.pad} (${dtype})`, () => {
          setThreads(threads);
          setMinWorkPerThread(0);
          setWasmVariant(variant);
          setConvAlgorithm('winograd');
          const [N, C, H, W] = c.x;
          const F = c.F;
          const rng = new XoshiroRng(700 + k);
          const round = (t: Tensor): Tensor => (dtype === 'float32' ? toDType(toDType(t, 'float32'), 'float64') : t);
          const x = round(randn(rng, c.x));
          const w = round(randn(rng, [F, C, 3, 3]));
          const b = round(randn(rng, [F]));
          const params = { stride: 1, pad: c.pad };
          const g = convGeometry(x.shape, w.shape, 1, c.pad);
          expect(convAlgorithm(g, dtype)).toBe('winograd');
          const { Hout, Wout } = g;
          const ref = convForwardNaive({ x, w, b }, params);
          const dout = round(randn(new XoshiroRng(800 + k), ref.out.shape));
          const refG = convBackwardNaive(dout, ref.cache);

          const inD = (t: Tensor): Tensor => toDType(t, dtype);
          const fwd = convForwardFast({ x: inD(x), w: inD(w), b: inD(b) }, params);
          const grads = convBackwardFast(inD(dout), fwd.cache);
          const m = WINOGRAD_TILE[dtype] as 2 | 4;
          const u = U[dtype];
          const u64 = U.float64;
          const a = m + 2;
          const dU = dtype === 'float64' ? 8 : 2; // float32: float64 transform, rounded once (2 covers the float64 part)
          const dV = 2 * 2 * (m === 4 ? 4 : 2);
          const dA = 2 * 2 * (m === 4 ? 5 : 3);

          // forward
          const fAbs = new Float64Array(N * F * Hout * Wout);
          for (let n = 0; n < N; n++) {
            const yAbs = winogradAbs(
              x.data.subarray(n * C * H * W),
              C,
              H,
              W,
              (o, cc) => Array.from(w.data.subarray((o * C + cc) * 9, (o * C + cc + 1) * 9)),
              F,
              Hout,
              Wout,
              -c.pad,
              m,
            );
            for (let i = 0; i < yAbs.length; i++) fAbs[n * yAbs.length + i] = yAbs[i] + Math.abs(b.data[Math.floor(i / (Hout * Wout))]);
          }
          const direct = directAbs(x, w, b, c.pad);
          const fwdBound = fAbs.map((v, i) => gamma(dU + dV + C + 1 + dA + 1, u) * v + gamma(C * 9 + 1, u64) * direct[i]);
          expect(excess(fwd.out.data, ref.out.data, fwdBound), 'out').toBeLessThanOrEqual(0);

          // backward data: the flipped filters on dout, offset pad - 2
          const dxAbs = new Float64Array(N * C * H * W);
          const flipped = (o: number, f: number): number[] => Array.from(w.data.subarray((f * C + o) * 9, (f * C + o + 1) * 9)).reverse();
          for (let n = 0; n < N; n++) {
            dxAbs.set(winogradAbs(dout.data.subarray(n * F * Hout * Wout), F, Hout, Wout, flipped, C, H, W, c.pad - 2, m), n * C * H * W);
          }
          // The naive reference's own error is at most gamma_{9F}(2^-53) times the direct |dout||w| sum,
          // which the Winograd absolute sum bounds from above (every direct term appears in it with weight >= 1).
          const dxBound = dxAbs.map((v) => gamma(dU + dV + F + 1 + dA, u) * v + gamma(F * 9, u64) * v);
          expect(excess(grads.dx.data, refG.dx.data, dxBound), 'dx').toBeLessThanOrEqual(0);

          // backward filter
          const tiles = N * Math.ceil(Hout / m) * Math.ceil(Wout / m);
          const dwAbs = winogradFilterAbs(x.data, dout.data, N, C, H, W, F, Hout, Wout, c.pad, m);
          const dG = 2 * (2 * a + 2) + (dtype === 'float32' ? 1 : 0);
          const dDy = 2 * 2 * (m === 4 ? 4 : 2);
          const dwBound = dwAbs.map((v) => gamma(dDy + dV + 3 * tiles + 4 + 1, u) * v + gamma(dG, u64) * v + gamma(N * Hout * Wout, u64) * v);
          expect(excess(grads.dw.data, refG.dw.data, dwBound), 'dw').toBeLessThanOrEqual(0);
          // db is a plain sum of dout in float64
          expect(relMax(grads.db.data, refG.db.data), 'db').toBeLessThan(dtype === 'float32' ? 1e-6 : 1e-13);

          // and the plain tolerances of the fast-conv tests hold too
          const tol = dtype === 'float32' ? 1e-5 : 1e-12;
          expect(relMax(fwd.out.data, ref.out.data)).toBeLessThan(tol);
          for (const name of ['dx', 'dw']) expect(relMax(grads[name].data, refG[name].data), name).toBeLessThan(tol);
        });
      }
    });
  });
}

describe('winograd conv in the gradient checker', () => {
  it('passes the gradient check with the fast impl at a Winograd shape (float64)', () => {
    setThreads(1);
    setConvAlgorithm('auto');
    setWasmVariant('auto');
    const rng = new XoshiroRng(9);
    const inputs = { x: randn(rng, [2, 8, 6, 7]), w: randn(rng, [8, 8, 3, 3]), b: randn(rng, [8]) };
    expect(convAlgorithm(convGeometry(inputs.x.shape, inputs.w.shape, 1, 1), 'float64')).toBe('winograd');
    const res = gradCheck(conv, conv.impls.fast!, inputs, { stride: 1, pad: 1 }, { rng: new XoshiroRng(3) });
    expect(res.problems).toEqual([]);
    for (const g of res.gradients) expect(g.relError, g.name).toBeLessThan(conv.tolerance.grad);
  });
});
