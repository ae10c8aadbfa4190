/**
 * One case of the battery for one implementation (a user's forward/backward pair): the
 * comparison with the reference on the case's inputs and dout (gradcheck/check-layer.ts
 * compareWithReference, with its diagnosis and hints), then the gradient check of the user's
 * own backward against centred differences of the user's own forward (gradcheck.ts), in the
 * case's mode. Plain data back: a status, one line saying what is wrong, the hint, and the
 * arrays both sides returned (for shrinking, the printout and the fixture).
 *
 * - pass: every array matches the reference and every gradient checks;
 * - fail: an array differs or a gradient does not check;
 * - error: a call of the user's code failed (an exception, a timeout, a wrong return value);
 * - warn: max-pool ties split as `mask = (window == max)` does (ties.ts), right elsewhere.
 *
 * Batchnorm in test mode (cs231n asks for its backward in train mode only): the forward and the
 * running statistics are judged; the backward is called, and what it did is information. A case
 * with `trainSteps` first runs that many train-mode passes through the user's forward and the
 * reference's, each carrying its own running statistics, compares the statistics they leave,
 * then runs the test-mode forward with the reference's (so a test-mode bug shows apart from a
 * train-mode one).
 */
import { compareWithReference } from '../gradcheck/check-layer.js';
import { gradCheck, type GradientRow } from '../gradcheck/gradcheck.js';
import { failingCount } from '../gradcheck/hints.js';
import type { Hint } from '../gradcheck/localize.js';
import { COMPARE_TOLERANCE, judgeArray, type ArrayReport } from '../gradcheck/reference.js';
import type { Implementation } from '../impls/types.js';
import type { ForwardResult, Gradients, Inputs, LayerImpl, LayerSpec } from '../layers/types.js';
import { XoshiroRng } from '../tensor/rng.js';
import { formatShape, inDType, type Tensor } from '../tensor/tensor.js';
import { fmtErr, fmtVal } from '../text/numbers.js';
import { GRADE_SAMPLES } from './battery.js';
import type { MaterializedCase } from './inputs.js';
import { judgeTies, tieWarning, type TieConvention } from './ties.js';

/** How a case came out. */
export type CaseStatus = 'pass' | 'fail' | 'error' | 'warn';

/** A case run for one implementation. */
export interface CaseRun {
  status: CaseStatus;
  /** What is wrong, in one line ('' for a pass). */
  message: string;
  hint?: Hint;
  /** The comparison's arrays (out, the state after, the gradients). */
  arrays: ArrayReport[];
  /** The gradient check's rows (none when it did not run). */
  gradients: GradientRow[];
  /** What the reader should know that is not a failure (a test-mode backward, what was unchecked). */
  info: string[];
  warnings: string[];
  /** How the user's max-pool backward splits dout at tied maxima (tie cases). */
  convention?: TieConvention;
  /** What the user's functions returned (first forward and backward), by array name: out, running_mean_after, dx ... */
  yours: Map<string, Tensor>;
  /** The reference's arrays at the same inputs. */
  reference: Map<string, Tensor>;
  /** The inputs of the judged forward, float64 (after train passes: with the running statistics they left). */
  used: Inputs;
  /** How the case failed, for shrinking: the same signature means failing the same way. */
  signature: string;
}

export interface RunCaseOptions {
  /** Run the gradient check (shrinking compares only). */
  gradcheck: boolean;
  mode: 'full' | 'sampled';
  /** Judge max-pool ties as subgradients. */
  ties?: boolean;
  /** performance.now() by which optional work (localization probes) stops. */
  deadline: number;
}

