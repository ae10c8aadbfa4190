import { deflateSync, unzipSync } from 'fflate';
import { describe, expect, it } from 'vitest';
import { FormatError, UsageError } from '../../src/errors.js';
import { DEFAULT_MAX_BYTES, INFLATE_CHUNK, listNpz, readNpz, writeNpy, writeNpyString, writeNpz } from '../../src/npy/index.js';
import { crc32 as npzCrc32, crc32Table } from '../../src/npy/npz.js';
import type { NpyArray, NpyString } from '../../src/npy/index.js';
import { buildZip, concat, crc32, dict, enc, npyBytes, zerosDeflate, type ZipMember } from './helpers.js';

function expectFormatError(fn: () => unknown, fragment: string): FormatError {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  expect(caught, `expected a FormatError containing ${JSON.stringify(fragment)}`).toBeInstanceOf(FormatError);
  const e = caught as FormatError;
  expect(e.message).toContain(fragment);
  expect(e.message).not.toContain('\n');
  return e;
}

const w = () => writeNpy({ data: new Float64Array([1, 2, 3, 4, 5, 6]), shape: [2, 3] });
const b = () => writeNpy({ data: new Float32Array([0.5, -1]), shape: [2] });
const stored = (name: string, payload: Uint8Array, extra: Partial<ZipMember> = {}): ZipMember => ({ name, payload, ...extra });

/** Offsets of the central-directory entries of a zip (classic EOCD only). */
function centralOffsets(zip: Uint8Array): number[] {
  const dv = new DataView(zip.buffer, zip.byteOffset, zip.byteLength);
  const e = zip.length - 22;
  const n = dv.getUint16(e + 10, true);
  let p = dv.getUint32(e + 16, true);
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    out.push(p);
    p += 46 + dv.getUint16(p + 28, true) + dv.getUint16(p + 30, true) + dv.getUint16(p + 32, true);
  }
  return out;
}

function patch32(zip: Uint8Array, offset: number, value: number): Uint8Array {
  const copy = zip.slice();
  new DataView(copy.buffer).setUint32(offset, value, true);
  return copy;
}

/** A member that inflates to `n` zeros, declaring `declared` bytes. */
const zeroBomb = (name: string, n: number, declared = n, payload = zerosDeflate(n)): ZipMember => ({ name, payload, method: 8, size: declared, crc: 0 });

const MiB = 2 ** 20;
const bomb200 = zerosDeflate(200_000_000);

