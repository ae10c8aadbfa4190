/**
 * float32 checks: a layer that computes in float32 is judged against float64 numeric gradients
 * of the same (rounded) values with the tolerance of precision.ts. Correct float32 layers pass,
 * including one that accumulates naively in float32, and the broken backward passes still fail.
 */
import { describe, expect, it } from 'vitest';
import { conv, convBackwardFast, convForwardFast, type ConvParams } from '../../src/layers/conv.js';
import { affine } from '../../src/layers/affine.js';
import { batchnorm } from '../../src/layers/batchnorm.js';
import { spatialGroupnorm } from '../../src/layers/spatial-groupnorm.js';
import { convReluPool } from '../../src/layers/conv-relu-pool.js';
import { LAYERS } from '../../src/layers/registry.js';
import type { ForwardResult, LayerImpl, LayerSpec, Params, Shapes } from '../../src/layers/types.js';
import { gradCheck } from '../../src/gradcheck/gradcheck.js';
import { checkLayer } from '../../src/gradcheck/check-layer.js';
import { FLOAT32_UNIT_ROUNDOFF, float32Tolerance } from '../../src/gradcheck/precision.js';
import type { CheckMode } from '../../src/settings/schema.js';
import { generateInputs, resolveShapes } from '../../src/layers/params.js';
import { XoshiroRng } from '../../src/tensor/rng.js';
import { toDType, zeros } from '../../src/tensor/tensor.js';

import { brokenConv, type ConvCache } from '../helpers/broken.js';
const defaults = (spec: LayerSpec): Params => Object.fromEntries(spec.params.map((p) => [p.name, p.default]));
const NO_LIMIT = 1e6;

describe('the float32 tolerance', () => {
  it('is 8 u sqrt(size(out)), at least the float64 tolerance', () => {
    expect(FLOAT32_UNIT_ROUNDOFF).toBe(5.9604644775390625e-8);
    expect(float32Tolerance(1e-7, 200)).toBeCloseTo(8 * 2 ** -24 * Math.sqrt(200), 15);
    expect(float32Tolerance(1e-7, 200)).toBeCloseTo(6.74e-6, 8);
    expect(float32Tolerance(1e-7, 32 * 64 * 32 * 32)).toBeCloseTo(6.9e-4, 5);
    expect(float32Tolerance(1e-3, 200)).toBe(1e-3);
    expect(float32Tolerance(1e-9, 0)).toBe(8 * 2 ** -24);
  });
});

