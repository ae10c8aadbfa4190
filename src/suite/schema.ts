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
 * Fields of an entry (only `layer` is required; each absent field takes the layer command's
 * default, except `repeat`, which is 0: a suite reports check times, not a timing table):
 *
 * | field | value | like the flag |
 * |---|---|---|
 * | `name` | a label, unique in the suite (default: built from the settings) | |
 * | `layer` | a registered layer name (snake_case or kebab-case) | the command |
 * | `params` | `{cs231n name: value}`; numbers for numeric params, strings for enums | `--stride` ... |
 * | `shapes` | `{input: [dims]}` for inputs the layer lets you set | `--x-shape` ... |
 * | `checkMode` | `full`, `sampled`, `directional` or `auto` | `--check-mode` |
 * | `samples`, `directions` | integers >= 1 | `--samples`, `--directions` |
 * | `budget` | seconds > 0 | `--budget` |
 * | `dtype` | `float64` or `float32` | `--dtype` |
 * | `maxError` | a threshold > 0 | `--max-error` |
 * | `h` | a step in (0, 1] | `--h` |
 * | `seed` | an integer in [0, 2^32 - 1] | `--seed` |
 * | `rng`, `init` | `default`/`numpy`, `randn`/`linspace` | `--rng`, `--init` |
 * | `strictKinks` | a boolean | `--strict-kinks` |
 * | `impls` | a non-empty list of the layer's implementations, `["fast"]` | |
 * | `repeat` | timing runs per implementation, 0 to 10000 (default 0) | `--repeat` |
 *
 * Validation is strict and complete before anything runs: an unknown field, a value of the
 * wrong type or domain, a param the layer does not have or shapes the layer refuses is a
 * FormatError whose one line names the file, the entry and the field:
 * `suite.json[2] (conv): params.stride: expected an integer >= 1, got 0`.
 */
import { CnnCheckError, FormatError } from '../errors.js';
import { readTextFile } from '../fs/read.js';
import { clip, showJson } from '../text/escape.js';
import { parseUntrustedJson } from '../text/json.js';
import { getLayer, LAYERS } from '../layers/registry.js';
import type { ImplName, LayerSpec, ParamSpec, Params, Shapes } from '../layers/types.js';
import { describeDomain, isSettable, resolveParams, resolveShapes } from '../layers/params.js';
import { CHECK_MODES, type CheckMode } from '../gradcheck/modes.js';
import { DEFAULT_SEED } from '../gradcheck/check-layer.js';
import { INIT_NAMES, RNG_NAMES, type InitName, type RngName } from '../fixtures/inputs.js';
import type { DType } from '../tensor/tensor.js';

/** One entry of a suite file, as written (see the module comment for the fields). */
export interface SuiteEntry {
  name?: string;
  layer: string;
  params?: Record<string, number | string>;
  shapes?: Record<string, number[]>;
  checkMode?: CheckMode;
  samples?: number;
  directions?: number;
  budget?: number;
  dtype?: DType;
  maxError?: number;
  h?: number;
  seed?: number;
  rng?: RngName;
  init?: InitName;
  strictKinks?: boolean;
  impls?: ImplName[];
  repeat?: number;
}

/** A validated entry: the layer, its resolved params and shapes, and the settings of its check. */
export interface SuiteCheck {
  /** Position in the suite, 0-based. */
  index: number;
  name: string;
  spec: LayerSpec;
  params: Params;
  /** Every input's shape, derived ones included. */
  shapes: Shapes;
  /** The shapes the entry set (what `--<input>-shape` would have). */
  givenShapes: Shapes;
  checkMode: CheckMode;
  samples?: number;
  directions?: number;
  budget?: number;
  dtype: DType;
  maxError?: number;
  h?: number;
  seed: number;
  rng: RngName;
  init: InitName;
  strictKinks: boolean;
  impls?: ImplName[];
  repeat: number;
}

/** The fields an entry may have. */
export const SUITE_FIELDS = [
  'name', 'layer', 'params', 'shapes', 'checkMode', 'samples', 'directions', 'budget', 'dtype',
  'maxError', 'h', 'seed', 'rng', 'init', 'strictKinks', 'impls', 'repeat',
] as const;

/** Largest suite file read, in bytes: a list of checks is a few KiB; more is not a suite. */
export const MAX_SUITE_BYTES = 16 * 1024 * 1024;
/** Longest check name: it is a table cell, a JUnit name and an annotation title. */
export const MAX_NAME_LENGTH = 200;

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** A JSON value shown in a message, shortened. */
function shown(v: unknown): string {
  // Strings as JSON writes them, between single quotes: control characters escaped, one line.
  // NOTE: showJson, not JSON.stringify: an untrusted value may be huge or nested deep.
  const s = typeof v === 'string' ? `'${JSON.stringify(v.slice(0, 61)).slice(1, -1)}'` : v === undefined ? 'nothing' : showJson(v, 60);
  return clip(s.length > 60 ? `${s.slice(0, 57)}...` : s);
}

