import { describe, expect, it } from 'vitest';
import { FormatError, UsageError } from '../../src/errors.js';
import { DEFAULT_MAX_BYTES, MAX_HEADER_LEN, MAX_NDIM, parseHeaderLiteral, readNpy, readNpyHeader, readNpyMember } from '../../src/npy/index.js';
import { concat, dict, elemBytes, enc, npyBytes } from './helpers.js';

const f8 = (values: number[]) => elemBytes(values, 'f8');
const valid23 = () => npyBytes(dict('<f8', '(2, 3)'), f8([1, 2, 3, 4, 5, 6]));

function expectFormatError(fn: () => unknown, fragment: string): FormatError {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  expect(caught, `expected a FormatError containing ${JSON.stringify(fragment)}`).toBeInstanceOf(FormatError);
  const e = caught as FormatError;
  expect(e.code).toBe('E_FORMAT');
  expect(e.message).toContain(fragment);
  expect(e.message).not.toContain('\n');
  return e;
}

/** A named corpus of malformed `.npy` files: [name, bytes, message fragment]. */
const corpus: Array<[string, () => Uint8Array, string]> = [
  ['truncated data', () => npyBytes(dict('<f8', '(10, 10)'), new Uint8Array(120)), 'truncated data: expected 800 bytes for shape (10, 10) float64, got 120'],
  ['truncated data (no data at all)', () => npyBytes(dict('<f4', '(3,)')), 'truncated data: expected 12 bytes for shape (3,) float32, got 0'],
  ['truncated header (inside header text)', () => valid23().subarray(0, 40), 'truncated header: expected 118 header bytes, got 30'],
  ['truncated header (inside magic)', () => Uint8Array.from([0x93, 0x4e, 0x55]), 'truncated header: expected at least 10 bytes, got 3'],
  ['truncated header (inside length field)', () => valid23().subarray(0, 9), 'truncated header: expected at least 10 bytes, got 9'],
  ['empty file', () => new Uint8Array(0), 'truncated header'],
  ['bad magic', () => enc("xNUMPY\x01\x00v\x00{'descr': '<f8'}"), "not a .npy file: expected magic '\\x93NUMPY', got 'xNUMPY'"],
  ['bad magic: a zip archive', () => Uint8Array.from([0x50, 0x4b, 3, 4, 0, 0, 0, 0, 0, 0]), "got 'PK\\x03\\x04\\x00\\x00' (a zip archive, such as an .npz)"],
  ['bad magic: text', () => enc('hello world, not numpy'), 'not a .npy file'],
  ['unsupported version 4.0', () => npyBytes(dict('<f8', '(1,)'), f8([1]), { version: [4, 0] }), 'unsupported version: expected 1.0, 2.0 or 3.0, got 4.0'],
  ['unsupported version 1.1', () => npyBytes(dict('<f8', '(1,)'), f8([1]), { version: [1, 1] }), 'got 1.1'],
  ['unsupported version 0.0', () => npyBytes(dict('<f8', '(1,)'), f8([1]), { version: [0, 0] }), 'got 0.0'],
  [
    'header length over the cap (v1)',
    () => npyBytes(dict('<f8', '(1,)'), f8([1]), { headerLen: 65535 }),
    `header too long: expected at most ${MAX_HEADER_LEN} bytes, got 65535`,
  ],
  [
    'header length over the cap (v2, 4 GiB)',
    () => npyBytes(dict('<f8', '(1,)'), f8([1]), { version: [2, 0], headerLen: 0xffffffff }),
    'header too long: expected at most 10000 bytes, got 4294967295',
  ],
  ['header not a dict (list)', () => npyBytes('[1, 2, 3]'), "header is not a dict: expected '{'"],
  ['header not a dict (string)', () => npyBytes("'descr'"), 'header is not a dict'],
  ['header not a dict (leading space)', () => npyBytes(` ${dict('<f8', '()')}`, f8([1])), 'header is not a dict'],
  ['header without final newline', () => npyBytes(`${dict('<f8', '()')}   `, f8([1]), { align: 0 }), "bad header: expected a final newline, got ' '"],
  ['empty header', () => npyBytes('', new Uint8Array(0), { align: 0 }), 'got an empty header'],
  ['text after the dict', () => npyBytes(`${dict('<f8', '()')} 1`, f8([1])), 'expected only spaces after the header literal'],
  ['two dicts', () => npyBytes(dict('<f8', '()') + dict('<f8', '()'), f8([1])), 'expected only spaces after the header literal'],
  ['extra key', () => npyBytes("{'descr': '<f8', 'fortran_order': False, 'shape': (1,), 'extra': 1, }", f8([1])), "unexpected header key 'extra'"],
  ['missing key', () => npyBytes("{'descr': '<f8', 'fortran_order': False, }", f8([1])), "missing header key 'shape'"],
  ['duplicate key', () => npyBytes("{'descr': '<f8', 'descr': '<f4', 'fortran_order': False, 'shape': (1,), }", f8([1])), "duplicate header key 'descr'"],
  ['non-string key', () => npyBytes("{1: '<f8', 'fortran_order': False, 'shape': (1,), }", f8([1])), 'bad header key: expected a string, got 1'],
  ['object dtype |O', () => npyBytes(dict('|O', '(2,)'), new Uint8Array(16)), "object arrays (pickles) are refused: expected a numeric descr, got '|O'"],
  ['object dtype O', () => npyBytes(dict('O', '(2,)'), new Uint8Array(16)), 'object arrays (pickles) are refused'],
  ['object dtype <O8', () => npyBytes(dict('<O8', '(2,)'), new Uint8Array(16)), 'object arrays (pickles) are refused'],
  [
    'structured dtype',
    () => npyBytes("{'descr': [('a', '<f8'), ('b', '<i4')], 'fortran_order': False, 'shape': (2,), }", new Uint8Array(24)),
    'structured dtypes are refused',
  ],
  [
    'structured dtype with object field',
    () => npyBytes("{'descr': [('a', '|O')], 'fortran_order': False, 'shape': (1,), }", new Uint8Array(8)),
    'structured dtypes are refused',
  ],
  ['unknown descr complex', () => npyBytes(dict('<c16', '(1,)'), new Uint8Array(16)), 'unsupported descr: expected one of <f8 >f8 <f4 >f4 |b1'],
  ['unknown descr float16', () => npyBytes(dict('<f2', '(1,)'), new Uint8Array(2)), "got '<f2'"],
  ['unknown descr native order', () => npyBytes(dict('=f8', '(1,)'), f8([1])), "got '=f8'"],
  ['unknown descr bytes', () => npyBytes(dict('|S3', '()'), enc('abc')), "got '|S3'"],
  ['unknown descr datetime', () => npyBytes(dict('<M8[s]', '(1,)'), new Uint8Array(8)), "got '<M8[s]'"],
  ['descr not a string', () => npyBytes("{'descr': 8, 'fortran_order': False, 'shape': (1,), }", f8([1])), 'descr: expected a string, got 8'],
  ['negative dimension', () => npyBytes(dict('<f8', '(-1, 3)'), new Uint8Array(0)), 'shape: negative dimension: expected >= 0, got -1 at index 0'],
  [
    'non-integer dimension (float)',
    () => npyBytes(dict('<f8', '(2.5,)'), new Uint8Array(0)),
    'shape: expected non-negative integer dimensions, got 2.5 at index 0',
  ],
  [
    'non-integer dimension (string)',
    () => npyBytes(dict('<f8', "(2, '3')"), new Uint8Array(0)),
    "shape: expected non-negative integer dimensions, got '3' at index 1",
  ],
  ['non-integer dimension (bool)', () => npyBytes(dict('<f8', '(True,)'), f8([1])), 'got True at index 0'],
  ['dimension beyond 2**53', () => npyBytes(dict('<f8', '(9007199254740993,)'), new Uint8Array(0)), 'shape: dimension too large'],
  ['shape not a tuple (list)', () => npyBytes(dict('<f8', '[3]'), f8([1, 2, 3])), 'shape: expected a tuple of non-negative integers, got list [3]'],
  [
    'shape not a tuple (parenthesized int)',
    () => npyBytes(dict('<f8', '(3)'), f8([1, 2, 3])),
    'shape: expected a tuple of non-negative integers, got integer 3',
  ],
  [
    'too many dimensions',
    () =>
      npyBytes(
        dict(
          '<f8',
          `(${Array(MAX_NDIM + 1)
            .fill('1')
            .join(', ')})`,
        ),
        f8([1]),
      ),
    `shape: expected at most ${MAX_NDIM} dimensions, got 65`,
  ],
  [
    'huge shape (1e9, 1e9)',
    () => npyBytes(dict('<f8', '(1000000000, 1000000000)')),
    `data too large: expected at most ${DEFAULT_MAX_BYTES} bytes (maxBytes; raise it with --max-bytes), got 8000000000000000000 for shape (1000000000, 1000000000) float64`,
  ],
  ['huge shape over 2**64 bytes', () => npyBytes(dict('<f8', `(${Array(8).fill('9007199254740991').join(', ')})`)), 'data too large'],
  [
    'trailing bytes',
    () => concat(valid23(), Uint8Array.from([0, 0, 0])),
    'trailing bytes after data: expected 48 bytes for shape (2, 3) float64, got 51 (3 extra)',
  ],
  ['fortran_order not a bool (int)', () => npyBytes(dict('<f8', '(1,)', '0'), f8([1])), 'fortran_order: expected True or False, got 0'],
  ['fortran_order not a bool (string)', () => npyBytes(dict('<f8', '(1,)', "'False'"), f8([1])), "fortran_order: expected True or False, got 'False'"],
  ['fortran_order lowercase', () => npyBytes(dict('<f8', '(1,)', 'false'), f8([1])), 'bad header: expected a literal'],
  [
    'function call in header (no evaluation)',
    () => npyBytes("{'descr': __import__('os').system('true'), 'fortran_order': False, 'shape': (1,), }", f8([1])),
    'bad header: expected a literal (string, integer, True, False, tuple, list or dict) at offset 10',
  ],
  ['None value', () => npyBytes("{'descr': None, 'fortran_order': False, 'shape': (1,), }", f8([1])), 'bad header: expected a literal'],
  ['arithmetic in shape', () => npyBytes(dict('<f8', '(1+1,)'), f8([1, 2])), "bad header: expected ',' or ')'"],
  [
    'escape sequence in string',
    () => npyBytes("{'descr': '<f\\x38', 'fortran_order': False, 'shape': (1,), }", f8([1])),
    'expected a string without escape sequences',
  ],
  ['unterminated string', () => npyBytes("{'descr': '<f8, 'fortran_order': False, 'shape': (1,), }", f8([1])), "bad header: expected ',' or '}' at offset 17"],
  ['string prefix', () => npyBytes("{'descr': b'<f8', 'fortran_order': False, 'shape': (1,), }", f8([1])), 'bad header: expected a literal'],
  ['Python 2 long literal', () => npyBytes(dict('<f8', '(3L,)'), f8([1, 2, 3])), 'bad header: expected a delimiter after the number'],
  ['leading zero', () => npyBytes(dict('<f8', '(03,)'), f8([1, 2, 3])), 'expected an integer without leading zeros'],
  ['nesting bomb', () => npyBytes(`{'descr': ${'('.repeat(500)}`), 'levels of nesting'],
  [
    'newline inside the header',
    () => npyBytes("{'descr': '<f8',\n'fortran_order': False, 'shape': (1,), }", f8([1])),
    "bad header: expected a literal (string, integer, True, False, tuple, list or dict) at offset 16, got '\\n'fortran_order'...'",
  ],
  [
    'invalid UTF-8 in a 3.0 header',
    () => concat(npyBytes("{'descr': '<f8', 'fortran_order': False, 'shape': (1,), 'x\xff': 1}", f8([1]), { version: [3, 0] })),
    'expected UTF-8 text (version 3.0), got invalid UTF-8',
  ],
  ['bool byte other than 0/1', () => npyBytes(dict('|b1', '(3,)'), Uint8Array.from([0, 1, 2])), 'bad bool element 2: expected 0 or 1, got 2'],
  [
    'string array of rank 1',
    () => npyBytes(dict('<U2', '(2,)'), new Uint8Array(16)),
    "string arrays are not supported: expected a 0-d '<U2' array, got shape (2,)",
  ],
  [
    'string with invalid code point',
    () => npyBytes(dict('<U1', '()'), elemBytes([0x110000], 'u4')),
    'bad string character 0: expected a Unicode scalar value, got 0x110000',
  ],
  ['string with surrogate code point', () => npyBytes(dict('<U1', '()'), elemBytes([0xd800], 'u4')), 'got 0xd800'],
  ['string with fortran_order', () => npyBytes(dict('<U1', '()', 'True'), elemBytes([65], 'u4')), 'fortran_order: expected False for a 0-d string'],
];

