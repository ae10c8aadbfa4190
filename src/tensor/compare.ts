/**
 * Comparison metrics shared by the gradient checker and fixture comparison.
 * relError is the cs231n relative error, max_i |a_i - b_i| / max(1e-8, |a_i| + |b_i|).
 */
import { unravel } from './tensor.js';

/** The denominator floor of the cs231n relative error. */
export const REL_ERROR_FLOOR = 1e-8;

/** Per-array agreement between an `actual` (analytic) and an `expected` (numeric/reference) array. */
export interface ArrayComparison {
  /** max_i |a_i - b_i| / max(1e-8, |a_i| + |b_i|); Infinity when any value is NaN/Inf. */
  relError: number;
  /** max_i |a_i - b_i|; Infinity when any value is NaN/Inf. */
  maxAbsError: number;
  /** The element with the largest relative error (or the first non-finite one). */
  worst: { index: number[]; flat: number; actual: number; expected: number };
  /** Number of elements where either side is NaN or Inf. */
  nonFinite: number;
}

/** Element-wise relative error of one pair, as in the cs231n notebooks. */
export function relErrorOf(a: number, b: number): number {
  return Math.abs(a - b) / Math.max(REL_ERROR_FLOOR, Math.abs(a) + Math.abs(b));
}

/**
 * Compare two equally long arrays of the given shape. `skip`, when given, marks
 * elements to leave out (kinks); they count neither for the worst element nor the maxima.
 * `floor` is the denominator floor of the relative error (1e-8 as in cs231n by default).
 */
export function compareArrays(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  shape: readonly number[],
  skip?: Uint8Array,
  floor: number = REL_ERROR_FLOOR,
): ArrayComparison {
  if (actual.length !== expected.length) {
    throw new RangeError(`compareArrays: expected equal lengths, got ${actual.length} and ${expected.length}`);
  }
  let relError = 0;
  let maxAbsError = 0;
  let worstFlat = -1;
  let nonFinite = 0;
  for (let i = 0; i < actual.length; i++) {
    if (skip?.[i]) continue;
    const a = actual[i];
    const b = expected[i];
    if (!Number.isFinite(a) || !Number.isFinite(b)) {
      if (nonFinite === 0) worstFlat = i;
      nonFinite++;
      continue;
    }
    const abs = Math.abs(a - b);
    const rel = abs / Math.max(floor, Math.abs(a) + Math.abs(b));
    if (abs > maxAbsError) maxAbsError = abs;
    // NOTE: ties of the relative error (1 = 0 against a nonzero value, or two elements both at
    // the 1e-8 floor) go to the larger absolute error, so the worst element is the one that
    // matters most.
    if (nonFinite === 0 && (worstFlat < 0 || rel > relError || (rel === relError && abs > Math.abs(actual[worstFlat] - expected[worstFlat])))) {
      relError = rel;
      worstFlat = i;
    }
  }
  if (nonFinite > 0) {
    relError = Infinity;
    maxAbsError = Infinity;
  }
  if (worstFlat < 0) worstFlat = 0;
  const empty = actual.length === 0;
  return {
    relError,
    maxAbsError,
    worst: {
      index: empty ? [] : unravel(worstFlat, shape),
      flat: worstFlat,
      actual: empty ? NaN : actual[worstFlat],
      expected: empty ? NaN : expected[worstFlat],
    },
    nonFinite,
  };
}
