/**
 * Hints for the mistakes numpy users make, and the full diagnosis of arrays compared with the
 * reference (an `--impl` module's results, a fixture's).
 *
 * A gradient check (localize.ts) sees only the analytic and numeric gradient; one more pattern
 * is recognizable there:
 * - `unused-input`: the numeric gradient is zero everywhere and the analytic one is not: the
 *   forward does not depend on that input (a bias never added).
 *
 * Most numpy mistakes are found by comparing with the reference, because a forward that is
 * wrong and a backward consistent with it pass any gradient check. Each detector here states a
 * hypothesis as the arrays a layer with that mistake would produce, computed by the reference
 * implementations on the same inputs, and a failing array that equals them gets the hint:
 * - `bias-missing`: out equals the reference's with b = 0;
 * - `one-sample`: dw or db equals one sample's gradient (the last or the first): assigned in the
 *   loop over samples instead of accumulated;
 * - `batch-not-summed`: a gradient of shape (N, ...) whose sum over axis 0 is the reference's;
 * - `empty-crop`: dx with an empty spatial axis at pad = 0 (`dxp[:, :, pad:-pad, pad:-pad]`);
 * - `stride-axis`: out / dx / dw of a sliding window whose stride is ignored along H or W;
 * - `flipped-kernel`: out / dx / dw of a convolution with HH and WW reversed;
 * - `reshape-without-transpose`: spatial batchnorm applied to x.reshape(-1, C);
 * - `interleaved-groups`: group norm with channel c in group c % G instead of c // (C / G);
 * - `unbiased-running-var`: running_var updated with the ddof=1 batch variance;
 * - `test-mode-batch-stats`: test mode normalizing with the batch's statistics;
 * - `test-mode-no-affine`: test mode without gamma and beta (out of the reference with gamma = 1, beta = 0);
 * - `per-position-stats`: spatial batchnorm with statistics per channel and position over N only;
 * - `pool-step-size`: max-pool windows stepping by the window's size instead of the stride;
 * - `dropout-unscaled`: inverted dropout whose mask is not divided by p;
 * - `loss-not-averaged`: a loss and its dx summed over the batch instead of averaged;
 * - `not-reshaped` (shapes): affine's dx left in the flattened (N, D) shape;
 * - `running-stats-saved-after` (fixtures): the input running_mean / running_var equal the
 *   fixture's `_after` values: saved after the forward pass updated bn_param in place.
 * What is left, the generic patterns (a constant factor such as db averaged over N*Hout*Wout, a
 * sign, a mirrored or shifted array), comes from localize(), run with the judged array in the
 * place of the analytic gradient and the reference's in the place of the numeric one, and its
 * messages worded for a comparison (`your db = the reference / 100 ...`).
 */
import { getLayer } from '../layers/registry.js';
import type { ForwardResult, Gradients, Inputs, LayerMemory, LayerSpec, MemoryContext, Params, Shapes } from '../layers/types.js';
import { totalOf } from '../memory/estimate.js';
import { REL_ERROR_FLOOR } from '../tensor/compare.js';
import { formatShape, inDType, sameShape, size, type Tensor } from '../tensor/tensor.js';
import { localize, outputAxisNames, type Hint, type Localization } from './localize.js';
import type { ArrayReport } from './reference.js';

export type NumpyHintKind =
  | 'unused-input'
  | 'bias-missing'
  | 'one-sample'
  | 'batch-not-summed'
  | 'empty-crop'
  | 'stride-axis'
  | 'flipped-kernel'
  | 'reshape-without-transpose'
  | 'interleaved-groups'
  | 'unbiased-running-var'
  | 'test-mode-batch-stats'
  | 'running-stats-saved-after'
  | 'test-mode-no-affine'
  | 'per-position-stats'
  | 'pool-step-size'
  | 'dropout-unscaled'
  | 'loss-not-averaged'
  | 'not-reshaped';

// ---------------------------------------------------------------------------------------------
// In a gradient check

/** How the two sides of a comparison are named in messages: `your` / `the fixture's`. */
export interface Terms {
  actual: string;
}

/**
 * A localize() message worded for a comparison: `analytic db = numeric / 100` becomes
 * `your db = the reference / 100`.
 */