const corpus: Array<[string, () => Uint8Array, string, { maxBytes?: number }?]> = [
  [
    'not a zip: text',
    () => enc('this is not a zip archive, just some text'),
    'not a zip archive: expected an .npz (zip) file, got no end-of-central-directory record',
  ],
  ['not a zip: empty', () => new Uint8Array(0), 'not a zip archive: expected an .npz (zip) file, got 0 bytes'],
  ['not a zip: a .npy file', () => w(), 'not a zip archive: expected an .npz (zip) file, got a .npy file'],
  ['not a zip: truncated archive', () => writeNpz({ w: { data: new Float64Array(3), shape: [3] } }).subarray(0, 100), 'no end-of-central-directory record'],
  [
    'member not .npy',
    () => buildZip([stored('w.npy', w()), stored('notes.txt', enc('hi'))]),
    "notes.txt: expected a member name ending in '.npy', got 'notes.txt'",
  ],
  ['member is a directory', () => buildZip([stored('dir/', new Uint8Array(0))]), "expected a member name ending in '.npy', got 'dir/'"],
  ['member named just .npy', () => buildZip([stored('.npy', w())]), "got '.npy'"],
  ['duplicate member names', () => buildZip([stored('w.npy', w()), stored('w.npy', b())]), "w.npy: duplicate member name 'w.npy'"],
  [
    'decompression bomb: 200 MB of zeros, maxBytes 100 MiB',
    () => buildZip([zeroBomb('x.npy', 200_000_000, 200_000_000, bomb200)]),
    `x.npy: declared uncompressed size too large: expected at most ${100 * MiB} bytes (maxBytes; raise it with --max-bytes) in total, got 200000000`,
    { maxBytes: 100 * MiB },
  ],
  [
    'decompression bomb: 6 x 200 MB over the default 1 GiB',
    () => buildZip(['a', 'b', 'c', 'd', 'e', 'f'].map((k) => zeroBomb(`${k}.npy`, 200_000_000, 200_000_000, bomb200))),
    `f.npy: declared uncompressed size too large: expected at most ${DEFAULT_MAX_BYTES} bytes (maxBytes; raise it with --max-bytes) in total, got 1200000000`,
  ],
  [
    'decompression bomb with a garbage payload (proves nothing is inflated first)',
    () => buildZip([zeroBomb('x.npy', 0, 2 ** 31, new Uint8Array(1000).fill(0xff))]),
    'declared uncompressed size too large',
  ],
  [
    'lying header: declares 1000 bytes for a 1.2 MB payload',
    () => buildZip([zeroBomb('x.npy', 200_000_000, 1000, bomb200)]),
    'x.npy: compressed size: expected at most 2025 bytes for the declared 1000 bytes, got',
  ],
  [
    'lying header: declares 2 MB, inflates to 200 MB',
    () => buildZip([zeroBomb('x.npy', 200_000_000, 2_000_000, bomb200)]),
    'x.npy: inflated size: expected the declared 2000000 bytes, got more (lying zip header)',
  ],
  [
    'lying header: declares more than it inflates to',
    () => buildZip([zeroBomb('x.npy', 5000, 6000)]),
    'x.npy: inflated size: expected the declared 6000 bytes, got 5000',
  ],
  ['CRC mismatch', () => buildZip([stored('w.npy', w(), { crc: 12345 })]), 'w.npy: CRC-32 mismatch: expected 0x00003039, got 0x'],
  [
    'corrupt deflate data',
    () => buildZip([{ name: 'w.npy', payload: Uint8Array.from([0xff, 0xff, 0xff, 0xff]), method: 8, size: 176 }]),
    'w.npy: corrupt deflate data: expected a valid DEFLATE stream',
  ],
  [
    'truncated deflate data',
    () => buildZip([{ name: 'w.npy', payload: zerosDeflate(100000).subarray(0, 100), method: 8, size: 100000 }]),
    'corrupt deflate data',
  ],
  ['encrypted member', () => buildZip([stored('w.npy', w(), { flags: 1 })]), 'w.npy: encrypted members are not supported'],
  [
    'unsupported compression method',
    () => buildZip([stored('w.npy', w(), { method: 12 })]),
    'unsupported compression method: expected 0 (stored) or 8 (deflate), got 12',
  ],
  [
    'stored member with different sizes',
    () => buildZip([stored('w.npy', w(), { size: 10 })]),
    'stored member: expected equal sizes, got 176 compressed and 10 uncompressed',
  ],
  [
    'local header name differs',
    () => buildZip([stored('w.npy', w(), { localName: 'v.npy' })]),
    'local header: expected the same name as the central directory',
  ],
  [
    'local header offset past the data',
    () => buildZip([stored('w.npy', w(), { offsetOverride: 150 })]),
    'local header: expected signature 0x04034b50 at offset 150',
  ],
  ['local header offset in the central directory', () => buildZip([stored('w.npy', w(), { offsetOverride: 200 })]), 'local header: expected it before offset'],
  [
    'member data runs into the central directory',
    () => {
      const z = buildZip([stored('w.npy', w())]);
      const c = centralOffsets(z)[0];
      return patch32(patch32(z, c + 20, 5000), c + 24, 5000);
    },
    'w.npy: truncated member data: expected 5000 bytes',
  ],
  [
    'overlapping members',
    () => {
      const z = buildZip([{ name: 'a.npy', payload: zerosDeflate(10), method: 8 }, stored('b.npy', w())]);
      const c = centralOffsets(z)[0];
      return patch32(z, c + 20, 60); // a's compressed data now covers b's local header
    },
    "b.npy: overlapping members: expected it to start after 'a.npy' ends",
  ],
  ['too many members', () => buildZip([stored('w.npy', w())], { countOverride: 20000 }), 'too many members: expected at most 10000, got 20000'],
  [
    'entry count larger than the directory',
    () => buildZip([stored('w.npy', w())], { countOverride: 3 }),
    'central directory: expected at least 138 bytes for 3 entries',
  ],
  ['data prepended to the archive', () => concat(enc('junk'), buildZip([stored('w.npy', w())])), 'central directory: expected it to end at offset'],
  [
    'multi-disk archive',
    () => {
      const z = buildZip([stored('w.npy', w())]).slice();
      new DataView(z.buffer).setUint16(z.length - 22 + 4, 1, true); // EOCD "number of this disk"
      return z;
    },
    'multi-disk zip archives are not supported',
  ],
  [
    'bad member contents (truncated .npy)',
    () => buildZip([stored('w.npy', w().subarray(0, 150))]),
    'w.npy: truncated data: expected 48 bytes for shape (2, 3) float64, got 22',
  ],
  ['object array member', () => buildZip([stored('o.npy', npyBytes(dict('|O', '(1,)'), new Uint8Array(8)))]), 'o.npy: object arrays (pickles) are refused'],
];

