/**
 * The CLI as data: every command with its arguments, options and help groups, the version, the
 * layer commands' example flags and what `list` prints. `npm run build` writes it to
 * dist/cli/manifest.json from the full program (scripts/build-manifest.mjs), and the fast entry
 * (start.ts) rebuilds the same commander program from it, so `--help`, `--version`, `list` and
 * commander's own errors (an unknown option, a missing argument, a bad choice) are answered
 * without loading the layers, their kernels and the report renderers. Anything else is handed
 * to the full program (main.ts). A test holds the help of both programs to each other.
 *
 * Only what commander's help and parsing read is kept; option parsers (functions) are not: the
 * full program parses the values again when a command runs.
 */
import { Argument, Command, Option } from './commander.js';
import type { LayerListData } from '../report/layer-list.js';

/** Version of this file's format; start.ts falls back to the full program on any other. */
export const MANIFEST_FORMAT = 1;

/** An option as commander holds it. */
export interface OptionRecord {
  flags: string;
  description: string;
  defaultValue?: unknown;
  defaultValueDescription?: string;
  choices?: string[];
  group?: string;
  hidden?: true;
  mandatory?: true;
  preset?: unknown;
  env?: string;
  conflicts?: string[];
  /** The program's `-V, --version`, added back with `version()`. */
  version?: true;
}

/** A positional argument: `<path...>`, `[file]`. */
export interface ArgumentRecord {
  spec: string;
  description: string;
  defaultValue?: unknown;
  defaultValueDescription?: string;
  choices?: string[];
}

/** A command and its subcommands. */
export interface CommandRecord {
  name: string;
  aliases: string[];
  description: string;
  summary?: string;
  group?: string;
  hidden?: true;
  /** True when the command runs something (a command with only subcommands has no action). */
  runs: boolean;
  args: ArgumentRecord[];
  options: OptionRecord[];
  commands: CommandRecord[];
  /** A layer command's example flag for its help (see help.ts). */
  layer?: { paramFlag?: string };
}

export interface CliManifest {
  format: typeof MANIFEST_FORMAT;
  version: string;
  program: CommandRecord;
  list: LayerListData;
}

/** Commander's fields the public API has no getter for. */
interface CommandInternals {
  _hidden?: boolean;
  _actionHandler?: unknown;
  _version?: string;
}

function optionRecord(o: Option, version: boolean): OptionRecord {
  const r: OptionRecord = { flags: o.flags, description: o.description };
  if (o.defaultValue !== undefined) r.defaultValue = o.defaultValue;
  if (o.defaultValueDescription !== undefined) r.defaultValueDescription = o.defaultValueDescription;
  if (o.argChoices) r.choices = [...o.argChoices];
  if (o.helpGroupHeading) r.group = o.helpGroupHeading;
  if (o.hidden) r.hidden = true;
  if (o.mandatory) r.mandatory = true;
  if (o.presetArg !== undefined) r.preset = o.presetArg;
  if (o.envVar) r.env = o.envVar;
  const conflicts = (o as unknown as { conflictsWith: string[] }).conflictsWith;
  if (conflicts.length) r.conflicts = [...conflicts];
  if (version) r.version = true;
  return r;
}

function argumentRecord(a: Argument): ArgumentRecord {
  const inner = `${a.name()}${a.variadic ? '...' : ''}`;
  const r: ArgumentRecord = { spec: a.required ? `<${inner}>` : `[${inner}]`, description: a.description };
  if (a.defaultValue !== undefined) r.defaultValue = a.defaultValue;
  if (a.defaultValueDescription !== undefined) r.defaultValueDescription = a.defaultValueDescription;
  if (a.argChoices) r.choices = [...a.argChoices];
  return r;
}

