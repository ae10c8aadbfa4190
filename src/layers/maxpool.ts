/**
 * Max-pooling, NCHW, no padding, floor output size:
 * x (N,C,H,W) -> out (N,C,Hout,Wout), Hout = floor((H - pool_height) / stride) + 1.
 */
import type { DType, FloatArray, Tensor } from '../tensor/tensor.js';
import { dtypeOf, zeros } from '../tensor/tensor.js';
import { defineImpl, defineLayer, type ForwardResult, type Gradients, type Inputs, type LayerMemory, type MemoryContext, type MemoryParts } from './types.js';
import { poolGeometry, type PoolGeometry, STRIDE_PAD_CAP } from './geometry.js';
import { parallelFor, planThreads, planThreadsWith, poolWorkerBytes, POOL_WORKERS, type ParallelTask } from '../kernels/parallel/pool.js';
import { arenaBytes, arenaFits, sharedArena, SHARED_ARENA, threadsWithinArena } from '../kernels/parallel/shared.js';
import { bytesOf, INT32_BYTES } from '../memory/estimate.js';
import { maxpool2, maxpool2Available } from '../kernels/maxpool-wasm.js';
import { freshArray, freshInt32, freshTensor } from '../kernels/fresh.js';
import { noteKernel } from '../kernels/provenance.js';

/** The params of maxpool. */
export type MaxpoolParams = { pool_height: number; pool_width: number; stride: number };

export interface MaxpoolCache {
  xShape: number[];
  /** Flat index into x of each output's winner. */
  argmax: Int32Array;
  /** dtype of x (fast path; the naive path is float64). */
  dtype?: DType;
}

/**
 * Naive forward. NOTE: ties go to the first maximum in row-major window order (strict `>`),
 * as numpy's argmax does; backward routes the whole upstream gradient to that one element.
 */
export function maxpoolForwardNaive(inputs: Inputs, params: MaxpoolParams): ForwardResult<MaxpoolCache> {
  const { x } = inputs;
  const g = poolGeometry(x.shape, params.pool_height, params.pool_width, params.stride);
  const { N, C, H, W, pool_height, pool_width, stride, Hout, Wout } = g;
  const out = zeros([N, C, Hout, Wout]);
  const argmax = new Int32Array(out.data.length);
  for (let n = 0; n < N; n++) {
    for (let c = 0; c < C; c++) {
      const base = (n * C + c) * H * W;
      for (let i = 0; i < Hout; i++) {
        for (let j = 0; j < Wout; j++) {
          let best = -Infinity;
          let bestIdx = base + i * stride * W + j * stride;
          for (let di = 0; di < pool_height; di++) {
            for (let dj = 0; dj < pool_width; dj++) {
              const idx = base + (i * stride + di) * W + (j * stride + dj);
              const v = x.data[idx];
              if (v > best || Number.isNaN(v)) {
                best = v;
                bestIdx = idx;
                if (Number.isNaN(v)) break; // NaN propagates, as np.max does
              }
            }
            if (Number.isNaN(best)) break;
          }
          const o = ((n * C + c) * Hout + i) * Wout + j;
          out.data[o] = best;
          argmax[o] = bestIdx;
        }
      }
    }
  }
  const cache: MaxpoolCache = { xShape: x.shape, argmax };
  return { out, cache, switches: argmax };
}

/** Naive backward: dx (N,C,H,W), each dout element added to its window's winner. */
export function maxpoolBackwardNaive(dout: Tensor, cache: MaxpoolCache): Gradients {
  const { xShape, argmax } = cache;
  const dx = zeros(xShape);
  for (let o = 0; o < argmax.length; o++) dx.data[argmax[o]] += dout.data[o];
  return { dx };
}

/** Arguments of the fast forward task over (n, c) planes. */
export interface MaxpoolForwardArgs {
  x: FloatArray;
  out: FloatArray;
  argmax: Int32Array;
  g: PoolGeometry;
  /** pool_height = pool_width = stride and the windows tile H and W exactly. */
  tiles: boolean;
}

/**
 * Forward over planes [p0, p1) of the (N*C) planes. NOTE: the same tie and NaN rules as the
 * naive pass: a later element wins only when strictly greater, and the first NaN in row-major
 * window order wins for good (`v !== v && best === best`).
 */
