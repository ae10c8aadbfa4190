/**
 * The HTML report (`--report FILE.html`): one self-contained page with the tables of a run, the
 * error heatmaps of failing gradients and the charts, drawn as inline SVG.
 *
 * Self-contained means: no script at all, styles in one `<style>` element, system fonts, no
 * link, image or font from anywhere; a Content-Security-Policy meta element (`default-src
 * 'none'`) makes a browser refuse any fetch that slipped in. Every piece of text (check names,
 * file paths, messages) goes through `esc`. Pure: data in, string out; the caller supplies
 * anything that varies between runs of the same data (the time it was generated).
 */
import type { ImplGradientRow, LayerCheckReport } from '../gradcheck/check-layer.js';
import type { Heatmap, Localization } from '../gradcheck/localize.js';
import type { ArrayReport } from '../gradcheck/reference.js';
import { failingCount } from '../gradcheck/hints.js';
import type { BenchResult } from '../bench/run.js';
import {
  arrayInput,
  arrayWorstText,
  fmtErr,
  fmtMs,
  fmtNum,
  fmtRatio,
  fmtSeconds,
  fmtVal,
  groupLabels,
  indexText,
  paramsText,
  poolHeatmap,
  shapesText,
  statusNotes,
  worstText,
} from './format.js';
import { worstGradient } from '../suite/run.js';
import type { ReportedCheck, RunReport } from './model.js';
import type { GradeReport } from '../grade/grade.js';
import { arrayText, caseSetupText } from './format.js';

/** Escape text for HTML element content and double- or single-quoted attributes. */
export function esc(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');
}

const CSS = `
:root { color-scheme: light; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 24px auto; max-width: 1200px; padding: 0 16px; color: #1f2328; background: #fff; }
h1 { font-size: 22px; margin: 0 0 4px; } h2 { font-size: 18px; margin: 28px 0 8px; border-bottom: 1px solid #d0d7de; padding-bottom: 4px; }
h3 { font-size: 15px; margin: 18px 0 6px; } h4 { font-size: 14px; margin: 12px 0 4px; }
.meta { color: #59636e; margin: 2px 0; }
.badge { display: inline-block; padding: 2px 10px; border-radius: 12px; font-weight: 600; color: #fff; }
.badge.pass { background: #1a7f37; color: #fff; } .badge.fail { background: #cf222e; color: #fff; } .badge.none { background: #59636e; color: #fff; }
table { border-collapse: collapse; margin: 6px 0 12px; font-variant-numeric: tabular-nums; }
th, td { border: 1px solid #d0d7de; padding: 3px 8px; text-align: left; vertical-align: top; }
th { background: #f6f8fa; } td.num { text-align: right; white-space: nowrap; font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; }
td.status-pass, span.pass { color: #1a7f37; font-weight: 600; } td.status-warn, span.warn { color: #9a6700; font-weight: 600; } td.status-fail, span.fail { color: #cf222e; font-weight: 700; }
tr.fail td { background: #fff5f5; }
.note { color: #59636e; } .problem { color: #cf222e; } .hint { background: #fff8c5; border: 1px solid #d4a72c; padding: 4px 8px; display: inline-block; }
details { margin: 6px 0; } summary { cursor: pointer; }
svg { display: block; margin: 6px 0 14px; max-width: 100%; height: auto; }
svg text { font: 11px system-ui, sans-serif; fill: #1f2328; }
svg .bar { fill: #0969da; } svg .bar.alt { fill: #8250df; } svg .bar.fail { fill: #cf222e; } svg .bar.inf { fill: #cf222e; opacity: .6; }
svg .axis { stroke: #8c959f; stroke-width: 1; } svg .grid { stroke: #eaeef2; stroke-width: 1; } svg .threshold { stroke: #1f2328; stroke-width: 2; }
svg .frame { fill: none; stroke: #59636e; stroke-width: 1; }
.maps { display: flex; flex-wrap: wrap; gap: 24px; }
`;

function badge(pass: boolean | null): string {
  return pass === null ? '<span class="badge none">done</span>' : pass ? '<span class="badge pass">PASS</span>' : '<span class="badge fail">FAIL</span>';
}

function status(pass: boolean): string {
  return pass ? '<span class="pass">pass</span>' : '<span class="fail">FAIL</span>';
}

/** A cell: text (escaped here), numbers right-aligned. */
interface Cell {
  text?: string;
  html?: string;
  num?: boolean;
  cls?: string;
}

