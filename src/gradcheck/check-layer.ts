/**
 * One complete check of a layer, as the layer commands and suites run it: resolve shapes,
 * generate (or take) inputs, then for each Implementation (impls/types.ts) in turn: compare it
 * with the reference when it comes from outside the registry, gradient-check it, and time it.
 * Returns plain data. One code path serves every implementation, whatever its kind.
 *
 * The default mode is `auto` (modes.ts): a full check at small shapes, directions plus sampled
 * elements within `budget` seconds otherwise. At those larger shapes auto checks only the fast
 * implementation when the layer has one: the naive one is the same loops at every size, checked
 * in full at small shapes, and at x 32,64,32,32 a single naive conv forward and backward take
 * ~25 s. Explicit modes check every implementation, with the fast forward on the numeric side,
 * so the naive implementation's own forward and backward are its only naive cost.
 *
 * An external implementation (a user's module) is first compared with the reference (naive,
 * float64; fast where auto mode would not check naive in full) on the same inputs and dout,
 * which also finds a module that throws, hangs or returns the wrong shapes before any numeric
 * work; then gradient-checked (outside a full check, or when the module computes in float32, the
 * numeric side runs the reference's fast forward when the module's forward agrees with it, as for
 * the naive implementation); then timed. Errors its calls throw are its failures, reported in the
 * rows, never cnn-check's.
 */
import { formatShape, inDType, sameShape, size, type DType, type Tensor } from '../tensor/tensor.js';
import { ShapeError } from '../errors.js';
import { XoshiroRng, randn, type Rng } from '../tensor/rng.js';
import { REFERENCE_IMPL, type Inputs, type LayerImpl, type LayerSpec, type Params, type Shapes } from '../layers/types.js';
import { generateInput, resolveShapes, validateParams } from '../layers/params.js';
import { summarize, timePasses, type PassTimings } from '../bench/timing.js';
import { builtinImplementations } from '../impls/builtin.js';
import type { Implementation } from '../impls/types.js';
import { defaultSettings, DEFAULT_SEED, type CheckMode } from '../settings/schema.js';
import { failedArray, judgeArray, type ArrayReport } from './reference.js';
import { comparisonContext, diagnoseArrays } from './hints.js';
import { gradCheck, type GradientRow } from './gradcheck.js';
import { autoIsFull, forwardWork, type GradientProgress } from './modes.js';

export { DEFAULT_SEED };
import { computedDType } from './precision.js';
import { requireCheckMemory } from '../memory/work.js';

/** Share of each implementation's budget kept for the timing table. */
export const TIMING_BUDGET_FRACTION = 0.2;

/** Progress of a layer check: a gradient of one implementation. */
export interface CheckProgress extends GradientProgress {
  /** `naive`, `fast`, or an extra implementation's name. */
  impl: string;
}

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
  /** The layer's own implementations to check and time, by name (default: every one it has; see the module comment for auto mode). */
  impls?: string[];
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
  /** Implementations from outside the registry (a user's modules) to compare with the reference, check and time too. */
  external?: Implementation[];
  /** Bytes the check may allocate by its estimate, refused above (MemoryLimitError); default half of the memory available (memory/limit.ts). */
  maxMemory?: number;
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
  reference: string;
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

/** An error thrown by an external implementation's own call, as opposed to a bug of the checker. */
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
 * An external implementation with the errors of its own calls wrapped in ImplCallError, and the
 * time of its last forward and backward in `last` (its own clock when it has one, else the wall clock here).
 */
