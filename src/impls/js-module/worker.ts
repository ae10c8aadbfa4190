/**
 * The worker thread a user's module runs in (see bridge.ts and protocol.ts). It imports the
 * module, then answers forward and backward requests one at a time. Each forward's cache stays
 * here (it may hold anything, closures included) and the main thread gets a number for it;
 * the last CACHE_SLOTS caches are kept. Console output of the module is captured and sent back
 * with the replies, so it reaches the user in order and never mixes into a JSON document on
 * stdout. When the thread ends for any reason (process.exit in the module, an uncaught error,
 * terminate) it raises the signal's dead flag, so a waiting main thread wakes at once.
 */
import { workerData, type MessagePort } from 'node:worker_threads';
import { fileURLToPath } from 'node:url';
import { basename } from 'node:path';
import { format } from 'node:util';
import {
  CACHE_SLOTS,
  MAX_LOG_LINES,
  SEQ_LOADED,
  SEQ_STARTED,
  SIGNAL_DEAD,
  SIGNAL_EVENTS,
  type ForwardReply,
  type LoadedModule,
  type NamedBackward,
  type NamedForward,
  type NamedForwardReply,
  type Reply,
  type Request,
  type UserWorkerData,
} from './protocol.js';
import type { PyArg } from '../python/cs231n.js';

type Fn = (...args: unknown[]) => unknown;

const { moduleUrl, signal, tsxApi } = workerData as UserWorkerData;
/** Taken before the module loads, so what the supervisor is told cannot be changed by it. */
const memoryUsage = process.memoryUsage.bind(process);
const port = (workerData as UserWorkerData).port as MessagePort;
const modulePath = fileURLToPath(moduleUrl);

let logs: string[] = [];
let logLines = 0;
function capture(text: string): void {
  if (logLines > MAX_LOG_LINES) return;
  for (const line of text.split('\n')) {
    if (++logLines > MAX_LOG_LINES) {
      logs.push(`(further output of ${basename(modulePath)} dropped after ${MAX_LOG_LINES} lines)`);
      return;
    }
    logs.push(line);
  }
}
for (const method of ['log', 'info', 'debug', 'warn', 'error', 'trace'] as const) {
  (console as unknown as Record<string, Fn>)[method] = (...args: unknown[]) => capture(format(...args));
}

// NOTE: what the module writes to process.stdout or process.stderr directly would reach the
// main thread's streams only through its event loop, which a synchronous check never runs: it
// was dropped. It is captured like console output instead (complete lines; a partial line
// waits for its end or for the next reply), so it is shown, tagged as the module's, on stderr.
const partial = { stdout: '', stderr: '' };
/** Longest partial line held back: output without newlines is passed on in pieces this long. */
const MAX_PARTIAL_LINE = 4096;
const utf8 = new TextDecoder();
function captureStream(stream: 'stdout' | 'stderr', chunk: unknown): void {
  const text = typeof chunk === 'string' ? chunk : chunk instanceof Uint8Array ? utf8.decode(chunk) : String(chunk);
  const lines = (partial[stream] + text).split('\n');
  partial[stream] = lines.pop()!;
  if (partial[stream].length > MAX_PARTIAL_LINE) {
    lines.push(partial[stream]);
    partial[stream] = '';
  }
  if (lines.length) capture(lines.join('\n'));
}
function flushPartial(): void {
  for (const stream of ['stdout', 'stderr'] as const) {
    if (partial[stream]) capture(partial[stream]);
    partial[stream] = '';
  }
}
for (const stream of ['stdout', 'stderr'] as const) {
  (process[stream] as unknown as { write: Fn }).write = (chunk: unknown, encoding?: unknown, cb?: unknown) => {
    captureStream(stream, chunk);
    const done = typeof encoding === 'function' ? encoding : cb;
    if (typeof done === 'function') queueMicrotask(() => (done as Fn)());
    return true;
  };
}

function wake(): void {
  Atomics.add(signal, SIGNAL_EVENTS, 1);
  Atomics.notify(signal, SIGNAL_EVENTS);
}

/** Levels of a returned value searched for shared arrays: gradients, forward's out and state. */
const UNSHARE_DEPTH = 3;

/**
 * `value` with every typed array on a SharedArrayBuffer replaced by a copy (objects searched
 * UNSHARE_DEPTH levels deep). NOTE: shared memory crosses threads shared, not copied, so the
 * module could change an array after returning it, and with it a result already judged. The
 * copy is made here, before the reply is posted: the module's code (its timers included) runs
 * on this thread, so none of it can run between its return and the copy.
 */