export function comparisonWording(message: string, terms: Terms): string {
  return message
    .replace(/\bthe numeric one\b/g, "the reference's")
    .replace(/\|numeric\|/g, '|reference|')
    .replace(/\bthe numeric with\b/g, "the reference's with")
    .replace(/\banalytic (d?\w+)/g, `${terms.actual} $1`)
    .replace(/\bnumeric (d\w+)/g, "the reference's $1")
    .replace(/\bnumeric\b/g, 'the reference');
}

// ---------------------------------------------------------------------------------------------
// In a comparison with the reference

/** What a comparison knows: the layer, its inputs and dout, the reference's arrays and the judged ones. */
export interface ComparisonContext {
  spec: LayerSpec;
  params: Params;
  /** The inputs, float64. */
  inputs: Inputs;
  dout?: Tensor;
  /** The judged arrays by name (`out`, `dx`, `running_mean_after`). */
  actual: Map<string, { data: ArrayLike<number>; shape: readonly number[] }>;
  /** The reference's arrays by name. */
  reference: Map<string, Tensor>;
  /** How the judged side is named: `your` (an implementation), `the fixture's`. */
  terms: Terms;
  /** True for a fixture (its inputs were saved by the user, so they can be wrong too). */
  fixture?: boolean;
}

/** The context of an implementation's comparison (check-layer.ts): its forward and backward results and the reference's. */
export function comparisonContext(
  spec: LayerSpec,
  params: Params,
  inputs64: Inputs,
  dout: Tensor,
  refFwd: ForwardResult,
  refGrads: Gradients,
  fwd: ForwardResult,
  grads: Gradients,
  terms: Terms = { actual: 'your' },
): ComparisonContext {
  const named = (f: ForwardResult, g: Gradients) => {
    const m = new Map<string, Tensor>([['out', f.out]]);
    for (const [k, v] of Object.entries(f.state ?? {})) m.set(`${k}_after`, v);
    for (const [k, v] of Object.entries(g)) m.set(k, v);
    return m;
  };
  return { spec, params, inputs: inputs64, dout: inDType(dout, 'float64'), actual: named(fwd, grads), reference: named(refFwd, refGrads), terms };
}

/** A hypothesis: the arrays a layer with one mistake produces, and what to say when they match. */
interface Hypothesis {
  kind: NumpyHintKind;
  /** Candidate arrays by name (computed lazily, once). */
  arrays: () => Map<string, ArrayLike<number>>;
  message: (names: string[]) => string;
}

/** Largest cs231n relative error between a judged array and a candidate still taken as equal. */
const MATCH_TOLERANCE = 1e-6;

function matches(a: ArrayLike<number>, b: ArrayLike<number> | undefined, threshold: number): boolean {
  if (!b || a.length !== b.length || a.length === 0) return false;
  let scale = 0;
  for (let i = 0; i < b.length; i++) scale = Math.max(scale, Math.abs(b[i]));
  // float32 arrays are judged against a thousandth of the largest value, as judgeArray does.
  const floor = Math.max(REL_ERROR_FLOOR, threshold > MATCH_TOLERANCE ? 1e-3 * scale : 0);
  const tol = Math.max(threshold, MATCH_TOLERANCE);
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i] - b[i]);
    if (!(d / Math.max(floor, Math.abs(a[i]) + Math.abs(b[i])) <= tol)) return false;
  }
  return true;
}

/** `x` and `y`, `x, y` and `z`. */
function listText(names: string[]): string {
  return names.length <= 1 ? names.join('') : `${names.slice(0, -1).join(', ')} and ${names[names.length - 1]}`;
}

function t(data: ArrayLike<number>, shape: readonly number[]): Tensor {
  return { data: Float64Array.from(data), shape: [...shape] };
}

/** The reference's forward and backward on `inputs` with `params`: out, `<state>_after` and the gradients. */
function run(spec: LayerSpec, inputs: Inputs, params: Params, dout?: Tensor): Map<string, ArrayLike<number>> {
  const impl = spec.impls.fast ?? spec.impls.naive;
  const fwd = impl.forward(inputs, params);
  const out = new Map<string, ArrayLike<number>>([['out', fwd.out.data]]);
  for (const [k, v] of Object.entries(fwd.state ?? {})) out.set(`${k}_after`, v.data);
  if (dout && sameShape(dout.shape, fwd.out.shape)) for (const [k, v] of Object.entries(impl.backward(dout, fwd.cache))) out.set(k, v.data);
  return out;
}

