/**
 * Parameter and shape resolution at the public boundary: raw values (flag text, a suite entry,
 * a fixture's meta, a library call) are parsed and validated against a LayerSpec once, before
 * any work; layers' own code then trusts them.
 */
import { ParamError, ShapeError, UsageError } from '../errors.js';
import { INT_LIMIT, parseValue, shown } from '../settings/domain.js';
import type { Rng } from '../tensor/rng.js';
import { size, type Tensor } from '../tensor/tensor.js';
import type { InputSpec, LayerSpec, ParamSpec, ParamValue, Params, Shapes } from './types.js';

/** Raw params from one place: flag text (numbers parsed from strings) or JSON values. */
export interface ParamSource {
  /** Raw values by cs231n name or any spelling of paramSpellings. */
  values: Record<string, unknown>;
  /** True when the values are flag text. */
  text: boolean;
  /** How a value is named in messages: `--stride`, `suite.json[2] (conv): params.stride`. */
  label(p: ParamSpec, key: string): string;
  /** Where the params are, for a message about an unknown one (default: the layer's name). */
  where?: string;
}

/** The names a param is accepted under besides its cs231n name: its flag and the flag's aliases. */
export function paramSpellings(p: ParamSpec): string[] {
  return [...new Set([p.name, p.flag, ...(p.aliases ?? [])])];
}

/**
 * Resolve every param of `spec` from `sources` (later sources override earlier ones, as flags
 * override a fixture's meta); missing params take their defaults. Keys are cs231n names or any
 * spelling of paramSpellings (`groups` for `G`); unknown keys and one param given twice in one
 * source are refused, so a typo never silently falls back to a default.
 */
export function resolveParams(spec: LayerSpec, ...sources: ParamSource[]): Params {
  const byKey = new Map<string, ParamSpec>();
  for (const p of spec.params) for (const k of paramSpellings(p)) byKey.set(k, p);
  const params: Params = {};
  for (const p of spec.params) params[p.name] = p.default;
  for (const source of sources) {
    const seen = new Map<ParamSpec, string>();
    for (const [key, v] of Object.entries(source.values)) {
      if (v === undefined) continue;
      const p = byKey.get(key);
      if (!p) {
        const expected = spec.params.length ? spec.params.map((q) => q.name).join(', ') : `none (${spec.name} has no params)`;
        throw new ParamError(`${source.where ?? spec.name}: unknown param ${shown(key)}: expected ${expected}`);
      }
      const previous = seen.get(p);
      if (previous !== undefined) throw new ParamError(`${spec.name}: param ${p.name} is given twice, as '${previous}' and as '${key}': expected one`);
      seen.set(p, key);
      params[p.name] = parseValue(p, v, source.label(p, key), source.text) as ParamValue;
    }
  }
  return params;
}

/** `spec`'s params from a library call: validated, defaults filled, labelled `<layer>: <name>`. */
export function validateParams(spec: LayerSpec, raw: Record<string, unknown>): Params {
  return resolveParams(spec, { values: raw, text: false, label: (p) => `${spec.name}: ${p.name}` });
}

/** The default of every param of `spec`. */
export function defaultParams(spec: LayerSpec): Params {
  return Object.fromEntries(spec.params.map((p) => [p.name, p.default]));
}

/** Parse a shape flag such as `4,3,5,5`; throws UsageError naming the flag. */
export function parseShape(flag: string, text: string): number[] {
  const parts = text.split(',').map((s) => s.trim());
  if (text.trim() === '' || parts.some((s) => !/^[+-]?\d+$/.test(s))) {
    throw new UsageError(`${flag}: expected a comma-separated list of integers such as 4,3,5,5, got ${shown(text)}`);
  }
  return checkDims(flag, parts.map(Number), text);
}

/** Check the dimensions of a shape given as numbers (a suite entry, a library call); returns them. */
export function checkDims(label: string, dims: readonly unknown[], asGiven: unknown = dims): number[] {
  if (dims.length === 0 || dims.some((d) => typeof d !== 'number' || !Number.isInteger(d) || d <= 0)) {
    throw new ShapeError(`${label}: expected positive integer dimensions, got ${shown(asGiven)}`);
  }
  if (dims.some((d) => (d as number) > INT_LIMIT)) {
    throw new ShapeError(`${label}: expected dimensions of at most ${INT_LIMIT}, got ${shown(asGiven)}`);
  }
  return dims as number[];
}

/** True when an input's shape is set by the user (`--<name>-shape`) rather than derived. */
export function isSettable(input: InputSpec): boolean {
  return Array.isArray(input.shape);
}

/** The default shapes of the inputs the user can set. */
export function defaultGivenShapes(spec: LayerSpec): Shapes {
  const shapes: Shapes = {};
  for (const input of spec.inputs) if (Array.isArray(input.shape)) shapes[input.name] = [...input.shape];
  return shapes;
}

/** Shapes of every input: given ones first, defaults for the rest, derived ones computed in order. */
export function resolveShapes(spec: LayerSpec, given: Shapes, params: Params): Shapes {
  const shapes: Shapes = {};
  for (const input of spec.inputs) {
    if (given[input.name]) shapes[input.name] = given[input.name];
    else if (Array.isArray(input.shape)) shapes[input.name] = [...input.shape];
    else shapes[input.name] = input.shape(shapes, params);
  }
  return shapes;
}

/** Values for one generated input of `shape`, drawn from `rng` as the input's init says. */
export function generateInput(input: InputSpec, shape: number[], rng: Rng, shapes: Shapes = {}): Tensor {
  const data = new Float64Array(size(shape));
  switch (input.init ?? 'randn') {
    case 'labels': {
      const classes = input.classes?.(shapes) ?? 2;
      for (let i = 0; i < data.length; i++) data[i] = rng.randint(classes);
      break;
    }
    case 'randn':
      for (let i = 0; i < data.length; i++) data[i] = rng.randn();
      break;
    case 'positive':
      for (let i = 0; i < data.length; i++) data[i] = 0.5 + rng.uniform();
      break;
    case 'ones':
      data.fill(1);
      break;
    case 'zeros':
      break;
  }
  return { data, shape: [...shape] };
}

/** Generated inputs for every input of `spec` at `shapes`, in declaration order. */
export function generateInputs(spec: LayerSpec, shapes: Shapes, rng: Rng): Record<string, Tensor> {
  const inputs: Record<string, Tensor> = {};
  for (const input of spec.inputs) inputs[input.name] = generateInput(input, shapes[input.name], rng, shapes);
  return inputs;
}
