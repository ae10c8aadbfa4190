/**
 * Wall-clock timing of layer passes: warm-up runs, then repeated runs summarised by
 * median and spread. Timing is reported, never asserted.
 */
import type { Tensor } from '../tensor/tensor.js';
import type { LayerImpl, Params } from '../layers/types.js';

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

/** Forward and backward timings of one implementation. */
export interface PassTimings {
  forwardMs: TimingStats;
  backwardMs: TimingStats;
}

export interface TimingOptions {
  warmup: number;
  repeat: number;
}

/** Time `impl`'s forward and backward on `inputs` with upstream gradient `dout`. */
export function timePasses(impl: LayerImpl, inputs: Record<string, Tensor>, params: Params, dout: Tensor, opts: TimingOptions): PassTimings {
  const fwd: number[] = [];
  const bwd: number[] = [];
  for (let r = 0; r < opts.warmup + opts.repeat; r++) {
    const t0 = performance.now();
    const res = impl.forward(inputs, params);
    const t1 = performance.now();
    impl.backward(dout, res.cache);
    const t2 = performance.now();
    if (r >= opts.warmup) {
      fwd.push(t1 - t0);
      bwd.push(t2 - t1);
    }
  }
  return { forwardMs: summarize(fwd), backwardMs: summarize(bwd) };
}
