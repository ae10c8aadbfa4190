/**
 * A pool worker (see pool.ts): imports a task's module once, claims chunks of the index range
 * from the shared counter until none are left, then stores DONE or FAILED in its slot of the
 * shared signal array and wakes the waiting thread.
 */
import { parentPort, workerData, type MessagePort } from 'node:worker_threads';
import { SIGNAL, runClaimedChunks } from './pool.js';

interface WorkerData {
  signal: Int32Array;
  ready: Int32Array;
  next: Int32Array;
  index: number;
  errors: MessagePort;
}

interface TaskMessage {
  url: string;
  name: string;
  args: unknown;
  count: number;
  grain: number;
  slot: number;
}

type TaskFn = (args: unknown, start: number, end: number, slot: number) => void;

const { signal, ready, next, index, errors } = workerData as WorkerData;
const modules = new Map<string, Promise<Record<string, unknown>>>();

async function runTask(msg: TaskMessage): Promise<void> {
  let status: number = SIGNAL.DONE;
  try {
    let mod = modules.get(msg.url);
    if (!mod) {
      mod = import(msg.url) as Promise<Record<string, unknown>>;
      modules.set(msg.url, mod);
    }
    const fn = (await mod)[msg.name];
    if (typeof fn !== 'function') throw new Error(`${msg.url} does not export a function ${msg.name}`);
    runClaimedChunks((start, end) => (fn as TaskFn)(msg.args, start, end, msg.slot), next, msg.count, msg.grain);
  } catch (err) {
    status = SIGNAL.FAILED;
    Atomics.store(next, 0, msg.count); // stop the other threads claiming more
    errors.postMessage(err instanceof Error ? (err.stack ?? err.message) : String(err));
  }
  Atomics.store(signal, index, status);
  Atomics.notify(signal, index);
}

parentPort!.on('message', (msg: TaskMessage) => {
  void runTask(msg);
});
Atomics.store(ready, index, 1);
Atomics.notify(ready, index);
