/**
 * Check modes: how much of a gradient the numeric side evaluates.
 *
 * - `full`: every element, two forward passes each (the cs231n check; quadratic in the layer).
 * - `sampled`: K elements per input in stratified order (every channel, border and interior;
 *   see strata.ts), two forward passes each, on one sample of a per-sample layer (numeric.ts).
 * - `directional`: K random unit directions u per input. Along u the step is s = h * sqrt(D)
 *   (D = elements of the input), so every element moves by about h as in an element-wise check
 *   and the rounding and truncation errors are those of an element-wise check (a step of h
 *   along u would move each element by h / sqrt(D) and leave 1e-8 of rounding noise at
 *   D = 2e6); the numeric (L(x + s u) - L(x - s u)) / 2s is compared with the analytic
 *   <grad, u>: two forward passes per direction whatever the size. Its relative error is
 *   |a - n| / max(|a| + |n|, ||grad||_2 / sqrt(D)), the last term being the typical size of
 *   <grad, u>, so that a direction nearly orthogonal to the gradient does not turn rounding into
 *   a large ratio (for float32 layers the floor is the gradient's magnitude, as element-wise).
 *   When a direction straddles a kink (relu, max-pool winners) the step shrinks by 10 up to
 *   three times before the direction is counted as a kink; later directions start from the
 *   step that worked. A failing directional check falls back to sampled elements to say where
 *   the error is.
 * - `auto`: `full` for an input whose full check is cheap, estimated as
 *   2 * elements * forward cost <= AUTO_FULL_MAX_WORK (forward cost: the layer's flop count when
 *   it declares one, else FORWARD_WORK_PER_ELEMENT per input element); otherwise AUTO_DIRECTIONS
 *   directions and then sampled elements until the input's share of the time budget is spent.
 *   A layer whose inputs are all cheap is checked exactly as `full` checks it.
 *
 * Element errors. Every mode reports the cs231n relative error. An element fails only when that
 * exceeds the threshold and its absolute error also exceeds the centred difference's own
 * rounding noise (numeric.ts `roundingNoise`): among many elements some are ~0 by cancellation,
 * and their relative error is pure rounding (without this, 2-3% of seeds failed a correct conv
 * at the cs231n shapes at 1e-7, and 3e-7 came out for x 4,8,16,16, stride 2, pad 2). Such
 * elements are counted as `withinNoise`.
 *
 * Nothing here reads the clock to decide pass or fail: the budget only limits how many extra
 * samples are taken beyond the deterministic minimum (the directions, and FALLBACK_MIN_SAMPLES
 * samples to locate a failure).
 */
import type { LayerSpec, Params, Shapes } from '../layers/types.js';
import type { CheckMode } from '../settings/schema.js';
import type { Rng } from '../tensor/rng.js';
import { size, unravel, type DType } from '../tensor/tensor.js';
import type { NumericSide } from './numeric.js';
import { stratifiedSample } from './strata.js';
import { localize, type Localization } from './localize.js';

/** How one gradient was checked. */
export type RowMode = 'full' | 'sampled' | 'directional' | 'directional+sampled';

/**
 * Largest estimated work (flops or element operations) of a full check in auto mode: about a
 * second or two of forward passes at the few hundred MFLOP/s of the naive loops. The cs231n
 * shapes of every layer are far below it (conv: 6.5e6); x 4,8,16,16 with w 8,8,3,3 is above it.
 */
export const AUTO_FULL_MAX_WORK = 1e9;
/** Operations per input element of a forward pass, for layers that declare no flop count. */
export const FORWARD_WORK_PER_ELEMENT = 8;
/** Samples a failing directional check always takes to locate the error, budget or not. */
export const FALLBACK_MIN_SAMPLES = 8;
/** Retries with a 10x smaller step when a direction straddles a kink. */
export const KINK_RETRIES = 3;
/** Evaluations localization takes without looking at the budget. */
export const FREE_PROBES = 16;

/** Estimated work of one forward pass: the layer's flops, else 8 per input element. */
export function forwardWork(spec: LayerSpec, shapes: Shapes, params: Params): number {
  const flops = (spec as { flops?: (s: Shapes, p: Params) => { forward: number } }).flops;
  if (flops) {
    try {
      return flops(shapes, params).forward;
    } catch {
      // fall through to the size estimate
    }
  }
  let n = 0;
  for (const input of spec.inputs) n += size(shapes[input.name] ?? []);
  return FORWARD_WORK_PER_ELEMENT * n;
}

/** How auto mode (or an explicit mode) checks input `name`. */
export function planInput(mode: CheckMode, spec: LayerSpec, shapes: Shapes, params: Params, name: string): RowMode {
  if (mode !== 'auto') return mode;
  const work = 2 * size(shapes[name]) * forwardWork(spec, shapes, params);
  return work <= AUTO_FULL_MAX_WORK ? 'full' : 'directional+sampled';
}

