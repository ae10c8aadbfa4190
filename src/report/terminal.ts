/**
 * The terminal format: every human-readable table and colour of the CLI. This module and
 * nothing else imports chalk and cli-table3. Every renderer takes `color` explicitly; with
 * colour off, no escape codes are written (chalk level 0, and cli-table3's default red/grey
 * border and head styles switched off). Numbers and texts come from format.ts.
 */
import { Chalk, type ChalkInstance } from 'chalk';
import Table from 'cli-table3';
import { escapeText } from '../text/escape.js';
import { ANSI, visibleWidth, wrapText } from '../text/wrap.js';
import { renderBoxTable } from '../text/table.js';
import type { LayerCheckReport } from '../gradcheck/check-layer.js';
import type { FixtureReport } from '../fixtures/compare.js';
import type { BenchReport, BenchResult } from '../bench/run.js';
import type { BaselineComparison } from '../bench/baseline.js';
import { formatShape } from '../tensor/tensor.js';
import type { ImplGradientRow, ReferenceComparison } from '../gradcheck/check-layer.js';
import type { ErrorStats, GroupStats, Localization } from '../gradcheck/localize.js';
import type { ArrayReport } from '../gradcheck/reference.js';
import { failingCount } from '../gradcheck/hints.js';
import type { SuiteReport } from '../suite/run.js';
import type { GradeCaseReport, GradeReport } from '../grade/grade.js';
import {
  arrayFailure,
  arrayInput,
  arrayText,
  arrayWorstText,
  caseSetupText,
  coverageText,
  SHOWN_ELEMENTS,
  fmtErr,
  fmtMs,
  fmtNum,
  fmtRatio,
  fmtVal,
  groupLabels,
  indexText,
  paramsText,
  poolHeatmap,
  shapesText,
  statusNotes,
  worstText,
  plural,
} from './format.js';

/** A chalk instance that colours only when `color` is true. */
export function painter(color: boolean): ChalkInstance {
  return new Chalk({ level: color ? 1 : 0 });
}

/** Width of terminal output when the stream is not a terminal and COLUMNS is unset. */
export const DEFAULT_WIDTH = 80;
/** Narrowest width rendered: below it tables would be all ellipses. */
export const MIN_WIDTH = 40;

export { visibleWidth, wrapText } from '../text/wrap.js';

/** Rows above which a table is drawn by the one-pass renderer (text/table.ts) instead of cli-table3. */
export const BOX_TABLE_ROWS = 200;

/** One column of a fitted table. */
export interface ColumnSpec {
  head: string;
  /** A shorter header used when the table does not fit. */
  short?: string;
  align?: 'left' | 'right';
  /** Columns with a higher value are dropped first when the table does not fit; 0 (default) never. */
  drop?: number;
  /** May be cut (with …) to fit, down to `min` characters. */
  flex?: boolean;
  min?: number;
}

/**
 * A table that fits `width` columns: headers shortened, then the least important columns
 * dropped, then flexible cells cut with an ellipsis; rows are never wrapped. Same interface as
 * the cli-table3 tables it renders (push, length, toString).
 */
export class FittedTable {
  private readonly rows: string[][] = [];

  constructor(
    private readonly columns: ColumnSpec[],
    private readonly color: boolean,
    private readonly width: number = DEFAULT_WIDTH,
  ) {}

  push(...rows: string[][]): void {
    this.rows.push(...rows);
  }

  get length(): number {
    return this.rows.length;
  }

  toString(): string {
    const width = Math.max(MIN_WIDTH, this.width);
    const cols = this.columns.map((col, i) => ({ ...col, i, head: col.head }));
    const natural = (head: string, i: number) => Math.max(visibleWidth(head), ...this.rows.map((r) => visibleWidth(r[i] ?? ''))) + 2;
    let widths = cols.map((col) => natural(col.head, col.i));
    const total = (ws: number[]) => ws.reduce((s, w) => s + w, 0) + ws.length + 1;
    if (total(widths) > width) {
      for (const col of cols) if (col.short) col.head = col.short;
      widths = cols.map((col) => natural(col.head, col.i));
    }
    let kept = cols.map((_, k) => k);
    while (total(kept.map((k) => widths[k])) > width) {
      const candidates = kept.filter((k) => (cols[k].drop ?? 0) > 0);
      if (!candidates.length) break;
      const worst = candidates.reduce((a, b) => ((cols[b].drop ?? 0) >= (cols[a].drop ?? 0) ? b : a));
      kept = kept.filter((k) => k !== worst);
    }
    let excess = total(kept.map((k) => widths[k])) - width;
    while (excess > 0) {
      const flex = kept.filter((k) => cols[k].flex && widths[k] > Math.max(cols[k].min ?? 6, visibleWidth(cols[k].head)) + 2);
      if (!flex.length) break;
      const widest = flex.reduce((a, b) => (widths[b] > widths[a] ? b : a));
      const floor = Math.max(cols[widest].min ?? 6, visibleWidth(cols[widest].head)) + 2;
      const cut = Math.min(excess, widths[widest] - floor);
      widths[widest] -= cut;
      excess -= cut;
    }
    const c = painter(this.color);
    if (this.rows.length > BOX_TABLE_ROWS) {
      // PERF: cli-table3 lays out cells in time quadratic in the rows (22 s for 10,000):
      // large tables are drawn by the one-pass renderer, cells cut to the widths here.
      const clipCell = (text: string, w: number) => (visibleWidth(text) <= w ? text : `${[...text.replace(ANSI, '')].slice(0, Math.max(0, w - 1)).join('')}…`);
      return renderBoxTable(
        kept.map((k) => clipCell(cols[k].head, widths[k] - 2)),
        this.rows.map((r) => kept.map((k) => clipCell((r[cols[k].i] ?? '').split('\n')[0], widths[k] - 2))),
        c,
        { widths: kept.map((k) => widths[k] - 2), aligns: kept.map((k) => cols[k].align ?? 'left') },
      );
    }
    const table = new Table({
      head: kept.map((k) => c.bold(cols[k].head)),
      colWidths: kept.map((k) => widths[k]),
      colAligns: kept.map((k) => cols[k].align ?? 'left'),
      wordWrap: false,
      style: { head: [], border: this.color ? ['grey'] : [] },
      // No separator line between body rows: one row per gradient reads as a list.
      chars: { mid: '', 'left-mid': '', 'mid-mid': '', 'right-mid': '' },
    });
    for (const r of this.rows) table.push(kept.map((k) => r[cols[k].i] ?? ''));
    return table.toString();
  }
}

