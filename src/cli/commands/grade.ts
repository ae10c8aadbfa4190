/**
 * `cnn-check grade PATH`: a whole module of cs231n layer functions graded against the battery
 * (grade/), with the report card on the terminal, `--json`, `--junit`, `--report` and GitHub
 * annotations like every command, and `--watch`: grade again whenever the module (or a .py file
 * of its package) changes, until Ctrl-C.
 */
import { existsSync, mkdirSync, statSync, watch, type FSWatcher } from 'node:fs';
import { basename, dirname, extname, join, resolve } from 'node:path';
import { Option, type Command } from 'commander';
import { FileError, isUserError, UsageError } from '../../errors.js';
import { escapeText } from '../../text/escape.js';
import { checkOutputPath } from '../../fs/write.js';
import { gradeModule, type GradeProgress, type GradeReport } from '../../grade/grade.js';
import { definitionLines } from '../../grade/lines.js';
import { openModule } from '../../impls/registry.js';
import { generatedLine } from '../../report/format.js';
import { renderGradeReport } from '../../report/terminal.js';
import { SETTINGS } from '../../settings/schema.js';
import { moduleLog, terminalWidth, wantColor, type CliIO } from '../io.js';
import { addOutputOptions, flagValue, HELP_GROUPS, requireWith, settingHelp } from '../options.js';
import { checkOutputPaths, emitRun } from '../outputs.js';
import { createProgressLine } from '../progress.js';

/** Milliseconds without a further change before `--watch` grades again (an editor's save is several events). */
export const WATCH_DEBOUNCE_MS = 200;
/** Clears the terminal and its scrollback, cursor home. */
const CLEAR_SCREEN = '\u001b[2J\u001b[3J\u001b[H';

/** The options of one grade, parsed once. */
interface GradeRequest {
  path: string;
  layers?: string[];
  quick: boolean;
  timeout: number;
  python?: string;
  fixtures?: { dir: string; force: boolean };
}

function parseRequest(path: string, o: Record<string, unknown>): GradeRequest {
  requireWith(o, 'force', 'fixtures', 'replaces existing fixtures: it needs --fixtures DIR');
  const layers =
    o.layers === undefined
      ? undefined
      : String(o.layers)
          .split(',')
          .map((s) => s.trim())
          .filter(Boolean);
  if (layers && !layers.length) throw new UsageError(`--layers: expected a comma-separated list of layers such as conv,maxpool, got '${String(o.layers)}'`);
  const timeout = (flagValue(o, 'timeout', SETTINGS.timeout.domain as never) as number | undefined) ?? SETTINGS.timeout.default;
  let fixtures: GradeRequest['fixtures'];
  if (o.fixtures !== undefined) {
    const dir = String(o.fixtures);
    if (!existsSync(dir)) {
      if (!existsSync(dirname(resolve(dir)))) throw new FileError(`--fixtures ${dir}: directory ${dirname(dir)} does not exist`);
      mkdirSync(dir);
    } else if (!statSync(dir).isDirectory()) throw new FileError(`--fixtures ${dir}: expected a directory, got a file`);
    // Writable: tried now (a file created and removed), not found out at the first failure.
    checkOutputPath(join(dir, 'cnn-check-grade.probe'), { replace: false, flag: '--fixtures' });
    fixtures = { dir, force: o.force === true };
  }
  return {
    path,
    ...(layers ? { layers } : {}),
    quick: o.quick === true,
    timeout,
    ...(o.python !== undefined ? { python: String(o.python) } : {}),
    ...(fixtures ? { fixtures } : {}),
  };
}

/** Grade once and write the outputs; the exit code (0 every case passes, 1 a case fails). Input errors throw. */
function gradeOnce(req: GradeRequest, o: Record<string, unknown>, io: CliIO): number {
  const color = { color: o.color as boolean | undefined, json: o.json === true };
  const progress = io.stderr.isTTY
    ? createProgressLine<GradeProgress>(io.stderr, wantColor({ ...io, stdout: io.stderr }, color), {
        width: terminalWidth(io, io.stderr),
        render: (p, ms) => `grading ${p.index}/${p.total}  ${p.layer} ${p.impl} ${p.caseName}  ${(ms / 1000).toFixed(1)} s`,
      })
    : undefined;
  const log = moduleLog(io, progress);
  const mod = openModule(req.path, { timeout: req.timeout, label: req.path, log: (line) => log(basename(req.path), line), python: req.python });
  let report: GradeReport;
  try {
    report = gradeModule(mod, { layers: req.layers, quick: req.quick, fixtures: req.fixtures, label: req.path, onProgress: progress?.update });
  } finally {
    progress?.done();
    mod.close();
  }
  emitRun(
    io,
    o,
    {
      title: `cnn-check grade ${req.path}`,
      runName: `cnn-check grade ${req.path}`,
      pass: report.pass,
      meta: [generatedLine()],
      grade: report,
      file: req.path,
      gradeLines: definitionLines(req.path),
    },
    { doc: report, text: () => renderGradeReport(report, wantColor(io, color), terminalWidth(io)) },
  );
  return report.pass ? 0 : 1;
}

