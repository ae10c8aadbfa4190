/**
 * Inverted dropout, cs231n conventions: x (any shape) -> out (same shape). `p` is the
 * probability of KEEPING a unit (cs231n's convention since 2019). In train mode the mask is
 * exactly numpy's `np.random.seed(seed); mask = (np.random.rand(*x.shape) < p) / p` and
 * out = x * mask; in test mode out = x. The mask is a function of the seed, so the layer is
 * deterministic and linear in x: the gradient check sees the same mask at x + h and x - h.
 */
import { NumpyRng } from '../tensor/numpy-rng.js';
import { dtypeOf, size, zeros, type DType, type Tensor } from '../tensor/tensor.js';
import { MAX_SEED } from '../settings/schema.js';
import { requirePositiveDims } from './geometry.js';
import { defineImpl, defineLayer, type ForwardResult, type Gradients, type Inputs } from './types.js';
import { bytesOf } from '../memory/estimate.js';

/** The params of dropout. */
export type DropoutParams = { p: number; mode: 'train' | 'test'; seed: number };

export interface DropoutCache {
  /** 1/p where a unit is kept, 0 where dropped (train); null in test mode (identity). */
  mask: Float64Array | null;
  shape: number[];
  dtype: DType;
}

/** numpy's mask for `shape`: (np.random.rand(*shape) < p) / p after np.random.seed(seed), in C order. */
export function dropoutMask(shape: readonly number[], p: number, seed: number): Float64Array {
  const rng = new NumpyRng(seed);
  const mask = new Float64Array(size(shape));
  const keep = 1 / p;
  for (let i = 0; i < mask.length; i++) mask[i] = rng.uniform() < p ? keep : 0;
  return mask;
}

/** Naive forward: out = x * mask (train) or x (test), float64. */
export function dropoutForwardNaive(inputs: Inputs, params: DropoutParams): ForwardResult<DropoutCache> {
  const { x } = inputs;
  const out = zeros(x.shape);
  const mask = params.mode === 'train' ? dropoutMask(x.shape, params.p, params.seed) : null;
  for (let i = 0; i < out.data.length; i++) out.data[i] = mask ? x.data[i] * mask[i] : x.data[i];
  return { out, cache: { mask, shape: [...x.shape], dtype: 'float64' } };
}

/** Backward (both implementations): dx = dout * mask (train), dout (test), in the forward's dtype. */
export function dropoutBackward(dout: Tensor, cache: DropoutCache): Gradients {
  const dx = zeros(cache.shape, cache.dtype);
  const { mask } = cache;
  for (let i = 0; i < dx.data.length; i++) dx.data[i] = mask ? dout.data[i] * mask[i] : dout.data[i];
  return { dx };
}

/** Fast forward: the same mask, one pass in x's dtype; test mode copies x. */
export function dropoutForwardFast(inputs: Inputs, params: DropoutParams): ForwardResult<DropoutCache> {
  const { x } = inputs;
  const dtype = dtypeOf(x);
  const out = zeros(x.shape, dtype);
  if (params.mode === 'test') {
    out.data.set(x.data);
    return { out, cache: { mask: null, shape: [...x.shape], dtype } };
  }
  const mask = dropoutMask(x.shape, params.p, params.seed);
  const xd = x.data;
  const od = out.data;
  for (let i = 0; i < od.length; i++) od[i] = xd[i] * mask[i];
  return { out, cache: { mask, shape: [...x.shape], dtype } };
}

export const dropout = defineLayer<DropoutParams>({
  name: 'dropout',
  summary: 'inverted dropout keeping each unit with probability p (numpy-exact mask from seed)',
  inputs: [{ name: 'x', help: 'input, any shape', grad: true, shape: [4, 3, 5, 5] }],
  params: [
    { name: 'p', flag: 'p', help: 'probability of keeping a unit', kind: 'float', default: 0.5, min: 0, minExclusive: true, max: 1 },
    { name: 'mode', flag: 'mode', help: 'train drops units, test is the identity', kind: 'enum', choices: ['train', 'test'], default: 'train' },
    { name: 'seed', flag: 'dropout-seed', help: "the mask's seed: np.random.seed(seed)", kind: 'int', default: 123, min: 0, max: MAX_SEED },
  ],
  check(shapes) {
    requirePositiveDims('dropout', 'x', shapes.x);
  },
  // out and (train) the float64 mask forward, dx backward.
  memory: (shapes, params, { dtype }) => {
    const X = size(shapes.x);
    const mask = params.mode === 'train' ? bytesOf('float64', X) : 0;
    return {
      out: X,
      impls: {
        naive: { forward: { out: bytesOf('float64', X), mask }, backward: { dx: bytesOf('float64', X) } },
        fast: { forward: { out: bytesOf(dtype, X), mask }, backward: { dx: bytesOf(dtype, X) } },
      },
    };
  },
  impls: {
    naive: defineImpl(dropoutForwardNaive, dropoutBackward),
    fast: defineImpl(dropoutForwardFast, dropoutBackward),
  },
  benchCases: [{ shapes: { x: [32, 64, 32, 32] } }],
  // Linear in x (the mask is fixed by the seed): the centred difference is exact up to rounding,
  // ~1e-16 * |L| / h, as for relu.
  tolerance: { grad: 1e-7 },
});
