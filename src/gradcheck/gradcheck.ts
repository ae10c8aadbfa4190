/**
 * Numeric gradient checking by centred differences.
 *
 * For a layer f and upstream gradient dout, the scalar L = sum(f(inputs) * dout) has
 * dL/dt = the gradient backward returns for input t. Each element of t is perturbed by
 * +h and -h and (L+ - L-) / 2h is compared with the analytic value using the cs231n
 * relative error. Forward passes are pure, so no state (running statistics) drifts
 * between evaluations: every evaluation sees the same inputs but for the one element.
 *
 * That is the `full` mode, quadratic in the layer size; `sampled`, `directional` and `auto`
 * (modes.ts) check large layers in seconds, float32 layers are judged with the tolerance of
 * precision.ts, and a failing gradient is localized (localize.ts).
 */
import type { Rng } from '../tensor/rng.js';
import { XoshiroRng, randn } from '../tensor/rng.js';
import { firstNonFinite, formatShape, inDType, sameShape, size, unravel, type DType, type Tensor } from '../tensor/tensor.js';
import type { LayerImpl, LayerSpec, Params, Shapes } from '../layers/types.js';
import { NumericSide } from './numeric.js';
import { float32Tolerance, layerDType, maxAbs, relErrorFloor } from './precision.js';
import { checkInput, forwardWork, planInput, type DirectionalPart, type GradientProgress, type RowMode, type SweepCurve } from './modes.js';
import { AUTO_DIRECTIONS, DEFAULT_BUDGET_SECONDS, DEFAULT_DIRECTIONS, DEFAULT_H, DEFAULT_SAMPLES, type CheckMode } from '../settings/schema.js';
import { outputAxisNames, type Localization } from './localize.js';

/** One checked gradient. */
export interface GradientRow {
  /** Gradient name, `'d' + input`. */
  name: string;
  input: string;
  /** cs231n relative error over checked (non-kink) elements and directions; Infinity on NaN/Inf. */
  relError: number;
  maxAbsError: number;
  /** The worst element, or the worst direction (`direction` set, `index` empty). */
  worst: { index: number[]; analytic: number; numeric: number; direction?: number };
  threshold: number;
  pass: boolean;
  /** Elements (and directions) where the centred difference straddles a kink (relu at 0, a max-pool winner change). */
  kinks: number;
  /** Elements compared / elements in the input. */
  checked: number;
  /**
   * Elements whose relative error exceeds the threshold but whose absolute error is within the
   * centred difference's own rounding noise: not evidence of an error, so they do not fail.
   */
  withinNoise: number;
  total: number;
  /** Why it failed when the numbers alone do not say (NaN, missing gradient, wrong shape). */
  message?: string;
  /** How the gradient was checked: every element, sampled elements, random directions, or both. */
  mode: RowMode;
  /** The dtype the implementation computed in (float32 only for a float32 layer, see precision.ts). */
  dtype: DType;
  /** The directional part, when directions were checked. */
  directional?: DirectionalPart;
  /** Where the error is, for a failing gradient. */
  localization?: Localization;
  /** The error over h = 1e-2 ... 1e-9 (`hSweep`). */
  sweep?: SweepCurve;
}

/** Result of checking one implementation of one layer on one set of inputs. */
export interface GradCheckResult {
  pass: boolean;
  gradients: GradientRow[];
  /** Problems that fail the whole check: NaN/Inf in inputs or outputs, a throwing layer. */
  problems: string[];
  /** The upstream gradient used, in the dtype the layer saw (absent when the forward pass failed before it was drawn). */
  dout?: Tensor;
  /** What the reader should know about how the check ran (the numeric side's forward, ...). */
  notes: string[];
}

export interface GradCheckOptions {
  /** Upstream gradient; random normal from `rng` when absent. */
  dout?: Tensor;
  rng: Rng;
  h?: number;
  /** Threshold on the relative error; the layer's tolerance (or the float32 one) when absent. */
  maxError?: number;
  /** Count kink elements in pass/fail instead of leaving them out. */
  strictKinks?: boolean;
  /** How much of each gradient to evaluate (default `full`, the cs231n check). */
  mode?: CheckMode;
  /** Elements per input of sampled checks (default 128). */
  samples?: number;
  /** Directions per input (default 4; auto mode: 2). */
  directions?: number;
  /** Time budget in seconds for optional work: auto mode's extra samples, localization probes (default 10). */
  budget?: number;
  /** performance.now() by which optional work stops (overrides `budget`). */
  deadline?: number;
  /**
   * Run the layer in this dtype (inputs and dout rounded to it); default: float32 when any input
   * is a Float32Array, else float64. The numeric side always computes in float64.
   */
  dtype?: DType;
  /**
   * Forward passes of the numeric side in modes other than `full`; default the layer's fast impl
   * (the same function), or `impl` itself when it has none or the two outputs disagree.
   */
  numericImpl?: LayerImpl;
  /** Seed of sampled elements and directions (default: drawn from `rng` when first needed). */
  sampleSeed?: number;
  /** Evaluate every gradient's error over h = 1e-2 ... 1e-9 too. */
  hSweep?: boolean;
  /** Localize failing gradients (default true). */
  localize?: boolean;
  /** Called as the numeric side advances. */
  onProgress?: (p: GradientProgress) => void;
}

