/**
 * Numeric gradient checking by centred differences.
 *
 * For a layer f and upstream gradient dout, the scalar L = sum(f(inputs) * dout) has
 * dL/dt = the gradient backward returns for input t. Each element of t is perturbed by
 * +h and -h and (L+ - L-) / 2h is compared with the analytic value using the cs231n
 * relative error. Forward passes are pure, so no state (running statistics) drifts
 * between evaluations: every evaluation sees the same inputs but for the one element.
 */
import { compareArrays } from '../tensor/compare.js';
import type { Rng } from '../tensor/rng.js';
import { firstNonFinite, formatShape, sameShape, unravel, type Tensor } from '../tensor/tensor.js';
import type { LayerImpl, LayerSpec, Params } from '../layers/types.js';

/** Default centred-difference step. */
export const DEFAULT_H = 1e-5;

/** One checked gradient. */
export interface GradientRow {
  /** Gradient name, `'d' + input`. */
  name: string;
  input: string;
  /** cs231n relative error over checked (non-kink) elements; Infinity on NaN/Inf. */
  relError: number;
  maxAbsError: number;
  worst: { index: number[]; analytic: number; numeric: number };
  threshold: number;
  pass: boolean;
  /** Elements where the centred difference straddles a kink (relu at 0, a max-pool winner change). */
  kinks: number;
  /** Elements compared / elements in the input. */
  checked: number;
  total: number;
  /** Why it failed when the numbers alone do not say (NaN, missing gradient, wrong shape). */
  message?: string;
}

/** Result of checking one implementation of one layer on one set of inputs. */
export interface GradCheckResult {
  pass: boolean;
  gradients: GradientRow[];
  /** Problems that fail the whole check: NaN/Inf in inputs or outputs, a throwing layer. */
  problems: string[];
  /** The upstream gradient used (absent when the forward pass failed before it was drawn). */
  dout?: Tensor;
}

export interface GradCheckOptions {
  /** Upstream gradient; random normal from `rng` when absent. */
  dout?: Tensor;
  rng: Rng;
  h?: number;
  /** Threshold on the relative error; the layer's tolerance when absent. */
  maxError?: number;
  /** Count kink elements in pass/fail instead of leaving them out. */
  strictKinks?: boolean;
}

/**
 * (L+ - L-) / 2h with L = sum(out * dout), computed as sum((out+ - out-) * dout) / 2h.
 * PERF/NOTE: differencing element-wise first is the same number mathematically, but outputs
 * the perturbation does not touch cancel exactly, so the rounding noise scales with the
 * affected outputs only instead of with all of |L|: ~1e-16 * |out| / h rather than
 * ~1e-16 * sum|out * dout| / h. Without it, small gradient elements show spurious relative
 * errors around 1e-6 at the cs231n shapes.
 */
function centredDifference(plus: ArrayLike<number>, minus: ArrayLike<number>, dout: ArrayLike<number>, h: number): number {
  let s = 0;
  for (let k = 0; k < plus.length; k++) {
    const d = plus[k] - minus[k];
    if (d !== 0) s += d * dout[k];
  }
  return s / (2 * h);
}