function guarded(im: Implementation): { impl: LayerImpl; last: LastCalls } {
  const last: LastCalls = { forwardMs: NaN, backwardMs: NaN };
  const owns = im.ownsError ?? (() => true);
  const call = <T>(f: () => T, which?: keyof LastCalls): T => {
    const t0 = performance.now();
    let value: T;
    try {
      value = f();
    } catch (err) {
      throw err instanceof ImplCallError || !owns(err) ? err : new ImplCallError(err);
    }
    if (which) last[which] = im.lastCallMs?.() ?? performance.now() - t0;
    return value;
  };
  const many = im.impl.forwardMany?.bind(im.impl);
  return {
    impl: {
      forward: (inputs, params) => call(() => im.impl.forward(inputs, params), 'forwardMs'),
      backward: (dout, cache) => call(() => im.impl.backward(dout, cache), 'backwardMs'),
      // Several passes at once are not a call's time.
      ...(many ? { forwardMany: (list: Inputs[], params: Params) => call(() => many(list, params)) } : {}),
    },
    last,
  };
}

function dtypeName(t: Tensor): DType {
  return t.data instanceof Float32Array ? 'float32' : 'float64';
}

/**
 * One array of an implementation against the reference's; `missing` is the message when the
 * implementation gave none; `computed` float32 when the implementation computes in float32
 * whatever arrays it returns (precision.ts computedDType).
 */
function compareToReference(name: string, actual: Tensor | undefined, expected: Tensor, missing: string, computed: DType = 'float64'): ArrayReport {
  if (!actual) return failedArray(name, missing);
  return judgeArray(name, { data: actual.data, shape: actual.shape, dtype: computed === 'float32' ? 'float32' : dtypeName(actual) }, expected);
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
  spec: LayerSpec,
  impl: LayerImpl,
  inputs: Inputs,
  params: Params,
  dout: Tensor,
  opts: { isImplError?: (err: unknown) => boolean; reference?: string } = {},
): ReferenceComparisonResult {
  const ref = spec.impls[opts.reference ?? REFERENCE_IMPL] ?? spec.impls.naive;
  const isImplError = opts.isImplError ?? (() => true);
  const inputs64: Inputs = {};
  for (const [k, t] of Object.entries(inputs)) inputs64[k] = inDType(t, 'float64');
  const refFwd = ref.forward(inputs64, params);
  const refGrads = ref.backward(inDType(dout, 'float64'), refFwd.cache);
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
      arrays: [
        failedArray('out', fwd.error),
        ...[...stateNames.map((k) => `${k}_after`), ...gradNames].map((n) => failedArray(n, 'not compared: forward failed')),
      ],
      failure: fwd.error,
    };
  }
  // NOTE: a module that rounds to float32 inside is held to float32's tolerance whatever arrays it returns.
  const computed = computedDType(fwd.out.data, inputs);
  const arrays = [compareToReference('out', fwd.out, refFwd.out, 'forward returned no out', computed)];
  for (const k of stateNames)
    arrays.push(compareToReference(`${k}_after`, fwd.state?.[k], refFwd.state![k], `forward returned no state.${k} (the updated ${k})`, computed));
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
  diagnoseArrays(arrays, comparisonContext(spec, params, inputs64, dout, refFwd, refGrads, fwd, grads));
  return { arrays };
}

/** `1 run` / `5 runs`. */
function runsText(n: number): string {
  return `${n} run${n === 1 ? '' : 's'}`;
}