function table(cls: string, head: string[], rows: { cells: (Cell | string)[]; cls?: string }[]): string {
  const th = head.map((h) => `<th>${esc(h)}</th>`).join('');
  const body = rows.map((r) => {
    const tds = r.cells
      .map((c) => {
        const cell: Cell = typeof c === 'string' ? { text: c } : c;
        const classes = [cell.num ? 'num' : '', cell.cls ?? ''].filter(Boolean).join(' ');
        return `<td${classes ? ` class="${classes}"` : ''}>${cell.html ?? esc(cell.text ?? '')}</td>`;
      })
      .join('');
    return `<tr${r.cls ? ` class="${r.cls}"` : ''}>${tds}</tr>`;
  });
  return `<table class="${cls}"><thead><tr>${th}</tr></thead><tbody>\n${body.join('\n')}\n</tbody></table>`;
}

/** Compared arrays, a row each: `whose` names the judged side in the worst element's column. */
function arraysTable(cls: string, whose: string, arrays: ArrayReport[]): string {
  return table(
    cls,
    ['array', 'dtype', 'rel error', 'max abs error', `worst element (${whose} / reference)`, 'threshold', 'status'],
    arrays.map((a) => ({
      cls: a.pass ? undefined : 'fail',
      cells: [
        a.name,
        a.dtype,
        { text: fmtErr(a.relError), num: true },
        { text: fmtErr(a.maxAbsError), num: true },
        arrayWorstText(a),
        { text: fmtErr(a.threshold), num: true },
        statusCell(a.pass),
      ],
    })),
  );
}

function statusCell(pass: boolean, extra = ''): Cell {
  return { html: status(pass) + (extra ? ` ${esc(extra)}` : ''), cls: pass ? 'status-pass' : 'status-fail' };
}

// ---------------------------------------------------------------------------------------------
// Charts

/** One bar of a chart. */
export interface Bar {
  label: string;
  value: number;
  /** `alt` (second series), `fail`. */
  cls?: string;
  /** A tick drawn across the bar at this value (a threshold). */
  marker?: number;
  /** Shown after the bar (default: the value). */
  valueText?: string;
}

const CHART = { labelChars: 48, charWidth: 6.6, barHeight: 16, gap: 5, plotWidth: 440, valueWidth: 120, top: 26, bottom: 24, tickGap: 10 } as const;

/** Decades between labelled ticks of a log axis, the smallest whose labels do not touch. */
const TICK_STEPS = [1, 2, 3, 4, 5, 10, 20, 50, 100];

function truncate(s: string, n: number): string {
  return s.length > n ? `${s.slice(0, n - 1)}…` : s;
}

/**
 * A horizontal bar chart as SVG. `log`: bars on a log10 axis (values <= 0 get no bar); the
 * default picks log when the finite positive values span more than a factor of 50. Infinite or
 * NaN values are drawn as a full-width bar of class `inf`.
 */
