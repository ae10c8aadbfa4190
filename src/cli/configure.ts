/**
 * What every command of the CLI shares, whether the program was built from the commands'
 * modules (main.ts) or from the manifest (start.ts): output on the CLI's streams, help wrapped
 * to the terminal with examples, exit codes and the doc page, and commander's own errors in the
 * voice of every other error. Light: commander and text helpers only.
 */
import { Command, type CommanderError } from './commander.js';
import { escapeText } from '../text/escape.js';
import { COMMAND_GROUPS, helpAfter, programHelpAfter } from './help.js';
import { terminalWidth, type CliIO } from './io.js';

/** Exit codes of every command. */
export const EXIT = { ok: 0, checkFailed: 1, usage: 2, internal: 3 } as const;

/** The exit code of a commander error: 0 for help and version, 2 for the rest (whose line commander has printed). */
export function commanderExit(err: CommanderError): number {
  return err.exitCode === 0 || err.code === 'commander.helpDisplayed' || err.code === 'commander.version' ? EXIT.ok : EXIT.usage;
}

/** The path of a command for messages: `cnn-check export conv`. */
export function commandPath(cmd: Command): string {
  const names: string[] = [];
  for (let c: Command | null = cmd; c; c = c.parent) names.unshift(c.name());
  return names.join(' ');
}

/**
 * One command's output: streams from `io`, help wrapped to the terminal, and commander's own
 * errors (an unknown option, a missing argument) as `cnn-check: unknown option '--bogus' (see
 * cnn-check conv --help)`.
 */
function configure(cmd: Command, io: CliIO, width: number): void {
  cmd.configureHelp({
    // Wrap descriptions even in a narrow column (commander's default gives up below 40).
    minWidthToWrap: 20,
    // The usage line without the snake_case alias, which made it wider than narrow terminals.
    commandUsage: (c) => `${commandPath(c)} ${c.usage()}`,
    // Commands listed by name and arguments only: the snake_case aliases and `[options]` would
    // widen the column until descriptions could not wrap on an 80-column terminal.
    subcommandTerm: (c) =>
      [
        c.name(),
        ...c.registeredArguments.map((a) => (a.required ? `<${a.name()}${a.variadic ? '...' : ''}>` : `[${a.name()}${a.variadic ? '...' : ''}]`)),
      ].join(' '),
  });
  cmd.exitOverride().configureOutput({
    writeOut: (s) => io.stdout.write(s),
    writeErr: (s) => io.stderr.write(s),
    getOutHelpWidth: () => width,
    getErrHelpWidth: () => width,
    outputError: (s, write) => {
      const text = s
        .trimEnd()
        .replace(/\n+/g, ' ')
        .replace(/^error: /, '');
      write(`cnn-check: ${escapeText(text)} (see ${commandPath(cmd)} --help)\n`);
    },
  });
}

/**
 * Finish a program whose commands are registered: the help command in the last group, the
 * text after each help, and every command configured. `layerExamples` gives a layer command's
 * example flag (`--stride 2`), null for commands that are not layer commands.
 */
export function finishProgram(program: Command, io: CliIO, layerExamples: (cmd: Command) => { paramFlag?: string } | null): Command {
  const width = terminalWidth(io);
  program.addHelpCommand(new Command('help').argument('[command]').description('show the help of a command').helpGroup(COMMAND_GROUPS.other));
  // The texts after each help are made when a help is shown: making them all up front is most of
  // the time `--version` or a failing flag takes to answer.
  program.addHelpText('after', () => programHelpAfter(width));
  const visit = (cmd: Command): void => {
    configure(cmd, io, width);
    if (cmd !== program) cmd.addHelpText('after', () => helpAfter(cmd, width, layerExamples(cmd) ?? undefined));
    for (const sub of cmd.commands) visit(sub);
  };
  visit(program);
  return program;
}
