/**
 * The CLI entry. The only place that catches errors: user errors (CnnCheckError and
 * commander's usage errors) become one line on stderr and exit code 2; a failed check is
 * exit code 1; anything else is a bug and exits 3 with its stack.
 */
import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { isUserError } from '../errors.js';
import { LAYERS, kebabName } from '../layers/registry.js';
import { processIO, type CliIO } from './io.js';
import { COMMAND_GROUPS } from './help.js';
import { EXIT, commanderExit, finishProgram } from './configure.js';
import { describeCommand, MANIFEST_FORMAT, type CliManifest } from './manifest.js';
import { registerLayerCommands } from './commands/layer.js';
import { registerFixtureCommands } from './commands/fixtures.js';
import { registerBenchCommand } from './commands/bench.js';
import { registerSuiteCommand } from './commands/suite.js';
import { registerMergeCommand } from './commands/merge.js';
import { layerListData, registerListCommand } from './commands/list.js';
import { registerGradeCommand } from './commands/grade.js';
import { paramAlternatives } from '../suite/default.js';
import { fmtNum } from '../text/numbers.js';
import { escapeText } from '../text/escape.js';

export { EXIT };

function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

/** Build the commander program; `exit.code` is set by the command that runs. */
export function buildProgram(io: CliIO, exit: { code: number }): Command {
  const program = new Command('cnn-check')
    .description(
      'check and time convolutional-network layers: gradient checks of your own numpy or JS/TS layers against reference ones, fixtures, benchmarks, CI reports',
    )
    .version(packageVersion(), '-V, --version')
    .showSuggestionAfterError(true);
  program.commandsGroup(COMMAND_GROUPS.layers);
  registerLayerCommands(program, io, exit);
  program.commandsGroup(COMMAND_GROUPS.code);
  registerGradeCommand(program, io, exit);
  program.commandsGroup(COMMAND_GROUPS.fixtures);
  registerFixtureCommands(program, io, exit);
  program.commandsGroup(COMMAND_GROUPS.ci);
  registerSuiteCommand(program, io, exit);
  registerMergeCommand(program, io, exit);
  registerBenchCommand(program, io, exit);
  program.commandsGroup(COMMAND_GROUPS.other);
  registerListCommand(program, io, exit);
  return finishProgram(program, io, layerExamples);
}

/** The CLI as data for the fast entry (manifest.ts); written to dist/cli/manifest.json at build time. */
export function cliManifest(): CliManifest {
  const sink = { write: () => true };
  const program = buildProgram({ stdout: sink, stderr: sink, env: {} }, { code: 0 });
  return { format: MANIFEST_FORMAT, version: packageVersion(), program: describeCommand(program, layerExamples), list: layerListData() };
}

/** A layer command's example flag for its help (`--stride 2`: the first param's first other value); null for other commands. */
export function layerExamples(cmd: Command): { paramFlag?: string } | null {
  const spec = cmd.parent?.parent === null ? LAYERS.find((l) => kebabName(l.name) === cmd.name()) : undefined;
  if (!spec) return null;
  const alt = spec.params.map((p) => [p, paramAlternatives(p)[0]] as const).find(([, v]) => v !== undefined);
  return { paramFlag: alt ? `--${alt[0].flag} ${typeof alt[1] === 'number' ? fmtNum(alt[1]) : alt[1]}` : undefined };
}

/** Run the CLI on `argv` (without node and script); returns the exit code. */
export async function main(argv: string[], io: CliIO = processIO()): Promise<number> {
  const exit = { code: EXIT.ok as number };
  try {
    const program = buildProgram(io, exit);
    if (argv.length === 0) {
      program.outputHelp();
      return EXIT.usage;
    }
    await program.parseAsync(argv, { from: 'user' });
    return exit.code;
  } catch (err) {
    if (err instanceof CommanderError) return commanderExit(err);
    if (isUserError(err)) {
      // Messages quote paths and file contents: escaped, they stay one line and cannot act on the terminal.
      io.stderr.write(`cnn-check: ${escapeText(err.message)}\n`);
      return EXIT.usage;
    }
    io.stderr.write(`cnn-check: internal error: ${(err as Error)?.stack ?? String(err)}\n`);
    return EXIT.internal;
  }
}
