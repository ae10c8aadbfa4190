/**
 * The numeric side of a gradient check: centred differences of L = sum(out * dout) along one
 * element or one direction of an input, in float64 whatever the dtype of the layer under check
 * (inputs and dout are float64 copies of the values the layer saw; gradcheck.ts picks a forward
 * that computes in float64, see precision.ts).
 *
 * Per-sample layers are evaluated on one sample: perturbing x[n, ...] of a layer whose output
 * for sample n depends on sample n only changes nothing else, so the centred difference of
 * sample n's slice (x[n:n+1], dout[n:n+1]) is the same number at 1/N of the cost. Whether a
 * layer is per-sample is not declared anywhere, so it is tested at the base point for each
 * sample: the slice's output must equal rows n of the full output (batchnorm in train mode fails
 * this and is always evaluated on the whole batch; dropout passes it for sample 0 only). A full
 * check asks for the same bits (`sliceAgreement` 0), which makes every centred difference the
 * whole batch's to the last bit (outputs the step does not move are skipped in the sum either
 * way), and asks the reference first (`perSampleLayer`).
 *
 * The step actually taken is (x + h) - (x - h) as float64 rounds it, not 2h: at |x| = 1e6 the two
 * differ by up to 6e-6 relative, which alone failed a correct batchnorm. Where x + h == x (|x|
 * above ~2^53 h) or x +- h overflows there is no step at all: the element is `unresolved`, a limit
 * of the check at that magnitude, never a failure of the layer. Directions return the step taken
 * per element (`along`), and the analytic side is taken along it.
 */
import type { ForwardResult, LayerImpl, Params } from '../layers/types.js';
import { size, type Tensor } from '../tensor/tensor.js';

/** One numeric derivative and whether its centred difference straddles a kink. */
export interface NumericValue {
  value: number;
  kink: boolean;
  /** Rounding noise of `value` (see `roundingNoise`). */
  noise: number;
  /** With `keep`: what the noise came from, to count it again over other outputs (`NumericSide.noiseOver`). */
  outputs?: EvaluatedOutputs;
  /** The step vanished below the input's resolution (x + h == x) or overflowed: `value` is NaN. */
  unresolved?: boolean;
  /**
   * Directions: the perturbation actually applied, divided by 2 step (u up to rounding); the
   * analytic side is <grad, along>, the derivative along the step that was taken.
   */
  along?: Float64Array;
}

/** The outputs of one centred difference, as `roundingNoise` needs them. */
export interface EvaluatedOutputs {
  plus: ArrayLike<number>;
  minus: ArrayLike<number>;
  dout: ArrayLike<number>;
  /** The whole step taken, (x + h) - (x - h). */
  step: number;
}

/** Unit roundoff of float64, 2^-53. */
export const FLOAT64_UNIT_ROUNDOFF = 2 ** -53;

/**
 * The rounding noise of a centred difference with step 2h, as modelled from the outputs. Each
 * output the perturbation moves is a sum of about K terms (K = forward work / 2 outputs: C*HH*WW
 * for a conv), computed twice with rounding errors that grow like u * sqrt(K) * |out_k| (a random
 * walk, as in precision.ts), so the difference carries about
 * growth * 2u * sum_k (|out+_k| + |out-_k|) * |dout_k| / 2h with growth = sqrt(K) and u the unit
 * roundoff of the forward's arithmetic (`unitRoundoff`, float64's by default). Summing over the
 * outputs instead of adding in quadrature is a margin of sqrt(outputs moved), 2u instead of u
 * another factor 2. When no output moved at all, the change of L may have been lost in the
 * rounding of the outputs (a step of 1e-5 in b against outputs of 1e150): the noise is then that
 * of the one output with the largest term, the smallest change L can resolve. With `dependent`,
 * outputs known to depend on the perturbed input count whether they moved or not: one that did
 * not may have lost up to a rounding of its change (steps of a few ulps of x = 1e9). A numeric value
 * within this of the analytic one agrees as well as the numeric side can tell; the cs231n
 * relative error of a gradient element that is ~0 by cancellation is otherwise all noise (3e-7 at
 * h = 1e-5 for an element of 6e-4 in a conv whose outputs are ~8). Rounding inside that is larger
 * than the outputs (x - mean of a normalization at |x| = 1e4 >> |out|) is not in this model: the
 * checker measures it where it matters (modes.ts, resampling).
 */
