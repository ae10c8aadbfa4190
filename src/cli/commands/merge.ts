/**
 * `cnn-check merge-reports A.json B.json ...`: the `suite --shard i/n --json` documents of every
 * shard joined into one report (terminal, `--json`, `--junit`, `--report`, GitHub annotations)
 * and one exit code, as if the suite had run on one machine.
 */
import type { Command } from 'commander';
import { mergeSuiteReports, readSuiteReport } from '../../suite/merge.js';
import { renderSuiteReport } from '../../report/terminal.js';
import { addOutputOptions } from '../options.js';
import { checkOutputPaths, emitRun } from '../outputs.js';
import { terminalWidth, wantColor, type CliIO } from '../io.js';
import { suiteRun } from './suite.js';

/** Register `cnn-check merge-reports`. */
export function registerMergeCommand(program: Command, io: CliIO, exit: { code: number }): void {
  const cmd = program
    .command('merge-reports')
    .description('join the --json reports of a sharded suite (suite --shard i/n --json) into one report and one exit code')
    .argument('<reports...>', 'the suite --json document of every shard');
  addOutputOptions(cmd);
  cmd.action((paths: string[], o: Record<string, unknown>) => {
    checkOutputPaths(o);
    const report = mergeSuiteReports(paths.map(readSuiteReport), paths);
    const file = report.source === 'default' ? undefined : report.source;
    emitRun(io, o, suiteRun(report, file), {
      doc: report,
      text: () => renderSuiteReport(report, wantColor(io, { color: o.color as boolean | undefined, json: o.json === true }), terminalWidth(io)),
    });
    exit.code = report.invalid ? 2 : report.pass ? 0 : 1;
  });
}