describe('readNpy refuses the malformed corpus', () => {
  it.each(corpus)('%s', (_name, build, fragment) => {
    const bytes = build();
    expectFormatError(() => readNpyMember(bytes), fragment);
    expectFormatError(() => readNpy(bytes), fragment);
  });

  it('prefixes messages with the name, in "name: expected X, got Y" form', () => {
    const bytes = npyBytes(dict('<f8', '(10, 10)'), new Uint8Array(120));
    const e = expectFormatError(() => readNpy(bytes, { name: 'x.npy' }), '');
    expect(e.message).toBe('x.npy: truncated data: expected 800 bytes for shape (10, 10) float64, got 120');
  });

  it('refuses a huge shape from the header alone, long before reading (no data present)', () => {
    const bytes = npyBytes(dict('<f8', '(1000000000, 1000000000)'));
    expect(bytes.length).toBe(128);
    expectFormatError(() => readNpy(bytes), 'data too large');
  });

  it('honours maxBytes', () => {
    const bytes = valid23();
    expectFormatError(
      () => readNpy(bytes, { maxBytes: 47, name: 'w.npy' }),
      'w.npy: data too large: expected at most 47 bytes (maxBytes; raise it with --max-bytes), got 48 for shape (2, 3) float64',
    );
    expect(readNpy(bytes, { maxBytes: 48 }).data).toEqual(new Float64Array([1, 2, 3, 4, 5, 6]));
  });

  it('rejects an invalid maxBytes option with a UsageError', () => {
    expect(() => readNpy(valid23(), { maxBytes: -1 })).toThrow(UsageError);
    expect(() => readNpy(valid23(), { maxBytes: 1.5 })).toThrow(UsageError);
  });

  it('readNpy refuses a 0-d string, readNpyMember returns it', () => {
    const bytes = npyBytes(dict('<U2', '()'), elemBytes([104, 105], 'u4'));
    expectFormatError(() => readNpy(bytes, { name: 'meta.npy' }), "meta.npy: expected a numeric array, got a 0-d string '<U2'");
    expect(readNpyMember(bytes)).toEqual({ kind: 'string', dtype: '<U2', shape: [], value: 'hi' });
  });
});

