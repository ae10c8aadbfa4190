/**
 * The suite runner: each validated check runs as its layer command would (`checkLayer`), and
 * the results come back as plain data with a summary per check. Nothing is printed here.
 */
import type { Params, Shapes } from '../layers/types.js';
import type { CheckProgress, ImplGradientRow, LayerCheckReport } from '../gradcheck/check-layer.js';
import type { CheckMode } from '../settings/schema.js';
import type { DType } from '../tensor/tensor.js';
import { ModuleSet } from '../impls/registry.js';
import { runCheckRequest, type RunOptions } from '../request/request.js';
import type { SuiteCheck } from './schema.js';

/** The gradient that came closest to (or furthest past) its threshold. */
export interface WorstGradient {
  impl: string;
  name: string;
  relError: number;
  threshold: number;
}

/** One check of a suite: its settings, a summary and the full report of the layer check. */
export interface SuiteCheckResult {
  index: number;
  name: string;
  layer: string;
  params: Params;
  shapes: Shapes;
  dtype: DType;
  checkMode: CheckMode;
  pass: boolean;
  /** Gradient rows checked, and how many failed. */
  gradients: number;
  failed: number;
  /** The row with the largest relError / threshold; null when no gradient was checked. */
  worst: WorstGradient | null;
  /** Wall-clock seconds the check took. */
  seconds: number;
  report: LayerCheckReport;
}

/** What `runSuite` returns (also the `suite --json` document, with `source`). */
export interface SuiteReport {
  /** The suite file, or `default` for the built-in suite. */
  source: string;
  pass: boolean;
  /** Checks that failed, gradient rows in all and gradient rows that failed. */
  failedChecks: number;
  gradients: number;
  failedGradients: number;
  seconds: number;
  checks: SuiteCheckResult[];
}

/** Progress of a suite: the check running (1-based) and, within it, the gradient. */
export interface SuiteProgress {
  index: number;
  total: number;
  name: string;
  check?: CheckProgress;
}

export interface RunSuiteOptions {
  onProgress?: (p: SuiteProgress) => void;
  /** Receives a user module's own output, one line at a time, with the module's file name. */
  log?: (module: string, line: string) => void;
  /** Clock in milliseconds (default performance.now). */
  now?: () => number;
}

/** The row with the largest relError / threshold (NaN and Infinity first). */
export function worstGradient(rows: ImplGradientRow[]): WorstGradient | null {
  let worst: ImplGradientRow | null = null;
  let worstRatio = -Infinity;
  for (const g of rows) {
    const ratio = Number.isNaN(g.relError) ? Infinity : g.relError / g.threshold;
    if (worst === null || ratio > worstRatio) {
      worst = g;
      worstRatio = ratio;
    }
  }
  return worst && { impl: worst.impl, name: worst.name, relError: worst.relError, threshold: worst.threshold };
}

/** Run one validated check as its layer command would. */
export function runCheck(c: SuiteCheck, opts: RunOptions = {}): LayerCheckReport {
  return runCheckRequest(c.request, opts);
}

/** Run every check in order and summarize; user modules the entries name are opened once for the run. */
export function runSuite(checks: SuiteCheck[], source: string, opts: RunSuiteOptions = {}): SuiteReport {
  const now = opts.now ?? (() => performance.now());
  const t0 = now();
  const results: SuiteCheckResult[] = [];
  const modules = new ModuleSet();
  try {
    checks.forEach((c, i) => {
      const progress = (check?: CheckProgress) => opts.onProgress?.({ index: i + 1, total: checks.length, name: c.name, check });
      progress();
      const start = now();
      const report = runCheck(c, { onProgress: opts.onProgress ? progress : undefined, modules, log: opts.log });
      const failed = report.gradients.filter((g) => !g.pass).length;
      results.push({
        index: c.index, name: c.name, layer: c.request.spec.name, params: report.params, shapes: report.shapes,
        dtype: report.dtype, checkMode: report.mode, pass: report.pass, gradients: report.gradients.length, failed,
        worst: worstGradient(report.gradients), seconds: (now() - start) / 1000, report,
      });
    });
  } finally {
    modules.closeAll();
  }
  const failedChecks = results.filter((r) => !r.pass).length;
  return {
    source,
    pass: failedChecks === 0,
    failedChecks,
    gradients: results.reduce((s, r) => s + r.gradients, 0),
    failedGradients: results.reduce((s, r) => s + r.failed, 0),
    seconds: (now() - t0) / 1000,
    checks: results,
  };
}
