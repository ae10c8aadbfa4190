/**
 * Typed arrays on SharedArrayBuffers, which worker threads read and write in place.
 */
import type { DType, FloatArray } from '../tensor/tensor.js';

/** True when `a` is a view on a SharedArrayBuffer. */
export function isShared(a: ArrayBufferView): boolean {
  return typeof SharedArrayBuffer !== 'undefined' && a.buffer instanceof SharedArrayBuffer;
}

/** A zero-filled array of `dtype` on a fresh SharedArrayBuffer. */
export function sharedZeros(dtype: DType, length: number): FloatArray {
  return dtype === 'float32'
    ? new Float32Array(new SharedArrayBuffer(length * 4))
    : new Float64Array(new SharedArrayBuffer(length * 8));
}

/** `a` itself when it is already shared, else a copy of it on a SharedArrayBuffer. */
export function toShared<T extends FloatArray>(a: T): T {
  if (isShared(a)) return a;
  const s = sharedZeros(a instanceof Float32Array ? 'float32' : 'float64', a.length);
  s.set(a);
  return s as T;
}