describe('readNpy reads valid files exactly', () => {
  it('little-endian float64, C order', () => {
    const a = readNpy(valid23());
    expect(a).toEqual({ dtype: '<f8', kind: 'float64', shape: [2, 3], fortranOrder: false, data: new Float64Array([1, 2, 3, 4, 5, 6]) });
  });

  it('big-endian float64 and float32, with special values', () => {
    const vals = [Math.PI, -0, Infinity, -Infinity, 5e-324, -1.7976931348623157e308];
    const a = readNpy(npyBytes(dict('>f8', '(6,)'), elemBytes(vals, 'f8', false)));
    expect(a.dtype).toBe('>f8');
    expect(a.data).toBeInstanceOf(Float64Array);
    expect(Array.from(a.data)).toEqual(vals);
    expect(Object.is(a.data[1], -0)).toBe(true);
    const b = readNpy(npyBytes(dict('>f4', '(3,)'), elemBytes([1.5, -2.25, NaN], 'f4', false)));
    expect(b.data).toBeInstanceOf(Float32Array);
    expect(b.kind).toBe('float32');
    expect(Array.from(b.data)).toEqual([1.5, -2.25, NaN]);
    const c = readNpy(npyBytes(dict('<f4', '(2,)'), elemBytes([0.1, 3], 'f4')));
    expect(Array.from(c.data)).toEqual([Math.fround(0.1), 3]);
  });

  it('Fortran order is converted to C order (2-d and 3-d)', () => {
    // C-order matrix [[0,1,2],[3,4,5]] stored column-major: 0,3,1,4,2,5.
    const a = readNpy(npyBytes(dict('<f8', '(2, 3)', 'True'), f8([0, 3, 1, 4, 2, 5])));
    expect(a.fortranOrder).toBe(true);
    expect(Array.from(a.data)).toEqual([0, 1, 2, 3, 4, 5]);
    // 3-d: element (i,j,k) has value 100i+10j+k; Fortran storage lets i vary fastest.
    const shape = [2, 3, 4];
    const fortran: number[] = [];
    for (let k = 0; k < 4; k++) for (let j = 0; j < 3; j++) for (let i = 0; i < 2; i++) fortran.push(100 * i + 10 * j + k);
    const b = readNpy(npyBytes(dict('>f4', '(2, 3, 4)', 'True'), elemBytes(fortran, 'f4', false)));
    const c: number[] = [];
    for (let i = 0; i < 2; i++) for (let j = 0; j < 3; j++) for (let k = 0; k < 4; k++) c.push(100 * i + 10 * j + k);
    expect(b.shape).toEqual(shape);
    expect(b.data).toBeInstanceOf(Float32Array);
    expect(Array.from(b.data)).toEqual(c);
  });

  it('integers and bools become float64', () => {
    const cases: Array<[string, string, number[], boolean, string]> = [
      ['|i1', 'i1', [-128, 0, 127], true, '|i1'],
      ['<i1', 'i1', [-5, 6], true, '|i1'],
      ['|u1', 'u1', [0, 255], true, '|u1'],
      ['<i2', 'i2', [-32768, 32767], true, '<i2'],
      ['>i2', 'i2', [-2, 300], false, '>i2'],
      ['<u2', 'u2', [65535, 1], true, '<u2'],
      ['>u2', 'u2', [65535, 256], false, '>u2'],
      ['<i4', 'i4', [-2147483648, 2147483647], true, '<i4'],
      ['>i4', 'i4', [-7, 123456789], false, '>i4'],
      ['<u4', 'u4', [4294967295, 0], true, '<u4'],
      ['>u4', 'u4', [4294967295, 7], false, '>u4'],
      ['<i8', 'i8', [-9007199254740991, 9007199254740991, -1], true, '<i8'],
      ['>i8', 'i8', [-3, 2 ** 40], false, '>i8'],
      ['<u8', 'u8', [2 ** 53, 12], true, '<u8'],
      ['>u8', 'u8', [2 ** 52 + 1, 0], false, '>u8'],
      ['|b1', 'b1', [1, 0, 1, 1], true, '|b1'],
    ];
    for (const [descr, kind, vals, le, norm] of cases) {
      const a = readNpy(npyBytes(dict(descr, `(${vals.length},)`), elemBytes(vals, kind, le)));
      expect(a.dtype, descr).toBe(norm);
      expect(a.kind, descr).toBe(kind === 'b1' ? 'bool' : 'int');
      expect(a.data, descr).toBeInstanceOf(Float64Array);
      expect(Array.from(a.data), descr).toEqual(vals);
    }
  });

  it('int64 beyond 2**53 rounds to the nearest double', () => {
    const raw = new Uint8Array(8);
    new DataView(raw.buffer).setBigInt64(0, 2n ** 62n + 1n, true);
    expect(readNpy(npyBytes(dict('<i8', '(1,)'), raw)).data[0]).toBe(2 ** 62);
  });

  it('0-d and zero-size arrays', () => {
    const s = readNpy(npyBytes(dict('<f8', '()'), f8([42])));
    expect(s.shape).toEqual([]);
    expect(Array.from(s.data)).toEqual([42]);
    const z = readNpy(npyBytes(dict('<f4', '(0, 3)')));
    expect(z.shape).toEqual([0, 3]);
    expect(z.data).toBeInstanceOf(Float32Array);
    expect(z.data.length).toBe(0);
    // A zero-size array with a huge other dimension is 0 bytes, not "too large".
    const z2 = readNpy(npyBytes(dict('<f8', '(0, 1000000000000)', 'True')));
    expect(z2.data.length).toBe(0);
  });

  it('versions 2.0 and 3.0, unaligned (16-byte) headers and legal header variations', () => {
    const want = new Float64Array([1, 2, 3]);
    const data = f8([1, 2, 3]);
    expect(readNpy(npyBytes(dict('<f8', '(3,)'), data, { version: [2, 0] })).data).toEqual(want);
    expect(readNpy(npyBytes(dict('<f8', '(3,)'), data, { version: [3, 0], utf8: true })).data).toEqual(want);
    expect(readNpyHeader(npyBytes(dict('<f8', '(3,)'), data, { version: [3, 0] })).version).toBe('3.0');
    expect(readNpy(npyBytes(dict('<f8', '(3,)'), data, { align: 16 })).data).toEqual(want);
    const variants = [
      '{"descr": "<f8", "fortran_order": False, "shape": (3,)}',
      "{'shape': (3,), 'descr': '<f8', 'fortran_order': False}",
      "{'descr':'<f8','fortran_order':False,'shape':(3,)}",
      "{ 'descr' : '<f8' ,\t'fortran_order': False, 'shape': ( 3 , ) , }",
      "{'descr': '<f8', 'fortran_order': False, 'shape': ((3,)), }",
    ];
    for (const v of variants) expect(readNpy(npyBytes(v, data)).data, v).toEqual(want);
  });

  it('reads from a Buffer view with a non-zero byteOffset', () => {
    const bytes = valid23();
    const big = Buffer.alloc(bytes.length + 13);
    big.set(bytes, 13);
    const view = big.subarray(13);
    expect(view.byteOffset).toBeGreaterThan(0);
    expect(readNpy(view).data).toEqual(new Float64Array([1, 2, 3, 4, 5, 6]));
    // Also an odd offset with float32 and a big-endian int.
    const odd = new Uint8Array(1 + 200);
    const f4 = npyBytes(dict('<f4', '(2,)'), elemBytes([0.5, 8], 'f4'));
    odd.set(f4, 1);
    expect(Array.from(readNpy(odd.subarray(1, 1 + f4.length)).data)).toEqual([0.5, 8]);
  });

  it('0-d unicode strings, both byte orders, with trailing NUL padding removed', () => {
    const text = 'héllo 😀 {"a": [1]}';
    const cps = Array.from(text, (c) => c.codePointAt(0)!);
    const le = readNpyMember(npyBytes(dict(`<U${cps.length + 2}`, '()'), elemBytes([...cps, 0, 0], 'u4')));
    expect(le).toEqual({ kind: 'string', dtype: `<U${cps.length + 2}`, shape: [], value: text });
    const be = readNpyMember(npyBytes(dict(`>U${cps.length}`, '()'), elemBytes(cps, 'u4', false)));
    expect(be).toMatchObject({ kind: 'string', value: text });
    const empty = readNpyMember(npyBytes(dict('<U1', '()'), new Uint8Array(4)));
    expect(empty).toMatchObject({ kind: 'string', value: '' });
  });

  it('readNpyHeader describes the file without decoding data', () => {
    const h = readNpyHeader(npyBytes(dict('>i2', '(4, 5)', 'True'), new Uint8Array(40)));
    expect(h).toMatchObject({ version: '1.0', dtype: '>i2', fortranOrder: true, shape: [4, 5], dataOffset: 128, count: 20, dataBytes: 40 });
    expect(h.info?.name).toBe('int16');
  });
});

