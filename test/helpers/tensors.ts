import type { Tensor } from '../../src/tensor/tensor.js';

/** A float64 tensor from nested-free values and a shape. */
export function t(values: number[], shape: number[]): Tensor {
  return { data: Float64Array.from(values), shape };
}

/** 1, 2, ..., n as a tensor of `shape`. */
export function iota(shape: number[], start = 1): Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  return t(Array.from({ length: n }, (_, i) => start + i), shape);
}

/** Plain array of a tensor's values. */
export function vals(x: Tensor): number[] {
  return Array.from(x.data);
}
