/**
 * A numpy module as implementations of the registered layers: `--impl layers.py` finds the
 * functions with the cs231n names (cs231n.ts) and calls them with the cs231n signatures in a
 * Python process (process.ts, one per interpreter for the run), through the bridge in
 * python/cnn_check.py. The cache a forward returns stays in Python; arrays cross as `.npy`.
 *
 * What cannot be used at all is an input error (exit 2, one line): no such file, no Python,
 * a Python without numpy, a module that fails to import, a layer whose functions the module
 * lacks (the message lists the cs231n functions it does define). What goes wrong in a call is
 * the implementation's failure (a UserImplError, reported by the checker as rows and problems,
 * exit 1): an exception with the user's file:line, a wrong return value or shape, an input
 * changed in place, a call over `--timeout` (the process is killed), the memory limit.
 */
import { statSync } from 'node:fs';
import { basename, extname, resolve } from 'node:path';
import { FileError, FormatError, UsageError } from '../../errors.js';
import type { ForwardResult, Gradients, Inputs, LayerImpl, LayerSpec, Params } from '../../layers/types.js';
import { DEFAULT_IMPL_TIMEOUT_SECONDS } from '../../settings/schema.js';
import type { Tensor } from '../../tensor/tensor.js';
import { MIN_LOAD_TIMEOUT_SECONDS, UserImplError } from '../js-module/load.js';
import type { DefinedFunctions, FunctionSelection, ImplKind, ImplModule, Implementation, OpenOptions } from '../types.js';
import { CS231N, completeLayers, definedPairs, pristineInputs, selectPairs, type Cs231nConvention, type FunctionPair } from './cs231n.js';
import { acquirePython, releasePython, resolvePython, type Outcome, type PythonProcess } from './process.js';
import type { Transport } from './protocol.js';

/** Extensions of Python modules. */
export const PYTHON_EXTENSIONS = ['.py'] as const;

/** A request of several forward calls is sized to take at most 1/BATCH_MARGIN of --timeout at the last call's pace. */
export const BATCH_MARGIN = 8;

export interface PythonModuleOptions {
  /** The interpreter (default: $CNN_CHECK_PYTHON, else python3). */
  python?: string;
  /** Seconds each call may take (default 60). */
  timeout?: number;
  /** Receives the module's output (print, warnings), line by line. */
  log?: (line: string) => void;
  /** How messages name the module (default: the path). */
  label?: string;
  /** Address space the process may grow by, in MB (default PYTHON_MEMORY_LIMIT_MB). */
  memoryMb?: number;
  /** How frames travel (default: named pipes where the platform has them, else the child's fds 3 and 4). */
  transport?: Transport;
}

function fmtSeconds(s: number): string {
  return `${Number(s.toPrecision(3))} s`;
}

let nextModuleId = 0;

/** An opened numpy module (see the module comment). */
export class PythonModule implements ImplModule {
  readonly kind = 'python';
  readonly path: string;
  /** Its public callables, as the import found them. */
  functions: string[] = [];
  private proc: PythonProcess;
  private id = -1;
  private readonly python: string;
  private readonly timeout: number;
  private readonly label: string;
  private readonly log: (line: string) => void;
  private readonly memoryMb?: number;
  private readonly transport?: Transport;
  private closed = false;

  constructor(path: string, opts: PythonModuleOptions = {}) {
    this.label = opts.label ?? path;
    this.path = resolve(path);
    let isFile = false;
    try {
      isFile = statSync(this.path).isFile();
    } catch {
      throw new FileError(`${this.label}: no such file`);
    }
    if (!isFile) throw new FileError(`${this.label}: expected a Python file, got a directory`);
    if (!(PYTHON_EXTENSIONS as readonly string[]).includes(extname(this.path).toLowerCase())) {
      throw new UsageError(`${this.label}: expected a Python module (.py), got '${extname(this.path) || basename(this.path)}'`);
    }
    this.python = resolvePython(opts.python);
    this.timeout = opts.timeout ?? DEFAULT_IMPL_TIMEOUT_SECONDS;
    this.log = opts.log ?? (() => {});
    this.memoryMb = opts.memoryMb;
    this.transport = opts.transport;
    this.proc = this.connect();
  }

