/**
 * Shrinking a failing case to the smallest that still fails the same way, as property-based
 * testing does: from the failing case, try smaller shapes (each dimension of x, w ... set to 1,
 * halved, less one) and simpler params (each integer param set to its least value, halved,
 * less one: stride and pad toward their smallest failing values, pool windows toward 1), keep
 * the first candidate that fails with the same signature (the same failing arrays with the same
 * hint, or the same exception type), and start again from it until no candidate fails so or the
 * time is up; then try integer-valued arrays. Each try is one comparison with the reference (no
 * gradient check), a few milliseconds at small shapes. Bounded by SHRINK_SECONDS per failure.
 */
import type { Implementation } from '../impls/types.js';
import type { LayerSpec, Params, Shapes } from '../layers/types.js';
import { isSettable } from '../layers/params.js';
import type { DType, Tensor } from '../tensor/tensor.js';
import { inDType, size } from '../tensor/tensor.js';
import type { GradeCase } from './battery.js';
import { materialize, type CaseVariant, type MaterializedCase } from './inputs.js';
import { runCase, type CaseRun } from './run-case.js';

/** Seconds a failure's shrinking may take. */
export const SHRINK_SECONDS = 3;
/** Most candidates tried for one failure. */
export const SHRINK_MAX_TRIES = 400;

/** One array of a shrunk case, in full. */
export interface ShownArray {
  /** `x`, `dout`; results as `dx`. */
  name: string;
  /** What it is: an input, the upstream gradient, your result or the reference's. */
  role: 'input' | 'dout' | 'yours' | 'reference';
  shape: number[];
  dtype: DType;
  values: number[];
}

/** The smallest failing case found. */
export interface ShrunkCase {
  params: Params;
  /** Every input's shape. */
  shapes: Shapes;
  /** Integer-valued arrays. */
  integer: boolean;
  dtype: DType;
  seed: number;
  /** How it fails (same signature as the case). */
  message: string;
  hint?: string;
  /** The inputs, dout, and both results of the failing arrays (yours absent when your call failed). */
  arrays: ShownArray[];
  /** Seconds spent, candidates tried, and whether the search ended before the time bound. */
  seconds: number;
  tries: number;
  complete: boolean;
  /** The fixture written (grade/fixture.ts), or why none was. */
  fixture?: string;
  fixtureNote?: string;
  /** The materialized case, to write it as a fixture (not in JSON). */
  materialized?: MaterializedCase;
  /** The run, for the fixture (not in JSON). */
  run?: CaseRun;
}

/** The settable shapes (x, w) of a case. */
function settable(spec: LayerSpec, shapes: Shapes): Shapes {
  const out: Shapes = {};
  for (const input of spec.inputs) if (isSettable(input)) out[input.name] = [...shapes[input.name]];
  return out;
}

/** Dimensions that must agree after one changed: x's and w's channels (conv), w's rows and x's features (affine). */
function couple(spec: LayerSpec, shapes: Shapes, changed: string): Shapes {
  const s: Shapes = Object.fromEntries(Object.entries(shapes).map(([k, v]) => [k, [...v]]));
  if (s.x?.length === 4 && s.w?.length === 4) {
    if (changed === 'x') s.w[1] = s.x[1];
    else if (changed === 'w') s.x[1] = s.w[1];
  }
  if (spec.name === 'affine' && s.x && s.w) s.w[0] = size(s.x.slice(1));
  return s;
}

/** Smaller values to try for `v` (at least `min`), biggest steps first. */
function smaller(v: number, min: number): number[] {
  return [...new Set([min, Math.floor(v / 2), v - 1])].filter((x) => x >= min && x < v);
}

