/**
 * Multiclass SVM (hinge) loss, cs231n conventions: scores x (N, C) and integer labels y (N,)
 * in [0, C) -> the scalar loss
 *   L = (1/N) * sum_i sum_{j != y_i} max(0, x[i,j] - x[i,y_i] + 1),
 * and dx. y takes no gradient. The loss is the output (shape ()), so backward scales dx by the
 * upstream scalar dout (1 in a network; random in the gradient check).
 */
import { dtypeOf, zeros, type DType, type Tensor } from '../tensor/tensor.js';
import { requireLabels, requireRank, requireShape } from './geometry.js';
import { defineImpl, defineLayer, type ForwardResult, type Gradients, type Inputs, type LayerMemory, type MemoryContext, type Shapes } from './types.js';
import { bytesOf, INT32_BYTES } from '../memory/estimate.js';

/** svm_loss has no params. */
export type LossParams = Record<string, never>;

export interface LossCache {
  /** dL/dx of the loss itself (N, C), before the upstream gradient. */
  dx: Float64Array;
  shape: number[];
  dtype: DType;
}

/** Backward of a scalar loss: dx = dout * dL/dx, in the forward's dtype. */
export function lossBackward(dout: Tensor, cache: LossCache): Gradients {
  const g = dout.data[0];
  const dx = zeros(cache.shape, cache.dtype);
  for (let i = 0; i < dx.data.length; i++) dx.data[i] = g * cache.dx[i];
  return { dx };
}

/**
 * Naive forward: the loss (shape ()), float64, cs231n's loops; switches = 1 where a margin is
 * positive (the hinge's kinks: a margin crossing 0 between x-h and x+h is no gradient error).
 */
export function svmLossForwardNaive(inputs: Inputs, _params: LossParams): ForwardResult<LossCache> {
  const { x, y } = inputs;
  const [N, C] = x.shape;
  const dx = new Float64Array(N * C);
  const switches = new Int32Array(N * C);
  let loss = 0;
  for (let i = 0; i < N; i++) {
    const yi = y.data[i];
    const correct = x.data[i * C + yi];
    for (let j = 0; j < C; j++) {
      if (j === yi) continue;
      const margin = x.data[i * C + j] - correct + 1;
      if (margin > 0) {
        loss += margin;
        dx[i * C + j] += 1;
        dx[i * C + yi] -= 1;
        switches[i * C + j] = 1;
      }
    }
  }
  for (let k = 0; k < dx.length; k++) dx[k] /= N;
  const out = zeros([]);
  out.data[0] = loss / N;
  return { out, cache: { dx, shape: [...x.shape], dtype: 'float64' }, switches };
}

/** Fast forward: one pass per row, sums in float64, the loss in x's dtype. */
export function svmLossForwardFast(inputs: Inputs, _params: LossParams): ForwardResult<LossCache> {
  const { x, y } = inputs;
  const [N, C] = x.shape;
  const xd = x.data;
  const dx = new Float64Array(N * C);
  const switches = new Int32Array(N * C);
  const inv = 1 / N;
  let loss = 0;
  for (let i = 0, row = 0; i < N; i++, row += C) {
    const yi = y.data[i];
    const correct = xd[row + yi];
    let positive = 0;
    for (let j = 0; j < C; j++) {
      const margin = xd[row + j] - correct + 1;
      if (j !== yi && margin > 0) {
        loss += margin;
        dx[row + j] = inv;
        switches[row + j] = 1;
        positive++;
      }
    }
    dx[row + yi] = -positive * inv;
  }
  const out = zeros([], dtypeOf(x));
  out.data[0] = loss / N;
  return { out, cache: { dx, shape: [...x.shape], dtype: dtypeOf(x) }, switches };
}

/** The inputs of the loss layers: scores x (N, C) and labels y (N,). */
export const LOSS_INPUTS = [
  { name: 'x', help: 'class scores (N,C)', grad: true, shape: [10, 5] },
  {
    name: 'y',
    help: 'labels (N,): integer classes in [0, C)',
    grad: false,
    shape: (s: Record<string, number[]>) => [s.x[0]],
    init: 'labels' as const,
    classes: (s: Record<string, number[]>) => s.x[1],
  },
];

/**
 * Bytes of a loss layer's passes (LayerSpec.memory): forward keeps its own dL/dx (N, C) in float64
 * (and svm_loss its hinge switches), backward scales it into dx; out is the scalar loss.
 */
export function lossMemory(shapes: Shapes, switches: boolean, { dtype }: MemoryContext): LayerMemory {
  const [N, C] = shapes.x;
  const forward = { 'loss dx': bytesOf('float64', N * C), ...(switches ? { switches: INT32_BYTES * N * C } : {}), out: 8 };
  return {
    out: 1,
    impls: {
      naive: { forward, backward: { dx: bytesOf('float64', N * C) } },
      fast: { forward, backward: { dx: bytesOf(dtype, N * C) } },
    },
  };
}

/** Shapes and labels of a loss layer. */
export function checkLoss(where: string, shapes: Record<string, number[]>): void {
  requireRank(where, 'x', shapes.x, 2, 'N,C');
  requireShape(where, 'y', shapes.y, [shapes.x[0]]);
}

export const svmLoss = defineLayer<LossParams>({
  name: 'svm_loss',
  summary: 'multiclass SVM (hinge) loss of scores x (N,C) for labels y (N,); the output is the loss',
  inputs: LOSS_INPUTS,
  params: [],
  check(shapes) {
    checkLoss('svm_loss', shapes);
  },
  memory: (shapes, _params, ctx) => lossMemory(shapes, true, ctx),
  checkInputs(inputs) {
    requireLabels('svm_loss', inputs.y, inputs.x.shape[1]);
  },
  impls: {
    naive: defineImpl(svmLossForwardNaive, lossBackward),
    fast: defineImpl(svmLossForwardFast, lossBackward),
  },
  benchCases: [{ shapes: { x: [512, 1000] } }],
  // Piecewise linear: away from the hinges (switches, left out) the centred difference is exact
  // up to rounding, as for relu.
  tolerance: { grad: 1e-7 },
});