function unshare(value: unknown, depth = 0): unknown {
  if (ArrayBuffer.isView(value)) {
    return value.buffer instanceof SharedArrayBuffer && 'slice' in value ? (value as unknown as { slice(): unknown }).slice() : value;
  }
  if (depth >= UNSHARE_DEPTH || typeof value !== 'object' || value === null || Array.isArray(value)) return value;
  const proto = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = unshare(v, depth + 1);
  return out;
}

let inFlight: number | undefined;
function reply(r: Omit<Reply, 'logs'>): void {
  if (r.seq === inFlight) inFlight = undefined;
  flushPartial();
  const usage = memoryUsage();
  const msg: Reply = { ...r, logs, held: usage.heapUsed + usage.external };
  logs = [];
  try {
    port.postMessage(msg);
  } catch (err) {
    // NOTE: a result holding something structured clone cannot copy (a function, a class instance with private state).
    port.postMessage({ seq: r.seq, ok: false, logs: msg.logs, error: `returned a value cnn-check cannot copy from the module: ${oneLine(err)}` });
  }
  wake();
}

/** Longest message of a thrown value passed on (a transform error may quote a whole file). */
const MAX_MESSAGE = 400;

/** `text` on one line: its non-empty lines joined, cut at MAX_MESSAGE characters. */
function joinLines(text: string): string {
  const line = text
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean)
    .join(' ');
  return line.length > MAX_MESSAGE ? `${line.slice(0, MAX_MESSAGE - 3)}...` : line;
}

/** `Error: message (file.mjs:12:7)`: the thrown value on one line, with where in the user's code it was thrown. */
function oneLine(err: unknown): string {
  if (!(err instanceof Error)) return joinLines(typeof err === 'string' ? err : format(err));
  const text = joinLines(`${err.name}: ${err.message}`);
  const self = import.meta.url;
  const frame = (err.stack ?? '')
    .split('\n')
    .slice(1)
    .map((l) => /\(?(file:\/\/[^\s()]+?):(\d+):(\d+)\)?$/.exec(l.trim()))
    .find((m) => m && m[1] !== self);
  return frame ? `${text} (${basename(fileURLToPath(frame[1]))}:${frame[2]}:${frame[3]})` : text;
}

process.on('exit', () => {
  Atomics.store(signal, SIGNAL_DEAD, 1);
  wake();
});
// An error thrown later by the module (a timer, a stray promise) fails the call in flight, if any.
const asyncFailure = (what: string) => (err: unknown) => {
  const text = `${what}: ${oneLine(err)}`;
  if (inFlight !== undefined) reply({ seq: inFlight, ok: false, error: text });
  else capture(text);
};
process.on('uncaughtException', asyncFailure('the module threw asynchronously'));
process.on('unhandledRejection', asyncFailure('a promise of the module was rejected'));

const caches = new Map<number, unknown>();
let nextCache = 0;
let fns: { forward: Fn; backward: Fn } | undefined;
/** Every exported function by name (cs231n-named modules: `conv_forward_naive`, ...). */
let namedFns: Record<string, Fn> = {};

/** Keep a forward's cache for its backward; the id the main thread names it by. */
function keep(cache: unknown): number {
  const id = nextCache++;
  caches.set(id, cache);
  if (caches.size > CACHE_SLOTS) caches.delete(caches.keys().next().value!);
  return id;
}

/** What a value is, for messages: `undefined`, `a number`, `an Array of 3`, `an object {out, cache}`. */
function kindOf(v: unknown): string {
  if (v === undefined || v === null) return String(v);
  if (Array.isArray(v)) return `an Array of ${v.length}`;
  if (ArrayBuffer.isView(v)) return `a ${v.constructor.name}`;
  if (typeof v === 'object') return `an object {${Object.keys(v).slice(0, 6).join(', ')}}`;
  return `a ${typeof v}`;
}

/** A positional argument of a named call built from its convention (impls/python/cs231n.ts): arrays are copies of the inputs. */
function buildArg(a: PyArg, inputs: Record<string, { data: ArrayLike<number> & { slice(): unknown }; shape: number[] }>): unknown {
  if ('array' in a) {
    const t = inputs[a.array];
    return { data: t.data.slice(), shape: [...t.shape] };
  }
  if ('value' in a) return a.value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(a.dict)) out[k] = buildArg(v, inputs);
  return out;
}