/** Read and validate a suite file. Throws FileError (unreadable) or FormatError (invalid). */
export function readSuiteFile(path: string): SuiteCheck[] {
  const text = readTextFile(path, { label: path, expected: 'a JSON suite file', cannotRead: 'the suite', maxBytes: MAX_SUITE_BYTES });
  return parseSuite(text, path);
}

/** Parse and validate the text of a suite file; `source` names it in messages. */
export function parseSuite(text: string, source: string): SuiteCheck[] {
  const doc = parseUntrustedJson(text, (reason) => {
    throw new FormatError(`${source}: not valid JSON: ${reason}`);
  });
  return resolveSuite(doc, source);
}

/** Validate suite entries (parsed JSON, or entries built in code such as the default suite). */
export function resolveSuite(doc: unknown, source: string): SuiteCheck[] {
  if (!Array.isArray(doc)) throw new FormatError(`${source}: expected a JSON array of checks, got ${doc === null ? 'null' : typeof doc === 'object' ? 'an object' : shown(doc)}`);
  if (doc.length === 0) throw new FormatError(`${source}: expected at least one check, got an empty array`);
  const checks = doc.map((entry, i) => resolveEntry(entry, `${source}[${i}]`, i));
  const seen = new Map<string, number>();
  for (const c of checks) {
    const prev = seen.get(c.name);
    if (prev !== undefined) {
      throw new FormatError(`${source}[${c.index}] (${c.spec.name}): name: '${c.name}' is also the name of entry ${prev}: expected a unique name (set "name")`);
    }
    seen.set(c.name, c.index);
  }
  return checks;
}

