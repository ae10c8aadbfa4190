/**
 * Affine (fully connected) layer, cs231n conventions: x (N,d1,...,dk) is flattened per sample
 * to (N,D) with D = d1*...*dk, then out = x @ w + b with w (D,M), b (M,) -> out (N,M).
 * dx comes back in x's original shape.
 */
import { ShapeError } from '../errors.js';
import { asDType, dtypeOf, formatShape, size, zeros, type DType, type Tensor } from '../tensor/tensor.js';
import { defineImpl, defineLayer, type ForwardResult, type Gradients, type Inputs, type LayerMemory, type MemoryContext } from './types.js';
import { requirePositiveDims, requireRank, requireShape } from './geometry.js';
import { gemm, gemmStagingBytes } from '../kernels/gemm.js';
import { bytesOf, largestWorkspace } from '../memory/estimate.js';
import { freshTensor } from '../kernels/fresh.js';

/** affine has no params. */
export type AffineParams = Record<string, never>;

export interface AffineCache {
  x: Tensor;
  w: Tensor;
  N: number;
  D: number;
  M: number;
}

/** Naive forward: out[n,m] = b[m] + sum_d x[n,d] * w[d,m], float64. */
export function affineForwardNaive(inputs: Inputs, _params: AffineParams): ForwardResult<AffineCache> {
  const { x, w, b } = inputs;
  const N = x.shape[0];
  const [D, M] = w.shape;
  const out = zeros([N, M]);
  for (let n = 0; n < N; n++) {
    for (let m = 0; m < M; m++) {
      let acc = b.data[m];
      for (let d = 0; d < D; d++) acc += x.data[n * D + d] * w.data[d * M + m];
      out.data[n * M + m] = acc;
    }
  }
  const cache: AffineCache = { x, w, N, D, M };
  return { out, cache };
}

/** Naive backward: dx = dout @ w.T in x's shape, dw = x.T @ dout (D,M), db = sum_n dout (M,). */
export function affineBackwardNaive(dout: Tensor, cache: AffineCache): Gradients {
  const { x, w, N, D, M } = cache;
  const dx = zeros(x.shape);
  const dw = zeros([D, M]);
  const db = zeros([M]);
  for (let n = 0; n < N; n++) {
    for (let d = 0; d < D; d++) {
      let acc = 0;
      for (let m = 0; m < M; m++) acc += dout.data[n * M + m] * w.data[d * M + m];
      dx.data[n * D + d] = acc;
    }
  }
  for (let d = 0; d < D; d++) {
    for (let m = 0; m < M; m++) {
      let acc = 0;
      for (let n = 0; n < N; n++) acc += x.data[n * D + d] * dout.data[n * M + m];
      dw.data[d * M + m] = acc;
    }
  }
  for (let n = 0; n < N; n++) for (let m = 0; m < M; m++) db.data[m] += dout.data[n * M + m];
  return { dx, dw, db };
}

export interface AffineFastCache extends AffineCache {
  dtype: DType;
}

/**
 * Fast forward in x's dtype: out (N,M) = x (N,D) . w (D,M) + b as one packed GEMM
 * (src/kernels/gemm.ts), accumulated into rows pre-filled with b.
 */
export function affineForwardFast(inputs: Inputs, _params: AffineParams): ForwardResult<AffineFastCache> {
  const { x, b } = inputs;
  const N = x.shape[0];
  const [D, M] = inputs.w.shape;
  const dtype = dtypeOf(x);
  const w: Tensor = { data: asDType(inputs.w.data, dtype), shape: inputs.w.shape };
  const out = freshTensor([N, M], dtype);
  const bd = asDType(b.data, dtype);
  for (let n = 0; n < N; n++) out.data.set(bd, n * M);
  gemm(out.data, x.data, w.data, N, M, D, { accumulate: true });
  const cache: AffineFastCache = { x, w, N, D, M, dtype };
  return { out, cache };
}

