/**
 * What the report formats (JUnit, GitHub annotations, HTML) share: a check as they receive it,
 * and the one-line account of a failure with its numbers.
 */
import type { ImplGradientRow, LayerCheckReport, ReferenceComparison } from '../gradcheck/check-layer.js';
import type { ArrayReport } from '../fixtures/compare.js';
import { fmtErr, fmtVal } from '../cli/render.js';

/** One check to report: a layer command's report under a name (a suite entry, or the command itself). */
export interface ReportedCheck {
  name: string;
  report: LayerCheckReport;
  /** Wall-clock seconds of the check, when measured. */
  seconds?: number;
}

/** Where the worst error of a row is: `element (0, 1, 2, 3)` or `direction 2`. */
export function worstAt(g: ImplGradientRow): string {
  return g.worst.direction !== undefined ? `direction ${g.worst.direction}` : `element (${g.worst.index.join(', ')})`;
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
 * An array of an extra implementation (`--impl`) that differs from the reference, in one line:
 * `rel error 3.1e-2 > threshold 1.00e-6; worst element (0, 1): user 0.5, reference 0.25`.
 */
export function arrayFailure(cmp: ReferenceComparison, a: ArrayReport): string {
  const parts: string[] = [];
  if (a.message) parts.push(a.message);
  if (Number.isFinite(a.relError) || !a.message) parts.push(`rel error ${fmtErr(a.relError)} > threshold ${fmtErr(a.threshold)}`);
  if (a.worst) parts.push(`worst element (${a.worst.index.join(', ')}): ${cmp.impl} ${fmtVal(a.worst.actual)}, reference ${fmtVal(a.worst.expected)}`);
  return parts.join('; ');
}

/** True when a check failed but no gradient row, problem or comparison says why (the reports' fallback). */
export function unexplainedFailure(r: LayerCheckReport): boolean {
  return !r.pass && r.problems.length === 0 && r.gradients.every((g) => g.pass) && (r.comparisons ?? []).every((c) => c.pass);
}

/** `stride=2 pad=1`, `(no params)`. */
export function paramsText(params: Record<string, unknown>): string {
  const entries = Object.entries(params);
  return entries.length ? entries.map(([k, v]) => `${k}=${v}`).join(' ') : '(no params)';
}

/** `x 4,3,5,5  w 2,3,3,3  b 2`. */
export function shapesText(shapes: Record<string, number[]>): string {
  return Object.entries(shapes).map(([k, s]) => `${k} ${s.join(',')}`).join('  ');
}
