/**
 * The numeric side of a gradient check: centred differences of L = sum(out * dout) along one
 * element or one direction of an input, always in float64 whatever the dtype of the layer
 * under check (inputs and dout are float64 copies of the values the layer saw).
 *
 * Per-sample layers are evaluated on one sample: perturbing x[n, ...] of a layer whose output
 * for sample n depends on sample n only changes nothing else, so the centred difference of
 * sample n's slice (x[n:n+1], dout[n:n+1]) is the same number at 1/N of the cost. Whether a
 * layer is per-sample is not declared anywhere, so it is tested at the base point: the slice's
 * output must equal rows n of the full output (batchnorm in train mode fails this and is
 * always evaluated on the whole batch).
 */
import type { LayerImpl, Params } from '../layers/types.js';
import { size, type Tensor } from '../tensor/tensor.js';

/** One numeric derivative and whether its centred difference straddles a kink. */
export interface NumericValue {
  value: number;
  kink: boolean;
  /** Rounding noise of `value` (element evaluations; see `roundingNoise`). */
  noise: number;
}

/** float64 machine epsilon, 2^-52 (twice the unit roundoff: a margin for the forward's own sums). */
const EPS64 = 2 ** -52;

/**
 * The rounding noise of a centred difference. Each output the perturbation moves is a sum of
 * about K terms (K = forward work / 2 outputs: C*HH*WW for a conv), computed twice with rounding
 * errors that grow like eps * sqrt(K) * |out_k| (a random walk, as in precision.ts), so the
 * difference carries about `growth` * eps * sum_k (|out+_k| + |out-_k|) * |dout_k| / 2h with
 * growth = sqrt(K). Summing over the outputs instead of adding in quadrature is a margin of
 * sqrt(outputs moved). A numeric value within this of the analytic one agrees as well as the
 * numeric side can tell; the cs231n relative error of a gradient element that is ~0 by
 * cancellation is otherwise all noise (3e-7 at h = 1e-5 for an element of 6e-4 in a conv whose
 * outputs are ~8).
 */
export function roundingNoise(plus: ArrayLike<number>, minus: ArrayLike<number>, dout: ArrayLike<number>, h: number, growth = 1): number {
  let s = 0;
  for (let k = 0; k < plus.length; k++) {
    if (plus[k] !== minus[k]) s += (Math.abs(plus[k]) + Math.abs(minus[k])) * Math.abs(dout[k]);
  }
  return (growth * EPS64 * s) / (2 * h);
}

/**
 * (L+ - L-) / 2h with L = sum(out * dout), computed as sum((out+ - out-) * dout) / 2h.
 * PERF/NOTE: differencing element-wise first is the same number mathematically, but outputs
 * the perturbation does not touch cancel exactly, so the rounding noise scales with the
 * affected outputs only instead of with all of |L|: ~1e-16 * |out| / h rather than
 * ~1e-16 * sum|out * dout| / h. Without it, small gradient elements show spurious relative
 * errors around 1e-6 at the cs231n shapes.
 */
export function centredDifference(plus: ArrayLike<number>, minus: ArrayLike<number>, dout: ArrayLike<number>, h: number): number {
  let s = 0;
  for (let k = 0; k < plus.length; k++) {
    const d = plus[k] - minus[k];
    if (d !== 0) s += d * dout[k];
  }
  return s / (2 * h);
}