/** True when auto mode checks every gradient input of the layer in full. */
export function autoIsFull(spec: LayerSpec, shapes: Shapes, params: Params): boolean {
  return spec.inputs.filter((i) => i.grad).every((i) => planInput('auto', spec, shapes, params, i.name) === 'full');
}

/** The directional part of a gradient row. */
export interface DirectionalPart {
  /** Directions compared (kinks left out unless strict). */
  count: number;
  kinks: number;
  relError: number;
  maxAbsError: number;
  /** The worst direction: its number, <analytic, u> and the centred difference. */
  worst: { direction: number; analytic: number; numeric: number };
  /** Step along the unit direction: h * sqrt(D), or less after kinks (the last one used). */
  step: number;
  pass: boolean;
}

/** The element part: what was compared element-wise. */
export interface ElementPart {
  relError: number;
  maxAbsError: number;
  worst: { index: number[]; analytic: number; numeric: number };
  kinks: number;
  checked: number;
  nonFinite: number;
  /** Elements whose relative error exceeds the threshold but whose absolute error is within rounding noise. */
  withinNoise: number;
  pass: boolean;
}

/** The error of a gradient over h = 1e-2 ... 1e-9. */
export interface SweepCurve {
  /** What was evaluated at each h: the row's elements, its directions, or both. */
  basis: 'elements' | 'directions' | 'elements+directions';
  hs: number[];
  relErrors: number[];
  bestH: number;
  bestRelError: number;
}

/** The steps of `--h-sweep`. */
export const SWEEP_HS = [1e-2, 1e-3, 1e-4, 1e-5, 1e-6, 1e-7, 1e-8, 1e-9];

/** Progress of the numeric side of one gradient. */
export interface GradientProgress {
  gradient: string;
  phase: 'full' | 'sampled' | 'directional' | 'localize' | 'sweep';
  done: number;
  total: number;
}

/** Everything one input's check needs. */
export interface InputCheck {
  name: string;
  input: string;
  shape: number[];
  analytic: ArrayLike<number>;
  numeric: NumericSide;
  plan: RowMode;
  /**
   * The whole layer is checked in full with its own forward, every element on the whole batch
   * (no per-sample slicing).
   */
  classic: boolean;
  h: number;
  threshold: number;
  /** Denominator floor of element-wise relative errors (precision.ts). */
  floor: number;
  dtype: DType;
  strictKinks: boolean;
  samples: number;
  directions: number;
  /** A generator for one purpose (`directions`, `samples`), the same stream every call. */
  rng: (purpose: string) => Rng;
  /** performance.now() by which optional work (extra samples, probes) should stop. */
  deadline: number;
  outShape: number[];
  outNames: string[];
  sweep: boolean;
  /** Localize a failure (probing more elements within the budget). */
  localize: boolean;
  onProgress?: (p: GradientProgress) => void;
}

/** What checking one input produces (gradcheck.ts turns it into a GradientRow). */
export interface InputResult {
  mode: RowMode;
  elements?: ElementPart;
  directional?: DirectionalPart;
  localization?: Localization;
  sweep?: SweepCurve;
}

/** A random unit vector of length D. */
function unitDirection(rng: Rng, D: number): Float64Array {
  const u = new Float64Array(D);
  let norm = 0;
  for (let i = 0; i < D; i++) {
    const v = rng.randn();
    u[i] = v;
    norm += v * v;
  }
  norm = Math.sqrt(norm);
  for (let i = 0; i < D; i++) u[i] /= norm;
  return u;
}

/**
 * Compare the analytic gradient with the numeric values at `flats` (every element for a full check).
 * relError is the cs231n relative error. An element fails when that exceeds the threshold AND its
 * absolute error exceeds the centred difference's own rounding noise (numeric.ts roundingNoise):
 * among many elements some are ~0 by cancellation, and their relative error is pure rounding.
 * The worst element shown is the worst failing one when any fails, else the worst overall.
 */