describe('parseHeaderLiteral', () => {
  it('parses the literal forms numpy headers use', () => {
    expect(parseHeaderLiteral("{'a': (1, 2), 'b': (), 'c': (3,), 'd': [True, False], \"e\": -4}")).toEqual({
      t: 'dict',
      entries: [
        [
          { t: 'str', v: 'a' },
          {
            t: 'tuple',
            items: [
              { t: 'int', v: 1n },
              { t: 'int', v: 2n },
            ],
          },
        ],
        [
          { t: 'str', v: 'b' },
          { t: 'tuple', items: [] },
        ],
        [
          { t: 'str', v: 'c' },
          { t: 'tuple', items: [{ t: 'int', v: 3n }] },
        ],
        [
          { t: 'str', v: 'd' },
          {
            t: 'list',
            items: [
              { t: 'bool', v: true },
              { t: 'bool', v: false },
            ],
          },
        ],
        [
          { t: 'str', v: 'e' },
          { t: 'int', v: -4n },
        ],
      ],
    });
  });

  it('keeps big integers exact', () => {
    expect(parseHeaderLiteral('123456789012345678901234567890')).toEqual({ t: 'int', v: 123456789012345678901234567890n });
  });

  it.each([
    ['(1,,)', 'expected a literal (string, integer, True, False, tuple, list or dict) at offset 3'],
    ['(,)', 'expected a literal'],
    ['{1: 2 3}', "expected ',' or '}'"],
    ['1e', 'expected an exponent'],
    ['-', 'expected a digit'],
    ['"abc', 'expected closing "'],
    ['True False', 'only spaces after'],
    ['lambda: 0', 'expected a literal'],
  ])('refuses %s', (text, fragment) => {
    expectFormatError(() => parseHeaderLiteral(text), fragment);
  });
});

describe('dtypeDisplayName: dtypes named as everywhere else in cnn-check', () => {
  it('numpy names, the byte order only when big-endian, strings by length', async () => {
    const { dtypeDisplayName } = await import('../../src/npy/format.js');
    expect(['<f8', '<f4', '>f8', '|u1', '<u1', '<i8', '>i2', '|b1', '<U52', '>U1', 'json', '|O'].map(dtypeDisplayName)).toEqual([
      'float64',
      'float32',
      'float64, big-endian',
      'uint8',
      'uint8',
      'int64',
      'int16, big-endian',
      'bool',
      'str, 52 chars',
      'str, 1 char',
      'json',
      '|O',
    ]);
  });
});
