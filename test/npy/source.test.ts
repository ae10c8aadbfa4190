/**
 * Reading from a ByteSource (a file, by position): the reader takes the preamble of an `.npy`,
 * and the end records, central directory and local headers of an `.npz`, and refuses a size
 * beyond maxBytes before it reads any data. A counting source over a huge virtual file proves it.
 */
import { describe, expect, it } from 'vitest';
import { FormatError } from '../../src/errors.js';
import {
  bytesSource,
  listNpzFrom,
  MAX_CENTRAL_DIRECTORY_BYTES,
  MAX_PREAMBLE_LEN,
  readNpyMemberFrom,
  readNpzFrom,
  writeNpy,
  writeNpz,
  type ByteSource,
} from '../../src/npy/index.js';
import { buildZip, dict, npyBytes } from './helpers.js';

/** A source of `length` bytes: `head` at 0, `tail` at the end, zeros between; counts what is read. */
function virtualFile(length: number, head: Uint8Array, tail = new Uint8Array(0)): ByteSource & { readBytes: number } {
  const src = {
    length,
    readBytes: 0,
    read(offset: number, n: number): Uint8Array {
      if (offset < 0 || offset + n > length) throw new Error(`read past the end: ${offset} + ${n}`);
      src.readBytes += n;
      const out = new Uint8Array(n);
      for (let i = 0; i < n; i++) {
        const p = offset + i;
        if (p < head.length) out[i] = head[p];
        else if (p >= length - tail.length) out[i] = tail[p - (length - tail.length)];
      }
      return out;
    },
  };
  return src;
}

describe('readNpyMemberFrom', () => {
  it('refuses a 1.5 GB .npy over maxBytes after reading only its preamble', () => {
    const pre = npyBytes(dict('<f8', '(187500000,)'));
    const src = virtualFile(pre.length + 1_500_000_000, pre);
    expect(() => readNpyMemberFrom(src, { maxBytes: 1000, name: 'big.npy' })).toThrow(
      'big.npy: data too large: expected at most 1000 bytes (maxBytes; raise it with --max-bytes), got 1500000000 for shape (187500000,) float64',
    );
    expect(src.readBytes).toBeLessThanOrEqual(MAX_PREAMBLE_LEN);
  });

  it('refuses a file longer than its header says after the preamble alone', () => {
    const pre = npyBytes(dict('<f8', '(3,)'));
    const src = virtualFile(pre.length + 1_500_000_000, pre);
    expect(() => readNpyMemberFrom(src)).toThrow(FormatError);
    expect(src.readBytes).toBeLessThanOrEqual(MAX_PREAMBLE_LEN);
  });

  it('reads the same array as readNpyMember, its data read once, after the header', () => {
    const bytes = writeNpy({ data: new Float64Array([1, 2, 3, 4, 5, 6]), shape: [2, 3] });
    const src = virtualFile(bytes.length, bytes);
    const m = readNpyMemberFrom(src, { fresh: true });
    expect(m.kind !== 'string' && Array.from(m.data)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(src.readBytes).toBe(bytes.length + 48);
  });
});

describe('listNpzFrom / readNpzFrom', () => {
  it('refuses a stored member declaring 1.5 GB from the central directory: the data is never read', () => {
    // A real zip of a small member whose sizes are then patched to 1.5 GB, the member data
    // becoming the virtual file's middle: only the tail and the local header get read.
    const small = buildZip([{ name: 'x.npy', payload: npyBytes(dict('<f8', '(1,)'), new Uint8Array(8)) }]);
    const dataLen = small.length - 30 - 5 - 22 - 46 - 5;
    const big = 1_500_000_000;
    const head = small.subarray(0, 30 + 5);
    new DataView(head.buffer, head.byteOffset).setUint32(18, big, true);
    new DataView(head.buffer, head.byteOffset).setUint32(22, big, true);
    const cd = small.slice(30 + 5 + dataLen);
    const cv = new DataView(cd.buffer);
    cv.setUint32(20, big, true);
    cv.setUint32(24, big, true);
    cv.setUint32(46 + 5 + 16, 30 + 5 + big, true); // EOCD: central directory offset
    const src = virtualFile(35 + big + cd.length, head, cd);
    expect(() => listNpzFrom(src, { maxBytes: 1000, name: 'sparse.npz' })).toThrow(
      'sparse.npz[x.npy]: declared uncompressed size too large: expected at most 1000 bytes (maxBytes; raise it with --max-bytes) in total, got 1500000000 so far',
    );
    expect(src.readBytes).toBeLessThan(70_000);
    expect(listNpzFrom(src, { maxBytes: 2 ** 31 })[0]).toMatchObject({ name: 'x.npy', size: big, dataOffset: 35 });
  });

  it('refuses a central directory larger than MAX_CENTRAL_DIRECTORY_BYTES before reading it', () => {
    // A central directory of size + 1 bytes at offset 0 (the virtual zeros), then the end record.
    const size = MAX_CENTRAL_DIRECTORY_BYTES + 1;
    const eocd = new Uint8Array(22);
    const ev = new DataView(eocd.buffer);
    ev.setUint32(0, 0x06054b50, true);
    ev.setUint16(8, 1, true);
    ev.setUint16(10, 1, true);
    ev.setUint32(12, size, true);
    ev.setUint32(16, 0, true);
    const src = virtualFile(size + 22, new Uint8Array(0), eocd);
    expect(() => listNpzFrom(src)).toThrow(`central directory: expected at most ${MAX_CENTRAL_DIRECTORY_BYTES} bytes, got ${size}`);
    expect(src.readBytes).toBeLessThan(70_000 + 100);
  });

  it('reads what readNpz reads', () => {
    const zip = writeNpz({ a: { data: new Float64Array([1, 2]), shape: [2] }, meta: '{"layer": "relu"}' }, { compress: true });
    const got = readNpzFrom(bytesSource(zip));
    expect([...got.keys()]).toEqual(['a', 'meta']);
    expect(got.get('meta')).toMatchObject({ kind: 'string', value: '{"layer": "relu"}' });
  });
});
