import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FormatError } from '../../src/errors.js';
import { readNpy, readNpyMember, readNpz, writeNpy, writeNpyString, writeNpz, type NpyMember } from '../../src/npy/index.js';
import { dict, elemBytes, npyBytes } from './helpers.js';

/** Valid files to mutate: every code path of the reader is reachable from one of them. */
const bases: Array<[string, Uint8Array]> = [
  ['f8 (2, 3)', writeNpy({ data: new Float64Array([1, 2, 3, 4, 5, 6]), shape: [2, 3] })],
  ['f4 (4,)', writeNpy({ data: new Float32Array([1, -2, 3.5, 0]), shape: [4] })],
  ['f8 0-d', writeNpy({ data: new Float64Array([7]), shape: [] })],
  ['>f4 fortran (2, 2, 2)', npyBytes(dict('>f4', '(2, 2, 2)', 'True'), elemBytes([0, 1, 2, 3, 4, 5, 6, 7], 'f4', false))],
  ['<i2 (3,)', npyBytes(dict('<i2', '(3,)'), elemBytes([-1, 0, 1], 'i2'))],
  ['>u8 (2,)', npyBytes(dict('>u8', '(2,)'), elemBytes([1, 2], 'u8', false))],
  ['|b1 (2, 2)', npyBytes(dict('|b1', '(2, 2)'), elemBytes([1, 0, 0, 1], 'b1'))],
  ['v2 f8 (1,)', npyBytes(dict('<f8', '(1,)'), elemBytes([1], 'f8'), { version: [2, 0] })],
  ['v3 f8 (1,)', npyBytes(dict('<f8', '(1,)'), elemBytes([1], 'f8'), { version: [3, 0], utf8: true })],
  ['<U3 0-d', writeNpyString('abc')],
];

type Mutation =
  | { op: 'flip'; pos: number; bit: number }
  | { op: 'set'; pos: number; value: number }
  | { op: 'insert'; pos: number; bytes: Uint8Array }
  | { op: 'delete'; pos: number; len: number }
  | { op: 'truncate'; len: number }
  | { op: 'append'; bytes: Uint8Array };

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ op: fc.constant('flip' as const), pos: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
  fc.record({
    op: fc.constant('set' as const),
    pos: fc.nat(),
    value: fc.constantFrom(0, 1, 0x20, 0x27, 0x28, 0x29, 0x2c, 0x2d, 0x30, 0x39, 0x0a, 0x7b, 0x7d, 0x80, 0xff),
  }),
  fc.record({ op: fc.constant('insert' as const), pos: fc.nat(), bytes: fc.uint8Array({ minLength: 1, maxLength: 8 }) }),
  fc.record({ op: fc.constant('delete' as const), pos: fc.nat(), len: fc.integer({ min: 1, max: 16 }) }),
  fc.record({ op: fc.constant('truncate' as const), len: fc.nat() }),
  fc.record({ op: fc.constant('append' as const), bytes: fc.uint8Array({ minLength: 1, maxLength: 8 }) }),
);

function apply(bytes: Uint8Array, muts: Mutation[]): Uint8Array {
  let b = bytes.slice();
  for (const m of muts) {
    const at = (p: number) => (b.length === 0 ? 0 : p % (b.length + 1));
    switch (m.op) {
      case 'flip':
        if (b.length) b[m.pos % b.length] ^= 1 << m.bit;
        break;
      case 'set':
        if (b.length) b[m.pos % b.length] = m.value;
        break;
      case 'insert': {
        const p = at(m.pos);
        const n = new Uint8Array(b.length + m.bytes.length);
        n.set(b.subarray(0, p));
        n.set(m.bytes, p);
        n.set(b.subarray(p), p + m.bytes.length);
        b = n;
        break;
      }
      case 'delete': {
        const p = at(m.pos);
        const n = new Uint8Array(b.length - Math.min(m.len, b.length - p));
        n.set(b.subarray(0, p));
        n.set(b.subarray(p + m.len), p);
        b = n;
        break;
      }
      case 'truncate':
        b = b.slice(0, m.len % (b.length + 1));
        break;
      case 'append': {
        const n = new Uint8Array(b.length + m.bytes.length);
        n.set(b);
        n.set(m.bytes, b.length);
        b = n;
        break;
      }
    }
  }
  return b;
}

/** The reader's contract: a consistent result or a FormatError, nothing else. */
function checkMember(m: NpyMember): void {
  if (m.kind === 'string') {
    expect(m.shape).toEqual([]);
    expect(typeof m.value).toBe('string');
    return;
  }
  let n = 1;
  for (const d of m.shape) {
    expect(Number.isSafeInteger(d) && d >= 0).toBe(true);
    n *= d;
  }
  expect(m.data.length).toBe(n);
  expect(m.data instanceof Float32Array).toBe(m.kind === 'float32');
}

function readsOrFormatError(fn: () => NpyMember | Map<string, NpyMember>): 'ok' | 'refused' {
  try {
    const r = fn();
    if (r instanceof Map) for (const m of r.values()) checkMember(m);
    else checkMember(r);
    return 'ok';
  } catch (err) {
    if (!(err instanceof FormatError)) throw err;
    expect(err.message).not.toContain('\n');
    return 'refused';
  }
}

