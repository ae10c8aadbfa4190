/**
 * The CLI entry. The only place that catches errors: user errors (CnnCheckError and
 * commander's usage errors) become one line on stderr and exit code 2; a failed check is
 * exit code 1; anything else is a bug and exits 3 with its stack.
 */
import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { isUserError } from '../errors.js';
import { LAYERS } from '../layers/registry.js';
import { processIO, terminalWidth, wantColor, type CliIO } from './io.js';
import { COMMAND_GROUPS, helpAfter, programHelpAfter } from './help.js';
import { addOutputOptions } from './options.js';
import { registerLayerCommands } from './commands/layer.js';
import { registerFixtureCommands } from './commands/fixtures.js';
import { registerBenchCommand } from './commands/bench.js';
import { registerSuiteCommand } from './commands/suite.js';
import { registerMergeCommand } from './commands/merge.js';
import { renderLayerList } from '../report/terminal.js';
import { renderJson } from '../report/json.js';
import { implNames } from '../layers/types.js';
import { kebabName } from '../layers/registry.js';
import { paramAlternatives } from '../suite/default.js';
import { fmtNum } from '../text/numbers.js';
import { escapeText } from '../text/escape.js';

/** Exit codes of every command. */
export const EXIT = { ok: 0, checkFailed: 1, usage: 2, internal: 3 } as const;

function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

/** The path of a command for messages: `cnn-check export conv`. */
function commandPath(cmd: Command): string {
  const names: string[] = [];
  for (let c: Command | null = cmd; c; c = c.parent) names.unshift(c.name());
  return names.join(' ');
}

/**
 * Every command's output: streams from `io`, help wrapped to the terminal, and commander's own
 * errors (an unknown option, a missing argument) in the voice of every other error:
 * `cnn-check: unknown option '--bogus' (see cnn-check conv --help)`.
 */
function configure(cmd: Command, io: CliIO): void {
  const width = terminalWidth(io);
  // Commands listed by name and arguments only: the snake_case aliases and `[options]` would
  // widen the column until descriptions could not wrap on an 80-column terminal.
  cmd.configureHelp({
    // Wrap descriptions even in a narrow column (commander's default gives up below 40).
    minWidthToWrap: 20,
    // The usage line without the snake_case alias, which made it wider than narrow terminals.
    commandUsage: (c) => `${commandPath(c)} ${c.usage()}`,
    subcommandTerm: (c) => [c.name(), ...c.registeredArguments.map((a) => (a.required ? `<${a.name()}${a.variadic ? '...' : ''}>` : `[${a.name()}${a.variadic ? '...' : ''}]`))].join(' '),
  });
  cmd.exitOverride().configureOutput({
    writeOut: (s) => io.stdout.write(s),
    writeErr: (s) => io.stderr.write(s),
    getOutHelpWidth: () => width,
    getErrHelpWidth: () => width,
    outputError: (s, write) => {
      const text = s.trimEnd().replace(/\n+/g, ' ').replace(/^error: /, '');
      write(`cnn-check: ${escapeText(text)} (see ${commandPath(cmd)} --help)\n`);
    },
  });
}

/** Build the commander program; `exit.code` is set by the command that runs. */
export function buildProgram(io: CliIO, exit: { code: number }): Command {
  const width = terminalWidth(io);
  const program = new Command('cnn-check')
    .description('check and time convolutional-network layers: gradient checks of your own numpy or JS/TS layers against reference ones, fixtures, benchmarks, CI reports')
    .version(packageVersion(), '-V, --version')
    .showSuggestionAfterError(true);
  program.commandsGroup(COMMAND_GROUPS.layers);
  registerLayerCommands(program, io, exit);
  program.commandsGroup(COMMAND_GROUPS.fixtures);
  registerFixtureCommands(program, io, exit);
  program.commandsGroup(COMMAND_GROUPS.ci);
  registerSuiteCommand(program, io, exit);
  registerMergeCommand(program, io, exit);
  registerBenchCommand(program, io, exit);
  program.commandsGroup(COMMAND_GROUPS.other);
  const list = program
    .command('list')
    .description('list the layers with their inputs, params and defaults');
  addOutputOptions(list, { formats: [] });
  list.action((o: { json?: boolean; color?: boolean }) => {
      if (o.json) {
        const layers = LAYERS.map((l) => ({
          name: l.name, summary: l.summary,
          inputs: l.inputs.map((i) => ({ name: i.name, grad: i.grad, defaultShape: Array.isArray(i.shape) ? i.shape : null })),
          params: l.params.map((p) => ({ name: p.name, flag: p.flag, ...(p.aliases ? { aliases: p.aliases } : {}), kind: p.kind, default: p.default, choices: p.choices })),
          impls: implNames(l), tolerance: l.tolerance,
        }));
        io.stdout.write(renderJson({ layers }));
      } else {
        io.stdout.write(renderLayerList(LAYERS, wantColor(io, o), width));
      }
      exit.code = EXIT.ok;
    });
  program.addHelpCommand(new Command('help').argument('[command]').description('show the help of a command').helpGroup(COMMAND_GROUPS.other));
  program.addHelpText('after', programHelpAfter(width));
  // Every command: the same output configuration, and examples, exit codes and docs in its help.
  const layerNames = new Set(LAYERS.map((l) => kebabName(l.name)));
  const visit = (cmd: Command): void => {
    configure(cmd, io);
    if (cmd !== program) {
      const spec = layerNames.has(cmd.name()) && cmd.parent === program ? LAYERS.find((l) => kebabName(l.name) === cmd.name()) : undefined;
      const alt = spec?.params.map((p) => [p, paramAlternatives(p)[0]] as const).find(([, v]) => v !== undefined);
      const after = helpAfter(cmd, width, spec ? { paramFlag: alt ? `--${alt[0].flag} ${typeof alt[1] === 'number' ? fmtNum(alt[1]) : alt[1]}` : undefined } : undefined);
      if (after) cmd.addHelpText('after', after);
    }
    for (const sub of cmd.commands) visit(sub);
  };
  visit(program);
  return program;
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
    if (err instanceof CommanderError) {
      // Help and version exit 0; every other commander error has already printed its line.
      return err.exitCode === 0 || err.code === 'commander.helpDisplayed' || err.code === 'commander.version' ? EXIT.ok : EXIT.usage;
    }
    if (isUserError(err)) {
      // Messages quote paths and file contents: escaped, they stay one line and cannot act on the terminal.
      io.stderr.write(`cnn-check: ${escapeText(err.message)}\n`);
      return EXIT.usage;
    }
    io.stderr.write(`cnn-check: internal error: ${(err as Error)?.stack ?? String(err)}\n`);
    return EXIT.internal;
  }
}
