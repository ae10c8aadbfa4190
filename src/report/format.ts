/**
 * The text every output format shares: numbers, params, shapes, the worst element, coverage,
 * one-line failures, heatmap pooling and axis labels. The terminal, JSON, JUnit, GitHub
 * annotations and the HTML page all take these from here, so a value reads the same everywhere
 * (`eps=1e-5`, `rel error 1.23e-3 > threshold 1.00e-7`). Pure functions of data.
 */
import type { ImplGradientRow, LayerCheckReport, ReferenceComparison } from '../gradcheck/check-layer.js';
import type { ArrayReport } from '../gradcheck/reference.js';
import type { GradeCaseReport } from '../grade/grade.js';
import { failingCount } from '../gradcheck/hints.js';
import { fmtErr, fmtNum, fmtVal } from '../text/numbers.js';

export { fmtErr, fmtNum, fmtVal } from '../text/numbers.js';

/** Milliseconds with the digits that matter: 1234, 12.35, 0.123. */
export function fmtMs(v: number): string {
  return v >= 100 ? v.toFixed(0) : v >= 1 ? v.toFixed(2) : v.toFixed(3);
}

/** Seconds: 12.3, 1.23; `-` when not measured. */
export function fmtSeconds(s: number | undefined): string {
  return s === undefined ? '-' : s >= 10 ? s.toFixed(1) : s.toFixed(2);
}

/** A speedup or slowdown ratio: `12x`, `3.4x`. */
export function fmtRatio(v: number): string {
  return `${v >= 100 ? v.toFixed(0) : v.toFixed(1)}x`;
}

/** `1 run`, `5 runs`. */
export function plural(n: number, word: string, many = `${word}s`): string {
  return `${n} ${n === 1 ? word : many}`;
}

/** Params as `stride=2 pad=1`; `(no params)`. */
export function paramsText(params: Record<string, unknown>): string {
  const entries = Object.entries(params);
  return entries.length ? entries.map(([k, v]) => `${k}=${typeof v === 'number' ? fmtNum(v) : v}`).join(' ') : '(no params)';
}

/** Shapes as `x 4,3,5,5  w 2,3,3,3  b 2`. */
export function shapesText(shapes: Record<string, readonly number[]>, sep = '  '): string {
  return Object.entries(shapes)
    .map(([k, s]) => `${k} ${s.join(',')}`)
    .join(sep);
}

/** An index as `(0, 1, 2, 3)`. */
export function indexText(index: readonly number[]): string {
  return `(${index.join(', ')})`;
}

/** Where the worst error of a row is: `element (0, 1, 2, 3)` or `direction 2`. */
export function worstAt(g: ImplGradientRow): string {
  return g.worst.direction !== undefined ? `direction ${g.worst.direction}` : `element ${indexText(g.worst.index)}`;
}

/** The worst-element cell of a gradient row: its message, or `(0, 1): analytic / numeric`. */
export function worstText(g: ImplGradientRow): string {
  if (g.unchecked) return 'nothing checked (see below)';
  if (g.message) return g.message;
  const at = g.worst.direction !== undefined ? `direction ${g.worst.direction}` : indexText(g.worst.index);
  return `${at}: ${fmtVal(g.worst.analytic)} / ${fmtVal(g.worst.numeric)}`;
}

/** The worst-element cell of an array against the reference: its message, or `(0, 1): actual / reference`. */
export function arrayWorstText(a: ArrayReport): string {
  return a.message ?? (a.worst ? `${indexText(a.worst.index)}: ${fmtVal(a.worst.actual)} / ${fmtVal(a.worst.expected)}` : '');
}

/** How much of a gradient was checked: '' when every element was, else `[2 dirs + 40/128 el]`. */
export function coverageText(g: ImplGradientRow): string {
  const parts: string[] = [];
  if (g.directional) parts.push(plural(g.directional.count, 'dir'));
  if (g.mode !== 'full' && (g.checked > 0 || !g.directional)) parts.push(`${g.checked}/${g.total} el`);
  return parts.length ? `[${parts.join(' + ')}]` : '';
}

/** What qualifies a row's status: `(3 kinks) (1 within rounding noise)`. */
export function statusNotes(g: ImplGradientRow): string {
  const parts: string[] = [];
  if (g.kinks) parts.push(`(${plural(g.kinks, 'kink')})`);
  if (g.withinNoise) parts.push(`(${g.withinNoise} within rounding noise)`);
  return parts.join(' ');
}

/**
 * A failing gradient in one line with its numbers:
 * `rel error 1.23e-3 > threshold 1.00e-7; worst element (0, 1, 2, 3): analytic 0.5, numeric 0.25; max abs error 0.25; hint: ...`.
 */
export function gradientFailure(g: ImplGradientRow): string {
  const parts: string[] = [];
  if (g.message) parts.push(g.message);
  if (g.unchecked) return parts.join('; ');
  parts.push(`rel error ${fmtErr(g.relError)} > threshold ${fmtErr(g.threshold)}`);
  if (!g.message || Number.isFinite(g.relError)) {
    parts.push(`worst ${worstAt(g)}: analytic ${fmtVal(g.worst.analytic)}, numeric ${fmtVal(g.worst.numeric)}`);
    parts.push(`max abs error ${fmtErr(g.maxAbsError)}`);
  }
  const hint = g.localization?.hint;
  if (hint) parts.push(`hint: ${hint.message}`);
  return parts.join('; ');
}

/**
 * An array that differs from the reference, in one line:
 * `rel error 3.1e-2 > threshold 1.00e-6; worst element (0, 1): user 0.5, reference 0.25`.
 * `who` names the judged side (`user`, `fixture`).
 */