const base = fc.constantFrom(...bases);

describe('property: mutated .npy bytes give a consistent array or a FormatError', () => {
  it('byte-level mutations (flip, set, insert, delete, truncate, append)', () => {
    const seen = { ok: 0, refused: 0 };
    fc.assert(
      fc.property(base, fc.array(mutation, { minLength: 1, maxLength: 4 }), ([, bytes], muts) => {
        const mutated = apply(bytes, muts);
        seen[readsOrFormatError(() => readNpyMember(mutated))]++;
        readsOrFormatError(() => readNpy(mutated));
      }),
      { numRuns: 3000 },
    );
    // Both outcomes occur, so the property is not vacuous.
    expect(seen.ok).toBeGreaterThan(0);
    expect(seen.refused).toBeGreaterThan(0);
  });

  const tokens = [
    "'",
    '"',
    '(',
    ')',
    '[',
    ']',
    '{',
    '}',
    ',',
    ':',
    ' ',
    '\t',
    '\n',
    '\\',
    '-',
    '.',
    'e',
    'L',
    '0',
    '1',
    '3',
    '9',
    '10',
    '99999999999999999999',
    'True',
    'False',
    'None',
    'O',
    '|O',
    '<f8',
    '>f4',
    '<U',
    '|b1',
    '<i8',
    "'descr'",
    "'shape'",
    "'fortran_order'",
    '()',
    '(2,)',
    '(2, 3)',
    '\x93',
    'é',
    '\u2028',
  ];
  const tokenText = fc.array(fc.constantFrom(...tokens), { maxLength: 12 }).map((a) => a.join(''));

  it('random header edits (re-framed with a consistent length field)', () => {
    const seen = { ok: 0, refused: 0 };
    fc.assert(
      fc.property(base, fc.nat(), fc.nat(), tokenText, fc.boolean(), ([, bytes], i, j, repl, pad) => {
        const major = bytes[6];
        const start = major === 1 ? 10 : 12;
        const len = major === 1 ? bytes[8] | (bytes[9] << 8) : new DataView(bytes.buffer).getUint32(8, true);
        const header = String.fromCharCode(...bytes.subarray(start, start + len)).trimEnd();
        const a = i % (header.length + 1);
        const b2 = a + (j % (header.length + 1 - a));
        const edited = header.slice(0, a) + repl + header.slice(b2);
        const data = bytes.subarray(start + len);
        const rebuilt = npyBytes(edited, data, { version: [major, 0], align: pad ? 64 : 0, utf8: major === 3 });
        seen[readsOrFormatError(() => readNpyMember(rebuilt))]++;
      }),
      { numRuns: 3000 },
    );
    expect(seen.ok).toBeGreaterThan(0);
    expect(seen.refused).toBeGreaterThan(0);
  });

  it('random header dicts built from tokens', () => {
    fc.assert(
      fc.property(tokenText, fc.uint8Array({ maxLength: 64 }), (body, data) => {
        readsOrFormatError(() => readNpyMember(npyBytes(`{${body}}`, data)));
      }),
      { numRuns: 2000 },
    );
  });
});

describe('property: valid arrays round-trip exactly', () => {
  it('writeNpy -> readNpy preserves shape, dtype and every bit', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 4 }), { maxLength: 4 }),
        fc.boolean(),
        fc.array(fc.double(), { minLength: 256, maxLength: 256 }),
        (shape, f32, pool) => {
          const n = shape.reduce((x, y) => x * y, 1);
          const values = pool.slice(0, n);
          const data = f32 ? Float32Array.from(values) : Float64Array.from(values);
          const got = readNpy(writeNpy({ data, shape }));
          expect(got.shape).toEqual(shape);
          expect(got.dtype).toBe(f32 ? '<f4' : '<f8');
          expect(new Uint8Array(got.data.buffer, got.data.byteOffset, got.data.byteLength)).toEqual(new Uint8Array(data.buffer));
        },
      ),
      { numRuns: 300 },
    );
  });

  it('writeNpyString -> readNpyMember preserves any well-formed string without trailing NULs', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 40 }), (s) => {
        const trimmed = s.replace(/\0+$/, '');
        expect(readNpyMember(writeNpyString(trimmed))).toMatchObject({ kind: 'string', value: trimmed });
      }),
      { numRuns: 300 },
    );
  });
});

describe('property: mutated .npz bytes give consistent members or a FormatError', () => {
  const npzBases = [
    writeNpz({ w: { data: new Float64Array([1, 2, 3, 4]), shape: [2, 2] }, meta: '{"a": 1}' }),
    writeNpz({ w: { data: new Float32Array(64).fill(0.5), shape: [8, 8] }, b: { data: new Float64Array([1]), shape: [] } }, { compress: true }),
  ];
  it('byte-level mutations', () => {
    const seen = { ok: 0, refused: 0 };
    fc.assert(
      fc.property(fc.constantFrom(...npzBases), fc.array(mutation, { minLength: 1, maxLength: 3 }), (bytes, muts) => {
        const mutated = apply(bytes, muts);
        seen[readsOrFormatError(() => readNpz(mutated))]++;
      }),
      { numRuns: 2000 },
    );
    expect(seen.ok).toBeGreaterThan(0);
    expect(seen.refused).toBeGreaterThan(0);
  });
});