describe('readNpz refuses the malformed corpus', () => {
  it.each(corpus)('%s', (_name, build, fragment, opts) => {
    const bytes = build();
    expectFormatError(() => readNpz(bytes, opts ?? {}), fragment);
  });

  it('refuses bombs without inflating: listNpz alone already fails', () => {
    const bytes = buildZip([zeroBomb('x.npy', 200_000_000, 200_000_000, bomb200)]);
    expect(bytes.length).toBeLessThan(2 * MiB);
    expectFormatError(() => listNpz(bytes, { maxBytes: 100 * MiB, name: 'bomb.npz' }), 'bomb.npz[x.npy]: declared uncompressed size too large');
  });

  it('names the archive and member in messages', () => {
    const bytes = buildZip([stored('w.npy', w().subarray(0, 150))]);
    const e = expectFormatError(() => readNpz(bytes, { name: 'fx.npz' }), '');
    expect(e.message).toBe('fx.npz[w.npy]: truncated data: expected 48 bytes for shape (2, 3) float64, got 22');
    expectFormatError(() => readNpz(enc('nope, not a zip file at all'), { name: 'fx.npz' }), 'fx.npz: not a zip archive');
  });

  it('rejects an invalid maxBytes option with a UsageError', () => {
    expect(() => readNpz(writeNpz({}), { maxBytes: -5 })).toThrow(UsageError);
  });
});

