/**
 * The terminal format: every human-readable table and colour of the CLI. This module and
 * nothing else imports chalk and cli-table3. Every renderer takes `color` explicitly; with
 * colour off, no escape codes are written (chalk level 0, and cli-table3's default red/grey
 * border and head styles switched off). Numbers and texts come from format.ts.
 */
import { Chalk, type ChalkInstance } from 'chalk';
import Table from 'cli-table3';
import type { LayerCheckReport } from '../gradcheck/check-layer.js';
import type { FixtureReport } from '../fixtures/compare.js';
import type { LayerSpec } from '../layers/types.js';
import type { BenchReport, BenchResult } from '../bench/run.js';
import type { BaselineComparison } from '../bench/baseline.js';
import { isSettable } from '../layers/params.js';
import { describeDomain } from '../settings/domain.js';
import { kebabName } from '../layers/registry.js';
import { formatShape } from '../tensor/tensor.js';
import type { ImplGradientRow, ReferenceComparison } from '../gradcheck/check-layer.js';
import type { ErrorStats, GroupStats, Localization } from '../gradcheck/localize.js';
import type { ArrayReport } from '../gradcheck/reference.js';
import { failingCount } from '../gradcheck/hints.js';
import type { SuiteReport } from '../suite/run.js';
import {
  arrayInput, arrayWorstText, coverageText, fmtErr, fmtMs, fmtNum, fmtRatio, fmtVal, groupLabels, indexText, paramsText, poolHeatmap,
  shapesText, statusNotes, worstText,
} from './format.js';

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

/** The human report of a layer command. */
export function renderLayerReport(r: LayerCheckReport, color: boolean): string {
  const c = painter(color);
  const lines: string[] = [];
  lines.push(`${c.bold(r.layer)}  ${paramsText(r.params)}`);
  lines.push(`shapes: ${Object.entries(r.shapes).map(([k, s]) => `${k} ${formatShape(s)}`).join('  ')}`);
  lines.push(`dtype ${r.dtype}  seed ${r.seed}  h ${fmtNum(r.h)}`);
  for (const p of r.problems) lines.push(c.red(`FAIL: ${p}`));
  if (r.gradients.length) {
    const t = makeTable(['impl', 'gradient', 'rel error', 'max abs error', 'worst element (analytic / numeric)', 'threshold', 'status'], color);
    for (const g of r.gradients) {
      const status = [g.pass ? c.green('pass') : c.red('FAIL'), statusNotes(g), coverageText(g)].filter(Boolean).join(' ');
      t.push([g.impl, g.name, fmtErr(g.relError), fmtErr(g.maxAbsError), worstText(g), fmtErr(g.threshold), status]);
    }
    lines.push(t.toString());
    const details = renderCheckDetails(r, color);
    if (details) lines.push(details.trimEnd());
  }
  if (r.comparisons?.length) lines.push(renderReferenceComparisons(r.comparisons, color).trimEnd());
  if (r.timing.length) {
    const t = makeTable(['impl', 'forward ms', 'backward ms'], color);
    for (const row of r.timing) {
      t.push([row.impl, fmtMs(row.forwardMs.median), fmtMs(row.backwardMs.median)]);
    }
    lines.push(`timing (median of ${r.timing[0].forwardMs.samples} runs):`);
    lines.push(t.toString());
  }
  const failed = r.gradients.filter((g) => !g.pass).length;
  const arrays = (r.comparisons ?? []).flatMap((x) => x.arrays);
  const differ = arrays.filter((a) => !a.pass).length;
  lines.push(
    r.pass
      ? c.green(`PASS: ${r.gradients.length} gradient checks within threshold${arrays.length ? `, ${arrays.length} arrays match the reference` : ''}`)
      : c.red(`FAIL: ${failed} of ${r.gradients.length} gradient checks failed${arrays.length ? `, ${differ} of ${arrays.length} arrays differ from the reference` : ''}${r.problems.length ? `, ${r.problems.length} problem(s)` : ''}`),
  );
  return lines.join('\n') + '\n';
}

