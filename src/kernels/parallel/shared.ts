/**
 * The shared arena: typed arrays on one shared WebAssembly.Memory, which worker threads read and
 * write in place and the shared-memory WASM kernels run on.
 */
import type { DType } from '../../tensor/tensor.js';

/** Element types of arena views. */
export type ArenaKind = DType | 'int32';
type ArenaView = Float64Array | Float32Array | Int32Array;

/** 64 KiB WebAssembly pages; the arena's most pages (1 GiB, as the kernels' own memories). */
const PAGE = 65536;
const MAX_PAGES = 16384;

let arena: WebAssembly.Memory | undefined;

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

/** Bytes the arena grows to when `sharedArena(kinds, lengths)` finds it too small (growth headroom included, within its cap). */
export function arenaBytes(kinds: readonly ArenaKind[], lengths: readonly number[]): number {
  return Math.min(MAX_PAGES * PAGE, Math.ceil((viewBytes(kinds, lengths) * 1.25) / PAGE) * PAGE);
}

/** True when views of these kinds and lengths fit the arena's cap (1 GiB); callers stage elsewhere, or run on one thread, when not. */
export function arenaFits(kinds: readonly ArenaKind[], lengths: readonly number[]): boolean {
  return viewBytes(kinds, lengths) <= MAX_PAGES * PAGE;
}

/** arenaBytes for a pass on `threads` threads: 0 on one thread, or when the views would not fit (the pass then runs on one thread, unstaged). */
export function stagedArenaBytes(threads: number, kinds: readonly ArenaKind[], lengths: readonly number[]): number {
  return threads > 1 && arenaFits(kinds, lengths) ? arenaBytes(kinds, lengths) : 0;
}

/**
 * `threads`, or 1 when the views a threaded pass would stage do not fit the arena's cap: the pass
 * then runs in place on one thread (slower, never failing for want of staging room).
 */
export function threadsWithinArena(threads: number, kinds: readonly ArenaKind[], lengths: readonly number[]): number {
  return threads > 1 && !arenaFits(kinds, lengths) ? 1 : threads;
}

/**
 * The arena: a shared WebAssembly.Memory, so the shared-memory kernels (src/kernels/wasm/shared/)
 * run on it in place from any thread, and its buffer is a SharedArrayBuffer that typed-array views
 * (and worker threads) use as before. Growing it keeps earlier views valid.
 */
export function arenaMemory(): WebAssembly.Memory {
  arena ??= new WebAssembly.Memory({ initial: 1, maximum: MAX_PAGES, shared: true });
  return arena;
}

/**
 * Views of the given kinds and lengths on the arena, reused across calls (grown when too small);
 * every call hands out the same memory again, so views are valid only until the next call.
 * Contents are unspecified. Offsets are 64-byte aligned (a view's byteOffset is its address for the
 * shared-memory kernels).
 *
 * PERF: threaded passes stage their inputs and outputs here instead of allocating fresh
 * shared buffers per call. A fresh buffer costs a page fault per 4 KiB on first touch (about
 * 10 us each on a VM that returns freed pages to its host), and a SharedArrayBuffer sent to a
 * worker stays alive until that worker's GC runs, so its pages are rarely recycled.
 */
export function sharedArena<K extends readonly ArenaKind[]>(
  kinds: K,
  lengths: readonly number[],
): { [I in keyof K]: K[I] extends 'int32' ? Int32Array : K[I] extends 'float32' ? Float32Array : Float64Array } {
  const offsets: number[] = [];
  let bytes = 0;
  kinds.forEach((kind, i) => {
    offsets.push(bytes);
    bytes += Math.ceil((lengths[i] * (kind === 'float64' ? 8 : 4)) / 64) * 64;
  });
  const mem = arenaMemory();
  const have = mem.buffer.byteLength;
  if (have < bytes) {
    const pages = Math.min(MAX_PAGES, Math.ceil((bytes * 1.25) / PAGE)) - have / PAGE;
    if (have + pages * PAGE < bytes) throw new RangeError(`sharedArena: ${bytes} bytes exceed the arena's ${MAX_PAGES * PAGE} bytes`);
    mem.grow(pages);
  }
  const buf = mem.buffer as unknown as SharedArrayBuffer;
  const views: ArenaView[] = kinds.map((kind, i) =>
    kind === 'float64'
      ? new Float64Array(buf, offsets[i], lengths[i])
      : kind === 'float32'
        ? new Float32Array(buf, offsets[i], lengths[i])
        : new Int32Array(buf, offsets[i], lengths[i]),
  );
  return views as never;
}
