/**
 * A user's implementation of a layer, loaded from a JavaScript or TypeScript module that exports
 * `forward(inputs, params) -> {out, cache}` and `backward(dout, cache) -> {dx, dw, ...}` with the
 * signatures and gradient names of the registered layers (types.ts). The module runs in a worker
 * thread behind a synchronous bridge (bridge.ts), so the result is an ordinary LayerImpl that the
 * gradient checker, the comparison with the reference and the timing table use as they are, and
 * a call that hangs is stopped after `timeout` seconds instead of hanging cnn-check.
 *
 * Problems with the file itself (missing, an unsupported extension, a module that cannot be
 * imported or lacks forward/backward) are CnnCheckErrors (exit 2). Problems of a call (it threw,
 * timed out, returned something that is not a tensor) are UserImplErrors: the checker reports
 * them as failures of the implementation (exit 1).
 *
 * A module that exports no forward/backward but functions with the cs231n names
 * (`conv_forward_naive(x, w, b, conv_param)` returning `[out, cache]`, as numpy's layers.py does)
 * is read as such (named.ts), called with the conventions the numpy modules are called with; kind.ts
 * opens a module as one or the other.
 */
import { spawnSync } from 'node:child_process';
import { basename, extname, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { FormatError, UsageError } from '../../errors.js';
import { requireRegularFile } from '../../fs/read.js';
import { showJson } from '../../text/escape.js';
import { DEFAULT_IMPL_TIMEOUT_SECONDS } from '../../settings/schema.js';
import type { ForwardResult, Gradients, LayerImpl } from '../../layers/types.js';
import { formatShape, size, type Tensor } from '../../tensor/tensor.js';
import { WorkerBridge, WORKER_START_TIMEOUT_MS, type Outcome } from './bridge.js';
import { resolveTsxApi } from '../../workers.js';
import { SEQ_LOADED, SEQ_STARTED, type ForwardReply, type LoadedModule } from './protocol.js';

/** The name a user's implementation has in rows and the timing table. */
export const USER_IMPL_NAME = 'user';
/** Least time importing a module gets, whatever the call timeout (a loaded machine imports slowly). */
export const MIN_LOAD_TIMEOUT_SECONDS = 10;
/** Extensions of modules Node imports as they are. */
export const JS_EXTENSIONS = ['.mjs', '.js', '.cjs'] as const;
/** Extensions of TypeScript modules, imported through tsx. */
export const TS_EXTENSIONS = ['.ts', '.mts', '.cts'] as const;

/** A failed call of a user's implementation: it threw, hung, or returned something unusable. */
export class UserImplError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UserImplError';
  }
}

export interface UserImplOptions {
  /** Seconds each forward or backward call may take before the module's worker is stopped (default 60). */
  timeout?: number;
  /** Seconds importing the module may take (default: the larger of `timeout` and 10). */
  loadTimeout?: number;
  /** Receives the module's console output line by line (default: dropped). */
  log?: (line: string) => void;
  /** How messages name the module (default: the path as given), e.g. `--impl conv.mjs`. */
  label?: string;
  /** Memory the module's worker may use, in MB (default MODULE_MEMORY_LIMIT_MB): more fails its call. */
  memoryMb?: number;
}

/** A loaded user implementation. Call `close` when done (it is harmless to forget: the worker never keeps the process alive). */
export interface UserImpl {
  /** The file's base name without its extension: `conv-impl`. */
  name: string;
  /** The layer the module says it implements (`export const layer = 'conv'`), when it says. */
  layer?: string;
  /** The absolute path of the module. */
  path: string;
  impl: LayerImpl;
  /** Milliseconds the last forward or backward call took inside the worker (the bridge's copying excluded). */
  lastCallMs(): number;
  /** Stop the worker. */
  close(): void;
}

/** The opaque cache a bridged forward returns: the worker keeps the real one. */
interface BridgedCache {
  userCache: number;
}

export function fmtSeconds(s: number): string {
  return `${Number(s.toPrecision(3))} s`;
}