/** Validate one entry. `where` is `file[i]`. */
export function resolveEntry(entry: unknown, where: string, index: number): SuiteCheck {
  if (!isObject(entry)) throw new FormatError(`${where}: expected an object such as {"layer": "conv"}, got ${shown(entry)}`);
  const known = new Set<string>(SUITE_FIELDS);
  for (const key of Object.keys(entry)) {
    if (!known.has(key)) throw new FormatError(`${where}: unknown field '${clip(key)}': expected ${SUITE_FIELDS.join(', ')}`);
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

  const num = (field: string, o: { integer?: boolean; min?: number; minExclusive?: boolean; max?: number; what: string }): number | undefined => {
    const v = entry[field];
    if (v === undefined) return undefined;
    const ok = typeof v === 'number' && Number.isFinite(v) && (!o.integer || Number.isInteger(v)) &&
      (o.min === undefined || (o.minExclusive ? v > o.min : v >= o.min)) && (o.max === undefined || v <= o.max);
    return ok ? (v as number) : fail(field, o.what, v);
  };
  const choice = <T extends string>(field: string, choices: readonly T[], dflt: T): T => {
    const v = entry[field];
    if (v === undefined) return dflt;
    return typeof v === 'string' && (choices as readonly string[]).includes(v) ? (v as T) : fail(field, `one of ${choices.join(', ')}`, v);
  };

  // params: numbers for numeric params and strings for enums (no "2" for 2: a suite is data, not flags).
  const rawParams = entry.params ?? {};
  if (!isObject(rawParams)) fail('params', `an object of ${spec.name}'s params such as {"${spec.params[0]?.name ?? 'name'}": ...}`, rawParams);
  const byName = new Map<string, ParamSpec>(spec.params.map((p) => [p.name, p]));
  for (const [key, v] of Object.entries(rawParams as Record<string, unknown>)) {
    const p = byName.get(key);
    if (!p) throw new FormatError(`${at}: params: unknown param '${clip(key)}': expected ${spec.params.length ? spec.params.map((q) => q.name).join(', ') : `none (${spec.name} has no params)`}`);
    if (p.kind === 'enum' ? typeof v !== 'string' : typeof v !== 'number') fail(`params.${key}`, describeDomain(p), v);
  }
  let params: Params;
  try {
    params = resolveParams(spec, rawParams as Record<string, unknown>, (p) => `${at}: params.${p.name}`);
  } catch (err) {
    if (err instanceof CnnCheckError) throw new FormatError(err.message);
    throw err;
  }

  const rawShapes = entry.shapes ?? {};
  if (!isObject(rawShapes)) fail('shapes', 'an object of input shapes such as {"x": [4, 3, 5, 5]}', rawShapes);
  const settable = spec.inputs.filter(isSettable).map((i) => i.name);
  const givenShapes: Shapes = {};
  for (const [key, v] of Object.entries(rawShapes as Record<string, unknown>)) {
    if (!settable.includes(key)) {
      const derived = spec.inputs.some((i) => i.name === key) ? ` (${key}'s shape follows from the others)` : '';
      throw new FormatError(`${at}: shapes: unknown input '${clip(key)}'${derived}: expected ${settable.join(', ') || 'none'}`);
    }
    if (!Array.isArray(v) || v.length === 0 || v.some((d) => typeof d !== 'number' || !Number.isSafeInteger(d) || d <= 0)) {
      fail(`shapes.${key}`, 'a non-empty array of positive integers such as [4, 3, 5, 5]', v);
    }
    givenShapes[key] = [...(v as number[])];
  }
  let shapes: Shapes;
  try {
    shapes = resolveShapes(spec, givenShapes, params);
    spec.check(shapes, params);
  } catch (err) {
    if (err instanceof CnnCheckError) throw new FormatError(`${at}: shapes: ${err.message}`);
    throw err;
  }

  let impls: ImplName[] | undefined;
  if (entry.impls !== undefined) {
    const have = Object.keys(spec.impls).filter((k) => spec.impls[k as ImplName]) as ImplName[];
    const v = entry.impls;
    if (!Array.isArray(v) || v.length === 0 || v.some((x) => typeof x !== 'string' || !(have as string[]).includes(x)) || new Set(v).size !== v.length) {
      fail('impls', `a non-empty list of distinct implementations of ${spec.name}: ${have.map((h) => `"${h}"`).join(', ')}`, v);
    }
    impls = v as ImplName[];
  }

  if (entry.strictKinks !== undefined && typeof entry.strictKinks !== 'boolean') fail('strictKinks', 'true or false', entry.strictKinks);
  if (entry.name !== undefined) {
    if (!oneLine(entry.name)) fail('name', `a one-line label of 1 to ${MAX_NAME_LENGTH} characters`, entry.name);
  }

  const check: SuiteCheck = {
    index,
    name: '',
    spec,
    params,
    shapes,
    givenShapes,
    checkMode: choice('checkMode', CHECK_MODES, 'auto'),
    samples: num('samples', { integer: true, min: 1, what: 'an integer >= 1' }),
    directions: num('directions', { integer: true, min: 1, what: 'an integer >= 1' }),
    budget: num('budget', { min: 0, minExclusive: true, what: 'a positive number of seconds' }),
    dtype: choice('dtype', ['float64', 'float32'] as const, 'float64'),
    maxError: num('maxError', { min: 0, minExclusive: true, what: 'a positive number such as 1e-7' }),
    h: num('h', { min: 0, minExclusive: true, max: 1, what: 'a step in (0, 1] such as 1e-5' }),
    seed: num('seed', { integer: true, min: 0, max: 4294967295, what: 'an integer in [0, 4294967295]' }) ?? DEFAULT_SEED,
    rng: choice('rng', RNG_NAMES, 'default'),
    init: choice('init', INIT_NAMES, 'randn'),
    strictKinks: entry.strictKinks === true,
    impls,
    repeat: num('repeat', { integer: true, min: 0, max: 10000, what: 'an integer in [0, 10000]' }) ?? 0,
  };
  check.name = typeof entry.name === 'string' ? entry.name.trim() : checkName(check);
  return check;
}

/**
 * The default name of a check: the layer and whatever differs from the layer command's
 * defaults: `conv stride=2 x 5,3,6,6 float32 sampled`.
 */
export function checkName(c: Omit<SuiteCheck, 'name' | 'index'>): string {
  const parts = [c.spec.name];
  for (const p of c.spec.params) if (c.params[p.name] !== p.default) parts.push(`${p.name}=${c.params[p.name]}`);
  for (const input of c.spec.inputs) {
    const s = c.givenShapes[input.name];
    if (s && !(Array.isArray(input.shape) && s.join(',') === input.shape.join(','))) parts.push(`${input.name} ${s.join(',')}`);
  }
  if (c.dtype !== 'float64') parts.push(c.dtype);
  if (c.checkMode !== 'auto') parts.push(c.checkMode);
  if (c.samples !== undefined) parts.push(`samples=${c.samples}`);
  if (c.directions !== undefined) parts.push(`directions=${c.directions}`);
  if (c.h !== undefined) parts.push(`h=${c.h}`);
  if (c.maxError !== undefined) parts.push(`maxError=${c.maxError}`);
  if (c.seed !== DEFAULT_SEED) parts.push(`seed=${c.seed}`);
  if (c.rng !== 'default') parts.push(`rng=${c.rng}`);
  if (c.init !== 'randn') parts.push(`init=${c.init}`);
  if (c.strictKinks) parts.push('strictKinks');
  if (c.impls) parts.push(c.impls.join('+'));
  if (parts.length === 1) parts.push('(defaults)');
  return parts.join(' ');
}

/** A validated check written back as an entry (what `suite --print` shows). */
export function entryOf(c: SuiteCheck): SuiteEntry {
  const e: SuiteEntry = { name: c.name, layer: c.spec.name };
  if (c.spec.params.length) e.params = { ...c.params };
  if (Object.keys(c.givenShapes).length) e.shapes = { ...c.givenShapes };
  e.checkMode = c.checkMode;
  if (c.samples !== undefined) e.samples = c.samples;
  if (c.directions !== undefined) e.directions = c.directions;
  if (c.budget !== undefined) e.budget = c.budget;
  e.dtype = c.dtype;
  if (c.maxError !== undefined) e.maxError = c.maxError;
  if (c.h !== undefined) e.h = c.h;
  e.seed = c.seed;
  if (c.rng !== 'default') e.rng = c.rng;
  if (c.init !== 'randn') e.init = c.init;
  if (c.strictKinks) e.strictKinks = true;
  if (c.impls) e.impls = [...c.impls];
  if (c.repeat) e.repeat = c.repeat;
  return e;
}
