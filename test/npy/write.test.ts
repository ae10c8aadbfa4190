import { describe, expect, it } from 'vitest';
import { FormatError, ShapeError } from '../../src/errors.js';
import { ARRAY_ALIGN, buildNpyPreamble, npyHeaderDict, readNpy, readNpyMember, writeNpy, writeNpyString } from '../../src/npy/index.js';

const latin1 = (b: Uint8Array) => String.fromCharCode(...b);

function headerText(bytes: Uint8Array): string {
  const major = bytes[6];
  const dv = new DataView(bytes.buffer, bytes.byteOffset);
  const len = major === 1 ? dv.getUint16(8, true) : dv.getUint32(8, true);
  const start = major === 1 ? 10 : 12;
  return latin1(bytes.subarray(start, start + len));
}

describe('writeNpy', () => {
  it('writes numpy’s exact preamble: magic, 1.0, header dict, growth spaces, 64-byte alignment, final newline', () => {
    const bytes = writeNpy({ data: new Float64Array([1, 2, 3, 4, 5, 6]), shape: [2, 3] });
    expect(Array.from(bytes.subarray(0, 8))).toEqual([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]);
    const text = headerText(bytes);
    // dict + 20 growth spaces (21 - digits of shape[0]) + padding + '\n'
    expect(text.startsWith(`{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3), }${' '.repeat(20)}`)).toBe(true);
    expect(text.endsWith(' \n')).toBe(true);
    expect(/^[^\n]*\n$/.test(text)).toBe(true);
    expect((10 + text.length) % ARRAY_ALIGN).toBe(0);
    expect(bytes.length).toBe(128 + 48);
    const dv = new DataView(bytes.buffer, bytes.byteOffset + 128);
    expect([0, 1, 2, 3, 4, 5].map((i) => dv.getFloat64(i * 8, true))).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it('float32 is written as <f4 and 0-d / zero-size shapes are written as numpy does', () => {
    expect(headerText(writeNpy({ data: new Float32Array([1]), shape: [1] }))).toContain("'descr': '<f4'");
    expect(headerText(writeNpy({ data: new Float64Array([7]), shape: [] }))).toMatch(/^\{'descr': '<f8', 'fortran_order': False, 'shape': \(\), \} +\n$/);
    expect(headerText(writeNpy({ data: new Float64Array(0), shape: [0, 4] }))).toContain("'shape': (0, 4), }");
    expect(headerText(writeNpy({ data: new Float64Array(3), shape: [3] }))).toContain("'shape': (3,), }");
  });

  it('round-trips every float value bit-exactly, including NaN, -0, infinities and subnormals', () => {
    const special = [NaN, -0, 0, Infinity, -Infinity, 5e-324, -2.2250738585072014e-308, Number.MAX_VALUE, Math.PI, 1 / 3];
    const d64 = Float64Array.from(special);
    const r64 = readNpy(writeNpy({ data: d64, shape: [2, 5] }));
    expect(r64).toMatchObject({ dtype: '<f8', kind: 'float64', shape: [2, 5], fortranOrder: false });
    expect(new Uint8Array(r64.data.buffer)).toEqual(new Uint8Array(d64.buffer));
    const d32 = Float32Array.from(special);
    const r32 = readNpy(writeNpy({ data: d32, shape: [10] }));
    expect(r32.data).toBeInstanceOf(Float32Array);
    expect(new Uint8Array(r32.data.buffer)).toEqual(new Uint8Array(d32.buffer));
  });

  it('writes from a typed array view with an offset', () => {
    const backing = new Float64Array([9, 9, 1, 2, 3, 9]);
    const view = backing.subarray(2, 5);
    expect(Array.from(readNpy(writeNpy({ data: view, shape: [3] })).data)).toEqual([1, 2, 3]);
  });

  it('refuses inconsistent tensors', () => {
    expect(() => writeNpy({ data: new Float64Array(5), shape: [2, 3] })).toThrow(ShapeError);
    expect(() => writeNpy({ data: new Float64Array(5), shape: [2, 3] })).toThrow('writeNpy: expected 6 elements for shape (2, 3), got 5');
    expect(() => writeNpy({ data: new Float64Array(0), shape: [-1] })).toThrow(ShapeError);
    expect(() => writeNpy({ data: new Float64Array(2), shape: [1.5] })).toThrow(ShapeError);
    expect(() => writeNpy({ data: new Float64Array(1), shape: new Array(65).fill(1) })).toThrow(FormatError);
    expect(() => writeNpy({ data: new Int32Array(1) as unknown as Float64Array, shape: [1] })).toThrow(FormatError);
  });
});

describe('buildNpyPreamble', () => {
  it('pads with 1..64 spaces, never 0 (as numpy does)', () => {
    const pads = new Set<number>();
    for (let ndim = 1; ndim <= 30; ndim++) {
      for (let digits = 1; digits <= 9; digits++) {
        const descr = `<U${'1'.repeat(digits)}`;
        const shape = new Array(ndim).fill(1);
        const pre = buildNpyPreamble(descr, false, shape);
        expect(pre.length % 64).toBe(0);
        const pad = pre.length - 10 - 1 - npyHeaderDict(descr, false, shape).length;
        expect(pad).toBeGreaterThanOrEqual(1);
        expect(pad).toBeLessThanOrEqual(64);
        pads.add(pad);
      }
    }
    expect(pads.has(64)).toBe(true);
    expect(pads.size).toBe(64);
  });

  it('switches to version 2.0 when the header does not fit a 2-byte length', () => {
    const shape = new Array(22000).fill(1);
    const pre = buildNpyPreamble('<f8', false, shape);
    expect(pre[6]).toBe(2);
    expect(pre[7]).toBe(0);
    const len = new DataView(pre.buffer).getUint32(8, true);
    expect(len).toBeGreaterThan(0xffff);
    expect(12 + len).toBe(pre.length);
    expect(pre.length % 64).toBe(0);
    expect(pre[pre.length - 1]).toBe(0x0a);
  });

  it('growth spaces follow the last dimension in Fortran order', () => {
    expect(npyHeaderDict('<f8', true, [1234, 5])).toBe(`{'descr': '<f8', 'fortran_order': True, 'shape': (1234, 5), }${' '.repeat(20)}`);
    expect(npyHeaderDict('<f8', false, [1234, 5])).toBe(`{'descr': '<f8', 'fortran_order': False, 'shape': (1234, 5), }${' '.repeat(17)}`);
  });
});

describe('writeNpyString', () => {
  it('writes a 0-d <U{n} array of UTF-32LE code points that reads back', () => {
    const s = 'héllo 😀 {"k": [1, 2]}';
    const bytes = writeNpyString(s);
    const n = Array.from(s).length;
    expect(headerText(bytes)).toMatch(new RegExp(`^\\{'descr': '<U${n}', 'fortran_order': False, 'shape': \\(\\), \\} +\\n$`));
    expect(bytes.length).toBe(128 + 4 * n);
    const dv = new DataView(bytes.buffer, 128);
    expect(dv.getUint32(0, true)).toBe(0x68);
    expect(dv.getUint32(4 * 6, true)).toBe(0x1f600);
    expect(readNpyMember(bytes)).toEqual({ kind: 'string', dtype: `<U${n}`, shape: [], value: s });
  });

  it('writes the empty string as <U1 holding NUL, as numpy does', () => {
    const bytes = writeNpyString('');
    expect(headerText(bytes)).toContain("'descr': '<U1'");
    expect(Array.from(bytes.subarray(128))).toEqual([0, 0, 0, 0]);
    expect(readNpyMember(bytes)).toMatchObject({ kind: 'string', value: '' });
  });

  it('refuses lone surrogates', () => {
    expect(() => writeNpyString('a\ud800b')).toThrow(FormatError);
  });
});
