/**
 * The WASM kernels index in 32-bit integers (src/layers/geometry.ts MAX_STRIDE_PAD): the largest
 * stride and pad the params take still give the naive conv's answer through them. At a stride
 * and pad of 2^31 - 1 the fast conv's dw was wrong (pad + stride overflowed in im2col), and a
 * stride of 2^32 trapped the kernel; the domains now stop both at the boundary.
 */
import { describe, expect, it } from 'vitest';
import { conv } from '../../src/layers/conv.js';
import { MAX_STRIDE_PAD } from '../../src/layers/geometry.js';
import { validateParams } from '../../src/layers/params.js';
import { gemmBackend } from '../../src/kernels/gemm.js';
import { XoshiroRng, randn } from '../../src/tensor/rng.js';
import { normRel } from '../helpers/tensors.js';

describe('conv at the largest stride and pad', () => {
  it('runs on the WASM kernels here', () => {
    expect(gemmBackend()).toBe('wasm');
  });

  for (const [x, w] of [
    [
      [1, 1, 3, 3],
      [1, 1, 3, 3],
    ],
    [
      [2, 2, 4, 5],
      [3, 2, 2, 3],
    ],
    [
      [1, 1, 1, 1],
      [1, 1, 1, 1],
    ],
  ]) {
    it(`x ${x}, w ${w}: fast forward and backward equal the naive ones`, () => {
      const params = { stride: MAX_STRIDE_PAD, pad: MAX_STRIDE_PAD };
      const rng = new XoshiroRng(7);
      const inputs = { x: randn(rng, x), w: randn(rng, w), b: randn(rng, [w[0]]) };
      const naive = conv.impls.naive.forward(inputs, params);
      const fast = conv.impls.fast.forward(inputs, params);
      expect(fast.out.shape).toEqual(naive.out.shape);
      expect(naive.out.data.some((v, i) => v !== inputs.b.data[Math.floor(i / (naive.out.shape[2] * naive.out.shape[3])) % w[0]])).toBe(true);
      expect(normRel(fast.out.data, naive.out.data)).toBeLessThan(1e-12);
      const dout = randn(rng, naive.out.shape);
      const gn = conv.impls.naive.backward(dout, naive.cache);
      const gf = conv.impls.fast.backward(dout, fast.cache);
      for (const k of ['dx', 'dw', 'db']) expect(normRel(gf[k].data, gn[k].data), k).toBeLessThan(1e-12);
    });
  }

  it('one past it is refused by the params', () => {
    expect(() => validateParams(conv, { stride: MAX_STRIDE_PAD + 1 })).toThrow(/conv: stride: expected an integer >= 1 and at most 536870912/);
    expect(() => validateParams(conv, { pad: MAX_STRIDE_PAD + 1 })).toThrow(/conv: pad: expected an integer >= 0 and at most 536870912/);
  });
});
