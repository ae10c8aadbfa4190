/**
 * The built-in suite is derived from the registry: every layer, at its defaults, with other
 * params and shapes, in float32 where it has a float32 path, and a larger case checked sampled
 * and directional. These tests iterate the registry as the suite does.
 */
import { describe, expect, it } from 'vitest';
import { LAYERS } from '../../src/layers/registry.js';
import type { LayerSpec } from '../../src/layers/types.js';
import { resolveShapes } from '../../src/layers/params.js';
import { autoIsFull } from '../../src/gradcheck/modes.js';
import { size } from '../../src/tensor/tensor.js';
import { conv } from '../../src/layers/conv.js';
import {
  LARGER_DIRECTIONS,
  LARGER_MAX_SCALE,
  LARGER_SAMPLES,
  defaultSuiteEntries,
  hasFloat32Path,
  largerShapes,
  paramAlternatives,
  variedParams,
  variedShapes,
} from '../../src/suite/default.js';
import { resolveSuite } from '../../src/suite/schema.js';
import { flatCheck } from '../helpers/report.js';

const entries = defaultSuiteEntries();
const checks = resolveSuite(entries, 'default').map(flatCheck);
const defaults = (spec: LayerSpec) => Object.fromEntries(spec.params.map((p) => [p.name, p.default]));

describe('the default suite', () => {
  it('is a valid suite with unique names', () => {
    expect(new Set(checks.map((c) => c.name)).size).toBe(checks.length);
  });

  it.each(LAYERS.map((l) => [l.name, l] as const))('covers %s', (_name, spec) => {
    const mine = checks.filter((c) => c.spec === spec);
    // Its defaults, exactly as the layer command runs them.
    const base = mine.find((c) => c.name === `${spec.name} (defaults)`)!;
    expect(base).toMatchObject({ params: defaults(spec), givenShapes: {}, checkMode: 'auto', dtype: 'float64' });
    // Other params, every one the layer can change at its default shapes.
    const varied = variedParams(spec);
    if (spec.params.some((p) => paramAlternatives(p).length > 0)) {
      expect(varied).not.toBeNull();
      expect(mine.some((c) => c.checkMode === 'auto' && JSON.stringify(c.params) === JSON.stringify(varied))).toBe(true);
      for (const p of spec.params) if (varied![p.name] !== p.default) expect(paramAlternatives(p)).toContain(varied![p.name]);
    }
    // Other shapes: every settable input has some dimension grown.
    const shapes = variedShapes(spec)!;
    const shaped = mine.find((c) => c.checkMode === 'auto' && Object.keys(c.givenShapes).length > 0)!;
    expect(shaped.givenShapes).toEqual(shapes);
    expect(Object.entries(shapes).some(([k, s]) => s.join() !== (spec.inputs.find((i) => i.name === k)!.shape as number[]).join())).toBe(true);
    // float32 exactly when the fast implementation computes in float32.
    expect(mine.some((c) => c.dtype === 'float32')).toBe(hasFloat32Path(spec));
    // The larger case, sampled and directional, at shapes where auto mode leaves the full check (or the largest scale tried).
    const larger = largerShapes(spec)!;
    const sampled = mine.find((c) => c.checkMode === 'sampled')!;
    const directional = mine.find((c) => c.checkMode === 'directional')!;
    expect(sampled).toMatchObject({ givenShapes: larger, samples: LARGER_SAMPLES });
    expect(directional).toMatchObject({ givenShapes: larger, directions: LARGER_DIRECTIONS });
    const first = spec.inputs[0].name;
    expect(size(larger[first])).toBeGreaterThan(size(spec.inputs[0].shape as number[]));
    const scale = larger[first][0] / (spec.inputs[0].shape as number[])[0];
    expect(!autoIsFull(spec, resolveShapes(spec, larger, sampled.params), sampled.params) || scale === LARGER_MAX_SCALE).toBe(true);
  });

  it('every fast layer of the registry has a float32 path today', () => {
    expect(LAYERS.filter((l) => l.impls.fast).map((l) => [l.name, hasFloat32Path(l)])).toEqual(LAYERS.filter((l) => l.impls.fast).map((l) => [l.name, true]));
  });

  it('conv: the cases it derives', () => {
    expect(variedParams(conv)).toEqual({ stride: 2, pad: 2 });
    expect(variedShapes(conv)).toEqual({ x: [5, 3, 6, 6], w: [3, 3, 4, 4] });
    expect(largerShapes(conv)).toEqual({ x: [16, 3, 20, 20], w: [2, 3, 3, 3] });
    expect(autoIsFull(conv, resolveShapes(conv, { x: [8, 3, 10, 10] }, defaults(conv)), defaults(conv))).toBe(true);
  });

  it('a layer added to the registry is covered without naming it', () => {
    const twin: LayerSpec = { ...conv, name: 'conv_twin' };
    const names = resolveSuite(
      defaultSuiteEntries([twin]).map((e) => ({ ...e, layer: 'conv' })),
      'twin',
    ).map((c) => c.name);
    expect(names).toEqual(checks.filter((c) => c.spec === conv).map((c) => c.name));
  });

  it('param alternatives stay in the domain', () => {
    for (const spec of LAYERS) {
      for (const p of spec.params) {
        for (const v of paramAlternatives(p)) {
          expect(v).not.toBe(p.default);
          if (typeof v === 'number') {
            if (p.min !== undefined) expect(p.minExclusive ? v > p.min : v >= p.min).toBe(true);
            if (p.max !== undefined) expect(v <= p.max).toBe(true);
          } else expect(p.choices).toContain(v);
        }
      }
    }
  });
});
