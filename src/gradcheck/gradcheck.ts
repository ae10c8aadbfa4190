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
 * precision.ts, and a failing gradient is localized (localize.ts). Elements the step cannot
 * resolve are left out (`unresolved`), and a gradient of which nothing was compared is
 * `unchecked`, never a silent pass.
 */
import type { Rng } from '../tensor/rng.js';
import { XoshiroRng, randn } from '../tensor/rng.js';
import { firstNonFinite, formatShape, inDType, sameShape, size, unravel, type DType, type Tensor } from '../tensor/tensor.js';
import type { LayerImpl, LayerSpec, Params, Shapes } from '../layers/types.js';
import { FLOAT64_UNIT_ROUNDOFF, NumericSide, perSampleLayer, SLICE_AGREEMENT } from './numeric.js';
import { FLOAT32_UNIT_ROUNDOFF, computedDType, float32Tolerance, maxAbs, relErrorFloor } from './precision.js';
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
  /**
   * Elements and directions left out because the step could not resolve them: x + h == x, x +- h
   * overflowing, or a rounding noise as large as the gradient itself. A limit of the check at
   * those magnitudes, never counted against the layer.
   */
  unresolved: number;
  /**
   * Set when nothing was compared (every element a kink or unresolved, or no elements): why, in
   * one sentence. Such a row passes without `--strict-kinks` (nothing contradicts the layer), fails
   * with it, and its relError and maxAbsError are NaN (nothing was measured).
   */
  unchecked?: string;
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
   * is a Float32Array, else float64. The numeric side computes in float64 (see `numericImpl`).
   */
  dtype?: DType;
  /**
   * Forward passes of the numeric side in modes other than `full`, and in `full` when `impl`
   * computes in float32 even on float64 inputs (precision.ts); default the layer's fast impl (the
   * same function), or `impl` itself when it has none or the two outputs disagree.
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
export function gradCheck(spec: LayerSpec, impl: LayerImpl, inputs: Record<string, Tensor>, params: Params, opts: GradCheckOptions): GradCheckResult {
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

  let fwd: ReturnType<LayerImpl['forward']>;
  let grads: ReturnType<LayerImpl['backward']>;
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
  const rowDType = computedDType(fwd.out.data, layerInputs);
  const outSize = size(fwd.out.shape);
  const threshold = opts.maxError ?? (rowDType === 'float32' ? float32Tolerance(spec.tolerance.grad, outSize) : spec.tolerance.grad);

  const shapes: Shapes = {};
  for (const [k, t] of Object.entries(inputs)) shapes[k] = t.shape;
  const gradInputs = spec.inputs.filter((i) => i.grad);
  const plans = new Map(gradInputs.map((i) => [i.name, planInput(mode, spec, shapes, params, i.name)]));
  const allFull = [...plans.values()].every((p) => p === 'full');

  const side = numericForward(spec, impl, fwd.out, inputs64, params, {
    allFull,
    rowDType,
    threshold,
    given: opts.numericImpl,
    ownOut: rowDType === 'float64' && layerInputs === inputs64 ? fwd.out : undefined,
  });
  notes.push(...side.notes);
  const termsPerOutput = Math.max(1, forwardWork(spec, shapes, params) / (2 * outSize));
  const numeric = new NumericSide(side.impl, inputs64, params, dout64, {
    // Elements of x on their own sample, at 1/N of the cost. In a full check only where the
    // reference's samples are independent and the checked forward's one-sample output is its rows
    // bit for bit, so every centred difference is the number the whole batch gives.
    sliceBatch: !allFull || perSampleLayer(spec.impls.naive, inputs64, params),
    sliceAgreement: allFull ? 0 : SLICE_AGREEMENT,
    baseOut: side.baseOut,
    noiseGrowth: Math.sqrt(termsPerOutput),
    unitRoundoff: side.dtype === 'float32' ? FLOAT32_UNIT_ROUNDOFF : FLOAT64_UNIT_ROUNDOFF,
  });

  let sampleSeed = opts.sampleSeed;
  const rngFor = (input: string) => (purpose: string) => {
    sampleSeed ??= Math.floor(opts.rng.uniform() * 4294967296);
    return new XoshiroRng(mixSeed(sampleSeed, `${input}:${purpose}`));
  };
  const deadline = opts.deadline ?? performance.now() + (opts.budget ?? DEFAULT_BUDGET_SECONDS) * 1000;
  const outNames = outputAxisNames(
    fwd.out.shape,
    spec.inputs.some((i) => i.name === 'w'),
  );

  const gradients: GradientRow[] = [];
  let left = gradInputs.length;
  for (const input of gradInputs) {
    const name = `d${input.name}`;
    const t = inputs[input.name];
    const plan = plans.get(input.name)!;
    const row: GradientRow = {
      name,
      input: input.name,
      relError: Infinity,
      maxAbsError: Infinity,
      worst: { index: [], analytic: NaN, numeric: NaN },
      threshold,
      pass: false,
      kinks: 0,
      checked: 0,
      withinNoise: 0,
      unresolved: 0,
      total: t.data.length,
      mode: plan,
      dtype: rowDType,
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
      name,
      input: input.name,
      shape: t.shape,
      analytic: analytic.data,
      numeric,
      plan,
      h,
      threshold,
      floor: relErrorFloor(rowDType, maxAbs(analytic.data)),
      dtype: rowDType,
      strictKinks: opts.strictKinks ?? false,
      samples: opts.samples ?? DEFAULT_SAMPLES,
      directions: opts.directions ?? (mode === 'auto' ? AUTO_DIRECTIONS : DEFAULT_DIRECTIONS),
      rng: rngFor(input.name),
      deadline: share,
      outShape: fwd.out.shape,
      outNames,
      sweep: opts.hSweep ?? false,
      localize: opts.localize ?? true,
      onProgress: opts.onProgress,
    });
    fillRow(row, res);
    explainUnresolved(row, res, { t, h, outMax: maxAbs(fwd.out.data), strictKinks: opts.strictKinks ?? false, notes });
  }
  const pass = problems.length === 0 && gradients.every((g) => g.pass);
  return { pass, gradients, problems, dout, notes };
}

/** The forward the numeric side differentiates, its output at the float64 inputs, and the dtype it computes in. */
interface NumericForward {
  impl: LayerImpl;
  baseOut?: Tensor;
  dtype: DType;
  notes: string[];
}