  /** Start (or share) the process and import the module into it. */
  private connect(): PythonProcess {
    let proc: PythonProcess;
    try {
      proc = acquirePython(this.python, { memoryMb: this.memoryMb, transport: this.transport });
    } catch (err) {
      if (err instanceof UsageError) throw new UsageError(`${this.label}: ${err.message}`);
      throw err;
    }
    const id = nextModuleId++;
    const loadTimeout = Math.max(this.timeout, MIN_LOAD_TIMEOUT_SECONDS);
    const r = proc.request({ op: 'load', id, path: this.path }, [], loadTimeout * 1000, this.log);
    if (r.kind !== 'reply' || !r.reply.ok) {
      const why =
        r.kind === 'timeout'
          ? `importing it did not finish within ${fmtSeconds(loadTimeout)}`
          : r.kind === 'dead'
            ? `the Python process ended while importing it (${r.why})`
            : r.reply.error;
      if (r.kind === 'timeout') proc.stop('an import did not finish');
      releasePython(proc);
      throw new FormatError(`${this.label}: cannot import the module: ${why}`);
    }
    this.id = id;
    this.functions = r.reply.functions ?? [];
    return proc;
  }

  /** The conventional function pairs the module defines, by layer (complete or not). */
  listFunctions(): DefinedFunctions[] {
    return definedPairs(this.functions);
  }

  /** The layers with a complete pair (or a loss's function) under cs231n's names. */
  layers(): string[] {
    return completeLayers(this.listFunctions());
  }

  implementationsFor(spec: LayerSpec, select?: FunctionSelection): Implementation[] {
    const conv = CS231N[spec.name];
    if (!conv) throw new UsageError(`${this.label}: cnn-check knows no numpy convention for ${spec.name}`);
    // A module whose process was stopped by an earlier check of the run (a timeout) is imported again in a fresh one.
    if (!this.proc.alive && !this.closed) {
      releasePython(this.proc);
      this.proc = this.connect();
    }
    const chosen = selectPairs(spec, this.functions, this.label, select);
    return chosen.map((pair) => this.implementation(spec, conv, pair));
  }