/** Check that `t` is a Tensor whose data fits its shape; returns it typed. `what` names it: `forward's out`. */
export function asTensor(t: unknown, what: string): Tensor {
  const expected = 'a Tensor {data: Float64Array | Float32Array, shape: number[]}';
  if (typeof t !== 'object' || t === null) throw new UserImplError(`${what} is ${t === null ? 'null' : typeof t}: expected ${expected}`);
  const { data, shape } = t as { data?: unknown; shape?: unknown };
  if (!(data instanceof Float64Array || data instanceof Float32Array)) {
    const got = data === undefined ? 'no data' : `data of type ${Array.isArray(data) ? 'Array' : ((data as object)?.constructor?.name ?? typeof data)}`;
    throw new UserImplError(`${what} has ${got}: expected ${expected}`);
  }
  if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && d >= 0)) {
    throw new UserImplError(`${what} has shape ${showJson(shape)}: expected an array of non-negative integers`);
  }
  if (data.length !== size(shape)) {
    throw new UserImplError(`${what} has ${data.length} values for shape ${formatShape(shape)}: expected ${size(shape)}`);
  }
  return { data, shape };
}

/**
 * A SyntaxError from import() carries no line; `node --check` on the file finds it (when the error is
 * in the file itself rather than in a module it imports).
 */
function withSyntaxErrorLine(error: string, abs: string, ext: string): string {
  if (!error.startsWith('SyntaxError') || /\(.+:\d+(:\d+)?\)$/.test(error) || !(JS_EXTENSIONS as readonly string[]).includes(ext)) return error;
  const r = spawnSync(process.execPath, ['--check', abs], { encoding: 'utf8', timeout: 10_000 });
  const at = /^(.*):(\d+)$/m.exec(r.stderr ?? '');
  return at && resolve(at[1]) === abs ? `${error} (${basename(abs)}:${at[2]})` : error;
}

/** A module imported in its worker: what it exports, and the bridge to call it. */
export interface StartedModule {
  bridge: WorkerBridge;
  mod: LoadedModule;
  /** The absolute path. */
  path: string;
  label: string;
  /** Seconds each call may take. */
  timeout: number;
}

/**
 * Start a worker and import the module at `path` in it. Throws FileError / UsageError /
 * FormatError (exit 2) when the module cannot be imported at all.
 */
export function startModule(path: string, opts: UserImplOptions = {}): StartedModule {
  const label = opts.label ?? path;
  const abs = resolve(path);
  // A regular file only: a directory, a FIFO (whose import would block the worker) or a device.
  requireRegularFile(abs, { label, expected: 'a module file', missing: `${label}: no such file` });
  const ext = extname(abs).toLowerCase();
  let tsxApi: string | undefined;
  if ((TS_EXTENSIONS as readonly string[]).includes(ext)) {
    // tsx from the user's project first, then from cnn-check's own dependencies.
    tsxApi = resolveTsxApi(abs) ?? resolveTsxApi(import.meta.url);
    if (!tsxApi) {
      throw new UsageError(`${label}: a TypeScript module needs tsx to load (npm install --save-dev tsx), or compile it to .mjs`);
    }
  } else if (!(JS_EXTENSIONS as readonly string[]).includes(ext)) {
    throw new UsageError(
      `${label}: expected a JavaScript module (${JS_EXTENSIONS.join(', ')}) or TypeScript (${TS_EXTENSIONS.join(', ')}), got '${ext || basename(abs)}'`,
    );
  }
  const timeout = opts.timeout ?? DEFAULT_IMPL_TIMEOUT_SECONDS;
  const loadTimeout = opts.loadTimeout ?? Math.max(timeout, MIN_LOAD_TIMEOUT_SECONDS);
  const bridge = new WorkerBridge(pathToFileURL(abs).href, { tsxApi, log: opts.log ?? (() => {}), memoryMb: opts.memoryMb });

  const started = bridge.wait(SEQ_STARTED, WORKER_START_TIMEOUT_MS);
  if (typeof started === 'string' || !started.ok) {
    bridge.stop('the worker did not start');
    if (started === 'memory') throw new FormatError(`${label}: cannot start its worker: it ${bridge.memoryFailure()}`);
    throw new Error(`the worker for ${label} did not start within ${WORKER_START_TIMEOUT_MS / 1000} s`);
  }
  const loaded = bridge.wait(SEQ_LOADED, loadTimeout * 1000);
  if (typeof loaded === 'string' || !loaded.ok) {
    bridge.stop('the module could not be loaded');
    const why =
      loaded === 'timeout'
        ? `importing it did not finish within ${fmtSeconds(loadTimeout)}`
        : loaded === 'memory'
          ? `importing it ${bridge.memoryFailure()}`
          : loaded === 'dead'
            ? 'its worker thread ended while importing it (process.exit?)'
            : withSyntaxErrorLine(loaded.error ?? 'import failed', abs, ext);
    throw new FormatError(`${label}: cannot load the module: ${why}`);
  }
  return { bridge, mod: loaded.value as LoadedModule, path: abs, label, timeout };
}