/** True when both switch arrays are absent or equal (the same side of every kink). */
export function sameSwitches(a: Int32Array | undefined, b: Int32Array | undefined): boolean {
  if (!a || !b) return true;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Largest relative difference between a one-sample output and rows n of the full one still taken as equal. */
export const SLICE_AGREEMENT = 1e-9;

export interface NumericSideOptions {
  /** Evaluate elements of `x` on one sample when the layer is per-sample (tested at the base point). */
  sliceBatch?: boolean;
  /** `impl`'s output at the base point, needed for the per-sample test (computed when absent). */
  baseOut?: Tensor;
  /** sqrt(terms per output) of the forward pass, for `roundingNoise` (default 1). */
  noiseGrowth?: number;
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
  /** True once the layer was found per-sample (elements of x evaluated on one sample), false when not. */
  perSample: boolean | undefined;
  private readonly work = new Map<string, Tensor>();
  private slice: SliceState | undefined;
  private readonly costs = new Map<string, { ms: number; count: number }>();

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
    return c && c.count ? c.ms / c.count : undefined;
  }

  /** The one-sample state for sample n of x, or undefined when the layer is not per-sample. */
  private sliceFor(n: number): SliceState | undefined {
    if (!this.opts.sliceBatch || this.perSample === false) return undefined;
    if (this.slice && this.slice.n === n) return this.slice;
    const x = this.inputs.x;
    const N = x.shape[0];
    const baseOut = this.opts.baseOut ?? (this.opts.baseOut = this.forward(this.inputs).out);
    if (x.shape.length < 2 || N < 2 || baseOut.shape[0] !== N) {
      this.perSample = false;
      return undefined;
    }
    const perSample = size(x.shape) / N;
    const outPer = size(baseOut.shape) / N;
    const xs: Tensor = { data: Float64Array.from(x.data.subarray(n * perSample, (n + 1) * perSample)), shape: [1, ...x.shape.slice(1)] };
    const dout: Tensor = { data: Float64Array.from(this.dout.data.subarray(n * outPer, (n + 1) * outPer)), shape: [1, ...this.dout.shape.slice(1)] };
    const state: SliceState = { n, perSample, inputs: { ...this.inputs, x: xs }, dout };
    if (this.perSample === undefined) {
      let out: ArrayLike<number>;
      try {
        out = this.forward(state.inputs).out.data;
      } catch {
        // A layer that refuses a batch of one is evaluated on the whole batch.
        this.perSample = false;
        return undefined;
      }
      let scale = 0;
      let diff = 0;
      for (let k = 0; k < outPer; k++) {
        const ref = baseOut.data[n * outPer + k];
        scale = Math.max(scale, Math.abs(ref));
        diff = Math.max(diff, Math.abs(out[k] - ref));
      }
      this.perSample = out.length === outPer && diff <= SLICE_AGREEMENT * Math.max(scale, 1e-300);
      if (!this.perSample) return undefined;
    }
    this.slice = state;
    return state;
  }

  /**
   * d L / d input[flat] by centred differences with step h; `slice` allows evaluating an
   * element of x on its sample alone (when the side was created with `sliceBatch`).
   */
  element(name: string, flat: number, h: number, slice = true): NumericValue {
    const t0 = performance.now();
    let value: number;
    let kink: boolean;
    let noise: number;
    const s = slice && name === 'x' ? this.sliceFor(Math.floor(flat / (size(this.inputs.x.shape) / this.inputs.x.shape[0]))) : undefined;
    if (s) {
      const local = flat - s.n * s.perSample;
      const xs = s.inputs.x.data;
      const v = xs[local];
      xs[local] = v + h;
      const plus = this.forward(s.inputs);
      xs[local] = v - h;
      const minus = this.forward(s.inputs);
      xs[local] = v;
      value = centredDifference(plus.out.data, minus.out.data, s.dout.data, h);
      noise = roundingNoise(plus.out.data, minus.out.data, s.dout.data, h, this.opts.noiseGrowth);
      kink = !sameSwitches(plus.switches, minus.switches);
    } else {
      const t = this.workCopy(name);
      const evalInputs = { ...this.inputs, [name]: t };
      const v = t.data[flat];
      t.data[flat] = v + h;
      const plus = this.forward(evalInputs);
      t.data[flat] = v - h;
      const minus = this.forward(evalInputs);
      t.data[flat] = v;
      value = centredDifference(plus.out.data, minus.out.data, this.dout.data, h);
      noise = roundingNoise(plus.out.data, minus.out.data, this.dout.data, h, this.opts.noiseGrowth);
      kink = !sameSwitches(plus.switches, minus.switches);
    }
    this.record(`element:${name}`, t0);
    return { value, kink, noise };
  }

  /** d L / d step along the unit direction u of input `name`: (L(x + step u) - L(x - step u)) / 2 step. */
  direction(name: string, u: Float64Array, step: number): NumericValue {
    const t0 = performance.now();
    const base = this.inputs[name].data;
    const t = this.workCopy(name);
    const evalInputs = { ...this.inputs, [name]: t };
    for (let i = 0; i < base.length; i++) t.data[i] = base[i] + step * u[i];
    const plus = this.forward(evalInputs);
    for (let i = 0; i < base.length; i++) t.data[i] = base[i] - step * u[i];
    const minus = this.forward(evalInputs);
    (t.data as Float64Array).set(base);
    const value = centredDifference(plus.out.data, minus.out.data, this.dout.data, step);
    this.record(`direction:${name}`, t0);
    return { value, kink: !sameSwitches(plus.switches, minus.switches), noise: 0 };
  }
}
