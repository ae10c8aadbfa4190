/**
 * A check request: one layer check fully described as data, built once from wherever its
 * settings came from (a layer command's flags, a suite entry) and run by one function. The
 * layer commands, suites and (through them) CI all check through here, so a setting means the
 * same everywhere.
 */
import { isAbsolute, resolve } from 'node:path';
import { CnnCheckError, UsageError } from '../errors.js';
import { checkDims, isSettable, parseShape, resolveParams, resolveShapes, type ParamSource } from '../layers/params.js';
import type { Inputs, LayerSpec, ParamSpec, Params, Shapes } from '../layers/types.js';
import { linspaceInput, loadCase, makeRng, shapesOf } from '../fixtures/inputs.js';
import { checkLayer, type CheckProgress, type LayerCheckReport } from '../gradcheck/check-layer.js';
import { ModuleSet, parseImplRef } from '../impls/registry.js';
import type { CheckSettings } from '../settings/schema.js';
import type { Tensor } from '../tensor/tensor.js';
import { requireMemory, type MemoryEstimate } from '../memory/estimate.js';
import { memoryLimit } from '../memory/limit.js';
import { describeCase, estimateCheckMemory } from '../memory/work.js';

/** One check, resolved: the layer, its params and shapes, the settings, the inputs it has. */
export interface CheckRequest {
  spec: LayerSpec;
  params: Params;
  /** Every input's shape, derived ones included. */
  shapes: Shapes;
  /** The shapes the user set (what `--<input>-shape` says), for names and `suite --print`. */
  givenShapes: Shapes;
  settings: CheckSettings;
  /** Inputs loaded from files or filled by `init: linspace`; the rest are drawn from the seed. */
  inputs: Inputs;
  dout?: Tensor;
  /** The directory relative paths (`impl`, `inputs`, `input`) were resolved against. */
  baseDir: string;
}

/** A layer's params and shapes as given: flag text or JSON values. */
export interface RawCase {
  /** By cs231n name or any flag spelling (`G`, `groups`). */
  params: Record<string, unknown>;
  /** By settable input name: `'4,3,5,5'` (text) or `[4, 3, 5, 5]` (JSON). */
  shapes: Record<string, unknown>;
}

/** How the values of a request are named in messages, and whether they are flag text. */
export interface RequestLabels {
  text: boolean;
  param(p: ParamSpec, key: string): string;
  shape(input: string): string;
  /** Where the params are, for a message about an unknown one. */
  params?: string;
}

/** The labels of a layer command: `--stride`, `--x-shape`. */
export const FLAG_LABELS: RequestLabels = {
  text: true,
  param: (_p, key) => `--${key}`,
  shape: (input) => `--${input}-shape`,
};

/** The memory a request is held to before any input is filled: what the work is, and its estimate. */
export interface RequestMemory {
  /** How the refusal names the work: `its check`, `its export`. */
  what: string;
  estimate(shapes: Shapes, params: Params): MemoryEstimate;
}

/** `path` against `baseDir` unless absolute. */
function under(baseDir: string, path: string): string {
  return isAbsolute(path) ? path : resolve(baseDir, path);
}

/**
 * Build a request: load files the settings name, resolve params (the fixture's meta first,
 * then the given ones) and shapes, validate them against the layer, hold the work's estimated
 * memory to `settings.maxMemory` (the check's, unless `memory` says which work), fill linspace
 * inputs. Throws CnnCheckError (exit 2) naming the bad value.
 */
