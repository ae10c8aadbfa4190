/**
 * A synchronous worker-thread pool for the fast layers. Layer passes are synchronous
 * (LayerImpl), so `parallelFor` wakes idle workers, works on the index range itself, then
 * blocks in Atomics.wait until every worker has stored its completion flag. Chunks of `grain`
 * indices are claimed from a shared counter (Atomics.add), so a thread that is descheduled or
 * slower simply claims fewer: a static split would wait for the slowest thread. Data moves
 * through SharedArrayBuffers (src/kernels/parallel/shared.ts); a task is a function exported by name
 * from an ES module, which each worker imports once.
 *
 * Workers are created lazily, kept for reuse and unref'ed, so an idle pool never keeps the
 * process (or a test runner) alive. Inside a pool worker, `parallelFor` runs serially.
 */
import { availableParallelism } from 'node:os';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { MessageChannel, Worker, isMainThread, receiveMessageOnPort, workerData, type MessagePort } from 'node:worker_threads';
import { ParamError } from '../../errors.js';

/** A function workers can run: exported as `name` from the module at `url` (its import.meta.url). */
export interface ParallelTask<A> {
  url: string;
  name: string;
  /** The same function, called directly for the calling thread's chunk. */
  run(args: A, start: number, end: number, slot: number): void;
}

/** Completion flags in the shared signal array. */
const IDLE = 0;
const BUSY = 1;
const DONE = 2;
const FAILED = 3;
/**
 * Most threads `setThreads` (and bench's --threads) accepts: each is a worker with its own
 * isolate and WASM memory (POOL_WORKER_BYTES and its scratch), and a layer's batch rarely splits
 * usefully further.
 */
export const MAX_THREADS = 64;
/** How long to wait for a new worker to load before giving up on the pool (ms). */
const STARTUP_TIMEOUT_MS = 60_000;

/** True inside one of this pool's workers (nested parallelism runs serially). */
const IN_POOL_WORKER = !isMainThread && (workerData as { cnnCheckPool?: boolean } | null)?.cnnCheckPool === true;

/** The machine's cores as Node sees them. */
export function defaultThreads(): number {
  return Math.max(1, Math.min(MAX_THREADS, availableParallelism()));
}

let threads = defaultThreads();
/**
 * Least work per thread (in flops or comparable element operations) worth a worker: waking a
 * worker and waiting for it costs 20-100 us, and staging the data through the shared arena
 * about as much again; 2e6 flops is ~0.1 ms of the WASM kernels.
 */
export const DEFAULT_MIN_WORK_PER_THREAD = 2e6;
let minWorkPerThread = DEFAULT_MIN_WORK_PER_THREAD;

/** Threads the fast layers may use (1 turns threading off). Default: the machine's cores. */
export function setThreads(n: number): void {
  if (!Number.isInteger(n) || n < 1 || n > MAX_THREADS) {
    throw new ParamError(`setThreads: expected an integer in [1, ${MAX_THREADS}], got ${n}`);
  }
  threads = n;
}

/** The current thread setting. */
export function getThreads(): number {
  return threads;
}

/** Least work per thread before a problem is split (0 splits everything; tests use it). */
export function setMinWorkPerThread(work: number): void {
  if (!(work >= 0)) throw new ParamError(`setMinWorkPerThread: expected a number >= 0, got ${work}`);
  minWorkPerThread = work;
}

/** The current least work per thread. */
export function getMinWorkPerThread(): number {
  return minWorkPerThread;
}

/** How many threads to use for `count` independent items costing `work` in total. */
export function planThreads(count: number, work: number): number {
  return planThreadsWith(threads, count, work);
}

/** What planThreads says under the thread setting `setting` (a memory estimate plans a run before it sets its threads). */
export function planThreadsWith(setting: number, count: number, work: number): number {
  if (IN_POOL_WORKER || setting <= 1 || count <= 1) return 1;
  const byWork = minWorkPerThread > 0 ? Math.floor(work / minWorkPerThread) : setting;
  return Math.max(1, Math.min(setting, count, byWork));
}

