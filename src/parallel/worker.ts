/**
 * A pool worker (see pool.ts): imports a task's module once, runs the chunk it is sent, then
 * stores DONE or FAILED in its slot of the shared signal array and wakes the waiting thread.
 */
import { parentPort, workerData, type MessagePort } from 'node:worker_threads';
import { SIGNAL } from './pool.js';

interface WorkerData {
  signal: Int32Array;
  ready: Int32Array;
  index: number;
  errors: MessagePort;
}

interface TaskMessage {
  url: string;
  name: string;
  args: unknown;
  start: number;
  end: number;
  slot: number;
}

type TaskFn = (args: unknown, start: number, end: number, slot: number) => void;

const { signal, ready, index, errors } = workerData as WorkerData;
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
    (fn as TaskFn)(msg.args, msg.start, msg.end, msg.slot);
  } catch (err) {
    status = SIGNAL.FAILED;
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
