/**
 * Numerics that must not fail correct code, each with a real bug at the same magnitudes that still
 * fails: normalizations at large offsets (the rounding of x - mean, not of the outputs), inputs
 * beyond the step's resolution (x + h == x), checks that compared nothing, and implementations
 * that compute in float32 whatever they are given.
 */
import { describe, expect, it } from 'vitest';
import { conv } from '../../src/layers/conv.js';
import { relu } from '../../src/layers/relu.js';
import { maxpool } from '../../src/layers/maxpool.js';
import { spatialBatchnorm } from '../../src/layers/spatial-batchnorm.js';
import { LAYERS } from '../../src/layers/registry.js';
import type { LayerImpl, LayerSpec, Params, Shapes } from '../../src/layers/types.js';
import { gradCheck, type GradCheckOptions } from '../../src/gradcheck/gradcheck.js';
import { checkLayer } from '../../src/gradcheck/check-layer.js';
import { NumericSide, roundingNoise } from '../../src/gradcheck/numeric.js';
import { computedDType } from '../../src/gradcheck/precision.js';
import type { CheckMode } from '../../src/settings/schema.js';
import { renderLayerReport } from '../../src/report/terminal.js';
import { generateInputs, resolveShapes } from '../../src/layers/params.js';
import { XoshiroRng } from '../../src/tensor/rng.js';
import { zeros, type Tensor } from '../../src/tensor/tensor.js';
import { brokenConv, brokenNorm } from '../helpers/broken.js';
// @ts-expect-error: a plain JavaScript module, as --impl loads it
import * as conv32 from '../impls/fixtures/conv-float32.mjs';
// @ts-expect-error: a plain JavaScript module, as --impl loads it
import * as conv32as64 from '../impls/fixtures/conv-float32-as-float64.mjs';

const NO_LIMIT = 1e6;
/** Timeout of the tests that run hundreds of checks, each re-measuring its elements. */
const SLOW_MS = 120_000;
const defaults = (spec: LayerSpec): Params => Object.fromEntries(spec.params.map((p) => [p.name, p.default]));
const NORMS = LAYERS.filter((s) => /norm/.test(s.name));

/** Inputs of `spec` from `seed` with `f` applied to every element of x. */
function inputsWith(spec: LayerSpec, seed: number, f: (v: number) => number, shapes: Shapes = {}, params = defaults(spec)) {
  const rng = new XoshiroRng(seed);
  const inputs = generateInputs(spec, resolveShapes(spec, shapes, params), rng);
  inputs.x.data.forEach((v, i) => {
    inputs.x.data[i] = f(v);
  });
  return { rng, inputs, params };
}

function check(spec: LayerSpec, impl: LayerImpl, seed: number, f: (v: number) => number, extra: Partial<GradCheckOptions> = {}, shapes: Shapes = {}) {
  const { rng, inputs, params } = inputsWith(spec, seed, f, shapes);
  return gradCheck(spec, impl, inputs, params, { rng, budget: NO_LIMIT, ...extra });
}

describe('the step the numeric side takes', () => {
  it('is (x + h) - (x - h) as float64 rounds it, not 2h', () => {
    // relu is the identity above 0: d out / d x = 1 exactly, which only the step taken gives.
    const x: Tensor = { data: Float64Array.from([1e6 + 0.3, 2, 3]), shape: [3] };
    const dout: Tensor = { data: Float64Array.from([1, 0, 0]), shape: [3] };
    const side = new NumericSide(relu.impls.naive, { x }, {}, dout);
    expect(1e6 + 0.3 + 1e-5 - (1e6 + 0.3 - 1e-5)).not.toBe(2e-5);
    expect(side.element('x', 0, 1e-5).value).toBe(1);
  });

  it('that vanishes (x + h == x) or overflows is unresolved, and no forward pass runs', () => {
    const x: Tensor = { data: Float64Array.from([1e150, 1.79e308, 1]), shape: [3] };
    const side = new NumericSide(relu.impls.naive, { x }, {}, { data: Float64Array.from([1, 1, 1]), shape: [3] });
    expect(side.element('x', 0, 1e-5)).toMatchObject({ unresolved: true, value: NaN });
    expect(side.element('x', 1, 1e307)).toMatchObject({ unresolved: true });
    expect(side.forwards).toBe(0);
    expect(side.element('x', 2, 1e-5)).toMatchObject({ value: 1, kink: false });
    const dir = side.direction('x', Float64Array.from([1, 0, 0]), 1e-5);
    expect(dir.unresolved).toBe(true);
  });

  it('when no output moved, the noise is that of the largest output: a change lost in its rounding is no evidence', () => {
    const plus = [1e151, 3];
    expect(roundingNoise(plus, plus, [1, 1], 1e-5)).toBeCloseTo((2 * 2 ** -53 * 2e151) / 2e-5, -130);
    expect(roundingNoise([1, 3], [1, 3.5], [1, 1], 1e-5)).toBeCloseTo((2 * 2 ** -53 * 6.5) / 2e-5, 25);
  });
});