/** A copy of `t4` (N,C,H,W) with both spatial axes of every (n, c) plane reversed. */
function flip2d(x: Tensor): Tensor {
  const [A, B, H, W] = x.shape;
  const out = new Float64Array(x.data.length);
  for (let p = 0; p < A * B; p++)
    for (let h = 0; h < H; h++) for (let w = 0; w < W; w++) out[(p * H + h) * W + w] = x.data[(p * H + H - 1 - h) * W + W - 1 - w];
  return { data: out, shape: [...x.shape] };
}

/** Channels of (N,C,...) reordered: out[:, k] = x[:, perm[k]] (or the inverse). */
function permuteChannels(x: Tensor, perm: number[], inverse = false): Tensor {
  const [N, C] = x.shape;
  const inner = size(x.shape.slice(2));
  const out = new Float64Array(x.data.length);
  for (let n = 0; n < N; n++) {
    for (let k = 0; k < C; k++) {
      const [to, from] = inverse ? [perm[k], k] : [k, perm[k]];
      out.set(x.data.subarray((n * C + from) * inner, (n * C + from + 1) * inner) as ArrayLike<number>, (n * C + to) * inner);
    }
  }
  return { data: out, shape: [...x.shape] };
}

/** A per-channel vector (C,) or (1,C,1,1) reordered like permuteChannels. */
function permuteVector(v: Tensor, perm: number[], inverse = false): Tensor {
  const out = new Float64Array(v.data.length);
  for (let k = 0; k < perm.length; k++) {
    if (inverse) out[perm[k]] = v.data[k];
    else out[k] = v.data[perm[k]];
  }
  return { data: out, shape: [...v.shape] };
}

const BN_LAYERS = new Set(['batchnorm', 'spatial_batchnorm']);

/** The reference's arrays `names` (those it has) times `factor`: what an implementation off by that factor returns. */
function scaledReference(ctx: ComparisonContext, names: string[], factor: number): Map<string, ArrayLike<number>> {
  const out = new Map<string, ArrayLike<number>>();
  for (const k of names) {
    const r = ctx.reference.get(k);
    if (r)
      out.set(
        k,
        Float64Array.from(r.data, (v) => v * factor),
      );
  }
  return out;
}