/** The columns of a gradient table, most important first to keep. */
const GRADIENT_COLUMNS: ColumnSpec[] = [
  { head: 'impl' },
  { head: 'gradient', short: 'grad' },
  { head: 'rel error', short: 'rel err' },
  { head: 'max abs error', short: 'abs err', drop: 3 },
  { head: 'worst element (analytic / numeric)', short: 'worst (analytic / numeric)', flex: true, min: 12, drop: 1 },
  { head: 'threshold', short: 'thresh', drop: 2 },
  { head: 'status', flex: true, min: 4 },
];

/** The columns of an array-against-the-reference table; `who` is the judged side. */
function arrayColumns(who: string): ColumnSpec[] {
  return [
    { head: 'array' },
    { head: 'dtype', drop: 3 },
    { head: 'rel error', short: 'rel err' },
    { head: 'max abs error', short: 'abs err', drop: 4 },
    { head: `worst element (${who} / reference)`, short: `worst (${who} / ref)`, flex: true, min: 12, drop: 1 },
    { head: 'threshold', short: 'thresh', drop: 2 },
    { head: 'status' },
  ];
}

/** A line wrapped to `width` (notes, hints, problems), continuation lines indented. */
function wrapped(text: string, width: number): string {
  return wrapText(text, width, '  ');
}

/** The human report of a layer command, fitted to `width` columns. */
export function renderLayerReport(r: LayerCheckReport, color: boolean, width = DEFAULT_WIDTH): string {
  const c = painter(color);
  const lines: string[] = [];
  lines.push(wrapped(`${c.bold(r.layer)}  ${paramsText(r.params)}`, width));
  lines.push(
    wrapped(
      `shapes: ${Object.entries(r.shapes)
        .map(([k, s]) => `${k} ${formatShape(s)}`)
        .join('  ')}`,
      width,
    ),
  );
  lines.push(`dtype ${r.dtype}  seed ${r.seed}  h ${fmtNum(r.h)}`);
  for (const p of r.problems) lines.push(c.red(wrapped(`FAIL: ${p}`, width)));
  if (r.gradients.length) {
    const t = new FittedTable(GRADIENT_COLUMNS, color, width);
    for (const g of r.gradients) {
      // A row that compared nothing says so instead of pass (or FAIL with --strict-kinks).
      const verdict = g.unchecked ? (g.pass ? c.yellow('unchecked') : c.red('FAIL unchecked')) : g.pass ? c.green('pass') : c.red('FAIL');
      const status = [verdict, statusNotes(g), coverageText(g)].filter(Boolean).join(' ');
      t.push([g.impl, g.name, fmtErr(g.relError), fmtErr(g.maxAbsError), worstText(g), fmtErr(g.threshold), status]);
    }
    lines.push(t.toString());
    const details = renderCheckDetails(r, color, width);
    if (details) lines.push(details.trimEnd());
  }
  if (r.comparisons?.length) lines.push(renderReferenceComparisons(r.comparisons, color, width).trimEnd());
  if (r.timing.length) {
    const t = new FittedTable([{ head: 'impl' }, { head: 'forward ms', align: 'right' }, { head: 'backward ms', align: 'right' }], color, width);
    for (const row of r.timing) {
      t.push([row.impl, fmtMs(row.forwardMs.median), fmtMs(row.backwardMs.median)]);
    }
    lines.push(`timing (median of ${r.timing[0].forwardMs.samples} runs):`);
    lines.push(t.toString());
  }
  const failed = r.gradients.filter((g) => !g.pass).length;
  const unchecked = r.gradients.filter((g) => g.unchecked);
  for (const g of unchecked)
    lines.push(c.yellow(wrapped(`WARNING: ${g.impl} ${g.name} checked nothing: ${g.unchecked!.replace(/^nothing checked: /, '')}`, width)));
  const arrays = (r.comparisons ?? []).flatMap((x) => x.arrays);
  const differ = arrays.filter((a) => !a.pass).length;
  const checked = r.gradients.length - unchecked.length;
  lines.push(
    wrapped(
      r.pass
        ? c.green(
            `PASS: ${checked} gradient checks within threshold${unchecked.length ? `, ${unchecked.length} checked nothing` : ''}${arrays.length ? `, ${arrays.length} arrays match the reference` : ''}`,
          )
        : c.red(
            `FAIL: ${failed} of ${r.gradients.length} gradient checks failed${unchecked.length ? ` (${unchecked.length} checked nothing)` : ''}${arrays.length ? `, ${differ} of ${arrays.length} arrays differ from the reference` : ''}${r.problems.length ? `, ${r.problems.length} problem(s)` : ''}`,
          ),
      width,
    ),
  );
  return `${lines.join('\n')}\n`;
}

