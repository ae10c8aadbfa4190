import type { Tensor } from '../../src/tensor/tensor.js';

/** A float64 tensor from nested-free values and a shape. */
export function t(values: number[], shape: number[]): Tensor {
  return { data: Float64Array.from(values), shape };
}

/** 1, 2, ..., n as a tensor of `shape`. */
export function iota(shape: number[], start = 1): Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  return t(
    Array.from({ length: n }, (_, i) => start + i),
    shape,
  );
}

/** Plain array of a tensor's values. */
export function vals(x: Tensor): number[] {
  return Array.from(x.data);
}

/** max|a - b| / max|b|: relative to the array's scale, so elements near 0 do not dominate. */
export function normRel(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < b.length; i++) {
    num = Math.max(num, Math.abs(a[i] - b[i]));
    den = Math.max(den, Math.abs(b[i]));
  }
  return den === 0 ? num : num / den;
}
