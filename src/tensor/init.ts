/**
 * Deterministic test inputs written the way the cs231n notebooks write them,
 * so that a notebook's arrays can be rebuilt exactly in TypeScript:
 *
 *   x = np.linspace(-0.1, 0.5, num=2*3*4*4).reshape(2, 3, 4, 4)   -> linspace(-0.1, 0.5, [2, 3, 4, 4])
 *   np.random.seed(231); x = np.random.randn(4, 3, 5, 5)           -> randnWith(new NumpyRng(231), [4, 3, 5, 5])
 */
import { randn, type Rng } from './rng.js';
import type { Tensor } from './tensor.js';
import { size } from './tensor.js';

/**
 * `np.linspace(lo, hi, num=prod(shape)).reshape(shape)`, bit for bit.
 *
 * numpy (checked against the 2.4 source) evaluates `arange(num) * step + lo` with
 * `step = (hi - lo) / (num - 1)` as two separately rounded operations, then
 * overwrites the last element with `hi`. When `step` underflows to zero it uses
 * `(i / (num - 1)) * (hi - lo) + lo` instead; for `num == 1` the single value
 * is `0 * (hi - lo) + lo`. All of that is mirrored here.
 */
export function linspace(lo: number, hi: number, shape: readonly number[]): Tensor {
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 0) throw new RangeError(`invalid dimension ${d} in linspace shape`);
  }
  const num = size(shape);
  const data = new Float64Array(num);
  const div = num - 1;
  const delta = hi - lo;
  if (div > 0) {
    const step = delta / div;
    if (step === 0) {
      for (let i = 0; i < num; i++) data[i] = (i / div) * delta + lo;
    } else {
      for (let i = 0; i < num; i++) data[i] = i * step + lo;
    }
    data[num - 1] = hi;
  } else if (num === 1) {
    data[0] = 0 * delta + lo;
  }
  return { data, shape: [...shape] };
}

/** `np.random.randn(*shape)`: a float64 C-order tensor of `rng.randn()` draws. */
export const randnWith = randn;

/** `np.random.rand(*shape)`: a float64 C-order tensor of `rng.uniform()` draws. */
export function randWith(rng: Rng, shape: readonly number[]): Tensor {
  const data = new Float64Array(size(shape));
  for (let i = 0; i < data.length; i++) data[i] = rng.uniform();
  return { data, shape: [...shape] };
}