export function maxpoolForwardRange(args: MaxpoolForwardArgs, p0: number, p1: number): void {
  const { x, out, argmax, g, tiles } = args;
  const { H, W, pool_height, pool_width, stride, Hout, Wout } = g;
  for (let p = p0; p < p1; p++) {
    const base = p * H * W;
    let o = p * Hout * Wout;
    if (tiles && pool_height === 2 && pool_width === 2) {
      // PERF: the common 2x2/2 case unrolled: four loads per output, no inner loops.
      for (let i = 0; i < Hout; i++) {
        const row = base + 2 * i * W;
        for (let j = 0; j < Wout; j++, o++) {
          const i0 = row + 2 * j;
          let bi = i0;
          let bv = x[i0];
          let v = x[i0 + 1];
          if (v > bv || (v !== v && bv === bv)) {
            bv = v;
            bi = i0 + 1;
          }
          v = x[i0 + W];
          if (v > bv || (v !== v && bv === bv)) {
            bv = v;
            bi = i0 + W;
          }
          v = x[i0 + W + 1];
          if (v > bv || (v !== v && bv === bv)) {
            bv = v;
            bi = i0 + W + 1;
          }
          out[o] = bv;
          argmax[o] = bi;
        }
      }
      continue;
    }
    // General path (and tiles of other sizes): scan each window in row-major order.
    for (let i = 0; i < Hout; i++) {
      for (let j = 0; j < Wout; j++, o++) {
        const first = base + i * stride * W + j * stride;
        let bi = first;
        let bv = x[first];
        for (let di = 0; di < pool_height; di++) {
          const row = first + di * W;
          for (let dj = 0; dj < pool_width; dj++) {
            const v = x[row + dj];
            if (v > bv || (v !== v && bv === bv)) {
              bv = v;
              bi = row + dj;
            }
          }
        }
        out[o] = bv;
        argmax[o] = bi;
      }
    }
  }
}

const MAXPOOL_FORWARD: ParallelTask<MaxpoolForwardArgs> = { url: import.meta.url, name: 'maxpoolForwardRange', run: maxpoolForwardRange };

/**
 * Fast forward in the dtype of x: a reshape-style path when pool_height = pool_width = stride
 * tile the input (cs231n's condition), a general window scan otherwise. Returns the argmax
 * as `switches`, like the naive pass.
 */
export function maxpoolForwardFast(inputs: Inputs, params: MaxpoolParams): ForwardResult<MaxpoolCache> {
  const { x } = inputs;
  const g = poolGeometry(x.shape, params.pool_height, params.pool_width, params.stride);
  const { N, C, H, W, pool_height, pool_width, stride, Hout, Wout } = g;
  const dtype = dtypeOf(x);
  const tiles = pool_height === stride && pool_width === stride && H % pool_height === 0 && W % pool_width === 0;
  const out = freshTensor([N, C, Hout, Wout], dtype);
  const n = out.data.length;
  const argmax = freshInt32(n);
  if (wasmTwoByTwo(g, dtype)) {
    noteKernel('maxpool forward: wasm 2x2');
    maxpool2(out.data, argmax, x.data, N * C, H, W, dtype);
    return { out, cache: { xShape: x.shape, argmax, dtype }, switches: argmax };
  }
  noteKernel('maxpool forward: js');
  const threads = threadsWithinArena(planThreads(N * C, n * pool_height * pool_width), [dtype, dtype, 'int32'], [x.data.length, n, n]);
  if (threads > 1) {
    const [xs, outs, argmaxs] = sharedArena([dtype, dtype, 'int32'] as const, [x.data.length, n, n]);
    xs.set(x.data);
    parallelFor(MAXPOOL_FORWARD, { x: xs, out: outs, argmax: argmaxs, g, tiles }, N * C, threads);
    out.data.set(outs);
    argmax.set(argmaxs);
  } else {
    maxpoolForwardRange({ x: x.data, out: out.data, argmax, g, tiles }, 0, N * C);
  }
  const cache: MaxpoolCache = { xShape: x.shape, argmax, dtype };
  return { out, cache, switches: argmax };
}