/** Candidates one step simpler than `cur`, in the order they are tried. */
function candidates(spec: LayerSpec, cur: { shapes: Shapes; params: Params }): CaseVariant[] {
  const tiers: CaseVariant[][] = [[], [], []];
  for (const [name, shape] of Object.entries(cur.shapes)) {
    if (spec.name === 'affine' && name === 'w') continue;
    shape.forEach((d, axis) => {
      smaller(d, 1).forEach((v, k) => {
        const next = { ...cur.shapes, [name]: shape.map((x, i) => (i === axis ? v : x)) };
        tiers[Math.min(k, 2)].push({ shapes: couple(spec, next, name), params: cur.params });
      });
    });
  }
  for (const p of spec.params) {
    const v = cur.params[p.name];
    if (p.kind !== 'int' || typeof v !== 'number' || p.name === 'seed') continue;
    smaller(v, p.min ?? 0).forEach((x, k) => {
      tiers[Math.min(k, 2)].push({ shapes: cur.shapes, params: { ...cur.params, [p.name]: x } });
    });
  }
  return tiers.flat();
}

/** The inputs, dout and both results of the failing arrays of `run` at `mc`, for the printout and JSON. */
function shown(spec: LayerSpec, mc: MaterializedCase, run: CaseRun): ShownArray[] {
  const out: ShownArray[] = [];
  const arr = (name: string, role: ShownArray['role'], t: Tensor, dtype: DType) =>
    out.push({ name, role, shape: [...t.shape], dtype, values: Array.from(inDType(t, dtype).data) });
  for (const input of spec.inputs) arr(input.name, 'input', run.used[input.name], mc.dtype);
  arr('dout', 'dout', mc.dout, mc.dtype);
  for (const a of run.arrays.filter((x) => !x.pass)) {
    const base = a.name.replace(/ after \d+ train passes$/, '_after');
    const mine = run.yours.get(base);
    const ref = run.reference.get(base);
    if (mine) arr(base, 'yours', mine, mine.data instanceof Float32Array ? 'float32' : 'float64');
    if (ref) arr(base, 'reference', ref, 'float64');
  }
  return out;
}

/**
 * Shrink the failure `run` of case `c` (materialized as `mc`) for `im`: the smallest case found
 * within `seconds` that fails with the same signature (see the module comment).
 */
export function shrinkFailure(
  spec: LayerSpec,
  im: Implementation,
  c: GradeCase,
  mc: MaterializedCase,
  run: CaseRun,
  opts: { seconds?: number; mode: 'full' | 'sampled' } = { mode: 'full' },
): ShrunkCase {
  const t0 = performance.now();
  const deadline = t0 + (opts.seconds ?? SHRINK_SECONDS) * 1000;
  const target = run.signature;
  let best = { shapes: settable(spec, mc.shapes), params: { ...mc.params }, integer: mc.integer, mc, run };
  let tries = 0;
  let complete = false;
  const attempt = (v: CaseVariant): typeof best | undefined => {
    tries++;
    let m: MaterializedCase;
    try {
      m = materialize(spec, c, v);
    } catch {
      return undefined; // Shapes and params that do not go together.
    }
    const r = runCase(spec, im, m, { gradcheck: false, mode: opts.mode, ties: c.ties, deadline });
    return r.signature === target ? { shapes: settable(spec, m.shapes), params: m.params, integer: m.integer, mc: m, run: r } : undefined;
  };
  const descend = (): boolean => {
    for (;;) {
      let found: typeof best | undefined;
      for (const v of candidates(spec, best)) {
        if (performance.now() > deadline || tries >= SHRINK_MAX_TRIES) return false;
        found = attempt({ ...v, integer: best.integer });
        if (found) break;
      }
      if (!found) return true;
      best = found;
    }
  };
  complete = descend();
  if (complete && !best.integer && performance.now() < deadline) {
    const found = attempt({ shapes: best.shapes, params: best.params, integer: true });
    if (found) {
      best = found;
      complete = descend();
    }
  }
  return {
    params: best.params,
    shapes: best.mc.shapes,
    integer: best.integer,
    dtype: best.mc.dtype,
    seed: best.mc.seed,
    message: best.run.message,
    ...(best.run.hint ? { hint: best.run.hint.message } : {}),
    arrays: shown(spec, best.mc, best.run),
    seconds: (performance.now() - t0) / 1000,
    tries,
    complete,
    materialized: best.mc,
    run: best.run,
  };
}
