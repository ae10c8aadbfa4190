/**
 * One complete check of a layer, as the layer commands run it: resolve shapes, generate
 * (or take) inputs, gradient-check every implementation, and time them. Returns plain data.
 *
 * The default mode is `auto` (modes.ts): a full check at small shapes, directions plus sampled
 * elements within `budget` seconds otherwise. At those larger shapes auto checks only the fast
 * implementation when the layer has one: the naive one is the same loops at every size, checked
 * in full at small shapes, and at x 32,64,32,32 a single naive conv forward and backward take
 * ~25 s. Explicit modes check every implementation, with the fast forward on the numeric side,
 * so the naive implementation's own forward and backward are its only naive cost.
 *
 * Implementations from outside the registry (a user's module, `--impl`) are checked after the
 * built-in ones: first compared with the reference (naive, float64; fast where auto mode would
 * not check naive in full) on the same inputs and dout,
 * which also finds a module that throws, hangs or returns the wrong shapes before any numeric
 * work, then gradient-checked (outside a full check, or when the module computes in float32, the
 * numeric side runs the reference's fast forward when the module's forward agrees with it, as for
 * the naive implementation), then timed.
 */
import { formatShape, sameShape, size, toDType, type DType, type Tensor } from '../tensor/tensor.js';
import { ShapeError } from '../errors.js';
import { XoshiroRng, type Rng } from '../tensor/rng.js';
import type { ImplName, LayerSpec, Params, Shapes } from '../layers/types.js';
import { generateInput, resolveShapes } from '../layers/params.js';
import { summarize, timePasses, type PassTimings } from '../bench/timing.js';
import { compareArrays, REL_ERROR_FLOOR } from '../tensor/compare.js';
import { COMPARE_TOLERANCE, type ArrayReport } from '../fixtures/compare.js';
import type { LayerImpl } from '../layers/types.js';
import { DEFAULT_H, gradCheck, randomDout, type GradientRow } from './gradcheck.js';
import { DEFAULT_BUDGET_SECONDS, autoIsFull, forwardWork, type CheckMode, type GradientProgress } from './modes.js';
import { computedDType } from './precision.js';

/** Share of each implementation's budget kept for the timing table. */
export const TIMING_BUDGET_FRACTION = 0.2;

/** Progress of a layer check: a gradient of one implementation. */
export interface CheckProgress extends GradientProgress {
  /** `naive`, `fast`, or an extra implementation's name. */
  impl: string;
}

/** Default seed of generated inputs (printed with every report so a run can be repeated). */
export const DEFAULT_SEED = 231;

export interface CheckLayerOptions {
  params: Params;
  /** Shapes the user set; the rest take the layer's defaults or are derived. */
  shapes?: Shapes;
  /** Inputs loaded from files; generated from the seed when absent. */
  inputs?: Record<string, Tensor>;
  /** Upstream gradient; random from the seed when absent. */
  dout?: Tensor;
  seed?: number;
  /** Generator for inputs and dout; xoshiro128** seeded with `seed` when absent. */
  rng?: Rng;
  h?: number;
  maxError?: number;
  strictKinks?: boolean;
  /** Implementations to check and time (default: every one the layer has). */
  impls?: ImplName[];
  /** Timing repeats (0 skips the timing table). */
  repeat?: number;
  warmup?: number;
  /** How much of each gradient to evaluate (default `auto`). */
  mode?: CheckMode;
  /** Elements per input of sampled checks (default 128). */
  samples?: number;
  /** Directions per input (default 4; auto: 2). */
  directions?: number;
  /** Seconds for optional work: auto's samples, localization probes, timing runs (default 10). */
  budget?: number;
  /** Run the layer in this dtype (default float64); see precision.ts for float32. */
  dtype?: DType;
  /** Evaluate every gradient's error over h = 1e-2 ... 1e-9 too. */
  hSweep?: boolean;
  /** Called as the numeric side advances. */
  onProgress?: (p: CheckProgress) => void;
  /** Implementations from outside the registry to check, compare with the reference and time too. */
  extraImpls?: ExtraImpl[];
}

/**
 * An implementation from outside the registry, such as a user's module (`--impl`). Errors its
 * forward or backward throw are failures of the check, reported with their message.
 */
export interface ExtraImpl {
  /** Its name in the rows and the timing table: `user`. */
  name: string;
  impl: LayerImpl;
  /** Where it came from (a path), for the report. */
  source?: string;
  /**
   * Milliseconds of its last forward or backward call as measured where it ran, for the timing
   * table (a worker bridge's copying excluded); the wall clock around the call when absent.
   */
  lastCallMs?: () => number;
}

