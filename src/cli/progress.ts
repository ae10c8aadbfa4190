/**
 * Progress lines on a terminal stream (stderr): drawn in place after a delay, redrawn at most
 * every interval, erased when done. The CLI creates them only when the stream is a terminal.
 */
import { painter } from '../report/terminal.js';
import type { CheckProgress } from '../gradcheck/check-layer.js';
import type { SuiteProgress } from '../suite/run.js';
import type { OutStream } from './io.js';

/** One line of progress: `fast dx: sampled 40/128  3.2 s`. */
export function renderProgress(p: CheckProgress, elapsedMs: number): string {
  return `${p.impl} ${p.gradient}: ${p.phase} ${p.done}/${p.total}  ${(elapsedMs / 1000).toFixed(1)} s`;
}

/**
 * A progress line on a terminal stream, drawn in place once the check has run `delayMs`
 * (default 1 s) and redrawn at most every `intervalMs`; `done` erases it. The caller creates
 * it only for a terminal. `render` draws the line (default: a layer check's, renderProgress).
 * NOTE: the line is cut to `width - 1` (default the stream's columns, else 80): a line that
 * wrapped could not be erased by `\r`, and would leave fragments on the terminal.
 */
export function createProgressLine<P = CheckProgress>(
  stream: OutStream,
  color: boolean,
  opts: { delayMs?: number; intervalMs?: number; now?: () => number; render?: (p: P, elapsedMs: number) => string; width?: number } = {},
): { update: (p: P) => void; done: () => void } {
  const width = Math.max(10, opts.width ?? (stream.isTTY && stream.columns ? stream.columns : 80));
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
      stream.write(`\r${c.dim(cut(render(p, t - start), width - 1))}\u001b[K`);
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

/** `line` cut to `width` characters, the cut marked with …. */
export function cut(line: string, width: number): string {
  const chars = [...line];
  return chars.length <= width ? line : `${chars.slice(0, Math.max(0, width - 1)).join('')}…`;
}

/** One line of suite progress: `[████░░░░] 12/52 conv stride=2 pad=2  fast dx: sampled 40/128  3.2 s` (the caller cuts it to the width). */
export function renderSuiteProgress(p: SuiteProgress, elapsedMs: number): string {
  const where = p.check ? `  ${p.check.impl} ${p.check.gradient}: ${p.check.phase} ${p.check.done}/${p.check.total}` : '';
  return `[${renderBar(p.index - 1, p.total)}] ${p.index}/${p.total} ${(elapsedMs / 1000).toFixed(1)} s  ${p.name}${where}`;
}