/** The implementation with its first forward result and first gradients recorded. */
function recording(impl: LayerImpl): { impl: LayerImpl; first: { fwd?: ForwardResult; grads?: Gradients } } {
  const first: { fwd?: ForwardResult; grads?: Gradients } = {};
  return {
    first,
    impl: {
      forward(inputs, params) {
        const r = impl.forward(inputs, params);
        first.fwd ??= r;
        return r;
      },
      backward(dout, cache) {
        const g = impl.backward(dout, cache);
        first.grads ??= g;
        return g;
      },
      ...(impl.forwardMany ? { forwardMany: impl.forwardMany.bind(impl) } : {}),
    },
  };
}

/** Named arrays of a forward result and its gradients: out, `<state>_after`, the gradients. */
function named(fwd?: ForwardResult, grads?: Gradients): Map<string, Tensor> {
  const m = new Map<string, Tensor>();
  if (!fwd) return m;
  m.set('out', fwd.out);
  for (const [k, v] of Object.entries(fwd.state ?? {})) m.set(`${k}_after`, v);
  for (const [k, v] of Object.entries(grads ?? {})) m.set(k, v);
  return m;
}

/** True for the layers whose test mode has no backward to grade. */
export function isTestMode(spec: LayerSpec, params: Record<string, unknown>): boolean {
  return (spec.name === 'batchnorm' || spec.name === 'spatial_batchnorm') && params.mode === 'test';
}

/** An array's failure in one line: `dx has shape (4, 3, 0, 0), expected (4, 3, 5, 5)`, `db differs ...`. */
export function arrayMessage(a: ArrayReport): string {
  if (a.message) return a.message.replace("expected the reference's", 'expected');
  if (a.worst && a.worst.index.length === 0) {
    // A scalar: the loss of svm_loss and softmax_loss.
    return `${a.name === 'out' ? 'the loss' : a.name} is ${fmtVal(a.worst.actual)}, expected ${fmtVal(a.worst.expected)} (rel error ${fmtErr(a.relError)} > ${fmtErr(a.threshold)})`;
  }
  const wrong = a.localization && failingCount(a.localization);
  const count = wrong !== undefined && a.localization ? `${wrong} of ${a.localization.checked} elements; ` : '';
  const at = a.worst ? ` at (${a.worst.index.join(', ')}): yours ${fmtVal(a.worst.actual)}, expected ${fmtVal(a.worst.expected)}` : '';
  return `${a.name} differs from the reference${at} (${count}rel error ${fmtErr(a.relError)} > ${fmtErr(a.threshold)})`;
}

/** A gradient row's failure in one line. */
function gradientMessage(g: GradientRow): string {
  if (g.message) return `${g.name}: ${g.message}`;
  const at = g.worst.direction !== undefined ? `direction ${g.worst.direction}` : `(${g.worst.index.join(', ')})`;
  return `${g.name} is not the gradient of your own forward at ${at}: yours ${fmtVal(g.worst.analytic)}, numeric ${fmtVal(g.worst.numeric)} (rel error ${fmtErr(g.relError)} > ${fmtErr(g.threshold)})`;
}

/** Signatures of failures that stop the process or worker: shrinking them would cost a restart, or a timeout, per try. */
export const UNSHRINKABLE = new Set(['error:timeout', 'error:not-run', 'error:ended']);

/** The kind of an error message, for signatures: the exception's type, or what went wrong. */
function errorKind(message: string): string {
  // A call refused because an earlier one stopped the process (its message quotes that one's).
  if (/ not run: /.test(message)) return 'not-run';
  const raised = /(?:raised|threw) (\w+)/.exec(message);
  if (raised) return raised[1];
  if (/did not finish within/.test(message)) return 'timeout';
  if (/process ended|ended its worker/.test(message)) return 'ended';
  return message
    .replace(/\(.*?\)/g, '')
    .replace(/[\d.e+-]+/g, '#')
    .slice(0, 80);
}

/** Signature of a failing comparison: the failing arrays with their hint kinds (or shape mismatches). */
function signatureOf(status: CaseStatus, message: string, arrays: ArrayReport[]): string {
  if (status === 'error') return `error:${errorKind(message)}`;
  const bad = arrays
    .filter((a) => !a.pass)
    .map((a) => `${a.name}:${a.localization?.hint?.kind ?? (a.message?.includes('has shape') ? 'shape' : a.message ? 'message' : 'values')}`);
  return `${status}:${bad.sort().join(',')}`;
}

