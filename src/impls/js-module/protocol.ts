/**
 * What the main thread and a user module's worker (worker.ts) say to each other. The main
 * thread posts one request at a time and blocks in Atomics.wait on the shared signal until
 * the worker has posted its reply and bumped `SIGNAL_EVENTS`; it then takes the reply off
 * its port with receiveMessageOnPort (bridge.ts). Replies carry the request's `seq`, so a
 * late reply to an abandoned request is recognized and dropped.
 */
import type { Params } from '../../layers/types.js';
import type { Tensor } from '../../tensor/tensor.js';
import type { PyArg } from '../python/cs231n.js';

/** Index of the signal's event counter: bumped after every reply and when the worker ends. */
export const SIGNAL_EVENTS = 0;
/** Index of the signal's flag set to 1 when the worker's thread is ending. */
export const SIGNAL_DEAD = 1;
/** Index of the signal's slot saying why the supervisor ended the worker for its memory (supervisor.ts MEMORY_*). */
export const SIGNAL_MEMORY = 2;
/** Int32 slots of the signal. */
export const SIGNAL_LENGTH = 3;

/**
 * Memory a module's worker may use, in MB: its JS heap (the worker's resourceLimits) and, while a
 * call runs, heap and off-heap arrays together (supervisor.ts). A call that needs more fails as
 * "exceeded the memory limit of N MB", the module's failure. The same as numpy modules' limit
 * (python/protocol.ts PYTHON_MEMORY_LIMIT_MB).
 */
export const MODULE_MEMORY_LIMIT_MB = 4096;

/** `seq` of the reply the worker sends once it runs (and tsx is registered when needed). */
export const SEQ_STARTED = 0;
/** `seq` of the reply to importing the module. */
export const SEQ_LOADED = 1;
/** `seq` of the first forward or backward request. */
export const SEQ_FIRST_CALL = 2;

/** Caches of the most recent forward passes the worker keeps for backward (the numeric side runs forward only). */
export const CACHE_SLOTS = 8;
/** Lines of console output forwarded from a module before the rest is dropped. */
export const MAX_LOG_LINES = 50;

/** What the worker is started with. */
export interface UserWorkerData {
  /** file: URL of the user's module. */
  moduleUrl: string;
  signal: Int32Array;
  /** A MessagePort: requests in, replies out. */
  port: unknown;
  /** file: URL of tsx's ESM API, whose tsImport imports the module (TypeScript modules). */
  tsxApi?: string;
}

export type Request =
  | { seq: number; op: 'forward'; inputs: Record<string, Tensor>; params: Params }
  | { seq: number; op: 'backward'; dout: Tensor; cache: number }
  | { seq: number; op: 'named-forward'; call: NamedForward; inputs: Record<string, Tensor> }
  | { seq: number; op: 'named-backward'; call: NamedBackward; dout: Tensor; cache: number };

/**
 * A call of a module's own cs231n-named forward (`conv_forward_naive(x, w, b, conv_param)`),
 * described by the conventions of impls/python/cs231n.ts: the worker builds the positional
 * arguments from `args` (arrays are the request's inputs by name, as tensors), checks the
 * `[out, cache]` it returns (`[loss, dx]` for a loss) and reads the dict `state` names back.
 */
export interface NamedForward {
  fn: string;
  args: PyArg[];
  /** The dict argument a forward updates in place (bn_param) and the keys read back from it. */
  state?: { arg: number; name: string; keys: string[] };
  /** A loss: one function returning `[loss, dx]`. */
  loss?: boolean;
}

/** A call of a cs231n-named backward: `(dout, cache)` returning the gradients in `grads` order (one tensor, or an array). */
export interface NamedBackward {
  fn: string;
  grads: string[];
  /** A loss: no call; dx is the forward's dx times the scalar dout. */
  loss?: boolean;
}

/** What a named forward returns across the threads: out, the state read back, and the kept cache's id. */
export interface NamedForwardReply {
  out: unknown;
  state?: Record<string, unknown>;
  cache: number;
}

/** The answer to importing the module: the type of each export the contract needs, and every export's name. */
export interface LoadedModule {
  forward: string;
  backward: string;
  exports: string[];
  /** The names of every function the module exports (named, else the default export's), for cs231n names. */
  functions: string[];
  /** The layer the module says it implements (`export const layer = 'conv'`), when it says. */
  layer?: string;
}

/** A forward result as it crosses the threads: the cache stays in the worker, under `cache`. */
export interface ForwardReply {
  out: unknown;
  state?: unknown;
  switches?: unknown;
  cache: number;
}

export interface Reply {
  seq: number;
  ok: boolean;
  /** LoadedModule, ForwardReply or the gradients, when ok. */
  value?: unknown;
  /** One line saying what went wrong, when not ok. */
  error?: string;
  /** Milliseconds the call took inside the worker (forward and backward). */
  ms?: number;
  /** Console output of the module since the last reply. */
  logs: string[];
  /** Bytes the worker holds after the call: its JS heap in use and its external memory (typed arrays). */
  held?: number;
}
