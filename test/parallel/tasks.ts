/** Tasks the pool tests run on workers (a task must live in a module the worker can import). */
import { threadId } from 'node:worker_threads';

export interface RecordArgs {
  /** slot of the chunk that handled each index */
  slots: Int32Array;
  /** threadId of the thread that ran each slot */
  threads: Int32Array;
}

/** Record which chunk and which thread handled each index. */
export function recordSlots(args: RecordArgs, start: number, end: number, slot: number): void {
  for (let i = start; i < end; i++) args.slots[i] = slot;
  args.threads[slot] = threadId;
}

/** Fail on any chunk but the first. */
export function failOnWorkers(_args: unknown, _start: number, _end: number, slot: number): void {
  if (slot > 0) throw new Error(`chunk ${slot} refused`);
}