/** `--impl`: each extra implementation's out, state and gradients against the reference, one row per array. */
export function renderReferenceComparisons(comparisons: ReferenceComparison[], color: boolean): string {
  const c = painter(color);
  const lines: string[] = [];
  for (const cmp of comparisons) {
    lines.push(`${c.bold(cmp.impl)}${cmp.source ? ` (${cmp.source})` : ''} against the reference (${cmp.reference}, float64), same inputs and dout:`);
    const t = makeTable(['array', 'dtype', 'rel error', 'max abs error', `worst element (${cmp.impl} / reference)`, 'threshold', 'status'], color);
    for (const a of cmp.arrays) {
      t.push([a.name, a.dtype, fmtErr(a.relError), fmtErr(a.maxAbsError), arrayWorstText(a), fmtErr(a.threshold), a.pass ? c.green('pass') : c.red('FAIL')]);
    }
    lines.push(t.toString());
    const where = renderArrayLocalizations(cmp.arrays, cmp.impl, color);
    if (where) lines.push(where.trimEnd());
  }
  return lines.join('\n') + '\n';
}

/** Block characters of the error heatmap, from no error to the map's largest. */
export const HEAT_CHARS = [' ', '░', '▒', '▓', '█'] as const;

/** Widest heatmap drawn, in cells (wider maps are max-pooled down). */
const HEATMAP_MAX_CELLS = 48;

/**
 * A heatmap of |error| as rows of block characters (two per cell), in a box so that a bright
 * frame stands out: ' ' below 2% of the map's largest value, then quarters ░ ▒ ▓ █; '·' where
 * no numeric value was evaluated. Wide maps are max-pooled to HEATMAP_MAX_CELLS columns.
 */
export function renderHeatmap(values: (number | null)[][], color: boolean): string[] {
  const c = painter(color);
  const { grid, block, max } = poolHeatmap(values, HEATMAP_MAX_CELLS);
  const paint = [(s: string) => s, (s: string) => c.gray(s), (s: string) => c.yellow(s), (s: string) => c.red(s), (s: string) => c.redBright(s)];
  const width = grid.length ? grid[0].length : 0;
  const out = [`┌${'─'.repeat(2 * width)}┐`];
  for (const row of grid) {
    let line = '';
    for (const { v } of row) {
      if (v === null) {
        line += ' ·';
        continue;
      }
      const level = max === 0 || v <= 0.02 * max ? 0 : Math.min(4, Math.max(1, Math.ceil((4 * v) / max)));
      line += paint[level](HEAT_CHARS[level].repeat(2));
    }
    out.push(`│${line}│`);
  }
  out.push(`└${'─'.repeat(2 * width)}┘`);
  if (block > 1) out.push(`(each cell is the largest of ${block}x${block} elements)`);
  out.push(`scale: |error| up to ${fmtErr(max)}; ' ' < 2%, ░ ▒ ▓ █ quarters${grid.some((r) => r.some((x) => x.v === null)) ? ', · not evaluated' : ''}`);
  return out;
}

function fmtGroups(label: string, groups: GroupStats[], threshold: number, color: boolean): string {
  const c = painter(color);
  const shown = groups.slice(0, 16).map((g) => {
    const v = `${g.index}:${fmtErr(g.maxRelError)}`;
    return g.maxRelError > threshold ? c.red(v) : v;
  });
  const failing = groups.filter((g) => g.failing > 0).length;
  return `${label} (max rel error; ${failing} of ${groups.length} fail): ${shown.join(' ')}${groups.length > 16 ? ' …' : ''}`;
}

function fmtStats(s: ErrorStats): string {
  return `max rel ${fmtErr(s.maxRelError)}, ${s.failing} of ${s.count} fail`;
}

/** How a localization's two sides and its subject are named: a gradient (analytic / numeric) or a compared array (yours / reference). */
export interface WhereLabels {
  /** `where naive dx is wrong`, `where the fixture's dx differs from the reference`. */
  title: string;
  /** The judged side's column: `analytic`, `fixture`, `py:naive`. */
  analytic: string;
  /** The other side's column: `numeric`, `reference`. */
  numeric: string;
  /** A comparison: every element has both values (no `evaluated` count). */
  compared?: boolean;
}

