/**
 * Where a failing gradient is wrong, as plain data: the worst elements, the error per sample,
 * per channel and on the border against the interior, a |error| map over (H, W) of the worst
 * (n, c) slice, and a hint when the pattern is one of the known mistakes:
 *
 * - `zero`: the analytic gradient is zero where the numeric one is not (never written);
 * - `sign`: analytic = -numeric everywhere (a sign flip);
 * - `factor`: analytic = k * numeric everywhere, named when k or 1/k is a product of output
 *   dimensions (db averaged over N*Hout*Wout instead of summed);
 * - `kernel-flip`: analytic equals the numeric with both spatial axes reversed (a convolution
 *   where the forward cross-correlates);
 * - `padding-offset`: away from the border the analytic equals the numeric shifted by (dy, dx),
 *   and what is left sits on the border rows/columns (dx cropped from the padded gradient
 *   without the pad offset). The raw error of such a shift is everywhere, so the pattern is
 *   shown after aligning: `aligned` and `heatmap.aligned`;
 * - `border`: the error is only on the border and the interior is right (padding taps sent to
 *   real elements).
 *
 * Only elements with a numeric value are used: all of them after a full check, the sampled ones
 * otherwise, plus what `probe` evaluates on request (the worst slice for the map, the mirror
 * images of the worst elements) while the caller's budget allows.
 */
import { unravel, strides } from '../tensor/tensor.js';
import { axisLayout, hasInterior, onBorder, type AxisLayout } from './strata.js';
import type { NumpyHintKind } from './hints.js';

/** One element of a failing gradient. */
export interface ElementError {
  index: number[];
  analytic: number;
  numeric: number;
  absError: number;
  relError: number;
}

/** Errors over a group of elements. */
export interface ErrorStats {
  /** Elements with a numeric value in the group. */
  count: number;
  /** Of those, elements whose relative error exceeds the threshold. */
  failing: number;
  maxRelError: number;
  maxAbsError: number;
}

/** Errors of the elements with one index along an axis (a sample, a channel). */
export interface GroupStats extends ErrorStats {
  index: number;
}

/** |analytic - numeric| over the last two axes of the worst (n, c) slice; null where not evaluated. */
export interface Heatmap {
  n: number;
  c: number;
  values: (number | null)[][];
  /** The same map after aligning by the detected shift (hint `padding-offset`). */
  aligned?: (number | null)[][];
}

export type HintKind = 'zero' | 'sign' | 'factor' | 'kernel-flip' | 'padding-offset' | 'border' | NumpyHintKind;

/** A known mistake the error pattern matches. */
export interface Hint {
  kind: HintKind;
  message: string;
  /** analytic / numeric for `factor` and `sign`. */
  factor?: number;
  /** (rows, columns) for `padding-offset`: analytic[h, w] = numeric[h - rows, w - cols]. */
  shift?: [number, number];
}

/** What localization returns for one failing gradient. */
export interface Localization {
  /** Elements with a numeric value that were used / elements of the gradient. */
  checked: number;
  total: number;
  top: ElementError[];
  /** Per index of axis 0 (samples of x, filters of w); empty for rank 1. */
  perSample: GroupStats[];
  /** Per index of the channel axis (axis 1; axis 0 for rank 1). */
  perChannel: GroupStats[];
  border?: ErrorStats;
  interior?: ErrorStats;
  heatmap?: Heatmap;
  /**
   * After aligning by the shift of a `padding-offset` hint: `border` over the band of |dy| rows
   * and |dx| columns the shift leaves over (on the border), `interior` over everything else.
   */
  aligned?: { shift: [number, number]; border: ErrorStats; interior: ErrorStats };
  hint: Hint | null;
}

/** Evaluations localization may ask for beyond the elements already known. */
export interface Prober {
  /** True when `count` more evaluations fit the budget. */
  canAfford(count: number): boolean;
  /** Evaluate the numeric gradient at `flat` (writes `numeric[flat]` and `kinks[flat]`). */
  probe(flat: number): void;
}