/** `--impl`: each extra implementation's out, state and gradients against the reference, one row per array. */
export function renderReferenceComparisons(comparisons: ReferenceComparison[], color: boolean, width = DEFAULT_WIDTH): string {
  const c = painter(color);
  const lines: string[] = [];
  for (const cmp of comparisons) {
    lines.push(
      wrapped(
        `${c.bold(cmp.impl)}${cmp.source ? ` (${escapeText(cmp.source)})` : ''} against the reference (${cmp.reference}, float64), same inputs and dout:`,
        width,
      ),
    );
    const t = new FittedTable(arrayColumns(cmp.impl), color, width);
    for (const a of cmp.arrays) {
      t.push([a.name, a.dtype, fmtErr(a.relError), fmtErr(a.maxAbsError), arrayWorstText(a), fmtErr(a.threshold), a.pass ? c.green('pass') : c.red('FAIL')]);
    }
    lines.push(t.toString());
    const where = renderArrayLocalizations(cmp.arrays, cmp.impl, color, width);
    if (where) lines.push(where.trimEnd());
  }
  return `${lines.join('\n')}\n`;
}

/** Block characters of the error heatmap, from no error to the map's largest. */
export const HEAT_CHARS = [' ', '░', '▒', '▓', '█'] as const;

/** Widest heatmap drawn, in cells (wider maps are max-pooled down; narrower terminals draw fewer). */
const HEATMAP_MAX_CELLS = 48;

/**
 * A heatmap of |error| as rows of block characters (two per cell), in a box so that a bright
 * frame stands out: ' ' below 2% of the map's largest value, then quarters ░ ▒ ▓ █; '·' where
 * no numeric value was evaluated. Wide maps are max-pooled to HEATMAP_MAX_CELLS columns.
 */
