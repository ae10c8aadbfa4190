/**
 * The benchmark runner behind `cnn-check bench`: for each layer of the registry, each of its
 * benchmark cases (or one case from the caller's shapes and params), each dtype and each
 * implementation, time forward and backward passes and return BenchResult records.
 *
 * Naive passes can take minutes at realistic shapes. Before timing one, the runner times a
 * single pass at batch 1 and, when the whole run would exceed the naive budget, times the
 * largest batch that fits instead and scales the times linearly to the full batch (every
 * registered layer is linear in its batch size); such rows carry `estimatedFrom`.
 *
 * Passes are timed by bench/timing.ts (its module comment says how garbage collection is kept
 * out of the timings).
 */
import { availableParallelism, cpus } from 'node:os';
import { implNames, REFERENCE_IMPL, type LayerImpl, type LayerSpec, type Params, type Shapes } from '../layers/types.js';
import { builtinImplementations } from '../impls/builtin.js';
import type { Implementation } from '../impls/types.js';
import { defaultParams, generateInputs, resolveShapes } from '../layers/params.js';
import { gemmKernel } from '../kernels/gemm.js';
import { clearKernelNotes, kernelNotes } from '../kernels/provenance.js';
import { getThreads, setThreads } from '../kernels/parallel/pool.js';
import { XoshiroRng, randn } from '../tensor/rng.js';
import { inDType, type DType, type Tensor } from '../tensor/tensor.js';
import { scaleStats, timePasses, type PassTimings, type TimingStats } from './timing.js';
import { requireMemory } from '../memory/estimate.js';
import { memoryLimit } from '../memory/limit.js';
import { describeCase, estimateBenchMemory, inSequence } from '../memory/work.js';

/** Default seed of benchmark inputs. */
export const BENCH_SEED = 231;

/** One configuration to time: the layer, the user-settable shapes and the params. */
export interface BenchCaseSpec {
  layer: LayerSpec;
  /** Shapes of settable inputs; derived ones (b from w) are resolved by the runner. */
  shapes: Shapes;
  params: Params;
}

/** Timings of one (layer, case, impl, dtype, threads). Also the `--json` record. */
export interface BenchResult {
  layer: string;
  impl: string;
  dtype: DType;
  /** Threads the implementation may use (naive passes always run on one). */
  threads: number;
  /** Every input's shape, derived ones included. */
  shapes: Shapes;
  params: Params;
  forwardMs: TimingStats;
  backwardMs: TimingStats;
  /** Achieved GFLOP/s from median times, or null when the layer defines no flop count. */
  gflops: { forward: number; backward: number } | null;
  /** For fast rows: (naive forward + backward) / (fast forward + backward) medians. */
  speedup?: number;
  /** Set when times were measured at this smaller batch and scaled to the full one. */
  estimatedFrom?: { batch: number };
  /** What the fast passes ran ('conv forward: winograd F(2x2,3x3); ...'), when they say. */
  algorithm?: string;
}

/** What `runBench` returns: results plus the machine they were measured on. */
export interface BenchReport {
  machine: { cpu: string; cores: number; node: string /** The GEMM kernel: 'wasm-relaxed (FMA)', 'wasm-simd128' or 'js'. */; gemm: string };
  results: BenchResult[];
  /** Things the caller should tell the user (layers without a fast impl, ...). */
  notes: string[];
}

export interface BenchOptions {
  dtypes: DType[];
  /** The layers' own implementations to time, by name (`naive`, `fast`). */
  impls: string[];
  /** Implementations from outside the registry (a user's module) for a layer; none when absent. */
  external?: (layer: LayerSpec) => Implementation[];
  /** Thread setting for fast passes. */
  threads: number;
  warmup: number;
  repeat: number;
  /** Seconds a naive run may take before it is estimated from a smaller batch (Infinity: never). */
  naiveBudgetSec: number;
  seed?: number;
  /** Called before each timing run (progress display). */
  onProgress?: (p: BenchProgress) => void;
  /** Bytes a row may allocate by its estimate, refused before anything runs (default half of the memory available, memory/limit.ts). */
  maxMemory?: number;
  /** How messages name that limit (default `maxMemory`). */
  memoryLabel?: string;
}