export interface LocalizeInput {
  /** Gradient name (`dw`) and its input (`w`). */
  name: string;
  input: string;
  shape: number[];
  analytic: ArrayLike<number>;
  /** Numeric values, NaN where not evaluated; probes fill it in. */
  numeric: Float64Array;
  /** Rounding noise of each numeric value (numeric.ts), when known. */
  noise?: Float64Array;
  /** 1 at elements whose centred difference straddles a kink. */
  kinks: Uint8Array;
  /** Leave kink elements out (the default of the checker). */
  skipKinks: boolean;
  /** Denominator floor of the relative error (1e-8, or the magnitude for float32). */
  floor: number;
  threshold: number;
  /** The output's shape and the names of its axes, to name a constant factor. */
  outShape: number[];
  outNames: string[];
  prober?: Prober;
  /** Worst elements listed (default 5). */
  topK?: number;
}

/** An analytic gradient below this fraction of the numeric one's magnitude counts as zero. */
export const ZERO_FRACTION = 1e-9;

/** Largest shift (rows or columns) the padding-offset test tries. */
export const MAX_SHIFT = 3;

function emptyStats(): ErrorStats {
  return { count: 0, failing: 0, maxRelError: 0, maxAbsError: 0 };
}

function addTo(s: ErrorStats, abs: number, rel: number, threshold: number): void {
  s.count++;
  if (rel > threshold) s.failing++;
  if (rel > s.maxRelError) s.maxRelError = rel;
  if (abs > s.maxAbsError) s.maxAbsError = abs;
}

/** Names of an output's axes: (N, F, Hout, Wout) for a conv, (N, C, Hout, Wout) for a pool, (N, M) ... */
export function outputAxisNames(outShape: readonly number[], hasWeights: boolean): string[] {
  if (outShape.length === 4) return ['N', hasWeights ? 'F' : 'C', 'Hout', 'Wout'];
  if (outShape.length === 2) return ['N', hasWeights ? 'M' : 'D'];
  if (outShape.length === 3) return ['N', 'C', 'L'];
  return outShape.map((_, i) => `d${i}`);
}

/** A product of output dimensions equal to `value` (relative `tol`), smallest subset first. */
function matchDims(value: number, shape: readonly number[], names: readonly string[], tol: number): { product: number; names: string[] } | null {
  const axes = shape.map((_, i) => i).filter((i) => shape[i] > 1);
  let best: { product: number; names: string[] } | null = null;
  for (let mask = 1; mask < 1 << axes.length; mask++) {
    let product = 1;
    const picked: string[] = [];
    for (let k = 0; k < axes.length; k++) {
      if (mask & (1 << k)) {
        product *= shape[axes[k]];
        picked.push(names[axes[k]]);
      }
    }
    if (Math.abs(value / product - 1) <= tol && (!best || picked.length < best.names.length)) best = { product, names: picked };
  }
  return best;
}

function fmt(v: number): string {
  return Number(v.toPrecision(6)).toString();
}