export function buildCheckRequest(
  spec: LayerSpec,
  raw: RawCase,
  settings: CheckSettings,
  labels: RequestLabels,
  baseDir = process.cwd(),
  memory?: RequestMemory,
): CheckRequest {
  const inputFiles: Record<string, string> = {};
  for (const [k, v] of Object.entries(settings.input)) inputFiles[k] = under(baseDir, v);
  const inputsPath = settings.inputs === undefined ? undefined : under(baseDir, settings.inputs);
  const loaded =
    inputsPath !== undefined || Object.keys(inputFiles).length
      ? loadCase(spec, inputsPath, inputFiles, settings.maxBytes)
      : { inputs: {}, dout: undefined, metaParams: undefined };
  const sources: ParamSource[] = [];
  if (loaded.metaParams)
    sources.push({
      values: loaded.metaParams,
      text: false,
      label: (_p, key) => `${settings.inputs}: meta.params.${key}`,
      where: `${settings.inputs}: meta.params`,
    });
  sources.push({ values: raw.params, text: labels.text, label: labels.param, where: labels.params });
  const params = resolveParams(spec, ...sources);

  const given: Shapes = shapesOf(loaded.inputs);
  const givenShapes: Shapes = {};
  for (const [name, v] of Object.entries(raw.shapes)) {
    if (v === undefined) continue;
    const input = spec.inputs.find((i) => i.name === name);
    if (!input || !isSettable(input)) {
      const settable = spec.inputs.filter(isSettable).map((i) => i.name);
      const derived = input ? ` (${name}'s shape follows from the others)` : '';
      throw new UsageError(`${labels.shape(name)}: ${spec.name} has no settable input '${name}'${derived}: expected ${settable.join(', ') || 'none'}`);
    }
    if (given[name]) {
      throw new UsageError(`${labels.shape(name)}: ${name} is loaded from a file, so its shape comes from the file; drop ${labels.shape(name)}`);
    }
    const dims = typeof v === 'string' && labels.text ? parseShape(labels.shape(name), v) : checkDims(labels.shape(name), Array.isArray(v) ? v : [v], v);
    given[name] = dims;
    givenShapes[name] = dims;
  }
  const shapes = resolveShapes(spec, given, params);
  spec.check(shapes, params);
  // Before any input is filled: refused work allocates nothing.
  const work = memory ?? { what: 'its check', estimate: () => estimateCheckMemory({ spec, shapes, params, settings }) };
  requireMemory(
    `${describeCase(spec, params, shapes)}: ${work.what}`,
    work.estimate(shapes, params),
    memoryLimit(settings.maxMemory, labels.text ? '--max-memory' : 'maxMemory'),
  );
  const inputs: Inputs = { ...loaded.inputs };
  if (settings.init === 'linspace') {
    for (const input of spec.inputs) {
      if (inputs[input.name]) continue;
      const t = linspaceInput(input, shapes[input.name]);
      if (t) inputs[input.name] = t;
    }
  }
  return { spec, params, shapes, givenShapes, settings, inputs, dout: loaded.dout, baseDir };
}

/** How a request runs: where progress and a module's output go, and the modules open for the run. */
export interface RunOptions {
  onProgress?: (p: CheckProgress) => void;
  /** Receives a user module's own output, one line at a time, with the module's file name. */
  log?: (module: string, line: string) => void;
  /** Modules opened by earlier requests of the run (a suite); a fresh set closed after this one when absent. */
  modules?: ModuleSet;
}

/** `ref` as the user wrote it, with the functions a module chose when `source` names them (`layers.py:conv_forward_naive,conv_backward_naive`). */
function asWritten(ref: string, source: string | undefined): string {
  const fns = source === undefined ? undefined : /:([\w$]+,[\w$]+)$/.exec(source)?.[1];
  return fns === undefined || ref.endsWith(`:${fns}`) ? ref : `${parseImplRef(ref).path}:${fns}`;
}

/** Run a request: open the user's module if it names one, check, close. */
export function runCheckRequest(req: CheckRequest, opts: RunOptions = {}): LayerCheckReport {
  const s = req.settings;
  const modules = opts.modules ?? new ModuleSet();
  try {
    const external =
      s.impl === undefined
        ? []
        : modules
            .implementations(under(req.baseDir, s.impl), req.spec, {
              timeout: s.timeout,
              label: `--impl ${s.impl}`,
              log: (line) => opts.log?.(s.impl!.replace(/^.*[\\/]/, ''), line),
              // A path is relative to the suite file or working directory; a bare name is looked up on PATH.
              python: s.python !== undefined && /[\\/]/.test(s.python) ? under(req.baseDir, s.python) : s.python,
            })
            .map((im) => ({ ...im, source: asWritten(s.impl!, im.source) })); // reports name the module as the user wrote it
    return checkLayer(req.spec, {
      params: req.params,
      shapes: req.givenShapes,
      inputs: req.inputs,
      dout: req.dout,
      rng: makeRng(s.rng, s.seed),
      seed: s.seed,
      h: s.h,
      maxError: s.maxError,
      strictKinks: s.strictKinks,
      repeat: s.repeat,
      mode: s.checkMode,
      samples: s.samples,
      directions: s.directions,
      budget: s.budget,
      dtype: s.dtype,
      hSweep: s.hSweep,
      impls: s.impls,
      external,
      maxMemory: s.maxMemory,
      onProgress: opts.onProgress,
    });
  } finally {
    if (!opts.modules) modules.closeAll();
  }
}

/** Re-throw a user error with `prefix: ` before its message, as the same class. */
export function withContext<T>(prefix: string, fn: () => T, wrap: (message: string) => CnnCheckError): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof CnnCheckError) throw wrap(`${prefix}: ${err.message}`);
    throw err;
  }
}
