/**
 * Check modes: sampled elements are stratified, directional checks compare <grad, u> with a
 * centred difference along u, auto picks full or directions + samples from the cost, and every
 * mode still catches the broken backward passes of broken.test.ts, at a larger shape too.
 */
import { describe, expect, it } from 'vitest';
import { conv, convBackwardNaive, convForwardNaive, type ConvCache, type ConvParams } from '../../src/layers/conv.js';
import { maxpool, maxpoolForwardNaive } from '../../src/layers/maxpool.js';
import { batchnorm } from '../../src/layers/batchnorm.js';
import { relu } from '../../src/layers/relu.js';
import { dropout } from '../../src/layers/dropout.js';
import { LAYERS } from '../../src/layers/registry.js';
import type { ForwardResult, Inputs, LayerImpl, LayerSpec, Params, Shapes } from '../../src/layers/types.js';
import { gradCheck, type GradCheckOptions, type GradCheckResult } from '../../src/gradcheck/gradcheck.js';
import { checkLayer } from '../../src/gradcheck/check-layer.js';
import { autoIsFull, planInput } from '../../src/gradcheck/modes.js';
import type { CheckMode } from '../../src/settings/schema.js';
import { axisLayout, onBorder, stratifiedSample } from '../../src/gradcheck/strata.js';
import { NumericSide, perSampleLayer } from '../../src/gradcheck/numeric.js';
import { generateInputs, resolveShapes } from '../../src/layers/params.js';
import { XoshiroRng, randn } from '../../src/tensor/rng.js';
import { size, unravel, type Tensor } from '../../src/tensor/tensor.js';

import { brokenConv, poolBroken } from '../helpers/broken.js';

/** A budget no test run reaches, so every optional sample is taken: results never depend on the clock. */
const NO_LIMIT = 1e6;

function check(spec: LayerSpec, impl: LayerImpl, shapes: Shapes, params: Params, mode: CheckMode, extra: Partial<GradCheckOptions> = {}, seed = 3) {
  const rng = new XoshiroRng(seed);
  const inputs = generateInputs(spec, resolveShapes(spec, shapes, params), rng);
  return gradCheck(spec, impl, inputs, params, { rng, mode, budget: NO_LIMIT, ...extra });
}

const SMALL = { x: [2, 3, 8, 8], w: [4, 3, 3, 3] };
const LARGER = { x: [4, 8, 16, 16], w: [8, 8, 3, 3] };
const CONV_PARAMS = [
  { stride: 1, pad: 1 },
  { stride: 2, pad: 2 },
];

describe('stratified samples', () => {
  it('axis conventions by rank', () => {
    expect(axisLayout([5])).toEqual({ sample: -1, channel: 0, spatial: [] });
    expect(axisLayout([4, 5])).toEqual({ sample: 0, channel: 1, spatial: [] });
    expect(axisLayout([3, 4, 5])).toEqual({ sample: 0, channel: 1, spatial: [2] });
    expect(axisLayout([2, 3, 4, 5])).toEqual({ sample: 0, channel: 1, spatial: [2, 3] });
    const l = axisLayout([2, 3, 4, 5]);
    expect(onBorder([1, 2, 0, 2], [2, 3, 4, 5], l)).toBe(true);
    expect(onBorder([1, 2, 2, 4], [2, 3, 4, 5], l)).toBe(true);
    expect(onBorder([1, 2, 2, 2], [2, 3, 4, 5], l)).toBe(false);
  });

  it('covers every channel in the first C draws, every (channel, border/interior) pair in the first 2C, no repeats', () => {
    const shape = [4, 8, 16, 16];
    const l = axisLayout(shape);
    const order = stratifiedSample(shape, 200, new XoshiroRng(1));
    expect(order).toHaveLength(200);
    expect(new Set(order).size).toBe(200);
    for (const i of order) expect(i >= 0 && i < size(shape)).toBe(true);
    const channelOf = (i: number) => unravel(i, shape)[1];
    expect(new Set(order.slice(0, 8).map(channelOf)).size).toBe(8);
    const pairs = new Set(order.slice(0, 16).map((i) => `${channelOf(i)}:${onBorder(unravel(i, shape), shape, l)}`));
    expect(pairs.size).toBe(16);
    // Both classes appear in proportion to the rounds, not to their (12% border) share of the plane.
    const border = order.filter((i) => onBorder(unravel(i, shape), shape, l)).length;
    expect(border).toBe(100);
  });

  it('is seeded, and returns every index when asked for at least the size', () => {
    expect(stratifiedSample([3, 5, 6, 6], 40, new XoshiroRng(9))).toEqual(stratifiedSample([3, 5, 6, 6], 40, new XoshiroRng(9)));
    expect(stratifiedSample([3, 5, 6, 6], 40, new XoshiroRng(9))).not.toEqual(stratifiedSample([3, 5, 6, 6], 40, new XoshiroRng(10)));
    expect(stratifiedSample([2, 3], 6, new XoshiroRng(1))).toEqual([0, 1, 2, 3, 4, 5]);
  });

  it('exhausts small strata without repeating and still reaches the count', () => {
    // 2x2 planes are all border; rank 1 has one class per channel.
    const a = stratifiedSample([2, 3, 2, 2], 23, new XoshiroRng(2));
    expect(new Set(a).size).toBe(23);
    const b = stratifiedSample([7], 5, new XoshiroRng(2));
    expect(new Set(b).size).toBe(5);
    const c = stratifiedSample([5, 4, 3], 50, new XoshiroRng(2));
    expect(new Set(c).size).toBe(50);
    expect(new Set(c.map((i) => unravel(i, [5, 4, 3])[1])).size).toBe(4);
  });
});