/** Where a gradient or array is wrong: the count of wrong elements, the worst ones, groups, border, heatmap and hint. */
export function renderWhere(loc: Localization, input: string, threshold: number, labels: WhereLabels, color: boolean): string {
  const c = painter(color);
  const lines: string[] = [];
  if (loc.total === 0) {
    // Only a hint (an array of the wrong shape).
    if (loc.hint) lines.push(c.yellow(`hint: ${loc.hint.message}`));
    return lines.length ? lines.join('\n') + '\n' : '';
  }
  lines.push(c.bold(labels.title) + (labels.compared ? ` (${loc.total} elements):` : ` (${loc.checked} of ${loc.total} elements evaluated):`));
  const wrong = failingCount(loc);
  if (wrong !== undefined) lines.push(`${wrong} of ${loc.checked} elements wrong (rel error > ${fmtErr(threshold)})`);
  if (loc.top.length) {
    const t = makeTable(['element', labels.analytic, labels.numeric, 'abs error', 'rel error'], color);
    for (const e of loc.top) t.push([indexText(e.index), fmtVal(e.analytic), fmtVal(e.numeric), fmtErr(e.absError), fmtErr(e.relError)]);
    lines.push(t.toString());
  }
  const [sampleName, channelName] = groupLabels(input);
  if (loc.perSample.length) lines.push(fmtGroups(sampleName, loc.perSample, threshold, color));
  if (loc.perChannel.length) lines.push(fmtGroups(channelName, loc.perChannel, threshold, color));
  if (loc.border) lines.push(`border (first/last rows and columns): ${fmtStats(loc.border)}${loc.interior ? `; interior: ${fmtStats(loc.interior)}` : ''}`);
  if (loc.aligned) {
    lines.push(`after aligning by the shift (${loc.aligned.shift.join(', ')}): the border band it leaves: ${fmtStats(loc.aligned.border)}; the rest: ${fmtStats(loc.aligned.interior)}`);
  }
  if (loc.heatmap) {
    const h = loc.heatmap;
    lines.push(`|error| over the last two axes at (${h.n}, ${h.c}):`);
    lines.push(...renderHeatmap(h.values, color));
    if (h.aligned) {
      lines.push(`the same after aligning by the shift (${loc.aligned?.shift.join(', ')}):`);
      lines.push(...renderHeatmap(h.aligned, color));
    }
  }
  if (loc.hint) lines.push(c.yellow(`hint: ${loc.hint.message}`));
  return lines.join('\n') + '\n';
}

/** Where a failing gradient is wrong: worst elements, groups, border, heatmap and hint. */
export function renderLocalization(g: ImplGradientRow, color: boolean): string {
  if (!g.localization) return '';
  return renderWhere(g.localization, g.input, g.threshold, { title: `where ${g.impl} ${g.name} is wrong`, analytic: 'analytic', numeric: 'numeric' }, color);
}

/** Where each failing array of a comparison is wrong; `who` names the judged side (`py:naive`, `fixture`). */
export function renderArrayLocalizations(arrays: ArrayReport[], who: string, color: boolean): string {
  return arrays
    .filter((a) => !a.pass && a.localization)
    .map((a) => renderWhere(a.localization!, arrayInput(a.name), a.threshold, { title: `where ${who} ${a.name} differs from the reference`, analytic: who, numeric: 'reference', compared: true }, color))
    .join('');
}

/** `--h-sweep`: the error of every gradient at each h, the best h marked. */
export function renderSweep(rows: ImplGradientRow[], color: boolean): string {
  const swept = rows.filter((g) => g.sweep);
  if (!swept.length) return '';
  const c = painter(color);
  const hs = swept[0].sweep!.hs;
  const t = makeTable(['h', ...swept.map((g) => `${g.impl} ${g.name}`)], color);
  for (let k = 0; k < hs.length; k++) {
    t.push([fmtNum(hs[k]), ...swept.map((g) => {
      const s = g.sweep!;
      const v = fmtErr(s.relErrors[k]);
      return s.hs[k] === s.bestH ? c.green(`${v} *`) : v;
    })]);
  }
  const lines = [`relative error over h (truncation error falls with h, rounding error grows as h shrinks; * = best):`, t.toString()];
  lines.push(`best h: ${swept.map((g) => `${g.impl} ${g.name} ${fmtNum(g.sweep!.bestH)} (${fmtErr(g.sweep!.bestRelError)})`).join(', ')}`);
  return lines.join('\n') + '\n';
}

/** What follows the gradient table of a layer report: notes, where failures are, the h sweep. */
export function renderCheckDetails(r: LayerCheckReport, color: boolean): string {
  const parts: string[] = [];
  for (const n of r.notes ?? []) parts.push(`note: ${n}\n`);
  for (const g of r.gradients) if (!g.pass && g.localization) parts.push(renderLocalization(g, color));
  parts.push(renderSweep(r.gradients, color));
  return parts.join('');
}

