/**
 * dropout: the train-mode mask is numpy's exactly (np.random.seed(seed); np.random.rand(*shape)
 * < p, scaled by 1/p), test mode is the identity, fast equals naive, and the gradient check
 * passes the layer and fails a backward that forgets the mask.
 */
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { dropout, dropoutBackward, dropoutForwardFast, dropoutForwardNaive, dropoutMask, type DropoutCache } from '../../src/layers/dropout.js';
import { checkLayer } from '../../src/gradcheck/check-layer.js';
import type { LayerSpec } from '../../src/layers/types.js';
import { XoshiroRng, randn } from '../../src/tensor/rng.js';
import { toDType } from '../../src/tensor/tensor.js';

/** numpy's own mask, computed by numpy. */
function numpyMask(shape: number[], p: number, seed: number): number[] {
  const code = `import numpy as np, json; np.random.seed(${seed}); print(json.dumps(((np.random.rand(${shape.join(',')}) < ${p}) / ${p}).ravel().tolist()))`;
  const r = spawnSync('python3', ['-c', code], { encoding: 'utf8' });
  expect(r.status, r.stderr).toBe(0);
  return JSON.parse(r.stdout);
}

describe('dropout', () => {
  it.each([
    [[4, 3, 5], 0.5, 123],
    [[7, 11], 0.3, 0],
    [[2, 3, 4, 5], 0.9, 4294967295],
  ] as const)("the mask of %j p=%s seed=%s is numpy's", (shape, p, seed) => {
    expect(Array.from(dropoutMask([...shape], p, seed))).toEqual(numpyMask([...shape], p, seed));
  });

  it('train: out = x * mask, dx = dout * mask; test: the identity; fast equals naive, in float32 too', () => {
    const x = randn(new XoshiroRng(1), [3, 4, 5]);
    const train = { p: 0.4, mode: 'train' as const, seed: 7 };
    const mask = dropoutMask(x.shape, 0.4, 7);
    const naive = dropoutForwardNaive({ x }, train);
    expect(Array.from(naive.out.data)).toEqual(Array.from(x.data, (v, i) => v * mask[i]));
    expect(Array.from(dropoutForwardFast({ x }, train).out.data)).toEqual(Array.from(naive.out.data));
    const dout = randn(new XoshiroRng(2), x.shape);
    expect(Array.from(dropoutBackward(dout, naive.cache).dx.data)).toEqual(Array.from(dout.data, (v, i) => v * mask[i]));
    const test = dropoutForwardFast({ x }, { ...train, mode: 'test' });
    expect(Array.from(test.out.data)).toEqual(Array.from(x.data));
    const x32 = toDType(x, 'float32');
    const f32 = dropoutForwardFast({ x: x32 }, train);
    expect(f32.out.data).toBeInstanceOf(Float32Array);
    expect(Array.from(f32.out.data)).toEqual(Array.from(x32.data, (v, i) => Math.fround(v * mask[i])));
  });

  it('passes the gradient check in both modes; a backward that forgets the mask fails', () => {
    for (const mode of ['train', 'test']) {
      const r = checkLayer(dropout, { params: { p: 0.5, mode, seed: 3 }, repeat: 0 });
      expect(r.pass, JSON.stringify(r.gradients)).toBe(true);
    }
    const noMask: LayerSpec = { ...dropout, impls: { naive: { forward: dropoutForwardNaive as never, backward: (dout) => ({ dx: dout }) } } };
    const bad = checkLayer(noMask, { params: { p: 0.5, mode: 'train', seed: 3 }, repeat: 0 });
    expect(bad.pass).toBe(false);
    expect(bad.gradients[0].relError).toBeGreaterThan(0.1);
    expect(dropoutBackward as (d: never, c: DropoutCache) => unknown).toBeTypeOf('function');
  });
});
