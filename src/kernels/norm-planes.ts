/**
 * Normalization passes over planes, on the shared-memory WASM kernels (src/kernels/wasm/shared/norm.wat)
 * and both threads: spatial batchnorm and spatial group norm view x (N, C, H, W) as P = N*C planes of
 * B = H*W contiguous values, whose statistics combine per channel (batchnorm) or per block of C/G
 * channels of a sample (group norm). Every pass is one sweep over memory:
 *
 *  - forward: per-plane shifted sums (mean and variance fused in one pass, float64), then
 *    out = (x - center[p]) * scale[p] + bias[p] with the normalization and gamma, beta folded into
 *    per-plane coefficients. No xhat is stored: backward recomputes it from x and the statistics;
 *  - backward: per plane t1 = sum dout and t2 = sum dout * (x - center) (the two reductions fused),
 *    then dx = ka[p]*dout + kb[p]*(x - center[p]) + kc[p], the closed form with its coefficients
 *    per plane.
 *
 * The data is staged once into the shared arena (a shared WebAssembly.Memory, parallel/shared.ts),
 * where the kernels of every thread run in place; planes are split over threads in chunks.
 * Callers combine the per-plane sums and compute the coefficients (spatial-batchnorm.ts,
 * spatial-groupnorm.ts). Without WASM, `planeKernelsAvailable()` is false and the layers use the
 * JS kernels of norm.ts.
 */
import type { DType, FloatArray } from '../tensor/tensor.js';
import { arenaBytes, arenaFits, arenaMemory, sharedArena, SHARED_ARENA } from './parallel/shared.js';
import { parallelFor, planThreads, planThreadsWith, poolWorkerBytes, POOL_WORKERS, type ParallelTask } from './parallel/pool.js';
import { sharedKernels } from './wasm/load.js';

/** Element operations per value of one pass, for thread planning (comparable to the flops of parallel/pool.ts). */
const WORK_PER_VALUE = 4;

type Op = 'sums' | 'affine' | 'bwd_sums' | 'dx';

/** Arguments of a plane pass (addresses are byte offsets into the arena `memory`). */
export interface PlaneArgs {
  memory: WebAssembly.Memory;
  op: Op;
  dtype: DType;
  B: number;
  /** Data: x (sums, affine, dx), dout (bwd_sums, dx), out (affine), dx (dx). */
  a: number;
  b: number;
  out: number;
  /** Per-plane float64 arrays. */
  c0: number;
  c1: number;
  c2: number;
  c3: number;
}

/** One pass over planes [p0, p1) on this thread. */
export function planeRange(args: PlaneArgs, p0: number, p1: number): void {
  const ex = sharedKernels(args.memory)!;
  const f32 = args.dtype === 'float32';
  const E = f32 ? 4 : 8;
  const { B } = args;
  const P = p1 - p0;
  const data = (at: number): number => at + p0 * B * E;
  const per = (at: number): number => at + p0 * 8;
  switch (args.op) {
    case 'sums':
      (f32 ? ex.plane_sums_f32 : ex.plane_sums_f64)(data(args.a), P, B, per(args.c0), per(args.c1), per(args.c2));
      break;
    case 'affine':
      (f32 ? ex.plane_affine_f32 : ex.plane_affine_f64)(data(args.a), P, B, per(args.c0), per(args.c1), per(args.c2), data(args.out));
      break;
    case 'bwd_sums':
      (f32 ? ex.plane_bwd_sums_f32 : ex.plane_bwd_sums_f64)(data(args.b), data(args.a), P, B, per(args.c0), per(args.c1), per(args.c2));
      break;
    case 'dx':
      (f32 ? ex.plane_dx_f32 : ex.plane_dx_f64)(data(args.b), data(args.a), P, B, per(args.c1), per(args.c2), per(args.c0), per(args.c3), data(args.out));
      break;
  }
}

const PLANE_TASK: ParallelTask<PlaneArgs> = { url: import.meta.url, name: 'planeRange', run: planeRange };

/** True when the shared-memory kernels load on this thread. */
export function planeKernelsAvailable(): boolean {
  return sharedKernels(arenaMemory()) !== null;
}

/**
 * True when the plane kernels run x of P planes of B values: they are loaded and the backward's
 * staged x, dout and dx (the larger pass) fit the shared arena. Otherwise the layers use the JS
 * kernels of norm.ts, which need no staging.
 */
export function planeKernelsRun(P: number, B: number, dtype: DType): boolean {
  return planeKernelsAvailable() && arenaFits([dtype, dtype, dtype, 'float64', 'float64', 'float64', 'float64'], [P * B, P * B, P * B, P, P, P, P]);
}