/** Validate, generate, check and time one layer. Throws CnnCheckError on bad shapes/params. */
export function checkLayer(spec: LayerSpec, opts: CheckLayerOptions): LayerCheckReport {
  const defaults = defaultSettings();
  const params = validateParams(spec, opts.params);
  const seed = opts.seed ?? defaults.seed;
  const rng = opts.rng ?? new XoshiroRng(seed);
  const given: Shapes = { ...(opts.shapes ?? {}) };
  for (const [name, t] of Object.entries(opts.inputs ?? {})) given[name] = t.shape;
  const shapes = resolveShapes(spec, given, params);
  spec.check(shapes, params);
  const dtype = opts.dtype ?? defaults.dtype;
  const mode = opts.mode ?? defaults.checkMode;
  // Before any input is drawn: a check too large for the memory allowed allocates nothing.
  requireCheckMemory(
    {
      spec,
      shapes,
      params,
      settings: { dtype, checkMode: mode, directions: opts.directions, hSweep: opts.hSweep ?? false, impls: opts.impls, maxMemory: opts.maxMemory },
    },
    { external: (opts.external?.length ?? 0) > 0 },
  );
  const inputs: Inputs = {};
  for (const input of spec.inputs) {
    // NOTE: drawn (or loaded) as always, then converted: a float32 check sees the same draws.
    inputs[input.name] = inDType(opts.inputs?.[input.name] ?? generateInput(input, shapes[input.name], rng, shapes), dtype);
  }
  spec.checkInputs?.(inputs, params);
  const reference = spec.impls.fast ?? spec.impls.naive;
  if (opts.dout) {
    // A loaded dout must match the output: a mismatch is the user's input error, not a failed check.
    const outShape = reference.forward(inputs, params).out.shape;
    if (!sameShape(opts.dout.shape, outShape)) {
      throw new ShapeError(`${spec.name}: dout must have the output's shape ${formatShape(outShape)}, got ${formatShape(opts.dout.shape)}`);
    }
  }
  const h = opts.h ?? defaults.h;
  const budget = opts.budget ?? defaults.budget;
  const repeat = opts.repeat ?? defaults.repeat;
  const notes: string[] = [];
  let builtin = builtinImplementations(spec, opts.impls);
  if (mode === 'auto' && !opts.impls && spec.impls.fast && !autoIsFull(spec, shapes, params)) {
    builtin = builtin.filter((im) => im.name !== REFERENCE_IMPL);
    let fullWork = 0;
    for (const input of spec.inputs) if (input.grad) fullWork += 2 * size(shapes[input.name]) * forwardWork(spec, shapes, params);
    notes.push(
      'naive not checked: at these shapes auto mode checks only the fast implementation (a full check takes two forward passes per ' +
        `element, ${fullWork.toExponential(1)} operations here); the naive loops are the same at every size and are checked in full at ` +
        'small shapes. Check mode sampled or directional (--check-mode) checks them here too.',
    );
  }
  const implementations = [...builtin, ...(opts.external ?? [])];
  const deadline = performance.now() + budget * 1000;
  let dout = opts.dout && inDType(opts.dout, dtype);
  const gradients: ImplGradientRow[] = [];
  const problems: string[] = [];
  const timing: TimingRow[] = [];
  const comparisons: ReferenceComparison[] = [];
  const prefixed = implementations.length > 1;
  const isImplError = (err: unknown) => err instanceof ImplCallError;
  let left = implementations.length;
  for (const im of implementations) {
    // Each implementation gets an equal share of what is left of the budget; timing the last
    // TIMING_BUDGET_FRACTION of it.
    const implDeadline = performance.now() + Math.max(0, deadline - performance.now()) / left--;
    const checkDeadline = implDeadline - (repeat > 0 ? TIMING_BUDGET_FRACTION * (implDeadline - performance.now()) : 0);
    const { impl, last } = im.external ? guarded(im) : { impl: im.impl, last: undefined };
    const label = (text: string) => (prefixed || im.external ? `${im.name}: ${text}` : text);
    // The times of its first forward and backward, which bound the timing runs by the budget.
    let first: LastCalls | undefined;
    if (im.external) {
      // NOTE: no built-in check draws dout when the inputs hold NaN; the external one still needs one to compare.
      dout ??= inDType(randn(rng, spec.impls.naive.forward(inputs, params).out.shape), dtype);
      const ref = spec.impls.fast && !autoIsFull(spec, shapes, params) ? 'fast' : REFERENCE_IMPL;
      const cmp = compareWithReference(spec, impl, inputs, params, dout, { isImplError, reference: ref });
      comparisons.push({
        impl: im.name,
        ...(im.source !== undefined ? { source: im.source } : {}),
        reference: ref,
        pass: cmp.arrays.every((a) => a.pass),
        arrays: cmp.arrays,
      });
      first = { ...last! };
      if (cmp.failure) {
        problems.push(label(cmp.failure));
        notes.push(label('not gradient-checked or timed: its forward or backward failed'));
        continue;
      }
    }
    let res: ReturnType<typeof gradCheck>;
    try {
      res = gradCheck(spec, impl, inputs, params, {
        rng,
        dout,
        h,
        maxError: opts.maxError,
        strictKinks: opts.strictKinks,
        mode,
        samples: opts.samples,
        directions: opts.directions,
        dtype,
        hSweep: opts.hSweep,
        sampleSeed: seed,
        deadline: checkDeadline,
        numericImpl: im.external ? reference : undefined,
        onProgress: opts.onProgress ? (p) => opts.onProgress!({ impl: im.name, ...p }) : undefined,
      });
    } catch (err) {
      // A call of the numeric side failed (the first forward and backward had run above).
      if (!isImplError(err)) throw err;
      problems.push(label(`the gradient check stopped: ${(err as Error).message}`));
      continue;
    }
    dout ??= res.dout;
    gradients.push(...res.gradients.map((g) => ({ impl: im.name, ...g })));
    problems.push(...res.problems.map(label));
    notes.push(...res.notes.map((n) => `${im.name}: ${n}`));
    if (repeat <= 0 || res.problems.length > 0 || !dout) continue;
    try {
      const row = timeImplementation(im, impl, last, first, inputs, params, dout, { repeat, warmup: opts.warmup ?? 1, deadline: implDeadline, budget }, notes);
      timing.push({ impl: im.name, ...row });
    } catch (err) {
      if (!isImplError(err)) throw err;
      problems.push(label(`timing stopped: ${(err as Error).message}`));
    }
  }
  return {
    layer: spec.name,
    params,
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
    ...(comparisons.length || (opts.external ?? []).length ? { comparisons } : {}),
  };
}