function nonFiniteProblem(what: string, t: Tensor): string | null {
  const i = firstNonFinite(t.data);
  if (i < 0) return null;
  return `${what} contains ${t.data[i]} at index (${unravel(i, t.shape).join(', ')})`;
}

function mapInputs(inputs: Record<string, Tensor>, f: (t: Tensor) => Tensor): Record<string, Tensor> {
  const out: Record<string, Tensor> = {};
  for (const [k, t] of Object.entries(inputs)) out[k] = f(t);
  return out;
}

/** Largest relative difference of two outputs of the same function still taken as agreeing. */
const FORWARD_AGREEMENT_F64 = 1e-9;
const FORWARD_AGREEMENT_F32 = 1e-4;

/** 32-bit mix of a seed and a label, for independent streams per input and purpose. */
function mixSeed(seed: number, label: string): number {
  let x = seed >>> 0;
  for (let i = 0; i < label.length; i++) x = Math.imul(x ^ label.charCodeAt(i), 0x9e3779b1) >>> 0;
  return (x ^ (x >>> 15)) >>> 0;
}

/**
 * Gradient-check `impl` of `spec` at `inputs` and `params`: every input with `grad: true`.
 * With the default options this is the full check; see GradCheckOptions for the rest.
 */
export function gradCheck(
  spec: LayerSpec,
  impl: LayerImpl,
  inputs: Record<string, Tensor>,
  params: Params,
  opts: GradCheckOptions,
): GradCheckResult {
  const h = opts.h ?? DEFAULT_H;
  const mode = opts.mode ?? 'full';
  const notes: string[] = [];
  const problems: string[] = [];
  for (const input of spec.inputs) {
    const p = nonFiniteProblem(`input ${input.name}`, inputs[input.name]);
    if (p) problems.push(p);
  }
  if (problems.length) return { pass: false, gradients: [], problems, notes };

  const dtype: DType = opts.dtype ?? (Object.values(inputs).some((t) => t.data instanceof Float32Array) ? 'float32' : 'float64');
  // The layer sees `layerInputs`; the numeric side the same values in float64.
  const layerInputs = mapInputs(inputs, (t) => inDType(t, dtype));
  const inputs64 = mapInputs(layerInputs, (t) => inDType(t, 'float64'));

  let fwd;
  let grads;
  let dout: Tensor;
  try {
    fwd = impl.forward(layerInputs, params);
    const outProblem = nonFiniteProblem('forward output', fwd.out);
    if (outProblem) return { pass: false, gradients: [], problems: [outProblem], notes };
    dout = inDType(opts.dout ?? randn(opts.rng, fwd.out.shape), dtype);
    if (!sameShape(dout.shape, fwd.out.shape)) {
      return {
        pass: false,
        gradients: [],
        problems: [`dout must have the output's shape ${formatShape(fwd.out.shape)}, got ${formatShape(dout.shape)}`],
        notes,
      };
    }
    grads = impl.backward(dout, fwd.cache);
  } catch (err) {
    return { pass: false, gradients: [], problems: [`${spec.name} threw: ${(err as Error).message}`], notes };
  }
  const dout64 = inDType(dout, 'float64');
  const rowDType = layerDType(fwd.out.data);
  const outSize = size(fwd.out.shape);
  const threshold = opts.maxError ?? (rowDType === 'float32' ? float32Tolerance(spec.tolerance.grad, outSize) : spec.tolerance.grad);

  const shapes: Shapes = {};
  for (const [k, t] of Object.entries(inputs)) shapes[k] = t.shape;
  const gradInputs = spec.inputs.filter((i) => i.grad);
  const plans = new Map(gradInputs.map((i) => [i.name, planInput(mode, spec, shapes, params, i.name)]));
  const allFull = [...plans.values()].every((p) => p === 'full');

  // The numeric side: the checked impl itself for full checks (as always), else the fast forward.
  let numericImpl = impl;
  let baseOut: Tensor | undefined = rowDType === 'float64' && layerInputs === inputs64 ? fwd.out : undefined;
  if (!allFull) {
    const candidate = opts.numericImpl ?? spec.impls.fast ?? impl;
    if (candidate !== impl) {
      try {
        const out = candidate.forward(inputs64, params).out;
        const tol = rowDType === 'float32' ? Math.max(threshold, FORWARD_AGREEMENT_F32) : FORWARD_AGREEMENT_F64;
        let diff = 0;
        for (let k = 0; k < out.data.length; k++) diff = Math.max(diff, Math.abs(out.data[k] - fwd.out.data[k]));
        if (sameShape(out.shape, fwd.out.shape) && diff <= tol * Math.max(maxAbs(out.data), 1e-300)) {
          numericImpl = candidate;
          baseOut = out;
        } else {
          notes.push(`the numeric side uses ${spec.name}'s checked forward pass: the fast forward differs from it by ${diff.toExponential(2)}`);
        }
      } catch (err) {
        notes.push(`the numeric side uses ${spec.name}'s checked forward pass: the fast forward threw: ${(err as Error).message}`);
      }
    }
  }
  const termsPerOutput = Math.max(1, forwardWork(spec, shapes, params) / (2 * outSize));
  const numeric = new NumericSide(numericImpl, inputs64, params, dout64, { sliceBatch: !allFull, baseOut, noiseGrowth: Math.sqrt(termsPerOutput) });

  let sampleSeed = opts.sampleSeed;
  const rngFor = (input: string) => (purpose: string) => {
    sampleSeed ??= Math.floor(opts.rng.uniform() * 4294967296);
    return new XoshiroRng(mixSeed(sampleSeed, `${input}:${purpose}`));
  };
  const deadline = opts.deadline ?? performance.now() + (opts.budget ?? DEFAULT_BUDGET_SECONDS) * 1000;
  const outNames = outputAxisNames(fwd.out.shape, spec.inputs.some((i) => i.name === 'w'));

  const gradients: GradientRow[] = [];
  let left = gradInputs.length;
  for (const input of gradInputs) {
    const name = `d${input.name}`;
    const t = inputs[input.name];
    const plan = plans.get(input.name)!;
    const row: GradientRow = {
      name, input: input.name, relError: Infinity, maxAbsError: Infinity,
      worst: { index: [], analytic: NaN, numeric: NaN }, threshold, pass: false,
      kinks: 0, checked: 0, withinNoise: 0, total: t.data.length, mode: plan, dtype: rowDType,
    };
    gradients.push(row);
    const share = performance.now() + Math.max(0, deadline - performance.now()) / left--;
    const analytic = grads[name];
    if (!analytic) {
      row.message = `backward returned no ${name}`;
      continue;
    }
    if (!sameShape(analytic.shape, t.shape)) {
      row.message = `${name} must have the shape of ${input.name} ${formatShape(t.shape)}, got ${formatShape(analytic.shape)}`;
      continue;
    }
    const res = checkInput({
      name, input: input.name, shape: t.shape, analytic: analytic.data, numeric, plan, classic: allFull, h, threshold,
      floor: relErrorFloor(rowDType, maxAbs(analytic.data)), dtype: rowDType, strictKinks: opts.strictKinks ?? false,
      samples: opts.samples ?? DEFAULT_SAMPLES,
      directions: opts.directions ?? (mode === 'auto' ? AUTO_DIRECTIONS : DEFAULT_DIRECTIONS),
      rng: rngFor(input.name), deadline: share, outShape: fwd.out.shape, outNames,
      sweep: opts.hSweep ?? false, localize: opts.localize ?? true, onProgress: opts.onProgress,
    });
    fillRow(row, res);
  }
  const pass = problems.length === 0 && gradients.every((g) => g.pass);
  return { pass, gradients, problems, dout, notes };
}