/** The FormatError of a module that has neither forward and backward nor functions with cs231n names. */
export function missingExports(started: StartedModule): FormatError {
  const { mod, label } = started;
  const missing = (['forward', 'backward'] as const).filter((k) => mod[k] !== 'function');
  const got = mod.exports.length ? `got exports ${mod.exports.join(', ')}` : 'got no exports';
  // A module with neither is told of the other way too: functions with cs231n names.
  const named = missing.length === 2 ? ', or functions with cs231n names (conv_forward_naive, ...)' : '';
  return new FormatError(
    `${label}: expected functions forward and backward (named exports or properties of the default export)${named}, ${missing.map((k) => (mod[k] === 'undefined' ? `no ${k}` : `${k} of type ${mod[k]}`)).join(' and ')}; ${got}`,
  );
}

/**
 * Load the module at `path` and return it as a LayerImpl. Throws FileError / UsageError /
 * FormatError (exit 2) when the module cannot be used at all.
 */
export function loadUserImpl(path: string, opts: UserImplOptions = {}): UserImpl {
  const started = startModule(path, opts);
  if (started.mod.forward !== 'function' || started.mod.backward !== 'function') {
    started.bridge.stop('the module lacks forward or backward');
    throw missingExports(started);
  }
  return userImpl(started);
}

/** The forward/backward module `started` as a UserImpl. */
export function userImpl(started: StartedModule): UserImpl {
  const { bridge, mod, path: abs, timeout } = started;
  let lastMs = NaN;
  /** One call through the bridge: its value, or a UserImplError saying what went wrong. */
  const call = (op: 'forward' | 'backward', run: () => Outcome): unknown => {
    if (bridge.stopped) throw new UserImplError(`${op} not run: the module's worker was stopped after an earlier failure (${bridge.stopped})`);
    const r = run();
    if (r === 'timeout') {
      const why = `${op} did not finish within the timeout of ${fmtSeconds(timeout)}`;
      bridge.stop(why);
      throw new UserImplError(`${why}; its worker was stopped`);
    }
    if (r === 'memory') {
      const why = `${op} ${bridge.memoryFailure()}`;
      bridge.stop(why);
      throw new UserImplError(`${why}; its worker was stopped`);
    }
    if (r === 'dead') {
      const why = `the module ended its worker thread during ${op} (process.exit?)`;
      bridge.stop(why);
      throw new UserImplError(why);
    }
    if (!r.ok) throw new UserImplError(r.error ?? `${op} failed`);
    lastMs = r.ms ?? NaN;
    return r.value;
  };

  const impl: LayerImpl = {
    forward(inputs, params): ForwardResult {
      const v = call('forward', () => bridge.call({ op: 'forward', inputs, params }, timeout * 1000)) as ForwardReply;
      const res: ForwardResult = { out: asTensor(v.out, "forward's out"), cache: { userCache: v.cache } satisfies BridgedCache };
      if (v.state !== undefined) {
        if (typeof v.state !== 'object' || v.state === null)
          throw new UserImplError(`forward's state is ${typeof v.state}: expected an object of tensors such as {running_mean, running_var}`);
        res.state = {};
        for (const [k, t] of Object.entries(v.state)) res.state[k] = asTensor(t, `forward's state.${k}`);
      }
      if (v.switches !== undefined) {
        if (!(v.switches instanceof Int32Array))
          throw new UserImplError(`forward's switches must be an Int32Array, got ${(v.switches as object)?.constructor?.name ?? typeof v.switches}`);
        res.switches = v.switches;
      }
      return res;
    },
    backward(dout, cache): Gradients {
      const id = (cache as BridgedCache | undefined)?.userCache;
      if (typeof id !== 'number') throw new UserImplError("backward needs the cache of this module's forward");
      const v = call('backward', () => bridge.call({ op: 'backward', dout, cache: id }, timeout * 1000));
      if (typeof v !== 'object' || v === null)
        throw new UserImplError(`backward returned ${v === null ? 'null' : typeof v}: expected an object of gradients {dx, dw, ...}`);
      const grads: Gradients = {};
      for (const [k, t] of Object.entries(v)) grads[k] = asTensor(t, `backward's ${k}`);
      return grads;
    },
  };
  return {
    name: basename(abs, extname(abs)),
    ...(mod.layer !== undefined ? { layer: mod.layer } : {}),
    path: abs,
    impl,
    lastCallMs: () => lastMs,
    close: () => bridge.stop('closed'),
  };
}