/** `conv_forward_naive(x, w, b, conv_param)` as the convention describes it; `[out, cache]` (a loss: `[loss, dx]`). */
async function namedForward(call: NamedForward, inputs: Record<string, never>): Promise<{ value: unknown; ms: number } | { error: string }> {
  const f = namedFns[call.fn];
  if (!f) return { error: `${call.fn} is not a function of the module` };
  const args = call.args.map((a) => buildArg(a, inputs));
  const { value, ms } = await timed(() => f(...args));
  if (!Array.isArray(value) || value.length !== 2) {
    return {
      error: `${call.fn} returned ${kindOf(value)}: expected ${call.loss ? '[loss, dx]' : '[out, cache]'} (an Array of two, as cs231n returns a tuple)`,
    };
  }
  if (call.loss) {
    // A loss: the number is the output (shape ()), dx the cache its backward scales.
    const [loss, dx] = value as [unknown, unknown];
    const out = typeof loss === 'number' ? { data: Float64Array.of(loss), shape: [] } : loss;
    return { value: { out: unshare(out), cache: keep(dx) } satisfies NamedForwardReply, ms };
  }
  const reply: NamedForwardReply = { out: unshare(value[0]), cache: keep(value[1]) };
  if (call.state) {
    const holder = args[call.state.arg] as Record<string, unknown>;
    reply.state = {};
    for (const key of call.state.keys) {
      if (!(key in holder)) return { error: `${call.fn} left no ${key} in ${call.state.name}: store the updated ${key} there, as cs231n does` };
      reply.state[key] = unshare(holder[key]);
    }
  }
  return { value: reply, ms };
}

/** `conv_backward_naive(dout, cache)`: its gradients in the convention's order (a loss: dout times the forward's dx). */
async function namedBackward(
  call: NamedBackward,
  dout: { data: ArrayLike<number>; shape: number[] },
  cache: unknown,
): Promise<{ value: unknown; ms: number } | { error: string }> {
  if (call.loss) {
    const dx = cache as { data?: unknown; shape?: unknown };
    if (!dx || typeof dx !== 'object' || !ArrayBuffer.isView(dx.data) || !Array.isArray(dx.shape)) {
      return { error: `${call.fn}'s dx is ${kindOf(cache)}: expected a tensor {data, shape}` };
    }
    const data = dx.data as unknown as ArrayLike<number>;
    const scaled = new Float64Array(data.length);
    for (let i = 0; i < scaled.length; i++) scaled[i] = dout.data[0] * data[i];
    return { value: { dx: { data: dx.data instanceof Float32Array ? Float32Array.from(scaled) : scaled, shape: dx.shape } }, ms: 0 };
  }
  const f = namedFns[call.fn];
  if (!f) return { error: `${call.fn} is not a function of the module` };
  const { value, ms } = await timed(() => f(dout, cache));
  if (call.grads.length === 1) {
    if (Array.isArray(value)) return { error: `${call.fn} returned ${kindOf(value)}: expected the tensor ${call.grads[0]}` };
    return { value: { [call.grads[0]]: unshare(value) }, ms };
  }
  if (!Array.isArray(value) || value.length !== call.grads.length) {
    return { error: `${call.fn} returned ${kindOf(value)}: expected [${call.grads.join(', ')}]${value === undefined ? ' (not implemented yet?)' : ''}` };
  }
  const grads: Record<string, unknown> = {};
  call.grads.forEach((g, k) => {
    grads[g] = unshare(value[k]);
  });
  return { value: grads, ms };
}

function isThenable(v: unknown): v is PromiseLike<unknown> {
  return typeof v === 'object' && v !== null && typeof (v as { then?: unknown }).then === 'function';
}

/** Call `f`, awaiting a promise it returns; the time is the call's, awaited. */
async function timed(f: () => unknown): Promise<{ value: unknown; ms: number }> {
  const t0 = performance.now();
  let value = f();
  if (isThenable(value)) value = await value;
  return { value, ms: performance.now() - t0 };
}