/** A gradient row tagged with the implementation it belongs to. */
export interface ImplGradientRow extends GradientRow {
  /** `naive`, `fast`, or an extra implementation's name. */
  impl: string;
}

export interface TimingRow extends PassTimings {
  impl: string;
}

/**
 * An implementation's forward and backward against the reference (computed in float64) on the
 * check's inputs and dout: `out`, the updated state as `<name>_after`, and every gradient,
 * judged as `compare` judges fixture arrays (COMPARE_TOLERANCE; `worst.actual` is the implementation's).
 */
export interface ReferenceComparison {
  impl: string;
  source?: string;
  /**
   * The reference: the naive loops, or at shapes where auto mode would not check them in full
   * the fast implementation (tested against the naive one; at x 32,64,32,32 the naive conv takes 12 s).
   */
  reference: ImplName;
  pass: boolean;
  arrays: ArrayReport[];
}

/** The report of a layer command (also its `--json` document). */
export interface LayerCheckReport {
  layer: string;
  params: Params;
  shapes: Shapes;
  dtype: DType;
  seed: number;
  h: number;
  /** The check mode asked for (each gradient row says how it was checked). */
  mode: CheckMode;
  /** The time budget in seconds. */
  budget: number;
  pass: boolean;
  gradients: ImplGradientRow[];
  /** Problems that fail the check as a whole (NaN/Inf, a throwing layer). */
  problems: string[];
  /** How the check ran, when it is not the obvious (an implementation skipped, the numeric side's forward). */
  notes: string[];
  timing: TimingRow[];
  /** Extra implementations compared with the reference (present when there are any). */
  comparisons?: ReferenceComparison[];
}

/** An error thrown by an extra implementation's own forward or backward, as opposed to a bug of the checker. */
class ImplCallError extends Error {
  constructor(err: unknown) {
    super(err instanceof Error ? err.message : String(err), { cause: err });
  }
}

/** Milliseconds of an implementation's last forward and backward call. */
interface LastCalls {
  forwardMs: number;
  backwardMs: number;
}

/**
 * An extra implementation with every error of its calls wrapped in ImplCallError, and the time of
 * its last forward and backward in `last` (its own clock when it has one, else the wall clock here).
 */
function guarded(extra: ExtraImpl): { impl: LayerImpl; last: LastCalls } {
  const last: LastCalls = { forwardMs: NaN, backwardMs: NaN };
  const call = <T>(f: () => T, which: keyof LastCalls): T => {
    const t0 = performance.now();
    let value: T;
    try {
      value = f();
    } catch (err) {
      throw err instanceof ImplCallError ? err : new ImplCallError(err);
    }
    last[which] = extra.lastCallMs?.() ?? performance.now() - t0;
    return value;
  };
  return {
    impl: {
      forward: (inputs, params) => call(() => extra.impl.forward(inputs, params), 'forwardMs'),
      backward: (dout, cache) => call(() => extra.impl.backward(dout, cache), 'backwardMs'),
    },
    last,
  };
}

function inFloat64(t: Tensor): Tensor {
  return t.data instanceof Float64Array ? t : toDType(t, 'float64');
}

/**
 * One array of an implementation against the reference's; `missing` is the message when the
 * implementation gave none; `computed` float32 when the implementation computes in float32
 * whatever arrays it returns (precision.ts computedDType).
 */
function compareToReference(name: string, actual: Tensor | undefined, expected: Tensor, missing: string, computed: DType = 'float64'): ArrayReport {
  if (!actual) return failedArray(name, missing);
  const dtype = actual.data instanceof Float32Array || computed === 'float32' ? 'float32' : 'float64';
  const tol = COMPARE_TOLERANCE[dtype];
  const base = { name, dtype, threshold: tol.threshold };
  if (!sameShape(actual.shape, expected.shape)) {
    return { ...base, relError: Infinity, maxAbsError: Infinity, worst: null, pass: false, message: `${name} must have the reference's shape ${formatShape(expected.shape)}, got ${formatShape(actual.shape)}` };
  }
  let largest = 0;
  for (let i = 0; i < expected.data.length; i++) largest = Math.max(largest, Math.abs(expected.data[i]));
  const cmp = compareArrays(actual.data, expected.data, expected.shape, undefined, Math.max(REL_ERROR_FLOOR, tol.floorScale * largest));
  const row: ArrayReport = {
    ...base, relError: cmp.relError, maxAbsError: cmp.maxAbsError,
    worst: { index: cmp.worst.index, expected: cmp.worst.expected, actual: cmp.worst.actual },
    pass: cmp.nonFinite === 0 && cmp.relError <= tol.threshold,
  };
  if (cmp.nonFinite) row.message = `${cmp.nonFinite} NaN/Inf value(s), first at (${cmp.worst.index.join(', ')})`;
  return row;
}

