/**
 * Window geometry shared by convolution and pooling: output sizes and shape validation,
 * computed once at the boundary so hot loops need no checks.
 */
import { ShapeError, ParamError } from '../errors.js';
import { formatShape } from '../tensor/tensor.js';

/**
 * Largest stride and pad of a windowed layer (conv, max-pool). The WASM kernels index in 32-bit
 * integers: im2col computes pad + stride - 1 and i*stride + di - pad, which stay below 2^31 for
 * every image their memory (1 GiB) can hold when stride and pad are at most 2^29. A stride or pad
 * of 2^31 - 1 gave a wrong fast conv; larger ones trapped the kernel (a stride of 2^32 is 0 in
 * 32 bits: "divide by zero"). No window wider than 2^29 can be checked in memory anyway.
 */
export const MAX_STRIDE_PAD = 2 ** 29;
/** The cap of stride and pad params (settings/domain.ts `cap`). */
export const STRIDE_PAD_CAP = { cap: MAX_STRIDE_PAD, capReason: 'the largest stride or pad: the kernels index in 32 bits' } as const;

/** Output length of a sliding window: floor((len + 2*pad - win) / stride) + 1. */
export function windowOutputSize(len: number, win: number, stride: number, pad: number): number {
  return Math.floor((len + 2 * pad - win) / stride) + 1;
}

/** Throws unless `shape` has rank `rank` and every dimension is a positive integer. */
export function requireRank(where: string, name: string, shape: readonly number[], rank: number, dims: string): void {
  if (shape.length !== rank) {
    throw new ShapeError(`${where}: ${name} must be rank ${rank} (${dims}), got rank ${shape.length} ${formatShape(shape)}`);
  }
  requirePositiveDims(where, name, shape);
}

/** Throws unless every dimension of `shape` is a positive integer. */
export function requirePositiveDims(where: string, name: string, shape: readonly number[]): void {
  for (const d of shape) {
    if (!Number.isInteger(d) || d <= 0) {
      throw new ShapeError(`${where}: ${name} dimensions must be positive integers, got ${formatShape(shape)}`);
    }
  }
}

/** Throws unless `shape` equals `expected`. */
export function requireShape(where: string, name: string, shape: readonly number[], expected: readonly number[]): void {
  if (shape.length !== expected.length || shape.some((d, i) => d !== expected[i])) {
    throw new ShapeError(`${where}: ${name} must have shape ${formatShape(expected)}, got ${formatShape(shape)}`);
  }
}

/** Convolution geometry in cs231n names. */
export interface ConvGeometry {
  N: number;
  C: number;
  H: number;
  W: number;
  F: number;
  HH: number;
  WW: number;
  stride: number;
  pad: number;
  Hout: number;
  Wout: number;
}

/** Validate x (N,C,H,W), w (F,C,HH,WW) and the params; return the output geometry. */
export function convGeometry(xShape: readonly number[], wShape: readonly number[], stride: number, pad: number): ConvGeometry {
  const where = 'conv';
  requireRank(where, 'x', xShape, 4, 'N,C,H,W');
  requireRank(where, 'w', wShape, 4, 'F,C,HH,WW');
  if (!Number.isInteger(stride) || stride < 1) throw new ParamError(`${where}: stride must be an integer >= 1, got ${stride}`);
  if (!Number.isInteger(pad) || pad < 0) throw new ParamError(`${where}: pad must be an integer >= 0, got ${pad}`);
  const [N, C, H, W] = xShape;
  const [F, Cw, HH, WW] = wShape;
  if (Cw !== C) {
    throw new ShapeError(`${where}: w channels must equal x channels (${C}), got w ${formatShape(wShape)} and x ${formatShape(xShape)}`);
  }
  if (HH > H + 2 * pad || WW > W + 2 * pad) {
    throw new ShapeError(`${where}: kernel ${HH}x${WW} must fit the padded input ${H + 2 * pad}x${W + 2 * pad} (H, W = ${H}, ${W}; pad ${pad})`);
  }
  return { N, C, H, W, F, HH, WW, stride, pad, Hout: windowOutputSize(H, HH, stride, pad), Wout: windowOutputSize(W, WW, stride, pad) };
}

/** Max-pooling geometry in cs231n names. */
export interface PoolGeometry {
  N: number;
  C: number;
  H: number;
  W: number;
  pool_height: number;
  pool_width: number;
  stride: number;
  Hout: number;
  Wout: number;
}

/** Validate x (N,C,H,W) and the pooling params; return the output geometry. */
export function poolGeometry(xShape: readonly number[], pool_height: number, pool_width: number, stride: number): PoolGeometry {
  const where = 'maxpool';
  requireRank(where, 'x', xShape, 4, 'N,C,H,W');
  for (const [name, v] of [
    ['pool_height', pool_height],
    ['pool_width', pool_width],
    ['stride', stride],
  ] as const) {
    if (!Number.isInteger(v) || v < 1) throw new ParamError(`${where}: ${name} must be an integer >= 1, got ${v}`);
  }
  const [N, C, H, W] = xShape;
  if (pool_height > H || pool_width > W) {
    throw new ShapeError(`${where}: pool window ${pool_height}x${pool_width} must fit the input ${H}x${W}`);
  }
  return {
    N,
    C,
    H,
    W,
    pool_height,
    pool_width,
    stride,
    Hout: windowOutputSize(H, pool_height, stride, 0),
    Wout: windowOutputSize(W, pool_width, stride, 0),
  };
}

/** Throws unless `y` holds N integer class indices in [0, C) (svm_loss, softmax_loss). */
export function requireLabels(where: string, y: { data: ArrayLike<number>; shape: readonly number[] }, C: number): void {
  for (let i = 0; i < y.data.length; i++) {
    const v = y.data[i];
    if (!Number.isInteger(v) || v < 0 || v >= C) {
      throw new ShapeError(`${where}: y must hold integer class indices in [0, ${C}), got ${v} at (${i})`);
    }
  }
}