export function renderHeatmap(values: (number | null)[][], color: boolean, width = DEFAULT_WIDTH): string[] {
  const c = painter(color);
  // Two characters a cell and the frame.
  const { grid, block, max } = poolHeatmap(values, Math.max(4, Math.min(HEATMAP_MAX_CELLS, Math.floor((width - 2) / 2))));
  const paint = [(s: string) => s, (s: string) => c.gray(s), (s: string) => c.yellow(s), (s: string) => c.red(s), (s: string) => c.redBright(s)];
  const cells = grid.length ? grid[0].length : 0;
  const out = [`┌${'─'.repeat(2 * cells)}┐`];
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
  out.push(`└${'─'.repeat(2 * cells)}┘`);
  if (block > 1) out.push(`(each cell is the largest of ${block}x${block} elements)`);
  out.push(
    wrapText(
      `scale: |error| up to ${fmtErr(max)}; ' ' < 2%, ░ ▒ ▓ █ quarters${grid.some((r) => r.some((x) => x.v === null)) ? ', · not evaluated' : ''}`,
      width,
      '  ',
    ),
  );
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
export function renderWhere(loc: Localization, input: string, threshold: number, labels: WhereLabels, color: boolean, width = DEFAULT_WIDTH): string {
  const c = painter(color);
  const lines: string[] = [];
  if (loc.total === 0) {
    // Only a hint (an array of the wrong shape).
    if (loc.hint) lines.push(c.yellow(wrapped(`hint: ${loc.hint.message}`, width)));
    return lines.length ? `${lines.join('\n')}\n` : '';
  }
  lines.push(wrapped(c.bold(labels.title) + (labels.compared ? ` (${loc.total} elements):` : ` (${loc.checked} of ${loc.total} elements evaluated):`), width));
  const wrong = failingCount(loc);
  if (wrong !== undefined) lines.push(wrapped(`${wrong} of ${loc.checked} elements wrong (rel error > ${fmtErr(threshold)})`, width));
  if (loc.top.length) {
    const t = new FittedTable(
      [
        { head: 'element', flex: true, min: 8 },
        { head: labels.analytic, flex: true, min: 8 },
        { head: labels.numeric, flex: true, min: 8 },
        { head: 'abs error', short: 'abs err', align: 'right', drop: 2 },
        { head: 'rel error', short: 'rel err', align: 'right', drop: 1 },
      ],
      color,
      width,
    );
    for (const e of loc.top) t.push([indexText(e.index), fmtVal(e.analytic), fmtVal(e.numeric), fmtErr(e.absError), fmtErr(e.relError)]);
    lines.push(t.toString());
  }
  const [sampleName, channelName] = groupLabels(input);
  if (loc.perSample.length) lines.push(wrapped(fmtGroups(sampleName, loc.perSample, threshold, color), width));
  if (loc.perChannel.length) lines.push(wrapped(fmtGroups(channelName, loc.perChannel, threshold, color), width));
  if (loc.border)
    lines.push(wrapped(`border (first/last rows and columns): ${fmtStats(loc.border)}${loc.interior ? `; interior: ${fmtStats(loc.interior)}` : ''}`, width));
  if (loc.aligned) {
    lines.push(
      wrapped(
        `after aligning by the shift (${loc.aligned.shift.join(', ')}): the border band it leaves: ${fmtStats(loc.aligned.border)}; the rest: ${fmtStats(loc.aligned.interior)}`,
        width,
      ),
    );
  }
  if (loc.heatmap) {
    const h = loc.heatmap;
    lines.push(`|error| over the last two axes at (${h.n}, ${h.c}):`);
    lines.push(...renderHeatmap(h.values, color, width));
    if (h.aligned) {
      lines.push(`the same after aligning by the shift (${loc.aligned?.shift.join(', ')}):`);
      lines.push(...renderHeatmap(h.aligned, color, width));
    }
  }
  if (loc.hint) lines.push(c.yellow(wrapped(`hint: ${loc.hint.message}`, width)));
  return `${lines.join('\n')}\n`;
}

/** Where a failing gradient is wrong: worst elements, groups, border, heatmap and hint. */
export function renderLocalization(g: ImplGradientRow, color: boolean, width = DEFAULT_WIDTH): string {
  if (!g.localization) return '';
  return renderWhere(
    g.localization,
    g.input,
    g.threshold,
    { title: `where ${g.impl} ${g.name} is wrong`, analytic: 'analytic', numeric: 'numeric' },
    color,
    width,
  );
}

/** Where each failing array of a comparison is wrong; `who` names the judged side (`py:naive`, `fixture`). */
export function renderArrayLocalizations(arrays: ArrayReport[], who: string, color: boolean, width = DEFAULT_WIDTH): string {
  return arrays
    .filter((a) => !a.pass && a.localization)
    .map((a) =>
      renderWhere(
        a.localization!,
        arrayInput(a.name),
        a.threshold,
        { title: `where ${who} ${a.name} differs from the reference`, analytic: who, numeric: 'reference', compared: true },
        color,
        width,
      ),
    )
    .join('');
}

/** `--h-sweep`: the error of every gradient at each h, the best h marked. */
export function renderSweep(rows: ImplGradientRow[], color: boolean, width = DEFAULT_WIDTH): string {
  const swept = rows.filter((g) => g.sweep);
  if (!swept.length) return '';
  const c = painter(color);
  const hs = swept[0].sweep!.hs;
  // One column per gradient: those that do not fit are dropped (the best-h line names them all).
  const t = new FittedTable([{ head: 'h' }, ...swept.map((g, k) => ({ head: `${g.impl} ${g.name}`, short: g.name, drop: k + 1 }))], color, width);
  for (let k = 0; k < hs.length; k++) {
    t.push([
      fmtNum(hs[k]),
      ...swept.map((g) => {
        const s = g.sweep!;
        const v = fmtErr(s.relErrors[k]);
        return s.hs[k] === s.bestH ? c.green(`${v} *`) : v;
      }),
    ]);
  }
  const lines = [wrapped(`relative error over h (truncation error falls with h, rounding error grows as h shrinks; * = best):`, width), t.toString()];
  lines.push(wrapped(`best h: ${swept.map((g) => `${g.impl} ${g.name} ${fmtNum(g.sweep!.bestH)} (${fmtErr(g.sweep!.bestRelError)})`).join(', ')}`, width));
  return `${lines.join('\n')}\n`;
}

/** What follows the gradient table of a layer report: notes, where failures are, the h sweep. */
export function renderCheckDetails(r: LayerCheckReport, color: boolean, width = DEFAULT_WIDTH): string {
  const parts: string[] = [];
  for (const n of r.notes ?? []) parts.push(`${wrapped(`note: ${n}`, width)}\n`);
  for (const g of r.gradients) if (!g.pass && g.localization) parts.push(renderLocalization(g, color, width));
  parts.push(renderSweep(r.gradients, color, width));
  return parts.join('');
}

/**
 * `cnn-check suite`: one row per check (gradients or fixture arrays passed or failed, the worst
 * relative error against its threshold, the time), then where each failing check went wrong,
 * the checks not run, and a closing line.
 */
export function renderSuiteReport(r: SuiteReport, color: boolean, width = DEFAULT_WIDTH): string {
  const c = painter(color);
  const what = r.source === 'default' ? 'the built-in default suite' : escapeText(r.source);
  const shard = r.shard ? `, shard ${r.shard.index}/${r.shard.count} (${r.checks.length + r.notRun.length} of ${r.total})` : '';
  const lines: string[] = [wrapped(`${c.bold('cnn-check suite')}  ${what}: ${plural(r.checks.length + r.notRun.length, 'check')}${shard}`, width)];
  const t = new FittedTable(
    [
      { head: '#', align: 'right' },
      { head: 'check', flex: true, min: 10 },
      { head: 'gradients', short: 'grads', drop: 2 },
      { head: 'worst rel error', short: 'worst', flex: true, min: 8, drop: 3 },
      { head: 'threshold', short: 'thresh', align: 'right', drop: 4 },
      { head: 'time', align: 'right', drop: 1 },
      { head: 'status' },
    ],
    color,
    width,
  );
  for (const k of r.checks) {
    const noun = k.kind === 'fixture' ? 'arrays' : '';
    const grads =
      k.error !== undefined ? c.red('invalid') : k.failed ? c.red(`${k.failed} of ${k.gradients} fail`) : `${k.gradients}${noun ? ` ${noun}` : ''} pass`;
    const worst = k.worst ? `${fmtErr(k.worst.relError)} (${k.kind === 'fixture' ? k.worst.name : `${k.worst.impl} ${k.worst.name}`})` : '-';
    const problems = k.report?.problems.length ? ` (${plural(k.report.problems.length, 'problem')})` : '';
    t.push([
      String(k.index + 1),
      escapeText(k.name),
      grads,
      worst,
      k.worst ? fmtErr(k.worst.threshold) : '-',
      `${k.seconds.toFixed(2)} s`,
      (k.pass ? c.green('pass') : c.red('FAIL')) + problems,
    ]);
  }
  lines.push(t.toString());
  for (const k of r.checks) {
    if (k.pass) continue;
    lines.push(c.red(wrapped(`FAIL ${k.index + 1}. ${escapeText(k.name)}`, width)));
    if (k.error !== undefined) lines.push(wrapped(`  ${escapeText(k.error)}`, width));
    for (const a of k.fixture?.arrays ?? []) {
      if (!a.pass) lines.push(wrapped(`  ${a.name}: ${arrayFailure('fixture', a)}`, width));
    }
    for (const p of k.report?.problems ?? []) lines.push(wrapped(`  problem: ${p}`, width));
    for (const g of k.report?.gradients ?? []) {
      if (g.pass) continue;
      const at = g.worst.direction !== undefined ? `direction ${g.worst.direction}` : indexText(g.worst.index);
      lines.push(
        wrapped(
          `  ${g.impl} ${g.name}: ${g.message ? `${g.message}; ` : ''}rel error ${fmtErr(g.relError)} > ${fmtErr(g.threshold)} at ${at}: ${fmtVal(g.worst.analytic)} / ${fmtVal(g.worst.numeric)}`,
          width,
        ),
      );
      if (g.localization?.hint) lines.push(`    ${c.yellow(wrapText(`hint: ${g.localization.hint.message}`, width - 4, '    '))}`);
    }
    for (const cmp of k.report?.comparisons ?? []) {
      for (const a of cmp.arrays) {
        if (a.pass) continue;
        const at = a.worst ? ` at ${indexText(a.worst.index)}: ${fmtVal(a.worst.actual)} / ${fmtVal(a.worst.expected)}` : '';
        lines.push(
          wrapped(
            `  ${cmp.impl} ${a.name} differs from the reference: ${a.message ? `${a.message}` : `rel error ${fmtErr(a.relError)} > ${fmtErr(a.threshold)}${at}`}`,
            width,
          ),
        );
        if (a.localization?.hint) lines.push(`    ${c.yellow(wrapText(`hint: ${a.localization.hint.message}`, width - 4, '    '))}`);
      }
    }
  }
  if (r.notRun.length) {
    lines.push(c.red(wrapped(`NOT RUN (--max-time): ${r.notRun.map((k) => `${k.index + 1}. ${escapeText(k.name)}`).join(', ')}`, width)));
  }
  const ran = r.checks.length;
  const layer = r.checks.filter((k) => k.kind !== 'fixture');
  const grads = layer.reduce((n, k) => n + k.gradients, 0);
  const badGrads = layer.reduce((n, k) => n + k.failed, 0);
  const fixtures = r.checks.filter((k) => k.kind === 'fixture');
  const arrays = fixtures.reduce((n, k) => n + k.gradients, 0);
  const badArrays = fixtures.reduce((n, k) => n + k.failed, 0);
  const arraysText = fixtures.length ? (r.pass ? `, ${arrays} fixture arrays match the reference` : `, ${badArrays} of ${arrays} fixture arrays differ`) : '';
  const invalidText = r.invalid ? `, ${r.invalid} fixture${r.invalid === 1 ? '' : 's'} invalid` : '';
  lines.push(
    wrapped(
      r.pass
        ? c.green(`PASS: ${plural(ran, 'check')}, ${grads} gradient checks within threshold${arraysText} (${r.seconds.toFixed(1)} s)`)
        : c.red(
            `FAIL: ${r.failedChecks} of ${ran} checks failed, ${badGrads} of ${grads} gradient checks${arraysText}${invalidText}${r.notRun.length ? `, ${r.notRun.length} not run` : ''} (${r.seconds.toFixed(1)} s)`,
          ),
      width,
    ),
  );
  return `${lines.join('\n')}\n`;
}

/** `compare`: one table per fixture and a closing line. */
export function renderCompareReports(reports: FixtureReport[], color: boolean, width = DEFAULT_WIDTH): string {
  const c = painter(color);
  const lines: string[] = [];
  for (const r of reports) {
    lines.push(wrapped(`${c.bold(escapeText(r.path))}  ${r.layer}  ${paramsText(r.params)}`, width));
    const t = new FittedTable(arrayColumns('fixture'), color, width);
    for (const a of r.arrays) {
      t.push([a.name, a.dtype, fmtErr(a.relError), fmtErr(a.maxAbsError), arrayWorstText(a), fmtErr(a.threshold), a.pass ? c.green('pass') : c.red('FAIL')]);
    }
    lines.push(t.toString());
    const where = renderArrayLocalizations(r.arrays, 'fixture', color, width);
    if (where) lines.push(where.trimEnd());
  }
  const failed = reports.filter((r) => !r.pass).length;
  lines.push(
    failed
      ? c.red(`FAIL: ${failed} of ${reports.length} fixtures differ from the reference`)
      : c.green(`PASS: ${reports.length} fixture(s) match the reference`),
  );
  return `${lines.join('\n')}\n`;
}

/** One member listed by `inspect`. */
export interface InspectRow {
  name: string;
  /** As named everywhere: `float64`, `str, 52 chars` (npy/format.ts dtypeDisplayName). */
  dtype: string;
  /** The file's own descr: `<f8`, `<U52`. */
  descr: string;
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
export function renderInspect(path: string, rows: InspectRow[], color: boolean, width = DEFAULT_WIDTH): string {
  const t = new FittedTable(
    [
      { head: 'member', flex: true, min: 8 },
      { head: 'dtype' },
      { head: 'shape', flex: true, min: 6 },
      { head: 'order', drop: 2 },
      { head: 'min', align: 'right', drop: 3 },
      { head: 'max', align: 'right', drop: 3 },
      { head: 'mean', align: 'right', drop: 4 },
      { head: 'NaN', align: 'right', drop: 1 },
    ],
    color,
    width,
  );
  const num = (v: number | null | undefined) => (v === null || v === undefined ? '-' : fmtVal(v));
  const strings: string[] = [];
  for (const r of rows) {
    if (r.value !== undefined) strings.push(wrapped(escapeText(`${r.name} (${r.dtype}): ${r.value}`), width));
    else t.push([escapeText(r.name), escapeText(r.dtype), formatShape(r.shape), r.order, num(r.min), num(r.max), num(r.mean), String(r.nanCount ?? 0)]);
  }
  return `${[wrapped(painter(color).bold(escapeText(path)), width), ...strings, ...(t.length ? [t.toString()] : [])].join('\n')}\n`;
}

/**
 * `cnn-check bench`: one row per (case, dtype, impl) with median and [min-max] times, GFLOP/s
 * where the layer counts flops, and the fast/naive speedup; rows measured at a smaller batch
 * and scaled say so. With a baseline, a second table of current/baseline median ratios.
 */
export function renderBenchReport(report: BenchReport, color: boolean, comparison?: BaselineComparison, width = DEFAULT_WIDTH): string {
  const c = painter(color);
  const lines: string[] = [];
  const m = report.machine;
  lines.push(wrapped(`${c.bold('cnn-check bench')}  ${m.cpu}, ${m.cores} cores, node ${m.node}, GEMM ${m.gemm}`, width));
  const runs = report.results[0]?.forwardMs.samples;
  if (runs !== undefined)
    lines.push(
      wrapped(
        `times in ms: median [min-max] of ${runs} run${runs === 1 ? '' : 's'}; GFLOP/s from the medians; speedup = naive / fast (forward + backward)`,
        width,
      ),
    );
  const caseLabel = (r: BenchResult) => `${r.layer}\n${shapesText(r.shapes, ' ')}${Object.keys(r.params).length ? `\n${paramsText(r.params)}` : ''}`;
  const timing = (s: BenchResult['forwardMs']) => `${fmtMs(s.median)} [${fmtMs(s.min)}-${fmtMs(s.max)}]`;
  const estimated = report.results.some((r) => r.estimatedFrom);
  const t = new FittedTable(
    [
      { head: 'layer / case', short: 'case', flex: true, min: 10 },
      { head: 'impl' },
      { head: 'dtype', drop: 3 },
      { head: 'threads', short: 'thr', align: 'right', drop: 4 },
      { head: 'forward ms', short: 'fwd ms', align: 'right', flex: true, min: 6 },
      { head: 'backward ms', short: 'bwd ms', align: 'right', flex: true, min: 6 },
      { head: 'GFLOP/s fwd / bwd', short: 'GFLOP/s', align: 'right', drop: 2 },
      { head: 'speedup', align: 'right', drop: 1 },
      ...(estimated ? [{ head: 'note', flex: true, drop: 5 } as ColumnSpec] : []),
    ],
    color,
    width,
  );
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
      row.push(
        r.estimatedFrom
          ? c.yellow(`estimated: timed at batch ${r.estimatedFrom.batch}, scaled x${fmtNum(Number((N / r.estimatedFrom.batch).toPrecision(3)))}`)
          : '',
      );
    }
    t.push(row);
    previous = label;
  }
  lines.push(t.toString());
  if (estimated)
    lines.push(wrapped('estimated rows: the naive run would exceed --naive-budget, so it was timed on a smaller batch and scaled linearly', width));
  for (const n of report.notes) lines.push(wrapped(`note: ${n}`, width));
  if (comparison) {
    const b = new FittedTable(
      [
        { head: 'layer / case', short: 'case', flex: true, min: 10 },
        { head: 'impl' },
        { head: 'dtype', drop: 3 },
        { head: 'threads', short: 'thr', align: 'right', drop: 4 },
        { head: 'pass' },
        { head: 'baseline ms', short: 'base ms', align: 'right', drop: 2 },
        { head: 'current ms', short: 'now ms', align: 'right', drop: 1 },
        { head: 'ratio', align: 'right' },
        { head: 'status' },
      ],
      color,
      width,
    );
    for (const row of comparison.rows) {
      b.push([
        `${row.layer} ${shapesText(row.shapes, ' ')}`,
        row.impl,
        row.dtype,
        String(row.threads),
        row.pass,
        fmtMs(row.baselineMs),
        fmtMs(row.currentMs),
        `${row.ratio.toFixed(2)}x`,
        row.ok ? c.green('ok') : c.red('SLOWER'),
      ]);
    }
    lines.push(wrapped(`baseline ${escapeText(comparison.file)} (allowed slowdown ${comparison.maxSlowdown}x):`, width));
    if (comparison.rows.length) lines.push(b.toString());
    if (comparison.unmatched)
      lines.push(wrapped(`note: ${comparison.unmatched} result(s) have no baseline entry (same layer, impl, dtype, threads, shapes and params)`, width));
    const slower = comparison.rows.filter((r) => !r.ok).length;
    lines.push(
      comparison.ok
        ? c.green(`PASS: ${comparison.rows.length} medians within ${comparison.maxSlowdown}x of the baseline`)
        : c.red(`FAIL: ${slower} of ${comparison.rows.length} medians slower than ${comparison.maxSlowdown}x the baseline`),
    );
  }
  return `${lines.join('\n')}\n`;
}