/** Fast backward in x's dtype: dx = dout . w^T and dw = x^T . dout as GEMMs (transposes read in place), db as column sums. */
export function affineBackwardFast(dout: Tensor, cache: AffineFastCache): Gradients {
  const { x, w, N, D, M, dtype } = cache;
  const gd = asDType(dout.data, dtype);
  const dx = freshTensor(x.shape, dtype);
  gemm(dx.data, gd, w.data, N, D, M, { transB: true });
  const dw = freshTensor([D, M], dtype);
  gemm(dw.data, x.data, gd, D, M, N, { transA: true });
  // NOTE: db accumulates in float64 so a float32 result is rounded once, not per sample.
  const dbAcc = new Float64Array(M);
  for (let n = 0; n < N; n++) for (let m = 0; m < M; m++) dbAcc[m] += gd[n * M + m];
  const db = zeros([M], dtype);
  db.data.set(dbAcc);
  return { dx, dw, db };
}

/**
 * Bytes of each implementation's passes for x (N, D) and w (D, M) (LayerSpec.memory). Fast: its
 * GEMMs take plain arrays, which the WASM kernels stage into their memory (A, B and C of the
 * largest of the three products).
 */
export function affineMemory(N: number, D: number, M: number, { dtype }: MemoryContext): LayerMemory {
  const staged = { a: true, b: true, c: true };
  const workspace = largestWorkspace(
    gemmStagingBytes(dtype, N, M, D, staged), // out = x w
    gemmStagingBytes(dtype, N, D, M, staged), // dx = dout w^T
    gemmStagingBytes(dtype, D, M, N, staged), // dw = x^T dout
  );
  return {
    out: N * M,
    impls: {
      naive: {
        forward: { out: bytesOf('float64', N * M) },
        backward: { dx: bytesOf('float64', N * D), dw: bytesOf('float64', D * M), db: bytesOf('float64', M) },
      },
      fast: {
        forward: { out: bytesOf(dtype, N * M) },
        backward: { dx: bytesOf(dtype, N * D), dw: bytesOf(dtype, D * M), db: bytesOf(dtype, M) + bytesOf('float64', M) },
        workspace,
      },
    },
  };
}

export const affine = defineLayer<AffineParams>({
  name: 'affine',
  summary: 'affine (fully connected) layer x @ w + b, x flattened per sample',
  inputs: [
    { name: 'x', help: 'input (N,d1,...,dk)', grad: true, shape: [10, 2, 3] },
    { name: 'w', help: 'weights (D,M), D = d1*...*dk', grad: true, shape: [6, 5] },
    { name: 'b', help: 'biases (M,)', grad: true, shape: (s) => [s.w[1]] },
  ],
  params: [],
  // A fully connected layer on flattened 32x32x3 images: x (128, 3072), w (3072, 512).
  benchCases: [{ shapes: { x: [128, 3072], w: [3072, 512] } }],
  // out = x w + b: 2*N*D*M forward; dx = dout w^T and dw = x^T dout, twice that backward.
  flops: (shapes) => {
    const forward = 2 * shapes.x[0] * shapes.w[0] * shapes.w[1];
    return { forward, backward: 2 * forward };
  },
  check(shapes) {
    const where = 'affine';
    if (shapes.x.length < 2) {
      throw new ShapeError(`${where}: x must be rank 2 or more (N,d1,...,dk), got rank ${shapes.x.length} ${formatShape(shapes.x)}`);
    }
    requirePositiveDims(where, 'x', shapes.x);
    requireRank(where, 'w', shapes.w, 2, 'D,M');
    const D = size(shapes.x.slice(1));
    if (shapes.w[0] !== D) {
      throw new ShapeError(`${where}: w must have D = ${D} rows (the product of x's dims after N, x ${formatShape(shapes.x)}), got w ${formatShape(shapes.w)}`);
    }
    requireShape(where, 'b', shapes.b, [shapes.w[1]]);
  },
  memory: (shapes, _params, ctx) => affineMemory(shapes.x[0], shapes.w[0], shapes.w[1], ctx),
  impls: {
    naive: defineImpl(affineForwardNaive, affineBackwardNaive),
    fast: defineImpl(affineForwardFast, affineBackwardFast),
  },
  // Linear in each input: no truncation error, only rounding (~1e-16 * |out| / h per output a
  // perturbation touches). Elements whose error is within that rounding noise cannot fail (see
  // src/gradcheck/numeric.ts roundingNoise); with that floor, 500 seeds x naive, fast at the
  // defaults measure median 5e-10, max 1.5e-7.
  tolerance: { grad: 1e-6 },
});