export function roundingNoise(
  plus: ArrayLike<number>,
  minus: ArrayLike<number>,
  dout: ArrayLike<number>,
  h: number,
  growth = 1,
  unitRoundoff = FLOAT64_UNIT_ROUNDOFF,
  dependent?: Uint8Array,
): number {
  let s = 0;
  let largest = 0;
  for (let k = 0; k < plus.length; k++) {
    const term = (Math.abs(plus[k]) + Math.abs(minus[k])) * Math.abs(dout[k]);
    if (plus[k] !== minus[k] || dependent?.[k]) s += term;
    else if (term > largest) largest = term;
  }
  if (s === 0) s = largest;
  return (growth * 2 * unitRoundoff * s) / (2 * h);
}

/**
 * sum((out+ - out-) * dout) / step, the centred difference with step = (x + h) - (x - h).
 * PERF/NOTE: differencing element-wise first is (L+ - L-) / step mathematically, but outputs
 * the perturbation does not touch cancel exactly, so the rounding noise scales with the
 * affected outputs only instead of with all of |L|: ~1e-16 * |out| / h rather than
 * ~1e-16 * sum|out * dout| / h. Without it, small gradient elements show spurious relative
 * errors around 1e-6 at the cs231n shapes.
 */
export function centredDifference(plus: ArrayLike<number>, minus: ArrayLike<number>, dout: ArrayLike<number>, h: number, step = 2 * h): number {
  let s = 0;
  for (let k = 0; k < plus.length; k++) {
    const d = plus[k] - minus[k];
    if (d !== 0) s += d * dout[k];
  }
  return s / step;
}

