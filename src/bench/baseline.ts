/**
 * Saved benchmark reports and baselines: reading a report back (distrusting its contents),
 * writing one without clobbering, and comparing medians against a baseline.
 */
import { FormatError } from '../errors.js';
import { readTextFile } from '../fs/read.js';
import { checkOutputPath, writeFileAtomic } from '../fs/write.js';
import { showJson } from '../text/escape.js';
import { parseUntrustedJson } from '../text/json.js';
import type { Params, Shapes } from '../layers/types.js';
import type { DType } from '../tensor/tensor.js';
import { caseKey, type BenchResult } from './run.js';

/** The fields of a saved result that a baseline comparison needs. */
export type BaselineResult = Pick<BenchResult, 'layer' | 'impl' | 'dtype' | 'threads' | 'shapes' | 'params'> & {
  forwardMs: { median: number };
  backwardMs: { median: number };
};

/** One compared median. */
export interface BaselineRow {
  layer: string;
  impl: string;
  dtype: DType;
  threads: number;
  shapes: Shapes;
  params: Params;
  pass: 'forward' | 'backward';
  baselineMs: number;
  currentMs: number;
  /** currentMs / baselineMs. */
  ratio: number;
  ok: boolean;
}

/** The comparison of a run against a baseline file. */
export interface BaselineComparison {
  file: string;
  maxSlowdown: number;
  rows: BaselineRow[];
  /** Current results with no baseline entry (same layer, impl, dtype, threads, shapes, params). */
  unmatched: number;
  ok: boolean;
}

/** Key of a result for matching against a baseline. */
function resultKey(r: Pick<BenchResult, 'layer' | 'impl' | 'dtype' | 'threads' | 'shapes' | 'params'>): string {
  return `${caseKey(r)}|${r.impl}|${r.threads}`;
}

/** Compare medians: a row fails when current > maxSlowdown x baseline. */
export function compareToBaseline(current: BenchResult[], baseline: BaselineResult[], maxSlowdown: number, file: string): BaselineComparison {
  const byKey = new Map(baseline.map((b) => [resultKey(b), b]));
  const rows: BaselineRow[] = [];
  let unmatched = 0;
  for (const r of current) {
    const b = byKey.get(resultKey(r));
    if (!b) {
      unmatched++;
      continue;
    }
    for (const pass of ['forward', 'backward'] as const) {
      const baselineMs = pass === 'forward' ? b.forwardMs.median : b.backwardMs.median;
      const currentMs = pass === 'forward' ? r.forwardMs.median : r.backwardMs.median;
      const ratio = currentMs / baselineMs;
      rows.push({
        layer: r.layer,
        impl: r.impl,
        dtype: r.dtype,
        threads: r.threads,
        shapes: r.shapes,
        params: r.params,
        pass,
        baselineMs,
        currentMs,
        ratio,
        ok: ratio <= maxSlowdown,
      });
    }
  }
  return { file, maxSlowdown, rows, unmatched, ok: rows.every((row) => row.ok) };
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Largest baseline file read, in bytes. A report of every layer and dtype is tens of KiB; 16 MiB
 * is far above any honest one, and bounds what a device or a wrong path can make us read.
 */
export const MAX_BASELINE_BYTES = 16 * 2 ** 20;

/** Read a report written by `cnn-check bench --json`/`--save`; FileError/FormatError name the file and field. */
export function readBenchReport(file: string): BaselineResult[] {
  const text = readTextFile(file, {
    label: file,
    expected: 'a JSON report from cnn-check bench --json',
    cannotRead: 'the baseline',
    maxBytes: MAX_BASELINE_BYTES,
  });
  const doc = parseUntrustedJson(text, (reason) => {
    throw new FormatError(`${file}: expected a JSON report from cnn-check bench --json, got text that is not JSON (${reason})`);
  });
  if (!isObject(doc) || !Array.isArray(doc.results)) {
    throw new FormatError(`${file}: expected an object with a "results" array, got ${Array.isArray(doc) ? 'an array' : typeof doc}`);
  }
  return doc.results.map((r: unknown, i: number) => parseResult(r, `${file}: results[${i}]`));
}

function parseResult(r: unknown, where: string): BaselineResult {
  if (!isObject(r)) throw new FormatError(`${where}: expected an object, got ${showJson(r)}`);
  const fail = (field: string, expected: string): never => {
    throw new FormatError(`${where}.${field}: expected ${expected}, got ${showJson(r[field.split('.')[0]])}`);
  };
  if (typeof r.layer !== 'string') fail('layer', 'a layer name');
  // Any implementation's name: the layers' own (naive, fast) or a user's module (user, ...).
  if (typeof r.impl !== 'string' || r.impl === '' || r.impl.length > 200) fail('impl', 'an implementation name such as "fast"');
  if (r.dtype !== 'float32' && r.dtype !== 'float64') fail('dtype', '"float32" or "float64"');
  if (!Number.isInteger(r.threads) || (r.threads as number) < 1) fail('threads', 'an integer >= 1');
  if (!isObject(r.shapes) || !Object.values(r.shapes).every((s) => Array.isArray(s) && s.every((d) => Number.isInteger(d) && d > 0))) {
    fail('shapes', 'an object of shapes');
  }
  if (r.params !== undefined && !isObject(r.params)) fail('params', 'an object');
  for (const pass of ['forwardMs', 'backwardMs']) {
    const t = r[pass];
    if (!isObject(t) || typeof t.median !== 'number' || !(t.median > 0) || !Number.isFinite(t.median))
      fail(`${pass}.median`, 'a positive number of milliseconds');
  }
  return {
    layer: r.layer as string,
    impl: r.impl as string,
    dtype: r.dtype as DType,
    threads: r.threads as number,
    shapes: r.shapes as Shapes,
    params: (r.params ?? {}) as Params,
    forwardMs: { median: (r.forwardMs as { median: number }).median },
    backwardMs: { median: (r.backwardMs as { median: number }).median },
  };
}

/**
 * Throws FileError when `file` cannot be written: it exists and `force` is not set, or its
 * directory is missing or refuses new files (checked before a long run).
 */
export function refuseOverwrite(file: string, force: boolean, flag = '--save'): void {
  checkOutputPath(file, { replace: force, flag });
}

/**
 * Write `text` to `file` atomically (fs/write.ts): a reader never sees half a report, and
 * without `force` an existing file is never replaced, even one created meanwhile.
 */
export function saveReport(file: string, text: string, force: boolean, flag = '--save'): void {
  writeFileAtomic(file, text, { replace: force, flag });
}
