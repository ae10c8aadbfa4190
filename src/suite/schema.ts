/**
 * The suite file: a JSON array of checks, each one layer command written as data.
 *
 * ```json
 * [
 *   {"layer": "conv", "params": {"stride": 2, "pad": 1}},
 *   {"name": "big conv", "layer": "conv", "shapes": {"x": [8, 16, 16, 16], "w": [16, 16, 3, 3]},
 *    "checkMode": "sampled", "samples": 64, "dtype": "float32", "seed": 7}
 * ]
 * ```
 *
 * A layer entry has `layer` (required), `name` (a label, unique in the suite; default built
 * from the settings), `params` (`{cs231n name: value}`), `shapes` (`{input: [dims]}` for the
 * inputs the layer lets you set), and every check setting of settings/schema.ts by its key
 * (`checkMode`, `samples`, `dtype`, `seed`, `impl`, ...), with the layer command's default
 * except `repeat`, which is 0: a suite reports check times, not a timing table.
 *
 * A fixture entry has `fixture`: a `.npz`, a fixture directory or a glob of them
 * (`"fixtures/*.npz"`, one check per match), compared with the reference as `compare` does;
 * it may also have `name`, `maxError` and `maxBytes`. Paths (`impl`, `inputs`, `input`,
 * `fixture`) are relative to the suite file.
 *
 * Validation is strict and complete before anything runs: an unknown field, a value of the
 * wrong type or domain, a param the layer does not have or shapes the layer refuses is a
 * FormatError whose one line names the file, the entry and the field:
 * `suite.json[2] (conv): params.stride: expected an integer >= 1, got 0`.
 */
import { dirname, relative } from 'node:path';
import { statSync } from 'node:fs';
import { CnnCheckError, FormatError, MemoryLimitError } from '../errors.js';
import { readTextFile } from '../fs/read.js';
import { parseUntrustedJson } from '../text/json.js';
import { getLayer, LAYERS } from '../layers/registry.js';
import { implNames, type LayerSpec } from '../layers/types.js';
import { shown } from '../settings/domain.js';
import { defaultSettings, parseSettings, settingList, type CheckSettings, type SettingSpec } from '../settings/schema.js';
import { buildCheckRequest, type CheckRequest } from '../request/request.js';
import { estimateCheckSeconds, estimateFixtureSeconds } from './cost.js';
import { expandGlob, isGlob } from './glob.js';
import { fmtNum } from '../text/numbers.js';

/** One layer entry of a suite file, as written (see the module comment for the fields). */
export type LayerEntry = { name?: string; layer: string; params?: Record<string, number | string>; shapes?: Record<string, number[]> } & Partial<CheckSettings>;
/** One fixture entry of a suite file, as written. */
export interface FixtureEntry {
  name?: string;
  fixture: string;
  maxError?: number;
  maxBytes?: number;
  maxMemory?: number;
}
export type SuiteEntry = LayerEntry | FixtureEntry;

/** What every check of a suite has: its place, its name and its estimated cost. */
interface SuiteCheckBase {
  /** Position among the suite's checks (a glob entry makes several), 0-based. */
  index: number;
  /** Position of the entry it came from in the file, 0-based. */
  entry: number;
  name: string;
  /** Estimated seconds (cost.ts): for the total shown first, shard balancing and --max-time. */
  estimate: number;
}

/** A validated layer entry: the request it runs. */
export interface LayerSuiteCheck extends SuiteCheckBase {
  kind: 'layer';
  request: CheckRequest;
}

/** A fixture to compare with the reference. */
export interface FixtureSuiteCheck extends SuiteCheckBase {
  kind: 'fixture';
  /** The absolute path. */
  path: string;
  /** The path as reports show it: relative to the suite file's directory. */
  shown: string;
  maxError?: number;
  maxBytes?: number;
  maxMemory?: number;
}

export type SuiteCheck = LayerSuiteCheck | FixtureSuiteCheck;

/** The settings a suite entry may carry. */
export function suiteSettings(): SettingSpec<unknown>[] {
  return settingList().filter((s) => s.suite);
}