/** Localize the error of one failing gradient (see the module comment). */
export function localize(inp: LocalizeInput): Localization {
  const { shape, analytic, numeric, kinks, floor, threshold } = inp;
  const total = numeric.length;
  const layout = axisLayout(shape);
  const st = strides(shape);
  const tol = Math.max(10 * threshold, 1e-9);
  const usable = (i: number) => !Number.isNaN(numeric[i]) && !(inp.skipKinks && kinks[i]);
  // The cs231n relative error, as the gradient's row reports it, where the difference is beyond
  // the numeric side's rounding noise; within it, a difference is no evidence of an error and
  // counts as at most the threshold (so it neither ranks as worst nor fails), as in the check.
  const relOf = (a: number, n: number, j: number) => {
    const abs = Math.abs(a - n);
    const rel = abs / Math.max(floor, Math.abs(a) + Math.abs(n));
    const noise = inp.noise ? inp.noise[j] : 0;
    return abs > noise ? rel : Math.min(rel, abs / Math.max(floor, Math.abs(a) + Math.abs(n), noise / threshold));
  };
  const known = (): number[] => {
    const out: number[] = [];
    for (let i = 0; i < total; i++) if (usable(i)) out.push(i);
    return out;
  };

  const byError = (list: number[]) =>
    [...list].sort(
      (i, j) =>
        relOf(analytic[j], numeric[j], j) - relOf(analytic[i], numeric[i], i) || Math.abs(analytic[j] - numeric[j]) - Math.abs(analytic[i] - numeric[i]),
    );
  let elements = known();
  let worst = byError(elements);

  // Probe the worst (n, c) slice first, so every statistic below sees it. The kernel-flip and
  // shift tests need no probes: they compare known numeric values with the analytic gradient,
  // which is known everywhere, at the mirrored or shifted position.
  const spatial = layout.spatial;
  const mirror = (i: number): number => {
    let j = i;
    for (const a of spatial) {
      const k = Math.floor(i / st[a]) % shape[a];
      j += (shape[a] - 1 - 2 * k) * st[a];
    }
    return j;
  };
  const slice: number[] = [];
  let rows = 0;
  let cols = 0;
  if (worst.length && spatial.length) {
    const w0 = unravel(worst[0], shape);
    rows = spatial.length === 2 ? shape[spatial[0]] : 1;
    cols = shape[spatial[spatial.length - 1]];
    const base = worst[0] - spatial.reduce((acc, a) => acc + w0[a] * st[a], 0);
    const rowStride = spatial.length === 2 ? st[spatial[0]] : 0;
    const colStride = st[spatial[spatial.length - 1]];
    for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) slice.push(base + r * rowStride + c * colStride);
    const missing = slice.filter((j) => Number.isNaN(numeric[j]));
    if (missing.length && inp.prober?.canAfford(missing.length)) for (const j of missing) inp.prober.probe(j);
  }
  elements = known();
  worst = byError(elements);

  const top: ElementError[] = worst.slice(0, inp.topK ?? 5).map((i) => ({
    index: unravel(i, shape),
    analytic: analytic[i],
    numeric: numeric[i],
    absError: Math.abs(analytic[i] - numeric[i]),
    relError: relOf(analytic[i], numeric[i], i),
  }));

  const groups = (axis: number): GroupStats[] => {
    if (axis < 0) return [];
    const stats = new Map<number, ErrorStats>();
    for (const i of elements) {
      const k = Math.floor(i / st[axis]) % shape[axis];
      let s = stats.get(k);
      if (!s) {
        s = emptyStats();
        stats.set(k, s);
      }
      addTo(s, Math.abs(analytic[i] - numeric[i]), relOf(analytic[i], numeric[i], i), threshold);
    }
    return [...stats.entries()].sort((a, b) => a[0] - b[0]).map(([index, s]) => ({ index, ...s }));
  };

  const result: Localization = {
    checked: elements.length,
    total,
    top,
    perSample: groups(layout.sample),
    perChannel: groups(layout.channel),
    hint: null,
  };

  const positionStats = (errorAt: (i: number) => [number, number]) => {
    const border = emptyStats();
    const interior = emptyStats();
    for (const i of elements) {
      const [abs, rel] = errorAt(i);
      addTo(onBorder(unravel(i, shape), shape, layout) ? border : interior, abs, rel, threshold);
    }
    return { border, interior };
  };
  if (spatial.length) {
    const s = positionStats((i) => [Math.abs(analytic[i] - numeric[i]), relOf(analytic[i], numeric[i], i)]);
    result.border = s.border;
    if (hasInterior(shape, layout)) result.interior = s.interior;
  }

  const mapOf = (errorAt: (i: number) => number | null): (number | null)[][] => {
    const values: (number | null)[][] = [];
    for (let r = 0; r < rows; r++) {
      const row: (number | null)[] = [];
      for (let c = 0; c < cols; c++) {
        const i = slice[r * cols + c];
        row.push(errorAt(i));
      }
      values.push(row);
    }
    return values;
  };
  if (slice.length) {
    const w0 = unravel(slice[0], shape);
    result.heatmap = {
      n: layout.sample >= 0 ? w0[layout.sample] : 0,
      c: layout.channel >= 0 ? w0[layout.channel] : 0,
      values: mapOf((i) => (usable(i) ? Math.abs(analytic[i] - numeric[i]) : null)),
    };
  }

  result.hint =
    scaleHint(inp, elements, tol) ??
    flipHint(inp, elements, mirror, relOf, tol, layout) ??
    shiftHint(inp, elements, relOf, tol, layout, st, result, mapOf) ??
    borderHint(inp, result) ??
    gradientHint(inp, elements);
  return result;
}

