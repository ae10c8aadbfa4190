import { afterAll, describe, expect, it } from 'vitest';
import { conv, convBackwardFast, convForwardFast } from '../../src/layers/conv.js';
import { gradCheck } from '../../src/gradcheck/gradcheck.js';
import { setGemmBackend } from '../../src/kernels/gemm.js';
import { DEFAULT_MIN_WORK_PER_THREAD, defaultThreads, setMinWorkPerThread, setThreads } from '../../src/kernels/parallel/pool.js';
import { XoshiroRng, randn } from '../../src/tensor/rng.js';
import { toDType, type DType, type FloatArray, type Tensor } from '../../src/tensor/tensor.js';

/**
 * float32 tolerance: each output is a dot product of C*HH*WW <= 100 terms (plus the bias, or
 * up to N*Hout*Wout terms for dw/db) computed in float32 (unit roundoff 2^-24 ~ 6e-8) against
 * float64 naive on the same float32-rounded inputs. The error bound K * u * sum|terms| is
 * ~1e-5 of the largest magnitude for these sizes; 1e-5 relative to max |reference| holds.
 */
const FLOAT32_TOLERANCE = 1e-5;
const FLOAT64_TOLERANCE = 1e-12;

/** max |a - b| / max |b|: one number per array that ignores where the small values are. */
function relMaxDiff(a: FloatArray, b: FloatArray): number {
  let d = 0;
  let m = 0;
  for (let i = 0; i < b.length; i++) {
    d = Math.max(d, Math.abs(a[i] - b[i]));
    m = Math.max(m, Math.abs(b[i]));
  }
  return m === 0 ? d : d / m;
}

interface Case {
  name: string;
  x: number[];
  w: number[];
  stride: number;
  pad: number;
}

const CASES: Case[] = [
  { name: '3x3 stride 1 pad 1', x: [2, 3, 7, 7], w: [4, 3, 3, 3], stride: 1, pad: 1 },
  { name: 'odd sizes, rectangular kernel, stride 2 pad 0', x: [3, 2, 9, 8], w: [5, 2, 3, 2], stride: 2, pad: 0 },
  { name: '1x1 kernel stride 3 pad 2', x: [2, 3, 10, 11], w: [3, 3, 1, 1], stride: 3, pad: 2 },
  { name: '5x5 kernel pad 2 (wider than half the input)', x: [5, 4, 6, 6], w: [3, 4, 5, 5], stride: 1, pad: 2 },
  { name: 'rectangular 2x4 kernel stride 3 pad 1', x: [2, 2, 11, 13], w: [6, 2, 2, 4], stride: 3, pad: 1 },
  { name: 'kernel the size of the padded input', x: [2, 1, 3, 3], w: [2, 1, 5, 5], stride: 1, pad: 1 },
  { name: 'stride 2 pad 1, odd input (cs231n fast-layers style)', x: [4, 3, 15, 15], w: [5, 3, 3, 3], stride: 2, pad: 1 },
  // HW = 400: images are batched 3 to a GEMM, so 5 images make a full and a partial block.
  { name: 'batched images with a partial last block', x: [5, 2, 20, 20], w: [3, 2, 1, 1], stride: 1, pad: 0 },
  { name: 'single image, single channel', x: [1, 1, 4, 5], w: [1, 1, 2, 3], stride: 1, pad: 0 },
  { name: 'more filters than the 4-row micro-tile, stride 1 pad 0', x: [2, 3, 6, 7], w: [9, 3, 2, 2], stride: 1, pad: 0 },
];

function inputsFor(c: Case, seed: number): Record<string, Tensor> {
  const rng = new XoshiroRng(seed);
  return { x: randn(rng, c.x), w: randn(rng, c.w), b: randn(rng, [c.w[0]]) };
}

afterAll(() => {
  setThreads(defaultThreads());
  setMinWorkPerThread(DEFAULT_MIN_WORK_PER_THREAD);
  setGemmBackend('auto');
});

