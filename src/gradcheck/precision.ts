/**
 * What a float32 gradient check compares, and the tolerance it allows.
 *
 * With `dtype: 'float32'` the inputs and dout are rounded to float32 once and handed to the
 * layer as Float32Arrays. An implementation whose output comes back as a Float32Array is a
 * **float32 layer** (the fast ones compute in the dtype of their input); so is one whose output is
 * made of float32 values only (`computedDType`: it rounds to float32 inside and returns float64),
 * in either dtype. One that computes in float64 (the naive ones, whatever they are given) is a
 * float64 layer fed float32-rounded values and is judged with the float64 tolerance. The numeric
 * side computes in float64 from exactly the rounded values, so the function differentiated is the
 * same and its own error (~1e-11 relative at h = 1e-5) is negligible here: what is left is the
 * float32 layer's rounding. An implementation that computes in float32 even on the numeric side's
 * float64 inputs (a user's module) cannot be that forward: centred differences of a float32
 * function at h = 1e-5 carry ~u |out| / h, 1e-2 relative, far above the tolerance below. The
 * numeric side then runs the layer's own float64 forward when the checked one agrees with it
 * (gradcheck.ts `numericForward`), and else the checked float32 forward with float32 rounding in
 * its noise.
 *
 * Derivation of the float32 tolerance. Each float32 operation rounds with relative error at most
 * u = 2^-24 ≈ 6.0e-8. An element of a gradient is a sum over the outputs it reaches of a few
 * chained products (conv's dx: F*HH*WW terms; dw and db: N*Hout*Wout; a normalization: a few sums
 * over its group), so it has at most K = size(out) terms. The k-th addition of a sum rounds the
 * partial sum with error <= u * |partial sum|, and the partial sums of a gradient stay at the
 * magnitude M of its largest element; round-to-nearest errors are not correlated on real data,
 * so they add like a random walk: |error| ≈ u * M * sqrt(K) (Higham, Accuracy and Stability of
 * Numerical Algorithms, 2nd ed., sections 2.8 and 4.2; the worst case u * M * K needs every
 * rounding to go the same way). So:
 *
 * - the error of element i is measured against M, not against |g_i|, which can be ≈ 0 after
 *   cancellation (where no float32 sum has relative accuracy): the relative error's denominator
 *   is floored at M = max |analytic| (known for every element, before any numeric value)
 *   instead of cs231n's 1e-8: `e_i = |a_i - n_i| / max(|a_i| + |n_i|, M)`. A broken gradient
 *   cannot hide behind its own M: scaled by k, its largest elements still err by |k - 1| / (k + 1);
 *   zeroed, M is 0 and the error is 1;
 * - the threshold is `FLOAT32_SAFETY * u * sqrt(size(out))`, at least the layer's float64
 *   tolerance; FLOAT32_SAFETY = 8 covers the few roundings chained per term (a product, a
 *   normalization) and the tail of the maximum over all elements (~4 standard deviations).
 *
 * At the cs231n conv shapes (200 outputs) that is 6.7e-6, at x 8,16,16,16 with w 16,16,3,3
 * (32768 outputs) 8.6e-5, and at x 32,64,32,32 with w 64,64,3,3 (2^21 outputs) 6.9e-4. The
 * fast float32 layers measure 1e-8 to 3e-7 (they accumulate long sums in float64 or in short
 * blocks), so a float32 layer that sums naively in float32 still passes; the broken backward
 * passes of the test suite measure 1e-2 to 1 in this metric and fail at every size.
 */
import { REL_ERROR_FLOOR } from '../tensor/compare.js';
import type { DType, FloatArray, Tensor } from '../tensor/tensor.js';

/** Unit roundoff of float32, 2^-24. */
export const FLOAT32_UNIT_ROUNDOFF = 2 ** -24;

/** Multiplier of u * sqrt(K) in the float32 threshold (see the module comment). */
export const FLOAT32_SAFETY = 8;

/** The dtype an implementation computed in, read from its output array. */
export function layerDType(out: FloatArray): DType {
  return out instanceof Float32Array ? 'float32' : 'float64';
}

/** Non-zero float32 values an output needs, none a copy of an input value, to show float32 arithmetic. */
export const FLOAT32_EVIDENCE = 4;

/**
 * The dtype an implementation computed in: float32 when its output is a Float32Array, and also
 * when every output value is a float32 value and at least FLOAT32_EVIDENCE non-zero ones are not
 * copies of input values. A value computed in float64 is a float32 value with probability ~2^-29
 * (its last 29 mantissa bits zero), so such an output was rounded to float32 inside, as by a
 * module that computes in Float32Arrays and returns a Float64Array. Copies (up to sign and a
 * power-of-two factor) are left out because relu, max-pool and dropout at p = 0.5 route float32
 * inputs unchanged or exactly scaled in any dtype (and are exact in both).
 */
export function computedDType(out: FloatArray, inputs: Record<string, Tensor>): DType {
  if (out instanceof Float32Array) return 'float32';
  for (let k = 0; k < out.length; k++) if (Math.fround(out[k]) !== out[k]) return 'float64';
  const seen = new Set<number>();
  for (const t of Object.values(inputs)) for (let j = 0; j < t.data.length; j++) seen.add(significand(t.data[j]));
  let evidence = 0;
  for (let k = 0; k < out.length && evidence < FLOAT32_EVIDENCE; k++) if (out[k] !== 0 && !seen.has(significand(out[k]))) evidence++;
  return evidence >= FLOAT32_EVIDENCE ? 'float32' : 'float64';
}

const bits = new DataView(new ArrayBuffer(8));

/**
 * The significand bits of a float64 (sign and exponent dropped): equal for a value and its exact
 * multiples by powers of two, which are copies for computedDType (dropout's x * 2 at p = 0.5
 * keeps float32 values in any dtype, as relu and max-pool do).
 */
function significand(v: number): number {
  bits.setFloat64(0, v);
  return (bits.getUint32(0) & 0xfffff) * 2 ** 32 + bits.getUint32(4);
}

/** Threshold on the relative error of a float32 layer's gradients: max(tol64, 8 u sqrt(size(out))). */
export function float32Tolerance(float64Tolerance: number, outputSize: number): number {
  return Math.max(float64Tolerance, FLOAT32_SAFETY * FLOAT32_UNIT_ROUNDOFF * Math.sqrt(Math.max(1, outputSize)));
}

/** Largest magnitude of an array (NaN and Inf ignored). */
export function maxAbs(a: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    const v = Math.abs(a[i]);
    if (v > m && v !== Infinity) m = v;
  }
  return m;
}

/**
 * Denominator floor of the element-wise relative error: cs231n's 1e-8 for float64 layers, the
 * gradient's magnitude M for float32 layers (see the module comment).
 */
export function relErrorFloor(dtype: DType, magnitude: number): number {
  return dtype === 'float32' ? Math.max(REL_ERROR_FLOOR, magnitude) : REL_ERROR_FLOOR;
}