describe('auto mode plans from the cost', () => {
  it('checks every registered layer in full at its default shapes (the check as it always was)', () => {
    for (const spec of LAYERS) {
      const params = Object.fromEntries(spec.params.map((p) => [p.name, p.default]));
      expect(autoIsFull(spec, resolveShapes(spec, {}, params), params), spec.name).toBe(true);
    }
  });

  it('goes directional + sampled where a full check would cost too much, full where it is cheap', () => {
    const params = { stride: 1, pad: 1 };
    const shapes = resolveShapes(conv, LARGER, params);
    expect(planInput('auto', conv, shapes, params, 'x')).toBe('directional+sampled');
    expect(planInput('auto', conv, shapes, params, 'w')).toBe('directional+sampled');
    expect(planInput('auto', conv, shapes, params, 'b')).toBe('full');
    expect(planInput('sampled', conv, shapes, params, 'b')).toBe('sampled');
  });

  it('at the defaults auto gives exactly the full check', () => {
    for (const spec of [conv, maxpool, batchnorm]) {
      const params = Object.fromEntries(spec.params.map((p) => [p.name, p.default]));
      const full = check(spec, spec.impls.naive, {}, params, 'full');
      const auto = check(spec, spec.impls.naive, {}, params, 'auto');
      expect(auto.gradients).toEqual(full.gradients);
      expect(auto.gradients.every((g) => g.mode === 'full' && g.checked + g.kinks === g.total)).toBe(true);
    }
  });
});

/**
 * conv's own implementations checked at LARGER, by implementation, mode, params and seed; run once:
 * the check is deterministic (seeded inputs, no clock-bound work under NO_LIMIT), and the harness
 * test of the broken passes inspects the naive runs at seed 3 too.
 */
const correctRuns = new Map<string, GradCheckResult>();
function correct(impl: 'naive' | 'fast', mode: CheckMode, params: Params, seed: number): GradCheckResult {
  const key = JSON.stringify([impl, mode, params, seed]);
  let r = correctRuns.get(key);
  if (!r) {
    r = check(conv, conv.impls[impl]!, LARGER, params, mode, {}, seed);
    correctRuns.set(key, r);
  }
  return r;
}