describe('correct float32 layers pass', () => {
  it('every registered layer at its default shapes: fast impls as float32 layers, naive as float64 ones', () => {
    for (const spec of LAYERS) {
      const r = checkLayer(spec, { params: defaults(spec), repeat: 0, dtype: 'float32' });
      expect(r.dtype).toBe('float32');
      expect(r.pass, spec.name).toBe(true);
      for (const g of r.gradients) {
        const outSize = spec.impls.naive.forward(Object.fromEntries(spec.inputs.map((i) => [i.name, zeros(r.shapes[i.name])])), r.params).out.data.length;
        if (g.impl === 'fast') {
          expect(g.dtype, `${spec.name} ${g.name}`).toBe('float32');
          expect(g.threshold).toBe(float32Tolerance(spec.tolerance.grad, outSize));
        } else {
          expect(g.dtype).toBe('float64');
          expect(g.threshold).toBe(spec.tolerance.grad);
        }
        expect(g.relError, `${spec.name} ${g.impl} ${g.name}`).toBeLessThan(g.threshold / 10);
      }
    }
  });

  const larger: [LayerSpec, Shapes, Params][] = [
    [conv, { x: [8, 16, 16, 16], w: [16, 16, 3, 3] }, { stride: 1, pad: 1 }],
    [conv, { x: [4, 8, 17, 15], w: [6, 8, 5, 3] }, { stride: 2, pad: 2 }],
    [affine, { x: [64, 8, 4, 4], w: [128, 50] }, {}],
    [batchnorm, { x: [256, 40] }, defaults(batchnorm)],
    [spatialGroupnorm, { x: [8, 12, 10, 10] }, { ...defaults(spatialGroupnorm), G: 3 }],
    [convReluPool, { x: [2, 4, 12, 12], w: [6, 4, 3, 3] }, defaults(convReluPool)],
  ];
  for (const [spec, shapes, params] of larger) {
    for (const mode of ['auto', 'sampled', 'directional'] as CheckMode[]) {
      it(`${spec.name} ${Object.values(shapes)
        .map((s) => s.join(','))
        .join(' ')}, ${mode}`, () => {
        const r = checkLayer(spec, { params, shapes, repeat: 0, dtype: 'float32', mode, impls: ['fast'], budget: NO_LIMIT });
        expect(r.pass).toBe(true);
        for (const g of r.gradients) {
          expect(g.dtype).toBe('float32');
          expect(g.relError, `${g.name}`).toBeLessThan(g.threshold / 10);
        }
      });
    }
  }

  it('the layer sees float32 values, the numeric side the same values in float64', () => {
    const seen: string[] = [];
    const batches: number[] = [];
    const spy: LayerImpl = {
      forward: (inputs, params): ForwardResult => {
        seen.push(inputs.x.data.constructor.name);
        batches.push(inputs.x.shape[0]);
        return convForwardFast(inputs, params as ConvParams);
      },
      backward: convBackwardFast,
    };
    const rng = new XoshiroRng(1);
    const inputs = generateInputs(conv, resolveShapes(conv, {}, { stride: 1, pad: 1 }), rng);
    const r = gradCheck(conv, spy, inputs, { stride: 1, pad: 1 }, { rng, dtype: 'float32', mode: 'full' });
    expect(r.pass).toBe(true);
    expect(r.dout!.data).toBeInstanceOf(Float32Array);
    expect(seen[0]).toBe('Float32Array');
    // The checked forward, its output on the float64 copies (does it compute in float32 even
    // there? precision.ts computedDType), then two forward passes per element: those of x on
    // their own sample (x 4,3,5,5), after one pass per sample finds it gives its rows of the batch.
    expect(seen.length).toBe(1 + 1 + 2 * (54 + 2) + 4 + 2 * 300);
    expect(batches.filter((n) => n === 1)).toHaveLength(4 + 2 * 300);
    expect(new Set(seen.slice(1))).toEqual(new Set(['Float64Array']));
    // The caller's float64 inputs are left alone.
    expect(inputs.x.data).toBeInstanceOf(Float64Array);
  });
});