function run(args: PlaneArgs, P: number, threads: number): void {
  if (threads > 1) parallelFor(PLANE_TASK, args, P, threads);
  else planeRange(args, 0, P);
}

/** Per-plane coefficients of the forward affine pass. */
export interface AffineCoefficients {
  center: Float64Array;
  scale: Float64Array;
  bias: Float64Array;
}

/** Per-plane coefficients of the backward dx pass: dx = ka*dout + kb*(x - center) + kc. */
export interface DxCoefficients {
  ka: Float64Array;
  kb: Float64Array;
  kc: Float64Array;
}

/**
 * What the plane kernels hold over P planes of B values (for the layers' memory estimates): the
 * arena at the larger of a forward's and a backward's views (as planeNormForward and
 * planeNormBackward lay them out), the pool's workers at the thread setting, and per pass the
 * plane's shift, sums and coefficients copied out (a few float64s per plane).
 */
export function planeNormMemory(P: number, B: number, dtype: DType, threadSetting: number): { workspace: Record<string, number>; perPass: number } {
  const threads = planThreadsWith(threadSetting, P, WORK_PER_VALUE * P * B);
  const arena = Math.max(
    arenaBytes([dtype, dtype, 'float64', 'float64', 'float64'], [P * B, P * B, P, P, P]),
    arenaBytes([dtype, dtype, dtype, 'float64', 'float64', 'float64', 'float64'], [P * B, P * B, P * B, P, P, P, P]),
  );
  const workspace: Record<string, number> = { [SHARED_ARENA]: arena };
  if (threads > 1) workspace[POOL_WORKERS] = poolWorkerBytes(threads, 0);
  return { workspace, perPass: 8 * 8 * P };
}

/**
 * Forward over P planes of B values: when `shift` is given, the shifted sums s1, s2 per plane first
 * (one pass), then `coefficients(s1, s2)` (or with null sums when `shift` is null) and the affine
 * pass into `out`. x and out: P*B values of dtype.
 */
export function planeNormForward(
  out: FloatArray,
  x: FloatArray,
  P: number,
  B: number,
  dtype: DType,
  shift: Float64Array | null,
  coefficients: (s1: Float64Array | null, s2: Float64Array | null) => AffineCoefficients,
): void {
  const threads = planThreads(P, WORK_PER_VALUE * P * B);
  const [xs, outs, c0, c1, c2] = sharedArena([dtype, dtype, 'float64', 'float64', 'float64'] as const, [P * B, P * B, P, P, P]);
  xs.set(x);
  const base = {
    memory: arenaMemory(),
    dtype,
    B,
    a: xs.byteOffset,
    b: 0,
    out: outs.byteOffset,
    c0: c0.byteOffset,
    c1: c1.byteOffset,
    c2: c2.byteOffset,
    c3: 0,
  };
  let s1: Float64Array | null = null;
  let s2: Float64Array | null = null;
  if (shift) {
    c0.set(shift);
    run({ ...base, op: 'sums' }, P, threads);
    s1 = c1.slice();
    s2 = c2.slice();
  }
  const k = coefficients(s1, s2);
  c0.set(k.center);
  c1.set(k.scale);
  c2.set(k.bias);
  run({ ...base, op: 'affine' }, P, threads);
  out.set(outs);
}

/**
 * Backward over P planes: the fused sums t1 = sum dout, t2 = sum dout*(x - center) per plane, then
 * `coefficients(t1, t2)` and the dx pass into `dx`.
 */
export function planeNormBackward(
  dx: FloatArray,
  dout: FloatArray,
  x: FloatArray,
  P: number,
  B: number,
  dtype: DType,
  center: Float64Array,
  coefficients: (t1: Float64Array, t2: Float64Array) => DxCoefficients,
): void {
  const threads = planThreads(P, WORK_PER_VALUE * P * B);
  const [xs, ds, dxs, c0, c1, c2, c3] = sharedArena([dtype, dtype, dtype, 'float64', 'float64', 'float64', 'float64'] as const, [
    P * B,
    P * B,
    P * B,
    P,
    P,
    P,
    P,
  ]);
  xs.set(x);
  ds.set(dout);
  c0.set(center);
  const base = {
    memory: arenaMemory(),
    dtype,
    B,
    a: xs.byteOffset,
    b: ds.byteOffset,
    out: dxs.byteOffset,
    c0: c0.byteOffset,
    c1: c1.byteOffset,
    c2: c2.byteOffset,
    c3: c3.byteOffset,
  };
  run({ ...base, op: 'bwd_sums' }, P, threads);
  const k = coefficients(c1.slice(), c2.slice());
  c1.set(k.ka);
  c2.set(k.kb);
  c3.set(k.kc);
  run({ ...base, op: 'dx' }, P, threads);
  dx.set(dxs);
}