function compareElements(c: InputCheck, flats: readonly number[], numeric: Float64Array, kinks: Uint8Array, noise: Float64Array): ElementPart {
  let relError = 0;
  let maxAbsError = 0;
  let worstFlat = -1;
  let worstFailing = -1;
  let worstFailingRel = 0;
  let nonFinite = 0;
  let kinkCount = 0;
  let checked = 0;
  let withinNoise = 0;
  for (const i of flats) {
    if (kinks[i]) {
      kinkCount++;
      if (!c.strictKinks) continue;
    }
    checked++;
    const a = c.analytic[i];
    const n = numeric[i];
    if (!Number.isFinite(a) || !Number.isFinite(n)) {
      if (nonFinite === 0) worstFlat = i;
      nonFinite++;
      continue;
    }
    const abs = Math.abs(a - n);
    const rel = abs / Math.max(c.floor, Math.abs(a) + Math.abs(n));
    if (abs > maxAbsError) maxAbsError = abs;
    if (nonFinite === 0 && (worstFlat < 0 || rel > relError)) {
      relError = rel;
      worstFlat = i;
    }
    if (rel > c.threshold) {
      if (abs <= noise[i]) withinNoise++;
      else if (worstFailing < 0 || rel > worstFailingRel) {
        worstFailing = i;
        worstFailingRel = rel;
      }
    }
  }
  if (nonFinite) {
    relError = Infinity;
    maxAbsError = Infinity;
  }
  const shown = nonFinite ? worstFlat : worstFailing >= 0 ? worstFailing : worstFlat;
  const worst = shown < 0
    ? { index: [] as number[], analytic: NaN, numeric: NaN }
    : { index: unravel(shown, c.shape), analytic: c.analytic[shown], numeric: numeric[shown] };
  return {
    relError, maxAbsError, worst, kinks: kinkCount, checked, nonFinite, withinNoise,
    pass: nonFinite === 0 && worstFailing < 0,
  };
}

/** Directional check of one input; `keep` collects the directions for a sweep. */
function directionalPart(c: InputCheck, count: number, h: number, keep?: Float64Array[]): DirectionalPart {
  const D = c.analytic.length;
  const g = Float64Array.from(c.analytic);
  let norm = 0;
  for (let i = 0; i < D; i++) norm += g[i] * g[i];
  const typical = Math.sqrt(norm / Math.max(1, D));
  const floor = c.dtype === 'float32' ? c.floor : Math.max(c.floor, typical);
  const step0 = h * Math.sqrt(D);
  const part: DirectionalPart = {
    count: 0, kinks: 0, relError: 0, maxAbsError: 0,
    worst: { direction: -1, analytic: NaN, numeric: NaN }, step: step0, pass: true,
  };
  const rng = c.rng('directions');
  let step = step0;
  for (let k = 0; k < count; k++) {
    const u = unitDirection(rng, D);
    keep?.push(u);
    const r = evalDirection(c, u, step, g);
    // A step that had to shrink past a kink will have to again: start the next direction there.
    step = r.step;
    part.step = r.step;
    c.onProgress?.({ gradient: c.name, phase: 'directional', done: k + 1, total: count });
    if (r.kink) {
      part.kinks++;
      if (!c.strictKinks) continue;
    }
    part.count++;
    const abs = Math.abs(r.analytic - r.numeric);
    const rel = Number.isFinite(abs) ? abs / Math.max(floor, Math.abs(r.analytic) + Math.abs(r.numeric)) : Infinity;
    if (!(abs <= part.maxAbsError)) part.maxAbsError = Number.isFinite(abs) ? abs : Infinity;
    if (part.worst.direction < 0 || !(rel <= part.relError)) {
      part.relError = Number.isNaN(rel) ? Infinity : rel;
      part.worst = { direction: k, analytic: r.analytic, numeric: r.numeric };
    }
  }
  part.pass = part.relError <= c.threshold;
  return part;
}

function evalDirection(c: InputCheck, u: Float64Array, step0: number, g: Float64Array) {
  let analytic = 0;
  for (let i = 0; i < g.length; i++) analytic += g[i] * u[i];
  let step = step0;
  let r = c.numeric.direction(c.input, u, step);
  for (let t = 0; t < KINK_RETRIES && r.kink; t++) {
    step /= 10;
    r = c.numeric.direction(c.input, u, step);
  }
  return { analytic, numeric: r.value, kink: r.kink, step };
}