/** Fast backward: dx in the forward's dtype, each dout element added to its window's recorded winner. */
export function maxpoolBackwardFast(dout: Tensor, cache: MaxpoolCache): Gradients {
  const { xShape, argmax, dtype = 'float64' } = cache;
  const dx = {
    data: freshArray(
      dtype,
      xShape.reduce((a, b) => a * b, 1),
    ),
    shape: [...xShape],
  };
  const d = dout.data;
  const dxd = dx.data;
  // PERF: a scatter over the outputs; memory-bound, so it stays on one thread.
  for (let o = 0; o < argmax.length; o++) dxd[argmax[o]] += d[o];
  return { dx };
}

/** Whether the 2x2 WASM kernel runs g: it applies, is loaded, and x, out and argmax fit the shared arena it works on. */
function wasmTwoByTwo(g: PoolGeometry, dtype: DType): boolean {
  const X = g.N * g.C * g.H * g.W;
  const O = g.N * g.C * g.Hout * g.Wout;
  return tilesAsTwoByTwo(g) && maxpool2Available() && arenaFits([dtype, dtype, 'int32'], [X, O, O]);
}

/** 2x2 windows at stride 2 that tile the input: the shape the WASM kernel (kernels/maxpool-wasm.ts) takes. */
function tilesAsTwoByTwo(g: PoolGeometry): boolean {
  return g.pool_height === 2 && g.pool_width === 2 && g.stride === 2 && g.H % 2 === 0 && g.W % 2 === 0;
}

/** Bytes of each implementation's passes at geometry `g` (LayerSpec.memory): out and argmax, dx; the arena (the 2x2 kernel's, or the threaded scan's) and workers. */
export function maxpoolMemory(g: PoolGeometry, ctx: MemoryContext): LayerMemory {
  const { dtype } = ctx;
  const X = g.N * g.C * g.H * g.W;
  const O = g.N * g.C * g.Hout * g.Wout;
  const threads = planThreadsWith(ctx.threads, g.N * g.C, O * g.pool_height * g.pool_width);
  // The 2x2 WASM kernel works on the arena at any thread count; the JS scan stages through it when threaded.
  const wasm2 = wasmTwoByTwo(g, dtype);
  const workspace: MemoryParts = {};
  if (wasm2 || threads > 1) workspace[SHARED_ARENA] = arenaBytes([dtype, dtype, 'int32'], [X, O, O]);
  if (threads > 1) workspace[POOL_WORKERS] = poolWorkerBytes(threads, 0);
  return {
    out: O,
    impls: {
      naive: { forward: { out: bytesOf('float64', O), argmax: INT32_BYTES * O }, backward: { dx: bytesOf('float64', X) } },
      fast: { forward: { out: bytesOf(dtype, O), argmax: INT32_BYTES * O }, backward: { dx: bytesOf(dtype, X) }, workspace },
    },
  };
}

export const maxpool = defineLayer<MaxpoolParams>({
  name: 'maxpool',
  summary: 'max-pooling over pool_height x pool_width windows, no padding',
  inputs: [{ name: 'x', help: 'input (N,C,H,W)', grad: true, shape: [3, 2, 8, 8] }],
  params: [
    { name: 'pool_height', flag: 'pool-height', help: 'window height', kind: 'int', default: 2, min: 1 },
    { name: 'pool_width', flag: 'pool-width', help: 'window width', kind: 'int', default: 2, min: 1 },
    { name: 'stride', flag: 'stride', help: 'step between windows', kind: 'int', default: 2, min: 1, ...STRIDE_PAD_CAP },
  ],
  check(shapes, params) {
    poolGeometry(shapes.x, params.pool_height, params.pool_width, params.stride);
  },
  memory: (shapes, params, ctx) => maxpoolMemory(poolGeometry(shapes.x, params.pool_height, params.pool_width, params.stride), ctx),
  impls: {
    naive: defineImpl(maxpoolForwardNaive, maxpoolBackwardNaive),
    fast: defineImpl(maxpoolForwardFast, maxpoolBackwardFast),
  },
  benchCases: [{ shapes: { x: [100, 3, 32, 32] }, params: { pool_height: 2, pool_width: 2, stride: 2 } }],
  // No `flops`: pooling does comparisons, not floating-point arithmetic; GFLOP/s would mislead.
  // Piecewise linear: away from kinks (detected and excluded) the centred difference is exact
  // up to rounding, ~1e-16 * |L| / h.
  tolerance: { grad: 1e-7 },
});