describe('correct layers pass in every mode', () => {
  for (const mode of ['sampled', 'directional', 'auto'] as CheckMode[]) {
    for (const params of CONV_PARAMS) {
      it(`conv naive and fast, ${mode}, x 4,8,16,16 stride ${params.stride} pad ${params.pad}`, () => {
        for (const seed of [3, 4]) {
          for (const impl of ['naive', 'fast'] as const) {
            const r = correct(impl, mode, params, seed);
            expect(r.problems).toEqual([]);
            for (const g of r.gradients) {
              expect(g.pass, `${g.name} ${g.relError}`).toBe(true);
              // relError is the raw cs231n error over every sampled element, near-zero ones included
              // (whose error is rounding noise and cannot fail); it still stays below the threshold.
              expect(g.relError).toBeLessThan(g.threshold);
            }
          }
        }
      });
    }
  }

  it('sampled reports its coverage; directional its directions and step h * sqrt(D)', () => {
    const s = check(conv, conv.impls.naive, LARGER, { stride: 1, pad: 1 }, 'sampled', { samples: 50 });
    const dx = s.gradients.find((g) => g.name === 'dx')!;
    expect(dx).toMatchObject({ mode: 'sampled', checked: 50, total: 8192 });
    expect(s.gradients.find((g) => g.name === 'db')).toMatchObject({ checked: 8, total: 8 });
    const d = check(conv, conv.impls.naive, LARGER, { stride: 1, pad: 1 }, 'directional', { directions: 3 });
    for (const g of d.gradients) {
      expect(g.mode).toBe('directional');
      expect(g.checked).toBe(0);
      expect(g.directional!.count).toBe(3);
      expect(g.directional!.step).toBeCloseTo(1e-5 * Math.sqrt(g.total), 12);
      expect(Math.abs(g.directional!.worst.analytic - g.directional!.worst.numeric)).toBeLessThan(1e-9 * Math.abs(g.directional!.worst.analytic) + 1e-12);
    }
  });

  it('directions straddling relu kinks shrink their step instead of failing', () => {
    const rng = new XoshiroRng(5);
    const x = randn(rng, [8, 16, 32, 32]);
    const r = gradCheck(relu, relu.impls.naive, { x }, {}, { rng, mode: 'directional', directions: 3 });
    const dx = r.gradients[0];
    expect(dx.pass).toBe(true);
    expect(dx.directional!.count).toBe(3);
    // 131072 elements each moved by ~1e-5: some cross 0, so the step had to shrink.
    expect(dx.directional!.step).toBeLessThan(1e-5 * Math.sqrt(dx.total));
  });

  it('batchnorm (not per-sample in train mode) and maxpool pass sampled and directional', () => {
    const bn = Object.fromEntries(batchnorm.params.map((p) => [p.name, p.default]));
    for (const mode of ['sampled', 'directional'] as CheckMode[]) {
      expect(check(batchnorm, batchnorm.impls.naive, { x: [64, 20] }, bn, mode).pass).toBe(true);
      expect(check(maxpool, maxpool.impls.naive, { x: [4, 8, 16, 16] }, { pool_height: 2, pool_width: 2, stride: 2 }, mode).pass).toBe(true);
    }
  });
});

describe('the broken backward passes fail in every mode', () => {
  const shapeOf: Record<CheckMode, Shapes> = { full: SMALL, sampled: LARGER, directional: LARGER, auto: LARGER };
  for (const mode of ['full', 'sampled', 'directional', 'auto'] as CheckMode[]) {
    for (const [name, backward] of Object.entries(brokenConv(conv.impls.naive))) {
      it(`${mode}: ${name} (x ${shapeOf[mode].x.join(',')})`, () => {
        for (const params of CONV_PARAMS) {
          const r = check(conv, { forward: convForwardNaive, backward }, shapeOf[mode], params, mode);
          expect(r.pass).toBe(false);
          const failing = r.gradients.filter((g) => !g.pass);
          expect(failing.length).toBeGreaterThan(0);
          for (const g of failing) expect(g.relError).toBeGreaterThan(1e-3);
          // Only the planted gradient fails.
          const planted = name.slice(0, 2);
          expect(failing.map((g) => g.name)).toEqual([planted]);
        }
      });
    }
    for (const [name, backward] of Object.entries(poolBroken)) {
      it(`${mode}: max-pool ${name}`, () => {
        const r = check(maxpool, { forward: maxpoolForwardNaive, backward }, { x: shapeOf[mode].x }, { pool_height: 2, pool_width: 2, stride: 2 }, mode);
        expect(r.pass).toBe(false);
        expect(r.gradients[0].relError).toBeGreaterThan(1e-3);
      });
    }
  }

  it('a failing directional check falls back to sampled elements and localizes', () => {
    const r = check(
      conv,
      { forward: convForwardNaive, backward: brokenConv(conv.impls.naive)['dx with the wrong sign'] },
      LARGER,
      { stride: 1, pad: 1 },
      'directional',
      { samples: 40 },
    );
    const dx = r.gradients.find((g) => g.name === 'dx')!;
    expect(dx.mode).toBe('directional+sampled');
    expect(dx.checked).toBe(40);
    expect(dx.directional!.pass).toBe(false);
    expect(dx.localization!.hint!.kind).toBe('sign');
  });

  it('the same harness passes the correct backward', () => {
    // conv's naive implementation is this harness with the correct backward: its checks at LARGER
    // (seed 3, as here) are those of the correct-layers tests above, shared.
    expect(conv.impls.naive.forward).toBe(convForwardNaive);
    expect(conv.impls.naive.backward).toBe(convBackwardNaive);
    for (const mode of ['full', 'sampled', 'directional', 'auto'] as CheckMode[]) {
      for (const params of CONV_PARAMS) {
        const r =
          shapeOf[mode] === LARGER
            ? correct('naive', mode, params, 3)
            : check(conv, { forward: convForwardNaive, backward: (d, c) => convBackwardNaive(d, c as ConvCache) }, shapeOf[mode], params, mode);
        expect(r.pass).toBe(true);
      }
    }
  });
});