/** Run case `mc` for implementation `im` of `spec` (see the module comment). */
export function runCase(spec: LayerSpec, im: Implementation, mc: MaterializedCase, opts: RunCaseOptions): CaseRun {
  const owns = im.ownsError ?? (() => true);
  const isImplError = (err: unknown) => owns(err);
  const { impl, first } = recording(im.impl);
  const info: string[] = [];
  const warnings: string[] = [];
  const inputs: Inputs = {};
  for (const [k, t] of Object.entries(mc.inputs)) inputs[k] = inDType(t, mc.dtype);
  const dout = inDType(mc.dout, mc.dtype);
  const testMode = isTestMode(spec, mc.params);
  const pre: ArrayReport[] = [];
  let preError: string | undefined;
  const reference = spec.impls.naive;

  // Batchnorm's train-mode passes before test mode: the running statistics each leaves.
  if (mc.train) {
    const trainParams = { ...mc.params, mode: 'train' };
    let mine: Inputs = { ...inputs };
    let ref: Inputs = { ...mc.inputs };
    for (let k = 0; k < mc.train.length && !preError; k++) {
      try {
        const f = im.impl.forward({ ...mine, x: inDType(mc.train[k], mc.dtype) }, trainParams);
        if (!f.state?.running_mean || !f.state?.running_var) preError = `train-mode pass ${k + 1}: the forward returned no running statistics`;
        else mine = { ...mine, running_mean: f.state.running_mean, running_var: f.state.running_var };
      } catch (err) {
        if (!isImplError(err)) throw err;
        preError = `train-mode pass ${k + 1} of ${mc.train.length}: ${(err as Error).message}`;
      }
      const r = reference.forward({ ...ref, x: mc.train[k] }, trainParams);
      ref = { ...ref, running_mean: r.state!.running_mean, running_var: r.state!.running_var };
    }
    if (!preError) {
      const steps = mc.train.length;
      for (const stat of ['running_mean', 'running_var']) {
        const a = judgeArray(`${stat} after ${steps} train passes`, { data: mine[stat].data, shape: mine[stat].shape, dtype: mc.dtype }, ref[stat]);
        pre.push(a);
      }
    }
    // The test-mode pass runs with the reference's statistics, so it is judged on its own.
    inputs.running_mean = inDType(ref.running_mean, mc.dtype);
    inputs.running_var = inDType(ref.running_var, mc.dtype);
    mc = { ...mc, inputs: { ...mc.inputs, running_mean: ref.running_mean, running_var: ref.running_var } };
  }

  const cmp = preError ? { arrays: [] as ArrayReport[], failure: preError } : compareWithReference(spec, impl, inputs, mc.params, dout, { isImplError });
  const refFwd = reference.forward(mc.inputs, mc.params);
  const refArrays = named(refFwd, reference.backward(mc.dout, refFwd.cache));
  const yours = named(first.fwd, first.grads);

  // What decides the case: in test mode, out and the state only; the gradients are information.
  let judged = [...pre, ...cmp.arrays];
  // An out of the wrong shape is a wrong result, not a failed call: its row says so.
  let error = cmp.failure?.startsWith("forward's out has shape") ? undefined : cmp.failure;
  if (testMode && !preError) {
    const grads = cmp.arrays.filter((a) => a.name.startsWith('d'));
    judged = [...pre, ...cmp.arrays.filter((a) => !a.name.startsWith('d'))];
    const outOk = judged.every((a) => a.pass || !a.message?.startsWith('not compared'));
    if (error && first.fwd) {
      info.push(`backward in test mode: ${error} (cs231n asks for the backward in train mode only)`);
      error = undefined;
    } else if (!error && outOk) {
      info.push(
        grads.every((a) => a.pass)
          ? 'backward in test mode: defined, and it matches the reference (running statistics held constant)'
          : `backward in test mode: defined, and differs from the reference (${grads
              .filter((a) => !a.pass)
              .map((a) => a.name)
              .join(', ')}); cs231n asks for it in train mode only`,
      );
    }
  }

  // Max-pool ties: a dx that differs from the reference's first-maximum routing only at tied windows.
  let convention: TieConvention | undefined;
  if (opts.ties && spec.name === 'maxpool' && !error) {
    const dx = yours.get('dx');
    const row = judged.find((a) => a.name === 'dx');
    if (dx && row && row.dtype !== '-' && dx.shape.length === 4 && formatShape(dx.shape) === formatShape(mc.inputs.x.shape)) {
      const t = judgeTies(mc.inputs.x, mc.dout, inDType(dx, 'float64'), mc.params as never, row.threshold);
      if (t) {
        convention = t.convention;
        if (t.mask) {
          row.pass = true;
          warnings.push(tieWarning(t));
        } else if (t.valid && !row.pass) {
          row.pass = true;
          info.push(`dx differs from the reference's (the first maximum) at tied windows only, and is a valid split of dout there (${t.convention})`);
        } else if (!t.valid && t.message) row.message ??= `dx is not a split of dout over the maxima: ${t.message}`;
        if (t.tiedWindows && t.convention) info.push(`ties: ${t.tiedWindows} windows with tied maxima; your backward splits dout there as: ${t.convention}`);
      }
    }
  }

  let gradients: GradientRow[] = [];
  const problems: string[] = [];
  if (opts.gradcheck && !error && !testMode) {
    try {
      const res = gradCheck(spec, impl, inputs, mc.params, {
        rng: new XoshiroRng(mc.seed),
        dout,
        mode: opts.mode,
        samples: GRADE_SAMPLES,
        dtype: mc.dtype,
        sampleSeed: mc.seed,
        deadline: opts.deadline,
        numericImpl: spec.impls.fast ?? spec.impls.naive,
      });
      gradients = res.gradients;
      problems.push(...res.problems);
      for (const g of gradients) if (g.unchecked) info.push(`${g.name}: ${g.unchecked}`);
    } catch (err) {
      if (!isImplError(err)) throw err;
      problems.push(`the gradient check stopped: ${(err as Error).message}`);
    }
    // The ties case: a mask-style backward is no gradient error at tied elements (kinks, left out), so rows pass.
  }

  const badArrays = judged.filter((a) => !a.pass);
  const badGrads = gradients.filter((g) => !g.pass);
  let status: CaseStatus;
  let message = '';
  let hint: Hint | undefined;
  if (error) {
    status = 'error';
    message = error;
  } else if (badArrays.length || badGrads.length || problems.length) {
    status = 'fail';
    message = badArrays.length ? arrayMessage(badArrays[0]) : badGrads.length ? gradientMessage(badGrads[0]) : problems[0];
    hint = badArrays.find((a) => a.localization?.hint)?.localization?.hint ?? badGrads.find((g) => g.localization?.hint)?.localization?.hint ?? undefined;
  } else status = warnings.length ? 'warn' : 'pass';
  if (status === 'warn') message = 'ties: dout given whole to every tied maximum (see the warning)';
  return {
    status,
    message,
    ...(hint ? { hint } : {}),
    arrays: judged,
    gradients,
    info,
    warnings,
    ...(convention ? { convention } : {}),
    yours,
    reference: refArrays,
    used: mc.inputs,
    signature: signatureOf(status, message, judged),
  };
}

/** The comparison tolerance of a dtype (for messages). */
export function compareTolerance(dtype: string): number {
  return dtype === 'float32' ? COMPARE_TOLERANCE.float32.threshold : COMPARE_TOLERANCE.float64.threshold;
}
