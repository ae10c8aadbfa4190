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
import { arrayFailure, gradientFailure, unexplainedFailure, type ReportedCheck } from './checks.js';
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
 * One `::error` per failing gradient and per check-level problem of `checks`, titled
 * `cnn-check: <check> <impl> <gradient>`. `file` (a suite file) is attached to each.
 */
export function failureAnnotations(checks: ReportedCheck[], opts: { file?: string } = {}): string[] {
  const lines: string[] = [];
  for (const c of checks) {
    const r = c.report;
    for (const g of r.gradients) {
      if (!g.pass) lines.push(workflowCommand('error', gradientFailure(g), { title: `cnn-check: ${c.name} ${g.impl} ${g.name}`, file: opts.file }));
    }
    for (const cmp of r.comparisons ?? []) {
      for (const a of cmp.arrays) {
        if (!a.pass) lines.push(workflowCommand('error', arrayFailure(cmp, a), { title: `cnn-check: ${c.name} ${cmp.impl} ${a.name} differs from the reference`, file: opts.file }));
      }
    }
    for (const p of r.problems) lines.push(workflowCommand('error', p, { title: `cnn-check: ${c.name}`, file: opts.file }));
    if (unexplainedFailure(r) || (!r.pass && r.gradients.length === 0 && r.problems.length === 0)) {
      lines.push(workflowCommand('error', 'the check failed: see its report', { title: `cnn-check: ${c.name}`, file: opts.file }));
    }
  }
  return lines;
}