export interface BenchProgress {
  layer: string;
  impl: string;
  dtype: DType;
  shapes: Shapes;
  /** 1-based index of this run among `total`. */
  index: number;
  total: number;
  phase: 'probe' | 'time';
}

/** The cases a layer is benchmarked at by default: its benchCases, else its default shapes. */
export function defaultBenchCases(layer: LayerSpec): BenchCaseSpec[] {
  const defaults = defaultParams(layer);
  if (layer.benchCases?.length) {
    return layer.benchCases.map((c) => ({ layer, shapes: { ...c.shapes }, params: { ...defaults, ...(c.params ?? {}) } }));
  }
  const shapes: Shapes = {};
  for (const input of layer.inputs) if (Array.isArray(input.shape)) shapes[input.name] = [...input.shape];
  return [{ layer, shapes, params: defaults }];
}

/** All shapes of a case at batch size `batch` (the first dimension of the first input). */
function shapesAtBatch(c: BenchCaseSpec, batch?: number): Shapes {
  const given: Shapes = { ...c.shapes };
  const first = c.layer.inputs[0].name;
  const full = resolveShapes(c.layer, given, c.params);
  if (batch !== undefined) given[first] = [batch, ...full[first].slice(1)];
  return resolveShapes(c.layer, given, c.params);
}

function batchOf(c: BenchCaseSpec, shapes: Shapes): number {
  return shapes[c.layer.inputs[0].name][0];
}

/** Time `runs` forward+backward passes after `warmup` untimed ones; dout drawn from the output's shape. */
function timeImpl(im: Implementation, inputs: Record<string, Tensor>, params: Params, dtype: DType, seed: number, warmup: number, runs: number): PassTimings {
  // An external implementation's own clock, when it has one, leaves the bridge's copying out.
  let last: { forward: number; backward: number } | undefined;
  let impl: LayerImpl = im.impl;
  if (im.lastCallMs) {
    const own = im.lastCallMs;
    last = { forward: NaN, backward: NaN };
    impl = {
      forward: (i, p) => {
        const r = im.impl.forward(i, p);
        last!.forward = own();
        return r;
      },
      backward: (d, c) => {
        const g = im.impl.backward(d, c);
        last!.backward = own();
        return g;
      },
    };
  }
  return timePasses(impl, inputs, params, {
    warmup,
    repeat: runs,
    dout: (out) => inDType(randn(new XoshiroRng(seed + 1), out.shape), dtype),
    ...(last ? { lastCallMs: (pass: 'forward' | 'backward') => last![pass] } : {}),
  });
}

function inputsAt(c: BenchCaseSpec, shapes: Shapes, dtype: DType, seed: number): Record<string, Tensor> {
  c.layer.check(shapes, c.params);
  const f64 = generateInputs(c.layer, shapes, new XoshiroRng(seed));
  return Object.fromEntries(Object.entries(f64).map(([name, t]) => [name, inDType(t, dtype)]));
}

