/**
 * Check modes: how much of a gradient the numeric side evaluates.
 *
 * - `full`: every element, two forward passes each (the cs231n check; quadratic in the layer), on
 *   one sample of a per-sample layer only where that gives the whole batch's numbers bit for bit.
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
 * Element errors. Every mode reports the cs231n relative error. An element (or a direction)
 * fails only when that exceeds the threshold and its absolute error also exceeds the centred
 * difference's own rounding noise (numeric.ts `roundingNoise`): among many elements some are ~0
 * by cancellation, and their relative error is pure rounding (without this, 2-3% of seeds failed
 * a correct conv at the cs231n shapes at 1e-7, and 3e-7 came out for x 4,8,16,16, stride 2,
 * pad 2). Such elements are counted as `withinNoise`.
 *
 * Unresolved elements. Where the step vanishes below the input's resolution (x + h == x) or
 * overflows, or the rounding noise is at least the gradient's own magnitude M = max |analytic|
 * and the numeric value, and the error is within it (the outputs cannot resolve a change of h,
 * as db of a conv at |x| = 1e150), the centred difference says nothing about the layer. Such
 * elements and directions are `unresolved`: neither checked nor failed. A gradient of which
 * nothing was checked (all kinks or unresolved) is `unchecked` (gradcheck.ts).
 *
 * Nothing here reads the clock to decide pass or fail: the budget only limits how many extra
 * samples are taken beyond the deterministic minimum (the directions, and FALLBACK_MIN_SAMPLES
 * samples to locate a failure).
 */
import type { LayerSpec, Params, Shapes } from '../layers/types.js';
import type { CheckMode } from '../settings/schema.js';
import type { Rng } from '../tensor/rng.js';
import { size, unravel, type DType } from '../tensor/tensor.js';
import type { EvaluatedOutputs, NumericSide, NumericValue } from './numeric.js';
import { stratifiedSample } from './strata.js';
import { localize, type Localization } from './localize.js';
import { maxAbs } from './precision.js';

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
/** Step of the dependency probe of a re-measurement, in steps (and at least DEPENDENCY_RELATIVE |x|). */
export const DEPENDENCY_STEP = 1024;
/** Least step of the dependency probe relative to |x|: 2^-30, some 4 million units in the last place of x. */
export const DEPENDENCY_RELATIVE = 2 ** -30;
/** Centred differences that re-measure an element or direction that fails against the modelled noise. */
export const RESAMPLES = 16;
/**
 * Allowance of the resampled mean, in standard errors. Student's t with RESAMPLES - 2 = 14 degrees
 * of freedom exceeds 12 with probability 1e-8; measured over 100 runs each of every normalization
 * at x = 1e4, 1e6 and 1e8 + randn, correct layers first fail at 4 (6 of 100 runs of a naive
 * groupnorm at 1e8: the rounding there has a systematic part), and dx without the mean or the
 * variance path still fails at 32.
 */
export const RESAMPLE_T = 12;
/**
 * A first, cheap stage of a re-measurement: the first centred difference and two more, at
 * f^2 = 0.28 and 1.72. A failure stands at once when their mean misses the analytic by more than
 * the modelled noise plus EARLY_T standard errors (about the line in f^2, one degree of freedom:
 * Student's t exceeds 3e4 with probability 2e-5). A wrong backward misses by 1e6 to 1e10 of them,
 * and at x 32,64,32,32 this saves 28 of 34 forward passes of the whole layer (17 s) per failing
 * check. Its noise is counted over every output the input feeds, as the second stage's.
 */
export const EARLY_T = 3e4;

