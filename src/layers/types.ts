/**
 * The layer seam. Each layer file ends in a declarative LayerSpec; the registry lists
 * them, and the CLI, gradient checker, benchmarks, fixtures and tests iterate over it.
 */
import type { Tensor } from '../tensor/tensor.js';

export type ParamValue = number | string;
export type Params = Record<string, ParamValue>;

/** One layer parameter: cs231n name, CLI flag, domain and default. */
export interface ParamSpec {
  /** cs231n name as used in fixtures' meta and JSON output: `stride`, `pool_height`, `G`, `eps`. */
  name: string;
  /** CLI flag without dashes: `stride`, `pool-height`, `groups`. */
  flag: string;
  help: string;
  kind: 'int' | 'float' | 'enum';
  default: ParamValue;
  /** Allowed values for `enum`. */
  choices?: readonly string[];
  /** Smallest allowed value (inclusive unless `minExclusive`). */
  min?: number;
  minExclusive?: boolean;
  /** Largest allowed value (inclusive). */
  max?: number;
}

/** How generated values of an input are drawn. */
export type InitKind = 'randn' | 'zeros' | 'ones' | 'positive';

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
}

/** What a forward pass returns. Forward passes are pure: inputs are never modified. */
export interface ForwardResult {
  out: Tensor;
  /** Whatever backward needs; opaque to generic tools. */
  cache: unknown;
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

/** One implementation (naive or fast) of a layer. */
export interface LayerImpl {
  forward(inputs: Record<string, Tensor>, params: Params): ForwardResult;
  backward(dout: Tensor, cache: unknown): Gradients;
}

export type ImplName = 'naive' | 'fast';

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

/** The declarative description of a layer. */
export interface LayerSpec {
  /** Registered name, snake_case (`spatial_batchnorm`); the CLI also accepts kebab-case. */
  name: string;
  summary: string;
  inputs: InputSpec[];
  params: ParamSpec[];
  /**
   * Validate shapes against each other and the params (rank, channels, windows);
   * throws ShapeError / ParamError with a one-line message. Called once at the boundary.
   */
  check(shapes: Shapes, params: Params): void;
  impls: { naive: LayerImpl; fast?: LayerImpl };
  tolerance: Tolerances;
  /** Names of the state tensors forward returns (fixtures store them as `<name>_after`). */
  stateOutputs?: string[];
  /** Realistic configurations `cnn-check bench` times by default (the default shapes when absent). */
  benchCases?: BenchCase[];
  /** Flops of one pass at these shapes, for GFLOP/s in benchmarks (none shown when absent). */
  flops?(shapes: Shapes, params: Params): FlopCount;
}
