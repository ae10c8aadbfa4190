/**
 * The layer seam. Each layer file ends in a declarative LayerSpec; the registry lists
 * them, and the CLI, gradient checker, benchmarks, fixtures and tests iterate over it.
 *
 * A spec is typed by its params `P` (`{stride: number; pad: number}`), and each implementation
 * by its cache `C`, so a layer's own code needs no casts. Generic tools see the erased
 * `LayerSpec` (params as a plain record, caches opaque): they only hand a forward pass's cache
 * back to the backward pass of the same implementation.
 */
import type { DType, Tensor } from '../tensor/tensor.js';
import type { Domain } from '../settings/domain.js';
import { prefaultSpareBytes, PREFAULT_SPARES } from '../kernels/fresh.js';

export type ParamValue = number | string;
export type Params = Record<string, ParamValue>;
/** A layer's inputs by cs231n name: `{x, w, b}`. */
export type Inputs = Record<string, Tensor>;

/** One layer parameter: cs231n name, CLI flag, domain and default. */
export interface ParamSpec extends Domain {
  /** cs231n name as used in fixtures' meta, suites and JSON output: `stride`, `pool_height`, `G`, `eps`. */
  name: string;
  /** CLI flag without dashes: `stride`, `pool-height`, `groups`. The name is accepted as a flag too where it can be one (`--G`). */
  flag: string;
  /** Other spellings accepted for it, on the command line and in JSON. */
  aliases?: readonly string[];
  help: string;
  default: ParamValue;
}

/** How generated values of an input are drawn (`labels`: integer classes in [0, classes)). */
export type InitKind = 'randn' | 'zeros' | 'ones' | 'positive' | 'labels';

/** Shapes of a layer's inputs by name. */
export type Shapes = Record<string, number[]>;

/** One input of a layer. Gradients come back under `'d' + name`. */
export interface InputSpec {
  /** cs231n name: `x`, `w`, `b`, `gamma`, `beta`, `running_mean`, `running_var`. */
  name: string;
  help: string;
  /** True when backward returns `'d' + name` and the gradient checker checks it. */
  grad: boolean;
  /**
   * The default shape: a literal for inputs the user sets with `--<name>-shape`,
   * or a function of the shapes of earlier inputs and the params (b from w, gamma from x).
   */
  shape: number[] | ((shapes: Shapes, params: Params) => number[]);
  /** How to fill generated values (default `randn`). */
  init?: InitKind;
  /** For `labels`: the number of classes, from the shapes (svm_loss: x's C). */
  classes?: (shapes: Shapes) => number;
}

/** What a forward pass returns. Forward passes are pure: inputs are never modified. */
export interface ForwardResult<C = unknown> {
  out: Tensor;
  /** Whatever backward needs; opaque to generic tools. */
  cache: C;
  /** Updated state such as running statistics (`running_mean`, `running_var`). */
  state?: Record<string, Tensor>;
  /**
   * The discrete choices the output depends on (relu's active mask, max-pool's argmax).
   * The gradient checker compares them at x+h and x-h to detect kinks, where a centred
   * difference is meaningless.
   */
  switches?: Int32Array;
}

/** Gradients keyed `'d' + inputName`: `{dx, dw, db}`. */
export type Gradients = Record<string, Tensor>;

/**
 * One implementation of a layer: forward and backward of params `P` with cache `C`.
 * NOTE: method syntax on purpose: it lets a `LayerImpl<ConvParams, ConvCache>` stand where
 * the erased `LayerImpl` is expected.
 */
export interface LayerImpl<P = Params, C = unknown> {
  forward(inputs: Inputs, params: P): ForwardResult<C>;
  backward(dout: Tensor, cache: C): Gradients;
  /**
   * Several forward passes in one call, with the results of calling forward on each in turn: for
   * implementations whose every call costs a round trip (a module in a Python process), so the
   * numeric side can evaluate a run of elements at once (numeric.ts `prefetch`).
   */
  forwardMany?(inputs: Inputs[], params: P): ForwardResult<C>[];
}

/** Name of the reference implementation every layer has: the readable loops. */
export const REFERENCE_IMPL = 'naive';

/** A layer's implementations by name: the reference `naive`, then any others (`fast`). */
// biome-ignore lint/suspicious/noExplicitAny: each implementation has its own cache type, used only with the cache its own forward made
export type LayerImpls<P = Params> = { naive: LayerImpl<P, any> } & Record<string, LayerImpl<P, any>>;

/** Tolerances of a layer, chosen from its numerics (see README "Tolerances"). */
export interface Tolerances {
  /** Default threshold on the cs231n relative error of float64 gradient checks at h = 1e-5. */
  grad: number;
}