/** The hypotheses that apply to this layer and these params (see the module comment). */
function hypotheses(ctx: ComparisonContext): Hypothesis[] {
  const { spec, params, inputs, dout } = ctx;
  const hs: Hypothesis[] = [];
  const lazy = (f: () => Map<string, ArrayLike<number>>) => {
    let v: Map<string, ArrayLike<number>> | undefined;
    return () => (v ??= f());
  };
  const x = inputs.x;
  if (!x) return hs;
  const N = x.shape[0];

  if (inputs.b && (spec.name === 'conv' || spec.name === 'affine' || spec.name === 'conv_relu_pool')) {
    hs.push({
      kind: 'bias-missing',
      arrays: lazy(() => run(spec, { ...inputs, b: t(new Float64Array(inputs.b.data.length), inputs.b.shape) }, params, dout)),
      message: (names) =>
        `${ctx.terms.actual} ${listText(names)} equal${names.length === 1 ? 's' : ''} the reference's computed with b = 0: the bias is not added in the forward pass (out = ... + b[f])`,
    });
  }

  if (dout && N > 1 && ['conv', 'affine', 'conv_relu_pool'].includes(spec.name)) {
    for (const k of [N - 1, 0]) {
      hs.push({
        kind: 'one-sample',
        arrays: lazy(() => {
          const per = size(x.shape) / N;
          const outPer = size(dout.shape) / N;
          const one: Inputs = { ...inputs, x: t(x.data.subarray(k * per, (k + 1) * per) as ArrayLike<number>, [1, ...x.shape.slice(1)]) };
          const d1 = t(dout.data.subarray(k * outPer, (k + 1) * outPer) as ArrayLike<number>, [1, ...dout.shape.slice(1)]);
          const r = run(spec, one, params, d1);
          // Only the parameter gradients sum over samples.
          return new Map([...r].filter(([name]) => name !== 'out' && name !== 'dx'));
        }),
        message: (names) =>
          `${ctx.terms.actual} ${listText(names)} ${names.length === 1 ? 'is' : 'are'} the gradient of sample ${k} alone (the ${k === 0 ? 'first' : 'last'} of N = ${N}): ` +
          `assigned in the loop over samples (${names[0]} = ...) instead of accumulated (${names[0]} += ...)`,
      });
    }
  }

  const stride = params.stride;
  if ((spec.name === 'conv' || spec.name === 'maxpool') && typeof stride === 'number' && stride > 1 && x.shape.length === 4) {
    for (const [axis, name] of [
      [3, 'W'],
      [2, 'H'],
    ] as const) {
      hs.push({
        kind: 'stride-axis',
        arrays: lazy(() => {
          const impl = spec.impls.fast ?? spec.impls.naive;
          const p1 = { ...params, stride: 1 };
          const f1 = impl.forward(inputs, p1);
          const [A, B, H1, W1] = f1.out.shape;
          const ref = ctx.reference.get('out')!;
          const [, , Ho, Wo] = ref.shape;
          const sh = axis === 2 ? 1 : stride;
          const sw = axis === 3 ? 1 : stride;
          const out = new Float64Array(size(ref.shape));
          const d1 = new Float64Array(A * B * H1 * W1);
          for (let p = 0; p < A * B; p++) {
            for (let i = 0; i < Ho; i++) {
              for (let j = 0; j < Wo; j++) {
                const from = (p * H1 + i * sh) * W1 + j * sw;
                out[(p * Ho + i) * Wo + j] = f1.out.data[from];
                if (dout) d1[from] = dout.data[(p * Ho + i) * Wo + j];
              }
            }
          }
          const res = new Map<string, ArrayLike<number>>([['out', out]]);
          if (dout) for (const [k, v] of Object.entries(impl.backward({ data: d1, shape: [A, B, H1, W1] }, f1.cache))) res.set(k, v.data);
          return res;
        }),
        message: (names) =>
          `${ctx.terms.actual} ${listText(names)} match${names.length === 1 ? 'es' : ''} a ${spec.name} whose stride is ignored along ${name}: ` +
          `the window at output (i, j) must start at (i*stride, j*stride), not ${axis === 3 ? '(i*stride, j)' : '(i, j*stride)'}`,
      });
    }
  }

  if (spec.name === 'conv' && inputs.w && inputs.w.shape.length === 4) {
    hs.push({
      kind: 'flipped-kernel',
      arrays: lazy(() => {
        const r = run(spec, { ...inputs, w: flip2d(inputs.w) }, params, dout);
        const dw = r.get('dw');
        if (dw) r.set('dw', flip2d(t(dw, inputs.w.shape)).data);
        return r;
      }),
      message: (names) =>
        `${ctx.terms.actual} ${listText(names)} ${names.length === 1 ? 'is' : 'are'} those of a convolution with the kernel flipped (HH and WW reversed): ` +
        `cs231n's conv cross-correlates, out[n, f, i, j] = sum(x_window * w[f]) with no flip`,
    });
  }

  if (spec.name === 'spatial_batchnorm' && x.shape.length === 4) {
    hs.push({
      kind: 'reshape-without-transpose',
      arrays: lazy(() => {
        const bn = getLayer('batchnorm');
        const [Nn, C, H, W] = x.shape;
        const flat = (v: Tensor) => t(v.data, [v.data.length]);
        const bnInputs: Inputs = {
          x: t(x.data, [Nn * H * W, C]),
          gamma: flat(inputs.gamma),
          beta: flat(inputs.beta),
          running_mean: flat(inputs.running_mean),
          running_var: flat(inputs.running_var),
        };
        return run(bn, bnInputs, params, dout && t(dout.data, [Nn * H * W, C]));
      }),
      message: (names) =>
        `${ctx.terms.actual} ${listText(names)} match${names.length === 1 ? 'es' : ''} batchnorm applied to x.reshape(-1, C), which mixes channels and positions: ` +
        'move C last before the reshape, x.transpose(0, 2, 3, 1).reshape(-1, C), and transpose back after',
    });
  }

  if (spec.name === 'spatial_groupnorm' && x.shape.length === 4) {
    const C = x.shape[1];
    const G = Number(params.G);
    if (G > 1 && G < C) {
      // Interleaved: channel c in group c % G. Listing the channels group by group makes those groups contiguous.
      const perm: number[] = [];
      for (let g = 0; g < G; g++) for (let j = 0; j < C / G; j++) perm.push(j * G + g);
      hs.push({
        kind: 'interleaved-groups',
        arrays: lazy(() => {
          const pin: Inputs = { x: permuteChannels(x, perm), gamma: permuteVector(inputs.gamma, perm), beta: permuteVector(inputs.beta, perm) };
          const r = run(spec, pin, params, dout && permuteChannels(dout, perm));
          const back = new Map<string, ArrayLike<number>>();
          for (const [k, v] of r) {
            const like = k === 'out' || k === 'dx' ? x : k === 'dgamma' ? inputs.gamma : inputs.beta;
            back.set(k, (k === 'out' || k === 'dx' ? permuteChannels(t(v, like.shape), perm, true) : permuteVector(t(v, like.shape), perm, true)).data);
          }
          return back;
        }),
        message: (names) =>
          `${ctx.terms.actual} ${listText(names)} match${names.length === 1 ? 'es' : ''} groups taken interleaved (channel c in group c % G): ` +
          `cs231n's groups are contiguous, channel c in group c // (C // G): x.reshape(N, G, C // G, H, W)`,
      });
    }
  }

  if (BN_LAYERS.has(spec.name) && params.mode === 'train' && inputs.running_var) {
    // Elements per statistic: N for batchnorm (N, D), N*H*W for spatial batchnorm (N, C, H, W).
    const M = size(x.shape) / x.shape[1];
    const m = Number(params.momentum);
    if (M > 1 && m < 1) {
      hs.push({
        kind: 'unbiased-running-var',
        arrays: lazy(() => {
          const ref = ctx.reference.get('running_var_after');
          if (!ref) return new Map();
          const rv0 = inputs.running_var.data;
          const out = new Float64Array(ref.data.length);
          for (let i = 0; i < out.length; i++) out[i] = m * rv0[i] + ((ref.data[i] - m * rv0[i]) * M) / (M - 1);
          return new Map([['running_var_after', out]]);
        }),
        message: () =>
          `${ctx.terms.actual} running_var is updated with the unbiased batch variance (ddof=1, the variance times M/(M-1), M = ${M}): ` +
          'use the biased one (np.var with its default ddof=0), the variance the forward normalizes with',
      });
    }
  }

  if (spec.name === 'maxpool' && x.shape.length === 4) {
    const ph = Number(params.pool_height);
    const pw = Number(params.pool_width);
    const st = Number(params.stride);
    if (st !== ph || st !== pw) {
      hs.push({
        kind: 'pool-step-size',
        arrays: lazy(() => {
          // Windows at (i * pool_height, j * pool_width), cut at the input's edge as numpy slices are.
          const ref = ctx.reference.get('out')!;
          const [Nn, C, H, W] = x.shape;
          const [, , Ho, Wo] = ref.shape;
          const out = new Float64Array(size(ref.shape));
          const dx = new Float64Array(size(x.shape));
          for (let p = 0; p < Nn * C; p++) {
            for (let i = 0; i < Ho; i++) {
              for (let j = 0; j < Wo; j++) {
                const r1 = Math.min(H, i * ph + ph);
                const c1 = Math.min(W, j * pw + pw);
                if (i * ph >= r1 || j * pw >= c1) return new Map(); // An empty window: numpy raises, nothing to compare.
                let best = -Infinity;
                let at = -1;
                for (let r = i * ph; r < r1; r++) {
                  for (let q = j * pw; q < c1; q++) {
                    const v = x.data[(p * H + r) * W + q];
                    if (v > best) {
                      best = v;
                      at = (p * H + r) * W + q;
                    }
                  }
                }
                const o = (p * Ho + i) * Wo + j;
                out[o] = best;
                if (dout) dx[at] += dout.data[o];
              }
            }
          }
          return new Map<string, ArrayLike<number>>([['out', out], ...(dout ? [['dx', dx] as [string, ArrayLike<number>]] : [])]);
        }),
        message: (names) =>
          `${ctx.terms.actual} ${listText(names)} match${names.length === 1 ? 'es' : ''} windows that step by their size: the window at output (i, j) must start at ` +
          `(i*stride, j*stride), not (i*pool_height, j*pool_width); the two agree only when stride = pool_height = pool_width`,
      });
    }
  }

  if (spec.name === 'spatial_batchnorm' && params.mode === 'train' && x.shape.length === 4) {
    hs.push({
      kind: 'per-position-stats',
      arrays: lazy(() => {
        // batchnorm over x viewed as (N, C*H*W): every channel and position its own statistics over N.
        const bn = getLayer('batchnorm');
        const [Nn, C, H, W] = x.shape;
        const D = C * H * W;
        const expand = (v: Tensor) => {
          const e = new Float64Array(D);
          for (let c = 0; c < C; c++) e.fill(v.data[c], c * H * W, (c + 1) * H * W);
          return t(e, [D]);
        };
        const zerosD = t(new Float64Array(D), [D]);
        const r = run(
          bn,
          { x: t(x.data, [Nn, D]), gamma: expand(inputs.gamma), beta: expand(inputs.beta), running_mean: zerosD, running_var: zerosD },
          params,
          dout && t(dout.data, [Nn, D]),
        );
        const out = new Map<string, ArrayLike<number>>();
        for (const k of ['out', 'dx']) if (r.get(k)) out.set(k, r.get(k)!);
        for (const k of ['dgamma', 'dbeta']) {
          const g = r.get(k);
          if (!g) continue;
          const per = new Float64Array(C);
          for (let c = 0; c < C; c++) for (let q = 0; q < H * W; q++) per[c] += g[c * H * W + q];
          out.set(k, per);
        }
        return out;
      }),
      message: (names) =>
        `${ctx.terms.actual} ${listText(names)} match${names.length === 1 ? 'es' : ''} statistics taken per channel and position over N alone (x.mean(axis=0)): ` +
        'spatial batchnorm takes one mean and variance per channel, over N, H and W: x.mean(axis=(0, 2, 3)), or batchnorm on x.transpose(0, 2, 3, 1).reshape(-1, C)',
    });
  }

  if (spec.name === 'dropout' && params.mode === 'train' && Number(params.p) < 1) {
    const p = Number(params.p);
    hs.push({
      kind: 'dropout-unscaled',
      arrays: lazy(() => scaledReference(ctx, ['out', 'dx'], p)),
      message: (names) =>
        `${ctx.terms.actual} ${listText(names)} equal${names.length === 1 ? 's' : ''} the reference's times p = ${p}: the mask is not divided by p. Inverted dropout keeps ` +
        'the expected value in train mode, so that test mode is the identity: mask = (np.random.rand(*x.shape) < p) / p',
    });
  }

  if ((spec.name === 'svm_loss' || spec.name === 'softmax_loss') && N > 1) {
    hs.push({
      kind: 'loss-not-averaged',
      arrays: lazy(() => scaledReference(ctx, ['out', 'dx'], N)),
      message: (names) =>
        `${ctx.terms.actual} ${listText(names.map((n) => (n === 'out' ? 'loss' : n)))} ${names.length === 1 ? 'is' : 'are'} N = ${N} times the reference's: summed over the batch, not averaged; divide the loss and dx by N`,
    });
  }

  if (BN_LAYERS.has(spec.name) && params.mode === 'test' && inputs.gamma && inputs.beta) {
    hs.push({
      kind: 'test-mode-no-affine',
      arrays: lazy(() => {
        const r = run(
          spec,
          {
            ...inputs,
            gamma: t(new Float64Array(inputs.gamma.data.length).fill(1), inputs.gamma.shape),
            beta: t(new Float64Array(inputs.beta.data.length), inputs.beta.shape),
          },
          params,
        );
        return new Map([...r].filter(([k]) => k === 'out'));
      }),
      message: () =>
        `in test mode ${ctx.terms.actual} out equals the reference's with gamma = 1 and beta = 0: the test-mode branch forgets the scale and shift ` +
        "(out = gamma * xhat + beta in both modes); a check with gamma = 1 and beta = 0, as the notebook's test-time cell, cannot see it",
    });
  }

  if (BN_LAYERS.has(spec.name) && params.mode === 'test') {
    hs.push({
      kind: 'test-mode-batch-stats',
      arrays: lazy(() => run(spec, inputs, { ...params, mode: 'train' }, dout)),
      message: (names) =>
        `in test mode ${ctx.terms.actual} ${listText(names)} equal${names.length === 1 ? 's' : ''} the train-mode result: it normalizes with the batch's own mean and variance; ` +
        'test mode uses running_mean and running_var (and leaves them unchanged)',
    });
  }
  return hs;
}

