/**
 * 2x2 stride-2 max-pooling on the shared-memory WASM kernels (src/kernels/wasm/shared/pool.wat): x is
 * staged once into the shared arena and the planes are split over threads, each writing its values
 * and argmax in place. Same tie and NaN rules as the naive pass (see maxpool2 in pool.wat).
 */
import type { DType, FloatArray } from '../tensor/tensor.js';
import { arenaMemory, sharedArena } from './parallel/shared.js';
import { parallelFor, planThreads, type ParallelTask } from './parallel/pool.js';
import { sharedKernels } from './wasm/load.js';

/** Arguments of one pooling task (byte offsets into the arena `memory`). */
export interface Maxpool2Args {
  memory: WebAssembly.Memory;
  dtype: DType;
  H: number;
  W: number;
  x: number;
  out: number;
  argmax: number;
}

/**
 * Element operations per output for thread planning. PERF: a window costs ~8 vector ops for 4 (f32) or
 * 2 (f64) outputs; the cs231n shape (76800 outputs, ~0.1 ms) stays on one thread at the pool's 2e6 per thread.
 */
const WORK_PER_OUTPUT = 8;

/** Pool planes [p0, p1) on this thread. */
export function maxpool2Range(args: Maxpool2Args, p0: number, p1: number): void {
  const ex = sharedKernels(args.memory)!;
  const E = args.dtype === 'float32' ? 4 : 8;
  const { H, W } = args;
  const outPlane = (H / 2) * (W / 2);
  (args.dtype === 'float32' ? ex.maxpool2_f32 : ex.maxpool2_f64)(args.x, p0, p1, H, W, args.out + p0 * outPlane * E, args.argmax + p0 * outPlane * 4);
}

const TASK: ParallelTask<Maxpool2Args> = { url: import.meta.url, name: 'maxpool2Range', run: maxpool2Range };

/** True when the shared-memory kernels load on this thread. */
export function maxpool2Available(): boolean {
  return sharedKernels(arenaMemory()) !== null;
}

/** out (planes, H/2, W/2) and argmax (flat indices into x) of 2x2 stride-2 pooling of x (planes, H, W), H and W even. */
export function maxpool2(out: FloatArray, argmax: Int32Array, x: FloatArray, planes: number, H: number, W: number, dtype: DType): void {
  const n = planes * (H / 2) * (W / 2);
  const [xs, outs, am] = sharedArena([dtype, dtype, 'int32'] as const, [x.length, n, n]);
  xs.set(x);
  const args: Maxpool2Args = { memory: arenaMemory(), dtype, H, W, x: xs.byteOffset, out: outs.byteOffset, argmax: am.byteOffset };
  const threads = planThreads(planes, WORK_PER_OUTPUT * n);
  if (threads > 1) parallelFor(TASK, args, planes, threads);
  else maxpool2Range(args, 0, planes);
  out.set(outs);
  argmax.set(am);
}