/**
 * Time one implementation within its deadline: as many of `repeat` runs as fit (one pass is
 * measured first, or known from the comparison for an external one). A pass longer than the
 * whole budget is not run again only to be timed: its first run is the timing.
 */
function timeImplementation(
  im: Implementation,
  impl: LayerImpl,
  last: LastCalls | undefined,
  first: LastCalls | undefined,
  inputs: Inputs,
  params: Params,
  dout: Tensor,
  o: { repeat: number; warmup: number; deadline: number; budget: number },
  notes: string[],
): PassTimings {
  let passMs: number;
  if (first) passMs = first.forwardMs + first.backwardMs;
  else {
    const t0 = performance.now();
    impl.backward(dout, impl.forward(inputs, params).cache);
    passMs = performance.now() - t0;
  }
  const fit = Math.floor((o.deadline - performance.now()) / Math.max(passMs, 1e-3));
  if (first && fit < 1) {
    // PERF: a slow module (the naive conv of examples/ at x 32,64,32,32 takes 15 s a pass) is not run again only to be timed.
    notes.push(
      `${im.name}: timed by its first run (the comparison with the reference): one forward and backward take ${passMs.toFixed(0)} ms, and the time budget of ${o.budget} s is spent`,
    );
    return { forwardMs: summarize([first.forwardMs]), backwardMs: summarize([first.backwardMs]) };
  }
  const runs = Math.max(1, Math.min(o.repeat, fit));
  // The checks' passes (and the pass measured above) were the warm-up when the budget is short.
  const warmup = runs < o.repeat ? 0 : Math.max(0, o.warmup - 1);
  if (runs < o.repeat)
    notes.push(
      `${im.name}: timed over ${runsText(runs)} instead of ${o.repeat}: one forward and backward take ${passMs.toFixed(0)} ms, and the time budget of ${o.budget} s is spent`,
    );
  return timePasses(impl, inputs, params, {
    warmup,
    repeat: runs,
    dout,
    ...(last ? { lastCallMs: (pass: 'forward' | 'backward') => (pass === 'forward' ? last.forwardMs : last.backwardMs) } : {}),
  });
}