export function barChart(opts: { title: string; unit: string; bars: Bar[]; log?: boolean; cls?: string }): string {
  const { bars } = opts;
  const finite = bars.flatMap((b) => [b.value, ...(b.marker !== undefined ? [b.marker] : [])]).filter((v) => Number.isFinite(v) && v > 0);
  const max = finite.length ? Math.max(...finite) : 1;
  const min = finite.length ? Math.min(...finite) : 1;
  const log = opts.log ?? (min > 0 && max / min > 50);
  const labelWidth = Math.ceil(Math.min(CHART.labelChars, Math.max(4, ...bars.map((b) => b.label.length))) * CHART.charWidth) + 8;
  const lo = log ? Math.floor(Math.log10(min)) : 0;
  const hi = log ? Math.max(lo + 1, Math.ceil(Math.log10(max))) : max;
  const x = (v: number): number => {
    if (!Number.isFinite(v)) return CHART.plotWidth;
    if (log) return v <= 0 ? 0 : Math.max(0, ((Math.log10(v) - lo) / (hi - lo)) * CHART.plotWidth);
    return hi > 0 ? (Math.max(0, v) / hi) * CHART.plotWidth : 0;
  };
  const width = labelWidth + CHART.plotWidth + CHART.valueWidth;
  const height = CHART.top + bars.length * (CHART.barHeight + CHART.gap) + CHART.bottom;
  const parts: string[] = [];
  parts.push(`<svg class="chart ${opts.cls ?? ''}" role="img" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">`);
  parts.push(`<title>${esc(opts.title)}</title>`);
  parts.push(`<text x="0" y="14" font-weight="600">${esc(opts.title)} (${esc(opts.unit)}${log ? ', log scale' : ''})</text>`);
  // Grid lines at every decade (log) or quarter; labels on every `step`-th, so that no two
  // overlap however many decades the values span (a relative error of 1e-16 next to a NaN-free 1).
  const ticks: number[] = [];
  if (log) for (let e = lo; e <= hi; e++) ticks.push(10 ** e);
  else for (let k = 0; k <= 4; k++) ticks.push((hi * k) / 4);
  const tickText = (t: number) => (log ? `1e${Math.round(Math.log10(t))}` : fmtTick(t));
  const widest = Math.max(...ticks.map((t) => tickText(t).length)) * CHART.charWidth + CHART.tickGap;
  const spacing = CHART.plotWidth / Math.max(1, ticks.length - 1);
  const step = log ? (TICK_STEPS.find((k) => k * spacing >= widest) ?? ticks.length) : 1;
  const plotBottom = height - CHART.bottom;
  ticks.forEach((t, _k) => {
    const tx = (labelWidth + x(t)).toFixed(1);
    parts.push(`<line class="grid" x1="${tx}" y1="${CHART.top - 4}" x2="${tx}" y2="${plotBottom}"/>`);
    // Labelled decades are multiples of the step, so 1e0 stays labelled when it is in range.
    if (!log || Math.round(Math.log10(t)) % step === 0) parts.push(`<text x="${tx}" y="${plotBottom + 14}" text-anchor="middle">${esc(tickText(t))}</text>`);
  });
  parts.push(`<line class="axis" x1="${labelWidth}" y1="${CHART.top - 4}" x2="${labelWidth}" y2="${plotBottom}"/>`);
  bars.forEach((b, i) => {
    const y = CHART.top + i * (CHART.barHeight + CHART.gap);
    const w = x(b.value);
    const cls = ['bar', b.cls ?? '', Number.isFinite(b.value) ? '' : 'inf'].filter(Boolean).join(' ');
    const valueText = b.valueText ?? (Number.isFinite(b.value) ? fmtTick(b.value) : String(b.value));
    parts.push(
      `<text x="${labelWidth - 6}" y="${y + CHART.barHeight - 4}" text-anchor="end"><title>${esc(b.label)}</title>${esc(truncate(b.label, CHART.labelChars))}</text>`,
    );
    parts.push(
      `<rect class="${cls}" x="${labelWidth}" y="${y}" width="${w.toFixed(1)}" height="${CHART.barHeight}"><title>${esc(`${b.label}: ${valueText}`)}</title></rect>`,
    );
    if (b.marker !== undefined && Number.isFinite(b.marker)) {
      const mx = (labelWidth + x(b.marker)).toFixed(1);
      parts.push(
        `<line class="threshold" x1="${mx}" y1="${y - 2}" x2="${mx}" y2="${y + CHART.barHeight + 2}"><title>${esc(`threshold ${fmtErr(b.marker)}`)}</title></line>`,
      );
    }
    parts.push(`<text x="${(labelWidth + w + 6).toFixed(1)}" y="${y + CHART.barHeight - 4}">${esc(valueText)}</text>`);
  });
  parts.push('</svg>');
  return parts.join('\n');
}

function fmtTick(v: number): string {
  if (v === 0) return '0';
  if (Math.abs(v) >= 1e4 || Math.abs(v) < 1e-2) return v.toExponential(1);
  return Number(v.toPrecision(3)).toString();
}

/** Largest heatmap drawn, in cells per axis (larger maps are max-pooled down, as in the terminal). */
export const HEATMAP_MAX_CELLS = 64;

/** Colour of |error| = t * max on a white-to-dark-red scale (t in [0, 1]). */
export function heatColor(t: number): string {
  const stops: [number, number, number][] = [
    [255, 247, 236],
    [253, 187, 132],
    [239, 101, 72],
    [179, 0, 0],
    [103, 0, 13],
  ];
  const u = Math.min(1, Math.max(0, t)) * (stops.length - 1);
  const k = Math.min(stops.length - 2, Math.floor(u));
  const f = u - k;
  const c = stops[k].map((a, j) => Math.round(a + (stops[k + 1][j] - a) * f));
  return `#${c.map((v) => v.toString(16).padStart(2, '0')).join('')}`;
}

/**
 * A heatmap of |analytic - numeric| over (rows, columns) as SVG: one `rect.cell` per cell
 * (`rect.cell.missing` where nothing was evaluated), each with a tooltip, a frame, axis names
 * and a colour scale. Maps wider or taller than HEATMAP_MAX_CELLS are max-pooled.
 */
