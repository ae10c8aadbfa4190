/**
 * All human-readable rendering: tables and colour live here and nowhere else.
 * Every renderer takes `color` explicitly; with colour off, no escape codes are written
 * (chalk level 0, and cli-table3's default red/grey border and head styles switched off).
 */
import { Chalk, type ChalkInstance } from 'chalk';
import Table from 'cli-table3';
import type { LayerCheckReport } from '../gradcheck/check-layer.js';
import type { FixtureReport } from '../fixtures/compare.js';
import type { LayerSpec } from '../layers/types.js';
import { describeDomain, isSettable } from '../layers/params.js';
import { kebabName } from '../layers/registry.js';
import { formatShape } from '../tensor/tensor.js';

/** A chalk instance that colours only when `color` is true. */
export function painter(color: boolean): ChalkInstance {
  return new Chalk({ level: color ? 1 : 0 });
}

/** A cli-table3 table with colour fully controlled by `color`. */
export function makeTable(head: string[], color: boolean, colAligns?: ('left' | 'right' | 'center')[]): Table.Table {
  const c = painter(color);
  return new Table({
    head: head.map((h) => c.bold(h)),
    style: { head: [], border: color ? ['grey'] : [] },
    // No separator line between body rows: one row per gradient reads as a list.
    chars: { mid: '', 'left-mid': '', 'mid-mid': '', 'right-mid': '' },
    ...(colAligns ? { colAligns } : {}),
  });
}

/** `1.23e-9`; `inf`/`nan` spelled out. */
export function fmtErr(v: number): string {
  if (Number.isNaN(v)) return 'nan';
  if (!Number.isFinite(v)) return v > 0 ? 'inf' : '-inf';
  return v === 0 ? '0' : v.toExponential(2);
}

/** A value shown with enough digits to see a difference. */
export function fmtVal(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  return Number(v.toPrecision(8)).toString();
}

/** A plain number, in exponent form when small: 1e-5. */
export function fmtNum(v: number): string {
  return v !== 0 && Math.abs(v) < 1e-3 ? v.toExponential() : String(v);
}

function fmtMs(v: number): string {
  return v >= 100 ? v.toFixed(0) : v >= 1 ? v.toFixed(2) : v.toFixed(3);
}

/** Params as `stride=2 pad=1`. */
export function fmtParams(params: Record<string, unknown>): string {
  const entries = Object.entries(params);
  return entries.length ? entries.map(([k, v]) => `${k}=${v}`).join(' ') : '(no params)';
}

/** The human report of a layer command. */
export function renderLayerReport(r: LayerCheckReport, color: boolean): string {
  const c = painter(color);
  const lines: string[] = [];
  lines.push(`${c.bold(r.layer)}  ${fmtParams(r.params)}`);
  lines.push(`shapes: ${Object.entries(r.shapes).map(([k, s]) => `${k} ${formatShape(s)}`).join('  ')}`);
  lines.push(`dtype ${r.dtype}  seed ${r.seed}  h ${fmtNum(r.h)}`);
  for (const p of r.problems) lines.push(c.red(`FAIL: ${p}`));
  if (r.gradients.length) {
    const t = makeTable(['impl', 'gradient', 'rel error', 'max abs error', 'worst element (analytic / numeric)', 'threshold', 'status'], color);
    for (const g of r.gradients) {
      const status = g.pass ? c.green('pass') : c.red('FAIL');
      const kinks = g.kinks ? ` (${g.kinks} kink${g.kinks === 1 ? '' : 's'})` : '';
      const worst = g.message ?? `(${g.worst.index.join(', ')}): ${fmtVal(g.worst.analytic)} / ${fmtVal(g.worst.numeric)}`;
      t.push([g.impl, g.name, fmtErr(g.relError), fmtErr(g.maxAbsError), worst, fmtErr(g.threshold), status + kinks]);
    }
    lines.push(t.toString());
  }
  if (r.timing.length) {
    const t = makeTable(['impl', 'forward ms', 'backward ms'], color);
    for (const row of r.timing) {
      t.push([row.impl, fmtMs(row.forwardMs.median), fmtMs(row.backwardMs.median)]);
    }
    lines.push(`timing (median of ${r.timing[0].forwardMs.samples} runs):`);
    lines.push(t.toString());
  }
  const failed = r.gradients.filter((g) => !g.pass).length;
  lines.push(
    r.pass
      ? c.green(`PASS: ${r.gradients.length} gradient checks within threshold`)
      : c.red(`FAIL: ${failed} of ${r.gradients.length} gradient checks failed${r.problems.length ? `, ${r.problems.length} problem(s)` : ''}`),
  );
  return lines.join('\n') + '\n';
}

/** `cnn-check list`: every layer with its inputs, params and defaults. */
export function renderLayerList(layers: readonly LayerSpec[], color: boolean): string {
  const t = makeTable(['layer', 'summary', 'inputs (default shape)', 'params (default)'], color);
  for (const l of layers) {
    const inputs = l.inputs
      .map((i) => (isSettable(i) ? `${i.name} ${(i.shape as number[]).join(',')}` : i.name))
      .join('\n');
    const params = l.params.length ? l.params.map((p) => `--${p.flag} ${p.default} (${describeDomain(p)})`).join('\n') : '-';
    t.push([kebabName(l.name), l.summary, inputs, params]);
  }
  return t.toString() + '\n';
}

/** `compare`: one table per fixture and a closing line. */
export function renderCompareReports(reports: FixtureReport[], color: boolean): string {
  const c = painter(color);
  const lines: string[] = [];
  for (const r of reports) {
    lines.push(`${c.bold(r.path)}  ${r.layer}  ${fmtParams(r.params)}`);
    const t = makeTable(['array', 'dtype', 'rel error', 'max abs error', 'worst element (fixture / reference)', 'threshold', 'status'], color);
    for (const a of r.arrays) {
      const worst = a.message ?? (a.worst ? `(${a.worst.index.join(', ')}): ${fmtVal(a.worst.actual)} / ${fmtVal(a.worst.expected)}` : '');
      t.push([a.name, a.dtype, fmtErr(a.relError), fmtErr(a.maxAbsError), worst, fmtErr(a.threshold), a.pass ? c.green('pass') : c.red('FAIL')]);
    }
    lines.push(t.toString());
  }
  const failed = reports.filter((r) => !r.pass).length;
  lines.push(failed ? c.red(`FAIL: ${failed} of ${reports.length} fixtures differ from the reference`) : c.green(`PASS: ${reports.length} fixture(s) match the reference`));
  return lines.join('\n') + '\n';
}

/** One member listed by `inspect`. */
export interface InspectRow {
  name: string;
  dtype: string;
  shape: number[];
  order: string;
  min?: number | null;
  max?: number | null;
  mean?: number | null;
  nanCount?: number;
  /** The text of a string member (meta). */
  value?: string;
}

/** `inspect`: a table of members. */
export function renderInspect(path: string, rows: InspectRow[], color: boolean): string {
  const t = makeTable(['member', 'dtype', 'shape', 'order', 'min', 'max', 'mean', 'NaN'], color);
  const num = (v: number | null | undefined) => (v === null || v === undefined ? '-' : fmtVal(v));
  const strings: string[] = [];
  for (const r of rows) {
    if (r.value !== undefined) strings.push(`${r.name} (${r.dtype}): ${r.value}`);
    else t.push([r.name, r.dtype, formatShape(r.shape), r.order, num(r.min), num(r.max), num(r.mean), String(r.nanCount ?? 0)]);
  }
  return [painter(color).bold(path), ...strings, ...(t.length ? [t.toString()] : [])].join('\n') + '\n';
}