/** One benchmark configuration: shapes of user-settable inputs and params (defaults fill the rest). */
export interface BenchCase {
  shapes: Shapes;
  params?: Params;
}

/** Floating-point operations of one forward and one backward pass. */
export interface FlopCount {
  forward: number;
  backward: number;
}

/** Bytes by what they hold: `{out: 8e6, dx: 4.8e6}` (see src/memory/). */
export type MemoryParts = Record<string, number>;

/** What one forward and one backward pass of an implementation allocate, in bytes. */
export interface PassMemory {
  /** What forward allocates and returns or keeps for backward: out, the cache's own arrays, switches, state. */
  forward: MemoryParts;
  /** What backward allocates: the gradients and its temporaries. */
  backward: MemoryParts;
  /**
   * Workspace the kernels keep between passes and reuse, by buffer (the names kernels export:
   * each names one buffer that only grows, so a run holds the largest size any pass asked of it).
   */
  workspace?: MemoryParts;
}

/** How the passes a memory estimate describes run. */
export interface MemoryContext {
  /** The dtype the layer runs in (naive passes compute in float64 whatever they are given). */
  dtype: DType;
  /** The thread setting the fast passes plan with (kernels/parallel/pool.ts). */
  threads: number;
}

/** A layer's memory at some shapes and params: its output's size and each implementation's passes. */
export interface LayerMemory {
  /** Elements of out (dout has as many). */
  out: number;
  /** By implementation name: every implementation of the layer. */
  impls: Record<string, PassMemory>;
}

/** The declarative description of a layer. */
export interface LayerSpec<P = Params> {
  /** Registered name, snake_case (`spatial_batchnorm`); the CLI also accepts kebab-case. */
  name: string;
  summary: string;
  inputs: InputSpec[];
  /** Every param, validated against its domain once at the boundary (params.ts) before `check`. */
  params: ParamSpec[];
  /**
   * Validate shapes against each other and the (already validated) params: rank, channels,
   * windows. Throws ShapeError / ParamError with a one-line message. Called once at the boundary.
   */
  check(shapes: Shapes, params: P): void;
  /**
   * Validate input values where shapes cannot say enough (class labels must be integers in
   * [0, C)). Throws CnnCheckError with a one-line message. Called once at the boundary.
   */
  checkInputs?(inputs: Inputs, params: P): void;
  /** The reference `naive` and any other implementations, by name. */
  impls: LayerImpls<P>;
  tolerance: Tolerances;
  /** Names of the state tensors forward returns (fixtures store them as `<name>_after`). */
  stateOutputs?: string[];
  /** Realistic configurations `cnn-check bench` times by default (the default shapes when absent). */
  benchCases?: BenchCase[];
  /** Flops of one pass at these shapes, for GFLOP/s in benchmarks (none shown when absent). */
  flops?(shapes: Shapes, params: P): FlopCount;
  /**
   * Bytes its implementations allocate at these (already validated) shapes and params, computed
   * from the shapes alone, before anything runs: every check, export, benchmark and comparison is
   * refused above `--max-memory` on these numbers (src/memory/). An upper bound: count every array
   * a pass allocates, and a kernel's workspace through the functions the kernel exports.
   */
  memory(shapes: Shapes, params: P, ctx: MemoryContext): LayerMemory;
}

/** One implementation from its forward and backward, with the cache type checked between them. */
export function defineImpl<P, C>(forward: (inputs: Inputs, params: P) => ForwardResult<C>, backward: (dout: Tensor, cache: C) => Gradients): LayerImpl<P, C> {
  return { forward, backward };
}

/** A typed spec, erased for the registry (see the module comment). */
export function defineLayer<P extends Params>(spec: LayerSpec<P>): LayerSpec {
  const memory = spec.memory;
  // The fast passes take their large outputs from the prefault helper (kernels/fresh.ts), which keeps
  // ready buffers of the sizes asked for: the fast implementation's workspace holds them.
  return {
    ...spec,
    memory(shapes, params, ctx) {
      const mem = memory(shapes, params as P, ctx);
      const fast = mem.impls.fast;
      if (!fast) return mem;
      const spares = prefaultSpareBytes([...Object.values(fast.forward), ...Object.values(fast.backward)]);
      if (!spares) return mem;
      return { ...mem, impls: { ...mem.impls, fast: { ...fast, workspace: { ...fast.workspace, [PREFAULT_SPARES]: spares } } } };
    },
  } as LayerSpec;
}

/** The names of a layer's implementations, the reference first. */
export function implNames(spec: LayerSpec): string[] {
  return [REFERENCE_IMPL, ...Object.keys(spec.impls).filter((k) => k !== REFERENCE_IMPL)];
}