export function heatmapSvg(values: (number | null)[][], opts: { title: string; rowAxis?: string; colAxis?: string }): string {
  const rows = values.length;
  const cols = rows ? values[0].length : 0;
  const { grid, block, max } = poolHeatmap(values, HEATMAP_MAX_CELLS);
  const gr = grid.length;
  const gc = gr ? grid[0].length : 0;
  const cell = Math.max(6, Math.min(24, Math.floor(320 / Math.max(gr, gc, 1))));
  const left = 34;
  const top = 34;
  const mapW = gc * cell;
  const mapH = gr * cell;
  const legendY = top + mapH + 26;
  const width = Math.max(left + mapW + 10, 260);
  const height = legendY + 38;
  const rowAxis = opts.rowAxis ?? 'h';
  const colAxis = opts.colAxis ?? 'w';
  const p: string[] = [];
  p.push(`<svg class="heatmap" role="img" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">`);
  p.push(`<title>${esc(opts.title)}</title>`);
  p.push(`<text x="0" y="12" font-weight="600">${esc(opts.title)}</text>`);
  p.push(`<text x="${left}" y="${top - 6}">${esc(`${colAxis} → (${cols})`)}</text>`);
  p.push(`<text x="${left - 6}" y="${top + 10}" text-anchor="end">${esc(rowAxis)}</text>`);
  p.push(`<text x="${left - 6}" y="${top + 22}" text-anchor="end">↓</text>`);
  grid.forEach((row, i) => {
    row.forEach((c, j) => {
      const where = block === 1 ? `(${rowAxis} ${c.r0}, ${colAxis} ${c.c0})` : `(${rowAxis} ${c.r0}-${c.r1}, ${colAxis} ${c.c0}-${c.c1}, largest)`;
      const fill = c.v === null ? '#d0d7de' : heatColor(max > 0 ? c.v / max : 0);
      const tip = c.v === null ? `${where}: not evaluated` : `${where}: |error| ${fmtErr(c.v)}`;
      p.push(
        `<rect class="cell${c.v === null ? ' missing' : ''}" x="${left + j * cell}" y="${top + i * cell}" width="${cell}" height="${cell}" fill="${fill}"><title>${esc(tip)}</title></rect>`,
      );
    });
  });
  p.push(`<rect class="frame" x="${left}" y="${top}" width="${mapW}" height="${mapH}"/>`);
  // Colour scale: ten swatches from 0 to the largest |error|.
  const sw = 16;
  for (let k = 0; k < 10; k++) p.push(`<rect class="swatch" x="${left + k * sw}" y="${legendY}" width="${sw}" height="10" fill="${heatColor(k / 9)}"/>`);
  p.push(`<text x="${left}" y="${legendY + 24}">0</text>`);
  p.push(`<text x="${left + 10 * sw}" y="${legendY + 24}" text-anchor="end">${esc(fmtErr(max))}</text>`);
  p.push(`<text x="${left + 10 * sw + 8}" y="${legendY + 9}">|error|${block > 1 ? esc(`, ${block}x${block} max-pooled`) : ''}</text>`);
  p.push('</svg>');
  return p.join('\n');
}

// ---------------------------------------------------------------------------------------------
// Sections

function coverage(g: ImplGradientRow): string {
  const parts: string[] = [g.mode];
  if (g.mode !== 'full') parts.push(`${g.checked}/${g.total} el`);
  if (g.directional) parts.push(`${g.directional.count} dir`);
  return parts.join(', ');
}

/** Where a gradient or compared array is wrong: the count, worst elements, groups, heatmaps, hint. */
function whereHtml(loc: Localization, input: string, threshold: number, labels: { title: string; analytic: string; numeric: string }, id: string): string {
  const out: string[] = [`<div class="localization" id="${esc(id)}">`];
  if (loc.total === 0) {
    if (loc.hint) out.push(`<p class="hint">hint: ${esc(loc.hint.message)}</p>`);
    out.push('</div>');
    return out.join('\n');
  }
  const wrong = failingCount(loc);
  out.push(
    `<h4>${esc(labels.title)} <span class="note">(${loc.checked} of ${loc.total} elements evaluated${wrong !== undefined ? esc(`; ${wrong} wrong`) : ''})</span></h4>`,
  );
  if (loc.hint) out.push(`<p class="hint">hint: ${esc(loc.hint.message)}</p>`);
  if (loc.top.length) {
    out.push(
      table(
        'top',
        ['element', labels.analytic, labels.numeric, 'abs error', 'rel error'],
        loc.top.map((e) => ({
          cells: [
            indexText(e.index),
            { text: fmtVal(e.analytic), num: true },
            { text: fmtVal(e.numeric), num: true },
            { text: fmtErr(e.absError), num: true },
            { text: fmtErr(e.relError), num: true },
          ],
        })),
      ),
    );
  }
  const [sampleName, channelName] = groupLabels(input);
  const groups = (label: string, gs: typeof loc.perSample) =>
    gs.length
      ? `<p>${esc(label)} (max rel error; ${gs.filter((s) => s.failing > 0).length} of ${gs.length} fail): ${gs
          .slice(0, 32)
          .map((s) => `<span class="${s.maxRelError > threshold ? 'fail' : ''}">${s.index}:${esc(fmtErr(s.maxRelError))}</span>`)
          .join(' ')}${gs.length > 32 ? ' …' : ''}</p>`
      : '';
  out.push(groups(sampleName, loc.perSample), groups(channelName, loc.perChannel));
  if (loc.border && loc.interior) {
    out.push(
      `<p>border (first/last rows and columns): max rel ${esc(fmtErr(loc.border.maxRelError))}, ${loc.border.failing} of ${loc.border.count} fail; interior: max rel ${esc(fmtErr(loc.interior.maxRelError))}, ${loc.interior.failing} of ${loc.interior.count} fail</p>`,
    );
  }
  if (loc.heatmap)
    out.push(heatmapsHtml(labels.title.replace(/^where /, '').replace(/ (is wrong|differs from the reference)$/, ''), loc.heatmap, loc.aligned?.shift));
  out.push('</div>');
  return out.join('\n');
}