/** `cmd` as data; `layer` gives a layer command's example flag (null for other commands). */
export function describeCommand(cmd: Command, layer: (cmd: Command) => { paramFlag?: string } | null): CommandRecord {
  const internals = cmd as unknown as CommandInternals;
  const versionFlag = internals._version !== undefined ? '--version' : undefined;
  const r: CommandRecord = {
    name: cmd.name(),
    aliases: cmd.aliases(),
    description: cmd.description(),
    runs: internals._actionHandler != null,
    args: cmd.registeredArguments.map(argumentRecord),
    options: cmd.options.map((o) => optionRecord(o, o.long === versionFlag)),
    commands: cmd.commands.map((c) => describeCommand(c, layer)),
  };
  if (cmd.summary()) r.summary = cmd.summary();
  if (cmd.helpGroup()) r.group = cmd.helpGroup();
  if (internals._hidden) r.hidden = true;
  const example = layer(cmd);
  if (example) r.layer = example;
  return r;
}

function addOption(cmd: Command, r: OptionRecord, version: string): void {
  if (r.version) {
    cmd.version(version, r.flags, r.description);
    return;
  }
  const o = new Option(r.flags, r.description);
  if (r.defaultValue !== undefined) o.default(r.defaultValue, r.defaultValueDescription);
  if (r.choices) o.choices(r.choices);
  if (r.group) o.helpGroup(r.group);
  if (r.hidden) o.hideHelp();
  if (r.mandatory) o.makeOptionMandatory();
  if (r.preset !== undefined) o.preset(r.preset);
  if (r.env) o.env(r.env);
  if (r.conflicts) o.conflicts(r.conflicts);
  cmd.addOption(o);
}

function fill(
  cmd: Command,
  r: CommandRecord,
  version: string,
  action: (path: string[], opts: Record<string, unknown>) => void,
  named?: ReadonlySet<string>,
): void {
  for (const a of r.aliases) cmd.alias(a);
  cmd.description(r.description);
  if (r.summary) cmd.summary(r.summary);
  if (r.group) cmd.helpGroup(r.group);
  for (const a of r.args) {
    const arg = new Argument(a.spec, a.description);
    if (a.defaultValue !== undefined) arg.default(a.defaultValue, a.defaultValueDescription);
    if (a.choices) arg.choices(a.choices);
    cmd.addArgument(arg);
  }
  // Options only where they can matter: the program's, and those of commands the command line names.
  if (!named || !cmd.parent || named.has(r.name) || r.aliases.some((a) => named.has(a))) for (const o of r.options) addOption(cmd, o, version);
  for (const sub of r.commands) {
    const child = cmd.command(sub.name, sub.hidden ? { hidden: true } : undefined);
    fill(child, sub, version, action, named);
  }
  if (r.runs) {
    cmd.action((...args: unknown[]) => {
      const self = args[args.length - 1] as Command;
      const path: string[] = [];
      for (let c: Command | null = self; c?.parent; c = c.parent) path.unshift(c.name());
      action(path, self.opts());
    });
  }
}

/**
 * The program a manifest describes, its commands' actions replaced by `action` (given the
 * command's path, `['export', 'conv']`, and its parsed options). With `argv`, only the commands
 * it names get their options (the others are listed by name, which is all the top-level help
 * and commander's suggestions read): building all ~700 options would take longer than the rest
 * of the fast entry's work.
 */
export function programFromManifest(m: CliManifest, action: (path: string[], opts: Record<string, unknown>) => void, argv?: readonly string[]): Command {
  const program = new Command(m.program.name);
  fill(program, m.program, m.version, action, argv ? new Set(argv) : undefined);
  return program;
}

/** The layer commands' example flags, by command, for finishProgram (configure.ts). */
export function layerExamplesOf(m: CliManifest): (cmd: Command) => { paramFlag?: string } | null {
  const byCommand = new Map<string, { paramFlag?: string }>();
  for (const c of m.program.commands) if (c.layer) byCommand.set(c.name, c.layer);
  return (cmd) => (cmd.parent?.parent === null ? (byCommand.get(cmd.name()) ?? null) : null);
}
