/**
 * Judging arrays against the reference: an implementation's out, state and gradients (a
 * user's module, `--impl`), or the results a fixture holds (`compare`), against the reference
 * computed in float64 on the same inputs.
 *
 * Tolerances (dtype of the judged array):
 * - float64: the cs231n relative error max|a-b| / max(1e-8, |a|+|b|) must be <= 1e-6.
 *   Two correct float64 implementations differ by rounding, ~1e-12 relative even when
 *   they sum in another order or use an algebraically different variance formula; a real
 *   bug (a wrong element, a missing term, a factor) shows up at 1e-3 or more. 1e-4 on an
 *   array, or one wrong element, fails.
 * - float32: the same error must be <= 1e-4, with the denominator floored at
 *   1e-3 * max|expected|. A float32 framework run rounds every product and sum to 24
 *   bits (unit roundoff 6e-8); a sum of K terms carries an absolute error of about
 *   sqrt(K) * 6e-8 * max|term|, i.e. ~1e-5 relative for the layers and sizes here.
 *   Elements far below the array's scale would show that absolute error as a large
 *   relative one, so they are judged against a thousandth of the array's largest value.
 * NaN or Inf in either array always fails.
 */
import { compareArrays, REL_ERROR_FLOOR } from '../tensor/compare.js';
import { formatShape, sameShape, type FloatArray } from '../tensor/tensor.js';
import type { Localization } from './localize.js';

/** Thresholds against the reference by dtype of the judged array (see the module comment). */
export const COMPARE_TOLERANCE = {
  float64: { threshold: 1e-6, floorScale: 0 },
  float32: { threshold: 1e-4, floorScale: 1e-3 },
} as const;

/** One array judged against the reference. */
export interface ArrayReport {
  name: string;
  /** The judged array's dtype as stored or returned: `float64`, `float32`, or `-` when there is none. */
  dtype: string;
  relError: number;
  maxAbsError: number;
  /** The worst element: `actual` is the judged array's value, `expected` the reference's. */
  worst: { index: number[]; expected: number; actual: number } | null;
  threshold: number;
  pass: boolean;
  /** Why it failed when the numbers do not say it (shape mismatch, NaN, nothing returned). */
  message?: string;
  /**
   * Where a failing array is wrong and the mistake it matches (hints.ts): localize()'s report with
   * `analytic` the judged array and `numeric` the reference's; only a hint for a shape mismatch.
   */
  localization?: Localization;
}

/** An array as judged: its values, shape and dtype (`float32` gets the float32 tolerance). */
export interface JudgedArray {
  data: ArrayLike<number>;
  shape: readonly number[];
  dtype: string;
}

function maxAbs(data: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < data.length; i++) {
    const v = Math.abs(data[i]);
    if (v > m) m = v;
  }
  return m;
}

/** A failed row for an array that could not be judged: `message` says why. */
export function failedArray(name: string, message: string): ArrayReport {
  return { name, dtype: '-', relError: Infinity, maxAbsError: Infinity, worst: null, threshold: COMPARE_TOLERANCE.float64.threshold, pass: false, message };
}

/**
 * Judge `actual` against the reference `expected` (same shape expected). `threshold`
 * overrides the dtype's default (`--max-error`).
 */
export function judgeArray(name: string, actual: JudgedArray, expected: { data: FloatArray; shape: readonly number[] }, threshold?: number): ArrayReport {
  const tol = actual.dtype === 'float32' ? COMPARE_TOLERANCE.float32 : COMPARE_TOLERANCE.float64;
  const base = { name, dtype: actual.dtype, threshold: threshold ?? tol.threshold };
  if (!sameShape(actual.shape, expected.shape)) {
    return {
      ...base,
      relError: Infinity,
      maxAbsError: Infinity,
      worst: null,
      pass: false,
      message: `${name} has shape ${formatShape(actual.shape)}, expected the reference's ${formatShape(expected.shape)}`,
    };
  }
  const floor = Math.max(REL_ERROR_FLOOR, tol.floorScale * maxAbs(expected.data));
  const cmp = compareArrays(actual.data, expected.data, expected.shape, undefined, floor);
  const report: ArrayReport = {
    ...base,
    relError: cmp.relError,
    maxAbsError: cmp.maxAbsError,
    worst: { index: cmp.worst.index, expected: cmp.worst.expected, actual: cmp.worst.actual },
    pass: cmp.nonFinite === 0 && cmp.relError <= base.threshold,
  };
  if (cmp.nonFinite) report.message = `${cmp.nonFinite} NaN/Inf value(s), first at (${cmp.worst.index.join(', ')})`;
  return report;
}