/** Where a failing gradient is wrong. */
function localizationHtml(g: ImplGradientRow, id: string): string {
  if (!g.localization) return '';
  return whereHtml(g.localization, g.input, g.threshold, { title: `where ${g.impl} ${g.name} is wrong`, analytic: 'analytic', numeric: 'numeric' }, id);
}

/** Where each failing array of a comparison is wrong; `who` names the judged side. */
function arrayLocalizationsHtml(arrays: ArrayReport[], who: string, id: string): string {
  return arrays
    .map((a, k) =>
      !a.pass && a.localization
        ? whereHtml(
            a.localization,
            arrayInput(a.name),
            a.threshold,
            { title: `where ${who} ${a.name} differs from the reference`, analytic: who, numeric: 'reference' },
            `${id}-${k}`,
          )
        : '',
    )
    .filter(Boolean)
    .join('\n');
}

function heatmapsHtml(what: string, h: Heatmap, shift?: [number, number]): string {
  const maps = [heatmapSvg(h.values, { title: `|error| of ${what} at (${h.n}, ${h.c})` })];
  if (h.aligned) maps.push(heatmapSvg(h.aligned, { title: `the same after aligning by the shift (${(shift ?? []).join(', ')})` }));
  return `<div class="maps">${maps.join('\n')}</div>`;
}

/** One check: settings, problems, gradient table, error chart, failures located, timing. */
function checkHtml(c: ReportedCheck, idx: number): string {
  const r: LayerCheckReport = c.report;
  const out: string[] = [];
  // The layer and params, unless the check's name (its heading, or the page's title) says just that.
  const what = `${r.layer}  ${paramsText(r.params)}`;
  const named = c.name.replace(/\s+/g, ' ') === what.replace(/\s+/g, ' ').trim();
  out.push(
    `<p class="meta">${named ? '' : `${esc(what)}<br>`}${esc(`shapes: ${shapesText(r.shapes)}`)}<br>${esc(`dtype ${r.dtype}  seed ${r.seed}  h ${fmtNum(r.h)}  check mode ${r.mode}  budget ${r.budget} s`)}${c.seconds !== undefined ? esc(`  time ${fmtSeconds(c.seconds)} s`) : ''}</p>`,
  );
  for (const p of r.problems) out.push(`<p class="problem">FAIL: ${esc(p)}</p>`);
  if (r.gradients.length) {
    out.push(
      table(
        'gradients',
        ['impl', 'gradient', 'rel error', 'max abs error', 'worst element (analytic / numeric)', 'threshold', 'checked', 'status'],
        r.gradients.map((g) => ({
          cls: g.pass ? undefined : 'fail',
          cells: [
            g.impl,
            g.name,
            { text: fmtErr(g.relError), num: true },
            { text: fmtErr(g.maxAbsError), num: true },
            worstText(g),
            { text: fmtErr(g.threshold), num: true },
            coverage(g),
            // A row that compared nothing says so instead of pass.
            g.unchecked && g.pass
              ? { html: `<span class="warn">unchecked</span> ${esc(g.unchecked)}`, cls: 'status-warn' }
              : statusCell(g.pass, statusNotes(g)),
          ],
        })),
      ),
    );
    out.push(
      barChart({
        title: 'relative error per gradient, threshold marked',
        unit: 'relative error',
        log: true,
        cls: 'errors',
        bars: r.gradients.map((g) => ({
          label: `${g.impl} ${g.name}`,
          value: g.relError,
          marker: g.threshold,
          cls: g.pass ? undefined : 'fail',
          valueText: fmtErr(g.relError),
        })),
      }),
    );
  }
  (r.comparisons ?? []).forEach((cmp, ci) => {
    out.push(
      `<h4>${esc(`${cmp.impl}${cmp.source ? ` (${cmp.source})` : ''} against the reference (${cmp.reference}), same inputs and dout`)} ${status(cmp.pass)}</h4>`,
    );
    out.push(arraysTable('comparison', cmp.impl, cmp.arrays));
    out.push(arrayLocalizationsHtml(cmp.arrays, cmp.impl, `cmp-${idx}-${ci}`));
  });
  for (const n of r.notes) out.push(`<p class="note">note: ${esc(n)}</p>`);
  r.gradients.forEach((g, k) => {
    if (!g.pass && g.localization) out.push(localizationHtml(g, `loc-${idx}-${k}`));
  });
  if (r.timing.length) {
    out.push(`<h4>timing (median of ${r.timing[0].forwardMs.samples} runs)</h4>`);
    out.push(
      table(
        'timing',
        ['impl', 'forward ms', 'backward ms'],
        r.timing.map((t) => ({
          cells: [t.impl, { text: fmtMs(t.forwardMs.median), num: true }, { text: fmtMs(t.backwardMs.median), num: true }],
        })),
      ),
    );
    out.push(
      barChart({
        title: 'forward and backward time per implementation',
        unit: 'ms, median',
        cls: 'timing',
        bars: r.timing.flatMap((t) => [
          { label: `${t.impl} forward`, value: t.forwardMs.median, valueText: `${fmtMs(t.forwardMs.median)} ms` },
          { label: `${t.impl} backward`, value: t.backwardMs.median, cls: 'alt', valueText: `${fmtMs(t.backwardMs.median)} ms` },
        ]),
      }),
    );
  }
  return out.join('\n');
}