describe('the numeric side', () => {
  it('evaluates x of a per-sample layer on one sample, to the same numbers', () => {
    const params = { stride: 1, pad: 1 };
    const rng = new XoshiroRng(2);
    const inputs = generateInputs(conv, resolveShapes(conv, LARGER, params), rng);
    const dout = randn(rng, [4, 8, 16, 16]);
    const sliced = new NumericSide(conv.impls.naive, inputs, params, dout, { sliceBatch: true });
    const whole = new NumericSide(conv.impls.naive, inputs, params, dout);
    for (const flat of [0, 3000, 8191]) {
      const a = sliced.element('x', flat, 1e-5);
      const b = whole.element('x', flat, 1e-5);
      expect(Math.abs(a.value - b.value)).toBeLessThanOrEqual(a.noise + b.noise);
    }
    expect(sliced.perSample).toBe(true);
    expect(whole.perSample).toBeUndefined();
  });

  it('refuses to slice batchnorm in train mode (its output couples the samples)', () => {
    const params = Object.fromEntries(batchnorm.params.map((p) => [p.name, p.default]));
    const rng = new XoshiroRng(2);
    const inputs = generateInputs(batchnorm, resolveShapes(batchnorm, { x: [16, 5] }, params), rng);
    const side = new NumericSide(batchnorm.impls.naive, inputs, params, randn(rng, [16, 5]), { sliceBatch: true });
    side.element('x', 7, 1e-5);
    expect(side.perSample).toBe(false);
  });

  it("a full check evaluates x on one sample only where that gives the whole batch's numbers bit for bit", () => {
    // conv (naive and fast), relu, max-pool: per-sample, and the one-sample centred differences are
    // the whole batch's to the last bit, as are the rows of every gradient check.
    for (const [spec, shapes] of [
      [conv, { x: [3, 2, 6, 5], w: [3, 2, 3, 3] }],
      [relu, { x: [4, 3, 5] }],
      [maxpool, { x: [2, 3, 6, 6] }],
    ] as [LayerSpec, Shapes][]) {
      const params = Object.fromEntries(spec.params.map((p) => [p.name, p.default]));
      const rng = new XoshiroRng(5);
      const inputs = generateInputs(spec, resolveShapes(spec, shapes, params), rng);
      expect(perSampleLayer(spec.impls.naive, inputs, params), spec.name).toBe(true);
      for (const impl of [spec.impls.naive, spec.impls.fast!]) {
        const out = impl.forward(inputs, params).out;
        const dout = randn(new XoshiroRng(6), out.shape);
        const sliced = new NumericSide(impl, inputs, params, dout, { sliceBatch: true, sliceAgreement: 0 });
        const whole = new NumericSide(impl, inputs, params, dout);
        for (let i = 0; i < inputs.x.data.length; i++) {
          const a = sliced.element('x', i, 1e-5);
          const b = whole.element('x', i, 1e-5);
          expect([a.value, a.kink], `${spec.name} x[${i}]`).toEqual([b.value, b.kink]);
        }
        expect(sliced.perSample, spec.name).toBe(true);
      }
    }
  });

  it('a full check never runs a forward on one sample of a layer whose samples are coupled', () => {
    // Batchnorm in train mode normalizes over the batch; dropout draws its mask for the batch's
    // shape, so sample 0 alone gets its own mask and sample 1 alone gets sample 0's.
    const bn = Object.fromEntries(batchnorm.params.map((p) => [p.name, p.default]));
    const bnInputs = generateInputs(batchnorm, resolveShapes(batchnorm, {}, bn), new XoshiroRng(1));
    expect(perSampleLayer(batchnorm.impls.naive, bnInputs, bn)).toBe(false);
    const dp = Object.fromEntries(dropout.params.map((p) => [p.name, p.default]));
    const dpInputs = generateInputs(dropout, resolveShapes(dropout, {}, dp), new XoshiroRng(1));
    expect(perSampleLayer(dropout.impls.naive, dpInputs, dp)).toBe(false);
    let one = 0;
    const counted = (impl: LayerImpl): LayerImpl => ({
      forward: (i, p) => {
        if (i.x.shape[0] === 1) one++;
        return impl.forward(i, p);
      },
      backward: impl.backward,
    });
    for (const [spec, inputs, params] of [
      [batchnorm, bnInputs, bn],
      [dropout, dpInputs, dp],
    ] as [LayerSpec, Record<string, Tensor>, Params][]) {
      const r = gradCheck(spec, counted(spec.impls.naive), inputs, params, { rng: new XoshiroRng(2), mode: 'full' });
      expect(r.pass, spec.name).toBe(true);
    }
    expect(one).toBe(0);
  });

  it('outside a full check, a layer that gives sample 0 its rows but not sample 1 is evaluated on the whole batch from then on', () => {
    const params = Object.fromEntries(dropout.params.map((p) => [p.name, p.default]));
    const inputs = generateInputs(dropout, resolveShapes(dropout, {}, params), new XoshiroRng(1));
    const out = dropout.impls.naive.forward(inputs, params).out;
    const dout = randn(new XoshiroRng(3), out.shape);
    const sliced = new NumericSide(dropout.impls.naive, inputs, params, dout, { sliceBatch: true });
    const whole = new NumericSide(dropout.impls.naive, inputs, params, dout);
    const per = inputs.x.data.length / inputs.x.shape[0];
    expect(sliced.element('x', 1, 1e-5).value).toBe(whole.element('x', 1, 1e-5).value);
    expect(sliced.perSample).toBe(true); // sample 0 alone draws sample 0's mask
    expect(sliced.element('x', per + 1, 1e-5).value).toBe(whole.element('x', per + 1, 1e-5).value);
    expect(sliced.perSample).toBe(false);
  });

  it('elements evaluated ahead on one sample are evaluated again on the batch once a later sample turns out coupled', () => {
    // Samples 0 and 1 are independent; sample 2's output depends on x[0, 0] too.
    const coupled = (i: Inputs): ForwardResult => {
      const x = i.x;
      const per = x.data.length / x.shape[0];
      const data = Float64Array.from(x.data, (v, k) => (k >= 2 * per ? v * (1 + x.data[0]) : v));
      return { out: { data, shape: x.shape }, cache: null };
    };
    let batches = 0;
    const many: LayerImpl = {
      forward: coupled,
      backward: () => ({}),
      forwardMany: (list) => {
        batches++;
        return list.map(coupled);
      },
    };
    const plain: LayerImpl = { forward: coupled, backward: () => ({}) };
    const inputs = { x: randn(new XoshiroRng(1), [3, 4]) };
    const dout = randn(new XoshiroRng(3), [3, 4]);
    const ahead = new NumericSide(many, inputs, {}, dout, { sliceBatch: true });
    const whole = new NumericSide(plain, inputs, {}, dout);
    // Element 5 is placed on sample 1 alone (which matches its rows), element 9 on the batch
    // (sample 2 alone does not): element 5 must not take its one-sample passes after that.
    ahead.prefetch('x', [5, 9], 1e-5);
    expect(batches).toBe(1);
    expect(ahead.perSample).toBe(false);
    for (const flat of [5, 9]) expect(ahead.element('x', flat, 1e-5).value, `x[${flat}]`).toBe(whole.element('x', flat, 1e-5).value);
  });

  it('uses the checked forward when the fast one disagrees, and says so', () => {
    const off: LayerImpl = {
      forward: (i, p) => {
        const r = convForwardNaive(i, p as ConvParams);
        r.out.data[0] += 1;
        return r;
      },
      backward: (d, c) => convBackwardNaive(d, c as ConvCache),
    };
    const r = check(conv, conv.impls.naive, LARGER, { stride: 1, pad: 1 }, 'sampled', { numericImpl: off, samples: 20 });
    expect(r.pass).toBe(true);
    expect(r.notes.join(' ')).toMatch(/the numeric side uses conv's checked forward pass: the fast forward differs from it by 1\.00e\+0/);
  });
});

describe('layer checks at larger shapes', () => {
  it('auto checks only the fast implementation and says why; explicit modes check both', () => {
    const params = { stride: 1, pad: 1 };
    const auto = checkLayer(conv, { params, shapes: LARGER, repeat: 0, budget: NO_LIMIT });
    expect(auto.pass).toBe(true);
    expect(auto.mode).toBe('auto');
    expect([...new Set(auto.gradients.map((g) => g.impl))]).toEqual(['fast']);
    expect(auto.notes[0]).toMatch(/^naive not checked: at these shapes auto mode checks only the fast implementation/);
    const dir = checkLayer(conv, { params, shapes: LARGER, repeat: 0, mode: 'directional', directions: 2 });
    expect([...new Set(dir.gradients.map((g) => g.impl))]).toEqual(['naive', 'fast']);
    expect(dir.pass).toBe(true);
  });

  it('reports progress up to the total of every gradient', () => {
    const seen: { impl: string; gradient: string; phase: string; done: number; total: number }[] = [];
    checkLayer(conv, { params: { stride: 1, pad: 1 }, repeat: 0, onProgress: (p) => seen.push({ ...p }) });
    for (const impl of ['naive', 'fast']) {
      for (const [gradient, total] of [
        ['dx', 300],
        ['dw', 54],
        ['db', 2],
      ] as const) {
        const mine = seen.filter((p) => p.impl === impl && p.gradient === gradient);
        expect(mine.map((p) => p.done)).toEqual(Array.from({ length: total }, (_, i) => i + 1));
        expect(mine.every((p) => p.phase === 'full' && p.total === total)).toBe(true);
      }
    }
  });
});

describe('h sweep', () => {
  const hs = [1e-2, 1e-3, 1e-4, 1e-5, 1e-6, 1e-7, 1e-8, 1e-9];

  it('shows the V of truncation against rounding error for batchnorm dx, with the best h inside', () => {
    const params = Object.fromEntries(batchnorm.params.map((p) => [p.name, p.default]));
    const r = check(batchnorm, batchnorm.impls.naive, {}, params, 'full', { hSweep: true });
    const dx = r.gradients.find((g) => g.name === 'dx')!;
    const s = dx.sweep!;
    expect(s.hs).toEqual(hs);
    expect(s.basis).toBe('elements');
    expect(s.relErrors).toHaveLength(8);
    expect(s.bestH).toBeGreaterThanOrEqual(1e-6);
    expect(s.bestH).toBeLessThanOrEqual(1e-4);
    expect(s.bestRelError).toBe(Math.min(...s.relErrors));
    // Truncation (h^2) on the left, rounding (1/h) on the right, both far above the bottom.
    expect(s.relErrors[0]).toBeGreaterThan(100 * s.bestRelError);
    expect(s.relErrors[7]).toBeGreaterThan(100 * s.bestRelError);
    expect(s.relErrors[0] / s.relErrors[1]).toBeGreaterThan(50);
    // At the check's own h the sweep repeats the check.
    expect(s.relErrors[3]).toBe(dx.relError);
  });

  it('conv is linear: no truncation error, so the error only grows as h shrinks', () => {
    const r = check(conv, conv.impls.naive, LARGER, { stride: 1, pad: 1 }, 'directional', { hSweep: true, directions: 2 });
    for (const g of r.gradients) {
      expect(g.sweep!.basis).toBe('directions');
      expect(g.sweep!.relErrors[7]).toBeGreaterThan(100 * g.sweep!.relErrors[0]);
      expect(g.sweep!.bestH).toBeGreaterThanOrEqual(1e-3);
    }
  });
});
