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
import type { BenchReport, BenchResult } from '../bench/run.js';
import type { BaselineComparison } from '../bench/baseline.js';
import { describeDomain, isSettable } from '../layers/params.js';
import { kebabName } from '../layers/registry.js';
import { formatShape } from '../tensor/tensor.js';
import type { CheckProgress, ImplGradientRow, ReferenceComparison } from '../gradcheck/check-layer.js';
import type { ErrorStats, GroupStats } from '../gradcheck/localize.js';
import type { OutStream } from './io.js';
import type { SuiteProgress, SuiteReport } from '../suite/run.js';

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
  return entries.length ? entries.map(([k, v]) => `${k}=${typeof v === 'number' ? fmtNum(v) : v}`).join(' ') : '(no params)';
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
      // NOTE: a row that compared nothing says so instead of pass (or FAIL with --strict-kinks).
      const status = g.unchecked ? (g.pass ? c.yellow('unchecked') : c.red('FAIL unchecked')) : g.pass ? c.green('pass') : c.red('FAIL');
      const kinks = g.kinks ? ` (${g.kinks} kink${g.kinks === 1 ? '' : 's'})` : '';
      const noisy = g.withinNoise ? ` (${g.withinNoise} within rounding noise)` : '';
      const at = g.worst.direction !== undefined ? `direction ${g.worst.direction}` : g.worst.index.join(', ');
      const worst = g.unchecked ? 'nothing checked (see below)' : g.message ?? `(${at}): ${fmtVal(g.worst.analytic)} / ${fmtVal(g.worst.numeric)}`;
      t.push([g.impl, g.name, fmtErr(g.relError), fmtErr(g.maxAbsError), worst, fmtErr(g.threshold), status + kinks + noisy + fmtCoverage(g)]);
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
  const unchecked = r.gradients.filter((g) => g.unchecked);
  for (const g of unchecked) lines.push(c.yellow(`WARNING: ${g.impl} ${g.name} checked nothing: ${g.unchecked!.replace(/^nothing checked: /, '')}`));
  const arrays = (r.comparisons ?? []).flatMap((x) => x.arrays);
  const differ = arrays.filter((a) => !a.pass).length;
  const checked = r.gradients.length - unchecked.length;
  lines.push(
    r.pass
      ? c.green(`PASS: ${checked} gradient checks within threshold${unchecked.length ? `, ${unchecked.length} checked nothing` : ''}${arrays.length ? `, ${arrays.length} arrays match the reference` : ''}`)
      : c.red(`FAIL: ${failed} of ${r.gradients.length} gradient checks failed${unchecked.length ? ` (${unchecked.length} checked nothing)` : ''}${arrays.length ? `, ${differ} of ${arrays.length} arrays differ from the reference` : ''}${r.problems.length ? `, ${r.problems.length} problem(s)` : ''}`),
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
      const worst = a.message ?? (a.worst ? `(${a.worst.index.join(', ')}): ${fmtVal(a.worst.actual)} / ${fmtVal(a.worst.expected)}` : '');
      t.push([a.name, a.dtype, fmtErr(a.relError), fmtErr(a.maxAbsError), worst, fmtErr(a.threshold), a.pass ? c.green('pass') : c.red('FAIL')]);
    }
    lines.push(t.toString());
  }
  return lines.join('\n') + '\n';
}