/** Bytes per element of an input's per-element state in checkInput (memory/work.ts): numeric, noise (float64), kinks, vanished (uint8). */
export const ELEMENT_STATE_BYTES = 8 + 8 + 1 + 1;
/** Arrays of an input's size a directional check holds besides its kept directions: the gradient's copy, the plus point, the step taken (`along`). */
export const DIRECTION_COPIES = 3;
/** Outputs a re-measurement holds at once (memory/work.ts): plus and minus of the dependency probe and of every resample (resample). */
export const REMEASURED_OUTPUTS = 2 * (RESAMPLES + 1);

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
  /** Directions whose relative error exceeds the threshold but whose absolute error is within rounding noise. */
  withinNoise: number;
  /** Directions the step could not resolve (left out, see the module comment). */
  unresolved: number;
  /** Of those, directions along which no element moved (x + s u == x) or one overflowed. */
  vanished: number;
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
  /** Elements the step could not resolve (left out, see the module comment). */
  unresolved: number;
  /** Of those, elements where x + h == x or x +- h overflowed. */
  vanished: number;
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

/** Per-element state of the numeric side of one input. */
interface Evaluated {
  numeric: Float64Array;
  kinks: Uint8Array;
  noise: Float64Array;
  /** 1 where the step vanished or overflowed (numeric.ts `unresolved`). */
  vanished: Uint8Array;
}

/**
 * True when a centred difference says nothing: its noise reaches the scale of what it should
 * measure (the gradient's magnitude and the value itself) and the error is within that noise. An
 * error beyond even such a noise is still evidence, and is still compared.
 */
function beyondResolution(noise: number, analytic: number, numeric: number, magnitude: number): boolean {
  return noise > 0 && noise >= Math.max(magnitude, Math.abs(numeric)) && Math.abs(analytic - numeric) <= noise;
}

/**
 * Compare the analytic gradient with the numeric values at `flats` (every element for a full check).
 * relError is the cs231n relative error. An element fails when that exceeds the threshold AND its
 * absolute error exceeds the centred difference's own rounding noise (numeric.ts roundingNoise):
 * among many elements some are ~0 by cancellation, and their relative error is pure rounding.
 * Unresolved elements are left out. The worst element shown is the worst failing one when any
 * fails, else the worst overall.
 */
