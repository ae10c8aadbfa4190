import { describe, expect, it } from 'vitest';
import { conv, convBackwardNaive, convForwardNaive } from '../../src/layers/conv.js';
import { checkLayer } from '../../src/gradcheck/check-layer.js';
import { ShapeError, ParamError } from '../../src/errors.js';
import { iota, t, vals } from '../helpers/tensors.js';

describe('conv known answers (worked by hand)', () => {
  // x = 1..9 in a 3x3 image, w = [[1, 0], [0, -1]], b = 0.5: each output is x[i,j] - x[i+1,j+1] + 0.5.
  const x = iota([1, 1, 3, 3]);
  const w = t([1, 0, 0, -1], [1, 1, 2, 2]);
  const b = t([0.5], [1]);

  it('stride 1, pad 0', () => {
    const { out, cache } = convForwardNaive({ x, w, b }, { stride: 1, pad: 0 });
    expect(out.shape).toEqual([1, 1, 2, 2]);
    expect(vals(out)).toEqual([-3.5, -3.5, -3.5, -3.5]);
    const g = convBackwardNaive(t([1, 1, 1, 1], [1, 1, 2, 2]), cache);
    expect(vals(g.db)).toEqual([4]);
    expect(vals(g.dw)).toEqual([12, 16, 24, 28]);
    expect(vals(g.dx)).toEqual([1, 1, 0, 1, 0, -1, 0, -1, -1]);
  });

  it('stride 2, pad 1 (zeros enter through the padding)', () => {
    const { out } = convForwardNaive({ x, w, b }, { stride: 2, pad: 1 });
    expect(out.shape).toEqual([1, 1, 2, 2]);
    expect(vals(out)).toEqual([-0.5, -2.5, -6.5, -3.5]);
  });

  it('floor output size when the stride does not divide evenly', () => {
    // H = 5, HH = 2, pad 0, stride 2: floor(3 / 2) + 1 = 2.
    const { out } = convForwardNaive({ x: iota([1, 1, 5, 5]), w, b }, { stride: 2, pad: 0 });
    expect(out.shape).toEqual([1, 1, 2, 2]);
    // x[i,j] = 5i + j + 1, so x[i,j] - x[i+1,j+1] = -6 everywhere.
    expect(vals(out)).toEqual([-5.5, -5.5, -5.5, -5.5]);
  });

  it('cross-correlation: the kernel is not flipped', () => {
    const wOne = t([0, 1, 0, 0], [1, 1, 2, 2]); // picks the top-right element of each window
    const { out } = convForwardNaive({ x, w: wOne, b: t([0], [1]) }, { stride: 1, pad: 0 });
    expect(vals(out)).toEqual([2, 3, 5, 6]);
  });

  it('rectangular kernel and several channels and filters', () => {
    const x2 = iota([1, 2, 2, 3]); // channel 0: 1..6, channel 1: 7..12
    const w2 = t([1, 1, 1, 0, 0, 0, /* f0 c1 */ 0, 0, 0, 1, 1, 1, /* f1 */ 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0], [2, 2, 2, 3]);
    const { out } = convForwardNaive({ x: x2, w: w2, b: t([0, 10], [2]) }, { stride: 1, pad: 0 });
    expect(out.shape).toEqual([1, 2, 1, 1]);
    // f0: top row of channel 0 (1+2+3) + bottom row of channel 1 (10+11+12); f1: x[0,0,0,0] + 10.
    expect(vals(out)).toEqual([39, 11]);
  });
});

describe('conv gradient check over a table of configurations', () => {
  const cases: { name: string; stride: number; pad: number; x: number[]; w: number[] }[] = [
    { name: 'cs231n default', stride: 1, pad: 1, x: [4, 3, 5, 5], w: [2, 3, 3, 3] },
    { name: 'stride 2 pad 1', stride: 2, pad: 1, x: [4, 3, 5, 5], w: [2, 3, 3, 3] },
    { name: 'stride 3 pad 2', stride: 3, pad: 2, x: [2, 3, 7, 7], w: [3, 3, 3, 3] },
    { name: 'pad 0', stride: 1, pad: 0, x: [2, 2, 6, 6], w: [3, 2, 3, 3] },
    { name: 'pad 2 stride 1', stride: 1, pad: 2, x: [2, 2, 4, 4], w: [2, 2, 3, 3] },
    { name: 'rectangular x and kernel', stride: 2, pad: 1, x: [2, 3, 6, 9], w: [2, 3, 3, 2] },
    { name: 'rectangular, non-exact division', stride: 2, pad: 0, x: [3, 2, 8, 7], w: [2, 2, 3, 4] },
    { name: '1x1 kernel', stride: 1, pad: 0, x: [2, 4, 5, 5], w: [3, 4, 1, 1] },
    { name: '1x1 kernel, stride 2, pad 1', stride: 2, pad: 1, x: [2, 3, 5, 4], w: [2, 3, 1, 1] },
    { name: 'kernel as large as the padded input', stride: 1, pad: 1, x: [1, 2, 3, 3], w: [2, 2, 5, 5] },
  ];
  for (const c of cases) {
    for (const seed of [1, 231]) {
      it(`${c.name} (seed ${seed})`, () => {
        const r = checkLayer(conv, { params: { stride: c.stride, pad: c.pad }, shapes: { x: c.x, w: c.w }, seed, repeat: 0 });
        expect(r.gradients.map((g) => g.name)).toEqual(expect.arrayContaining(['dx', 'dw', 'db']));
        for (const g of r.gradients) expect(g.relError, `${g.impl} ${g.name}`).toBeLessThan(1e-7);
        expect(r.pass).toBe(true);
      });
    }
  }
});

describe('conv validation', () => {
  const check = (x: number[], w: number[], stride: number, pad: number) => () => conv.check({ x, w, b: [w[0]] }, { stride, pad });
  it('rejects mismatched channels, naming both shapes', () => {
    expect(check([4, 3, 5, 5], [2, 4, 3, 3], 1, 1)).toThrow(ShapeError);
    expect(check([4, 3, 5, 5], [2, 4, 3, 3], 1, 1)).toThrow(/w channels must equal x channels \(3\)/);
  });
  it('rejects a kernel larger than the padded input', () => {
    expect(check([1, 1, 5, 5], [1, 1, 8, 3], 1, 1)).toThrow(/kernel 8x3 must fit the padded input 7x7/);
  });
  it('rejects wrong rank and bad params', () => {
    expect(check([4, 3, 5], [2, 3, 3, 3], 1, 1)).toThrow(/x must be rank 4/);
    expect(check([4, 3, 5, 5], [2, 3, 3, 3], 0, 1)).toThrow(ParamError);
    expect(check([4, 3, 5, 5], [2, 3, 3, 3], 1, -1)).toThrow(/pad must be an integer >= 0/);
  });
});