async function handle(req: Request): Promise<void> {
  inFlight = req.seq;
  try {
    if (req.op === 'named-forward' || req.op === 'named-backward') {
      let r: { value: unknown; ms: number } | { error: string };
      if (req.op === 'named-forward') r = await namedForward(req.call, req.inputs as Record<string, never>);
      else if (!caches.has(req.cache)) r = { error: `${req.call.fn} was called with the cache of an old forward pass (only the last ${CACHE_SLOTS} are kept)` };
      else r = await namedBackward(req.call, req.dout, caches.get(req.cache));
      if ('error' in r) reply({ seq: req.seq, ok: false, error: r.error });
      else reply({ seq: req.seq, ok: true, value: r.value, ms: r.ms });
      return;
    }
    if (req.op === 'forward') {
      const { value, ms } = await timed(() => fns!.forward(req.inputs, req.params));
      if (typeof value !== 'object' || value === null) {
        reply({ seq: req.seq, ok: false, error: `forward returned ${value === null ? 'null' : typeof value}: expected an object {out, cache}` });
        return;
      }
      const r = value as Record<string, unknown>;
      const out: ForwardReply = { out: unshare(r.out), cache: keep(r.cache) };
      if (r.state !== undefined) out.state = unshare(r.state);
      if (r.switches !== undefined) out.switches = unshare(r.switches);
      reply({ seq: req.seq, ok: true, value: out, ms });
    } else {
      if (!caches.has(req.cache)) {
        reply({ seq: req.seq, ok: false, error: `backward was called with the cache of an old forward pass (only the last ${CACHE_SLOTS} are kept)` });
        return;
      }
      const { value, ms } = await timed(() => fns!.backward(req.dout, caches.get(req.cache)));
      reply({ seq: req.seq, ok: true, value: unshare(value), ms });
    }
  } catch (err) {
    const what = req.op === 'named-forward' || req.op === 'named-backward' ? `${req.call.fn} threw` : `${req.op} threw`;
    reply({ seq: req.seq, ok: false, error: `${what} ${oneLine(err)}` });
  }
}

/**
 * The module's forward and backward: its named exports when it has either, else the properties of
 * its default export (`export default {forward, backward}`, or a CommonJS `module.exports`).
 */
function findExports(mod: Record<string, unknown>): LoadedModule {
  const def = mod.default;
  const named = 'forward' in mod || 'backward' in mod;
  const source = (named ? mod : typeof def === 'object' || typeof def === 'function' ? (def ?? {}) : {}) as Record<string, unknown>;
  if (typeof source.forward === 'function' && typeof source.backward === 'function') {
    // Called as methods, so a default export that is an object or class instance keeps its `this`.
    fns = { forward: (...a) => (source.forward as Fn).apply(source, a), backward: (...a) => (source.backward as Fn).apply(source, a) };
  }
  const names = Object.keys(mod).filter((k) => k !== 'default');
  if (!named && typeof def === 'object' && def !== null) names.push(...Object.keys(def).map((k) => `default.${k}`));
  const layer = typeof source.layer === 'string' ? source.layer : undefined;
  // cs231n-named functions: the named exports, else the default export's (a CommonJS module.exports).
  const hasNamedFns = Object.entries(mod).some(([k, v]) => k !== 'default' && typeof v === 'function');
  const pool = (hasNamedFns ? mod : typeof def === 'object' || typeof def === 'function' ? (def ?? {}) : {}) as Record<string, unknown>;
  namedFns = {};
  for (const [k, v] of Object.entries(pool)) if (k !== 'default' && typeof v === 'function') namedFns[k] = v as Fn;
  return {
    forward: typeof source.forward,
    backward: typeof source.backward,
    exports: names,
    functions: Object.keys(namedFns).sort(),
    ...(layer !== undefined ? { layer } : {}),
  };
}

type TsImport = (specifier: string, parentURL: string) => Promise<unknown>;

async function start(): Promise<void> {
  // NOTE: tsImport rather than a global register(): with register(), a .ts file outside any
  // package.json of "type": "module" fails under Node 20's require(esm) ("Cannot require() ES
  // Module ... in a cycle"); tsImport loads it either way.
  const tsImport = tsxApi ? ((await import(tsxApi)) as { tsImport: TsImport }).tsImport : undefined;
  reply({ seq: SEQ_STARTED, ok: true });
  inFlight = SEQ_LOADED;
  let loaded: LoadedModule;
  try {
    loaded = findExports((await (tsImport ? tsImport(moduleUrl, import.meta.url) : import(moduleUrl))) as Record<string, unknown>);
  } catch (err) {
    reply({ seq: SEQ_LOADED, ok: false, error: oneLine(err) });
    return;
  }
  reply({ seq: SEQ_LOADED, ok: true, value: loaded });
  port.on('message', (req: Request) => void handle(req));
}

void start();