/** Most hypotheses one layer has: conv's bias-missing, two one-sample, two stride-axis and flipped-kernel. */
export const MAX_HYPOTHESES = 6;

/**
 * Bytes diagnoseArrays may hold at once for a comparison of `spec` at these shapes and params
 * (memory/work.ts): every hypothesis computed and kept, each as large as the reference's results
 * in float64; the largest one's pass while it runs (stride-axis runs at stride 1, a larger output,
 * and keeps a dout of that size); and a localization's float64 copy of the largest array.
 */
export function diagnosisMemory(spec: LayerSpec, shapes: Shapes, params: Params, ctx: MemoryContext): number {
  const gradSize = spec.inputs.filter((i) => i.grad).reduce((s, i) => s + size(shapes[i.name]), 0);
  const stateSize = (spec.stateOutputs ?? []).reduce((s, n) => s + size(shapes[n] ?? []), 0);
  const largest = Math.max(...spec.inputs.map((i) => size(shapes[i.name])));
  const pass = (m: LayerMemory) => Math.max(...Object.values(m.impls).map((p) => totalOf(p.forward) + totalOf(p.backward)));
  const mem = spec.memory(shapes, params, ctx);
  let running = pass(mem);
  if ((spec.name === 'conv' || spec.name === 'maxpool') && typeof params.stride === 'number' && params.stride > 1) {
    const m1 = spec.memory(shapes, { ...params, stride: 1 }, ctx);
    running = Math.max(running, pass(m1) + 8 * m1.out);
  }
  return MAX_HYPOTHESES * 8 * (mem.out + gradSize + stateSize) + running + 8 * Math.max(mem.out, largest);
}

