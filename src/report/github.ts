/**
 * GitHub Actions annotations: under `GITHUB_ACTIONS=true` every failure is also printed as a
 * workflow command `::error title=...::message`, which GitHub shows on the run's summary (and
 * on the file, when `file` names one in the repository).
 *
 * Escaping follows the runner's rules for workflow commands: in the message `%`, `\r`, `\n`
 * become `%25`, `%0D`, `%0A`; in a property value `:` and `,` also become `%3A` and `%2C`
 * (they delimit the properties). `%` goes first so nothing is escaped twice. Pure: data in,
 * lines out.
 */
import { arrayFailure, comparisonFailure, gradeCaseFailure, gradientFailure, unexplainedFailure } from './format.js';
import type { RunReport } from './model.js';
import { escapeText } from '../text/escape.js';

/** Escape the message of a workflow command. */
export function escapeData(text: string): string {
  // escapeText after the runner's escapes: the other control characters (ESC ...) as \xNN.
  return escapeText(text.replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A'));
}

/** Escape a property value of a workflow command. */
export function escapeProperty(text: string): string {
  return escapeData(text).replace(/:/g, '%3A').replace(/,/g, '%2C');
}

/** One workflow command line: `::error title=T,file=F::message`. Properties that are undefined are left out. */
export function workflowCommand(command: 'error' | 'warning' | 'notice', message: string, props: Record<string, string | undefined> = {}): string {
  const p = Object.entries(props)
    .filter((e): e is [string, string] => e[1] !== undefined)
    .map(([k, v]) => `${k}=${escapeProperty(v)}`)
    .join(',');
  return `::${command}${p ? ` ${p}` : ''}::${escapeData(message)}`;
}

/** True when the CLI runs in GitHub Actions (from the CLI's environment, never process.env directly). */
export function inGithubActions(env: Record<string, string | undefined>): boolean {
  return env.GITHUB_ACTIONS === 'true';
}

/**
 * One `::error` per failing gradient and per check-level problem of the run's checks, titled
 * `cnn-check: <check> <impl> <gradient>`. The run's `file` (a suite file) is attached to each.
 */
export function failureAnnotations(run: RunReport): string[] {
  const checks = run.checks?.items ?? [];
  const opts = { file: run.file };
  const lines: string[] = [];
  for (const c of checks) {
    const r = c.report;
    for (const g of r.gradients) {
      if (!g.pass) lines.push(workflowCommand('error', gradientFailure(g), { title: `cnn-check: ${c.name} ${g.impl} ${g.name}`, file: opts.file }));
    }
    for (const cmp of r.comparisons ?? []) {
      for (const a of cmp.arrays) {
        if (!a.pass)
          lines.push(
            workflowCommand('error', comparisonFailure(cmp, a), {
              title: `cnn-check: ${c.name} ${cmp.impl} ${a.name} differs from the reference`,
              file: opts.file,
            }),
          );
      }
    }
    for (const p of r.problems) lines.push(workflowCommand('error', p, { title: `cnn-check: ${c.name}`, file: opts.file }));
    if (unexplainedFailure(r) || (!r.pass && r.gradients.length === 0 && r.problems.length === 0)) {
      lines.push(workflowCommand('error', 'the check failed: see its report', { title: `cnn-check: ${c.name}`, file: opts.file }));
    }
  }
  // Fixtures point at their own file, so the annotation lands on it.
  for (const f of run.fixtures?.items ?? []) {
    for (const a of f.arrays) {
      if (!a.pass)
        lines.push(
          workflowCommand('error', arrayFailure('fixture', a), { title: `cnn-check: ${f.name ?? f.path} ${a.name} differs from the reference`, file: f.path }),
        );
    }
  }
  for (const f of run.fixtures?.invalid ?? [])
    lines.push(workflowCommand('error', f.error, { title: `cnn-check: ${f.name ?? f.path} cannot be compared`, file: f.path }));
  for (const k of run.notRun ?? []) lines.push(workflowCommand('error', k.reason, { title: `cnn-check: ${k.name} not run`, file: opts.file }));
  // grade: on the module, at the line of the function's definition when known.
  for (const l of run.grade?.layers ?? []) {
    for (const k of l.cases) {
      if (k.pass && !k.warnings.length) continue;
      const fn = l.implementations.find((f) => f.name === k.function);
      // The backward's line for a failing gradient or a failing backward call, else the forward's.
      const inBackward =
        !!fn?.backward && fn.backward !== fn.forward && (k.message.startsWith(fn.backward) || /^d[a-z]+ /.test(k.message) || k.status === 'warn');
      const at = inBackward ? fn?.backward : (fn?.forward ?? fn?.backward);
      const line = at ? run.gradeLines?.[at] : undefined;
      const props = { title: `cnn-check grade: ${l.layer} ${k.function} ${k.name}`, file: opts.file, line: line === undefined ? undefined : String(line) };
      if (!k.pass) lines.push(workflowCommand('error', gradeCaseFailure(k), props));
      for (const w of k.warnings) lines.push(workflowCommand('warning', w, props));
    }
  }
  return lines;
}
