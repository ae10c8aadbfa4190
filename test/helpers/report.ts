/** Building the report model in tests. */
import type { ReportedCheck, RunReport } from '../../src/report/model.js';

/** A run of `checks` named `name` (the JUnit document's name), with the summary table when `summary`. */
export function runOf(
  checks: ReportedCheck[],
  opts: { name?: string; title?: string; summary?: boolean; file?: string; pass?: boolean; meta?: string[] } = {},
): RunReport {
  return {
    title: opts.title ?? opts.name ?? 'cnn-check',
    runName: opts.name ?? 'cnn-check',
    pass: opts.pass ?? checks.every((c) => c.report.pass),
    meta: opts.meta ?? [],
    checks: { title: opts.summary ? 'checks' : 'gradient check', items: checks, summary: opts.summary ?? false },
    ...(opts.file !== undefined ? { file: opts.file } : {}),
  };
}

import type { SuiteCheck } from '../../src/suite/schema.js';

/** A layer suite check seen flat, as the suite file wrote it: name, spec, params, shapes and every setting. */
export function flatCheck(c: SuiteCheck) {
  if (c.kind !== 'layer') throw new Error(`${c.name}: a fixture check, not a layer check`);
  const r = c.request;
  return { index: c.index, name: c.name, spec: r.spec, params: r.params, shapes: r.shapes, givenShapes: r.givenShapes, ...r.settings };
}