/** Hints from the shapes alone, for an array whose shape differs from the reference's. */
function shapeHint(name: string, actual: { data: ArrayLike<number>; shape: readonly number[] }, expected: Tensor, ctx: ComparisonContext): Hint | null {
  const got = actual.shape;
  const want = expected.shape;
  if (name === 'dx' && got.length === want.length && want.length >= 3 && ctx.params.pad === 0) {
    const empty = got.slice(2).some((d, k) => d === 0 && want[k + 2] > 0);
    if (empty) {
      return {
        kind: 'empty-crop',
        message: `${ctx.terms.actual} dx has shape ${formatShape(got)}, with an empty spatial axis, and pad = 0: a crop written dxp[:, :, pad:-pad, pad:-pad] is empty when pad = 0 (-0 is 0); crop with pad:pad + H, pad:pad + W`,
      };
    }
  }
  const x = ctx.inputs.x;
  if (
    name === 'dx' &&
    x &&
    x.shape.length > 2 &&
    got.length === 2 &&
    got[0] === x.shape[0] &&
    got[1] === size(x.shape.slice(1)) &&
    matches(actual.data, expected.data, MATCH_TOLERANCE)
  ) {
    return {
      kind: 'not-reshaped',
      message: `${ctx.terms.actual} dx has shape ${formatShape(got)}, x flattened to (N, D), and those are the right values: reshape it back to x's shape, dx.reshape(x.shape)`,
    };
  }
  const N = ctx.inputs.x?.shape[0];
  if (name.startsWith('d') && name !== 'dx' && N !== undefined && got.length === want.length + 1 && got[0] === N && sameShape(got.slice(1), want)) {
    const per = size(want);
    const sum = new Float64Array(per);
    for (let n = 0; n < N; n++) for (let i = 0; i < per; i++) sum[i] += actual.data[n * per + i];
    if (matches(sum, expected.data, MATCH_TOLERANCE)) {
      return {
        kind: 'batch-not-summed',
        message: `${ctx.terms.actual} ${name} has shape ${formatShape(got)}, one row per sample, and its sum over axis 0 is the reference's ${name}: sum over the batch too (axis 0)`,
      };
    }
  }
  return null;
}