function failedArray(name: string, message: string): ArrayReport {
  return { name, dtype: '-', relError: Infinity, maxAbsError: Infinity, worst: null, threshold: COMPARE_TOLERANCE.float64.threshold, pass: false, message };
}

/** What comparing an implementation with the reference found. */
export interface ReferenceComparisonResult {
  arrays: ArrayReport[];
  /** Why the implementation cannot be gradient-checked: a call failed, or out has the wrong shape. */
  failure?: string;
}

/**
 * Run `impl` and the reference (default naive; computed in float64) forward on `inputs` and
 * backward on `dout` (the output's shape) and compare out, the state and every gradient. Errors
 * of `impl`'s calls become failed rows and `failure`; `isImplError` tells `impl`'s errors from
 * others, which propagate (every error is `impl`'s by default).
 */
export function compareWithReference(
  spec: LayerSpec, impl: LayerImpl, inputs: Record<string, Tensor>, params: Params, dout: Tensor,
  opts: { isImplError?: (err: unknown) => boolean; reference?: ImplName } = {},
): ReferenceComparisonResult {
  const ref = spec.impls[opts.reference ?? 'naive'] ?? spec.impls.naive;
  const isImplError = opts.isImplError ?? (() => true);
  const inputs64: Record<string, Tensor> = {};
  for (const [k, t] of Object.entries(inputs)) inputs64[k] = inFloat64(t);
  const refFwd = ref.forward(inputs64, params);
  const refGrads = ref.backward(inFloat64(dout), refFwd.cache);
  const stateNames = Object.keys(refFwd.state ?? {});
  const gradNames = Object.keys(refGrads);
  const call = <T>(f: () => T): T | { error: string } => {
    try {
      return f();
    } catch (err) {
      if (!isImplError(err)) throw err;
      return { error: (err as Error)?.message ?? String(err) };
    }
  };
  const fwd = call(() => impl.forward(inputs, params));
  if ('error' in fwd) {
    return {
      arrays: [failedArray('out', fwd.error), ...[...stateNames.map((k) => `${k}_after`), ...gradNames].map((n) => failedArray(n, 'not compared: forward failed'))],
      failure: fwd.error,
    };
  }
  // NOTE: a module that rounds to float32 inside is held to float32's tolerance whatever arrays it returns.
  const computed = computedDType(fwd.out.data, inputs);
  const arrays = [compareToReference('out', fwd.out, refFwd.out, 'forward returned no out', computed)];
  for (const k of stateNames) arrays.push(compareToReference(`${k}_after`, fwd.state?.[k], refFwd.state![k], `forward returned no state.${k} (the updated ${k})`, computed));
  if (!sameShape(fwd.out.shape, refFwd.out.shape)) {
    arrays.push(...gradNames.map((n) => failedArray(n, 'not compared: out has the wrong shape')));
    return { arrays, failure: `forward's out has shape ${formatShape(fwd.out.shape)}, expected the reference's ${formatShape(refFwd.out.shape)}` };
  }
  const grads = call(() => impl.backward(dout, fwd.cache));
  if ('error' in grads) {
    arrays.push(...gradNames.map((n, k) => failedArray(n, k === 0 ? (grads.error as string) : 'not compared: backward failed')));
    return { arrays, failure: grads.error as string };
  }
  for (const k of gradNames) arrays.push(compareToReference(k, grads[k], refGrads[k], `backward returned no ${k}`, computed));
  return { arrays };
}

/** Time a guarded extra implementation: as timePasses, reading each call's time from `last`. */
function timeExtra(impl: LayerImpl, last: LastCalls, inputs: Record<string, Tensor>, params: Params, dout: Tensor, warmup: number, repeat: number): PassTimings {
  const fwd: number[] = [];
  const bwd: number[] = [];
  for (let r = 0; r < warmup + repeat; r++) {
    impl.backward(dout, impl.forward(inputs, params).cache);
    if (r >= warmup) {
      fwd.push(last.forwardMs);
      bwd.push(last.backwardMs);
    }
  }
  return { forwardMs: summarize(fwd), backwardMs: summarize(bwd) };
}

