/**
 * hints.ts in isolation: the localization of a compared array agrees with the comparison on the
 * worst element (ties of the relative error go to the larger absolute error in both); localize's
 * messages reworded for a comparison; the `unused-input` hint of a gradient check.
 */
import { describe, expect, it } from 'vitest';
import { getLayer } from '../../src/layers/registry.js';
import { comparisonWording, diagnoseArrays, failingCount, localizeArray, type ComparisonContext } from '../../src/gradcheck/hints.js';
import { judgeArray } from '../../src/gradcheck/reference.js';
import { localize } from '../../src/gradcheck/localize.js';
import type { Tensor } from '../../src/tensor/tensor.js';

const conv = getLayer('conv');

function context(actual: Tensor, expected: Tensor, name = 'db'): ComparisonContext {
  return {
    spec: conv,
    params: { stride: 1, pad: 1 },
    inputs: {},
    actual: new Map([[name, actual]]),
    reference: new Map([[name, expected]]),
    terms: { actual: 'your' },
  };
}

describe('the localization of a compared array', () => {
  it('names the same worst element as the comparison: a tie of the relative error goes to the larger absolute error', () => {
    // Elements 1 and 2 both have relative error 1 (0 against a nonzero value); element 2's absolute error is larger.
    const expected: Tensor = { data: Float64Array.from([1, 2, -7, 4]), shape: [4] };
    const actual: Tensor = { data: Float64Array.from([1, 0, 0, 4.5]), shape: [4] };
    const row = judgeArray('db', { ...actual, dtype: 'float64' }, expected);
    expect(row.worst?.index).toEqual([2]);
    const loc = localizeArray('db', actual.data, expected, row.threshold, 1e-8, context(actual, expected));
    expect(loc.top[0].index).toEqual(row.worst?.index);
    expect(loc.top.map((e) => e.index[0])).toEqual([2, 1, 3, 0]);
    expect(failingCount(loc)).toBe(3);
  });

  it('diagnoseArrays adds it to failing arrays only, with the hint worded for a comparison', () => {
    const expected: Tensor = { data: Float64Array.from([10, -20, 30]), shape: [3] };
    const actual: Tensor = { data: Float64Array.from([1, -2, 3]), shape: [3] };
    const rows = [judgeArray('db', { ...actual, dtype: 'float64' }, expected), judgeArray('db', { ...expected, dtype: 'float64' }, expected)];
    diagnoseArrays(rows, context(actual, expected));
    expect(rows[1].localization).toBeUndefined();
    expect(rows[0].localization?.hint).toEqual({
      kind: 'factor',
      factor: 0.1,
      message: 'your db = the reference * 0.1 for all 3 checked elements: a constant factor (a scale applied twice or missing?)',
    });
  });
});

describe('comparisonWording', () => {
  it('rewords localize\'s messages: the judged array is "your", the numeric side "the reference"', () => {
    const terms = { actual: "the fixture's" };
    expect(comparisonWording('analytic db = numeric / 100 for all 2 checked elements', terms)).toBe(
      "the fixture's db = the reference / 100 for all 2 checked elements",
    );
    expect(comparisonWording('away from the border, analytic dx[h, w] = numeric dx[h - 1, w - 1]', terms)).toBe(
      "away from the border, the fixture's dx[h, w] = the reference's dx[h - 1, w - 1]",
    );
    expect(comparisonWording('analytic dw equals the numeric with HH and WW reversed', terms)).toBe(
      "the fixture's dw equals the reference's with HH and WW reversed",
    );
    expect(comparisonWording('analytic db is zero where the numeric one is not (largest |numeric| 3)', terms)).toBe(
      "the fixture's db is zero where the reference's is not (largest |reference| 3)",
    );
  });
});

describe('unused-input in a gradient check', () => {
  it('a numeric gradient exactly zero where the analytic one is not: the forward ignores that input', () => {
    const loc = localize({
      name: 'db',
      input: 'b',
      shape: [3],
      analytic: Float64Array.from([1, 2, 3]),
      numeric: new Float64Array(3),
      kinks: new Uint8Array(3),
      skipKinks: true,
      floor: 1e-8,
      threshold: 1e-7,
      outShape: [2, 3, 4, 4],
      outNames: ['N', 'F', 'Hout', 'Wout'],
    });
    expect(loc.hint?.kind).toBe('unused-input');
    expect(loc.hint?.message).toBe(
      "numeric db is exactly zero at all 3 checked elements while the analytic one is not: the forward's output does not depend on b (is b ever used, e.g. the bias added?)",
    );
  });
});
