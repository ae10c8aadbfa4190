/**
 * The cs231n conventions: for every registered layer, the names of the numpy functions that
 * implement it (`conv_forward_naive` / `conv_backward_naive`, ...) and how they are called:
 * the forward's positional arguments built from the layer's inputs and params (arrays, plain
 * values, and the `conv_param` / `bn_param` dicts), the dict a train-mode forward updates in
 * place (`bn_param`), and the gradients the backward returns, in order. The Python bridge
 * (python/cnn_check.py) only executes these descriptions, so the conventions live here, once.
 *
 * Implementation names in reports: `py:` and the part of the forward's name after the layer's
 * stem (`conv_forward_naive` -> `py:naive`, `max_pool_forward_reshape` -> `py:reshape`), `py`
 * when there is none (`relu_forward`), `py:alt` for batchnorm's second backward, and `py:` and
 * the forward's name for a pair chosen with `PATH:forward,backward`.
 */
import { FormatError, UsageError } from '../../errors.js';
import type { LayerSpec, Params } from '../../layers/types.js';
import type { DefinedFunctions, FunctionSelection } from '../types.js';

/** One positional argument of a forward call: an input array (`int`: cast to int64, as labels are indexed), a plain value, or a dict of them. */
export type PyArg = { array: string; int?: true } | { value: number | string } | { dict: Record<string, PyArg> };

/** One forward/backward pair the convention looks for. */
export interface FunctionPair {
  /** The implementation's name: `py:naive`. */
  name: string;
  forward: string;
  backward: string;
}

/** How the numpy functions of one layer are named and called. */
export interface Cs231nConvention {
  layer: string;
  /** The pairs looked for, in the order they are checked. */
  pairs: FunctionPair[];
  /** The forward's positional arguments. */
  args(params: Params): PyArg[];
  /** The dict argument (by position) a forward updates in place, and the keys read back from it as the layer's state. */
  state?: { arg: number; name: string; keys: string[] };
  /** What the backward returns, in order: one name means a single array, several a tuple. */
  grads: string[];
  /**
   * A loss function (`svm_loss(x, y)`): one function returning `(loss, dx)` instead of a
   * forward/backward pair; each pair names it twice. Its backward is `dout * dx` (the scalar
   * upstream gradient times the dx it returned), computed by the bridge.
   */
  loss?: true;
  /** The forward has kinks (relu's 0, a max-pool tie, a hinge): they are taken from the reference's switches at the same inputs, as numpy returns none. */
  kinks?: true;
}

/** Name prefix of every implementation from a Python module. */
export const PY_PREFIX = 'py';

const arr = (name: string): PyArg => ({ array: name });
const labels = (name: string): PyArg => ({ array: name, int: true });
const val = (v: number | string): PyArg => ({ value: v });
const dict = (entries: Record<string, PyArg>): PyArg => ({ dict: entries });

/** Pairs `${stem}_forward${suffix}` / `${stem}_backward${suffix}` for each suffix (`''`, `_naive`, ...). */
function pairs(stem: string, suffixes: string[]): FunctionPair[] {
  return suffixes.map((s) => ({ name: s ? `${PY_PREFIX}:${s.slice(1)}` : PY_PREFIX, forward: `${stem}_forward${s}`, backward: `${stem}_backward${s}` }));
}

/** A loss's one function, as a pair naming it twice (see Cs231nConvention.loss). */
function lossPair(fn: string): FunctionPair[] {
  return [{ name: PY_PREFIX, forward: fn, backward: fn }];
}

const bnState = { arg: 3, name: 'bn_param', keys: ['running_mean', 'running_var'] };
const bnParam = (p: Params) =>
  dict({
    mode: val(p.mode),
    eps: val(p.eps),
    momentum: val(p.momentum),
    running_mean: arr('running_mean'),
    running_var: arr('running_var'),
  });