function checksSection(s: NonNullable<RunReport['checks']>): string {
  const out: string[] = [`<section class="checks">`, `<h2>${esc(s.title)}</h2>`];
  if (s.summary) {
    const failed = s.items.filter((c) => !c.report.pass).length;
    const grads = s.items.reduce((n, c) => n + c.report.gradients.length, 0);
    const failedGrads = s.items.reduce((n, c) => n + c.report.gradients.filter((g) => !g.pass).length, 0);
    const total = s.items.reduce((n, c) => n + (c.seconds ?? 0), 0);
    out.push(
      `<p>${badge(failed === 0)} ${esc(`${s.items.length} checks, ${failed} failed; ${grads} gradients, ${failedGrads} failed; ${fmtSeconds(total)} s`)}</p>`,
    );
    out.push(
      table(
        'summary',
        ['#', 'check', 'gradients', 'worst rel error', 'threshold', 'time s', 'status'],
        s.items.map((c, i) => {
          const r = c.report;
          const bad = r.gradients.filter((g) => !g.pass).length;
          const worst = worstGradient(r.gradients);
          return {
            cls: r.pass ? undefined : 'fail',
            cells: [
              { text: String(i + 1), num: true },
              { html: `<a href="#check-${i}">${esc(c.name)}</a>` },
              bad ? `${bad} of ${r.gradients.length} fail` : `${r.gradients.length} pass`,
              worst ? `${fmtErr(worst.relError)} (${worst.impl} ${worst.name})` : '-',
              { text: worst ? fmtErr(worst.threshold) : '-', num: true },
              { text: fmtSeconds(c.seconds), num: true },
              statusCell(r.pass, r.problems.length ? `(${r.problems.length} problem${r.problems.length === 1 ? '' : 's'})` : ''),
            ],
          };
        }),
      ),
    );
    out.push(
      barChart({
        title: 'time per check',
        unit: 's',
        cls: 'timing',
        log: false,
        bars: s.items.map((c, i) => ({
          label: `${i + 1} ${c.name}`,
          value: c.seconds ?? 0,
          cls: c.report.pass ? undefined : 'fail',
          valueText: `${fmtSeconds(c.seconds)} s`,
        })),
      }),
    );
  }
  s.items.forEach((c, i) => {
    const head = `<span id="check-${i}">${esc(s.summary ? `${i + 1}. ${c.name}` : c.name)}</span> ${status(c.report.pass)}`;
    if (s.summary) out.push(`<details class="check"${c.report.pass ? '' : ' open'}><summary>${head}</summary>\n${checkHtml(c, i)}\n</details>`);
    // One check is the page's title already: no heading repeats it.
    else if (s.items.length === 1) out.push(`<div class="check" id="check-${i}">\n${checkHtml(c, i)}\n</div>`);
    else out.push(`<div class="check"><h3>${head}</h3>\n${checkHtml(c, i)}\n</div>`);
  });
  out.push('</section>');
  return out.join('\n');
}

function compareSection(s: NonNullable<RunReport['fixtures']>): string {
  const out: string[] = [`<section class="compare">`, `<h2>${esc(s.title)}</h2>`];
  // The messages name their file already; the path is added only where one does not.
  for (const f of s.invalid) out.push(`<p class="problem">${esc(f.error.startsWith(f.path) ? f.error : `${f.path}: ${f.error}`)}</p>`);
  s.items.forEach((f, fi) => {
    out.push(`<h3>${esc(f.path)} ${status(f.pass)}</h3>`);
    out.push(`<p class="meta">${esc(`${f.layer}  ${paramsText(f.params)}`)}</p>`);
    out.push(arraysTable('arrays', 'fixture', f.arrays));
    if (f.arrays.length) {
      out.push(
        barChart({
          title: `relative error per array of ${f.path}, threshold marked`,
          unit: 'relative error',
          log: true,
          cls: 'errors',
          bars: f.arrays.map((a) => ({
            label: a.name,
            value: a.relError,
            marker: a.threshold,
            cls: a.pass ? undefined : 'fail',
            valueText: fmtErr(a.relError),
          })),
        }),
      );
    }
    out.push(arrayLocalizationsHtml(f.arrays, 'fixture', `fixture-${fi}`));
  });
  out.push('</section>');
  return out.join('\n');
}