export function arrayFailure(who: string, a: ArrayReport): string {
  const parts: string[] = [];
  if (a.message) parts.push(a.message);
  if (Number.isFinite(a.relError) || !a.message) parts.push(`rel error ${fmtErr(a.relError)} > threshold ${fmtErr(a.threshold)}`);
  if (a.worst) parts.push(`worst element ${indexText(a.worst.index)}: ${who} ${fmtVal(a.worst.actual)}, reference ${fmtVal(a.worst.expected)}`);
  const wrong = a.localization && failingCount(a.localization);
  if (wrong !== undefined && a.localization) parts.push(`${wrong} of ${a.localization.checked} elements wrong`);
  if (a.localization?.hint) parts.push(`hint: ${a.localization.hint.message}`);
  return parts.join('; ');
}

/** `arrayFailure` for an implementation's comparison. */
export function comparisonFailure(cmp: ReferenceComparison, a: ArrayReport): string {
  return arrayFailure(cmp.impl, a);
}

/** True when a check failed but no gradient row, problem or comparison says why (the formats' fallback). */
export function unexplainedFailure(r: LayerCheckReport): boolean {
  return !r.pass && r.problems.length === 0 && r.gradients.every((g) => g.pass) && (r.comparisons ?? []).every((c) => c.pass);
}

/** How the groups of a gradient's localization are named: per sample and channel of x (and of out), per filter of w. */
export function groupLabels(input: string): [string, string] {
  return input === 'x' || input === 'out'
    ? ['per sample n', 'per channel c']
    : input === 'w'
      ? ['per filter f', 'per channel c']
      : ['per index of axis 0', 'per channel'];
}

/** The input whose axes a compared array has: `dx` -> `x`, `out` -> `out`, `running_mean_after` -> itself. */
export function arrayInput(name: string): string {
  return name === 'out' ? 'out' : /^d[a-z]/.test(name) ? name.slice(1) : name;
}

/** One cell of a pooled heatmap: the largest |error| of its block (null where nothing was evaluated) and the block's extent. */
export interface HeatCell {
  v: number | null;
  r0: number;
  r1: number;
  c0: number;
  c1: number;
}

/**
 * A heatmap max-pooled to at most `maxCells` cells along its longer axis: each cell holds the
 * largest finite value of its `block` x `block` elements. `max` is the largest cell.
 */
export function poolHeatmap(values: readonly (readonly (number | null)[])[], maxCells: number): { grid: HeatCell[][]; block: number; max: number } {
  const rows = values.length;
  const cols = rows ? values[0].length : 0;
  const block = Math.max(1, Math.ceil(Math.max(rows, cols) / maxCells));
  const grid: HeatCell[][] = [];
  let max = 0;
  for (let r = 0; r < rows; r += block) {
    const row: HeatCell[] = [];
    for (let q = 0; q < cols; q += block) {
      let v: number | null = null;
      const r1 = Math.min(rows, r + block) - 1;
      const c1 = Math.min(cols, q + block) - 1;
      for (let i = r; i <= r1; i++) {
        for (let j = q; j <= c1; j++) {
          const e = values[i][j];
          if (e !== null && Number.isFinite(e) && (v === null || e > v)) v = e;
        }
      }
      if (v !== null && v > max) max = v;
      row.push({ v, r0: r, r1, c0: q, c1 });
    }
    grid.push(row);
  }
  return { grid, block, max };
}

/** The one line of a report that varies between runs of the same data: `generated 2025-01-31T12:00:00Z by cnn-check`. */
export function generatedLine(now: Date = new Date()): string {
  return `generated ${now.toISOString().replace(/\.\d+Z$/, 'Z')} by cnn-check`;
}

/** Elements shown in full in a shrunk case; a larger array is summarized (the fixture holds it). */
export const SHOWN_ELEMENTS = 64;

/**
 * An array in numpy's nested layout, one row of the last axis per line:
 * `[[1, 2],\n [3, 4]]`; a 0-d array is its value, an empty one `[]` with its shape.
 */
export function arrayText(values: readonly number[], shape: readonly number[]): string {
  if (shape.length === 0) return fmtVal(values[0]);
  if (values.length === 0) return `[] (shape (${shape.join(', ')}), empty)`;
  const block = (offset: number, depth: number): string => {
    const n = shape[depth];
    const stride = shape.slice(depth + 1).reduce((a, b) => a * b, 1);
    if (depth === shape.length - 1) return `[${Array.from({ length: n }, (_, i) => fmtVal(values[offset + i])).join(', ')}]`;
    const parts = Array.from({ length: n }, (_, i) => block(offset + i * stride, depth + 1));
    return `[${parts.join(`,\n${' '.repeat(depth + 1)}`)}]`;
  };
  return block(0, 0);
}

/** A case's shapes and params in one line: `x (2, 3, 5, 5), w (2, 3, 3, 3), b (2,); stride=1 pad=0`. */
export function caseSetupText(shapes: Record<string, readonly number[]>, params: Record<string, unknown>): string {
  const s = Object.entries(shapes)
    .map(([k, v]) => `${k} (${v.join(', ')}${v.length === 1 ? ',' : ''})`)
    .join(', ');
  return Object.keys(params).length ? `${s}; ${paramsText(params)}` : s;
}

/** A graded case's failure in one line: its message, then its hint. */
export function gradeCaseFailure(c: GradeCaseReport): string {
  return c.hint ? `${c.message}; hint: ${c.hint}` : c.message;
}