function compareElements(c: InputCheck, flats: readonly number[], ev: Evaluated, magnitude: number): ElementPart {
  const { numeric, kinks, noise } = ev;
  let relError = 0;
  let maxAbsError = 0;
  let worstFlat = -1;
  let worstFailing = -1;
  let worstFailingRel = 0;
  let nonFinite = 0;
  let kinkCount = 0;
  let checked = 0;
  let withinNoise = 0;
  let unresolved = 0;
  let vanished = 0;
  for (const i of flats) {
    if (ev.vanished[i]) {
      unresolved++;
      vanished++;
      continue;
    }
    if (kinks[i]) {
      kinkCount++;
      if (!c.strictKinks) continue;
    }
    const a = c.analytic[i];
    const n = numeric[i];
    if (Number.isFinite(a) && Number.isFinite(n) && beyondResolution(noise[i], a, n, magnitude)) {
      unresolved++;
      continue;
    }
    checked++;
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
  const worst =
    shown < 0
      ? { index: [] as number[], analytic: NaN, numeric: NaN }
      : { index: unravel(shown, c.shape), analytic: c.analytic[shown], numeric: numeric[shown] };
  return {
    relError,
    maxAbsError,
    worst,
    kinks: kinkCount,
    checked,
    nonFinite,
    withinNoise,
    unresolved,
    vanished,
    pass: nonFinite === 0 && worstFailing < 0,
  };
}

/** One direction as measured: where it went, at which step, and what the two sides said. */
interface DirectionRecord {
  u: Float64Array;
  step: number;
  analytic: number;
  numeric: number;
  noise: number;
  kink: boolean;
  unresolved: boolean;
}

/** The directions of one input and the scales their errors are measured against. */
interface Directions {
  records: DirectionRecord[];
  g: Float64Array;
  /** ||grad||_2 / sqrt(D), the typical |<grad, u>|. */
  typical: number;
  /** Denominator floor of a direction's relative error. */
  floor: number;
  step0: number;
}

/** Measure `count` random directions of one input; `keep` collects them for a sweep. */
function measureDirections(c: InputCheck, count: number, h: number, keep?: Float64Array[]): Directions {
  const D = c.analytic.length;
  const g = Float64Array.from(c.analytic);
  let norm = 0;
  for (let i = 0; i < D; i++) norm += g[i] * g[i];
  const typical = Math.sqrt(norm / Math.max(1, D));
  const floor = c.dtype === 'float32' ? c.floor : Math.max(c.floor, typical);
  const step0 = h * Math.sqrt(D);
  const rng = c.rng('directions');
  const records: DirectionRecord[] = [];
  let step = step0;
  for (let k = 0; k < count; k++) {
    const u = unitDirection(rng, D);
    keep?.push(u);
    const r = evalDirection(c, u, step, g);
    // A step that had to shrink past a kink will have to again: start the next direction there.
    step = r.step;
    records.push({ u, ...r });
    c.onProgress?.({ gradient: c.name, phase: 'directional', done: k + 1, total: count });
  }
  return { records, g, typical, floor, step0 };
}

/** True when a direction fails against its modelled noise and was not re-measured yet. */
function suspectDirection(c: InputCheck, d: Directions, r: DirectionRecord): boolean {
  return !r.unresolved && !(r.kink && !c.strictKinks) && suspect(c, r.analytic, r.numeric, r.noise, d.floor);
}

/** Re-measure direction `r` (`resample`); true when its failure stands. */
function remeasureDirection(c: InputCheck, d: Directions, r: DirectionRecord): boolean {
  const m = resample(
    c.numeric,
    { analytic: r.analytic, value: r.numeric, noise: r.noise },
    (f) => {
      const q = c.numeric.direction(c.input, r.u, r.step * f, true);
      return { ...q, analytic: along(d.g, q, r.u) };
    },
    () => c.numeric.direction(c.input, r.u, r.step * DEPENDENCY_STEP, true),
  );
  if (m.unresolved || m.kink) {
    r.unresolved = m.unresolved;
    r.kink = m.kink;
    r.numeric = NaN;
    return false;
  }
  r.analytic = m.analytic;
  r.numeric = m.numeric;
  r.noise = m.noise;
  return suspect(c, r.analytic, r.numeric, r.noise, d.floor);
}

/** The directional part of a row from its measured directions. */
function directionalPart(c: InputCheck, d: Directions): DirectionalPart {
  const part: DirectionalPart = {
    count: 0,
    kinks: 0,
    relError: 0,
    maxAbsError: 0,
    worst: { direction: -1, analytic: NaN, numeric: NaN },
    step: d.records.at(-1)?.step ?? d.step0,
    withinNoise: 0,
    unresolved: 0,
    vanished: 0,
    pass: true,
  };
  let worstFailingRel = -1;
  let worstRel = -1;
  d.records.forEach((r, k) => {
    if (r.unresolved || (Number.isFinite(r.analytic) && Number.isFinite(r.numeric) && beyondResolution(r.noise, r.analytic, r.numeric, d.typical))) {
      part.unresolved++;
      if (r.unresolved) part.vanished++;
      return;
    }
    if (r.kink) {
      part.kinks++;
      if (!c.strictKinks) return;
    }
    part.count++;
    const abs = Math.abs(r.analytic - r.numeric);
    const rel = Number.isFinite(abs) ? abs / Math.max(d.floor, Math.abs(r.analytic) + Math.abs(r.numeric)) : Infinity;
    if (!(abs <= part.maxAbsError)) part.maxAbsError = Number.isFinite(abs) ? abs : Infinity;
    if (!(rel <= part.relError)) part.relError = rel;
    const failing = !(rel <= c.threshold) && !(abs <= r.noise);
    if (!failing && rel > c.threshold) part.withinNoise++;
    // The worst direction shown is the worst failing one when any fails, else the worst overall.
    if (failing ? rel > worstFailingRel : worstFailingRel < 0 && (part.worst.direction < 0 || rel > worstRel)) {
      part.worst = { direction: k, analytic: r.analytic, numeric: r.numeric };
      worstRel = rel;
      if (failing) worstFailingRel = rel;
    }
  });
  part.pass = worstFailingRel < 0;
  return part;
}

/** The analytic derivative along the perturbation float64 applied (u up to rounding). */
function along(g: Float64Array, r: NumericValue, u: Float64Array): number {
  const a = r.along ?? u;
  let analytic = 0;
  for (let i = 0; i < g.length; i++) analytic += g[i] * a[i];
  return analytic;
}

/** One direction at `step0`, retried with smaller steps across a kink. */
function evalDirection(c: InputCheck, u: Float64Array, step0: number, g: Float64Array) {
  let step = step0;
  let r = c.numeric.direction(c.input, u, step);
  for (let t = 0; t < KINK_RETRIES && r.kink; t++) {
    step /= 10;
    r = c.numeric.direction(c.input, u, step);
  }
  return { analytic: along(g, r, u), numeric: r.value, kink: r.kink, noise: r.noise, unresolved: r.unresolved ?? false, step };
}

/** Per input: once a failure survived re-measuring, later suspects are not re-measured (the row fails anyway). */
interface Resampling {
  confirmed: boolean;
}

/** True when a comparison fails against the modelled noise: relative error above the threshold, absolute error above the noise. */
function suspect(c: InputCheck, analytic: number, numeric: number, noise: number, floor: number): boolean {
  if (!Number.isFinite(analytic) || !Number.isFinite(numeric)) return false;
  const abs = Math.abs(analytic - numeric);
  return abs > noise && abs / Math.max(floor, c.floor, Math.abs(analytic) + Math.abs(numeric)) > c.threshold;
}

/** f_j^2 of re-measurement j: 0.1 + 1.8 (j + 1/2) / RESAMPLES, evenly spread with mean 1. */
function factorSquared(j: number): number {
  return 0.1 + (1.8 * (j + 0.5)) / RESAMPLES;
}

/**
 * Re-measure a centred difference that fails against the modelled noise. First the cheap stage
 * (EARLY_T): a failure far beyond the spread of three centred differences stands. Else RESAMPLES evaluations at
 * steps f_j * step with f_j^2 = 0.1 + 1.8 (j + 1/2) / RESAMPLES (f from 0.40 to 1.36; the mean of
 * f^2 is 1, so the mean keeps the step's own truncation error, which goes like step^2). Their
 * mean is the numeric value and the analytic side is averaged the same way (directions: each
 * step's realized direction); the noise becomes the largest modelled one, counted over every
 * output that depends on the input (numeric.ts `dependent`: moved by one of the steps or by a
 * DEPENDENCY_STEP times larger one; at x = 1e11 a step of 1e-5 is one ulp of x and moves one output
 * of the 18 it feeds), plus RESAMPLE_T standard errors of the mean of analytic - numeric: the
 * rounding the forward actually shows here, measured. This is what covers rounding inside a layer
 * that is larger than its outputs, as the cancellation in x - mean of a normalization at
 * |x| = 1e8, whose error is u |x|, not u |out| (the model of numeric.ts). The steps must spread
 * widely and keep the spread's meaning: within +-23% of h (even with every input also moved by its
 * own rounding) a naive groupnorm at 1e8 + randn rounded the sum of its mean (6e9) alike at every
 * step, and the mean of the re-measurements missed a correct gradient by 3.5 to 5 standard errors
 * in every element; inputs moved by their own rounding alone left the fast kernel's mean rounded
 * identically (a spread of 1e-11 against an error of 1e-7). A step that vanishes
 * (x + f h == x: h is within a factor 2.5 of the input's resolution) makes the measurement
 * unresolved, and one across a kink makes the element a kink.
 */
function resample(
  side: NumericSide,
  first: { analytic: number; value: number; noise: number },
  at: (factor: number) => NumericValue & { analytic: number },
  wide: () => NumericValue,
): Remeasured {
  // The outputs a much larger step moves depend on the input, whether the steps below move them or not.
  const probe = wide().outputs;
  let dependent: Uint8Array | undefined;
  if (probe) {
    dependent = new Uint8Array(probe.plus.length);
    for (let k = 0; k < probe.plus.length; k++) if (probe.plus[k] !== probe.minus[k]) dependent[k] = 1;
  }
  // The cheap stage: a wrong backward is told from noise by three centred differences.
  const early = [{ f2: 1, ...first }];
  for (const f2 of [0.28, 1.72]) {
    const r = at(Math.sqrt(f2));
    if (r.unresolved || r.kink || !r.outputs) return { analytic: NaN, numeric: NaN, noise: 0, unresolved: !!r.unresolved || !r.outputs, kink: r.kink };
    early.push({ f2, analytic: r.analytic, value: r.value, noise: dependent ? side.noiseOver(r.outputs, dependent) : r.noise });
  }
  const e = lineSpread(
    early.map((r) => r.f2),
    early.map((r) => r.analytic - r.value),
  );
  const eNoise = Math.max(...early.map((r) => r.noise)) + (EARLY_T * e.sd) / Math.sqrt(early.length);
  if (Math.abs(e.mean) > eNoise) {
    const mean = (k: 'analytic' | 'value') => early.reduce((t, r) => t + r[k], 0) / early.length;
    return { analytic: mean('analytic'), numeric: mean('value'), noise: eNoise, unresolved: false, kink: false };
  }
  const K = RESAMPLES;
  let sa = 0;
  let sn = 0;
  const diffs: number[] = [];
  const kept: EvaluatedOutputs[] = [];
  for (let j = 0; j < K; j++) {
    const r = at(Math.sqrt(factorSquared(j)));
    // A step within a factor 2.5 of vanishing is at the input's resolution; one across a kink is near a kink.
    if (r.unresolved || r.kink || !r.outputs) return { analytic: NaN, numeric: NaN, noise: 0, unresolved: !!r.unresolved || !r.outputs, kink: r.kink };
    sa += r.analytic;
    sn += r.value;
    diffs.push(r.analytic - r.value);
    const o = r.outputs;
    kept.push(o);
    dependent ??= new Uint8Array(o.plus.length);
    for (let k = 0; k < o.plus.length; k++) if (o.plus[k] !== o.minus[k]) dependent[k] = 1;
  }
  // An output that moved at any step depends on the input: where it did not move, its change was rounded away.
  let noise = 0;
  for (const o of kept) noise = Math.max(noise, side.noiseOver(o, dependent!));
  const { sd } = lineSpread(
    Array.from({ length: K }, (_, j) => factorSquared(j)),
    diffs,
  );
  return { analytic: sa / K, numeric: sn / K, noise: noise + (RESAMPLE_T * sd) / Math.sqrt(K), unresolved: false, kink: false };
}

/** What a re-measurement found (numeric NaN when unresolved or a kink). */
interface Remeasured {
  analytic: number;
  numeric: number;
  noise: number;
  unresolved: boolean;
  kink: boolean;
}

/**
 * Mean of `d` and its standard deviation about the least-squares line in `x` (n - 2 degrees of
 * freedom). NOTE: about a line in f^2, so that truncation error (a smooth c f^2, large at a large h)
 * is not taken for rounding noise; where the mean of x is 1, the line's value there is the mean.
 */
function lineSpread(x: number[], d: number[]): { mean: number; sd: number } {
  const n = d.length;
  const mx = x.reduce((t, v) => t + v, 0) / n;
  const mean = d.reduce((t, v) => t + v, 0) / n;
  let sxy = 0;
  let sxx = 0;
  for (let j = 0; j < n; j++) {
    sxy += (x[j] - mx) * (d[j] - mean);
    sxx += (x[j] - mx) ** 2;
  }
  const slope = sxy / sxx;
  let ss = 0;
  for (let j = 0; j < n; j++) ss += (d[j] - mean - slope * (x[j] - mx)) ** 2;
  return { mean, sd: Math.sqrt(ss / (n - 2)) };
}

/** Elements whose forward passes an implementation with forwardMany runs in one call (numeric.ts `prefetch`). */
export const PREFETCH_ELEMENTS = 32;
/** ... unless their inputs would take more than this many bytes (two copies of the inputs per element). */
export const PREFETCH_BYTES = 32 * 2 ** 20;

/** How many elements to evaluate ahead at once when the layer's inputs take `inputBytes` (in float64). */
export function prefetchElements(inputBytes: number): number {
  return Math.max(1, Math.min(PREFETCH_ELEMENTS, Math.floor(PREFETCH_BYTES / Math.max(1, 2 * inputBytes))));
}

/** How many elements of `c` to evaluate ahead at once. */
function prefetchCount(c: InputCheck): number {
  let bytes = 0;
  for (const t of Object.values(c.numeric.inputs)) bytes += 8 * t.data.length;
  return prefetchElements(bytes);
}

/** [from, to) as an array. */
function range(from: number, to: number): number[] {
  return Array.from({ length: Math.max(0, to - from) }, (_, k) => from + k);
}

/** Check one input as its plan says; localize a failure. */
export function checkInput(c: InputCheck): InputResult {
  const total = c.analytic.length;
  const numeric = new Float64Array(total).fill(NaN);
  const kinks = new Uint8Array(total);
  const noise = new Float64Array(total);
  const ev: Evaluated = { numeric, kinks, noise, vanished: new Uint8Array(total) };
  const magnitude = maxAbs(c.analytic);
  const evaluated: number[] = [];
  const rs: Resampling = { confirmed: false };
  const evaluate = (flat: number, h = c.h) => {
    const r = c.numeric.element(c.input, flat, h);
    numeric[flat] = r.value;
    kinks[flat] = r.kink ? 1 : 0;
    noise[flat] = r.noise;
    ev.vanished[flat] = r.unresolved ? 1 : 0;
    const a = c.analytic[flat];
    if (!rs.confirmed && !r.unresolved && !r.kink && suspect(c, a, r.value, r.noise, 0)) {
      const x = Math.abs(c.numeric.inputs[c.input].data[flat]);
      const m = resample(
        c.numeric,
        { analytic: a, value: r.value, noise: r.noise },
        (f) => ({ ...c.numeric.element(c.input, flat, h * f, true, true), analytic: a }),
        () => c.numeric.element(c.input, flat, Math.max(h * DEPENDENCY_STEP, x * DEPENDENCY_RELATIVE), true, true),
      );
      if (m.unresolved) {
        numeric[flat] = NaN;
        ev.vanished[flat] = 1;
      } else if (m.kink) {
        kinks[flat] = 1;
      } else {
        numeric[flat] = m.numeric;
        noise[flat] = m.noise;
        if (suspect(c, a, m.numeric, m.noise, 0)) rs.confirmed = true;
      }
    }
  };
  const result: InputResult = { mode: c.plan };
  const kept: Float64Array[] | undefined = c.sweep ? [] : undefined;

  /** Evaluate elements in `order` from the start: all of `min`, then more until the deadline. */
  const sample = (order: number[], min: number, phase: GradientProgress['phase']) => {
    const ahead = prefetchCount(c);
    for (let k = 0; k < order.length; k++) {
      if (k >= min && performance.now() >= c.deadline) break;
      // Only elements that will be evaluated whatever the clock says are evaluated ahead.
      if (k % ahead === 0 && k < min) c.numeric.prefetch(c.input, order.slice(k, Math.min(order.length, min, k + ahead)), c.h);
      evaluate(order[k]);
      evaluated.push(order[k]);
      c.onProgress?.({ gradient: c.name, phase, done: k + 1, total: order.length });
    }
  };

  if (c.plan === 'full') {
    const ahead = prefetchCount(c);
    for (let i = 0; i < total; i++) {
      if (i % ahead === 0) c.numeric.prefetch(c.input, range(i, Math.min(total, i + ahead)), c.h);
      evaluate(i);
      evaluated.push(i);
      c.onProgress?.({ gradient: c.name, phase: 'full', done: i + 1, total });
    }
  } else if (c.plan === 'sampled') {
    sample(stratifiedSample(c.shape, c.samples, c.rng('samples')), Infinity, 'sampled');
  } else {
    const dirs = measureDirections(c, c.directions, c.h, kept);
    if (c.plan === 'directional+sampled') {
      sample(stratifiedSample(c.shape, c.samples, c.rng('samples')), 0, 'sampled');
    }
    // PERF: re-measuring a direction costs 34 forward passes of the whole layer (20 s at
    // x 32,64,32,32). Elements re-measure on one sample; so a suspect direction is re-measured
    // only when no element has confirmed a failure first (a failing directional check samples
    // elements anyway to say where the error is).
    if (dirs.records.some((r) => suspectDirection(c, dirs, r))) {
      if (evaluated.length === 0 && c.localize) {
        sample(stratifiedSample(c.shape, c.samples, c.rng('samples')), Math.min(c.samples, FALLBACK_MIN_SAMPLES), 'sampled');
        result.mode = 'directional+sampled';
      }
      for (const r of dirs.records) {
        if (rs.confirmed) break;
        if (suspectDirection(c, dirs, r) && remeasureDirection(c, dirs, r)) rs.confirmed = true;
      }
    }
    result.directional = directionalPart(c, dirs);
  }
  if (evaluated.length) result.elements = compareElements(c, evaluated, ev, magnitude);

  const failed = (result.elements && !result.elements.pass) || (result.directional && !result.directional.pass);
  const noEvidence = result.directional && result.directional.count === 0 && !result.elements?.checked;
  if ((noEvidence || (failed && c.localize)) && evaluated.length === 0) {
    // Directional failure (or only kinks): locate with sampled elements.
    sample(stratifiedSample(c.shape, c.samples, c.rng('samples')), Math.min(c.samples, FALLBACK_MIN_SAMPLES), 'sampled');
    result.elements = compareElements(c, evaluated, ev, magnitude);
    result.mode = 'directional+sampled';
  }

  const stillFailed = (result.elements && !result.elements.pass) || (result.directional && !result.directional.pass);
  if (stillFailed && c.localize) {
    let probes = 0;
    result.localization = localize({
      name: c.name,
      input: c.input,
      shape: c.shape,
      analytic: c.analytic,
      numeric,
      kinks,
      noise,
      skipKinks: !c.strictKinks,
      floor: c.floor,
      threshold: c.threshold,
      outShape: c.outShape,
      outNames: c.outNames,
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

  if (c.sweep) result.sweep = sweepCurve(c, evaluated, kept ?? [], magnitude);
  return result;
}

/** The row's error at every h of SWEEP_HS, over the same elements and directions. */
function sweepCurve(c: InputCheck, flats: number[], directions: Float64Array[], magnitude: number): SweepCurve {
  const relErrors: number[] = [];
  const g = Float64Array.from(c.analytic);
  const total = SWEEP_HS.length * (flats.length + directions.length);
  let done = 0;
  for (const h of SWEEP_HS) {
    let worst = 0;
    if (flats.length) {
      const D = c.analytic.length;
      // The sweep shows the raw error (noise not discounted): its rounding side is the point;
      // only steps float64 cannot take at all are left out.
      const ev: Evaluated = { numeric: new Float64Array(D).fill(NaN), kinks: new Uint8Array(D), noise: new Float64Array(D), vanished: new Uint8Array(D) };
      for (const i of flats) {
        const r = c.numeric.element(c.input, i, h);
        ev.numeric[i] = r.value;
        ev.kinks[i] = r.kink ? 1 : 0;
        ev.vanished[i] = r.unresolved ? 1 : 0;
        c.onProgress?.({ gradient: c.name, phase: 'sweep', done: ++done, total });
      }
      worst = Math.max(worst, compareElements(c, flats, ev, magnitude).relError);
    }
    if (directions.length) {
      let norm = 0;
      for (let i = 0; i < g.length; i++) norm += g[i] * g[i];
      const floor = c.dtype === 'float32' ? c.floor : Math.max(c.floor, Math.sqrt(norm / g.length));
      for (const u of directions) {
        const r = evalDirection(c, u, h * Math.sqrt(g.length), g);
        c.onProgress?.({ gradient: c.name, phase: 'sweep', done: ++done, total });
        if (r.unresolved || (r.kink && !c.strictKinks)) continue;
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
