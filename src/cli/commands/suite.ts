/**
 * `cnn-check suite [FILE]`: run a list of checks (a JSON suite file, or the built-in default
 * suite) and print one summary table; `--junit`, `--report` and GitHub annotations for CI.
 *
 * Also the CI outputs every checking command shares: the `--junit`/`--report` flags, checking
 * their paths before a run, and writing them (with the annotations) after it.
 */
import type { Command } from 'commander';
import { UsageError } from '../../errors.js';
import { defaultSuiteEntries } from '../../suite/default.js';
import { entryOf, readSuiteFile, resolveSuite, type SuiteCheck } from '../../suite/schema.js';
import { runSuite, type SuiteProgress } from '../../suite/run.js';
import type { ReportedCheck } from '../../report/checks.js';
import { renderJunit } from '../../report/junit.js';
import { failureAnnotations, inGithubActions } from '../../report/github.js';
import { renderHtmlReport, type HtmlReport } from '../../report/html.js';
import { checkReportPath, writeReportFile } from '../../report/files.js';
import { createProgressLine, renderSuiteProgress, renderSuiteReport } from '../render.js';
import { wantColor, type CliIO } from '../io.js';
import { jsonReplacer } from './layer.js';

/** Source name of the built-in suite in reports. */
export const DEFAULT_SUITE_SOURCE = 'default';

/** Help of `--junit FILE`. */
export const JUNIT_OPTION_HELP = 'also write JUnit XML: one testcase per check and gradient (.xml; replaced if it exists)';
/** Help of `--report FILE`. */
export const REPORT_OPTION_HELP = 'also write a self-contained HTML report: tables, heatmaps of errors, charts (.html; replaced if it exists)';

/** Add `--report FILE.html`, and `--junit FILE.xml` where the command has checks to report. */
export function addReportOptions(cmd: Command, opts: { junit: boolean }): Command {
  if (opts.junit) cmd.option('--junit <file>', JUNIT_OPTION_HELP);
  return cmd.option('--report <file>', REPORT_OPTION_HELP);
}

/** Check `--junit`/`--report` paths before a run, so that a long run does not end in an error about its output. */
export function checkReportOptions(o: Record<string, unknown>): void {
  if (o.junit !== undefined) checkReportPath('junit', String(o.junit));
  if (o.report !== undefined) checkReportPath('report', String(o.report));
}

/** `generated 2025-01-31T12:00:00Z by cnn-check`: the one line of a report that varies between runs of the same data. */
export function generatedLine(): string {
  return `generated ${new Date().toISOString().replace(/\.\d+Z$/, 'Z')} by cnn-check`;
}

/** Write `--report` when asked: the page of `report`. */
export function writeHtmlOption(o: Record<string, unknown>, report: HtmlReport): void {
  if (o.report !== undefined) writeReportFile('report', String(o.report), renderHtmlReport(report));
}

/**
 * After a checking command: `--junit` and `--report` files and, under GitHub Actions, one
 * `::error` annotation per failure, on stdout (on stderr with `--json`, so stdout stays one document).
 */
export function emitCheckOutputs(
  io: CliIO,
  o: Record<string, unknown>,
  checks: ReportedCheck[],
  opts: { title: string; runName: string; summary: boolean; file?: string },
): void {
  if (o.junit !== undefined) writeReportFile('junit', String(o.junit), renderJunit(checks, { name: opts.runName }));
  writeHtmlOption(o, {
    title: opts.title,
    pass: checks.every((c) => c.report.pass),
    meta: [generatedLine()],
    sections: [{ kind: 'checks', title: opts.summary ? 'checks' : 'gradient check', checks, summary: opts.summary }],
  });
  if (inGithubActions(io.env)) {
    const lines = failureAnnotations(checks, { file: opts.file });
    if (lines.length) (o.json ? io.stderr : io.stdout).write(lines.join('\n') + '\n');
  }
}

/** Register `cnn-check suite`. Sets `exit.code` to 0 (every check passed) or 1. */
export function registerSuiteCommand(program: Command, io: CliIO, exit: { code: number }): void {
  const cmd = program
    .command('suite')
    .description('run a list of checks (a JSON suite file, or the built-in suite over every layer) and print one summary table')
    .argument('[file]', 'a JSON suite file: an array of checks such as [{"layer": "conv", "params": {"stride": 2}}] (default: the built-in suite)')
    .option('--print', 'print the suite\'s checks as JSON (a suite file to start from) and run nothing')
    .option('--json', 'print one JSON document instead of tables')
    .option('--no-color', 'never colour the output');
  addReportOptions(cmd, { junit: true });
  cmd.action((file: string | undefined, o: Record<string, unknown>) => {
    if (o.print && (o.junit !== undefined || o.report !== undefined)) throw new UsageError('--print: runs nothing, so it writes no --junit or --report; drop one of them');
    checkReportOptions(o);
    const source = file ?? DEFAULT_SUITE_SOURCE;
    const checks: SuiteCheck[] = file !== undefined ? readSuiteFile(file) : resolveSuite(defaultSuiteEntries(), 'default suite');
    if (o.print) {
      io.stdout.write(JSON.stringify(checks.map(entryOf), null, 2) + '\n');
      exit.code = 0;
      return;
    }
    const color = wantColor(io, { color: o.color as boolean | undefined, json: o.json === true });
    const progress = io.stderr.isTTY
      ? createProgressLine<SuiteProgress>(io.stderr, wantColor({ ...io, stdout: io.stderr }, { color: o.color as boolean | undefined }), { render: renderSuiteProgress })
      : undefined;
    let report;
    try {
      report = runSuite(checks, source, { onProgress: progress?.update });
    } finally {
      progress?.done();
    }
    if (o.json) io.stdout.write(JSON.stringify(report, jsonReplacer, 2) + '\n');
    else io.stdout.write(renderSuiteReport(report, color));
    emitCheckOutputs(io, o, report.checks.map((c) => ({ name: c.name, report: c.report, seconds: c.seconds })), {
      title: `cnn-check suite: ${file ?? 'the built-in default suite'}`,
      runName: `cnn-check suite ${source}`,
      summary: true,
      file,
    });
    exit.code = report.pass ? 0 : 1;
  });
}
