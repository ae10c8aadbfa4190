/**
 * The supervisor of a user module's worker: a small thread between cnn-check's main thread and
 * the module's worker (worker.ts), whose event loop is never blocked. The main thread cannot
 * watch the module while it waits in Atomics.wait for a reply, so the supervisor
 * - starts the module's worker with `resourceLimits`, so its JS heap cannot grow past the limit
 *   (Node then ends the worker with ERR_WORKER_OUT_OF_MEMORY);
 * - bounds what resourceLimits does not: typed arrays and Buffers live outside the JS heap (an
 *   ArrayBuffer-allocating loop grew to 1.5 GB in 0.7 s under a 64 MB heap limit). While a call
 *   runs, every MEMORY_TICK_MS it adds the growth of the process's resident memory since the call
 *   started (the main thread is blocked, so the growth is the module's) to what the module held
 *   before it (its heap and external memory, reported with its last reply), and ends the worker
 *   once that is over the limit;
 * - raises the signal's dead flag when the worker ends for any reason (an out-of-memory end runs
 *   none of the worker's own exit handlers), with why in SIGNAL_MEMORY, and wakes the main thread.
 * It is CommonJS source evaluated as a worker, so it needs neither the build nor tsx.
 */

/** How often the supervisor compares a running call's memory with the limit. */
export const MEMORY_TICK_MS = 10;

/** Values of the signal's SIGNAL_MEMORY slot: why the supervisor ended the worker. */
export const MEMORY_OK = 0;
/** The JS heap reached resourceLimits (Node ended the worker). */
export const MEMORY_HEAP = 1;
/** Heap and off-heap memory together went over the limit (the supervisor ended the worker). */
export const MEMORY_TOTAL = 2;

/** Slots of the shared Float64Array a call's memory is accounted in. */
export const CALL = {
  /** The process's resident bytes when the call started; 0 between calls. */
  START_RSS: 0,
  /** Bytes the module held when the call started (heap used and external, as its last reply said). */
  HELD: 1,
  /** The bytes counted when the worker was ended for its memory. */
  SEEN: 2,
  LENGTH: 3,
} as const;

/** What the supervisor is started with. */
export interface SupervisorData {
  /** The module's worker: a file: URL, or source evaluated as a worker (`eval`). */
  entry: string;
  eval: boolean;
  /** Its workerData (with the port, transferred on). */
  workerData: unknown;
  /** The memory limit in MB. */
  limitMb: number;
  signal: Int32Array;
  call: Float64Array;
  /** Slot indices, from protocol.ts. */
  slots: { events: number; dead: number; memory: number };
  tickMs: number;
}

export const SUPERVISOR_SOURCE = `
const { Worker, workerData } = require('node:worker_threads');
const d = workerData;
const { signal, call, slots } = d;
const limit = d.limitMb * 1048576;
let timer;
function wake() {
  Atomics.add(signal, slots.events, 1);
  Atomics.notify(signal, slots.events);
}
function dead() {
  Atomics.store(signal, slots.dead, 1);
  wake();
  clearInterval(timer);
}
let worker;
try {
  worker = new Worker(d.eval ? d.entry : new URL(d.entry), {
    eval: d.eval,
    workerData: d.workerData,
    transferList: [d.workerData.port],
    resourceLimits: { maxOldGenerationSizeMb: d.limitMb },
  });
} catch (err) {
  dead();
  throw err;
}
worker.on('error', (err) => {
  if (err && err.code === 'ERR_WORKER_OUT_OF_MEMORY' && Atomics.load(signal, slots.memory) === ${MEMORY_OK}) Atomics.store(signal, slots.memory, ${MEMORY_HEAP});
});
worker.on('exit', dead);
timer = setInterval(() => {
  const start = call[${CALL.START_RSS}];
  if (start === 0) return;
  const used = call[${CALL.HELD}] + (process.memoryUsage.rss() - start);
  if (used > limit && Atomics.load(signal, slots.memory) === ${MEMORY_OK}) {
    call[${CALL.SEEN}] = used;
    Atomics.store(signal, slots.memory, ${MEMORY_TOTAL});
    worker.terminate();
  }
}, d.tickMs);
`;
