/** Tasks the pool tests run on workers (a task must live in a module the worker can import). */
import { threadId } from 'node:worker_threads';

export interface RecordArgs {
  /** How many times each index was handled. */
  hits: Int32Array;
  /** threadId of the thread behind each slot (0 until the slot runs a chunk). */
  threads: Int32Array;
  /** Slot `waiter` waits (up to 10 s) for slot `waitee` to start before working. */
  meet?: { waiter: number; waitee: number };
  /** Throw from every chunk slot `failSlot` runs. */
  failSlot?: number;
}

/** Record who handled each index; optionally meet a worker first, or fail on one slot. */
export function recordSlots(args: RecordArgs, start: number, end: number, slot: number): void {
  Atomics.store(args.threads, slot, threadId || -1);
  Atomics.notify(args.threads, slot);
  if (args.meet && slot === args.meet.waiter) Atomics.wait(args.threads, args.meet.waitee, 0, 10_000);
  if (args.failSlot === slot) throw new Error(`chunk [${start}, ${end}) of slot ${slot} refused`);
  for (let i = start; i < end; i++) Atomics.add(args.hits, i, 1);
}
