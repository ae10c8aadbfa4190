/**
 * Commander options derived from the one settings schema (settings/schema.ts), the layer specs
 * (params and settable shapes) and the registered output formats, grouped for `--help`; and
 * parsing a command's option bag once into typed values.
 */
import { Option, type Command } from 'commander';
import { UsageError } from '../errors.js';
import { isSettable, paramSpellings } from '../layers/params.js';
import type { LayerSpec, ParamSpec } from '../layers/types.js';
import type { RawCase } from '../request/request.js';
import { describeDomain, parseValue, type Domain } from '../settings/domain.js';
import { describeSetting, parseSettings, settingList, type CheckSettings, type SettingGroup, type SettingSpec } from '../settings/schema.js';
import { FILE_FORMATS } from '../report/formats.js';
import { fmtNum } from '../text/numbers.js';

/** `--help` headings of the option groups, in the order they are listed. */
export const HELP_GROUPS = {
  layer: 'Layer params and shapes:',
  inputs: 'Inputs:',
  checking: 'Checking:',
  implementation: 'Your implementation:',
  output: 'Output:',
} as const;

const SETTING_GROUPS: Record<SettingGroup, string> = {
  inputs: HELP_GROUPS.inputs,
  checking: HELP_GROUPS.checking,
  implementation: HELP_GROUPS.implementation,
};

/** The key commander stores `--pool-height` under: `poolHeight`. */
export function optionKey(flag: string): string {
  return flag.replace(/-([a-zA-Z])/g, (_, ch: string) => ch.toUpperCase());
}

/** Collects a repeatable option's values. */
function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

/** `(default 1e-5)`, `(default: the layer's tolerance)`; '' for a switch that is off by default. */
function defaultNote(s: SettingSpec<unknown>): string {
  if (s.defaultText !== undefined) return ` (default ${s.defaultText})`;
  if (s.default === undefined || s.default === false) return '';
  return ` (default ${typeof s.default === 'number' ? fmtNum(s.default) : String(s.default)})`;
}

/** The help line of a setting: what it does, its choices, its default. */
export function settingHelp(s: SettingSpec<unknown>): string {
  const choices = s.domain.kind === 'enum' ? `: ${describeSetting(s).replace(/^one of /, '')}` : '';
  return `${s.help}${choices}${defaultNote(s)}`;
}

/** Add the flags of the settings `which` selects, each in its help group. */
export function addSettingOptions(cmd: Command, which: (s: SettingSpec<unknown>) => boolean): Command {
  for (const s of settingList().filter(which)) {
    const flags = `--${s.flag}${s.value ? ` ${s.value}` : ''}`;
    const opt = new Option(flags, settingHelp(s)).helpGroup(SETTING_GROUPS[s.group]);
    if (s.domain.kind === 'map') opt.argParser(collect);
    cmd.addOption(opt);
  }
  return cmd;
}

/** Parse the settings among a command's options once: `--flag` names each in messages. */
export function settingsFromOptions(o: Record<string, unknown>): CheckSettings {
  const raw: Record<string, unknown> = {};
  for (const s of settingList()) raw[s.key] = o[optionKey(s.flag)];
  return parseSettings(raw, { text: true, labelOf: (s) => `--${s.flag}` });
}

/** Flags of the commands themselves, which a param's other spellings must not take (dropout's `seed` is `--dropout-seed`). */
const RESERVED_FLAGS = new Set(['json', 'color', 'junit', 'report', 'annotations', 'help', 'version', 'out', 'force', 'compress']);

/** The flags a param is given with: its flag, then other spellings that can be flags (`--G` for `--groups`; not cs231n names with `_`, nor other flags). */
export function paramFlags(p: ParamSpec): string[] {
  const taken = new Set([...RESERVED_FLAGS, ...settingList().map((s) => s.flag)]);
  return [p.flag, ...paramSpellings(p).filter((k) => k !== p.flag && !k.includes('_') && !taken.has(k))];
}

/** Add a layer's own flags: one per param (and its aliases), `--<input>-shape` per settable input. */
export function addLayerOptions(cmd: Command, spec: LayerSpec): Command {
  for (const p of spec.params) {
    const value = p.kind === 'enum' ? '<value>' : '<n>';
    const d = typeof p.default === 'number' ? fmtNum(p.default) : p.default;
    cmd.addOption(new Option(`--${p.flag} ${value}`, `${p.help}: ${describeDomain(p)} (default ${d})`).helpGroup(HELP_GROUPS.layer));
    for (const alias of paramFlags(p).slice(1)) {
      cmd.addOption(new Option(`--${alias} ${value}`, `the same as --${p.flag} (${p.name} is the name in fixtures and suites)`).helpGroup(HELP_GROUPS.layer));
    }
  }
  for (const input of spec.inputs) {
    if (isSettable(input)) {
      cmd.addOption(
        new Option(`--${input.name}-shape <dims>`, `shape of ${input.help} (default ${(input.shape as number[]).join(',')})`).helpGroup(HELP_GROUPS.layer),
      );
    }
  }
  return cmd;
}

/** The raw params and shapes a layer command was given, for request/request.ts. */
export function layerRawCase(spec: LayerSpec, o: Record<string, unknown>): RawCase {
  const params: Record<string, unknown> = {};
  for (const p of spec.params) {
    for (const k of paramFlags(p)) {
      const v = o[optionKey(k)];
      if (v !== undefined) params[k] = v;
    }
  }
  const shapes: Record<string, unknown> = {};
  for (const input of spec.inputs) {
    const v = o[optionKey(`${input.name}-shape`)];
    if (isSettable(input) && v !== undefined) shapes[input.name] = v;
  }
  return { params, shapes };
}

/** Add `--json`, `--no-color` and the registered file formats (`--junit`, `--report`) a command offers. */
export function addOutputOptions(cmd: Command, opts: { json?: boolean; formats?: readonly string[] } = {}): Command {
  if (opts.json !== false) cmd.addOption(new Option('--json', 'print one JSON document instead of tables').helpGroup(HELP_GROUPS.output));
  cmd.addOption(new Option('--no-color', 'never colour the output').helpGroup(HELP_GROUPS.output));
  for (const f of FILE_FORMATS) {
    if (opts.formats && !opts.formats.includes(f.flag)) continue;
    cmd.addOption(new Option(`--${f.flag} <file>`, f.help).helpGroup(HELP_GROUPS.output));
  }
  if (!opts.formats || opts.formats.length) {
    cmd.addOption(
      new Option(
        '--no-annotations',
        'no GitHub Actions annotations (printed under GITHUB_ACTIONS=true; e.g. for shards whose merged report annotates)',
      ).helpGroup(HELP_GROUPS.output),
    );
  }
  return cmd;
}

/** Parse a command's own flag (not a check setting) against `domain`; undefined when absent. */
export function flagValue(o: Record<string, unknown>, flag: string, domain: Domain): number | string | boolean | undefined {
  const v = o[optionKey(flag)];
  return v === undefined ? undefined : parseValue(domain, v, `--${flag}`, true);
}

/** Refuse a flag that means nothing without another: `--force` without `--save`. */
export function requireWith(o: Record<string, unknown>, flag: string, needs: string, why: string): void {
  if (o[optionKey(flag)] !== undefined && o[optionKey(needs)] === undefined) throw new UsageError(`--${flag}: ${why}`);
}