/** Order of statuses in the report card: what to fix first. */
const GRADE_ORDER: Record<string, number> = { error: 0, fail: 1, warn: 2, pass: 3 };

/** A status cell of the report card. */
function gradeStatus(status: string, c: ChalkInstance): string {
  return status === 'pass' ? c.green('pass') : status === 'warn' ? c.yellow('warn') : c.red(status === 'error' ? 'ERROR' : 'FAIL');
}

/** `name = value` with the value's continuation lines under its start, each line wrapped to `width`. */
function assigned(prefix: string, text: string, width: number): string[] {
  const pad = ' '.repeat(prefix.length);
  return text.split('\n').map((line, k) => wrapText(`${k ? pad : prefix}${line}`, width, `${pad}  `));
}

/** The smallest failing case of a graded case: setup, message, inputs and both results in full, the fixture. */
function renderShrunk(s: Exclude<NonNullable<GradeCaseReport['shrunk']>, { sameAs: string }>, bound: number, c: ChalkInstance, width: number): string[] {
  const how = `shrunk in ${s.seconds.toFixed(2)} s of at most ${fmtNum(bound)} s, ${plural(s.tries, 'try', 'tries')}${s.complete ? '' : ', stopped at the bound'}${s.integer ? '; integer values' : ''}`;
  const lines = [
    wrapText(`  ${c.bold('smallest failing case')} (${how}): ${caseSetupText(s.shapes, s.params)}${s.dtype === 'float32' ? '; float32' : ''}`, width, '    '),
  ];
  lines.push(wrapText(`    ${escapeText(s.message)}`, width, '      '));
  for (const a of s.arrays) {
    const label = a.role === 'yours' ? `${a.name}, yours` : a.role === 'reference' ? `${a.name}, reference` : a.name;
    if (a.values.length > SHOWN_ELEMENTS)
      lines.push(wrapText(`    ${label}: shape (${a.shape.join(', ')}), ${a.values.length} values (in the fixture)`, width, '      '));
    else lines.push(...assigned(`    ${label} = `, arrayText(a.values, a.shape), width));
  }
  if (s.fixture) lines.push(wrapText(`  fixture: ${escapeText(s.fixture)} (cnn_check.load_fixture in Python; cnn-check compare reruns it)`, width, '    '));
  if (s.fixtureNote) lines.push(c.yellow(wrapText(`  fixture ${escapeText(s.fixtureNote)}`, width, '    ')));
  return lines;
}