describe('readNpz / writeNpz', () => {
  const members = {
    w: { data: new Float64Array([1, 2, 3, 4, 5, 6]), shape: [2, 3] },
    bias: { data: new Float32Array([0.25, -8]), shape: [2] },
    scalar: { data: new Float64Array([Math.E]), shape: [] },
    meta: JSON.stringify({ layer: 'conv2d', note: 'ünïcödé 😀' }),
  };

  it.each([false, true])('round-trips tensors and strings (compress=%s)', (compress) => {
    const zip = writeNpz(members, { compress });
    const got = readNpz(zip);
    expect([...got.keys()]).toEqual(['w', 'bias', 'scalar', 'meta']);
    expect(got.get('w')).toEqual({ dtype: '<f8', kind: 'float64', shape: [2, 3], fortranOrder: false, data: new Float64Array([1, 2, 3, 4, 5, 6]) });
    expect(got.get('bias')).toEqual({ dtype: '<f4', kind: 'float32', shape: [2], fortranOrder: false, data: new Float32Array([0.25, -8]) });
    expect((got.get('scalar') as NpyArray).data[0]).toBe(Math.E);
    expect(got.get('meta')).toEqual({ kind: 'string', dtype: `<U${Array.from(members.meta).length}`, shape: [], value: members.meta });
    // Independent check of the container with fflate's own reader.
    const raw = unzipSync(zip);
    expect(Object.keys(raw)).toEqual(['w.npy', 'bias.npy', 'scalar.npy', 'meta.npy']);
    expect(raw['meta.npy']).toEqual(writeNpyString(members.meta));
  });

  it('is deterministic, and compression shrinks compressible data', () => {
    const big = { x: { data: new Float64Array(10000), shape: [100, 100] } };
    expect(writeNpz(big)).toEqual(writeNpz(big));
    expect(writeNpz(big, { compress: true }).length).toBeLessThan(writeNpz(big).length / 10);
  });

  it('inflates members larger than one chunk', () => {
    const n = 200_000;
    const data = new Float64Array(n);
    let s = 12345;
    for (let i = 0; i < n; i++) {
      s = (s * 1103515245 + 12345) % 2 ** 31;
      data[i] = s / 2 ** 31;
    }
    const zip = writeNpz({ x: { data, shape: [n] } }, { compress: true });
    expect(zip.length).toBeGreaterThan(4 * INFLATE_CHUNK);
    const got = (readNpz(zip).get('x') as NpyArray).data;
    expect(got).toBeInstanceOf(Float64Array);
    // Compare bytes (vitest's deep equality is slow on 200k elements).
    expect(Buffer.from(got.buffer, got.byteOffset, got.byteLength).equals(Buffer.from(data.buffer))).toBe(true);
  });

  it('listNpz describes members without inflating', () => {
    const zip = writeNpz(members, { compress: true });
    const entries = listNpz(zip);
    expect(entries.map((e) => [e.name, e.key, e.method])).toEqual([
      ['w.npy', 'w', 8],
      ['bias.npy', 'bias', 8],
      ['scalar.npy', 'scalar', 8],
      ['meta.npy', 'meta', 8],
    ]);
    expect(entries[0].size).toBe(128 + 48);
    expect(entries[0].crc32).toBe(crc32(writeNpy(members.w)));
  });

  it('reads ZIP64 structures as Python’s zipfile writes them (force_zip64 local headers, ZIP64 extras and end record)', () => {
    const zip = buildZip(
      [
        stored('w.npy', w(), { zip64Local: true }),
        stored('b.npy', b(), { zip64Local: true, zip64Central: true }),
        stored('meta.npy', writeNpyString('{"a": 1}'), { zip64Local: true }),
        { name: 'd.npy', payload: deflateSync(w()), method: 8, size: w().length, crc: crc32(w()), zip64Local: true, zip64Central: true },
      ],
      { zip64End: true, comment: 'an archive comment' },
    );
    const got = readNpz(zip);
    expect((got.get('w') as NpyArray).data).toEqual(new Float64Array([1, 2, 3, 4, 5, 6]));
    expect((got.get('b') as NpyArray).data).toEqual(new Float32Array([0.5, -1]));
    expect((got.get('meta') as NpyString).value).toBe('{"a": 1}');
    expect((got.get('d') as NpyArray).data).toEqual(new Float64Array([1, 2, 3, 4, 5, 6]));
    expect([...got.keys()]).toEqual(['w', 'b', 'meta', 'd']);
  });

  it('reads from a Buffer view with a non-zero byteOffset', () => {
    const zip = writeNpz(members, { compress: true });
    const backing = Buffer.alloc(zip.length + 7);
    backing.set(zip, 7);
    const got = readNpz(backing.subarray(7));
    expect((got.get('w') as NpyArray).data).toEqual(new Float64Array([1, 2, 3, 4, 5, 6]));
    expect((got.get('meta') as NpyString).value).toBe(members.meta);
  });

  it('an empty archive gives an empty map', () => {
    expect(readNpz(writeNpz({})).size).toBe(0);
  });

  it('refuses keys it cannot write', () => {
    expect(() => writeNpz({ '': 'x' })).toThrow(FormatError);
    expect(() => writeNpz({ 'a\0b': 'x' })).toThrow(FormatError);
  });
});

describe('CRC-32', () => {
  it("zlib's and the table's agree: the check value of '123456789', empty input, and random lengths", () => {
    const check = new TextEncoder().encode('123456789');
    expect(crc32Table(check)).toBe(0xcbf43926);
    expect(npzCrc32(check)).toBe(0xcbf43926);
    expect(npzCrc32(new Uint8Array(0))).toBe(0);
    expect(crc32Table(new Uint8Array(0))).toBe(0);
    let seed = 7;
    for (const n of [1, 3, 255, 4096, 100_003]) {
      const data = new Uint8Array(n).map(() => {
        seed = (seed * 1103515245 + 12345) >>> 0;
        return seed >>> 24;
      });
      expect(npzCrc32(data), `length ${n}`).toBe(crc32Table(data));
      expect(npzCrc32(data)).toBe(crc32(data));
    }
  });
});