/** Combine the element and directional parts of an input's check into its row. */
function fillRow(row: GradientRow, res: ReturnType<typeof checkInput>): void {
  const e = res.elements;
  const d = res.directional;
  row.mode = res.mode;
  row.relError = 0;
  row.maxAbsError = 0;
  row.kinks = (e?.kinks ?? 0) + (d?.kinks ?? 0);
  row.checked = e?.checked ?? 0;
  row.withinNoise = e?.withinNoise ?? 0;
  row.pass = (e?.pass ?? true) && (d?.pass ?? true);
  if (e) {
    row.relError = e.relError;
    row.maxAbsError = e.maxAbsError;
    row.worst = e.worst;
    if (e.nonFinite > 0) {
      const which = Number.isFinite(e.worst.analytic) ? 'numeric' : 'analytic';
      row.message = `${which} ${row.name} contains ${which === 'numeric' ? e.worst.numeric : e.worst.analytic} at index (${e.worst.index.join(', ')})`;
    }
  }
  if (d && d.worst.direction >= 0 && (!e || !(d.relError <= row.relError))) {
    row.relError = d.relError;
    row.worst = { index: [], analytic: d.worst.analytic, numeric: d.worst.numeric, direction: d.worst.direction };
    if (!Number.isFinite(d.relError) && !row.message) {
      row.message = `the directional derivative along direction ${d.worst.direction} is ${Number.isFinite(d.worst.analytic) ? 'numeric' : 'analytic'} ${Number.isFinite(d.worst.analytic) ? d.worst.numeric : d.worst.analytic}`;
    }
  }
  if (d) row.maxAbsError = Math.max(row.maxAbsError, d.maxAbsError);
  if (d) row.directional = d;
  if (res.localization) row.localization = res.localization;
  if (res.sweep) row.sweep = res.sweep;
}