/**
 * `cnn-check suite`: one row per check (gradients passed or failed, the worst relative error
 * against its threshold, the time), then where each failing check went wrong, and a closing line.
 */
export function renderSuiteReport(r: SuiteReport, color: boolean): string {
  const c = painter(color);
  const lines: string[] = [`${c.bold('cnn-check suite')}  ${r.source === 'default' ? 'the built-in default suite' : r.source}: ${r.checks.length} check${r.checks.length === 1 ? '' : 's'}`];
  const t = makeTable(['#', 'check', 'gradients', 'worst rel error', 'threshold', 'time', 'status'], color, ['right', 'left', 'left', 'left', 'right', 'right', 'left']);
  for (const k of r.checks) {
    const grads = k.failed ? c.red(`${k.failed} of ${k.gradients} fail`) : `${k.gradients} pass`;
    const worst = k.worst ? `${fmtErr(k.worst.relError)} (${k.worst.impl} ${k.worst.name})` : '-';
    const problems = k.report.problems.length ? ` (${k.report.problems.length} problem${k.report.problems.length === 1 ? '' : 's'})` : '';
    t.push([String(k.index + 1), k.name, grads, worst, k.worst ? fmtErr(k.worst.threshold) : '-', `${k.seconds.toFixed(2)} s`, (k.pass ? c.green('pass') : c.red('FAIL')) + problems]);
  }
  lines.push(t.toString());
  for (const k of r.checks) {
    if (k.pass) continue;
    lines.push(c.red(`FAIL ${k.index + 1}. ${k.name}`));
    for (const p of k.report.problems) lines.push(`  problem: ${p}`);
    for (const g of k.report.gradients) {
      if (g.pass) continue;
      const at = g.worst.direction !== undefined ? `direction ${g.worst.direction}` : indexText(g.worst.index);
      lines.push(`  ${g.impl} ${g.name}: ${g.message ? `${g.message}; ` : ''}rel error ${fmtErr(g.relError)} > ${fmtErr(g.threshold)} at ${at}: ${fmtVal(g.worst.analytic)} / ${fmtVal(g.worst.numeric)}`);
      if (g.localization?.hint) lines.push(`    ${c.yellow(`hint: ${g.localization.hint.message}`)}`);
    }
    for (const cmp of k.report.comparisons ?? []) {
      for (const a of cmp.arrays) {
        if (a.pass) continue;
        const at = a.worst ? ` at ${indexText(a.worst.index)}: ${fmtVal(a.worst.actual)} / ${fmtVal(a.worst.expected)}` : '';
        lines.push(`  ${cmp.impl} ${a.name} differs from the reference: ${a.message ? `${a.message}` : `rel error ${fmtErr(a.relError)} > ${fmtErr(a.threshold)}${at}`}`);
        if (a.localization?.hint) lines.push(`    ${c.yellow(`hint: ${a.localization.hint.message}`)}`);
      }
    }
  }
  lines.push(
    r.pass
      ? c.green(`PASS: ${r.checks.length} checks, ${r.gradients} gradient checks within threshold (${r.seconds.toFixed(1)} s)`)
      : c.red(`FAIL: ${r.failedChecks} of ${r.checks.length} checks failed, ${r.failedGradients} of ${r.gradients} gradient checks (${r.seconds.toFixed(1)} s)`),
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
    const params = l.params.length ? l.params.map((p) => `--${p.flag} ${typeof p.default === 'number' ? fmtNum(p.default) : p.default} (${describeDomain(p)})`).join('\n') : '-';
    t.push([kebabName(l.name), l.summary, inputs, params]);
  }
  return t.toString() + '\n';
}

