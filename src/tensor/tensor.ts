/**
 * Tensors are plain records: a flat typed array in C (row-major) order plus a shape.
 * float64 is the reference dtype; float32 is used by the fast paths and fixtures.
 */
export type DType = 'float64' | 'float32';
export type FloatArray = Float64Array | Float32Array;

/** A dense C-order array: `data.length === size(shape)`. */
export interface Tensor {
  data: FloatArray;
  shape: number[];
}

/** Number of elements of a shape (1 for a 0-d shape). */
export function size(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** A zero-filled float64 tensor of `shape`. */
export function zeros(shape: readonly number[], dtype: DType = 'float64'): Tensor {
  const n = size(shape);
  return { data: dtype === 'float32' ? new Float32Array(n) : new Float64Array(n), shape: [...shape] };
}

/** A tensor of the same shape and dtype as `t`, zero-filled. */
export function zerosLike(t: Tensor): Tensor {
  return { data: new (t.data.constructor as Float64ArrayConstructor)(t.data.length), shape: [...t.shape] };
}

/** A deep copy of `t`. */
export function clone(t: Tensor): Tensor {
  return { data: t.data.slice(), shape: [...t.shape] };
}

/** The dtype name of a tensor's data. */
export function dtypeOf(t: Tensor): DType {
  return t.data instanceof Float32Array ? 'float32' : 'float64';
}

/** A copy of `t` converted to `dtype` (a copy even when the dtype already matches). */
export function toDType(t: Tensor, dtype: DType): Tensor {
  const data = dtype === 'float32' ? Float32Array.from(t.data) : Float64Array.from(t.data);
  return { data, shape: [...t.shape] };
}

/** `a` as a `dtype` array: `a` itself when it already is one, else a converted copy. */
export function asDType(a: FloatArray, dtype: DType): FloatArray {
  if ((dtype === 'float32') === a instanceof Float32Array) return a;
  return dtype === 'float32' ? Float32Array.from(a) : Float64Array.from(a);
}

/** `t` in `dtype`: `t` itself when it already is, else a converted copy. The one conversion helper. */
export function inDType(t: Tensor, dtype: DType): Tensor {
  return t.data instanceof Float32Array === (dtype === 'float32') ? t : toDType(t, dtype);
}

/** Row-major strides of a shape, in elements. */
export function strides(shape: readonly number[]): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    s[i] = acc;
    acc *= shape[i];
  }
  return s;
}

/** The multi-index of flat position `flat` in a C-order array of `shape`. */
export function unravel(flat: number, shape: readonly number[]): number[] {
  const idx = new Array<number>(shape.length);
  for (let i = shape.length - 1; i >= 0; i--) {
    idx[i] = flat % shape[i];
    flat = Math.floor(flat / shape[i]);
  }
  return idx;
}

/** `"(4, 3, 5, 5)"`: a shape written as numpy prints it. */
export function formatShape(shape: readonly number[]): string {
  return shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
}

/** True when the two shapes are equal. */
export function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/** Index of the first NaN or Inf in `data`, or -1. */
export function firstNonFinite(data: ArrayLike<number>): number {
  for (let i = 0; i < data.length; i++) if (!Number.isFinite(data[i])) return i;
  return -1;
}
