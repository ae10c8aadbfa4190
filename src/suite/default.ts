/**
 * The built-in suite `cnn-check suite` runs without a file, derived from the registry so that a
 * new layer is covered the day it is registered. For every layer:
 *
 * 1. its defaults (the cs231n shapes and params), every implementation, auto mode (a full check
 *    at these sizes);
 * 2. non-default params: starting from the defaults, each param in turn takes the first
 *    alternative the layer accepts at its default shapes (an enum's other choice; an integer
 *    + 1, else - 1; a float x 10, else / 10);
 * 3. non-default shapes: each dimension of each settable input in turn grows by one where the
 *    layer accepts it (odd sizes, floor output sizes, rectangular kernels);
 * 4. float32, when the fast implementation computes in float32 (it returns a Float32Array
 *    for float32 inputs);
 * 5. a larger case, checked `sampled` and `directional`: the first input's batch and trailing
 *    axes scaled by the smallest power of two at which auto mode no longer checks every
 *    element (at most LARGER_MAX_SCALE): conv at x 16,3,20,20 for instance.
 *
 * Every check is deterministic (fixed seeds, fixed sample and direction counts), and the whole
 * suite takes seconds (the README gives the measured time).
 */
import { LAYERS } from '../layers/registry.js';
import type { LayerSpec, ParamSpec, ParamValue, Params, Shapes } from '../layers/types.js';
import { defaultGivenShapes, defaultParams, isSettable, resolveShapes } from '../layers/params.js';
import { autoIsFull } from '../gradcheck/modes.js';
import { size, type Tensor } from '../tensor/tensor.js';
import { parseValue } from '../settings/domain.js';
import type { SuiteEntry } from './schema.js';

/** Largest factor the larger case scales the first input by. */
export const LARGER_MAX_SCALE = 16;
/** Elements per input of the larger case's sampled check. */
export const LARGER_SAMPLES = 48;
/** Directions per input of the larger case's directional check. */
export const LARGER_DIRECTIONS = 4;

/** True when the layer accepts these settable shapes and params. */
function accepts(spec: LayerSpec, given: Shapes, params: Params): boolean {
  try {
    spec.check(resolveShapes(spec, given, params), params);
    return true;
  } catch {
    return false;
  }
}

function inDomain(p: ParamSpec, v: number): boolean {
  try {
    parseValue(p, v, p.name, false);
    return true;
  } catch {
    return false;
  }
}

/** Values to try instead of a param's default, in order of preference. */
export function paramAlternatives(p: ParamSpec): ParamValue[] {
  if (p.kind === 'enum') return (p.choices ?? []).filter((c) => c !== p.default);
  const d = p.default as number;
  const candidates = p.kind === 'int' ? [d + 1, d - 1] : d === 0 ? [0.5, -0.5] : [d * 10, d / 10];
  return candidates.filter((v) => inDomain(p, v));
}

/** Params with every param changed to an accepted alternative where one exists; null when none could change. */
export function variedParams(spec: LayerSpec): Params | null {
  const given = defaultGivenShapes(spec);
  const params = defaultParams(spec);
  let changed = false;
  for (const p of spec.params) {
    for (const alt of paramAlternatives(p)) {
      const candidate = { ...params, [p.name]: alt };
      if (accepts(spec, given, candidate)) {
        params[p.name] = alt;
        changed = true;
        break;
      }
    }
  }
  return changed ? params : null;
}

/** Settable shapes with each dimension grown by one where the layer accepts it; null when none could grow. */
export function variedShapes(spec: LayerSpec): Shapes | null {
  const params = defaultParams(spec);
  const given = defaultGivenShapes(spec);
  let changed = false;
  for (const name of Object.keys(given)) {
    for (let d = 0; d < given[name].length; d++) {
      const dims = [...given[name]];
      dims[d] += 1;
      const candidate = { ...given, [name]: dims };
      if (accepts(spec, candidate, params)) {
        given[name] = dims;
        changed = true;
      }
    }
  }
  return changed ? given : null;
}

/**
 * The larger case: the first settable input's batch axis and its axes from the third on
 * (spatial, or features) scaled by k = 2, 4, ... until auto mode would not check every element,
 * each axis only where the layer accepts it. Null when nothing can be scaled.
 */
export function largerShapes(spec: LayerSpec): Shapes | null {
  const params = defaultParams(spec);
  const base = defaultGivenShapes(spec);
  const first = spec.inputs.find(isSettable)?.name;
  if (!first) return null;
  let best: Shapes | null = null;
  for (let k = 2; k <= LARGER_MAX_SCALE; k *= 2) {
    const given: Shapes = { ...base, [first]: [...base[first]] };
    for (let d = 0; d < given[first].length; d++) {
      if (d === 1) continue; // channels must match other inputs (w, gamma): leave them
      const dims = [...given[first]];
      dims[d] = base[first][d] * k;
      if (accepts(spec, { ...given, [first]: dims }, params)) given[first] = dims;
    }
    if (size(given[first]) === size(base[first])) return null;
    best = given;
    if (!autoIsFull(spec, resolveShapes(spec, given, params), params)) break;
  }
  return best;
}

/**
 * True when the fast implementation computes in float32: its forward pass returns a
 * Float32Array for float32 inputs (at the default shapes, on ones).
 */
export function hasFloat32Path(spec: LayerSpec): boolean {
  const fast = spec.impls.fast;
  if (!fast) return false;
  const params = defaultParams(spec);
  const shapes = resolveShapes(spec, {}, params);
  const inputs: Record<string, Tensor> = {};
  for (const input of spec.inputs) inputs[input.name] = { data: new Float32Array(size(shapes[input.name])).fill(1), shape: shapes[input.name] };
  try {
    return fast.forward(inputs, params).out.data instanceof Float32Array;
  } catch {
    return false;
  }
}

/** The entries of the default suite for `layers` (default: the registry). */
export function defaultSuiteEntries(layers: readonly LayerSpec[] = LAYERS): SuiteEntry[] {
  const entries: SuiteEntry[] = [];
  for (const spec of layers) {
    const layer = spec.name;
    entries.push({ layer });
    const params = variedParams(spec);
    if (params) entries.push({ layer, params });
    const shapes = variedShapes(spec);
    if (shapes) entries.push({ layer, shapes });
    if (hasFloat32Path(spec)) entries.push({ layer, dtype: 'float32' });
    const larger = largerShapes(spec);
    if (larger) {
      entries.push({ layer, shapes: larger, checkMode: 'sampled', samples: LARGER_SAMPLES });
      entries.push({ layer, shapes: larger, checkMode: 'directional', directions: LARGER_DIRECTIONS });
    }
  }
  return entries;
}
