/**
 * The suite runner: each validated check runs as its layer command (or `compare`) would, and the
 * results come back as plain data with a summary per check. Nothing is printed here.
 *
 * A run may be one shard of the suite (`shard`), may apply one user module to every layer entry
 * it implements (`impl`), and may stop starting checks once `maxTime` would be exceeded: the
 * checks not run are named in the report and fail the run.
 */
import { isAbsolute, resolve } from 'node:path';
import { CnnCheckError, ImplMissingError, UsageError } from '../errors.js';
import type { Params, Shapes } from '../layers/types.js';
import type { CheckProgress, ImplGradientRow, LayerCheckReport } from '../gradcheck/check-layer.js';
import type { CheckMode } from '../settings/schema.js';
import type { DType } from '../tensor/tensor.js';
import { ModuleSet } from '../impls/registry.js';
import { runCheckRequest, type RunOptions } from '../request/request.js';
import { compareFixture, type FixtureReport } from '../fixtures/compare.js';
import { parseFixture } from '../fixtures/contract.js';
import { loadMembers } from '../fixtures/load.js';
import type { FixtureSuiteCheck, LayerSuiteCheck, SuiteCheck } from './schema.js';
import { shardChecks, type Shard } from './shard.js';
import { requireMemory } from '../memory/estimate.js';
import { memoryLimit } from '../memory/limit.js';
import { describeCase, estimateCheckMemory, inSequence } from '../memory/work.js';

/** The gradient (or array) that came closest to (or furthest past) its threshold. */
export interface WorstGradient {
  impl: string;
  name: string;
  relError: number;
  threshold: number;
}

/** One check of a suite: what it was, a summary, and the full report. */
export interface SuiteCheckResult {
  /** Position among the suite's checks, and of the entry it came from, 0-based. */
  index: number;
  entry: number;
  name: string;
  kind: 'layer' | 'fixture';
  layer: string;
  params: Params;
  shapes: Shapes;
  dtype: DType | string;
  /** The check mode; `compare` for a fixture. */
  checkMode: CheckMode | 'compare';
  pass: boolean;
  /** Gradient rows (fixtures: arrays) checked, and how many failed. */
  gradients: number;
  failed: number;
  /** The row with the largest relError / threshold; null when nothing was checked. */
  worst: WorstGradient | null;
  /** Wall-clock seconds the check took. */
  seconds: number;
  /** A layer check's report. */
  report?: LayerCheckReport;
  /** A fixture's comparison with the reference. */
  fixture?: FixtureReport;
  /** Why a fixture could not be compared (unreadable or invalid: the run exits 2). */
  error?: string;
}

/** A check the run did not start (`maxTime`). */
export interface SkippedCheck {
  index: number;
  name: string;
  estimate: number;
}

/** What `runSuite` returns (also the `suite --json` document, which `merge-reports` reads). */
export interface SuiteReport {
  /** The suite file, or `default` for the built-in suite. */
  source: string;
  pass: boolean;
  /** Checks in the whole suite (all shards). */
  total: number;
  /** This run's shard, when the suite was sharded. */
  shard?: Shard;
  /** Checks that failed, gradient rows in all and gradient rows that failed. */
  failedChecks: number;
  gradients: number;
  failedGradients: number;
  /** Fixtures that could not be read or are invalid. */
  invalid: number;
  /** The run's estimated seconds (cost.ts), and the measured ones. */
  estimate: number;
  seconds: number;
  checks: SuiteCheckResult[];
  /** Checks not started because `maxTime` would have been exceeded. */
  notRun: SkippedCheck[];
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
  /** Run this shard only. */
  shard?: Shard;
  /** A user module applied to every layer entry without its own `impl` whose layer it implements. */
  impl?: string;
  /** Seconds after which no further check starts (those left are reported as not run, and fail the run). */
  maxTime?: number;
}