function sameSwitches(a: Int32Array | undefined, b: Int32Array | undefined): boolean {
  if (!a || !b) return true;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function nonFiniteProblem(what: string, t: Tensor): string | null {
  const i = firstNonFinite(t.data);
  if (i < 0) return null;
  return `${what} contains ${t.data[i]} at index (${unravel(i, t.shape).join(', ')})`;
}

/** The upstream gradient for a check: standard normal of the output's shape. */
export function randomDout(rng: Rng, shape: number[]): Tensor {
  const data = new Float64Array(shape.reduce((a, b) => a * b, 1));
  for (let i = 0; i < data.length; i++) data[i] = rng.randn();
  return { data, shape: [...shape] };
}

/** Gradient-check `impl` of `spec` at `inputs` and `params`: every input with `grad: true`. */
export function gradCheck(
  spec: LayerSpec,
  impl: LayerImpl,
  inputs: Record<string, Tensor>,
  params: Params,
  opts: GradCheckOptions,
): GradCheckResult {
  const h = opts.h ?? DEFAULT_H;
  const threshold = opts.maxError ?? spec.tolerance.grad;
  const problems: string[] = [];
  for (const input of spec.inputs) {
    const p = nonFiniteProblem(`input ${input.name}`, inputs[input.name]);
    if (p) problems.push(p);
  }
  if (problems.length) return { pass: false, gradients: [], problems };

  let fwd;
  let grads;
  let dout: Tensor;
  try {
    fwd = impl.forward(inputs, params);
    const outProblem = nonFiniteProblem('forward output', fwd.out);
    if (outProblem) return { pass: false, gradients: [], problems: [outProblem] };
    dout = opts.dout ?? randomDout(opts.rng, fwd.out.shape);
    if (!sameShape(dout.shape, fwd.out.shape)) {
      return {
        pass: false,
        gradients: [],
        problems: [`dout must have the output's shape ${formatShape(fwd.out.shape)}, got ${formatShape(dout.shape)}`],
      };
    }
    grads = impl.backward(dout, fwd.cache);
  } catch (err) {
    return { pass: false, gradients: [], problems: [`${spec.name} threw: ${(err as Error).message}`] };
  }

  const gradients: GradientRow[] = [];
  for (const input of spec.inputs) {
    if (!input.grad) continue;
    const name = `d${input.name}`;
    const t = inputs[input.name];
    const row: GradientRow = {
      name, input: input.name, relError: Infinity, maxAbsError: Infinity,
      worst: { index: [], analytic: NaN, numeric: NaN }, threshold, pass: false,
      kinks: 0, checked: 0, total: t.data.length,
    };
    gradients.push(row);
    const analytic = grads[name];
    if (!analytic) {
      row.message = `backward returned no ${name}`;
      continue;
    }
    if (!sameShape(analytic.shape, t.shape)) {
      row.message = `${name} must have the shape of ${input.name} ${formatShape(t.shape)}, got ${formatShape(analytic.shape)}`;
      continue;
    }
    const numeric = new Float64Array(t.data.length);
    const kinkMask = new Uint8Array(t.data.length);
    const perturbed = { data: t.data.slice(), shape: t.shape };
    const evalInputs = { ...inputs, [input.name]: perturbed };
    for (let i = 0; i < t.data.length; i++) {
      const v = t.data[i];
      perturbed.data[i] = v + h;
      const plus = impl.forward(evalInputs, params);
      perturbed.data[i] = v - h;
      const minus = impl.forward(evalInputs, params);
      perturbed.data[i] = v;
      numeric[i] = centredDifference(plus.out.data, minus.out.data, dout.data, h);
      if (!sameSwitches(plus.switches, minus.switches)) {
        kinkMask[i] = 1;
        row.kinks++;
      }
    }
    const cmp = compareArrays(analytic.data, numeric, t.shape, opts.strictKinks ? undefined : kinkMask);
    row.relError = cmp.relError;
    row.maxAbsError = cmp.maxAbsError;
    row.worst = { index: cmp.worst.index, analytic: cmp.worst.actual, numeric: cmp.worst.expected };
    row.checked = t.data.length - (opts.strictKinks ? 0 : row.kinks);
    if (cmp.nonFinite > 0) {
      const which = Number.isFinite(cmp.worst.actual) ? 'numeric' : 'analytic';
      row.message = `${which} ${name} contains ${which === 'numeric' ? cmp.worst.expected : cmp.worst.actual} at index (${cmp.worst.index.join(', ')})`;
    }
    row.pass = cmp.nonFinite === 0 && cmp.relError <= threshold;
  }
  const pass = problems.length === 0 && gradients.every((g) => g.pass);
  return { pass, gradients, problems, dout };
}