for (const threads of [1, 2]) {
  describe(`fast conv equals naive (${threads} thread${threads > 1 ? 's' : ''})`, () => {
    const setup = () => {
      setThreads(threads);
      setMinWorkPerThread(0); // split even these tiny problems
    };
    CASES.forEach((c, k) => {
      for (const dtype of ['float64', 'float32'] as DType[]) {
        it(`${c.name}: x ${c.x} w ${c.w} (${dtype})`, () => {
          setup();
          const params = { stride: c.stride, pad: c.pad };
          const f64 = inputsFor(c, 100 + k);
          // The reference runs in float64 on the same (rounded) values the float32 pass sees.
          const rounded = dtype === 'float32' ? Object.fromEntries(Object.entries(f64).map(([n, t]) => [n, toDType(toDType(t, 'float32'), 'float64')])) : f64;
          const ref = conv.impls.naive.forward(rounded, params);
          const dout = randn(new XoshiroRng(200 + k), ref.out.shape);
          const doutR = dtype === 'float32' ? toDType(toDType(dout, 'float32'), 'float64') : dout;
          const refGrads = conv.impls.naive.backward(doutR, ref.cache);

          const inputs = dtype === 'float32' ? Object.fromEntries(Object.entries(f64).map(([n, t]) => [n, toDType(t, 'float32')])) : f64;
          const fwd = convForwardFast(inputs, params);
          const grads = convBackwardFast(dtype === 'float32' ? toDType(dout, 'float32') : dout, fwd.cache);
          const Ctor = dtype === 'float32' ? Float32Array : Float64Array;
          const tol = dtype === 'float32' ? FLOAT32_TOLERANCE : FLOAT64_TOLERANCE;

          expect(fwd.out.shape).toEqual(ref.out.shape);
          expect(fwd.out.data).toBeInstanceOf(Ctor);
          expect(relMaxDiff(fwd.out.data, ref.out.data)).toBeLessThan(tol);
          for (const name of ['dx', 'dw', 'db']) {
            expect(grads[name].shape).toEqual(refGrads[name].shape);
            expect(grads[name].data).toBeInstanceOf(Ctor);
            expect(relMaxDiff(grads[name].data, refGrads[name].data), name).toBeLessThan(tol);
          }
          // Forward passes are pure.
          expect(Array.from(inputs.x.data.slice(0, 5))).toEqual(Array.from((dtype === 'float32' ? toDType(f64.x, 'float32') : f64.x).data.slice(0, 5)));
        });
      }
    });

    it('passes the gradient check with the fast impl', () => {
      setup();
      for (const c of [CASES[1], CASES[4]]) {
        const res = gradCheck(conv, conv.impls.fast!, inputsFor(c, 9), { stride: c.stride, pad: c.pad }, { rng: new XoshiroRng(3) });
        expect(res.problems).toEqual([]);
        for (const g of res.gradients) expect(g.relError, `${c.name} ${g.name}`).toBeLessThan(conv.tolerance.grad);
      }
    });
  });
}

describe('fast conv dtypes and backends', () => {
  it('computes in the dtype of x: float64 w and b are converted for a float32 x', () => {
    setThreads(1);
    const c = CASES[0];
    const f64 = inputsFor(c, 1);
    const fwd = convForwardFast({ ...f64, x: toDType(f64.x, 'float32') }, { stride: 1, pad: 1 });
    expect(fwd.out.data).toBeInstanceOf(Float32Array);
    const g = convBackwardFast(randn(new XoshiroRng(2), fwd.out.shape), fwd.cache);
    for (const name of ['dx', 'dw', 'db']) expect(g[name].data).toBeInstanceOf(Float32Array);
  });

  it('gives the same answers with the JS GEMM as with the WASM GEMM', () => {
    setThreads(1);
    const c = CASES[6];
    const inputs = inputsFor(c, 4);
    const params = { stride: c.stride, pad: c.pad };
    const dout = randn(new XoshiroRng(5), [c.x[0], c.w[0], 8, 8]);
    setGemmBackend('js');
    const js = convForwardFast(inputs, params);
    const jsGrads = convBackwardFast(dout, js.cache);
    setGemmBackend('wasm');
    const wasm = convForwardFast(inputs, params);
    const wasmGrads = convBackwardFast(dout, wasm.cache);
    expect(relMaxDiff(wasm.out.data, js.out.data)).toBeLessThan(FLOAT64_TOLERANCE);
    for (const name of ['dx', 'dw', 'db']) expect(relMaxDiff(wasmGrads[name].data, jsGrads[name].data)).toBeLessThan(FLOAT64_TOLERANCE);
  });
});
