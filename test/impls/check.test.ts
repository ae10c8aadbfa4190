/**
 * checkLayer with extra implementations (what `--impl` runs): compared with the reference,
 * gradient-checked and timed like the built-in ones; their failures are rows and problems, not
 * exceptions. In-process implementations here, so the numbers are exact and the tests fast; the
 * worker bridge is covered by load.test.ts and test/cli/impl.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { getLayer } from '../../src/layers/registry.js';
import { checkLayer, compareWithReference } from '../../src/gradcheck/check-layer.js';
import type { Implementation } from '../../src/impls/types.js';
import { generateInputs, resolveShapes } from '../../src/layers/params.js';
import { XoshiroRng } from '../../src/tensor/rng.js';
import type { LayerImpl } from '../../src/layers/types.js';

const conv = getLayer('conv');
const batchnorm = getLayer('batchnorm');

function extra(impl: LayerImpl, name = 'mine'): Implementation {
  return { name, kind: 'test', impl, source: 'in-process', external: true };
}

const dbAveraged: LayerImpl = {
  forward: conv.impls.naive.forward,
  backward: (dout, cache) => {
    const g = conv.impls.naive.backward(dout, cache);
    const [N, , Hout, Wout] = dout.shape;
    return { ...g, db: { data: g.db.data.map((v) => v / (N * Hout * Wout)), shape: g.db.shape } };
  },
};

describe('checkLayer with an extra implementation', () => {
  it('a correct one passes: same numbers as the reference, its own gradient rows and timing row', () => {
    const r = checkLayer(conv, { params: { stride: 2, pad: 1 }, repeat: 2, external: [extra(conv.impls.naive)] });
    expect(r.pass).toBe(true);
    expect(r.problems).toEqual([]);
    expect(r.comparisons).toHaveLength(1);
    const cmp = r.comparisons![0];
    expect(cmp).toMatchObject({ impl: 'mine', source: 'in-process', reference: 'naive', pass: true });
    expect(cmp.arrays.map((a) => a.name)).toEqual(['out', 'dx', 'dw', 'db']);
    for (const a of cmp.arrays) expect(a).toMatchObject({ dtype: 'float64', relError: 0, maxAbsError: 0, threshold: 1e-6, pass: true });
    const mine = r.gradients.filter((g) => g.impl === 'mine');
    expect(mine.map((g) => g.name)).toEqual(['dx', 'dw', 'db']);
    // The same function as naive, the same numeric side: identical rows.
    const naive = r.gradients.filter((g) => g.impl === 'naive');
    expect(mine.map((g) => g.relError)).toEqual(naive.map((g) => g.relError));
    expect(r.timing.map((t) => t.impl)).toEqual(['naive', 'fast', 'mine']);
    expect(r.timing[2].forwardMs.samples).toBe(2);
  });

  it("timing takes the implementation's own clock; a pass longer than the budget is timed by the comparison's run", () => {
    const clocked = (ms: number): Implementation => ({ ...extra(conv.impls.naive), lastCallMs: () => ms });
    const r = checkLayer(conv, { params: { stride: 1, pad: 1 }, repeat: 3, impls: [], external: [clocked(2.5)] });
    expect(r.timing).toEqual([
      { impl: 'mine', forwardMs: { median: 2.5, min: 2.5, max: 2.5, samples: 3 }, backwardMs: { median: 2.5, min: 2.5, max: 2.5, samples: 3 } },
    ]);
    const slow = checkLayer(conv, { params: { stride: 1, pad: 1 }, repeat: 3, impls: [], budget: 1, external: [clocked(5000)] });
    expect(slow.timing[0].forwardMs).toEqual({ median: 5000, min: 5000, max: 5000, samples: 1 });
    expect(slow.notes).toEqual([
      'mine: timed by its first run (the comparison with the reference): one forward and backward take 10000 ms, and the time budget of 1 s is spent',
    ]);
  });

  it('without extra implementations the report has no comparisons', () => {
    expect(checkLayer(conv, { params: { stride: 1, pad: 1 }, repeat: 0 })).not.toHaveProperty('comparisons');
  });

  it('db averaged: the db comparison row and gradient row fail, with the factor hint', () => {
    const r = checkLayer(conv, { params: { stride: 1, pad: 1 }, repeat: 0, external: [extra(dbAveraged)] });
    expect(r.pass).toBe(false);
    const db = r.comparisons![0].arrays.find((a) => a.name === 'db')!;
    // db / k against db: |db - db/k| / (|db| + |db/k|) = (k - 1) / (k + 1), k = N*Hout*Wout = 100.
    expect(db.pass).toBe(false);
    expect(db.relError).toBeCloseTo(99 / 101, 12);
    expect(r.comparisons![0].arrays.filter((a) => !a.pass).map((a) => a.name)).toEqual(['db']);
    const row = r.gradients.find((g) => g.impl === 'mine' && g.name === 'db')!;
    expect(row.pass).toBe(false);
    expect(row.localization?.hint?.kind).toBe('factor');
    expect(r.gradients.filter((g) => !g.pass).map((g) => `${g.impl} ${g.name}`)).toEqual(['mine db']);
  });

  it('a throwing forward is a problem and failed rows, not an exception; the built-in checks still run', () => {
    const throwing: LayerImpl = {
      forward: () => {
        throw new Error('boom');
      },
      backward: conv.impls.naive.backward,
    };
    const r = checkLayer(conv, { params: { stride: 1, pad: 1 }, repeat: 1, external: [extra(throwing)] });
    expect(r.pass).toBe(false);
    expect(r.problems).toEqual(['mine: boom']);
    expect(r.comparisons![0].arrays.map((a) => [a.name, a.pass, a.message])).toEqual([
      ['out', false, 'boom'],
      ['dx', false, 'not compared: forward failed'],
      ['dw', false, 'not compared: forward failed'],
      ['db', false, 'not compared: forward failed'],
    ]);
    expect(r.gradients.filter((g) => g.impl === 'mine')).toEqual([]);
    expect(r.gradients.filter((g) => g.impl !== 'mine').every((g) => g.pass)).toBe(true);
    expect(r.timing.map((t) => t.impl)).toEqual(['naive', 'fast']);
  });

  it('a forward that fails during the numeric side stops that gradient check with the message', () => {
    let calls = 0;
    const flaky: LayerImpl = {
      forward: (inputs, params) => {
        if (++calls === 5) throw new Error(`boom on call ${calls}`);
        return conv.impls.naive.forward(inputs, params);
      },
      backward: conv.impls.naive.backward,
    };
    const r = checkLayer(conv, { params: { stride: 1, pad: 1 }, repeat: 0, external: [extra(flaky)] });
    expect(r.pass).toBe(false);
    expect(r.problems).toEqual(['mine: the gradient check stopped: boom on call 5']);
    expect(r.comparisons![0].pass).toBe(true);
    expect(r.gradients.some((g) => g.impl === 'mine')).toBe(false);
  });

  it("an error that is not the implementation's propagates from compareWithReference", () => {
    const inputs = generateInputs(conv, resolveShapes(conv, {}, { stride: 1, pad: 1 }), new XoshiroRng(1));
    const out = conv.impls.naive.forward(inputs, { stride: 1, pad: 1 }).out;
    const bug: LayerImpl = {
      forward: () => {
        throw new TypeError('a bug of the checker');
      },
      backward: conv.impls.naive.backward,
    };
    expect(() => compareWithReference(conv, bug, inputs, { stride: 1, pad: 1 }, out, { isImplError: () => false })).toThrow('a bug of the checker');
  });

  it('batchnorm: the updated running statistics are compared too, and missing ones fail', () => {
    const ok = checkLayer(batchnorm, { params: { mode: 'train', eps: 1e-5, momentum: 0.9 }, repeat: 0, external: [extra(batchnorm.impls.fast!)] });
    expect(ok.comparisons![0].arrays.map((a) => [a.name, a.pass])).toEqual([
      ['out', true],
      ['running_mean_after', true],
      ['running_var_after', true],
      ['dx', true],
      ['dgamma', true],
      ['dbeta', true],
    ]);
    expect(ok.pass).toBe(true);
    const stateless: LayerImpl = {
      forward: (inputs, params) => ({ ...batchnorm.impls.naive.forward(inputs, params), state: undefined }),
      backward: batchnorm.impls.naive.backward,
    };
    const r = checkLayer(batchnorm, { params: { mode: 'train', eps: 1e-5, momentum: 0.9 }, repeat: 0, external: [extra(stateless)] });
    expect(r.pass).toBe(false);
    expect(r.comparisons![0].arrays.filter((a) => !a.pass).map((a) => a.message)).toEqual([
      'forward returned no state.running_mean (the updated running_mean)',
      'forward returned no state.running_var (the updated running_var)',
    ]);
  });

  it('float32: the implementation sees float32 inputs and is judged with the float32 compare tolerance', () => {
    const r = checkLayer(conv, { params: { stride: 1, pad: 1 }, repeat: 0, dtype: 'float32', external: [extra(conv.impls.fast!)] });
    expect(r.pass).toBe(true);
    for (const a of r.comparisons![0].arrays) expect(a).toMatchObject({ dtype: 'float32', threshold: 1e-4, pass: true });
  });

  it('at shapes auto mode does not check in full, the reference is the fast implementation', () => {
    const r = checkLayer(conv, {
      params: { stride: 1, pad: 1 },
      shapes: { x: [4, 8, 16, 16], w: [8, 8, 3, 3] },
      repeat: 0,
      budget: 1,
      external: [extra(conv.impls.naive)],
    });
    expect(r.comparisons![0]).toMatchObject({ reference: 'fast', pass: true });
    for (const a of r.comparisons![0].arrays) expect(a.relError).toBeLessThan(1e-9); // summation order only
    expect(r.gradients.filter((g) => g.impl === 'mine').map((g) => [g.name, g.pass, g.mode === 'full'])).toEqual([
      ['dx', true, false],
      ['dw', true, false],
      ['db', true, true],
    ]);
  });

  it('outside a full check the numeric side runs the reference forward when the extra one agrees with it', () => {
    let calls = 0;
    const counted: LayerImpl = {
      forward: (inputs, params) => {
        calls++;
        return conv.impls.naive.forward(inputs, params);
      },
      backward: conv.impls.naive.backward,
    };
    const r = checkLayer(conv, {
      params: { stride: 1, pad: 1 },
      shapes: { x: [2, 3, 8, 8], w: [4, 3, 3, 3] },
      repeat: 0,
      impls: [],
      mode: 'sampled',
      samples: 16,
      external: [extra(counted)],
    });
    expect(r.pass).toBe(true);
    expect(r.gradients.map((g) => [g.name, g.checked])).toEqual([
      ['dx', 16],
      ['dw', 16],
      ['db', 4],
    ]);
    expect(r.comparisons![0].reference).toBe('naive');
    // The comparison's forward and the checked forward: no centred difference went through it.
    expect(calls).toBe(2);
    expect(r.notes).toEqual([]);
  });
});
