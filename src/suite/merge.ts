/**
 * Joining the shards of a suite (`suite --shard i/n --json`, one document per CI machine) into
 * one report: every check exactly once, in suite order, with one verdict. The documents are
 * cnn-check's own, but files can be mixed up, so each is checked: the same suite, the same
 * number of shards, no shard twice, none missing, no check twice.
 */
import { statSync, readFileSync } from 'node:fs';
import { FileError, FormatError } from '../errors.js';
import { shown } from '../settings/domain.js';
import type { SkippedCheck, SuiteCheckResult, SuiteReport } from './run.js';

/** Largest report file read: a suite's JSON with every localization is a few MiB. */
export const MAX_REPORT_BYTES = 256 * 1024 * 1024;

const NON_FINITE: Record<string, number> = { Infinity, '-Infinity': -Infinity, NaN };

/** JSON.parse for cnn-check documents: "Infinity", "-Infinity" and "NaN" (how --json writes them) become numbers again. */
export function parseReportJson(text: string): unknown {
  return JSON.parse(text, (_key, value) => (typeof value === 'string' && value in NON_FINITE ? NON_FINITE[value] : value));
}

/** Read one `suite --json` document; throws FileError / FormatError naming the file. */
export function readSuiteReport(path: string): SuiteReport {
  let text: string;
  try {
    const st = statSync(path);
    if (!st.isFile()) throw new FileError(`${path}: not a regular file: expected a suite --json report`);
    if (st.size > MAX_REPORT_BYTES) throw new FileError(`${path}: ${st.size} bytes: expected a report of at most ${MAX_REPORT_BYTES} bytes`);
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if (err instanceof FileError) throw err;
    throw new FileError(`${path}: cannot read the report: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  let doc: unknown;
  try {
    doc = parseReportJson(text);
  } catch (err) {
    throw new FormatError(`${path}: not valid JSON: ${(err as Error).message.replace(/\s+/g, ' ')}`);
  }
  const r = doc as Partial<SuiteReport> | null;
  const ok =
    typeof r === 'object' &&
    r !== null &&
    typeof r.source === 'string' &&
    typeof r.total === 'number' &&
    Array.isArray(r.checks) &&
    Array.isArray(r.notRun) &&
    r.checks.every((c) => typeof c === 'object' && c !== null && Number.isInteger(c.index) && typeof c.name === 'string' && typeof c.pass === 'boolean');
  if (!ok) throw new FormatError(`${path}: expected the JSON of cnn-check suite --json (source, total, checks, notRun), got ${shown(doc)}`);
  return r as SuiteReport;
}

/** One report from the shards' reports (`names` name them in messages); throws FormatError when they do not make one suite. */
export function mergeSuiteReports(reports: SuiteReport[], names: string[]): SuiteReport {
  const first = reports[0];
  const count = first.shard?.count ?? 1;
  const seenShards = new Map<number, string>();
  reports.forEach((r, k) => {
    if (r.source !== first.source || r.total !== first.total || (r.shard?.count ?? 1) !== count) {
      throw new FormatError(
        `${names[k]}: a report of ${r.source} (${r.total} checks, ${r.shard?.count ?? 1} shards): expected ${first.source} (${first.total} checks, ${count} shards) as in ${names[0]}`,
      );
    }
    const shard = r.shard?.index ?? 1;
    const other = seenShards.get(shard);
    if (other !== undefined) throw new FormatError(`${names[k]}: shard ${shard}/${count} is also ${other}: expected each shard once`);
    seenShards.set(shard, names[k]);
  });
  const missing = [...Array(count).keys()].map((i) => i + 1).filter((i) => !seenShards.has(i));
  if (missing.length)
    throw new FormatError(
      `merge: shard${missing.length > 1 ? 's' : ''} ${missing.map((i) => `${i}/${count}`).join(', ')} of ${first.source} missing: expected a report of every shard`,
    );
  const byIndex = new Map<number, { name: string; from: string }>();
  const checks: SuiteCheckResult[] = [];
  const notRun: SkippedCheck[] = [];
  reports.forEach((r, k) => {
    for (const c of [...r.checks, ...r.notRun]) {
      const prev = byIndex.get(c.index);
      if (prev) throw new FormatError(`${names[k]}: check ${c.index + 1} (${c.name}) is also in ${prev.from}: expected every check once`);
      byIndex.set(c.index, { name: c.name, from: names[k] });
    }
    checks.push(...r.checks);
    notRun.push(...r.notRun);
  });
  const absent = [...Array(first.total).keys()].filter((i) => !byIndex.has(i));
  if (absent.length)
    throw new FormatError(
      `merge: checks ${absent.map((i) => i + 1).join(', ')} of ${first.source} are in no report: expected the reports of one run of every shard`,
    );
  checks.sort((a, b) => a.index - b.index);
  notRun.sort((a, b) => a.index - b.index);
  const failedChecks = checks.filter((c) => !c.pass).length;
  return {
    source: first.source,
    pass: failedChecks === 0 && notRun.length === 0,
    total: first.total,
    failedChecks,
    gradients: checks.reduce((s, c) => s + c.gradients, 0),
    failedGradients: checks.reduce((s, c) => s + c.failed, 0),
    invalid: checks.filter((c) => c.error !== undefined).length,
    estimate: reports.reduce((s, r) => s + r.estimate, 0),
    // The shards ran side by side: the run took as long as the slowest.
    seconds: Math.max(...reports.map((r) => r.seconds)),
    checks,
    notRun,
  };
}
