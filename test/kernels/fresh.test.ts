/**
 * Fresh output arrays (src/kernels/fresh.ts): every array is new zero-filled memory that nothing
 * else holds, whether it came from the prefault helper or a plain allocation, so a caller may keep
 * and modify it while later passes run.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { PREFAULT_MIN_BYTES, freshArray, freshInt32, freshTensor, setPrefault } from '../../src/kernels/fresh.js';

afterAll(() => setPrefault(true));

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('fresh arrays', () => {
  for (const prefault of [true, false]) {
    it(`are zero-filled, of the dtype and length asked for, on buffers of their own (helper ${prefault ? 'on' : 'off'})`, async () => {
      setPrefault(prefault);
      const n = (PREFAULT_MIN_BYTES / 8) * 3 + 5; // above the helper's threshold, not a page multiple
      const seen = new Set<ArrayBufferLike>();
      const kept: Float64Array[] = [];
      for (let round = 0; round < 6; round++) {
        const a = freshArray('float64', n) as Float64Array;
        expect(a).toBeInstanceOf(Float64Array);
        expect(a.length).toBe(n);
        expect(a.buffer).toBeInstanceOf(ArrayBuffer);
        expect(a.byteOffset).toBe(0);
        expect(a.buffer.byteLength).toBe(n * 8);
        expect(seen.has(a.buffer)).toBe(false);
        seen.add(a.buffer);
        expect(a.every((v) => v === 0)).toBe(true);
        a.fill(round + 1); // the caller keeps and writes it
        kept.push(a);
        await sleep(20); // let the helper deliver
      }
      // nothing handed out later touched what the caller kept
      kept.forEach((a, i) => {
        expect(a.every((v) => v === i + 1)).toBe(true);
      });
    });
  }

  it('gives float32, int32 and tensors too, small ones by plain allocation', () => {
    setPrefault(true);
    const f = freshArray('float32', PREFAULT_MIN_BYTES / 4 + 1);
    expect(f).toBeInstanceOf(Float32Array);
    expect(f.every((v) => v === 0)).toBe(true);
    const i = freshInt32(PREFAULT_MIN_BYTES / 4 + 3);
    expect(i).toBeInstanceOf(Int32Array);
    expect(i.length).toBe(PREFAULT_MIN_BYTES / 4 + 3);
    const t = freshTensor([2, 3, 4], 'float64');
    expect(t.shape).toEqual([2, 3, 4]);
    expect(t.data).toBeInstanceOf(Float64Array);
    expect(t.data.length).toBe(24);
  });
});