/** The row with the largest relError / threshold (NaN and Infinity first). */
export function worstGradient(rows: Pick<ImplGradientRow, 'impl' | 'name' | 'relError' | 'threshold'>[]): WorstGradient | null {
  let worst: (typeof rows)[number] | null = null;
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

/** Run one validated layer check as its layer command would. */
export function runCheck(c: LayerSuiteCheck, opts: RunOptions = {}): LayerCheckReport {
  return runCheckRequest(c.request, opts);
}

/** Compare one fixture as `compare` would; a user error is the fixture's result, not the run's end. */
export function runFixtureCheck(c: FixtureSuiteCheck): { fixture?: FixtureReport; error?: string } {
  try {
    return { fixture: compareFixture(parseFixture(c.shown, loadMembers(c.path, { maxBytes: c.maxBytes })), { maxError: c.maxError, maxMemory: c.maxMemory }) };
  } catch (err) {
    if (err instanceof CnnCheckError) return { error: err.message };
    throw err;
  }
}

/** `c` with the suite-wide module applied when it has none and the module implements its layer; `c` otherwise. */
function withSuiteImpl(c: LayerSuiteCheck, impl: string | undefined, modules: ModuleSet, log: RunSuiteOptions['log']): LayerSuiteCheck {
  if (impl === undefined || c.request.settings.impl !== undefined) return c;
  const path = isAbsolute(impl) ? impl : resolve(impl);
  const opts = { timeout: c.request.settings.timeout, label: `suite --impl ${impl}`, log: (line: string) => log?.(impl.replace(/^.*[\\/]/, ''), line) };
  const layers = modules.module(path, opts).layers?.();
  if (layers === undefined) {
    throw new UsageError(
      `suite --impl ${impl}: the module does not say which layer it implements: add export const layer = '${c.request.spec.name}' (or name it in the entries' "impl" field)`,
    );
  }
  if (!layers.includes(c.request.spec.name)) return c;
  try {
    modules.implementations(path, c.request.spec, opts);
  } catch (err) {
    if (err instanceof ImplMissingError) return c;
    throw err;
  }
  return { ...c, request: { ...c.request, settings: { ...c.request.settings, impl: path } } };
}

/**
 * Refuse (MemoryLimitError) before anything runs a layer check of `checks` whose estimated memory
 * exceeds its maxMemory, as the checks run one after another in this process: with the workspace
 * the kernels kept from the checks before it, and with the suite-wide module (`impl`) on every
 * entry without its own. Each entry alone was held to its limit when the suite was read.
 */
export function requireSuiteMemory(checks: SuiteCheck[], source: string, impl?: string): void {
  const layer = checks.filter((c): c is LayerSuiteCheck => c.kind === 'layer');
  const estimates = inSequence(layer.map((c) => estimateCheckMemory(c.request, { external: c.request.settings.impl !== undefined || impl !== undefined })));
  layer.forEach((c, k) => {
    const r = c.request;
    const what = `${source}[${c.entry}] (${c.name}): ${describeCase(r.spec, r.params, r.shapes)}: its check${impl !== undefined && r.settings.impl === undefined ? ` with suite --impl ${impl}` : ''}`;
    requireMemory(what, estimates[k], memoryLimit(r.settings.maxMemory, 'maxMemory'));
  });
}

/** Run the checks (of one shard, when asked) in order and summarize. */
export function runSuite(all: SuiteCheck[], source: string, opts: RunSuiteOptions = {}): SuiteReport {
  const now = opts.now ?? (() => performance.now());
  const t0 = now();
  const checks = opts.shard ? shardChecks(all, opts.shard) : all;
  requireSuiteMemory(checks, source, opts.impl);
  const results: SuiteCheckResult[] = [];
  const notRun: SkippedCheck[] = [];
  const modules = new ModuleSet();
  try {
    checks.forEach((c, i) => {
      if (notRun.length || (opts.maxTime !== undefined && (now() - t0) / 1000 + c.estimate > opts.maxTime)) {
        notRun.push({ index: c.index, name: c.name, estimate: c.estimate });
        return;
      }
      const progress = (check?: CheckProgress) => opts.onProgress?.({ index: i + 1, total: checks.length, name: c.name, check });
      progress();
      const start = now();
      if (c.kind === 'fixture') {
        const r = runFixtureCheck(c);
        const arrays = r.fixture?.arrays ?? [];
        results.push({
          index: c.index,
          entry: c.entry,
          name: c.name,
          kind: 'fixture',
          layer: r.fixture?.layer ?? '-',
          params: (r.fixture?.params ?? {}) as Params,
          shapes: {},
          dtype: arrays[0]?.dtype ?? '-',
          checkMode: 'compare',
          pass: r.fixture?.pass ?? false,
          gradients: arrays.length,
          failed: arrays.filter((a) => !a.pass).length,
          worst: worstGradient(arrays.map((a) => ({ impl: 'fixture', name: a.name, relError: a.relError, threshold: a.threshold }))),
          seconds: (now() - start) / 1000,
          ...r,
        });
        return;
      }
      const check = withSuiteImpl(c, opts.impl, modules, opts.log);
      const report = runCheck(check, { onProgress: opts.onProgress ? progress : undefined, modules, log: opts.log });
      results.push({
        index: c.index,
        entry: c.entry,
        name: c.name,
        kind: 'layer',
        layer: c.request.spec.name,
        params: report.params,
        shapes: report.shapes,
        dtype: report.dtype,
        checkMode: report.mode,
        pass: report.pass,
        gradients: report.gradients.length,
        failed: report.gradients.filter((g) => !g.pass).length,
        worst: worstGradient(report.gradients),
        seconds: (now() - start) / 1000,
        report,
      });
    });
  } finally {
    modules.closeAll();
  }
  const failedChecks = results.filter((r) => !r.pass).length;
  return {
    source,
    pass: failedChecks === 0 && notRun.length === 0,
    total: all.length,
    ...(opts.shard ? { shard: opts.shard } : {}),
    failedChecks,
    gradients: results.reduce((s, r) => s + r.gradients, 0),
    failedGradients: results.reduce((s, r) => s + r.failed, 0),
    invalid: results.filter((r) => r.error !== undefined).length,
    estimate: checks.reduce((s, c) => s + c.estimate, 0),
    seconds: (now() - t0) / 1000,
    checks: results,
    notRun,
  };
}