/**
 * Choose the numeric side's forward. Outside a full check: the given one (default the layer's
 * fast forward) when its float64 output agrees with the checked forward's, else the checked
 * forward. A full check differentiates the checked forward itself, unless that computes in
 * float32 even on float64 inputs (a user's module): centred differences of a float32 function
 * carry ~2^-24 |out| / h of rounding, 1e-2 relative at h = 1e-5, which no float32 backward can
 * meet. Then, as outside a full check, a reference forward in float64 is differentiated when the
 * checked one agrees with it (to the float32 agreement), and otherwise the checked float32 forward
 * with its own unit roundoff in the noise model (numeric.ts), and a note says so.
 */
function numericForward(
  spec: LayerSpec,
  impl: LayerImpl,
  checkedOut: Tensor,
  inputs64: Record<string, Tensor>,
  params: Params,
  o: { allFull: boolean; rowDType: DType; threshold: number; given?: LayerImpl; ownOut?: Tensor },
): NumericForward {
  const notes: string[] = [];
  let own = o.ownOut;
  let ownDType = 'float64' as DType;
  const ownIsFloat32 = (): boolean => {
    if (o.rowDType === 'float64') return false;
    own ??= impl.forward(inputs64, params).out;
    ownDType = computedDType(own.data, inputs64);
    return ownDType === 'float32';
  };
  let candidate = o.allFull ? undefined : (o.given ?? spec.impls.fast);
  if (candidate === impl) candidate = undefined;
  if (!candidate && ownIsFloat32()) candidate = [o.given, spec.impls.fast, spec.impls.naive].find((c) => c && c !== impl);
  const which = candidate === spec.impls.naive && candidate !== spec.impls.fast ? 'naive' : 'fast';
  if (candidate) {
    try {
      const out = candidate.forward(inputs64, params).out;
      const tol = o.rowDType === 'float32' ? Math.max(o.threshold, FORWARD_AGREEMENT_F32) : FORWARD_AGREEMENT_F64;
      let diff = 0;
      for (let k = 0; k < out.data.length; k++) diff = Math.max(diff, Math.abs(out.data[k] - checkedOut.data[k]));
      const scale = Math.max(maxAbs(out.data), 1e-300);
      if (sameShape(out.shape, checkedOut.shape) && diff <= tol * scale && computedDType(out.data, inputs64) === 'float64') {
        if (ownDType === 'float32') {
          notes.push(
            `the numeric side runs ${spec.name}'s ${which} forward in float64: the checked forward computes in float32 even on ` +
              `float64 inputs, and agrees with it to ${(diff / scale).toExponential(2)} of the output's magnitude`,
          );
        }
        return { impl: candidate, baseOut: out, dtype: 'float64', notes };
      }
      notes.push(`the numeric side uses ${spec.name}'s checked forward pass: the ${which} forward differs from it by ${diff.toExponential(2)}`);
    } catch (err) {
      notes.push(`the numeric side uses ${spec.name}'s checked forward pass: the ${which} forward threw: ${(err as Error).message}`);
    }
  }
  if (ownIsFloat32()) {
    notes.push(
      'the checked forward computes in float32 even on float64 inputs, and the numeric side differentiates it: its centred ' +
        'differences carry float32 rounding (about 2^-24 |out| / h), and differences within that are not counted as errors',
    );
  }
  return { impl, baseOut: own, dtype: ownDType, notes };
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
  row.withinNoise = (e?.withinNoise ?? 0) + (d?.withinNoise ?? 0);
  row.unresolved = (e?.unresolved ?? 0) + (d?.unresolved ?? 0);
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

/** `1.0e+150`, for magnitudes in messages. */
function fmtMag(v: number): string {
  return v.toExponential(1);
}

/** `1 element`, `3 elements`. */
function count(n: number, what: string): string {
  return `${n} ${what}${n === 1 ? '' : 's'}`;
}

/** What a limit of the check at large magnitudes is, and what to do about it. */
const LIMIT = 'a limit of the check at these magnitudes, not an error of the layer';

/**
 * Say why elements were left out as unresolved (a note) and mark a row that compared nothing
 * `unchecked`: not a pass under --strict-kinks, a pass with its reason otherwise (see GradientRow).
 */
function explainUnresolved(
  row: GradientRow,
  res: ReturnType<typeof checkInput>,
  o: { t: Tensor; h: number; outMax: number; strictKinks: boolean; notes: string[] },
): void {
  const e = res.elements;
  const d = res.directional;
  const what = e && d ? 'element or direction' : d ? 'direction' : 'element';
  const vanished = (e?.vanished ?? 0) + (d?.vanished ?? 0);
  const x = row.input;
  const h = o.h.toExponential();
  const why: string[] = [];
  if (vanished > 0) {
    why.push(
      `h = ${h} is at or below the resolution of ${x} (${x} + h == ${x} for |${x}| above ~${fmtMag(2 ** 53 * o.h)}; ` +
        `here |${x}| up to ${fmtMag(maxAbs(o.t.data))}), so no centred difference exists`,
    );
  }
  if (row.unresolved > vanished) {
    why.push(`outputs up to ${fmtMag(o.outMax)} cannot resolve the change a step of h = ${h} in ${x} makes (its rounding noise is as large as the gradient)`);
  }
  if (row.checked + (d?.count ?? 0) > 0 || row.message) {
    if (row.unresolved > 0) o.notes.push(`${row.name}: ${count(row.unresolved, what)} not checked: ${why.join('; ')}: ${LIMIT}`);
    return;
  }
  let reason: string;
  if (row.total === 0) reason = `${x} has no elements`;
  else if (row.unresolved === 0) {
    reason = `all ${count(row.kinks, what)} straddle a kink (relu at 0, a max-pool tie), and kinks are left out unless --strict-kinks`;
  } else {
    const kinks = row.kinks ? `${count(row.kinks, what)} straddle a kink and ` : 'all ';
    reason = `${kinks}${count(row.unresolved, what)} ${row.unresolved === 1 ? 'is' : 'are'} beyond the step's resolution: ${why.join('; ')}: ${LIMIT}; rescale the inputs or raise --h`;
  }
  row.unchecked = `nothing checked: ${reason}`;
  row.message = row.unchecked;
  row.relError = NaN;
  row.maxAbsError = NaN;
  row.pass = !o.strictKinks;
}
