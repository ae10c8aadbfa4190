/**
 * `cnn-check suite [FILE]`: run a list of checks (a JSON suite file, or the built-in default
 * suite) and print one summary table; `--junit`, `--report` and GitHub annotations for CI;
 * `--shard i/n` for a CI matrix (joined again by `merge-reports`), `--max-time` to end cleanly
 * before the CI's own timeout, `--impl` to check one module on every entry of its layer.
 */
import { Option, type Command } from 'commander';
import { UsageError } from '../../errors.js';
import { defaultSuiteEntries } from '../../suite/default.js';
import { entryOf, readSuiteFile, resolveSuite, type SuiteCheck } from '../../suite/schema.js';
import { requireSuiteMemory, runSuite, type SuiteProgress, type SuiteReport } from '../../suite/run.js';
import { parseShard, shardChecks } from '../../suite/shard.js';
import { fmtSeconds, generatedLine, plural } from '../../report/format.js';
import { renderJson } from '../../report/json.js';
import type { RunReport } from '../../report/model.js';
import { renderSuiteReport } from '../../report/terminal.js';
import { MAX_SECONDS } from '../../settings/schema.js';
import { addOutputOptions, flagValue, HELP_GROUPS } from '../options.js';
import { checkOutputPaths, emitRun } from '../outputs.js';
import { createProgressLine, renderSuiteProgress } from '../progress.js';
import { moduleLog, terminalWidth, wantColor, type CliIO } from '../io.js';

/** Source name of the built-in suite in reports. */
export const DEFAULT_SUITE_SOURCE = 'default';

/** The report model of a suite run: layer checks, fixtures, and the checks not run. */
export function suiteRun(report: SuiteReport, file: string | undefined): RunReport {
  const layer = report.checks.filter((c) => c.report);
  return {
    title: `cnn-check suite: ${file ?? 'the built-in default suite'}${report.shard ? ` (shard ${report.shard.index}/${report.shard.count})` : ''}`,
    runName: `cnn-check suite ${report.source}`,
    pass: report.pass,
    meta: [generatedLine()],
    checks: { title: 'checks', items: layer.map((c) => ({ name: c.name, report: c.report!, seconds: c.seconds })), summary: true },
    fixtures: {
      title: 'fixtures against the reference',
      items: report.checks.filter((c) => c.fixture).map((c) => ({ ...c.fixture!, name: c.name, seconds: c.seconds })),
      invalid: report.checks
        .filter((c) => c.error !== undefined)
        .map((c) => ({ path: c.name.replace(/^fixture /, ''), name: c.name, pass: false as const, error: c.error! })),
    },
    notRun: report.notRun.map((k) => ({ name: k.name, reason: `not started: the run reached --max-time (estimated ${fmtSeconds(k.estimate)} s)` })),
    ...(file !== undefined ? { file } : {}),
  };
}

/** Run `cnn-check suite`: the exit code (0 every check passed, 1 one failed, 2 a fixture could not be read). */
export function runSuiteCommand(file: string | undefined, o: Record<string, unknown>, io: CliIO): number {
  if (o.print && (o.junit !== undefined || o.report !== undefined))
    throw new UsageError('--print: runs nothing, so it writes no --junit or --report; drop one of them');
  const shard = o.shard === undefined ? undefined : parseShard(String(o.shard));
  const maxTime = flagValue(o, 'max-time', { kind: 'float', min: 0, minExclusive: true, max: MAX_SECONDS }) as number | undefined;
  checkOutputPaths(o);
  const source = file ?? DEFAULT_SUITE_SOURCE;
  const checks: SuiteCheck[] = file !== undefined ? readSuiteFile(file) : resolveSuite(defaultSuiteEntries(), 'default suite');
  if (o.print) {
    io.stdout.write(renderJson((shard ? shardChecks(checks, shard) : checks).map(entryOf)));
    return 0;
  }
  const mine = shard ? shardChecks(checks, shard) : checks;
  // Refused for memory before the first line of the run is written (runSuite holds the library's callers to it too).
  requireSuiteMemory(mine, source, o.impl === undefined ? undefined : String(o.impl));
  const estimate = mine.reduce((s, c) => s + c.estimate, 0);
  io.stderr.write(
    `cnn-check suite: ${plural(mine.length, 'check')}${shard ? ` (shard ${shard.index}/${shard.count} of ${checks.length})` : ''}, estimated ${fmtSeconds(estimate)} s\n`,
  );
  const color = { color: o.color as boolean | undefined, json: o.json === true };
  const progress = io.stderr.isTTY
    ? createProgressLine<SuiteProgress>(io.stderr, wantColor({ ...io, stdout: io.stderr }, { color: color.color }), {
        render: renderSuiteProgress,
        width: terminalWidth(io, io.stderr),
      })
    : undefined;
  let report: SuiteReport;
  try {
    report = runSuite(checks, source, {
      onProgress: progress?.update,
      log: moduleLog(io, progress),
      shard,
      maxTime,
      ...(o.impl !== undefined ? { impl: String(o.impl) } : {}),
    });
  } finally {
    progress?.done();
  }
  emitRun(io, o, suiteRun(report, file), { doc: report, text: () => renderSuiteReport(report, wantColor(io, color), terminalWidth(io)) });
  return report.invalid ? 2 : report.pass ? 0 : 1;
}

/** Register `cnn-check suite`. */
export function registerSuiteCommand(program: Command, io: CliIO, exit: { code: number }): void {
  const cmd = program
    .command('suite')
    .description('run a list of checks (a JSON suite file, or the built-in suite over every layer) and print one summary table')
    .argument('[file]', 'a JSON suite file: an array of checks such as [{"layer": "conv", "params": {"stride": 2}}] (default: the built-in suite)');
  cmd.addOption(
    new Option('--impl <path>', 'check this module on every entry of a layer it implements (entries with their own "impl" keep it)').helpGroup(
      HELP_GROUPS.implementation,
    ),
  );
  cmd.addOption(
    new Option('--shard <i/n>', 'run the i-th of n balanced, disjoint shares of the checks (CI matrices; join them with merge-reports)').helpGroup('Running:'),
  );
  cmd.addOption(
    new Option('--max-time <seconds>', 'start no check that would end after this many seconds; those left are named and fail the run').helpGroup('Running:'),
  );
  cmd.addOption(
    new Option('--print', "print the suite's checks (of the shard, with --shard) as JSON, a suite file to start from, and run nothing").helpGroup('Running:'),
  );
  addOutputOptions(cmd);
  cmd.action((file: string | undefined, o: Record<string, unknown>) => {
    exit.code = runSuiteCommand(file, o, io);
  });
}