/** The conventions by layer name (one per registered layer; a test holds them to the registry). */
export const CS231N: Readonly<Record<string, Cs231nConvention>> = {
  conv: {
    layer: 'conv',
    pairs: pairs('conv', ['_naive', '_fast', '_im2col', '_strides']),
    args: (p) => [arr('x'), arr('w'), arr('b'), dict({ stride: val(p.stride), pad: val(p.pad) })],
    grads: ['dx', 'dw', 'db'],
  },
  maxpool: {
    layer: 'maxpool',
    pairs: pairs('max_pool', ['_naive', '_fast', '_reshape', '_im2col']),
    args: (p) => [arr('x'), dict({ pool_height: val(p.pool_height), pool_width: val(p.pool_width), stride: val(p.stride) })],
    grads: ['dx'],
    kinks: true,
  },
  relu: { layer: 'relu', pairs: pairs('relu', ['']), args: () => [arr('x')], grads: ['dx'], kinks: true },
  affine: { layer: 'affine', pairs: pairs('affine', ['']), args: () => [arr('x'), arr('w'), arr('b')], grads: ['dx', 'dw', 'db'] },
  batchnorm: {
    layer: 'batchnorm',
    pairs: [...pairs('batchnorm', ['']), { name: `${PY_PREFIX}:alt`, forward: 'batchnorm_forward', backward: 'batchnorm_backward_alt' }],
    args: (p) => [arr('x'), arr('gamma'), arr('beta'), bnParam(p)],
    state: bnState,
    grads: ['dx', 'dgamma', 'dbeta'],
  },
  layernorm: {
    layer: 'layernorm',
    pairs: pairs('layernorm', ['']),
    args: (p) => [arr('x'), arr('gamma'), arr('beta'), dict({ eps: val(p.eps) })],
    grads: ['dx', 'dgamma', 'dbeta'],
  },
  spatial_batchnorm: {
    layer: 'spatial_batchnorm',
    pairs: pairs('spatial_batchnorm', ['']),
    args: (p) => [arr('x'), arr('gamma'), arr('beta'), bnParam(p)],
    state: bnState,
    grads: ['dx', 'dgamma', 'dbeta'],
  },
  spatial_groupnorm: {
    layer: 'spatial_groupnorm',
    pairs: pairs('spatial_groupnorm', ['']),
    args: (p) => [arr('x'), arr('gamma'), arr('beta'), val(p.G), dict({ eps: val(p.eps) })],
    grads: ['dx', 'dgamma', 'dbeta'],
  },
  conv_relu_pool: {
    layer: 'conv_relu_pool',
    pairs: pairs('conv_relu_pool', ['']),
    args: (p) => [
      arr('x'),
      arr('w'),
      arr('b'),
      dict({ stride: val(p.stride), pad: val(p.pad) }),
      dict({ pool_height: val(p.pool_height), pool_width: val(p.pool_width), stride: val(p.pool_stride) }),
    ],
    grads: ['dx', 'dw', 'db'],
    kinks: true,
  },
  dropout: {
    layer: 'dropout',
    pairs: pairs('dropout', ['']),
    // cs231n's dropout_param: p is the keep probability; the seed makes the mask np.random.seed(seed)'s.
    args: (p) => [arr('x'), dict({ mode: val(p.mode), p: val(p.p), seed: val(p.seed) })],
    grads: ['dx'],
  },
  svm_loss: { layer: 'svm_loss', pairs: lossPair('svm_loss'), args: () => [arr('x'), labels('y')], grads: ['dx'], loss: true, kinks: true },
  softmax_loss: { layer: 'softmax_loss', pairs: lossPair('softmax_loss'), args: () => [arr('x'), labels('y')], grads: ['dx'], loss: true },
};

/** Every function name the conventions know, for listing what a module defines. */
export function conventionalNames(): Set<string> {
  const names = new Set<string>();
  for (const c of Object.values(CS231N)) for (const p of c.pairs) names.add(p.forward).add(p.backward);
  return names;
}

/** The cs231n functions among `functions`, for messages: `conv_forward_naive, relu_forward`. */
export function knownAmong(functions: readonly string[]): string[] {
  const known = conventionalNames();
  return functions.filter((f) => known.has(f));
}

/** The layers with a complete pair (or a loss's function) among `defined`. */
export function completeLayers(defined: readonly DefinedFunctions[]): string[] {
  return [...new Set(defined.filter((f) => f.forward && f.backward).map((f) => f.layer))];
}

/**
 * The conventional pairs a module with these `functions` defines, by layer, complete or not (a
 * forward without its backward is listed with `backward: null`). Python and JS/TS modules with
 * cs231n names list their functions with it; `prefix` names the implementations (`py`, `js`).
 */