/** zero, sign and factor: analytic = k * numeric for every usable element. */
function scaleHint(inp: LocalizeInput, elements: number[], tol: number): Hint | null {
  const { analytic, numeric } = inp;
  let maxN = 0;
  let maxA = 0;
  for (const i of elements) {
    maxN = Math.max(maxN, Math.abs(numeric[i]));
    maxA = Math.max(maxA, Math.abs(analytic[i]));
  }
  if (elements.length === 0 || maxN === 0) return null;
  const g = inp.name;
  // Zero, not merely small: db averaged over N*Hout*Wout = 32768 is a factor 3e-5, not a zero.
  if (maxA <= ZERO_FRACTION * maxN) {
    return { kind: 'zero', factor: 0, message: `analytic ${g} is zero where the numeric one is not (largest |numeric| ${fmt(maxN)}): is ${g} ever written?` };
  }
  // Least squares over elements well above the numeric noise.
  let an = 0;
  let nn = 0;
  const big = elements.filter((i) => Math.abs(numeric[i]) >= 1e-3 * maxN);
  for (const i of big) {
    an += analytic[i] * numeric[i];
    nn += numeric[i] * numeric[i];
  }
  if (big.length < Math.min(2, elements.length)) return null;
  const k = an / nn;
  let resid = 0;
  for (const i of big) resid = Math.max(resid, Math.abs(analytic[i] - k * numeric[i]) / (Math.abs(analytic[i]) + Math.abs(k * numeric[i])));
  if (resid > tol || Math.abs(k - 1) <= tol) return null;
  const every = `for all ${big.length} checked element${big.length === 1 ? '' : 's'}`;
  if (Math.abs(k + 1) <= tol) return { kind: 'sign', factor: -1, message: `analytic ${g} = -numeric ${every}: an exact sign flip` };
  const dims = Math.abs(k) < 1 ? matchDims(1 / Math.abs(k), inp.outShape, inp.outNames, tol) : matchDims(Math.abs(k), inp.outShape, inp.outNames, tol);
  const sign = k < 0 ? '-' : '';
  if (dims && Math.abs(k) < 1) {
    return {
      kind: 'factor',
      factor: k,
      message: `analytic ${g} = ${sign}numeric / ${dims.product} ${every}, and ${dims.product} = ${dims.names.join('*')}: averaged over ${dims.names.join('*')} instead of summed?`,
    };
  }
  if (dims) {
    return {
      kind: 'factor',
      factor: k,
      message: `analytic ${g} = ${sign}numeric * ${dims.product} ${every}, and ${dims.product} = ${dims.names.join('*')}: summed over ${dims.names.join('*')} where the forward averages?`,
    };
  }
  return { kind: 'factor', factor: k, message: `analytic ${g} = numeric * ${fmt(k)} ${every}: a constant factor (a scale applied twice or missing?)` };
}

/** kernel-flip: analytic equals the numeric with every spatial axis reversed. */
function flipHint(
  inp: LocalizeInput,
  elements: number[],
  mirror: (i: number) => number,
  relOf: (a: number, n: number, j: number) => number,
  tol: number,
  layout: AxisLayout,
): Hint | null {
  if (!layout.spatial.length) return null;
  let pairs = 0;
  let worst = 0;
  for (const j of elements) {
    const i = mirror(j);
    if (i === j) continue;
    pairs++;
    worst = Math.max(worst, relOf(inp.analytic[i], inp.numeric[j], j));
  }
  if (pairs < 2 || worst > tol) return null;
  const [hn, wn] = inp.input === 'w' ? ['HH', 'WW'] : ['H', 'W'];
  const axes = layout.spatial.length === 2 ? `${hn} and ${wn}` : 'the last axis';
  return {
    kind: 'kernel-flip',
    message: `analytic ${inp.name} equals the numeric with ${axes} reversed (${pairs} pairs agree to ${worst.toExponential(1)}): a flipped kernel, convolution where the forward cross-correlates?`,
  };
}