/** conv in float32 the plain way: every product and sum rounded to float32, sums in loop order. */
const f = Math.fround;
const naiveFloat32Conv: LayerImpl = {
  forward(inputs, params) {
    const x = toDType(inputs.x, 'float32');
    const w = toDType(inputs.w, 'float32');
    const b = toDType(inputs.b, 'float32');
    const res = convForwardFast({ x, w, b }, params as ConvParams);
    const { N, C, H, W, F, HH, WW, stride, pad, Hout, Wout } = (res.cache as ConvCache).geom;
    const out = zeros([N, F, Hout, Wout], 'float32');
    for (let n = 0; n < N; n++)
      for (let k = 0; k < F; k++)
        for (let i = 0; i < Hout; i++)
          for (let j = 0; j < Wout; j++) {
            let acc = b.data[k];
            for (let c = 0; c < C; c++)
              for (let di = 0; di < HH; di++)
                for (let dj = 0; dj < WW; dj++) {
                  const h = i * stride + di - pad;
                  const ww = j * stride + dj - pad;
                  if (h >= 0 && h < H && ww >= 0 && ww < W)
                    acc = f(acc + f(x.data[((n * C + c) * H + h) * W + ww] * w.data[((k * C + c) * HH + di) * WW + dj]));
                }
            out.data[((n * F + k) * Hout + i) * Wout + j] = acc;
          }
    return { out, cache: res.cache };
  },
  backward(dout, cache) {
    const { x, w, geom } = cache as ConvCache;
    const { N, C, H, W, F, HH, WW, stride, pad, Hout, Wout } = geom;
    const dx = zeros(x.shape, 'float32');
    const dw = zeros(w.shape, 'float32');
    const db = zeros([F], 'float32');
    for (let n = 0; n < N; n++)
      for (let k = 0; k < F; k++)
        for (let i = 0; i < Hout; i++)
          for (let j = 0; j < Wout; j++) {
            const g = dout.data[((n * F + k) * Hout + i) * Wout + j];
            db.data[k] = f(db.data[k] + g);
            for (let c = 0; c < C; c++)
              for (let di = 0; di < HH; di++)
                for (let dj = 0; dj < WW; dj++) {
                  const h = i * stride + di - pad;
                  const ww = j * stride + dj - pad;
                  if (h < 0 || h >= H || ww < 0 || ww >= W) continue;
                  const xi = ((n * C + c) * H + h) * W + ww;
                  const wi = ((k * C + c) * HH + di) * WW + dj;
                  dx.data[xi] = f(dx.data[xi] + f(g * w.data[wi]));
                  dw.data[wi] = f(dw.data[wi] + f(g * x.data[xi]));
                }
          }
    return { dx, dw, db };
  },
};

describe('a float32 conv that sums naively in float32', () => {
  it('passes: its rounding stays within the tolerance, with room', () => {
    const params = { stride: 1, pad: 1 };
    const rng = new XoshiroRng(4);
    const inputs = generateInputs(conv, resolveShapes(conv, { x: [8, 16, 16, 16], w: [16, 16, 3, 3] }, params), rng);
    const r = gradCheck(conv, naiveFloat32Conv, inputs, params, { rng, dtype: 'float32', mode: 'sampled', samples: 200, numericImpl: conv.impls.fast });
    expect(r.pass).toBe(true);
    for (const g of r.gradients) {
      expect(g.dtype).toBe('float32');
      expect(g.relError, g.name).toBeLessThan(g.threshold / 4);
      // ... and it is float32 rounding that is measured, well above float64's.
      if (g.name !== 'db') expect(g.relError).toBeGreaterThan(1e-8);
    }
  });
});

describe('broken float32 backward passes still fail', () => {
  const hints: Record<string, string | null> = {
    'dx cropped without the pad offset': 'padding-offset',
    'db averaged instead of summed': 'factor',
    'dw missing the last output row': null,
    'dw with the kernel flipped': 'kernel-flip',
    'dx with the wrong sign': 'sign',
  };
  for (const mode of ['full', 'sampled', 'directional', 'auto'] as CheckMode[]) {
    const shapes = mode === 'full' ? { x: [2, 3, 8, 8], w: [4, 3, 3, 3] } : { x: [4, 8, 16, 16], w: [8, 8, 3, 3] };
    for (const [name, backward] of Object.entries(brokenConv(conv.impls.fast!))) {
      it(`${mode}: ${name}`, () => {
        const params = { stride: 1, pad: 1 };
        const rng = new XoshiroRng(3);
        const inputs = generateInputs(conv, resolveShapes(conv, shapes, params), rng);
        const r = gradCheck(conv, { forward: convForwardFast, backward }, inputs, params, { rng, dtype: 'float32', mode, budget: NO_LIMIT });
        expect(r.pass).toBe(false);
        const failing = r.gradients.filter((g) => !g.pass);
        expect(failing.map((g) => g.name)).toEqual([name.slice(0, 2)]);
        const [g] = failing;
        expect(g.dtype).toBe('float32');
        expect(g.relError).toBeGreaterThan(1e-2);
        expect(g.localization!.hint?.kind ?? null).toBe(hints[name]);
      });
    }
  }
});
