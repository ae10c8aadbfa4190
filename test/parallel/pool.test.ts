import { afterAll, describe, expect, it } from 'vitest';
import { threadId } from 'node:worker_threads';
import { DEFAULT_MIN_WORK_PER_THREAD, defaultThreads, getThreads, parallelFor, planThreads, setMinWorkPerThread, setThreads, type ParallelTask } from '../../src/parallel/pool.js';
import { isShared, sharedZeros, toShared } from '../../src/parallel/shared.js';
import { ParamError } from '../../src/errors.js';
import { failOnWorkers, recordSlots, type RecordArgs } from './tasks.js';

const TASKS_URL = new URL('./tasks.ts', import.meta.url).href;
const RECORD: ParallelTask<RecordArgs> = { url: TASKS_URL, name: 'recordSlots', run: recordSlots };
const FAIL: ParallelTask<unknown> = { url: TASKS_URL, name: 'failOnWorkers', run: failOnWorkers };

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

describe('parallelFor', () => {
  it('splits [0, count) into contiguous chunks and runs chunk 1 on a worker', () => {
    setThreads(2);
    const args: RecordArgs = {
      slots: new Int32Array(new SharedArrayBuffer(4 * 7)).fill(-1),
      threads: new Int32Array(new SharedArrayBuffer(4 * 2)).fill(-1),
    };
    parallelFor(RECORD, args, 7, 2);
    expect(Array.from(args.slots)).toEqual([0, 0, 0, 1, 1, 1, 1]);
    expect(args.threads[0]).toBe(threadId);
    expect(args.threads[1]).not.toBe(threadId);
    expect(args.threads[1]).toBeGreaterThan(0);
  });

  it('runs everything here when one thread is asked for', () => {
    const args: RecordArgs = { slots: new Int32Array(3).fill(-1), threads: new Int32Array(1) };
    parallelFor(RECORD, args, 3, 1);
    expect(Array.from(args.slots)).toEqual([0, 0, 0]);
  });

  it('reports a worker failure as an error naming the task, and the pool stays usable', () => {
    expect(() => parallelFor(FAIL, {}, 4, 2)).toThrow(/failOnWorkers failed in a worker: .*chunk 1 refused/);
    const args: RecordArgs = {
      slots: new Int32Array(new SharedArrayBuffer(4 * 4)),
      threads: new Int32Array(new SharedArrayBuffer(4 * 2)),
    };
    parallelFor(RECORD, args, 4, 2);
    expect(Array.from(args.slots)).toEqual([0, 0, 1, 1]);
  });
});

describe('shared arrays', () => {
  it('copies unshared arrays once and passes shared ones through', () => {
    const a = Float64Array.from([1, 2, 3]);
    const s = toShared(a);
    expect(isShared(s)).toBe(true);
    expect(Array.from(s)).toEqual([1, 2, 3]);
    expect(toShared(s)).toBe(s);
    expect(sharedZeros('float32', 4)).toBeInstanceOf(Float32Array);
  });
});