/** True when both switch arrays are absent or equal (the same side of every kink). */
export function sameSwitches(a: Int32Array | undefined, b: Int32Array | undefined): boolean {
  if (!a || !b) return true;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * Largest relative difference between a one-sample output and rows n of the full one still taken
 * as equal, outside a full check (a full check asks for the same bits: `sliceAgreement` 0).
 */
export const SLICE_AGREEMENT = 1e-9;

export interface NumericSideOptions {
  /** Evaluate elements of `x` on one sample when the layer is per-sample (tested at the base point). */
  sliceBatch?: boolean;
  /** The per-sample test's agreement (default SLICE_AGREEMENT); 0: the one-sample output must be rows n bit for bit. */
  sliceAgreement?: number;
  /** `impl`'s output at the base point, needed for the per-sample test (computed when absent). */
  baseOut?: Tensor;
  /** sqrt(terms per output) of the forward pass, for `roundingNoise` (default 1). */
  noiseGrowth?: number;
  /** Unit roundoff of `impl`'s arithmetic: float64's unless it computes in float32 whatever it is given. */
  unitRoundoff?: number;
}

/** True when x has a batch axis of 2 or more samples that `out` keeps as its first axis. */
function hasBatch(inputs: Record<string, Tensor>, out: Tensor): boolean {
  const x = inputs.x;
  return !!x && x.shape.length >= 2 && x.shape[0] >= 2 && out.shape[0] === x.shape[0];
}

/** The inputs with x cut to sample n (x[n:n+1]); the others as they are. */
function oneSample(inputs: Record<string, Tensor>, n: number): Record<string, Tensor> {
  const x = inputs.x;
  const per = size(x.shape) / x.shape[0];
  return { ...inputs, x: { data: Float64Array.from(x.data.subarray(n * per, (n + 1) * per)), shape: [1, ...x.shape.slice(1)] } };
}

/**
 * Whether `impl` on sample n alone (`one`, from oneSample) gives rows n of `full`, its output on
 * the whole batch, to `agreement` of their magnitude (0: bit for bit); false when it throws (a
 * layer that refuses a batch of one is evaluated on the whole batch).
 */
function sampleAgrees(impl: LayerImpl, one: Record<string, Tensor>, params: Params, full: Tensor, n: number, agreement: number): boolean {
  let out: ArrayLike<number>;
  try {
    out = impl.forward(one, params).out.data;
  } catch {
    return false;
  }
  const outPer = size(full.shape) / full.shape[0];
  if (out.length !== outPer) return false;
  let scale = 0;
  let diff = 0;
  for (let k = 0; k < outPer; k++) {
    const ref = full.data[n * outPer + k];
    scale = Math.max(scale, Math.abs(ref));
    diff = Math.max(diff, Math.abs(out[k] - ref));
  }
  return diff <= agreement * Math.max(scale, 1e-300);
}

/**
 * Whether every sample of x is independent under `impl` at these inputs: its output on each
 * sample alone is that sample's rows of its output on the batch, bit for bit. A full check asks
 * this of the reference before it evaluates anyone's forward on one sample, so a layer that couples
 * its samples (batchnorm in train mode, dropout's mask) never runs a user's code on a batch of one.
 */
export function perSampleLayer(impl: LayerImpl, inputs: Record<string, Tensor>, params: Params): boolean {
  let full: Tensor;
  try {
    full = impl.forward(inputs, params).out;
  } catch {
    return false;
  }
  if (!hasBatch(inputs, full)) return false;
  for (let n = 0; n < inputs.x.shape[0]; n++) if (!sampleAgrees(impl, oneSample(inputs, n), params, full, n, 0)) return false;
  return true;
}

interface SliceState {
  n: number;
  perSample: number;
  inputs: Record<string, Tensor>;
  dout: Tensor;
}

/** Centred differences of one implementation's forward pass around fixed float64 inputs. */
export class NumericSide {
  /** Forward passes run so far. */
  forwards = 0;
  /** True once a sample was found per-sample (its elements of x evaluated on it alone), false once one was not. */
  perSample: boolean | undefined;
  private readonly work = new Map<string, Tensor>();
  private slice: SliceState | undefined;
  /** Samples whose one-sample output was found equal to their rows of the full output. */
  private readonly verified = new Set<number>();
  private readonly costs = new Map<string, { ms: number; count: number }>();
  /** Forward passes evaluated ahead by `prefetch`, by element and step, each taken once by `element`. */
  private readonly ahead = new Map<string, { plus: ForwardResult; minus: ForwardResult; sliced: boolean }>();

  constructor(
    readonly impl: LayerImpl,
    readonly inputs: Record<string, Tensor>,
    readonly params: Params,
    readonly dout: Tensor,
    private readonly opts: NumericSideOptions = {},
  ) {}

  private forward(inputs: Record<string, Tensor>) {
    this.forwards++;
    return this.impl.forward(inputs, this.params);
  }

  private workCopy(name: string): Tensor {
    let t = this.work.get(name);
    if (!t) {
      const base = this.inputs[name];
      t = { data: Float64Array.from(base.data), shape: base.shape };
      this.work.set(name, t);
    }
    return t;
  }

  private record(kind: string, t0: number): void {
    const c = this.costs.get(kind) ?? { ms: 0, count: 0 };
    c.ms += performance.now() - t0;
    c.count++;
    this.costs.set(kind, c);
  }

  /** Mean wall time (ms) of one evaluation of `kind` ('element:x', 'direction:w') so far. */
  costMs(kind: string): number | undefined {
    const c = this.costs.get(kind);
    return c?.count ? c.ms / c.count : undefined;
  }

  private noise(plus: ArrayLike<number>, minus: ArrayLike<number>, dout: ArrayLike<number>, step: number): number {
    return roundingNoise(plus, minus, dout, step / 2, this.opts.noiseGrowth, this.opts.unitRoundoff);
  }

  /** The rounding noise of a kept evaluation with the `dependent` outputs counted too (see `roundingNoise`). */
  noiseOver(o: EvaluatedOutputs, dependent: Uint8Array): number {
    return roundingNoise(o.plus, o.minus, o.dout, o.step / 2, this.opts.noiseGrowth, this.opts.unitRoundoff, dependent);
  }

  /** The one-sample state for sample n of x, or undefined when the layer is not per-sample. */
  private sliceFor(n: number): SliceState | undefined {
    if (!this.opts.sliceBatch || this.perSample === false) return undefined;
    if (this.slice && this.slice.n === n) return this.slice;
    this.opts.baseOut ??= this.forward(this.inputs).out;
    const baseOut = this.opts.baseOut;
    if (!hasBatch(this.inputs, baseOut)) {
      this.perSample = false;
      return undefined;
    }
    const N = this.inputs.x.shape[0];
    const outPer = size(baseOut.shape) / N;
    const dout: Tensor = { data: Float64Array.from(this.dout.data.subarray(n * outPer, (n + 1) * outPer)), shape: [1, ...this.dout.shape.slice(1)] };
    const state: SliceState = { n, perSample: size(this.inputs.x.shape) / N, inputs: oneSample(this.inputs, n), dout };
    // Tested for every sample, not once: a layer may match rows 0 alone (dropout draws its mask for
    // the batch's shape, so a one-sample batch gets the first sample's mask whichever sample it is).
    if (!this.verified.has(n)) {
      this.forwards++;
      this.perSample = sampleAgrees(this.impl, state.inputs, this.params, baseOut, n, this.opts.sliceAgreement ?? SLICE_AGREEMENT);
      if (!this.perSample) return undefined;
      this.verified.add(n);
    }
    this.slice = state;
    return state;
  }

  /** Where element `flat` of input `name` is perturbed: the inputs to evaluate (one sample's or all), its index there, and their dout. */
  private place(name: string, flat: number, slice: boolean): { inputs: Record<string, Tensor>; at: number; dout: ArrayLike<number>; sliced: boolean } {
    const s = slice && name === 'x' ? this.sliceFor(Math.floor(flat / (size(this.inputs.x.shape) / this.inputs.x.shape[0]))) : undefined;
    if (s) return { inputs: s.inputs, at: flat - s.n * s.perSample, dout: s.dout.data, sliced: true };
    return { inputs: { ...this.inputs, [name]: this.workCopy(name) }, at: flat, dout: this.dout.data, sliced: false };
  }

  /**
   * Run the forward passes of elements `flats` of input `name` at step h (as `element` would, with
   * `slice`) in one call of the implementation's forwardMany, where it has one: a module in a
   * Python process then answers one request instead of two per element. `element` takes the
   * results from here; without forwardMany nothing is evaluated ahead. A call that fails throws
   * here what the element's own forward pass would have thrown (the same function, the same inputs).
   */
  prefetch(name: string, flats: readonly number[], h: number, slice = true): void {
    const many = this.impl.forwardMany;
    if (!many || flats.length < 2) return;
    const t0 = performance.now();
    const runs: Record<string, Tensor>[] = [];
    const keys: string[] = [];
    const placed: boolean[] = [];
    for (const flat of flats) {
      const key = `${name}:${flat}:${h}:${slice}`;
      if (this.ahead.has(key)) continue;
      const { inputs, at, sliced } = this.place(name, flat, slice);
      const t = inputs[name];
      const v = t.data[at];
      const step = v + h - (v - h);
      // As in `element`: no forward pass for a step float64 cannot represent.
      if (!(step > 0) || !Number.isFinite(step)) continue;
      for (const value of [v + h, v - h]) {
        const data = Float64Array.from(t.data);
        data[at] = value;
        runs.push({ ...inputs, [name]: { data, shape: t.shape } });
      }
      keys.push(key);
      placed.push(sliced);
    }
    if (keys.length < 2) return;
    const results = many.call(this.impl, runs, this.params);
    this.forwards += runs.length;
    for (const [k, key] of keys.entries()) this.ahead.set(key, { plus: results[2 * k], minus: results[2 * k + 1], sliced: placed[k] });
    // Each element's share of the call, as its cost (auto mode's budget and localization read it).
    const c = this.costs.get(`element:${name}`) ?? { ms: 0, count: 0 };
    c.ms += performance.now() - t0;
    this.costs.set(`element:${name}`, c);
  }

  /**
   * d L / d input[flat] by centred differences with step h; `slice` allows evaluating an
   * element of x on its sample alone (when the side was created with `sliceBatch`); `keep`
   * returns the outputs too.
   */
  element(name: string, flat: number, h: number, slice = true, keep = false): NumericValue {
    const t0 = performance.now();
    const { inputs: evalInputs, at, dout, sliced } = this.place(name, flat, slice);
    const t = evalInputs[name];
    const v = t.data[at];
    const xp = v + h;
    const xm = v - h;
    const step = xp - xm;
    // NOTE: a step float64 cannot represent is no evidence about the layer: no forward runs.
    if (!(step > 0) || !Number.isFinite(step)) return { value: NaN, kink: false, noise: 0, unresolved: true };
    const key = `${name}:${flat}:${h}:${slice}`;
    let passes = this.ahead.get(key);
    this.ahead.delete(key);
    // NOTE: evaluated ahead on one sample, but a later sample was found not per-sample: again, on the batch.
    if (passes?.sliced !== sliced) passes = undefined;
    if (!passes) {
      t.data[at] = xp;
      const plus = this.forward(evalInputs);
      t.data[at] = xm;
      const minus = this.forward(evalInputs);
      t.data[at] = v;
      passes = { plus, minus, sliced };
    }
    const { plus, minus } = passes;
    const value = centredDifference(plus.out.data, minus.out.data, dout, h, step);
    const noise = this.noise(plus.out.data, minus.out.data, dout, step);
    this.record(`element:${name}`, t0);
    const r: NumericValue = { value, kink: !sameSwitches(plus.switches, minus.switches), noise };
    if (keep) r.outputs = { plus: plus.out.data, minus: minus.out.data, dout, step };
    return r;
  }

  /**
   * d L / d step along the unit direction u of input `name`: (L(x + step u) - L(x - step u)) / 2 step,
   * with `along` the perturbation float64 actually applied over 2 step; `keep` returns the outputs
   * too. Unresolved when no element moved or one overflowed.
   */
  direction(name: string, u: Float64Array, step: number, keep = false): NumericValue {
    const t0 = performance.now();
    const evalInputs = { ...this.inputs, [name]: this.workCopy(name) };
    const t = evalInputs[name];
    const base = this.inputs[name].data;
    const plusX = new Float64Array(base.length);
    const along = new Float64Array(base.length);
    let moved = false;
    let finite = true;
    for (let i = 0; i < base.length; i++) {
      const p = base[i] + step * u[i];
      const m = base[i] - step * u[i];
      plusX[i] = p;
      t.data[i] = m;
      along[i] = (p - m) / (2 * step);
      if (p !== m) moved = true;
      if (!Number.isFinite(along[i])) finite = false;
    }
    if (!moved || !finite) {
      (t.data as Float64Array).set(base);
      return { value: NaN, kink: false, noise: 0, unresolved: true, along };
    }
    const minus = this.forward(evalInputs);
    (t.data as Float64Array).set(plusX);
    const plus = this.forward(evalInputs);
    (t.data as Float64Array).set(base);
    const value = centredDifference(plus.out.data, minus.out.data, this.dout.data, step);
    const noise = this.noise(plus.out.data, minus.out.data, this.dout.data, 2 * step);
    this.record(`direction:${name}`, t0);
    const r: NumericValue = { value, kink: !sameSwitches(plus.switches, minus.switches), noise, along };
    if (keep) r.outputs = { plus: plus.out.data, minus: minus.out.data, dout: this.dout.data, step: 2 * step };
    return r;
  }
}