/** The fields a layer entry may have. */
export const SUITE_FIELDS: readonly string[] = ['name', 'layer', 'params', 'shapes', ...suiteSettings().map((s) => s.key)];
/** The fields a fixture entry may have. */
export const FIXTURE_FIELDS: readonly string[] = ['name', 'fixture', 'maxError', 'maxBytes', 'maxMemory'];

/** Largest suite file read, in bytes: a list of checks is a few KiB; more is not a suite. */
export const MAX_SUITE_BYTES = 16 * 1024 * 1024;
/** Longest check name: it is a table cell, a JUnit name and an annotation title. */
export const MAX_NAME_LENGTH = 200;

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Read and validate a suite file (a regular file of at most MAX_SUITE_BYTES). Throws FileError (unreadable) or FormatError (invalid). */
export function readSuiteFile(path: string): SuiteCheck[] {
  const text = readTextFile(path, { label: path, expected: 'a JSON suite file', cannotRead: 'the suite', maxBytes: MAX_SUITE_BYTES });
  return parseSuite(text, path, dirname(path));
}

/** Parse and validate the text of a suite file (nesting bounded, text/json.ts); `source` names it in messages, paths resolve against `baseDir`. */
export function parseSuite(text: string, source: string, baseDir = process.cwd()): SuiteCheck[] {
  const doc = parseUntrustedJson(text, (reason) => {
    throw new FormatError(`${source}: not valid JSON: ${reason}`);
  });
  return resolveSuite(doc, source, baseDir);
}

/** Validate suite entries (parsed JSON, or entries built in code such as the default suite). */
export function resolveSuite(doc: unknown, source: string, baseDir = process.cwd()): SuiteCheck[] {
  if (!Array.isArray(doc)) throw new FormatError(`${source}: expected a JSON array of checks, got ${doc === null ? 'null' : shown(doc)}`);
  if (doc.length === 0) throw new FormatError(`${source}: expected at least one check, got an empty array`);
  const checks: SuiteCheck[] = [];
  doc.forEach((entry, i) => {
    const where = `${source}[${i}]`;
    const made = isObject(entry) && entry.fixture !== undefined ? resolveFixtureEntry(entry, where, i, baseDir) : [resolveEntry(entry, where, i, baseDir)];
    for (const c of made) checks.push({ ...c, index: checks.length });
  });
  const seen = new Map<string, number>();
  for (const c of checks) {
    const prev = seen.get(c.name);
    if (prev !== undefined) {
      const what = c.kind === 'layer' ? c.request.spec.name : 'fixture';
      throw new FormatError(`${source}[${c.entry}] (${what}): name: '${c.name}' is also the name of entry ${prev}: expected a unique name (set "name")`);
    }
    seen.set(c.name, c.entry);
  }
  return checks;
}