/** `running-stats-saved-after`: a fixture whose input running statistics are its `_after` values. */
function savedAfterHint(name: string, ctx: ComparisonContext): Hint | null {
  if (!ctx.fixture || !BN_LAYERS.has(ctx.spec.name) || ctx.params.mode !== 'train' || !name.endsWith('_after')) return null;
  const stat = name.slice(0, -'_after'.length);
  const input = ctx.inputs[stat];
  const after = ctx.actual.get(name);
  if (!input || !after || !matches(input.data, after.data, MATCH_TOLERANCE)) return null;
  return {
    kind: 'running-stats-saved-after',
    message:
      `the fixture's input ${stat} equals its ${name}: it was saved after the forward pass updated bn_param in place; ` +
      `save the value from before the call (bn_param["${stat}"].copy() taken before the forward pass)`,
  };
}

/** Localize one failing array against the reference's (the judged array as `analytic`, the reference's as `numeric`). */
export function localizeArray(
  name: string,
  actual: ArrayLike<number>,
  expected: Tensor,
  threshold: number,
  floor: number,
  ctx: ComparisonContext,
): Localization {
  const outShape = ctx.reference.get('out')?.shape ?? expected.shape;
  const input = name === 'out' ? 'out' : name.startsWith('d') ? name.slice(1) : name;
  const loc = localize({
    name,
    input,
    shape: [...expected.shape],
    analytic: actual,
    numeric: Float64Array.from(expected.data),
    kinks: new Uint8Array(expected.data.length),
    skipKinks: false,
    floor,
    threshold,
    outShape: [...outShape],
    outNames: outputAxisNames(
      outShape,
      ctx.spec.inputs.some((i) => i.name === 'w'),
    ),
  });
  if (loc.hint) loc.hint = { ...loc.hint, message: comparisonWording(loc.hint.message, ctx.terms) };
  return loc;
}

