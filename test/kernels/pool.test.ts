import { afterAll, describe, expect, it } from 'vitest';
import { threadId } from 'node:worker_threads';
import {
  DEFAULT_MIN_WORK_PER_THREAD,
  defaultThreads,
  getThreads,
  parallelFor,
  parallelSplit,
  planThreads,
  setMinWorkPerThread,
  setThreads,
  type ParallelTask,
} from '../../src/kernels/parallel/pool.js';
import { sharedArena } from '../../src/kernels/parallel/shared.js';
import { ParamError } from '../../src/errors.js';
import { recordSlots, type RecordArgs } from './tasks.js';

const TASKS_URL = new URL('./tasks.ts', import.meta.url).href;
const RECORD: ParallelTask<RecordArgs> = { url: TASKS_URL, name: 'recordSlots', run: recordSlots };

afterAll(() => {
  setThreads(defaultThreads());
  setMinWorkPerThread(DEFAULT_MIN_WORK_PER_THREAD);
});

describe('thread settings', () => {
  it('defaults to the machine and refuses bad values with a ParamError', () => {
    expect(getThreads()).toBe(defaultThreads());
    expect(() => setThreads(0)).toThrow(ParamError);
    expect(() => setThreads(1.5)).toThrow(/setThreads: expected an integer in \[1, 64\], got 1.5/);
    expect(() => setMinWorkPerThread(-1)).toThrow(ParamError);
  });

  it('keeps small problems and setThreads(1) on one thread', () => {
    setThreads(2);
    setMinWorkPerThread(1000);
    expect(planThreads(10, 999)).toBe(1);
    expect(planThreads(10, 2000)).toBe(2);
    expect(planThreads(1, 1e9)).toBe(1);
    setThreads(1);
    expect(planThreads(10, 1e9)).toBe(1);
  });
});

const shared = (n: number) => new Int32Array(new SharedArrayBuffer(4 * n));

describe('parallelFor', () => {
  it('handles every index exactly once, with a worker taking part', () => {
    setThreads(2);
    const args: RecordArgs = { hits: shared(9), threads: shared(2), meet: { waiter: 0, waitee: 1 } };
    parallelFor(RECORD, args, 9, 2, 1);
    expect(Array.from(args.hits)).toEqual(new Array(9).fill(1));
    expect(args.threads[0]).toBe(threadId || -1);
    expect(args.threads[1]).not.toBe(threadId || -1);
    expect(args.threads[1]).toBeGreaterThan(0);
  });

  it('runs everything here when one thread is asked for', () => {
    const args: RecordArgs = { hits: new Int32Array(3), threads: new Int32Array(1) };
    parallelFor(RECORD, args, 3, 1);
    expect(Array.from(args.hits)).toEqual([1, 1, 1]);
  });

  it('reports a worker failure as an error naming the task, and the pool stays usable', () => {
    const failing: RecordArgs = { hits: shared(4), threads: shared(2), meet: { waiter: 0, waitee: 1 }, failSlot: 1 };
    expect(() => parallelFor(RECORD, failing, 4, 2, 1)).toThrow(/recordSlots failed in a worker: .*of slot 1 refused/);
    const args: RecordArgs = { hits: shared(6), threads: shared(2) };
    parallelFor(RECORD, args, 6, 2, 1);
    expect(Array.from(args.hits)).toEqual(new Array(6).fill(1));
  });

  it('rethrows a failure on the calling thread after the workers stop', () => {
    const failing: RecordArgs = { hits: shared(4), threads: shared(2), meet: { waiter: 1, waitee: 0 }, failSlot: 0 };
    expect(() => parallelFor(RECORD, failing, 4, 2, 1)).toThrow(/of slot 0 refused/);
  });
});

describe('parallelSplit', () => {
  it('gives the workers [0, split) and this thread [split, count), each index once', () => {
    setThreads(2);
    // the local share waits (up to 10 s) for the worker to start, so the worker surely takes part
    const args: RecordArgs = { hits: shared(10), threads: shared(2) };
    const mine: number[] = [];
    parallelSplit(
      RECORD,
      args,
      10,
      6,
      2,
      (start, end) => {
        Atomics.wait(args.threads, 1, 0, 10_000);
        for (let i = start; i < end; i++) mine.push(i);
      },
      2,
    );
    expect(Array.from(args.hits)).toEqual([1, 1, 1, 1, 1, 1, 0, 0, 0, 0]);
    expect(mine).toEqual([6, 7, 8, 9]);
    expect(args.threads[1]).toBeGreaterThan(0);
    expect(args.threads[1]).not.toBe(threadId || -1);
  });

  it('takes over the chunks a worker has not claimed once its own share is done', () => {
    setThreads(2);
    // the worker's first chunk waits for this thread to have claimed something of [0, split) too
    const args: RecordArgs = { hits: shared(8), threads: shared(2), meet: { waiter: 1, waitee: 0 } };
    parallelSplit(RECORD, args, 8, 6, 2, () => {}, 1);
    expect(Array.from(args.hits)).toEqual([1, 1, 1, 1, 1, 1, 0, 0]);
    expect(args.threads[0]).toBe(threadId || -1);
  });

  it('runs everything here on one thread or with nothing to split', () => {
    for (const [threads, split] of [
      [1, 5],
      [2, 0],
    ]) {
      const args: RecordArgs = { hits: shared(5), threads: shared(2) };
      const mine: Array<[number, number]> = [];
      parallelSplit(RECORD, args, 5, split, threads, (start, end) => mine.push([start, end]));
      expect(mine).toEqual([[0, 5]]);
      expect(Array.from(args.hits)).toEqual([0, 0, 0, 0, 0]);
    }
  });

  it('reports a worker failure and rethrows its own, the pool staying usable', () => {
    const failing: RecordArgs = { hits: shared(4), threads: shared(2), failSlot: 1 };
    const waitForWorker = () => void Atomics.wait(failing.threads, 1, 0, 10_000);
    expect(() => parallelSplit(RECORD, failing, 8, 4, 2, waitForWorker)).toThrow(/recordSlots failed in a worker: .*of slot 1 refused/);
    expect(() =>
      parallelSplit(RECORD, { hits: shared(4), threads: shared(2) }, 8, 4, 2, () => {
        throw new Error('local refused');
      }),
    ).toThrow(/local refused/);
    const args: RecordArgs = { hits: shared(6), threads: shared(2) };
    parallelSplit(RECORD, args, 6, 6, 2, () => {});
    expect(Array.from(args.hits)).toEqual(new Array(6).fill(1));
  });
});

describe('shared arena', () => {
  it('hands out aligned, non-overlapping shared views of each kind, reusing the buffer', () => {
    const [a, b, c] = sharedArena(['float64', 'float32', 'int32'] as const, [3, 5, 7]);
    expect(a).toBeInstanceOf(Float64Array);
    expect(b).toBeInstanceOf(Float32Array);
    expect(c).toBeInstanceOf(Int32Array);
    expect(a.buffer).toBeInstanceOf(SharedArrayBuffer);
    a.fill(1);
    b.fill(2);
    c.fill(3);
    expect(Array.from(a)).toEqual([1, 1, 1]);
    expect(Array.from(b)).toEqual([2, 2, 2, 2, 2]);
    expect([a, b, c].every((v) => v.byteOffset % 64 === 0)).toBe(true);
    const [again] = sharedArena(['float64'] as const, [2]);
    expect(again.buffer).toBe(a.buffer);
    const [bigger] = sharedArena(['float64'] as const, [1 << 20]);
    expect(bigger.length).toBe(1 << 20);
  });
});