/** Validate a fixture entry; a glob gives one check per path it matches. */
export function resolveFixtureEntry(entry: Record<string, unknown>, where: string, index: number, baseDir = process.cwd()): FixtureSuiteCheck[] {
  for (const key of Object.keys(entry)) {
    if (!FIXTURE_FIELDS.includes(key)) throw new FormatError(`${where}: unknown field ${shown(key)} in a fixture entry: expected ${FIXTURE_FIELDS.join(', ')}`);
  }
  const pattern = entry.fixture;
  if (typeof pattern !== 'string' || pattern.trim() === '')
    throw new FormatError(`${where}: fixture: expected a path or a glob such as "fixtures/*.npz", got ${shown(pattern)}`);
  const at = `${where} (fixture)`;
  if (
    entry.name !== undefined &&
    (typeof entry.name !== 'string' || entry.name.trim() === '' || entry.name.length > MAX_NAME_LENGTH || /[\u0000-\u001f\u007f]/.test(entry.name))
  ) {
    throw new FormatError(`${at}: name: expected a one-line label of 1 to ${MAX_NAME_LENGTH} characters, got ${shown(entry.name)}`);
  }
  const raw: Record<string, unknown> = { maxError: entry.maxError, maxBytes: entry.maxBytes, maxMemory: entry.maxMemory };
  let settings: CheckSettings;
  try {
    settings = parseSettings(raw, { text: false, suite: true, labelOf: (s) => `${at}: ${s.key}` });
  } catch (err) {
    throw err instanceof CnnCheckError && !(err instanceof FormatError) ? new FormatError(err.message) : err;
  }
  const paths = expandGlob(pattern, baseDir, `${at}: fixture`);
  if (paths.length === 0) throw new FormatError(`${at}: fixture: '${pattern}' matches no file: expected at least one .npz or fixture directory`);
  const several = isGlob(pattern) && paths.length > 1;
  return paths.map((path) => {
    const rel = relative(baseDir, path) || path;
    let bytes = 0;
    try {
      bytes = statSync(path).size;
    } catch {
      // a missing file is reported when the check runs, as compare reports it
    }
    const label = typeof entry.name === 'string' ? (several ? `${entry.name.trim()} ${rel}` : entry.name.trim()) : `fixture ${rel}`;
    return {
      kind: 'fixture' as const,
      index,
      entry: index,
      name: label,
      path,
      shown: rel,
      estimate: estimateFixtureSeconds(bytes),
      ...(settings.maxError !== undefined ? { maxError: settings.maxError } : {}),
      ...(settings.maxBytes !== undefined ? { maxBytes: settings.maxBytes } : {}),
      ...(settings.maxMemory !== undefined ? { maxMemory: settings.maxMemory } : {}),
    };
  });
}

/** Validate one layer entry. `where` is `file[i]`. */
export function resolveEntry(entry: unknown, where: string, index: number, baseDir = process.cwd()): LayerSuiteCheck {
  if (!isObject(entry)) throw new FormatError(`${where}: expected an object such as {"layer": "conv"} or {"fixture": "fixtures/*.npz"}, got ${shown(entry)}`);
  for (const key of Object.keys(entry)) {
    if (!SUITE_FIELDS.includes(key)) throw new FormatError(`${where}: unknown field ${shown(key)}: expected ${SUITE_FIELDS.join(', ')}`);
  }
  if (typeof entry.layer !== 'string') {
    throw new FormatError(`${where}: layer: expected one of ${LAYERS.map((l) => l.name).join(', ')}, got ${shown(entry.layer)}`);
  }
  let spec: LayerSpec;
  try {
    spec = getLayer(entry.layer);
  } catch (err) {
    throw new FormatError(`${where}: layer: ${(err as Error).message}`);
  }
  // eslint-disable-next-line no-control-regex
  const oneLine = (v: unknown): v is string => typeof v === 'string' && v.trim() !== '' && v.length <= MAX_NAME_LENGTH && !/[\u0000-\u001f\u007f]/.test(v);
  const at = `${where} (${oneLine(entry.name) ? entry.name.trim() : spec.name})`;
  const fail = (field: string, expected: string, got: unknown): never => {
    throw new FormatError(`${at}: ${field}: expected ${expected}, got ${shown(got)}`);
  };
  // Every message names the entry: the layer's own checks (`conv: w channels must ...`) get `at` in front.
  const asFormat = <T>(fn: () => T): T => {
    try {
      return fn();
    } catch (err) {
      if (!(err instanceof CnnCheckError)) throw err;
      const message = err.message.startsWith(where) ? err.message : `${at}: ${err.message}`;
      // A refusal for memory stays one (the entry is valid, only too large for the limit).
      throw err instanceof MemoryLimitError ? new MemoryLimitError(message) : new FormatError(message);
    }
  };
  if (entry.name !== undefined && !oneLine(entry.name)) fail('name', `a one-line label of 1 to ${MAX_NAME_LENGTH} characters`, entry.name);

  const raw: Record<string, unknown> = {};
  for (const s of suiteSettings()) raw[s.key] = entry[s.key];
  const settings = asFormat(() => parseSettings(raw, { text: false, suite: true, labelOf: (s) => `${at}: ${s.key}` }));
  const impls = settings.impls;
  if (impls?.some((n) => !implNames(spec).includes(n))) {
    fail(
      'impls',
      `a list of implementations of ${spec.name}: ${implNames(spec)
        .map((h) => `"${h}"`)
        .join(', ')}`,
      impls.join(','),
    );
  }

  const rawParams = entry.params ?? {};
  if (!isObject(rawParams)) fail('params', `an object of ${spec.name}'s params such as {"${spec.params[0]?.name ?? 'name'}": ...}`, rawParams);
  const rawShapes = entry.shapes ?? {};
  if (!isObject(rawShapes)) fail('shapes', 'an object of input shapes such as {"x": [4, 3, 5, 5]}', rawShapes);
  const request = asFormat(() =>
    buildCheckRequest(
      spec,
      { params: rawParams as Record<string, unknown>, shapes: rawShapes as Record<string, unknown> },
      settings,
      {
        text: false,
        param: (_p, key) => `${at}: params.${key}`,
        shape: (input) => `${at}: shapes.${input}`,
        params: `${at}: params`,
      },
      baseDir,
    ),
  );
  const name = typeof entry.name === 'string' ? entry.name.trim() : checkName(request);
  return { kind: 'layer', index, entry: index, name, request, estimate: estimateCheckSeconds(request) };
}