/** A localization that holds only a hint (an array that could not be compared element by element). */
function hintOnly(hint: Hint): Localization {
  return { checked: 0, total: 0, top: [], perSample: [], perChannel: [], hint };
}

/**
 * Add `localization` (where it is wrong, with a hint when the pattern is a known mistake) to
 * every failing array of a comparison. Arrays with NaN/Inf keep their message only.
 */
export function diagnoseArrays(arrays: ArrayReport[], ctx: ComparisonContext): void {
  const failing = arrays.filter((a) => !a.pass);
  if (!failing.length) return;
  const hs = hypotheses(ctx);
  // Which failing arrays each hypothesis explains (an array takes the first that does).
  const explained = new Map<string, { h: Hypothesis; names: string[] }>();
  for (const h of hs) {
    let cand: Map<string, ArrayLike<number>>;
    try {
      cand = h.arrays();
    } catch {
      continue; // A hypothesis the reference cannot evaluate at these shapes.
    }
    const names = failing
      .filter((a) => !explained.has(a.name) && Number.isFinite(a.relError))
      .filter((a) => {
        const act = ctx.actual.get(a.name);
        const exp = ctx.reference.get(a.name);
        return act && exp && sameShape(act.shape, exp.shape) && matches(act.data, cand.get(a.name), a.threshold);
      })
      .map((a) => a.name);
    for (const n of names) explained.set(n, { h, names });
  }
  for (const a of failing) {
    const act = ctx.actual.get(a.name);
    const exp = ctx.reference.get(a.name);
    if (!act || !exp) continue;
    if (!sameShape(act.shape, exp.shape)) {
      const hint = shapeHint(a.name, act, exp, ctx);
      if (hint) a.localization = hintOnly(hint);
      continue;
    }
    if (!Number.isFinite(a.relError)) continue;
    let scale = 0;
    for (let i = 0; i < exp.data.length; i++) scale = Math.max(scale, Math.abs(exp.data[i]));
    const floor = Math.max(REL_ERROR_FLOOR, a.dtype === 'float32' ? 1e-3 * scale : 0);
    const loc = localizeArray(a.name, act.data, exp, a.threshold, floor, ctx);
    const e = explained.get(a.name);
    const specific = e ? { kind: e.h.kind, message: e.h.message(e.names) } : savedAfterHint(a.name, ctx);
    if (specific) loc.hint = specific;
    a.localization = loc;
  }
}

/** The number of elements of a localized array or gradient that fail (from its per-channel counts, which cover every element). */
export function failingCount(loc: Localization): number | undefined {
  const groups = loc.perChannel.length ? loc.perChannel : loc.perSample;
  if (!groups.length) return undefined;
  return groups.reduce((s, g) => s + g.failing, 0);
}