export function definedPairs(functions: readonly string[], prefix = PY_PREFIX): DefinedFunctions[] {
  const have = new Set(functions);
  const out: DefinedFunctions[] = [];
  for (const conv of Object.values(CS231N)) {
    for (const p of conv.pairs) {
      if (!have.has(p.forward) && !have.has(p.backward)) continue;
      out.push({
        layer: conv.layer,
        name: renamed(p.name, prefix),
        forward: have.has(p.forward) ? p.forward : null,
        backward: have.has(p.backward) ? p.backward : null,
      });
    }
  }
  return out;
}

/** A pair's name with another prefix: `py:naive` -> `js:naive`. */
function renamed(name: string, prefix: string): string {
  return prefix === PY_PREFIX ? name : prefix + name.slice(PY_PREFIX.length);
}

/**
 * The pairs of `spec` a module with these `functions` offers: the two (or, for a loss, one)
 * `select` names, else every complete conventional pair. Throws UsageError / FormatError naming
 * what is missing and what the module does define; `label` names the module in messages and
 * `prefix` the implementations (`py:naive`, `js:naive`).
 */
export function selectPairs(spec: LayerSpec, functions: readonly string[], label: string, select?: FunctionSelection, prefix = PY_PREFIX): FunctionPair[] {
  const conv = CS231N[spec.name];
  if (!conv) throw new UsageError(`${label}: cnn-check knows no cs231n convention for ${spec.name}`);
  const have = new Set(functions);
  const defined = knownAmong(functions);
  const got = defined.length
    ? `the module defines ${defined.join(', ')}`
    : `the module defines no cs231n layer functions${functions.length ? ` (its functions: ${functions.slice(0, 12).join(', ')}${functions.length > 12 ? ', ...' : ''})` : ''}`;
  if (select) {
    // A loss is one function: PATH:my_svm_loss (or the same name twice) names it.
    if (!conv.loss && select.backward === undefined) {
      throw new UsageError(`${label}:${select.forward}: ${spec.name} is a forward and a backward: name both, as ${label}:FORWARD,BACKWARD`);
    }
    if (conv.loss && select.backward !== undefined && select.backward !== select.forward) {
      throw new UsageError(
        `${label}:${select.forward},${select.backward}: ${spec.name} is one function returning (loss, dx): name it once, as ${label}:${select.forward}`,
      );
    }
    const backward = select.backward ?? select.forward;
    const wanted = conv.loss ? [select.forward] : [select.forward, backward];
    const missing = wanted.filter((f) => !have.has(f));
    if (missing.length) {
      throw new FormatError(
        `${label}: expected ${conv.loss ? `the function ${select.forward}` : `functions ${select.forward} and ${backward}`}, no ${missing.join(' and no ')}; ${got}`,
      );
    }
    return [{ name: `${prefix}:${select.forward}`, forward: select.forward, backward }];
  }
  const chosen = conv.pairs.filter((p) => have.has(p.forward) && have.has(p.backward));
  if (!chosen.length) {
    const first = conv.pairs[0];
    const others = conv.pairs.slice(1).filter((p) => p.forward !== first.forward || p.backward !== first.backward);
    const alt = others.length ? ` (or a pair ${others.map((p) => `${p.forward}/${p.backward}`).join(', ')})` : '';
    if (conv.loss) {
      throw new FormatError(
        `${label}: expected a function ${first.forward}(x, y) returning (loss, dx) for ${spec.name}, no ${first.forward}; ${got}; or name yours with ${label}:FUNCTION`,
      );
    }
    const lacking = [first.forward, first.backward].filter((f) => !have.has(f));
    throw new FormatError(
      `${label}: expected functions ${first.forward} and ${first.backward} for ${spec.name}${alt}, no ${lacking.join(' and no ')}; ${got}; or name two with ${label}:FORWARD,BACKWARD`,
    );
  }
  return chosen.map((p) => ({ ...p, name: renamed(p.name, prefix) }));
}

/** The array inputs a forward's args name (the ones it must not modify: all but the state dict's entries). */
export function pristineInputs(conv: Cs231nConvention, args: PyArg[]): string[] {
  const out: string[] = [];
  const visit = (a: PyArg, inState: boolean) => {
    if ('array' in a) {
      if (!inState) out.push(a.array);
    } else if ('dict' in a) for (const v of Object.values(a.dict)) visit(v, inState);
  };
  for (const [i, a] of args.entries()) visit(a, conv.state?.arg === i);
  return out;
}
