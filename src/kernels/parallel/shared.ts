/**
 * Typed arrays on SharedArrayBuffers, which worker threads read and write in place.
 */
import type { DType } from '../../tensor/tensor.js';

/** Element types of arena views. */
export type ArenaKind = DType | 'int32';
type ArenaView = Float64Array | Float32Array | Int32Array;

let arena: SharedArrayBuffer | undefined;

/** The arena's name in memory estimates (src/memory/): one buffer that only grows. */
export const SHARED_ARENA = 'shared arena';

/** Bytes of the views' data, each rounded up to 64 bytes as sharedArena lays them out. */
function viewBytes(kinds: readonly ArenaKind[], lengths: readonly number[]): number {
  let bytes = 0;
  kinds.forEach((kind, i) => {
    bytes += Math.ceil((lengths[i] * (kind === 'float64' ? 8 : 4)) / 64) * 64;
  });
  return bytes;
}

/** Bytes the arena grows to when `sharedArena(kinds, lengths)` finds it too small (growth headroom included). */
export function arenaBytes(kinds: readonly ArenaKind[], lengths: readonly number[]): number {
  return Math.ceil((viewBytes(kinds, lengths) * 1.25) / 65536) * 65536;
}

/**
 * Views of the given kinds and lengths on one SharedArrayBuffer reused across calls (grown
 * when too small); every call hands out the same memory again, so views are valid only until
 * the next call. Contents are unspecified.
 *
 * PERF: threaded passes stage their inputs and outputs here instead of allocating fresh
 * shared buffers per call. A fresh buffer costs a page fault per 4 KiB on first touch (about
 * 10 us each on a VM that returns freed pages to its host), and a SharedArrayBuffer sent to a
 * worker stays alive until that worker's GC runs, so its pages are rarely recycled.
 */
export function sharedArena<K extends readonly ArenaKind[]>(kinds: K, lengths: readonly number[]): { [I in keyof K]: K[I] extends 'int32' ? Int32Array : K[I] extends 'float32' ? Float32Array : Float64Array } {
  const offsets: number[] = [];
  let bytes = 0;
  kinds.forEach((kind, i) => {
    offsets.push(bytes);
    bytes += Math.ceil((lengths[i] * (kind === 'float64' ? 8 : 4)) / 64) * 64;
  });
  if (!arena || arena.byteLength < bytes) arena = new SharedArrayBuffer(arenaBytes(kinds, lengths));
  const buf = arena;
  const views: ArenaView[] = kinds.map((kind, i) =>
    kind === 'float64' ? new Float64Array(buf, offsets[i], lengths[i]) : kind === 'float32' ? new Float32Array(buf, offsets[i], lengths[i]) : new Int32Array(buf, offsets[i], lengths[i]),
  );
  return views as never;
}
