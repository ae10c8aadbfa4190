/**
 * Parameter and shape resolution at the public boundary: raw values (CLI strings or
 * fixture JSON) are parsed and validated against a LayerSpec once, before any work.
 */
import { ParamError, UsageError, ShapeError } from '../errors.js';
import type { Rng } from '../tensor/rng.js';
import { size, type Tensor } from '../tensor/tensor.js';
import type { InputSpec, LayerSpec, ParamSpec, ParamValue, Params, Shapes } from './types.js';
import { clip, showJson } from '../text/escape.js';

/** Human description of a param's domain: "an integer >= 1", "one of train, test". */
export function describeDomain(p: ParamSpec): string {
  if (p.kind === 'enum') return `one of ${(p.choices ?? []).join(', ')}`;
  const what = p.kind === 'int' ? 'an integer' : 'a number';
  const parts: string[] = [];
  if (p.min !== undefined) parts.push(`${p.minExclusive ? '>' : '>='} ${p.min}`);
  if (p.max !== undefined) parts.push(`<= ${p.max}`);
  return parts.length ? `${what} ${parts.join(' and ')}` : what;
}

/**
 * Parse and validate one param value. `label` names where it came from in messages
 * (`--stride`, `meta.params.stride`). Accepts strings (CLI) and JSON values (fixtures).
 */
export function parseParam(p: ParamSpec, raw: unknown, label: string): ParamValue {
  const fail = (): never => {
    throw new ParamError(`${label}: expected ${describeDomain(p)}, got ${typeof raw === 'string' ? `'${clip(raw)}'` : showJson(raw)}`);
  };
  if (p.kind === 'enum') {
    if (typeof raw !== 'string' || !(p.choices ?? []).includes(raw)) fail();
    return raw as string;
  }
  let v: number;
  if (typeof raw === 'number') v = raw;
  else if (typeof raw === 'string' && raw.trim() !== '' && /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(raw.trim())) v = Number(raw);
  else return fail();
  if (!Number.isFinite(v)) fail();
  if (p.kind === 'int' && !Number.isInteger(v)) fail();
  if (p.min !== undefined && (p.minExclusive ? v <= p.min : v < p.min)) fail();
  if (p.max !== undefined && v > p.max) fail();
  return v;
}

/**
 * Resolve every param of `spec` from `raw` (missing ones take their defaults).
 * Unknown keys are refused so a typo never silently falls back to a default.
 */
export function resolveParams(spec: LayerSpec, raw: Record<string, unknown>, labelOf: (p: ParamSpec) => string): Params {
  const known = new Set(spec.params.map((p) => p.name));
  for (const key of Object.keys(raw)) {
    if (!known.has(key)) {
      const expected = spec.params.length ? spec.params.map((p) => p.name).join(', ') : 'none';
      throw new ParamError(`${spec.name}: unknown param '${clip(key)}': expected ${expected}`);
    }
  }
  const params: Params = {};
  for (const p of spec.params) {
    params[p.name] = raw[p.name] === undefined ? p.default : parseParam(p, raw[p.name], labelOf(p));
  }
  return params;
}

/** Parse a shape flag such as `4,3,5,5`; throws UsageError naming the flag. */
export function parseShape(flag: string, text: string): number[] {
  const parts = text.split(',').map((s) => s.trim());
  const dims = parts.map(Number);
  if (text.trim() === '' || parts.some((s) => !/^[+-]?\d+$/.test(s))) {
    throw new UsageError(`${flag}: expected a comma-separated list of integers such as 4,3,5,5, got '${clip(text)}'`);
  }
  if (dims.some((d) => d <= 0 || !Number.isSafeInteger(d))) {
    throw new ShapeError(`${flag}: expected positive dimensions, got '${clip(text)}'`);
  }
  return dims;
}

/** True when an input's shape is set by the user (`--<name>-shape`) rather than derived. */
export function isSettable(input: InputSpec): boolean {
  return Array.isArray(input.shape);
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
export function generateInput(input: InputSpec, shape: number[], rng: Rng): Tensor {
  const data = new Float64Array(size(shape));
  switch (input.init ?? 'randn') {
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
  for (const input of spec.inputs) inputs[input.name] = generateInput(input, shapes[input.name], rng);
  return inputs;
}
