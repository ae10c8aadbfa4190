/**
 * One complete check of a layer, as the layer commands run it: resolve shapes, generate
 * (or take) inputs, gradient-check every implementation, and time them. Returns plain data.
 */
import { formatShape, sameShape, type Tensor } from '../tensor/tensor.js';
import { ShapeError } from '../errors.js';
import { XoshiroRng, type Rng } from '../tensor/rng.js';
import type { ImplName, LayerSpec, Params, Shapes } from '../layers/types.js';
import { generateInput, resolveShapes } from '../layers/params.js';
import { timePasses, type PassTimings } from '../bench/timing.js';
import { DEFAULT_H, gradCheck, type GradientRow } from './gradcheck.js';

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
  dtype: 'float64';
  seed: number;
  h: number;
  pass: boolean;
  gradients: ImplGradientRow[];
  /** Problems that fail the check as a whole (NaN/Inf, a throwing layer). */
  problems: string[];
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
  const inputs: Record<string, Tensor> = {};
  for (const input of spec.inputs) {
    inputs[input.name] = opts.inputs?.[input.name] ?? generateInput(input, shapes[input.name], rng);
  }
  if (opts.dout) {
    // A loaded dout must match the output: a mismatch is the user's input error, not a failed check.
    const outShape = spec.impls.naive.forward(inputs, opts.params).out.shape;
    if (!sameShape(opts.dout.shape, outShape)) {
      throw new ShapeError(`${spec.name}: dout must have the output's shape ${formatShape(outShape)}, got ${formatShape(opts.dout.shape)}`);
    }
  }
  const h = opts.h ?? DEFAULT_H;
  const implNames = opts.impls ?? (Object.keys(spec.impls) as ImplName[]);
  let dout = opts.dout;
  const gradients: ImplGradientRow[] = [];
  const problems: string[] = [];
  const timing: TimingRow[] = [];
  for (const implName of implNames) {
    const impl = spec.impls[implName];
    if (!impl) continue;
    const res = gradCheck(spec, impl, inputs, opts.params, {
      rng, dout, h, maxError: opts.maxError, strictKinks: opts.strictKinks,
    });
    dout ??= res.dout;
    gradients.push(...res.gradients.map((g) => ({ impl: implName, ...g })));
    problems.push(...res.problems.map((p) => (implNames.length > 1 ? `${implName}: ${p}` : p)));
    if ((opts.repeat ?? 5) > 0 && res.problems.length === 0 && dout) {
      timing.push({ impl: implName, ...timePasses(impl, inputs, opts.params, dout, { warmup: opts.warmup ?? 1, repeat: opts.repeat ?? 5 }) });
    }
  }
  return {
    layer: spec.name,
    params: opts.params,
    shapes,
    dtype: 'float64',
    seed,
    h,
    pass: problems.length === 0 && gradients.length > 0 && gradients.every((g) => g.pass),
    gradients,
    problems,
    timing,
  };
}