/** padding-offset: analytic[h, w] = numeric[h - dy, w - dx] away from the border. */
function shiftHint(
  inp: LocalizeInput,
  elements: number[],
  relOf: (a: number, n: number, j: number) => number,
  tol: number,
  layout: AxisLayout,
  st: number[],
  result: Localization,
  mapOf: (errorAt: (i: number) => number | null) => (number | null)[][],
): Hint | null {
  const { shape, analytic, numeric } = inp;
  const sp = layout.spatial;
  if (!sp.length || !hasInterior(shape, layout)) return null;
  const ra = sp.length === 2 ? sp[0] : -1;
  const ca = sp[sp.length - 1];
  /** Flat index of the element moved by (dy, dx), or -1 outside. */
  const moved = (i: number, dy: number, dx: number): number => {
    const h = ra >= 0 ? Math.floor(i / st[ra]) % shape[ra] : 0;
    const w = Math.floor(i / st[ca]) % shape[ca];
    if (ra >= 0 && (h + dy < 0 || h + dy >= shape[ra])) return -1;
    if (w + dx < 0 || w + dx >= shape[ca]) return -1;
    return i + (ra >= 0 ? dy * st[ra] : 0) + dx * st[ca];
  };
  // Compare each known numeric value n[j] with the analytic value at j moved by the shift.
  let best: { dy: number; dx: number; pairs: number; worst: number } | null = null;
  const dys = ra >= 0 ? Array.from({ length: 2 * MAX_SHIFT + 1 }, (_, k) => k - MAX_SHIFT) : [0];
  for (const dy of dys) {
    for (let dx = -MAX_SHIFT; dx <= MAX_SHIFT; dx++) {
      if (dy === 0 && dx === 0) continue;
      let pairs = 0;
      let worst = 0;
      for (const j of elements) {
        const i = moved(j, dy, dx);
        if (i < 0) continue;
        pairs++;
        worst = Math.max(worst, relOf(analytic[i], numeric[j], j));
        if (worst > tol) break;
      }
      if (worst <= tol && pairs >= 4 && (!best || pairs > best.pairs)) best = { dy, dx, pairs, worst };
    }
  }
  if (!best) return null;
  const { dy, dx } = best;
  // The pattern of a crop without the pad offset: the band of |dy| rows and |dx| columns the
  // shift leaves over (analytic elements with no numeric counterpart, on the border) holds the
  // error; everything with a counterpart agrees.
  const band = emptyStats();
  const matched = emptyStats();
  for (const j of elements) {
    const i = moved(j, dy, dx);
    if (i >= 0) addTo(matched, Math.abs(analytic[i] - numeric[j]), relOf(analytic[i], numeric[j], j), inp.threshold);
    if (moved(j, -dy, -dx) < 0) addTo(band, Math.abs(analytic[j] - numeric[j]), relOf(analytic[j], numeric[j], j), inp.threshold);
  }
  if (band.maxRelError <= inp.threshold) return null;
  result.aligned = { shift: [dy, dx], border: band, interior: matched };
  const usable = (j: number) => !Number.isNaN(numeric[j]) && !(inp.skipKinks && inp.kinks[j]);
  if (result.heatmap) {
    result.heatmap.aligned = mapOf((i) => {
      const j = moved(i, -dy, -dx);
      if (j >= 0) return usable(j) ? Math.abs(analytic[i] - numeric[j]) : null;
      return usable(i) ? Math.abs(analytic[i] - numeric[i]) : null;
    });
  }
  const g = inp.name;
  const hw = ra >= 0 ? `[h, w] = numeric ${g}[h - ${dy}, w - ${dx}]` : `[l] = numeric ${g}[l - ${dx}]`;
  return {
    kind: 'padding-offset',
    shift: [dy, dx],
    message:
      `away from the border, analytic ${g}${hw} (${best.pairs} pairs agree to ${best.worst.toExponential(1)}): the gradient is shifted by ` +
      `(${ra >= 0 ? `${dy}, ` : ''}${dx}) and the rest sits on the border rows/columns, as when ${g} is cropped from the padded gradient ` +
      `without the pad offset (take ${g}pad[..., pad:pad+H, pad:pad+W])`,
  };
}

/** border: wrong only on the first/last rows and columns. */
function borderHint(inp: LocalizeInput, r: Localization): Hint | null {
  if (!r.border || !r.interior || r.interior.count === 0) return null;
  if (r.border.maxRelError <= inp.threshold || r.interior.maxRelError > inp.threshold) return null;
  return {
    kind: 'border',
    message:
      `the error is only on the border (first/last rows and columns: ${r.border.failing} of ${r.border.count} elements fail) and the ` +
      `${r.interior.count} interior elements are right: padding handled wrongly (taps that fall in the zero padding sent to real elements?)`,
  };
}

/**
 * The hint added after the others: `unused-input`. `elements` are the usable ones (with a
 * numeric value).
 */
export function gradientHint(inp: LocalizeInput, elements: number[]): Hint | null {
  let maxA = 0;
  for (const i of elements) {
    if (inp.numeric[i] !== 0) return null;
    maxA = Math.max(maxA, Math.abs(inp.analytic[i]));
  }
  if (elements.length === 0 || maxA === 0) return null;
  return {
    kind: 'unused-input',
    message: `numeric ${inp.name} is exactly zero at all ${elements.length} checked elements while the analytic one is not: the forward's output does not depend on ${inp.input} (is ${inp.input} ever used, e.g. the bias added?)`,
  };
}
