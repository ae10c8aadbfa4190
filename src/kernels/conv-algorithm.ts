/**
 * Which algorithm the fast convolution runs for a shape, by a fixed rule (no timing at run time, so
 * a shape always runs the same code and results are reproducible):
 *
 *  1. 'winograd' (src/kernels/conv-winograd.ts) for 3x3 filters at stride 1 when the WASM kernels
 *     are loaded and C and F are both at least WINOGRAD_MIN_CHANNELS: F(2x2, 3x3) in both dtypes
 *     (WINOGRAD_TILE; why not F(4x4) in float64 is in BENCHMARKS.md), for forward and both backward passes.
 *  2. 'direct' (src/kernels/conv-direct.ts) when the WASM kernels are loaded, a window has at most
 *     DIRECT_MAX_K = C*HH*WW taps and the padding is less than the window: the GEMM micro-kernel
 *     reads the staged, padded input through a table of tap offsets instead of an im2col matrix.
 *  3. 'im2col' (im2col + packed GEMM) otherwise, and always with the JS GEMM.
 *
 * `setConvAlgorithm` forces one for tests and benchmarks; a forced algorithm that does not apply
 * to the shape (Winograd for a 5x5 filter, anything but im2col without WASM) falls back to the rule.
 */
import type { DType } from '../tensor/tensor.js';
import { gemmBackend } from './gemm.js';

/** The fast convolution algorithms. */
export type ConvAlgorithm = 'im2col' | 'winograd' | 'direct';

/** The part of a conv geometry the rule reads. */
export interface ConvShape {
  C: number;
  F: number;
  HH: number;
  WW: number;
  stride: number;
  Hout: number;
  Wout: number;
  /** Zero padding on each side (default 0). */
  pad?: number;
}

/**
 * Least input and output channels for Winograd. PERF: below it the alpha^2 small GEMMs (K = C) and
 * the transforms cost more than they save; measured crossover in BENCHMARKS.md.
 */
export const WINOGRAD_MIN_CHANNELS = 8;
/**
 * Most taps per window (C*HH*WW) for the direct kernel. PERF: im2col writes K values per output
 * pixel and the GEMM packs them again, about as much memory traffic as the K*F multiply-adds when
 * K is small (the cs231n shape: K = 27, F = 25); measured crossover in BENCHMARKS.md.
 */
export const DIRECT_MAX_K = 32;

let forced: ConvAlgorithm | 'auto' = 'auto';

/** Force an algorithm ('auto': the rule) for later passes on this thread. */
export function setConvAlgorithm(a: ConvAlgorithm | 'auto'): void {
  forced = a;
}

/** The current setting. */
export function getConvAlgorithm(): ConvAlgorithm | 'auto' {
  return forced;
}

/** Whether `a` can run this shape here. */
export function convAlgorithmApplies(a: ConvAlgorithm, g: ConvShape): boolean {
  if (a === 'im2col') return true;
  if (gemmBackend() !== 'wasm') return false;
  if (a === 'winograd') return g.HH === 3 && g.WW === 3 && g.stride === 1;
  // The direct kernel stages each image padded (C * (H + 2 pad) * (W + 2 pad) elements) while the
  // work depends on the windows only: a pad past the window adds rows and columns of zeros to stage
  // and nothing to compute (at the largest pad, 2^29, the staged image would be 2^60 elements).
  return (g.pad ?? 0) < Math.max(g.HH, g.WW);
}

/** The algorithm the fast convolution runs for shape `g` in `dtype`. */
export function convAlgorithm(g: ConvShape, dtype: DType): ConvAlgorithm {
  void dtype;
  if (forced !== 'auto' && convAlgorithmApplies(forced, g)) return forced;
  if (gemmBackend() !== 'wasm') return 'im2col';
  if (convAlgorithmApplies('winograd', g) && g.C >= WINOGRAD_MIN_CHANNELS && g.F >= WINOGRAD_MIN_CHANNELS) return 'winograd';
  if (g.C * g.HH * g.WW <= DIRECT_MAX_K && convAlgorithmApplies('direct', g)) return 'direct';
  return 'im2col';
}

/** A human name of the algorithm for reports: 'winograd F(2x2,3x3)', 'im2col+gemm', 'direct'. */
export function convAlgorithmName(a: ConvAlgorithm, _dtype: DType): string {
  if (a === 'winograd') return 'winograd F(2x2,3x3)';
  return a === 'im2col' ? 'im2col+gemm' : 'direct';
}