/** Benchmark every case; results in case, dtype, impl order. Throws CnnCheckError on bad shapes. */
export function runBench(cases: BenchCaseSpec[], opts: BenchOptions): BenchReport {
  const seed = opts.seed ?? BENCH_SEED;
  const notes: string[] = [];
  const results: BenchResult[] = [];
  const previousThreads = getThreads();
  const plan: Array<{ c: BenchCaseSpec; dtype: DType; im: Implementation }> = [];
  for (const c of cases) {
    c.layer.check(shapesAtBatch(c), c.params); // validate every case before spending time on any
    const have = implNames(c.layer);
    const mine = [
      ...builtinImplementations(
        c.layer,
        opts.impls.filter((n) => have.includes(n)),
      ),
      ...(opts.external?.(c.layer) ?? []),
    ];
    for (const n of opts.impls) {
      if (!have.includes(n) && !notes.some((x) => x.startsWith(`${c.layer.name}:`))) notes.push(`${c.layer.name}: no ${n} implementation`);
    }
    for (const dtype of opts.dtypes) for (const im of mine) plan.push({ c, dtype, im });
  }
  // Every row's memory before any runs, with the kernels' workspace the rows before it leave behind.
  const estimates = inSequence(
    plan.map(({ c, dtype, im }) => {
      const slow = im.name === REFERENCE_IMPL || im.external;
      return estimateBenchMemory(c.layer, shapesAtBatch(c), c.params, { dtype, impl: im.name, external: im.external, threads: slow ? 1 : opts.threads });
    }),
  );
  const limit = memoryLimit(opts.maxMemory, opts.memoryLabel ?? 'maxMemory');
  plan.forEach(({ c, dtype, im }, i) => {
    requireMemory(`bench ${describeCase(c.layer, c.params, shapesAtBatch(c))} ${dtype} ${im.name}`, estimates[i], limit);
  });
  try {
    plan.forEach(({ c, dtype, im }, i) => {
      const impl = im.name;
      const shapes = shapesAtBatch(c);
      const progress = (phase: BenchProgress['phase']) =>
        opts.onProgress?.({ layer: c.layer.name, impl, dtype, shapes, index: i + 1, total: plan.length, phase });
      // The naive loops and a user's module run on one thread here (a module's own threads are its own).
      const slow = impl === REFERENCE_IMPL || im.external;
      const threads = slow ? 1 : opts.threads;
      setThreads(threads);
      const N = batchOf(c, shapes);
      let batch = N;
      if (slow && Number.isFinite(opts.naiveBudgetSec) && N > 1) {
        progress('probe');
        const probe = timeImpl(im, inputsAt(c, shapesAtBatch(c, 1), dtype, seed), c.params, dtype, seed, 0, 1);
        const perPassMs = probe.forwardMs.median + probe.backwardMs.median;
        const runs = opts.warmup + opts.repeat;
        if ((perPassMs * N * runs) / 1000 > opts.naiveBudgetSec) {
          batch = Math.max(1, Math.min(N - 1, Math.floor((opts.naiveBudgetSec * 1000) / (runs * perPassMs))));
        }
      }
      progress('time');
      clearKernelNotes();
      const timed = timeImpl(im, inputsAt(c, shapesAtBatch(c, batch), dtype, seed), c.params, dtype, seed, opts.warmup, opts.repeat);
      const k = N / batch;
      const forwardMs = scaleStats(timed.forwardMs, k);
      const backwardMs = scaleStats(timed.backwardMs, k);
      const flops = c.layer.flops?.(shapes, c.params);
      results.push({
        layer: c.layer.name,
        impl,
        dtype,
        threads,
        shapes,
        params: c.params,
        forwardMs,
        backwardMs,
        gflops: flops ? { forward: flops.forward / forwardMs.median / 1e6, backward: flops.backward / backwardMs.median / 1e6 } : null,
        ...(batch !== N ? { estimatedFrom: { batch } } : {}),
        ...(impl !== 'naive' && kernelNotes() ? { algorithm: kernelNotes() } : {}),
      });
      const ran = results[results.length - 1];
      if (ran.algorithm)
        notes.push(
          `${ran.layer} ${Object.entries(ran.shapes)
            .map(([k, v]) => `${k} ${v.join(',')}`)
            .join(' ')} ${dtype} ${impl}: ${ran.algorithm}`,
        );
    });
  } finally {
    setThreads(previousThreads);
  }
  attachSpeedups(results);
  return { machine: machineInfo(), results, notes };
}

/** Identity of a benchmark configuration apart from impl and threads. */
export function caseKey(r: Pick<BenchResult, 'layer' | 'dtype' | 'shapes' | 'params'>): string {
  const sorted = (o: Record<string, unknown>) => Object.fromEntries(Object.entries(o).sort(([a], [b]) => a.localeCompare(b)));
  return JSON.stringify([r.layer, r.dtype, sorted(r.shapes), sorted(r.params)]);
}

/** Set `speedup` on each row other than naive that has a naive row of the same case and dtype. */
export function attachSpeedups(results: BenchResult[]): void {
  for (const r of results) {
    if (r.impl === 'naive') continue;
    const naive = results.find((n) => n.impl === 'naive' && caseKey(n) === caseKey(r));
    if (naive) r.speedup = (naive.forwardMs.median + naive.backwardMs.median) / (r.forwardMs.median + r.backwardMs.median);
  }
}

/** The machine a report was measured on. */
export function machineInfo(): BenchReport['machine'] {
  return { cpu: cpus()[0]?.model?.trim() ?? 'unknown', cores: availableParallelism(), node: process.version, gemm: gemmKernel() };
}
