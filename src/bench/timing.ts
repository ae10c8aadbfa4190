/**
 * Wall-clock timing of layer passes, the one timing loop of cnn-check: `bench` and the timing
 * table of a layer check both measure with `timePasses`, so "forward ms" means the same in both.
 * Timing is reported, never asserted.
 *
 * Garbage collection, outside the timing: V8 frees array buffers only when it collects, and a
 * pass that must take fresh pages from the OS pays a page fault per 4 KiB (~10 us a page on a
 * VM that returns freed pages to its host: 40 ms for a 16 MB output), landing on whichever
 * pass happens to allocate (numpy frees by refcount and rarely pays). So a full collection
 * runs before each series, and before each pass when the previous pass took over
 * GC_EVERY_PASS_MS. Not before every pass: a full collection also drops optimized code whose
 * embedded maps it frees, and a short pure-JS pass would be timed re-optimizing.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { Inputs, LayerImpl, Params } from '../layers/types.js';
import type { Tensor } from '../tensor/tensor.js';

/** Summary of repeated timings, in milliseconds. */
export interface TimingStats {
  median: number;
  min: number;
  max: number;
  samples: number;
}

/** Median/min/max of a list of samples (ms). */
export function summarize(samples: number[]): TimingStats {
  const s = [...samples].sort((a, b) => a - b);
  const mid = s.length >> 1;
  const median = s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
  return { median, min: s[0], max: s[s.length - 1], samples: s.length };
}

/** Times scaled by `k` (a run timed at a smaller batch, scaled to the full one). */
export function scaleStats(s: TimingStats, k: number): TimingStats {
  return { median: s.median * k, min: s.min * k, max: s.max * k, samples: s.samples };
}

/** Forward and backward timings of one implementation. */
export interface PassTimings {
  forwardMs: TimingStats;
  backwardMs: TimingStats;
}

/** Passes longer than this get a full collection before the next one (see the module comment). */
export const GC_EVERY_PASS_MS = 20;

let gcFn: (() => void) | null | undefined;

/** A full collection: global.gc under --expose-gc, else exposed on demand; a no-op if neither works. */
export function collectGarbage(): void {
  if (gcFn === undefined) {
    const g = (globalThis as { gc?: () => void }).gc;
    if (typeof g === 'function') gcFn = g;
    else {
      try {
        setFlagsFromString('--expose-gc');
        gcFn = runInNewContext('gc') as () => void;
      } catch {
        gcFn = null;
      }
    }
  }
  gcFn?.();
}

export interface TimingOptions {
  /** Untimed runs first. */
  warmup: number;
  /** Timed runs. */
  repeat: number;
  /** The upstream gradient, or a function of the output (drawn once, outside the timed region). */
  dout: Tensor | ((out: Tensor) => Tensor);
  /**
   * Milliseconds of the last forward or backward call as measured where it ran (a module in a
   * worker or a Python process, the bridge's copying excluded); the wall clock here when absent.
   */
  lastCallMs?: (pass: 'forward' | 'backward') => number;
}

/** Time `impl`'s forward and backward on `inputs`: `repeat` runs after `warmup` untimed ones. */
export function timePasses(impl: LayerImpl, inputs: Inputs, params: Params, opts: TimingOptions): PassTimings {
  const fwd: number[] = [];
  const bwd: number[] = [];
  let dout = typeof opts.dout === 'function' ? undefined : opts.dout;
  collectGarbage();
  for (let r = 0; r < opts.warmup + opts.repeat; r++) {
    const t0 = performance.now();
    const res = impl.forward(inputs, params);
    const t1 = performance.now();
    const forwardMs = opts.lastCallMs?.('forward') ?? t1 - t0;
    dout ??= (opts.dout as (out: Tensor) => Tensor)(res.out);
    if (t1 - t0 > GC_EVERY_PASS_MS) collectGarbage();
    const t2 = performance.now();
    impl.backward(dout, res.cache);
    const t3 = performance.now();
    const backwardMs = opts.lastCallMs?.('backward') ?? t3 - t2;
    if (t3 - t2 > GC_EVERY_PASS_MS) collectGarbage();
    if (r >= opts.warmup) {
      fwd.push(forwardMs);
      bwd.push(backwardMs);
    }
  }
  return { forwardMs: summarize(fwd), backwardMs: summarize(bwd) };
}