  private implementation(spec: LayerSpec, conv: Cs231nConvention, pair: FunctionPair): Implementation {
    let lastMs = NaN;
    // Kinks (relu at 0, a max-pool winner change) are recognized from the reference's switches at the same inputs.
    const kinkSource = spec.impls.fast ?? spec.impls.naive;
    const hasSwitches = conv.kinks === true;
    const call = (fn: string, run: () => Outcome): { reply: NonNullable<Extract<Outcome, { kind: 'reply' }>['reply']>; arrays: Map<string, Tensor> } => {
      if (this.proc.stopped) throw new UserImplError(`${fn} not run: the Python process was stopped after an earlier failure (${this.proc.stopped})`);
      let r: Outcome;
      try {
        r = run();
      } catch (err) {
        // An array the bridge returned that cnn-check's reader refuses (a dtype it does not take).
        throw new UserImplError(`${fn} returned an array cnn-check cannot read: ${(err as Error).message}`);
      }
      if (r.kind === 'timeout') {
        const why = `${fn} did not finish within the timeout of ${fmtSeconds(this.timeout)}`;
        this.proc.stop(why);
        throw new UserImplError(`${why}; the Python process was stopped`);
      }
      if (r.kind === 'dead') {
        const why = `the Python process ended during ${fn} (${r.why})`;
        this.proc.stop(why);
        throw new UserImplError(why);
      }
      if (!r.reply.ok) throw new UserImplError(r.reply.error ?? `${fn} failed`);
      lastMs = (r.reply.ms ?? NaN) / (r.reply.caches?.length || 1);
      return { reply: r.reply, arrays: r.arrays };
    };
    /** The forward request for these params; `runs` for several calls in one. */
    const request = (params: Params, arrays: [string, Tensor][], runs?: number) => {
      const args = conv.args(params);
      return call(pair.forward, () =>
        this.proc.request(
          {
            op: 'forward',
            module: this.id,
            fn: pair.forward,
            args,
            pristine: pristineInputs(conv, args),
            ...(conv.state ? { state: conv.state } : {}),
            ...(conv.loss ? { loss: true } : {}),
            ...(runs === undefined ? {} : { runs }),
          },
          arrays,
          this.timeout * 1000,
          this.log,
        ),
      );
    };
    const names = (inputs: Inputs) => spec.inputs.map((i) => i.name).filter((n) => inputs[n]);
    /** One call's result from the arrays it returned (`get`) and its cache's id. */
    const result = (inputs: Inputs, params: Params, cache: number | undefined, get: (name: string) => Tensor | undefined): ForwardResult => {
      // With float32 inputs numpy computes in float32 wherever they enter, whatever dtype the output was
      // allocated in (np.zeros is float64): such an out is a float32 layer's, judged with the float32 tolerance.
      let out = get('out')!;
      if (out.data instanceof Float64Array && names(inputs).some((n) => inputs[n].data instanceof Float32Array))
        out = { data: Float32Array.from(out.data), shape: out.shape };
      const res: ForwardResult = { out, cache: { pyCache: cache } };
      if (conv.state) {
        res.state = {};
        for (const k of conv.state.keys) {
          const t = get(`state.${k}`);
          if (t) res.state[k] = t;
        }
      }
      if (hasSwitches) res.switches = kinkSource.forward(inputs, params).switches;
      return res;
    };
    const impl: LayerImpl = {
      forward: (inputs: Inputs, params: Params): ForwardResult => {
        const { reply, arrays } = request(
          params,
          names(inputs).map((n) => [n, inputs[n]]),
        );
        return result(inputs, params, reply.cache, (n) => arrays.get(n));
      },
      // The numeric side's elements in few round trips (a round trip costs more than a small
      // layer's forward pass; BENCHMARKS.md). --timeout bounds each request as it bounds one call,
      // so a request holds only as many calls as take an eighth of it at the last call's pace
      // (none before a call was timed): a function that hangs is stopped as soon as before.
      forwardMany: (list: Inputs[], params: Params): ForwardResult[] => {
        const results: ForwardResult[] = [];
        while (results.length < list.length) {
          const fit = Math.floor((this.timeout * 1000) / (BATCH_MARGIN * lastMs));
          const part = list.slice(results.length, results.length + (fit >= 2 ? fit : 1));
          if (part.length === 1) {
            results.push(impl.forward(part[0], params));
            continue;
          }
          const { reply, arrays } = request(
            params,
            part.flatMap((inputs, i) => names(inputs).map((n): [string, Tensor] => [`${n}#${i}`, inputs[n]])),
            part.length,
          );
          results.push(...part.map((inputs, i) => result(inputs, params, reply.caches?.[i], (n) => arrays.get(`${n}#${i}`))));
        }
        return results;
      },
      backward: (dout: Tensor, cache: unknown): Gradients => {
        const id = (cache as { pyCache?: number } | undefined)?.pyCache;
        if (typeof id !== 'number') throw new UserImplError(`${pair.backward} needs the cache of this module's forward`);
        const { arrays } = call(pair.backward, () =>
          this.proc.request(
            { op: 'backward', module: this.id, fn: pair.backward, cache: id, grads: conv.grads, ...(conv.loss ? { loss: true } : {}) },
            [['dout', dout]],
            this.timeout * 1000,
            this.log,
          ),
        );
        const grads: Gradients = {};
        for (const g of conv.grads) grads[g] = arrays.get(g)!;
        return grads;
      },
    };
    return {
      name: pair.name,
      kind: 'python',
      impl,
      source: conv.loss ? `${this.path}:${pair.forward}` : `${this.path}:${pair.forward},${pair.backward}`,
      external: true,
      lastCallMs: () => lastMs,
      ownsError: (err) => err instanceof UserImplError,
    };
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    releasePython(this.proc);
  }
}

/** Open a numpy module (see PythonModule). */
export function loadPythonModule(path: string, opts: PythonModuleOptions = {}): PythonModule {
  return new PythonModule(path, opts);
}

/** Python modules with functions named as in cs231n (`conv_forward_naive`, ...). */
export const pythonModuleKind: ImplKind = {
  name: 'python',
  extensions: PYTHON_EXTENSIONS,
  describe: 'a Python module (.py)',
  open(path: string, opts: OpenOptions): ImplModule {
    return new PythonModule(path, { python: opts.python, timeout: opts.timeout, log: opts.log, label: opts.label });
  },
};