/** How much of a gradient was checked, for the status column: '' when every element was. */
export function fmtCoverage(g: ImplGradientRow): string {
  const parts: string[] = [];
  if (g.directional) parts.push(`${g.directional.count} dir${g.directional.count === 1 ? '' : 's'}`);
  if (g.mode !== 'full' && (g.checked > 0 || !g.directional)) parts.push(`${g.checked}/${g.total} el`);
  return parts.length ? ` [${parts.join(' + ')}]` : '';
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
  const rows = values.length;
  const cols = rows ? values[0].length : 0;
  const block = Math.max(1, Math.ceil(cols / HEATMAP_MAX_CELLS));
  const grid: (number | null)[][] = [];
  for (let r = 0; r < rows; r += block) {
    const row: (number | null)[] = [];
    for (let q = 0; q < cols; q += block) {
      let v: number | null = null;
      for (let i = r; i < Math.min(rows, r + block); i++) {
        for (let j = q; j < Math.min(cols, q + block); j++) {
          const x = values[i][j];
          if (x !== null && (v === null || x > v)) v = x;
        }
      }
      row.push(v);
    }
    grid.push(row);
  }
  let max = 0;
  for (const row of grid) for (const v of row) if (v !== null && v > max) max = v;
  const paint = [(s: string) => s, (s: string) => c.gray(s), (s: string) => c.yellow(s), (s: string) => c.red(s), (s: string) => c.redBright(s)];
  const width = grid.length ? grid[0].length : 0;
  const out = [`┌${'─'.repeat(2 * width)}┐`];
  for (const row of grid) {
    let line = '';
    for (const v of row) {
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
  out.push(`scale: |error| up to ${fmtErr(max)}; ' ' < 2%, ░ ▒ ▓ █ quarters${grid.some((r) => r.includes(null)) ? ', · not evaluated' : ''}`);
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

/** Where a failing gradient is wrong: worst elements, groups, border, heatmap and hint. */
export function renderLocalization(g: ImplGradientRow, color: boolean): string {
  const loc = g.localization;
  if (!loc) return '';
  const c = painter(color);
  const lines: string[] = [];
  lines.push(c.bold(`where ${g.impl} ${g.name} is wrong`) + ` (${loc.checked} of ${loc.total} elements evaluated):`);
  if (loc.top.length) {
    const t = makeTable(['element', 'analytic', 'numeric', 'abs error', 'rel error'], color);
    for (const e of loc.top) t.push([`(${e.index.join(', ')})`, fmtVal(e.analytic), fmtVal(e.numeric), fmtErr(e.absError), fmtErr(e.relError)]);
    lines.push(t.toString());
  }
  const [sampleName, channelName] = g.input === 'w' ? ['per filter f', 'per channel c'] : g.input === 'x' ? ['per sample n', 'per channel c'] : ['per index of axis 0', 'per channel'];
  if (loc.perSample.length) lines.push(fmtGroups(sampleName, loc.perSample, g.threshold, color));
  if (loc.perChannel.length) lines.push(fmtGroups(channelName, loc.perChannel, g.threshold, color));
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

/** One line of progress: `fast dx: sampled 40/128  3.2 s`. */
export function renderProgress(p: CheckProgress, elapsedMs: number): string {
  return `${p.impl} ${p.gradient}: ${p.phase} ${p.done}/${p.total}  ${(elapsedMs / 1000).toFixed(1)} s`;
}

/**
 * A progress line on a terminal stream, drawn in place once the check has run `delayMs`
 * (default 1 s) and redrawn at most every `intervalMs`; `done` erases it. The caller creates
 * it only for a terminal. `render` draws the line (default: a layer check's, renderProgress).
 */
export function createProgressLine<P = CheckProgress>(
  stream: OutStream,
  color: boolean,
  opts: { delayMs?: number; intervalMs?: number; now?: () => number; render?: (p: P, elapsedMs: number) => string } = {},
): { update: (p: P) => void; done: () => void } {
  const render = opts.render ?? (renderProgress as unknown as (p: P, elapsedMs: number) => string);
  const now = opts.now ?? (() => performance.now());
  const start = now();
  const delay = opts.delayMs ?? 1000;
  const interval = opts.intervalMs ?? 100;
  let last = -Infinity;
  let drawn = false;
  const c = painter(color);
  return {
    update: (p) => {
      const t = now();
      if (t - start < delay || t - last < interval) return;
      last = t;
      drawn = true;
      stream.write(`\r${c.dim(render(p, t - start))}\u001b[K`);
    },
    done: () => {
      if (drawn) stream.write('\r\u001b[K');
      drawn = false;
    },
  };
}

/** A bar of `width` cells for `done` of `total`: `████████░░░░░░░░`. */
export function renderBar(done: number, total: number, width = 20): string {
  const filled = total > 0 ? Math.max(0, Math.min(width, Math.round((done / total) * width))) : 0;
  return '█'.repeat(filled) + '░'.repeat(width - filled);
}

/** Longest progress line drawn (longer lines would wrap, and `\r` could not erase them). */
const PROGRESS_MAX_CHARS = 110;

/** One line of suite progress: `[████░░░░] 12/52 conv stride=2 pad=2  fast dx: sampled 40/128  3.2 s`. */
export function renderSuiteProgress(p: SuiteProgress, elapsedMs: number): string {
  const where = p.check ? `  ${p.check.impl} ${p.check.gradient}: ${p.check.phase} ${p.check.done}/${p.check.total}` : '';
  const tail = `  ${(elapsedMs / 1000).toFixed(1)} s`;
  let line = `[${renderBar(p.index - 1, p.total)}] ${p.index}/${p.total} ${p.name}${where}`;
  if (line.length + tail.length > PROGRESS_MAX_CHARS) line = `${line.slice(0, PROGRESS_MAX_CHARS - tail.length - 1)}…`;
  return line + tail;
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
      const at = g.worst.direction !== undefined ? `direction ${g.worst.direction}` : `(${g.worst.index.join(', ')})`;
      lines.push(`  ${g.impl} ${g.name}: ${g.message ? `${g.message}; ` : ''}rel error ${fmtErr(g.relError)} > ${fmtErr(g.threshold)} at ${at}: ${fmtVal(g.worst.analytic)} / ${fmtVal(g.worst.numeric)}`);
      if (g.localization?.hint) lines.push(`    ${c.yellow(`hint: ${g.localization.hint.message}`)}`);
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
  const caseLabel = (r: BenchResult) =>
    `${r.layer}\n${Object.entries(r.shapes).map(([k, s]) => `${k} ${s.join(',')}`).join(' ')}${Object.keys(r.params).length ? `\n${fmtParams(r.params)}` : ''}`;
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
      r.speedup !== undefined ? c.bold(`${r.speedup >= 100 ? r.speedup.toFixed(0) : r.speedup.toFixed(1)}x`) : '',
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
        `${row.layer} ${Object.entries(row.shapes).map(([k, s]) => `${k} ${s.join(',')}`).join(' ')}`,
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