describe('normalizations at large offsets: x = c + randn', () => {
  const OFFSETS = [1e3, 3e3, 1e4, 1e5, 1e6, 1e7, 1e8];
  /**
   * Draws of the spatial norms for the correct-pass test. Every element of x is checked, and its
   * centred difference moves its own normalization group only: spatial batchnorm normalizes each
   * channel over (N, H, W), group norm each sample's group over (C/G, H, W). What is measured, the
   * rounding of a group's mean and of x - mean, depends on the group's size and on c, not on how
   * many groups the batch holds; so these draw one channel (one sample) at a time, with the default
   * group sizes (2*4*5 and 3*4*5), over three (two) times the seeds: as many groups and
   * elements of x are checked as at the default shapes, each on a forward a third (half) the size.
   */
  const DRAWS: Record<string, { shapes: Shapes; seeds: number[] }> = {
    spatial_batchnorm: { shapes: { x: [2, 1, 4, 5] }, seeds: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12] }, // default x 2,3,4,5 x 4 seeds
    spatial_groupnorm: { shapes: { x: [1, 6, 4, 5] }, seeds: [1, 2, 3, 4, 5, 6, 7, 8] }, // default x 2,6,4,5 x 4 seeds
  };

  it(
    'spatial batchnorm at 1e4 + randn(2,3,4,5), the case of the issue, passes naive and fast',
    () => {
      for (const seed of [1, 2, 3, 4, 5, 6]) {
        const { inputs, params } = inputsWith(spatialBatchnorm, seed, (v) => 1e4 + v);
        const r = checkLayer(spatialBatchnorm, { params, inputs, seed, repeat: 0 });
        expect(r.pass, `seed ${seed}`).toBe(true);
        for (const g of r.gradients) expect(g.unchecked).toBeUndefined();
      }
    },
    SLOW_MS,
  );

  for (const spec of NORMS) {
    it(
      `${spec.name}: correct naive and fast pass at ${OFFSETS.join(', ')}; the rounding of x - mean is measured, not failed`,
      () => {
        let withinNoise = 0;
        const { shapes, seeds } = DRAWS[spec.name] ?? { shapes: {}, seeds: [1, 2, 3, 4] };
        for (const c of OFFSETS) {
          for (const impl of ['naive', 'fast'] as const) {
            for (const seed of seeds) {
              const r = check(spec, spec.impls[impl]!, seed, (v) => c + v, {}, shapes);
              expect(r.pass, `${impl} at ${c}, seed ${seed}: ${r.gradients.map((g) => `${g.name} ${g.relError}`).join(' ')}`).toBe(true);
              const dx = r.gradients.find((g) => g.name === 'dx')!;
              expect(dx.checked).toBe(dx.total);
              expect(dx.unchecked).toBeUndefined();
              if (c === 1e8) withinNoise += dx.withinNoise;
            }
          }
        }
        // At 1e8 the centred differences carry ~1e-3 of rounding: it is the noise model that passes them.
        expect(withinNoise).toBeGreaterThan(0);
      },
      SLOW_MS,
    );

    for (const path of ['mean', 'variance'] as const) {
      it(
        `${spec.name}: dx without the ${path} path still fails at every offset, in every mode`,
        () => {
          for (const c of [0, ...OFFSETS]) {
            for (const mode of ['full', 'sampled', 'directional'] as CheckMode[]) {
              for (const seed of [1, 2]) {
                const r = check(spec, brokenNorm(spec.impls.fast!, path), seed, (v) => c + v, { mode, localize: false });
                expect(
                  r.gradients.filter((g) => !g.pass).map((g) => g.name),
                  `${mode} at ${c}, seed ${seed}`,
                ).toEqual(['dx']);
                expect(r.gradients[0].relError).toBeGreaterThan(1e-2);
              }
            }
          }
        },
        SLOW_MS,
      );
    }
  }
});

