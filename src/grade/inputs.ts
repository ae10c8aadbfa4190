/**
 * A case of the battery made concrete: its params validated, the shapes of every input, and the
 * arrays, drawn as numpy draws them after `np.random.seed(seed)` (NumpyRng) in the order the
 * layer declares its inputs (the notebooks' order), then `dout`. With `trainSteps`, the other
 * inputs are drawn first, then x for each train-mode pass, then the final x, then dout, as the
 * notebook's test-time loop draws them. Shrinking (shrink.ts) asks for other shapes and params,
 * and for integer-valued arrays.
 */
import { validateParams } from '../layers/params.js';
import type { InputSpec, Inputs, LayerSpec, Params, ParamValue, Shapes } from '../layers/types.js';
import { linspace } from '../tensor/init.js';
import { NumpyRng } from '../tensor/numpy-rng.js';
import { size, type DType, type Tensor } from '../tensor/tensor.js';
import { fmtNum } from '../text/numbers.js';
import { NOTEBOOK_SEED, type Fill, type GradeCase } from './battery.js';

/** A case ready to run. */
export interface MaterializedCase {
  params: Params;
  /** Every input's shape. */
  shapes: Shapes;
  /** The inputs in float64 (run in `dtype`). */
  inputs: Inputs;
  dout: Tensor;
  /** x of each train-mode pass before the case's forward (batchnorm's test after train). */
  train?: Tensor[];
  dtype: DType;
  seed: number;
  /** Integer-valued arrays (a shrunk case). */
  integer: boolean;
}

/** What shrinking changes: shapes of settable inputs, params, integer arrays. */
export interface CaseVariant {
  shapes?: Shapes;
  params?: Record<string, ParamValue>;
  integer?: boolean;
}

/** Integer fills of a shrunk case: small values a reader can trace, dout positive. */
const INTEGER_FILL: Fill = { kind: 'randint', lo: -3, hi: 3 };
const INTEGER_DOUT: Fill = { kind: 'randint', lo: 1, hi: 2 };
const INTEGER_VAR: Fill = { kind: 'randint', lo: 1, hi: 3 };

/** The fill of an input when the case names none: as the layer generates it (randn, zeros, labels ...). */
function defaultFill(input: InputSpec): Fill {
  switch (input.init ?? 'randn') {
    case 'zeros':
      return { kind: 'constant', value: 0 };
    case 'ones':
      return { kind: 'constant', value: 1 };
    case 'positive':
      return { kind: 'uniform', lo: 0.5, hi: 1.5 };
    case 'labels':
      return { kind: 'labels' };
    default:
      return { kind: 'randn' };
  }
}

/** The fill of `name` in `c` (an input, or `dout`), integer-valued when asked. */
export function fillOf(spec: LayerSpec, c: GradeCase, name: string, integer = false): Fill {
  const input = spec.inputs.find((i) => i.name === name);
  const given = c.fill?.[name] ?? (input ? defaultFill(input) : { kind: 'randn' });
  if (!integer || given.kind === 'labels' || given.kind === 'constant') return given;
  if (name === 'dout') return INTEGER_DOUT;
  if (name === 'running_var') return INTEGER_VAR;
  return INTEGER_FILL;
}

/** The fill in words: `5*randn+12`, `linspace(-0.1, 0.5)`, `integers -3..3`. */
export function fillText(f: Fill): string {
  switch (f.kind) {
    case 'randn': {
      const s = f.scale !== undefined ? `${fmtNum(f.scale)}*randn` : 'randn';
      return f.shift ? `${s}${f.shift < 0 ? '' : '+'}${fmtNum(f.shift)}` : s;
    }
    case 'linspace':
      return `linspace(${fmtNum(f.lo)}, ${fmtNum(f.hi)})`;
    case 'randint':
      return `integers ${f.lo}..${f.hi}`;
    case 'uniform':
      return `uniform(${fmtNum(f.lo)}, ${fmtNum(f.hi)})`;
    case 'labels':
      return 'randint(C)';
    case 'constant':
      return String(fmtNum(f.value));
    case 'values':
      return `[${f.values.map((v) => fmtNum(v)).join(', ')}]`;
  }
}