/** How a setting that differs from its suite default shows in a check's name. */
function nameToken(s: SettingSpec<unknown>, v: unknown): string {
  if (s.key === 'dtype' || s.key === 'checkMode') return String(v);
  if (typeof v === 'boolean') return s.key;
  if (Array.isArray(v)) return v.join('+');
  if (typeof v === 'object' && v !== null)
    return Object.entries(v)
      .map(([k, p]) => `${s.key} ${k}=${p}`)
      .join(' ');
  return `${s.key}=${typeof v === 'number' ? fmtNum(v) : v}`;
}

/**
 * The default name of a check: the layer and whatever differs from the layer command's
 * defaults: `conv stride=2 x 5,3,6,6 float32 sampled`.
 */
export function checkName(r: CheckRequest): string {
  const parts = [r.spec.name];
  for (const p of r.spec.params) if (r.params[p.name] !== p.default) parts.push(`${p.name}=${r.params[p.name]}`);
  for (const input of r.spec.inputs) {
    const s = r.givenShapes[input.name];
    if (s && !(Array.isArray(input.shape) && s.join(',') === input.shape.join(','))) parts.push(`${input.name} ${s.join(',')}`);
  }
  const defaults = defaultSettings({ suite: true }) as Record<string, unknown>;
  for (const s of suiteSettings()) {
    const v = (r.settings as Record<string, unknown>)[s.key];
    if (v !== undefined && JSON.stringify(v) !== JSON.stringify(defaults[s.key])) parts.push(nameToken(s, v));
  }
  if (parts.length === 1) parts.push('(defaults)');
  return parts.join(' ');
}

/** A validated check written back as an entry (what `suite --print` shows): the layer, its params, and the settings that differ from the defaults. */
export function entryOf(c: SuiteCheck): SuiteEntry {
  if (c.kind === 'fixture') {
    return {
      name: c.name,
      fixture: c.shown,
      ...(c.maxError !== undefined ? { maxError: c.maxError } : {}),
      ...(c.maxBytes !== undefined ? { maxBytes: c.maxBytes } : {}),
      ...(c.maxMemory !== undefined ? { maxMemory: c.maxMemory } : {}),
    };
  }
  const r = c.request;
  const e: Record<string, unknown> = { name: c.name, layer: r.spec.name };
  if (r.spec.params.length) e.params = { ...r.params };
  if (Object.keys(r.givenShapes).length) e.shapes = { ...r.givenShapes };
  const defaults = defaultSettings({ suite: true }) as Record<string, unknown>;
  for (const s of suiteSettings()) {
    const v = (r.settings as Record<string, unknown>)[s.key];
    // checkMode, dtype and seed are always written: they say how the check ran.
    const always = s.key === 'checkMode' || s.key === 'dtype' || s.key === 'seed';
    if (v !== undefined && (always || JSON.stringify(v) !== JSON.stringify(defaults[s.key]))) e[s.key] = v;
  }
  return e as SuiteEntry;
}