/** The pool's workers in memory estimates (src/memory/): they stay once started, each with its own WASM memory. */
export const POOL_WORKERS = 'pool workers';
/**
 * Resident bytes of one pool worker before its tasks' scratch: its isolate, the kernels' modules
 * and its WASM memory's packing area. Measured at 9-12 MB each (RSS after 1, 3 and 7 workers ran a
 * conv, Node 20, x86-64).
 */
export const POOL_WORKER_BYTES = 16 * 2 ** 20;

/** Bytes the pool holds once `used` threads ran a task (the calling thread and used - 1 workers) with `scratch` bytes of workspace each. */
export function poolWorkerBytes(used: number, scratch: number): number {
  return Math.max(0, used - 1) * (POOL_WORKER_BYTES + scratch);
}

interface PoolWorker {
  worker: Worker;
  /** Receives the error text of a failed task. */
  errors: MessagePort;
  index: number;
  started: boolean;
}

/** signal[i]: worker i's task state; ready[i]: 1 once worker i has loaded; next[0]: next unclaimed index. */
let signal: Int32Array | undefined;
let ready: Int32Array | undefined;
let next: Int32Array | undefined;
const workers: PoolWorker[] = [];

/** How a worker is started: the compiled worker.js, or worker.ts through tsx when running from src/. */
function spawn(index: number): PoolWorker {
  signal ??= new Int32Array(new SharedArrayBuffer(4 * MAX_THREADS));
  ready ??= new Int32Array(new SharedArrayBuffer(4 * MAX_THREADS));
  next ??= new Int32Array(new SharedArrayBuffer(4));
  const { port1, port2 } = new MessageChannel();
  const data = { cnnCheckPool: true, signal, ready, next, index, errors: port2 };
  let worker: Worker;
  if (import.meta.url.endsWith('.ts')) {
    // NOTE: running from TypeScript sources (vitest, tsx): register tsx in the worker first so it
    // can import the .ts modules tasks live in.
    const tsxApi = pathToFileURL(createRequire(import.meta.url).resolve('tsx/esm/api')).href.replace(/\.cjs$/, '.mjs');
    const entry = new URL('./worker.ts', import.meta.url).href;
    const code = `import(${JSON.stringify(tsxApi)}).then((m) => { m.register(); return import(${JSON.stringify(entry)}); });`;
    worker = new Worker(code, { eval: true, workerData: data, transferList: [port2] });
  } else {
    worker = new Worker(new URL('./worker.js', import.meta.url), { workerData: data, transferList: [port2] });
  }
  // An 'error' event without a listener would be rethrown on this thread; the task's own
  // failure is reported through `errors` instead.
  worker.on('error', () => {});
  worker.unref();
  port1.unref();
  return { worker, errors: port1, index, started: false };
}

function waitReady(w: PoolWorker): void {
  if (w.started) return;
  const deadline = Date.now() + STARTUP_TIMEOUT_MS;
  while (Atomics.load(ready!, w.index) === 0) {
    const left = deadline - Date.now();
    if (left <= 0) throw new Error(`parallel: worker ${w.index} did not start within ${STARTUP_TIMEOUT_MS / 1000} s`);
    Atomics.wait(ready!, w.index, 0, Math.min(left, 1000));
  }
  w.started = true;
}

/** Claim chunks of `grain` indices from `counter` and `run` them until [0, count) is exhausted (shared with worker.ts). */
export function runClaimedChunks(run: (start: number, end: number) => void, counter: Int32Array, count: number, grain: number): void {
  for (;;) {
    const start = Atomics.add(counter, 0, grain);
    if (start >= count) return;
    run(start, Math.min(count, start + grain));
  }
}

/**
 * Run [0, count) split in two: the workers (nThreads - 1 of them) claim chunks of [0, split) with
 * `task` on `args` (shared memory), while this thread runs `local(split, count)` on data it can
 * reach directly. For passes whose threaded form would stage the whole input and output through the
 * shared arena on this thread: only the workers' share is staged, and the staging is the caller's
 * (before the call for inputs, after it for outputs). When this thread is done with its share it
 * claims the chunks of [0, split) the workers have not (as `task.run(args, ..., slot 0)`, on the
 * shared args), so a descheduled worker delays the pass by at most one chunk.
 */
