import { afterEach, describe, expect, it } from 'vitest';
import { col2im, im2col, validRange, type WindowGeometry } from '../../src/kernels/im2col.js';
import { gemmScratch, setGemmBackend, wasmAddress } from '../../src/kernels/gemm.js';
import { convGeometry } from '../../src/layers/geometry.js';
import { XoshiroRng } from '../../src/tensor/rng.js';
import type { DType, FloatArray } from '../../src/tensor/tensor.js';

const GEOMETRIES: Array<[string, WindowGeometry]> = [
  ['3x3 stride 1 pad 1', convGeometry([1, 3, 7, 7], [1, 3, 3, 3], 1, 1)],
  ['rectangular 3x2 stride 2 pad 0, odd sizes', convGeometry([1, 2, 9, 8], [1, 2, 3, 2], 2, 0)],
  ['1x1 stride 3 pad 2', convGeometry([1, 3, 10, 11], [1, 3, 1, 1], 3, 2)],
  ['5x5 pad 2 on 6x6', convGeometry([1, 4, 6, 6], [1, 4, 5, 5], 1, 2)],
  ['kernel as large as the padded input', convGeometry([1, 1, 3, 3], [1, 1, 5, 5], 1, 1)],
  ['2x4 stride 3 pad 1', convGeometry([1, 2, 11, 13], [1, 2, 2, 4], 3, 1)],
];

function random(n: number, dtype: DType, seed: number): FloatArray {
  const rng = new XoshiroRng(seed);
  const a = dtype === 'float32' ? new Float32Array(n) : new Float64Array(n);
  for (let i = 0; i < n; i++) a[i] = rng.randn();
  return a;
}

/** The definition, element by element: cols[(c*HH+di)*WW+dj, i*Wout+j] = xpad[c, i*s+di, j*s+dj]. */
function im2colReference(x: FloatArray, g: WindowGeometry): Float64Array {
  const { C, H, W, HH, WW, stride, pad, Hout, Wout } = g;
  const cols = new Float64Array(C * HH * WW * Hout * Wout);
  for (let c = 0; c < C; c++)
    for (let di = 0; di < HH; di++)
      for (let dj = 0; dj < WW; dj++) {
        for (let i = 0; i < Hout; i++)
          for (let j = 0; j < Wout; j++) {
            const h = i * stride + di - pad;
            const w = j * stride + dj - pad;
            cols[((c * HH + di) * WW + dj) * Hout * Wout + i * Wout + j] = h >= 0 && h < H && w >= 0 && w < W ? x[(c * H + h) * W + w] : 0;
          }
      }
  return cols;
}

afterEach(() => setGemmBackend('auto'));

describe('validRange', () => {
  it('gives the output indices whose tap lands inside the input', () => {
    expect(validRange(-1, 1, 5, 5)).toEqual([1, 5]);
    expect(validRange(1, 1, 5, 5)).toEqual([0, 4]);
    expect(validRange(-2, 3, 10, 4)).toEqual([1, 4]);
    expect(validRange(7, 1, 5, 3)).toEqual([0, 0]);
  });
});

for (const backend of ['js', 'wasm'] as const) {
  describe(`im2col and col2im (${backend})`, () => {
    for (const [name, g] of GEOMETRIES) {
      for (const dtype of ['float64', 'float32'] as DType[]) {
        it(`${name} (${dtype}): matches the definition, also as one block of a wider matrix, and col2im is its adjoint`, () => {
          setGemmBackend(backend);
          const CHW = g.C * g.H * g.W;
          const K = g.C * g.HH * g.WW;
          const HW = g.Hout * g.Wout;
          const ld = 3 * HW + 1; // the image's block sits at column HW + 1 of a wider matrix
          const [cols, image, dimage] = gemmScratch(dtype, [K * ld, CHW, CHW]);
          expect(wasmAddress(cols) >= 0).toBe(backend === 'wasm');
          image.set(random(CHW, dtype, 1));
          cols.fill(7);
          im2col(cols, HW + 1, ld, image, 0, g);
          const ref = im2colReference(image, g);
          for (let r = 0; r < K; r++) {
            for (let p = 0; p < HW; p++) expect(cols[r * ld + HW + 1 + p]).toBe(ref[r * HW + p]);
            expect(cols[r * ld + HW]).toBe(7); // neighbours untouched
            if (r * ld + 2 * HW + 1 < cols.length) expect(cols[r * ld + 2 * HW + 1]).toBe(7);
          }
          // <im2col(x), c> = <x, col2im(c)> for any c.
          const c = random(K * ld, dtype, 2);
          cols.set(c);
          dimage.fill(0);
          col2im(dimage, 0, cols, HW + 1, ld, g);
          let lhs = 0;
          for (let r = 0; r < K; r++) for (let p = 0; p < HW; p++) lhs += ref[r * HW + p] * c[r * ld + HW + 1 + p];
          let rhs = 0;
          for (let i = 0; i < CHW; i++) rhs += image[i] * dimage[i];
          expect(Math.abs(lhs - rhs)).toBeLessThan((dtype === 'float32' ? 1e-4 : 1e-12) * (1 + Math.abs(lhs)));
        });
      }
    }
  });
}