function benchLabel(r: BenchResult): string {
  return `${r.layer} ${Object.entries(r.shapes)
    .map(([k, s]) => `${k} ${s.join(',')}`)
    .join(' ')} ${r.impl} ${r.dtype}${r.threads > 1 ? ` ${r.threads}t` : ''}`;
}

function benchSection(s: NonNullable<RunReport['bench']>): string {
  const { report, comparison } = s;
  const m = report.machine;
  const out: string[] = [`<section class="bench">`, `<h2>${esc(s.title)}</h2>`];
  out.push(`<p class="meta">${esc(`${m.cpu}, ${m.cores} cores, node ${m.node}, GEMM ${m.gemm}`)}</p>`);
  const runs = report.results[0]?.forwardMs.samples;
  if (runs !== undefined)
    out.push(
      `<p class="note">${esc(`times in ms: median [min-max] of ${runs} run${runs === 1 ? '' : 's'}; GFLOP/s from the medians; speedup = naive / fast (forward + backward)`)}</p>`,
    );
  const timing = (t: BenchResult['forwardMs']) => `${fmtMs(t.median)} [${fmtMs(t.min)}-${fmtMs(t.max)}]`;
  out.push(
    table(
      'bench',
      ['layer', 'shapes', 'params', 'impl', 'dtype', 'threads', 'forward ms', 'backward ms', 'GFLOP/s fwd / bwd', 'speedup', 'note'],
      report.results.map((r) => ({
        cells: [
          r.layer,
          shapesText(r.shapes),
          paramsText(r.params),
          r.impl,
          r.dtype,
          { text: String(r.threads), num: true },
          { text: timing(r.forwardMs), num: true },
          { text: timing(r.backwardMs), num: true },
          { text: r.gflops ? `${r.gflops.forward.toFixed(2)} / ${r.gflops.backward.toFixed(2)}` : '-', num: true },
          { text: r.speedup !== undefined ? fmtRatio(r.speedup) : '', num: true },
          r.estimatedFrom ? `estimated: timed at batch ${r.estimatedFrom.batch}, scaled` : '',
        ],
      })),
    ),
  );
  for (const n of report.notes) out.push(`<p class="note">note: ${esc(n)}</p>`);
  if (report.results.length) {
    out.push(
      barChart({
        title: 'forward and backward time (median)',
        unit: 'ms',
        cls: 'timing',
        bars: report.results.flatMap((r) => [
          { label: `${benchLabel(r)} forward`, value: r.forwardMs.median, valueText: `${fmtMs(r.forwardMs.median)} ms` },
          { label: `${benchLabel(r)} backward`, value: r.backwardMs.median, cls: 'alt', valueText: `${fmtMs(r.backwardMs.median)} ms` },
        ]),
      }),
    );
  }
  if (comparison) {
    out.push(`<h3>${esc(`baseline ${comparison.file} (allowed slowdown ${comparison.maxSlowdown}x)`)} ${status(comparison.ok)}</h3>`);
    out.push(
      table(
        'baseline',
        ['layer', 'shapes', 'impl', 'dtype', 'threads', 'pass', 'baseline ms', 'current ms', 'ratio', 'status'],
        comparison.rows.map((row) => ({
          cls: row.ok ? undefined : 'fail',
          cells: [
            row.layer,
            shapesText(row.shapes),
            row.impl,
            row.dtype,
            { text: String(row.threads), num: true },
            row.pass,
            { text: fmtMs(row.baselineMs), num: true },
            { text: fmtMs(row.currentMs), num: true },
            { text: `${row.ratio.toFixed(2)}x`, num: true },
            { html: row.ok ? '<span class="pass">ok</span>' : '<span class="fail">SLOWER</span>', cls: row.ok ? 'status-pass' : 'status-fail' },
          ],
        })),
      ),
    );
    if (comparison.unmatched) out.push(`<p class="note">${esc(`${comparison.unmatched} result(s) have no baseline entry`)}</p>`);
  }
  out.push('</section>');
  return out.join('\n');
}

/** The whole page. */
/** Order of statuses in the report card: what to fix first. */
const GRADE_ORDER: Record<string, number> = { error: 0, fail: 1, warn: 2, pass: 3 };