/** One array of `shape` filled by `f`, drawing from `rng` (C = the class count of labels). */
function draw(f: Fill, shape: number[], rng: NumpyRng, classes: number): Tensor {
  const n = size(shape);
  const data = new Float64Array(n);
  switch (f.kind) {
    case 'randn':
      for (let i = 0; i < n; i++) data[i] = (f.scale ?? 1) * rng.randn() + (f.shift ?? 0);
      break;
    case 'linspace':
      return linspace(f.lo, f.hi, shape);
    case 'randint':
      for (let i = 0; i < n; i++) data[i] = f.lo + rng.randint(f.hi - f.lo + 1);
      break;
    case 'uniform':
      for (let i = 0; i < n; i++) data[i] = f.lo + (f.hi - f.lo) * rng.uniform();
      break;
    case 'labels':
      for (let i = 0; i < n; i++) data[i] = rng.randint(classes);
      break;
    case 'constant':
      data.fill(f.value);
      break;
    case 'values':
      for (let i = 0; i < n; i++) data[i] = f.values[i % f.values.length];
      break;
  }
  return { data, shape: [...shape] };
}

/** Every input's shape for `given` settable shapes and `params`: derived ones from the layer, gamma and beta as the case asks. */
export function caseShapes(spec: LayerSpec, c: GradeCase, given: Shapes, params: Params): Shapes {
  const shapes: Shapes = {};
  for (const input of spec.inputs) {
    if (given[input.name]) shapes[input.name] = [...given[input.name]];
    else if (Array.isArray(input.shape)) shapes[input.name] = [...input.shape];
    else if (c.perChannel && (input.name === 'gamma' || input.name === 'beta')) {
      const C = shapes.x[1];
      shapes[input.name] = c.perChannel === 'C' ? [C] : [1, C, 1, 1];
    } else shapes[input.name] = input.shape(shapes, params);
  }
  return shapes;
}

/**
 * `c` made concrete, with `variant`'s shapes, params and integer arrays when given. Throws the
 * layer's ShapeError / ParamError for shapes and params that do not go together.
 */
export function materialize(spec: LayerSpec, c: GradeCase, variant: CaseVariant = {}): MaterializedCase {
  const params = validateParams(spec, { ...(c.params ?? {}), ...(variant.params ?? {}) });
  const shapes = caseShapes(spec, c, { ...c.shapes, ...(variant.shapes ?? {}) }, params);
  spec.check(shapes, params);
  const integer = variant.integer === true;
  const seed = c.seed ?? NOTEBOOK_SEED;
  const rng = new NumpyRng(seed);
  const classes = shapes.x[shapes.x.length - 1];
  const inputs: Inputs = {};
  const fill = (name: string, shape: number[]) => draw(fillOf(spec, c, name, integer), shape, rng, classes);
  let train: Tensor[] | undefined;
  if (c.trainSteps) {
    for (const input of spec.inputs) if (input.name !== 'x') inputs[input.name] = fill(input.name, shapes[input.name]);
    train = [];
    for (let k = 0; k < c.trainSteps; k++) train.push(fill('x', shapes.x));
    inputs.x = fill('x', shapes.x);
  } else {
    for (const input of spec.inputs) inputs[input.name] = fill(input.name, shapes[input.name]);
  }
  spec.checkInputs?.(inputs, params);
  const outShape = (spec.impls.fast ?? spec.impls.naive).forward(inputs, params).out.shape;
  const dout = fill('dout', outShape);
  return { params, shapes, inputs, dout, ...(train ? { train } : {}), dtype: c.dtype ?? 'float64', seed, integer };
}

/** How the case's arrays are made, in one line: `seed 231: x 5*randn+12, gamma randn, beta randn, dout randn`. */
export function recipeText(spec: LayerSpec, c: GradeCase, integer = false): string {
  const names = [...spec.inputs.map((i) => i.name), 'dout'];
  const parts = names.map((n) => `${n} ${fillText(fillOf(spec, c, n, integer))}`);
  const steps = c.trainSteps ? `; ${c.trainSteps} train-mode passes on fresh x first` : '';
  return `seed ${c.seed ?? NOTEBOOK_SEED}: ${parts.join(', ')}${steps}`;
}