describe("inputs beyond the step's resolution", () => {
  const params = { stride: 1, pad: 1 };

  for (const scale of [1e150, 1e300]) {
    it(`conv with |x| ~ ${scale}: dx and db checked nothing, said as a limit of the check; dw is checked`, () => {
      const { inputs } = inputsWith(conv, 5, (v) => v * scale, {}, params);
      const r = checkLayer(conv, { params, inputs, repeat: 0 });
      expect(r.pass).toBe(true);
      expect(r.problems).toEqual([]);
      for (const g of r.gradients) {
        expect(g.localization).toBeUndefined();
        if (g.name === 'dw') {
          expect(g.unchecked).toBeUndefined();
          expect(g.checked).toBe(g.total);
          expect(g.relError).toBeLessThan(1e-7);
          continue;
        }
        expect(g).toMatchObject({ checked: 0, unresolved: g.total, pass: true });
        expect(g.relError).toBeNaN();
        expect(g.unchecked).toMatch(/^nothing checked: all \d+ elements are beyond the step's resolution: /);
        expect(g.unchecked).toMatch(/a limit of the check at these magnitudes, not an error of the layer; rescale the inputs or raise --h$/);
        if (g.name === 'dx')
          expect(g.unchecked).toMatch(/h = 1e-5 is at or below the resolution of x \(x \+ h == x for \|x\| above ~9\.0e\+10; here \|x\| up to \d\.\de\+\d+\)/);
        else expect(g.unchecked).toMatch(/outputs up to \d\.\de\+\d+ cannot resolve the change a step of h = 1e-5 in b makes/);
      }
      const text = renderLayerReport(r, false, 200);
      expect(text).not.toMatch(/NaN \/ NaN|is wrong|hint/);
      expect(text).toMatch(/│ naive │ dx +│ nan +│ nan +│ nothing checked \(see below\) +│ 1\.00e-7 +│ unchecked +│/);
      expect(text).toMatch(/WARNING: naive dx checked nothing: all 300 elements are beyond the step's resolution: h = 1e-5/);
      expect(text).toMatch(/PASS: 2 gradient checks within threshold, 4 checked nothing/);
    });
  }

  it('with --strict-kinks a gradient that checked nothing does not pass, and still says why', () => {
    const { inputs } = inputsWith(conv, 5, (v) => v * 1e150, {}, params);
    const r = checkLayer(conv, { params, inputs, repeat: 0, strictKinks: true });
    expect(r.pass).toBe(false);
    expect(r.gradients.filter((g) => !g.pass).map((g) => `${g.impl} ${g.name}`)).toEqual(['naive dx', 'naive db', 'fast dx', 'fast db']);
    for (const g of r.gradients.filter((g) => !g.pass)) {
      expect(g.unchecked).toMatch(/not an error of the layer/);
      expect(g.localization).toBeUndefined();
    }
    expect(renderLayerReport(r, false, 200)).toMatch(/FAIL: 4 of 6 gradient checks failed \(4 checked nothing\)/);
  });

  it('a bug where the step is resolved still fails at 1e150: dw with the kernel flipped', () => {
    const r = check(conv, { forward: conv.impls.fast!.forward, backward: brokenConv(conv.impls.fast!)['dw with the kernel flipped'] }, 5, (v) => v * 1e150);
    expect(r.gradients.find((g) => g.name === 'dw')).toMatchObject({ pass: false });
    expect(r.gradients.find((g) => g.name === 'dw')!.localization?.hint?.kind).toBe('kernel-flip');
  });

  /**
   * conv_relu_pool at its default x 2,3,16,16 costs this test more than every other layer together.
   * What decides its numerics at these magnitudes is per output: each sums the same C*HH*WW = 27
   * products at any H and W, and an 8x8 plane still has a padded border, an interior, relu-dead and
   * pool-losing elements. Four draws at 8x8 check as many elements of x as one at 16x16, each on a
   * forward a quarter the size.
   */
  const BETWEEN: Record<string, { shapes: Shapes; seeds: number[] }> = {
    conv_relu_pool: { shapes: { x: [2, 3, 8, 8] }, seeds: [1, 2, 3, 4] },
  };

  it(
    'between, where h is a few units in the last place of x (|x| = 1e9 ... 1e12), no correct layer fails',
    () => {
      for (const spec of LAYERS) {
        const { shapes, seeds } = BETWEEN[spec.name] ?? { shapes: {}, seeds: [1] };
        for (const scale of [1e9, 1e10, 1e11, 1e12]) {
          for (const seed of seeds) {
            const { inputs, params: p } = inputsWith(spec, seed + 100, (v) => v * scale, shapes);
            const r = checkLayer(spec, { params: p, inputs, seed, repeat: 0 });
            const failed = r.gradients.filter((g) => !g.pass).map((g) => `${g.impl} ${g.name} ${g.relError}`);
            expect(failed, `${spec.name} x ${scale}, seed ${seed}`).toEqual([]);
          }
        }
      }
    },
    SLOW_MS,
  );

  it('the broken conv backward passes still fail at |x| ~ 1e3 and 1e6', () => {
    for (const scale of [1e3, 1e6]) {
      for (const [name, backward] of Object.entries(brokenConv(conv.impls.fast!))) {
        const r = check(conv, { forward: conv.impls.fast!.forward, backward }, 3, (v) => v * scale, { localize: false }, { x: [2, 3, 6, 6], w: [4, 3, 3, 3] });
        expect(
          r.gradients.filter((g) => !g.pass).map((g) => g.name),
          `${name} at ${scale}`,
        ).toEqual([name.slice(0, 2)]);
      }
    }
  });
});

describe('a check that compared nothing', () => {
  it('relu of all zeros: every element a kink, so the row is unchecked: a warning, not a silent pass', () => {
    const x = zeros([2, 3, 8, 8]);
    const r = checkLayer(relu, { params: {}, inputs: { x }, repeat: 0 });
    expect(r.pass).toBe(true);
    for (const g of r.gradients) {
      expect(g).toMatchObject({ checked: 0, kinks: 384, unresolved: 0, pass: true });
      expect(g.unchecked).toBe('nothing checked: all 384 elements straddle a kink (relu at 0, a max-pool tie), and kinks are left out unless --strict-kinks');
      expect(g.relError).toBeNaN();
      expect(g.maxAbsError).toBeNaN();
    }
    const text = renderLayerReport(r, false, 200);
    expect(text).not.toMatch(/NaN/);
    expect(text).toMatch(/│ naive │ dx +│ nan +│ nan +│ nothing checked \(see below\) +│ 1\.00e-7 +│ unchecked \(384 kinks\) │/);
    expect(text).toMatch(/WARNING: fast dx checked nothing: all 384 elements straddle a kink/);
    expect(text).toMatch(/PASS: 0 gradient checks within threshold, 2 checked nothing/);
  });

  it('max-pool with all-tied windows: the same', () => {
    const x = zeros([2, 3, 8, 8]);
    x.data.fill(1);
    const r = checkLayer(maxpool, { params: defaults(maxpool), inputs: { x }, repeat: 0 });
    expect(r.pass).toBe(true);
    for (const g of r.gradients)
      expect(g).toMatchObject({ checked: 0, kinks: 384, unchecked: expect.stringMatching(/^nothing checked: all 384 elements straddle a kink/) });
  });

  it('with --strict-kinks the kinks are compared, and relu of all zeros fails', () => {
    const r = checkLayer(relu, { params: {}, inputs: { x: zeros([2, 3, 8, 8]) }, repeat: 0, strictKinks: true });
    expect(r.pass).toBe(false);
    for (const g of r.gradients) {
      expect(g.checked).toBe(384);
      expect(g.unchecked).toBeUndefined();
    }
  });

  it('a real error where there is no kink still fails: relu with a zeroed dx where half of x is 0', () => {
    const x = zeros([2, 3, 8, 8]);
    for (let i = 0; i < x.data.length; i += 2) x.data[i] = 1 + i / 100;
    const zeroDx: LayerImpl = { forward: relu.impls.naive.forward, backward: (dout) => ({ dx: zeros(dout.shape) }) };
    const rng = new XoshiroRng(1);
    const r = gradCheck(relu, zeroDx, { x }, {}, { rng });
    expect(r.pass).toBe(false);
    expect(r.gradients[0]).toMatchObject({ kinks: 192, checked: 192, pass: false });
    expect(r.gradients[0].unchecked).toBeUndefined();
  });
});

describe('implementations that compute in float32 whatever they are given', () => {
  const params = { stride: 1, pad: 1 };
  const module32: LayerImpl = conv32;
  const module32as64: LayerImpl = conv32as64;

  it('are recognized: a Float32Array output, or one made only of float32 values that are not copies of inputs', () => {
    const { inputs } = inputsWith(conv, 1, (v) => v, {}, params);
    expect(computedDType(module32.forward(inputs, params).out.data, inputs)).toBe('float32');
    expect(computedDType(module32as64.forward(inputs, params).out.data, inputs)).toBe('float32');
    expect(computedDType(conv.impls.naive.forward(inputs, params).out.data, inputs)).toBe('float64');
    // relu routes its (float32-valued) inputs unchanged in any dtype: not evidence of float32 arithmetic.
    const x32 = { x: { data: Float64Array.from(Float32Array.from([1.5, -2, 0.1, 0.7, 3.3])), shape: [5] } };
    expect(computedDType(relu.impls.naive.forward(x32, {}).out.data, x32)).toBe('float64');
  });

  for (const [label, impl] of [
    ['returning Float32Arrays', module32],
    ['returning Float64Arrays', module32as64],
  ] as const) {
    for (const dtype of ['float32', 'float64'] as const) {
      it(`a correct float32 conv ${label} passes with dtype ${dtype}: judged as float32, differentiated in float64`, () => {
        for (const seed of [1, 2, 3]) {
          const { rng, inputs } = inputsWith(conv, seed, (v) => v, {}, params);
          const r = gradCheck(conv, impl, inputs, params, { rng, dtype, numericImpl: conv.impls.fast });
          expect(r.pass, `seed ${seed}`).toBe(true);
          for (const g of r.gradients) {
            expect(g.dtype).toBe('float32');
            expect(g.relError).toBeLessThan(g.threshold / 10);
            expect(g.relError).toBeGreaterThan(1e-9); // float32 rounding is what is measured
          }
          expect(r.notes.join(' ')).toMatch(
            /the numeric side runs conv's fast forward in float64: the checked forward computes in float32 even on float64 inputs/,
          );
        }
      });
    }
  }

  it('the same module through checkLayer (as --impl runs it): comparison and gradient rows pass in both dtypes', () => {
    for (const dtype of ['float32', 'float64'] as const) {
      for (const impl of [module32, module32as64]) {
        const r = checkLayer(conv, { params, repeat: 0, dtype, impls: [], external: [{ name: 'user', kind: 'js', impl, external: true }] });
        expect(r.pass).toBe(true);
        for (const a of r.comparisons![0].arrays) expect(a).toMatchObject({ dtype: 'float32', threshold: 1e-4, pass: true });
      }
    }
  });

  it('its real bugs still fail, in both dtypes', () => {
    const bugs: Record<string, (g: Record<string, Tensor>) => Record<string, Tensor>> = {
      'db averaged': (g) => ({ ...g, db: { data: g.db.data.map((v) => v / 100), shape: g.db.shape } }),
      'dx with the wrong sign': (g) => ({ ...g, dx: { data: g.dx.data.map((v) => -v), shape: g.dx.shape } }),
      'dw off by 1%': (g) => ({ ...g, dw: { data: g.dw.data.map((v) => v * 1.01), shape: g.dw.shape } }),
    };
    for (const dtype of ['float32', 'float64'] as const) {
      for (const [name, bug] of Object.entries(bugs)) {
        const impl: LayerImpl = { forward: module32.forward, backward: (dout, cache) => bug(module32.backward(dout, cache)) };
        const { rng, inputs } = inputsWith(conv, 2, (v) => v, {}, params);
        const r = gradCheck(conv, impl, inputs, params, { rng, dtype, numericImpl: conv.impls.fast });
        const failing = r.gradients.filter((g) => !g.pass);
        expect(
          failing.map((g) => g.name),
          `${name}, ${dtype}`,
        ).toEqual([name.slice(0, 2)]);
        expect(failing[0].relError).toBeGreaterThan(4e-3);
      }
    }
  });

  it('when its forward disagrees with the reference, its own float32 forward is differentiated: no false failure, and a sign error still fails', () => {
    // Bias added twice in forward and a backward consistent with it: the comparison finds the forward, not the gradient check.
    const twice: LayerImpl = {
      forward: (inputs, p) => module32.forward({ ...inputs, b: { data: inputs.b.data.map((v) => 2 * v), shape: inputs.b.shape } }, p),
      backward: (dout, cache) => {
        const g = module32.backward(dout, cache);
        return { ...g, db: { data: g.db.data.map((v) => 2 * v), shape: g.db.shape } };
      },
    };
    const { rng, inputs } = inputsWith(conv, 2, (v) => v, {}, params);
    const r = gradCheck(conv, twice, inputs, params, { rng, dtype: 'float32', numericImpl: conv.impls.fast });
    expect(r.pass).toBe(true);
    expect(r.notes.join(' ')).toMatch(/the checked forward computes in float32 even on float64 inputs, and the numeric side differentiates it/);
    const signed: LayerImpl = {
      forward: twice.forward,
      backward: (dout, cache) => {
        const g = twice.backward(dout, cache);
        return { ...g, dw: { data: g.dw.data.map((v) => -v), shape: g.dw.shape } };
      },
    };
    const bad = gradCheck(conv, signed, inputs, params, { rng: new XoshiroRng(2), dtype: 'float32', numericImpl: conv.impls.fast });
    expect(bad.gradients.filter((g) => !g.pass).map((g) => g.name)).toEqual(['dw']);
  });
});

describe('re-measuring a centred difference that fails against the modelled noise', () => {
  it('is deterministic and leaves a correct layer at ordinary magnitudes alone', () => {
    const spec = spatialBatchnorm;
    const { inputs, params } = inputsWith(spec, 7, (v) => 1e6 + v);
    const run = () => gradCheck(spec, spec.impls.naive, inputs, params, { rng: new XoshiroRng(7) });
    const a = run();
    expect(run().gradients.map((g) => [g.relError, g.withinNoise])).toEqual(a.gradients.map((g) => [g.relError, g.withinNoise]));
    // At offset 0 nothing exceeds the modelled noise: two forward passes per element, nothing more.
    let forwards = 0;
    const counted: LayerImpl = {
      forward: (i, p) => {
        forwards++;
        return spec.impls.naive.forward(i, p);
      },
      backward: spec.impls.naive.backward,
    };
    const plain = inputsWith(spec, 7, (v) => v);
    const r = gradCheck(spec, counted, plain.inputs, plain.params, { rng: plain.rng });
    expect(r.pass).toBe(true);
    expect(forwards).toBe(1 + 2 * (120 + 3 + 3));
  });

  it("does not take a large step's truncation error for rounding: spatial batchnorm at h = 0.3 fails", () => {
    const r = check(spatialBatchnorm, spatialBatchnorm.impls.fast!, 1, (v) => v, { h: 0.3, localize: false });
    expect(r.gradients.filter((g) => !g.pass).map((g) => g.name)).toEqual(['dx']);
    expect(r.gradients[0].relError).toBeGreaterThan(1e-3);
  });

  it('covers every output the element feeds: conv at |x| = 1e11, where a step of h moves one of them', () => {
    for (const seed of [1, 2, 3]) {
      const r = check(conv, conv.impls.fast!, seed, (v) => v * 1e11);
      expect(r.pass, `seed ${seed}`).toBe(true);
    }
  });
});