/** What `--watch` watches: the module's directory, for the module itself or, in a package (beside __init__.py), any .py file. */
function watchTarget(path: string): { dir: string; matches: (file: string) => boolean; what: string } {
  const abs = resolve(path);
  const dir = dirname(abs);
  const name = basename(abs);
  const pkg = extname(abs).toLowerCase() === '.py' && existsSync(join(dir, '__init__.py'));
  return {
    dir,
    matches: (file) => file === name || (pkg && file.endsWith('.py')),
    what: pkg ? `${path} and the .py files of its package` : path,
  };
}

/**
 * `--watch`: grade, then again after every change (debounced), clearing the screen first on a
 * terminal, until SIGINT (Ctrl-C), which ends the command with exit code 0. An input error of a
 * later grade (the module no longer imports) is printed and the watch goes on.
 */
async function watchGrade(req: GradeRequest, o: Record<string, unknown>, io: CliIO): Promise<number> {
  const target = watchTarget(req.path);
  const clear = () => {
    if (io.stdout.isTTY && o.json !== true) io.stdout.write(CLEAR_SCREEN);
  };
  return new Promise<number>((done, fail) => {
    let timer: NodeJS.Timeout | undefined;
    // NOTE: watching starts before the first grade, so an edit made as soon as `watching` is printed is seen.
    const watcher: FSWatcher = watch(target.dir, (_event, file) => {
      if (file && !target.matches(String(file))) return;
      clearTimeout(timer);
      timer = setTimeout(once, WATCH_DEBOUNCE_MS);
    });
    const end = () => {
      clearTimeout(timer);
      watcher.close();
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
    };
    const stop = () => {
      end();
      done(0);
    };
    function once(): void {
      clear();
      try {
        gradeOnce(req, o, io);
      } catch (err) {
        if (!isUserError(err)) {
          // A bug of cnn-check ends the watch (main reports it, exit 3).
          end();
          fail(err);
          return;
        }
        io.stderr.write(`cnn-check: ${escapeText(err.message)}\n`);
      }
      io.stderr.write(`watching ${target.what} for changes; Ctrl-C to stop\n`);
    }
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
    once();
  });
}

export function registerGradeCommand(program: Command, io: CliIO, exit: { code: number }): void {
  const cmd = program
    .command('grade')
    .description(
      'grade a whole layers module (numpy layers.py, or JS/TS with the same cs231n function names): every layer it defines against a battery of cases, each failure shrunk to its smallest case',
    )
    .argument('<path>', 'the module: cs231n/layers.py (or layer_utils.py), or a .mjs/.js/.ts module with cs231n function names');
  cmd.addOption(
    new Option('--layers <list>', 'grade only these layers, comma-separated: conv,maxpool (default: every layer the module defines)').helpGroup(
      HELP_GROUPS.checking,
    ),
  );
  cmd.addOption(new Option('--quick', "only the notebooks' cases and one edge case per layer, no timing").helpGroup(HELP_GROUPS.checking));
  cmd.addOption(new Option('--watch', 'grade again whenever the module (or a .py file of its package) changes; Ctrl-C stops').helpGroup(HELP_GROUPS.checking));
  cmd.addOption(
    new Option(`--timeout ${SETTINGS.timeout.value}`, `seconds each call of a function of the module may take (default ${SETTINGS.timeout.default})`).helpGroup(
      HELP_GROUPS.implementation,
    ),
  );
  cmd.addOption(
    new Option(`--python ${SETTINGS.python.value}`, settingHelp(SETTINGS.python as never).replace('a numpy --impl', 'a numpy module')).helpGroup(
      HELP_GROUPS.implementation,
    ),
  );
  cmd.addOption(
    new Option('--fixtures <dir>', 'write each shrunk failure as a .npz fixture in DIR (created if missing), for load_fixture in the notebook').helpGroup(
      HELP_GROUPS.output,
    ),
  );
  cmd.addOption(new Option('--force', 'replace fixtures of the same name in --fixtures DIR').helpGroup(HELP_GROUPS.output));
  addOutputOptions(cmd);
  cmd.action(async (path: string, o: Record<string, unknown>) => {
    const req = parseRequest(path, o);
    checkOutputPaths(o);
    exit.code = o.watch === true ? await watchGrade(req, o, io) : gradeOnce(req, o, io);
  });
}