/**
 * `cnn-check grade`: the report card (one row per function and case, failures first), what each
 * failure is with its hint and its smallest failing case, warnings, the timing of each function
 * beside the reference's, one summary line per layer and a closing line; fitted to `width`.
 */
export function renderGradeReport(r: GradeReport, color: boolean, width = DEFAULT_WIDTH): string {
  const c = painter(color);
  const lines: string[] = [];
  const layers = r.layers.length;
  lines.push(
    wrapped(
      `${c.bold('cnn-check grade')} ${escapeText(r.module)}: ${plural(layers, 'layer')}, ${plural(r.counts.cases, 'case')}${r.quick ? ' (--quick)' : ''}, ${r.seconds.toFixed(1)} s`,
      width,
    ),
  );
  const rows = r.layers.flatMap((l) => l.cases.map((k) => ({ layer: l.layer, k })));
  rows.sort((a, b) => GRADE_ORDER[a.k.status] - GRADE_ORDER[b.k.status]);
  const t = new FittedTable(
    [
      { head: 'layer', flex: true, min: 7 },
      { head: 'function', short: 'fn', flex: true, min: 5 },
      { head: 'case', flex: true, min: 8 },
      { head: 'setup', flex: true, min: 10, drop: 2 },
      { head: 'mode', drop: 1 },
      { head: 'status' },
    ],
    color,
    width,
  );
  for (const { layer, k } of rows) {
    const setup = `${shapesText(k.shapes, ' ')}${Object.keys(k.params).length ? ` ${paramsText(k.params)}` : ''}${k.dtype === 'float32' ? ' float32' : ''}`;
    t.push([layer, escapeText(k.function), escapeText(k.name), setup, k.mode, gradeStatus(k.status, c)]);
  }
  if (rows.length) lines.push(t.toString());
  for (const { layer, k } of rows) {
    if (k.pass) continue;
    lines.push(
      c.red(wrapped(`${k.status === 'error' ? 'ERROR' : 'FAIL'} ${layer} ${escapeText(k.function)} ${escapeText(k.name)}: ${escapeText(k.message)}`, width)),
    );
    if (k.name !== 'pair') {
      lines.push(wrapText(`  case: ${caseSetupText(k.shapes, k.params)}; ${k.inputs}; ${k.dtype}; gradient check ${k.mode}`, width, '    '));
    }
    if (k.hint) lines.push(c.yellow(wrapText(`  hint: ${escapeText(k.hint)}`, width, '    ')));
    for (const n of k.info) lines.push(wrapText(`  note: ${escapeText(n)}`, width, '    '));
    if (k.shrunk && 'sameAs' in k.shrunk)
      lines.push(wrapText(`  smallest failing case: as for ${escapeText(k.shrunk.sameAs)} (the same failure)`, width, '    '));
    else if (k.shrunk) lines.push(...renderShrunk(k.shrunk, r.shrinkSeconds, c, width));
  }
  for (const { layer, k } of rows) {
    for (const w of k.warnings) lines.push(c.yellow(wrapped(`WARNING: ${layer} ${escapeText(k.function)} ${escapeText(k.name)}: ${w}`, width)));
  }
  // What a passing case's test-mode backward did, when it is not simply right (cs231n does not ask for it).
  for (const { layer, k } of rows) {
    if (!k.pass) continue;
    for (const n of k.info)
      if (n.startsWith('backward in test mode:') && !n.includes('matches the reference'))
        lines.push(wrapped(`note: ${layer} ${escapeText(k.function)} ${escapeText(k.name)}: ${escapeText(n)}`, width));
  }
  const conventions = rows.filter(({ k }) => k.convention);
  for (const { layer, k } of conventions)
    lines.push(wrapped(`ties: ${layer} ${escapeText(k.function)} splits dout at tied maxima as: ${k.convention} (case ${escapeText(k.name)})`, width));
  const timed = r.layers.flatMap((l) => l.implementations.filter((f) => f.timing).map((f) => ({ layer: l.layer, f, t: f.timing! })));
  if (timed.length) {
    const ms = (x?: { forwardMs: number; backwardMs: number }) =>
      x ? `${fmtMs(x.forwardMs)} / ${Number.isNaN(x.backwardMs) ? '-' : fmtMs(x.backwardMs)}` : '-';
    const tt = new FittedTable(
      [
        { head: 'layer', flex: true, min: 7 },
        { head: 'function', short: 'fn', flex: true, min: 5 },
        { head: 'shape', flex: true, min: 8, drop: 2 },
        { head: 'yours', align: 'right' },
        { head: 'naive', align: 'right', drop: 1 },
        { head: 'fast', align: 'right' },
      ],
      color,
      width,
    );
    for (const { layer, f, t: tm } of timed)
      tt.push([layer, escapeText(f.name), shapesText(tm.shapes, ' '), tm.yours ? ms(tm.yours) : c.yellow('-'), ms(tm.naive), ms(tm.fast)]);
    lines.push(wrapped("timing at a mid shape, forward / backward ms (median; yours beside the reference's naive loops and fast form):", width));
    lines.push(tt.toString());
    for (const { layer, f, t: tm } of timed) if (tm.note) lines.push(wrapped(`note: ${layer} ${escapeText(f.name)}: ${escapeText(tm.note)}`, width));
  }
  for (const n of r.notes) lines.push(wrapped(`note: ${escapeText(n)}`, width));
  for (const l of r.layers) lines.push(l.pass ? wrapped(c.green(escapeText(l.summary)), width) : c.red(wrapped(escapeText(l.summary), width)));
  const { cases, failed, errors, warnings } = r.counts;
  const bad = failed + errors;
  const failingLayers = r.layers.filter((l) => !l.pass).map((l) => l.layer);
  lines.push(
    wrapped(
      r.pass
        ? c.green(`PASS: ${cases} of ${cases} cases pass${warnings ? ` (${plural(warnings, 'warning')})` : ''} in ${plural(layers, 'layer')}`)
        : c.red(`FAIL: ${bad} of ${cases} cases fail${errors ? ` (${plural(errors, 'error')})` : ''}, in ${failingLayers.join(', ')}`),
      width,
    ),
  );
  return `${lines.join('\n')}\n`;
}