export function parallelSplit<A>(
  task: ParallelTask<A>,
  args: A,
  count: number,
  split: number,
  nThreads: number,
  local: (start: number, end: number) => void,
  grain?: number,
): void {
  const n = Math.max(1, Math.min(nThreads, count));
  if (n === 1 || IN_POOL_WORKER || split <= 0) {
    if (count > 0) local(0, count);
    return;
  }
  while (workers.length < n - 1) workers.push(spawn(workers.length));
  const g = Math.max(1, Math.floor(grain ?? Math.ceil(split / (4 * (n - 1)))));
  const used = workers.slice(0, n - 1);
  Atomics.store(next!, 0, 0);
  for (const w of used) {
    Atomics.store(signal!, w.index, BUSY);
    w.worker.postMessage({ url: task.url, name: task.name, args, count: split, grain: g, slot: w.index + 1 });
  }
  let mainError: unknown;
  try {
    if (split < count) local(split, count);
    // then help with what the workers have not claimed yet, on the shared args like them
    runClaimedChunks((start, end) => task.run(args, start, end, 0), next!, split, g);
  } catch (err) {
    mainError = err;
    Atomics.store(next!, 0, split); // stop the workers claiming more
  }
  const failures: string[] = [];
  for (const w of used) {
    waitReady(w);
    while (Atomics.load(signal!, w.index) === BUSY) Atomics.wait(signal!, w.index, BUSY);
    if (Atomics.load(signal!, w.index) === FAILED) {
      failures.push(String(receiveMessageOnPort(w.errors)?.message ?? 'unknown error'));
    }
    Atomics.store(signal!, w.index, IDLE);
  }
  if (mainError !== undefined) throw mainError;
  if (failures.length) throw new Error(`parallel: ${task.name} failed in a worker: ${failures[0]}`);
}

/**
 * Run `task` over [0, count) on up to `nThreads` threads (this one and nThreads - 1 workers),
 * as calls task.run(args, start, end, slot) on chunks of `grain` indices (default: about four
 * chunks per thread). Each thread has its own `slot` in [0, nThreads) and may be called for
 * several chunks, so per-slot outputs must accumulate. Blocks until every chunk is done.
 * `args` is structured-cloned to workers: arrays they write must be on SharedArrayBuffers.
 */
export function parallelFor<A>(task: ParallelTask<A>, args: A, count: number, nThreads: number, grain?: number): void {
  const n = Math.max(1, Math.min(nThreads, count));
  if (n === 1 || IN_POOL_WORKER) {
    if (count > 0) task.run(args, 0, count, 0);
    return;
  }
  while (workers.length < n - 1) workers.push(spawn(workers.length));
  const g = Math.max(1, Math.floor(grain ?? Math.ceil(count / (4 * n))));
  const used = workers.slice(0, n - 1);
  Atomics.store(next!, 0, 0);
  for (const w of used) {
    Atomics.store(signal!, w.index, BUSY);
    w.worker.postMessage({ url: task.url, name: task.name, args, count, grain: g, slot: w.index + 1 });
  }
  let mainError: unknown;
  try {
    runClaimedChunks((start, end) => task.run(args, start, end, 0), next!, count, g);
  } catch (err) {
    mainError = err;
    Atomics.store(next!, 0, count); // stop the workers claiming more
  }
  const failures: string[] = [];
  for (const w of used) {
    waitReady(w);
    while (Atomics.load(signal!, w.index) === BUSY) Atomics.wait(signal!, w.index, BUSY);
    if (Atomics.load(signal!, w.index) === FAILED) {
      failures.push(String(receiveMessageOnPort(w.errors)?.message ?? 'unknown error'));
    }
    Atomics.store(signal!, w.index, IDLE);
  }
  if (mainError !== undefined) throw mainError;
  if (failures.length) throw new Error(`parallel: ${task.name} failed in a worker: ${failures[0]}`);
}

/** Protocol constants shared with worker.ts. */
export const SIGNAL = { IDLE, BUSY, DONE, FAILED } as const;
