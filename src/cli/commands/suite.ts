/**
 * `cnn-check suite [FILE]`: run a list of checks (a JSON suite file, or the built-in default
 * suite) and print one summary table; `--junit`, `--report` and GitHub annotations for CI.
 */
import type { Command } from 'commander';
import { UsageError } from '../../errors.js';
import { defaultSuiteEntries } from '../../suite/default.js';
import { entryOf, readSuiteFile, resolveSuite, type SuiteCheck } from '../../suite/schema.js';
import { runSuite, type SuiteProgress } from '../../suite/run.js';
import { generatedLine } from '../../report/format.js';
import { renderJson } from '../../report/json.js';
import { renderSuiteReport } from '../../report/terminal.js';
import { addOutputOptions } from '../options.js';
import { checkOutputPaths, emitRun } from '../outputs.js';
import { createProgressLine, renderSuiteProgress } from '../progress.js';
import { moduleLog, wantColor, type CliIO } from '../io.js';

/** Source name of the built-in suite in reports. */
export const DEFAULT_SUITE_SOURCE = 'default';

/** Run `cnn-check suite`: the exit code (0 every check passed, 1 one failed). */
export function runSuiteCommand(file: string | undefined, o: Record<string, unknown>, io: CliIO): number {
  if (o.print && (o.junit !== undefined || o.report !== undefined)) throw new UsageError('--print: runs nothing, so it writes no --junit or --report; drop one of them');
  checkOutputPaths(o);
  const source = file ?? DEFAULT_SUITE_SOURCE;
  const checks: SuiteCheck[] = file !== undefined ? readSuiteFile(file) : resolveSuite(defaultSuiteEntries(), 'default suite');
  if (o.print) {
    io.stdout.write(renderJson(checks.map(entryOf)));
    return 0;
  }
  const color = { color: o.color as boolean | undefined, json: o.json === true };
  const progress = io.stderr.isTTY
    ? createProgressLine<SuiteProgress>(io.stderr, wantColor({ ...io, stdout: io.stderr }, { color: color.color }), { render: renderSuiteProgress })
    : undefined;
  let report;
  try {
    report = runSuite(checks, source, { onProgress: progress?.update, log: moduleLog(io, progress) });
  } finally {
    progress?.done();
  }
  emitRun(io, o, {
    title: `cnn-check suite: ${file ?? 'the built-in default suite'}`,
    runName: `cnn-check suite ${source}`,
    pass: report.pass,
    meta: [generatedLine()],
    checks: { title: 'checks', items: report.checks.map((c) => ({ name: c.name, report: c.report, seconds: c.seconds })), summary: true },
    file,
  }, { doc: report, text: () => renderSuiteReport(report, wantColor(io, color)) });
  return report.pass ? 0 : 1;
}

/** Register `cnn-check suite`. */
export function registerSuiteCommand(program: Command, io: CliIO, exit: { code: number }): void {
  const cmd = program
    .command('suite')
    .description('run a list of checks (a JSON suite file, or the built-in suite over every layer) and print one summary table')
    .argument('[file]', 'a JSON suite file: an array of checks such as [{"layer": "conv", "params": {"stride": 2}}] (default: the built-in suite)')
    .option('--print', 'print the suite\'s checks as JSON (a suite file to start from) and run nothing');
  addOutputOptions(cmd);
  cmd.action((file: string | undefined, o: Record<string, unknown>) => {
    exit.code = runSuiteCommand(file, o, io);
  });
}
