import { describe, expect, it } from 'vitest';
import { maxpool, maxpoolBackwardNaive, maxpoolForwardNaive } from '../../src/layers/maxpool.js';
import { checkLayer } from '../../src/gradcheck/check-layer.js';
import { t, vals } from '../helpers/tensors.js';

describe('maxpool known answers (worked by hand)', () => {
  const x = t([1, 5, 2, 0, 3, 4, 8, 7, 9, 1, 6, 6, 2, 0, 6, 3], [1, 1, 4, 4]);

  it('2x2 stride 2', () => {
    const { out, cache } = maxpoolForwardNaive({ x }, { pool_height: 2, pool_width: 2, stride: 2 });
    expect(out.shape).toEqual([1, 1, 2, 2]);
    expect(vals(out)).toEqual([5, 8, 9, 6]);
    const { dx } = maxpoolBackwardNaive(t([10, 20, 30, 40], [1, 1, 2, 2]), cache);
    // NOTE: the bottom-right window holds 6, 6, 6, 3: the tie goes to the first 6 in row-major order.
    expect(vals(dx)).toEqual([0, 10, 0, 0, 0, 0, 20, 0, 30, 0, 40, 0, 0, 0, 0, 0]);
  });

  it('overlapping windows (3x3, stride 1) accumulate into a shared winner', () => {
    const { out, cache } = maxpoolForwardNaive({ x }, { pool_height: 3, pool_width: 3, stride: 1 });
    expect(vals(out)).toEqual([9, 8, 9, 8]);
    const { dx } = maxpoolBackwardNaive(t([1, 1, 1, 1], [1, 1, 2, 2]), cache);
    expect(dx.data[8]).toBe(2); // the 9 wins two windows
    expect(dx.data[6]).toBe(2); // so does the 8
    expect(vals(dx).reduce((a, b) => a + b, 0)).toBe(4);
  });

  it('floor output size and rectangular windows', () => {
    const { out } = maxpoolForwardNaive({ x }, { pool_height: 2, pool_width: 3, stride: 3 });
    expect(out.shape).toEqual([1, 1, 1, 1]); // floor((4 - 2) / 3) + 1 = 1 in both directions
    expect(vals(out)).toEqual([8]); // rows 0-1, columns 0-2: 1 5 2 / 3 4 8
  });
});

describe('maxpool gradient check', () => {
  const cases = [
    { name: 'cs231n default 2x2 s2', p: { pool_height: 2, pool_width: 2, stride: 2 }, x: [3, 2, 8, 8] },
    { name: '3x3 s2 (pool != stride)', p: { pool_height: 3, pool_width: 3, stride: 2 }, x: [2, 3, 7, 7] },
    { name: '2x3 s1 rectangular', p: { pool_height: 2, pool_width: 3, stride: 1 }, x: [2, 2, 5, 6] },
    { name: 'non-exact division', p: { pool_height: 2, pool_width: 2, stride: 2 }, x: [2, 2, 5, 7] },
    { name: 'window = input', p: { pool_height: 4, pool_width: 4, stride: 1 }, x: [2, 2, 4, 4] },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const r = checkLayer(maxpool, { params: c.p, shapes: { x: c.x }, seed: 7, repeat: 0 });
      for (const g of r.gradients) expect(g.relError).toBeLessThan(1e-7);
      expect(r.pass).toBe(true);
    });
  }

  it('rejects a window larger than the input', () => {
    expect(() => maxpool.check({ x: [1, 1, 3, 3] }, { pool_height: 4, pool_width: 2, stride: 1 })).toThrow(/pool window 4x2 must fit the input 3x3/);
  });
});
