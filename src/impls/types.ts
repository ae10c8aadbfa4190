/**
 * The implementation seam. A check runs a list of Implementations of one layer: the layer's
 * own (`naive`, the reference, and `fast`) and any number from outside the registry (a user's
 * JS/TS module, a user's Python module). The checker, the comparison with the reference, the
 * localization and the timing see only this interface; a new kind of implementation is one
 * ImplKind in impls/registry.ts and needs no edit to the checker.
 */
import type { LayerImpl, LayerSpec } from '../layers/types.js';

/** One implementation of one layer, as a check runs it. */
export interface Implementation {
  /** Its name in rows and tables: `naive`, `fast`, `user`, `conv_forward_fast`. */
  name: string;
  /** `builtin` for the layer's own; else the kind that loaded it (`js`, `python`). */
  kind: string;
  impl: LayerImpl;
  /** Where it came from, for reports: a path, with the functions used. */
  source?: string;
  /**
   * True for implementations from outside the registry: they are first compared with the
   * reference on the same inputs, and errors their calls throw are their failures (exit 1),
   * never cnn-check's.
   */
  external: boolean;
  /** Milliseconds of its last forward or backward call measured where it ran (a bridge's copying excluded). */
  lastCallMs?(): number;
  /** True when `err` came from this implementation's own call rather than from the checker (default: every error, for external ones). */
  ownsError?(err: unknown): boolean;
}

/** How a module is opened: limits, how messages name it, where its output goes. */
export interface OpenOptions {
  /** Seconds each forward or backward call may take before it counts as hanging. */
  timeout: number;
  /** How messages name the module: `--impl conv.mjs`. */
  label: string;
  /** Receives the module's own output, line by line (the CLI marks it and writes it to stderr). */
  log: (line: string) => void;
  /** The Python interpreter, for kinds that need one. */
  python?: string;
}

/**
 * Which functions of a module to use, when not found by their conventional names:
 * `PATH:forward,backward`, or `PATH:function` for a layer that is one function (a loss
 * returning `(loss, dx)`).
 */
export interface FunctionSelection {
  forward: string;
  /** Absent when one function was named. */
  backward?: string;
}

/** A conventional pair of functions a module defines for a layer (found without `PATH:forward,backward`). */
export interface DefinedFunctions {
  /** The registered layer: `conv`. */
  layer: string;
  /** The implementation's name in reports: `py:naive`. */
  name: string;
  /** The forward's name, or null when the module defines only the backward. */
  forward: string | null;
  /** The backward's name, or null when the module defines only the forward. */
  backward: string | null;
}

/** An opened module: one process or worker for the run, implementations of any layer it has. */
export interface ImplModule {
  /** The absolute path. */
  path: string;
  /** The kind that opened it. */
  kind: string;
  /**
   * The implementations the module offers for `spec` (a module may offer several, e.g.
   * `conv_forward_naive` and `conv_forward_fast`). Throws ImplMissingError (errors.ts) naming
   * what is missing when it has none.
   */
  implementationsFor(spec: LayerSpec, select?: FunctionSelection): Implementation[];
  /**
   * The layers (registered names) the module implements, when it says or its function names
   * tell; undefined when it cannot be known without being told (a JS module exporting
   * forward/backward without `export const layer = 'conv'`).
   */
  layers?(): string[] | undefined;
  /**
   * The conventional functions the module defines, by layer, complete pairs or not (a Python
   * module's cs231n functions), so a caller can discover which layers to check. Absent for
   * kinds with one fixed pair (a JS module's forward and backward).
   */
  listFunctions?(): DefinedFunctions[];
  /** Stop its worker or process. Harmless to call twice. */
  close(): void;
}

/** A kind of module cnn-check can check: how files are recognised and opened. */
export interface ImplKind {
  /** `js`, `python`. */
  name: string;
  /** File extensions, lower case with the dot. */
  extensions: readonly string[];
  /** What such a file is, for messages: `a JavaScript module (.mjs, .js, .cjs)`. */
  describe: string;
  open(path: string, opts: OpenOptions): ImplModule;
}
