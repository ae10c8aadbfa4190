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
 */
import { formatShape, sameShape, size, toDType, type DType, type Tensor } from '../tensor/tensor.js';
import { ShapeError } from '../errors.js';
import { XoshiroRng, type Rng } from '../tensor/rng.js';
import type { ImplName, LayerSpec, Params, Shapes } from '../layers/types.js';
import { generateInput, resolveShapes } from '../layers/params.js';
import { timePasses, type PassTimings } from '../bench/timing.js';
import { DEFAULT_H, gradCheck, type GradientRow } from './gradcheck.js';
import { DEFAULT_BUDGET_SECONDS, autoIsFull, forwardWork, type CheckMode, type GradientProgress } from './modes.js';

/** Share of each implementation's budget kept for the timing table. */
export const TIMING_BUDGET_FRACTION = 0.2;

/** Progress of a layer check: a gradient of one implementation. */
export interface CheckProgress extends GradientProgress {
  impl: ImplName;
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
}

/** A gradient row tagged with the implementation it belongs to. */
export interface ImplGradientRow extends GradientRow {
  impl: ImplName;
}

export interface TimingRow extends PassTimings {
  impl: ImplName;
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
  let implsLeft = implNames.filter((n) => spec.impls[n]).length;
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
    problems.push(...res.problems.map((p) => (implNames.length > 1 ? `${implName}: ${p}` : p)));
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
  return {
    layer: spec.name,
    params: opts.params,
    shapes,
    dtype,
    seed,
    h,
    mode,
    budget,
    pass: problems.length === 0 && gradients.length > 0 && gradients.every((g) => g.pass),
    gradients,
    problems,
    notes,
    timing,
  };
}