/** Check one input as its plan says; localize a failure. */
export function checkInput(c: InputCheck): InputResult {
  const total = c.analytic.length;
  const numeric = new Float64Array(total).fill(NaN);
  const kinks = new Uint8Array(total);
  const noise = new Float64Array(total);
  const evaluated: number[] = [];
  const evaluate = (flat: number, h = c.h) => {
    const r = c.numeric.element(c.input, flat, h, !c.classic);
    numeric[flat] = r.value;
    kinks[flat] = r.kink ? 1 : 0;
    noise[flat] = r.noise;
  };
  const result: InputResult = { mode: c.plan };
  const kept: Float64Array[] | undefined = c.sweep ? [] : undefined;

  /** Evaluate elements in `order` from the start: all of `min`, then more until the deadline. */
  const sample = (order: number[], min: number, phase: GradientProgress['phase']) => {
    for (let k = 0; k < order.length; k++) {
      if (k >= min && performance.now() >= c.deadline) break;
      evaluate(order[k]);
      evaluated.push(order[k]);
      c.onProgress?.({ gradient: c.name, phase, done: k + 1, total: order.length });
    }
  };

  if (c.plan === 'full') {
    for (let i = 0; i < total; i++) {
      evaluate(i);
      evaluated.push(i);
      c.onProgress?.({ gradient: c.name, phase: 'full', done: i + 1, total });
    }
  } else if (c.plan === 'sampled') {
    sample(stratifiedSample(c.shape, c.samples, c.rng('samples')), Infinity, 'sampled');
  } else {
    result.directional = directionalPart(c, c.directions, c.h, kept);
    if (c.plan === 'directional+sampled') {
      sample(stratifiedSample(c.shape, c.samples, c.rng('samples')), 0, 'sampled');
    }
  }
  if (evaluated.length) result.elements = compareElements(c, evaluated, numeric, kinks, noise);

  const failed = (result.elements && !result.elements.pass) || (result.directional && !result.directional.pass);
  const noEvidence = result.directional && result.directional.count === 0 && !result.elements?.checked;
  if ((noEvidence || (failed && c.localize)) && evaluated.length === 0) {
    // Directional failure (or only kinks): locate with sampled elements.
    sample(stratifiedSample(c.shape, c.samples, c.rng('samples')), Math.min(c.samples, FALLBACK_MIN_SAMPLES), 'sampled');
    result.elements = compareElements(c, evaluated, numeric, kinks, noise);
    result.mode = 'directional+sampled';
  }

  const stillFailed = (result.elements && !result.elements.pass) || (result.directional && !result.directional.pass);
  if (stillFailed && c.localize) {
    let probes = 0;
    result.localization = localize({
      name: c.name, input: c.input, shape: c.shape, analytic: c.analytic, numeric, kinks, noise,
      skipKinks: !c.strictKinks, floor: c.floor, threshold: c.threshold, outShape: c.outShape, outNames: c.outNames,
      prober: {
        canAfford: (n) => {
          if (n <= FREE_PROBES - probes) return true;
          const cost = c.numeric.costMs(`element:${c.input}`) ?? Infinity;
          return n * cost <= c.deadline - performance.now();
        },
        probe: (flat) => {
          probes++;
          evaluate(flat);
          c.onProgress?.({ gradient: c.name, phase: 'localize', done: probes, total: probes });
        },
      },
    });
  }

  if (c.sweep) result.sweep = sweepCurve(c, evaluated, kept ?? []);
  return result;
}

/** The row's error at every h of SWEEP_HS, over the same elements and directions. */
function sweepCurve(c: InputCheck, flats: number[], directions: Float64Array[]): SweepCurve {
  const relErrors: number[] = [];
  const g = Float64Array.from(c.analytic);
  const total = SWEEP_HS.length * (flats.length + directions.length);
  let done = 0;
  for (const h of SWEEP_HS) {
    let worst = 0;
    if (flats.length) {
      const numeric = new Float64Array(c.analytic.length).fill(NaN);
      const kinks = new Uint8Array(c.analytic.length);
      // The sweep shows the raw error (noise not discounted): its rounding side is the point.
      const noise = new Float64Array(c.analytic.length);
      for (const i of flats) {
        const r = c.numeric.element(c.input, i, h, !c.classic);
        numeric[i] = r.value;
        kinks[i] = r.kink ? 1 : 0;
        c.onProgress?.({ gradient: c.name, phase: 'sweep', done: ++done, total });
      }
      worst = Math.max(worst, compareElements(c, flats, numeric, kinks, noise).relError);
    }
    if (directions.length) {
      let norm = 0;
      for (let i = 0; i < g.length; i++) norm += g[i] * g[i];
      const floor = c.dtype === 'float32' ? c.floor : Math.max(c.floor, Math.sqrt(norm / g.length));
      for (const u of directions) {
        const r = evalDirection(c, u, h * Math.sqrt(g.length), g);
        c.onProgress?.({ gradient: c.name, phase: 'sweep', done: ++done, total });
        if (r.kink && !c.strictKinks) continue;
        const rel = Math.abs(r.analytic - r.numeric) / Math.max(floor, Math.abs(r.analytic) + Math.abs(r.numeric));
        worst = Math.max(worst, Number.isNaN(rel) ? Infinity : rel);
      }
    }
    relErrors.push(worst);
  }
  let best = 0;
  for (let k = 1; k < relErrors.length; k++) if (relErrors[k] < relErrors[best]) best = k;
  return {
    basis: flats.length && directions.length ? 'elements+directions' : flats.length ? 'elements' : 'directions',
    hs: [...SWEEP_HS],
    relErrors,
    bestH: SWEEP_HS[best],
    bestRelError: relErrors[best],
  };
}