/** `compare`: one table per fixture and a closing line. */
export function renderCompareReports(reports: FixtureReport[], color: boolean): string {
  const c = painter(color);
  const lines: string[] = [];
  for (const r of reports) {
    lines.push(`${c.bold(r.path)}  ${r.layer}  ${paramsText(r.params)}`);
    const t = makeTable(['array', 'dtype', 'rel error', 'max abs error', 'worst element (fixture / reference)', 'threshold', 'status'], color);
    for (const a of r.arrays) {
      t.push([a.name, a.dtype, fmtErr(a.relError), fmtErr(a.maxAbsError), arrayWorstText(a), fmtErr(a.threshold), a.pass ? c.green('pass') : c.red('FAIL')]);
    }
    lines.push(t.toString());
    const where = renderArrayLocalizations(r.arrays, 'fixture', color);
    if (where) lines.push(where.trimEnd());
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

/**
 * `cnn-check bench`: one row per (case, dtype, impl) with median and [min-max] times, GFLOP/s
 * where the layer counts flops, and the fast/naive speedup; rows measured at a smaller batch
 * and scaled say so. With a baseline, a second table of current/baseline median ratios.
 */
export function renderBenchReport(report: BenchReport, color: boolean, comparison?: BaselineComparison): string {
  const c = painter(color);
  const lines: string[] = [];
  const m = report.machine;
  lines.push(`${c.bold('cnn-check bench')}  ${m.cpu}, ${m.cores} cores, node ${m.node}, GEMM ${m.gemm}`);
  const runs = report.results[0]?.forwardMs.samples;
  if (runs !== undefined) lines.push(`times in ms: median [min-max] of ${runs} run${runs === 1 ? '' : 's'}; GFLOP/s from the medians; speedup = naive / fast (forward + backward)`);
  const caseLabel = (r: BenchResult) => `${r.layer}\n${shapesText(r.shapes, ' ')}${Object.keys(r.params).length ? `\n${paramsText(r.params)}` : ''}`;
  const timing = (s: BenchResult['forwardMs']) => `${fmtMs(s.median)} [${fmtMs(s.min)}-${fmtMs(s.max)}]`;
  const estimated = report.results.some((r) => r.estimatedFrom);
  const head = ['layer / case', 'impl', 'dtype', 'threads', 'forward ms', 'backward ms', 'GFLOP/s fwd / bwd', 'speedup'];
  if (estimated) head.push('note');
  const t = makeTable(head, color, ['left', 'left', 'left', 'right', 'right', 'right', 'right', 'right', 'left']);
  let previous = '';
  for (const r of report.results) {
    const label = caseLabel(r);
    const row = [
      label === previous ? '' : label,
      r.impl,
      r.dtype,
      String(r.threads),
      timing(r.forwardMs),
      timing(r.backwardMs),
      r.gflops ? `${r.gflops.forward.toFixed(2)} / ${r.gflops.backward.toFixed(2)}` : '-',
      r.speedup !== undefined ? c.bold(fmtRatio(r.speedup)) : '',
    ];
    if (estimated) {
      const N = Object.values(r.shapes)[0]?.[0];
      row.push(r.estimatedFrom ? c.yellow(`estimated: timed at batch ${r.estimatedFrom.batch}, scaled x${fmtNum(Number((N / r.estimatedFrom.batch).toPrecision(3)))}`) : '');
    }
    t.push(row);
    previous = label;
  }
  lines.push(t.toString());
  if (estimated) lines.push('estimated rows: the naive run would exceed --naive-budget, so it was timed on a smaller batch and scaled linearly');
  for (const n of report.notes) lines.push(`note: ${n}`);
  if (comparison) {
    const b = makeTable(['layer / case', 'impl', 'dtype', 'threads', 'pass', 'baseline ms', 'current ms', 'ratio', 'status'], color, [
      'left', 'left', 'left', 'right', 'left', 'right', 'right', 'right', 'left',
    ]);
    for (const row of comparison.rows) {
      b.push([
        `${row.layer} ${shapesText(row.shapes, ' ')}`,
        row.impl, row.dtype, String(row.threads), row.pass, fmtMs(row.baselineMs), fmtMs(row.currentMs),
        `${row.ratio.toFixed(2)}x`, row.ok ? c.green('ok') : c.red('SLOWER'),
      ]);
    }
    lines.push(`baseline ${comparison.file} (allowed slowdown ${comparison.maxSlowdown}x):`);
    if (comparison.rows.length) lines.push(b.toString());
    if (comparison.unmatched) lines.push(`note: ${comparison.unmatched} result(s) have no baseline entry (same layer, impl, dtype, threads, shapes and params)`);
    const slower = comparison.rows.filter((r) => !r.ok).length;
    lines.push(
      comparison.ok
        ? c.green(`PASS: ${comparison.rows.length} medians within ${comparison.maxSlowdown}x of the baseline`)
        : c.red(`FAIL: ${slower} of ${comparison.rows.length} medians slower than ${comparison.maxSlowdown}x the baseline`),
    );
  }
  return lines.join('\n') + '\n';
}