/** Validate, generate, check and time one layer. Throws CnnCheckError on bad shapes/params. */
export function checkLayer(spec: LayerSpec, opts: CheckLayerOptions): LayerCheckReport {
  const seed = opts.seed ?? DEFAULT_SEED;
  const rng = opts.rng ?? new XoshiroRng(seed);
  const given: Shapes = { ...(opts.shapes ?? {}) };
  for (const [name, t] of Object.entries(opts.inputs ?? {})) given[name] = t.shape;
  const shapes = resolveShapes(spec, given, opts.params);
  spec.check(shapes, opts.params);
  const dtype = opts.dtype ?? 'float64';
  const inputs: Record<string, Tensor> = {};
  for (const input of spec.inputs) {
    const t = opts.inputs?.[input.name] ?? generateInput(input, shapes[input.name], rng);
    // NOTE: drawn (or loaded) as always, then converted: a float32 check sees the same draws.
    inputs[input.name] = (t.data instanceof Float32Array) === (dtype === 'float32') ? t : toDType(t, dtype);
  }
  if (opts.dout) {
    // A loaded dout must match the output: a mismatch is the user's input error, not a failed check.
    const outShape = (spec.impls.fast ?? spec.impls.naive).forward(inputs, opts.params).out.shape;
    if (!sameShape(opts.dout.shape, outShape)) {
      throw new ShapeError(`${spec.name}: dout must have the output's shape ${formatShape(outShape)}, got ${formatShape(opts.dout.shape)}`);
    }
  }
  const h = opts.h ?? DEFAULT_H;
  const mode = opts.mode ?? 'auto';
  const budget = opts.budget ?? DEFAULT_BUDGET_SECONDS;
  const notes: string[] = [];
  let implNames = opts.impls ?? (Object.keys(spec.impls) as ImplName[]);
  if (mode === 'auto' && !opts.impls && spec.impls.fast && implNames.includes('naive') && !autoIsFull(spec, shapes, opts.params)) {
    implNames = implNames.filter((n) => n !== 'naive');
    let fullWork = 0;
    for (const input of spec.inputs) if (input.grad) fullWork += 2 * size(shapes[input.name]) * forwardWork(spec, shapes, opts.params);
    notes.push(
      'naive not checked: at these shapes auto mode checks only the fast implementation (a full check takes two forward passes per ' +
        `element, ${fullWork.toExponential(1)} operations here); the naive loops are the same at every size and are checked in full at ` +
        'small shapes. Check mode sampled or directional (--check-mode) checks them here too.',
    );
  }
  const deadline = performance.now() + budget * 1000;
  let dout = opts.dout && ((opts.dout.data instanceof Float32Array) === (dtype === 'float32') ? opts.dout : toDType(opts.dout, dtype));
  const gradients: ImplGradientRow[] = [];
  const problems: string[] = [];
  const timing: TimingRow[] = [];
  const extras = opts.extraImpls ?? [];
  let implsLeft = implNames.filter((n) => spec.impls[n]).length + extras.length;
  const prefixed = implsLeft > 1;
  for (const implName of implNames) {
    const impl = spec.impls[implName];
    if (!impl) continue;
    // Each implementation gets an equal share of what is left of the budget; timing the last
    // TIMING_BUDGET_FRACTION of it.
    const repeat = opts.repeat ?? 5;
    const implDeadline = performance.now() + Math.max(0, deadline - performance.now()) / implsLeft--;
    const checkDeadline = implDeadline - (repeat > 0 ? TIMING_BUDGET_FRACTION * (implDeadline - performance.now()) : 0);
    const res = gradCheck(spec, impl, inputs, opts.params, {
      rng, dout, h, maxError: opts.maxError, strictKinks: opts.strictKinks,
      mode, samples: opts.samples, directions: opts.directions, dtype, hSweep: opts.hSweep, sampleSeed: seed,
      deadline: checkDeadline,
      onProgress: opts.onProgress ? (p) => opts.onProgress!({ impl: implName, ...p }) : undefined,
    });
    dout ??= res.dout;
    gradients.push(...res.gradients.map((g) => ({ impl: implName, ...g })));
    problems.push(...res.problems.map((p) => (prefixed ? `${implName}: ${p}` : p)));
    notes.push(...res.notes.map((n) => `${implName}: ${n}`));
    if (repeat > 0 && res.problems.length === 0 && dout) {
      // One pass measured first (it is also the first warm-up run) bounds the timing runs by the budget.
      const t0 = performance.now();
      impl.backward(dout, impl.forward(inputs, opts.params).cache);
      const passMs = performance.now() - t0;
      const runs = Math.max(1, Math.min(repeat, Math.floor((implDeadline - performance.now()) / Math.max(passMs, 1e-3))));
      const warmup = runs < repeat ? 0 : Math.max(0, (opts.warmup ?? 1) - 1);
      if (runs < repeat) notes.push(`${implName}: timed over ${runs} run${runs === 1 ? '' : 's'} instead of ${repeat}: one forward and backward take ${passMs.toFixed(0)} ms, and the time budget of ${budget} s is spent`);
      timing.push({ impl: implName, ...timePasses(impl, inputs, opts.params, dout, { warmup, repeat: runs }) });
    }
  }
  const comparisons: ReferenceComparison[] = [];
  for (const extra of extras) {
    const { impl, last } = guarded(extra);
    const repeat = opts.repeat ?? 5;
    const implDeadline = performance.now() + Math.max(0, deadline - performance.now()) / implsLeft--;
    const checkDeadline = implDeadline - (repeat > 0 ? TIMING_BUDGET_FRACTION * (implDeadline - performance.now()) : 0);
    // NOTE: no built-in check draws dout when the inputs hold NaN; the extra one still needs one to compare.
    dout ??= toDType(randomDout(rng, spec.impls.naive.forward(inputs, opts.params).out.shape), dtype);
    const isImplError = (err: unknown) => err instanceof ImplCallError;
    const reference: ImplName = spec.impls.fast && !autoIsFull(spec, shapes, opts.params) ? 'fast' : 'naive';
    const cmp = compareWithReference(spec, impl, inputs, opts.params, dout, { isImplError, reference });
    comparisons.push({ impl: extra.name, ...(extra.source !== undefined ? { source: extra.source } : {}), reference, pass: cmp.arrays.every((a) => a.pass), arrays: cmp.arrays });
    // The comparison ran the first forward and backward: their times bound the timing runs by the budget.
    const first: LastCalls = { ...last };
    if (cmp.failure) {
      problems.push(`${extra.name}: ${cmp.failure}`);
      notes.push(`${extra.name}: not gradient-checked or timed: its forward or backward failed`);
      continue;
    }
    let res;
    try {
      res = gradCheck(spec, impl, inputs, opts.params, {
        rng, dout, h, maxError: opts.maxError, strictKinks: opts.strictKinks,
        mode, samples: opts.samples, directions: opts.directions, dtype, hSweep: opts.hSweep, sampleSeed: seed,
        deadline: checkDeadline, numericImpl: spec.impls.fast ?? spec.impls.naive,
        onProgress: opts.onProgress ? (p) => opts.onProgress!({ impl: extra.name, ...p }) : undefined,
      });
    } catch (err) {
      // A call of the numeric side failed (the first forward and backward had run above).
      if (!isImplError(err)) throw err;
      problems.push(`${extra.name}: the gradient check stopped: ${(err as Error).message}`);
      continue;
    }
    gradients.push(...res.gradients.map((g) => ({ impl: extra.name, ...g })));
    problems.push(...res.problems.map((p) => `${extra.name}: ${p}`));
    notes.push(...res.notes.map((n) => `${extra.name}: ${n}`));
    if (repeat > 0 && res.problems.length === 0) {
      try {
        const passMs = first.forwardMs + first.backwardMs;
        const fit = Math.floor((implDeadline - performance.now()) / Math.max(passMs, 1e-3));
        if (fit < 1) {
          // PERF: a slow module (the naive conv of examples/ at x 32,64,32,32 takes 15 s a pass) is not run again only to be timed.
          timing.push({ impl: extra.name, forwardMs: summarize([first.forwardMs]), backwardMs: summarize([first.backwardMs]) });
          notes.push(`${extra.name}: timed by its first run (the comparison with the reference): one forward and backward take ${passMs.toFixed(0)} ms, and the time budget of ${budget} s is spent`);
        } else {
          const runs = Math.min(repeat, fit);
          // The comparison's and the gradient check's passes were the warm-up.
          const warmup = runs < repeat ? 0 : Math.max(0, (opts.warmup ?? 1) - 1);
          if (runs < repeat) notes.push(`${extra.name}: timed over ${runs} run${runs === 1 ? '' : 's'} instead of ${repeat}: one forward and backward take ${passMs.toFixed(0)} ms, and the time budget of ${budget} s is spent`);
          timing.push({ impl: extra.name, ...timeExtra(impl, last, inputs, opts.params, dout, warmup, runs) });
        }
      } catch (err) {
        if (!isImplError(err)) throw err;
        problems.push(`${extra.name}: timing stopped: ${(err as Error).message}`);
      }
    }
  }
  return {
    layer: spec.name,
    params: opts.params,
    shapes,
    dtype,
    seed,
    h,
    mode,
    budget,
    pass: problems.length === 0 && gradients.length > 0 && gradients.every((g) => g.pass) && comparisons.every((c) => c.pass),
    gradients,
    problems,
    notes,
    timing,
    ...(extras.length ? { comparisons } : {}),
  };
}