/** `grade`: the summary per layer, the report card (failures first, with hints), each smallest failing case, the timing. */
function gradeSection(g: GradeReport): string {
  const parts: string[] = [`<h2>grade ${esc(g.module)}</h2>`];
  parts.push(
    `<p class="meta">${g.counts.cases} cases in ${g.layers.length} layers${g.quick ? ' (--quick)' : ''}, ${esc(g.seconds.toFixed(1))} s; each failure shrunk for at most ${g.shrinkSeconds} s</p>`,
  );
  parts.push('<ul>', ...g.layers.map((l) => `<li class="${l.pass ? 'pass' : 'fail'}">${esc(l.summary)}</li>`), '</ul>');
  const rows = g.layers.flatMap((l) => l.cases.map((k) => ({ layer: l.layer, k }))).sort((a, b) => GRADE_ORDER[a.k.status] - GRADE_ORDER[b.k.status]);
  parts.push(
    table(
      'grade',
      ['layer', 'function', 'case', 'setup', 'mode', 'status', 'message'],
      rows.map(({ layer, k }) => ({
        cls: k.pass ? undefined : 'fail',
        cells: [
          layer,
          k.function,
          k.name,
          `${caseSetupText(k.shapes, k.params)}; ${k.inputs}; ${k.dtype}`,
          k.mode,
          {
            html:
              k.status === 'pass'
                ? status(true)
                : k.status === 'warn'
                  ? '<span class="warn">warn</span>'
                  : `<span class="fail">${k.status === 'error' ? 'ERROR' : 'FAIL'}</span>`,
            cls: `status-${k.pass ? (k.status === 'warn' ? 'warn' : 'pass') : 'fail'}`,
          },
          {
            html: [
              esc(k.message),
              ...(k.hint ? [`<span class="hint">hint: ${esc(k.hint)}</span>`] : []),
              ...k.warnings.map((w) => `<span class="warn">${esc(w)}</span>`),
            ]
              .filter(Boolean)
              .join('<br>'),
          },
        ],
      })),
    ),
  );
  for (const { layer, k } of rows) {
    const s = k.shrunk;
    if (!s || 'sameAs' in s) continue;
    const body = [
      `${caseSetupText(s.shapes, s.params)}${s.integer ? '; integer values' : ''}: ${s.message}`,
      ...s.arrays.map((a) => `${a.role === 'yours' || a.role === 'reference' ? `${a.name}, ${a.role}` : a.name} = ${arrayText(a.values, a.shape)}`),
      ...(s.fixture ? [`fixture: ${s.fixture}`] : []),
    ].join('\n');
    parts.push(
      `<details><summary>smallest failing case of ${esc(`${layer} ${k.function} ${k.name}`)} (shrunk in ${esc(s.seconds.toFixed(2))} s)</summary><pre>${esc(body)}</pre></details>`,
    );
  }
  const timed = g.layers.flatMap((l) => l.implementations.filter((f) => f.timing).map((f) => ({ layer: l.layer, f })));
  if (timed.length) {
    const ms = (x?: { forwardMs: number; backwardMs: number }): Cell => ({
      text: x ? `${fmtMs(x.forwardMs)} / ${Number.isNaN(x.backwardMs) ? '-' : fmtMs(x.backwardMs)}` : '-',
      num: true,
    });
    parts.push('<h3>timing at a mid shape (forward / backward ms, median)</h3>');
    parts.push(
      table(
        'timing',
        ['layer', 'function', 'shape', 'yours', 'naive', 'fast'],
        timed.map(({ layer, f }) => ({
          cells: [layer, f.name, shapesText(f.timing!.shapes), ms(f.timing!.yours), ms(f.timing!.naive), ms(f.timing!.fast)],
        })),
      ),
    );
  }
  for (const n of g.notes) parts.push(`<p class="note">${esc(n)}</p>`);
  return parts.join('\n');
}

export function renderHtmlReport(r: RunReport): string {
  const sections = [
    ...(r.grade ? [gradeSection(r.grade)] : []),
    ...(r.checks ? [checksSection(r.checks)] : []),
    ...(r.fixtures ? [compareSection(r.fixtures)] : []),
    ...(r.bench ? [benchSection(r.bench)] : []),
  ];
  return [
    '<!DOCTYPE html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    `<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">`,
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<meta name="generator" content="cnn-check">`,
    `<title>${esc(r.title)}</title>`,
    `<style>${CSS}</style>`,
    '</head>',
    '<body>',
    `<header><h1>${esc(r.title)} ${badge(r.pass)}</h1>`,
    ...r.meta.map((line) => `<p class="meta">${esc(line)}</p>`),
    '</header>',
    '<main>',
    ...sections,
    '</main>',
    '</body>',
    '</html>',
    '',
  ].join('\n');
}
