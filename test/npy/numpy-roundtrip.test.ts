/**
 * Interoperability with real numpy: files we write are loaded by `np.load`, files numpy
 * writes are read by us, values compared exactly. Skipped (with a printed reason) when
 * `python3 -c "import numpy"` fails.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FormatError } from '../../src/errors.js';
import { readNpy, readNpyMember, readNpz, writeNpy, writeNpyString, writeNpz, type NpyArray, type NpyString } from '../../src/npy/index.js';

function numpyAvailable(): { ok: boolean; reason: string } {
  const r = spawnSync('python3', ['-c', 'import numpy; print(numpy.__version__)'], { encoding: 'utf8' });
  if (r.error) return { ok: false, reason: `python3 could not be run: ${r.error.message}` };
  if (r.status !== 0) return { ok: false, reason: `python3 -c "import numpy" failed: ${(r.stderr || '').trim().split('\n').pop()}` };
  return { ok: true, reason: `numpy ${r.stdout.trim()}` };
}

const avail = numpyAvailable();
if (!avail.ok) console.log(`skipping numpy round-trip tests: ${avail.reason}`);

let dir = '';

/** Runs a python script in the temp dir; returns stdout; fails the test on error. */
function py(script: string): string {
  const r = spawnSync('python3', ['-c', `import numpy as np, json, sys\n${script}`], { cwd: dir, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`python failed (${r.status}): ${r.stderr}`);
  return r.stdout;
}

const hexOf = (a: Float64Array | Float32Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString('hex');

/** 0, 1/7, 2/7, ... as both sides compute them (IEEE division is exact-rounded in both). */
const sevenths = (n: number) => Float64Array.from({ length: n }, (_, i) => i / 7);

describe.skipIf(!avail.ok)(`numpy round trips (${avail.reason})`, { timeout: 60_000 }, () => {
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'cnn-check-npy-'));
  }, 60_000);
  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  describe('TS -> numpy', () => {
    it('np.load reads writeNpy output with the right dtype, shape and bit-exact values', () => {
      const special = [NaN, -0, Infinity, -Infinity, 5e-324, Math.PI, -1 / 3, 1e300, 2 ** -1074, 123456789.125, 0.1, 42];
      const d64 = Float64Array.from(special);
      const d32 = Float32Array.from(special);
      writeFileSync(join(dir, 'a64.npy'), writeNpy({ data: d64, shape: [3, 4] }));
      writeFileSync(join(dir, 'a32.npy'), writeNpy({ data: d32, shape: [2, 2, 3] }));
      writeFileSync(join(dir, 'scalar.npy'), writeNpy({ data: new Float64Array([2.5]), shape: [] }));
      writeFileSync(join(dir, 'empty.npy'), writeNpy({ data: new Float32Array(0), shape: [0, 5] }));
      const out = JSON.parse(
        py(`
res = {}
for n in ['a64', 'a32', 'scalar', 'empty']:
    a = np.load(n + '.npy', allow_pickle=False)
    res[n] = [a.dtype.str, list(a.shape), a.tobytes().hex(), bool(a.flags.c_contiguous)]
print(json.dumps(res))`),
      );
      expect(out.a64).toEqual(['<f8', [3, 4], hexOf(d64), true]);
      expect(out.a32).toEqual(['<f4', [2, 2, 3], hexOf(d32), true]);
      expect(out.scalar).toEqual(['<f8', [], hexOf(new Float64Array([2.5])), true]);
      expect(out.empty).toEqual(['<f4', [0, 5], '', true]);
    });

    it('writeNpy output is byte-identical to np.save for the same arrays', () => {
      const cases: Array<[string, number[], 'f8' | 'f4']> = [
        ['s1', [2, 3], 'f8'],
        ['s2', [7], 'f4'],
        ['s3', [], 'f8'],
        ['s4', [0], 'f8'],
        ['s5', [1234567, 0], 'f4'],
        ['s6', [1, 2, 1, 2, 1, 2, 1, 2, 1, 2, 1, 2, 1], 'f8'],
      ];
      py(
        cases
          .map(
            ([name, shape, t]) =>
              `np.save('${name}_np.npy', (np.arange(${shape.reduce((a, b) => a * b, 1)}) / 7).astype('<${t}').reshape(${JSON.stringify(shape)}))`,
          )
          .join('\n'),
      );
      for (const [name, shape, t] of cases) {
        const v = sevenths(shape.reduce((a, b) => a * b, 1));
        const data = t === 'f4' ? Float32Array.from(v) : v;
        expect(Buffer.from(writeNpy({ data, shape })).equals(readFileSync(join(dir, `${name}_np.npy`))), name).toBe(true);
      }
    });

    it('np.load reads writeNpyString as a 0-d <U array equal to the string', () => {
      const s = JSON.stringify({ layer: 'conv2d', note: 'ünï 😀 "quoted"' });
      writeFileSync(join(dir, 'str.npy'), writeNpyString(s));
      writeFileSync(join(dir, 'empty_str.npy'), writeNpyString(''));
      const out = JSON.parse(
        py(`
a = np.load('str.npy'); e = np.load('empty_str.npy')
print(json.dumps([a.dtype.str, list(a.shape), str(a), e.dtype.str, str(e)]))`),
      );
      expect(out).toEqual([`<U${Array.from(s).length}`, [], s, '<U1', '']);
      // np.save of the same Python str gives the same bytes.
      py(`np.save('str_np.npy', np.array(${JSON.stringify(s)}))`);
      expect(Buffer.from(writeNpyString(s)).equals(readFileSync(join(dir, 'str_np.npy')))).toBe(true);
    });

    it.each([false, true])('np.load reads writeNpz output (compress=%s), including a JSON meta string', (compress) => {
      const meta = JSON.stringify({ seed: 7, layers: ['conv', 'bn'], note: 'µ-test ✓' });
      const w = Float32Array.from(sevenths(24));
      const b = sevenths(4);
      const file = `out_${compress}.npz`;
      writeFileSync(join(dir, file), writeNpz({ w: { data: w, shape: [2, 3, 4] }, b: { data: b, shape: [4] }, meta }, { compress }));
      const out = JSON.parse(
        py(`
z = np.load('${file}', allow_pickle=False)
print(json.dumps({k: [z[k].dtype.str, list(z[k].shape), z[k].tobytes().hex() if z[k].dtype.kind == 'f' else str(z[k])] for k in z.files} | {'files': z.files, 'meta': json.loads(str(z['meta']))}))`),
      );
      expect(out.files).toEqual(['w', 'b', 'meta']);
      expect(out.w).toEqual(['<f4', [2, 3, 4], hexOf(w)]);
      expect(out.b).toEqual(['<f8', [4], hexOf(b)]);
      expect(out.meta).toEqual(JSON.parse(meta));
    });
  });

  describe('numpy -> TS', () => {
    beforeAll(() => {
      py(`
from numpy.lib import format as fmt
a = (np.arange(24) / 7).reshape(2, 3, 4)
np.save('f8.npy', a)
np.save('f4.npy', a.astype('<f4'))
np.save('be_f8.npy', a.astype('>f8'))
np.save('be_f4.npy', a.astype('>f4'))
np.save('fortran.npy', np.asfortranarray(a))
np.save('fortran_be_f4.npy', np.asfortranarray(a.astype('>f4')))
for v in [(1, 0), (2, 0), (3, 0)]:
    with open('v%d.npy' % v[0], 'wb') as f:
        fmt.write_array(f, a, version=v)
np.save('i4.npy', (np.arange(-12, 12, dtype='<i4') * 1000003).reshape(4, 6))
np.save('be_i2.npy', np.array([-32768, -1, 0, 1, 32767], dtype='>i2'))
np.save('u1.npy', np.array([0, 7, 255], dtype=np.uint8))
np.save('i8.npy', np.array([-(2**53) + 1, 2**53 - 1, -5], dtype=np.int64))
np.save('u8.npy', np.array([2**64 - 1, 3], dtype=np.uint64))
np.save('bool.npy', np.array([[True, False, True], [False, False, True]]))
np.save('scalar.npy', np.float64(-2.5))
np.save('zero_size.npy', np.zeros((3, 0), dtype='f4'))
np.save('obj.npy', np.array([{'a': 1}, None], dtype=object), allow_pickle=True)
np.save('be_str.npy', np.array('héllo 😀', dtype='>U9'))
meta = json.dumps({'layer': 'conv2d', 'stride': [1, 2], 'note': 'ünïcödé 😀'})
np.savez('plain.npz', w=a, b=a[0, 0, 1].astype('f4'), meta=meta)
np.savez_compressed('compressed.npz', w=a, b=a[0, 0, 1].astype('f4'), meta=meta)
np.savez('positional.npz', a, a.astype('f4'))
big = (np.arange(300000) % 1013).astype('<f4') / 7
np.savez_compressed('big.npz', big=big)
print(meta)
`);
    }, 60_000);

    const file = (name: string) => readFileSync(join(dir, name));
    const c24 = sevenths(24);

    it('float64 / float32, little- and big-endian, C and Fortran order', () => {
      for (const name of ['f8.npy', 'be_f8.npy', 'fortran.npy']) {
        const a = readNpy(file(name), { name });
        expect(a.kind, name).toBe('float64');
        expect(a.shape, name).toEqual([2, 3, 4]);
        expect(hexOf(a.data), name).toBe(hexOf(c24));
      }
      for (const name of ['f4.npy', 'be_f4.npy', 'fortran_be_f4.npy']) {
        const a = readNpy(file(name), { name });
        expect(a.kind, name).toBe('float32');
        expect(a.data, name).toBeInstanceOf(Float32Array);
        expect(hexOf(a.data), name).toBe(hexOf(Float32Array.from(c24)));
      }
      expect(readNpy(file('be_f8.npy')).dtype).toBe('>f8');
      expect(readNpy(file('fortran.npy')).fortranOrder).toBe(true);
      expect(readNpy(file('fortran_be_f4.npy'))).toMatchObject({ dtype: '>f4', fortranOrder: true });
    });

    it('format versions 1.0, 2.0 and 3.0', () => {
      for (const v of [1, 2, 3]) {
        const bytes = file(`v${v}.npy`);
        expect(bytes[6]).toBe(v);
        expect(hexOf(readNpy(bytes).data)).toBe(hexOf(c24));
      }
    });

    it('integers and bools, converted to float64 exactly', () => {
      const i4 = readNpy(file('i4.npy'));
      expect(i4).toMatchObject({ dtype: '<i4', kind: 'int', shape: [4, 6] });
      expect(Array.from(i4.data)).toEqual(Array.from({ length: 24 }, (_, i) => (i - 12) * 1000003));
      expect(Array.from(readNpy(file('be_i2.npy')).data)).toEqual([-32768, -1, 0, 1, 32767]);
      expect(readNpy(file('u1.npy'))).toMatchObject({ dtype: '|u1', data: new Float64Array([0, 7, 255]) });
      expect(Array.from(readNpy(file('i8.npy')).data)).toEqual([-(2 ** 53) + 1, 2 ** 53 - 1, -5]);
      expect(Array.from(readNpy(file('u8.npy')).data)).toEqual([2 ** 64, 3]);
      expect(readNpy(file('bool.npy'))).toMatchObject({ dtype: '|b1', kind: 'bool', shape: [2, 3], data: new Float64Array([1, 0, 1, 0, 0, 1]) });
    });

    it('0-d and zero-size arrays', () => {
      expect(readNpy(file('scalar.npy'))).toMatchObject({ shape: [], data: new Float64Array([-2.5]) });
      expect(readNpy(file('zero_size.npy'))).toMatchObject({ shape: [3, 0], kind: 'float32' });
    });

    it('object arrays (pickles) are refused', () => {
      expect(() => readNpy(file('obj.npy'), { name: 'obj.npy' })).toThrow(FormatError);
      expect(() => readNpy(file('obj.npy'), { name: 'obj.npy' })).toThrow("obj.npy: object arrays (pickles) are refused: expected a numeric descr, got '|O'");
    });

    it('0-d unicode strings, including big-endian >U', () => {
      expect(readNpyMember(file('be_str.npy'))).toEqual({ kind: 'string', dtype: '>U9', shape: [], value: 'héllo 😀' });
    });

    it.each(['plain.npz', 'compressed.npz'])('np.savez / np.savez_compressed archives (%s)', (name) => {
      const z = readNpz(file(name), { name });
      expect([...z.keys()]).toEqual(['w', 'b', 'meta']);
      const w = z.get('w') as NpyArray;
      expect(w.shape).toEqual([2, 3, 4]);
      expect(hexOf(w.data)).toBe(hexOf(c24));
      expect(z.get('b')).toMatchObject({ dtype: '<f4', shape: [], data: new Float32Array([1 / 7]) });
      const meta = z.get('meta') as NpyString;
      expect(meta.kind).toBe('string');
      expect(JSON.parse(meta.value)).toEqual({ layer: 'conv2d', stride: [1, 2], note: 'ünïcödé 😀' });
    });

    it('numpy writes ZIP64 local headers (force_zip64) and we read them', () => {
      const bytes = file('plain.npz');
      const dv = new DataView(bytes.buffer, bytes.byteOffset);
      expect(dv.getUint32(0, true)).toBe(0x04034b50);
      // The ZIP64 extra is always there (numpy opens members with force_zip64); the 32-bit size field
      // says 0xffffffff (the size is only in the extra: Python 3.11.7's zipfile) or the size itself (3.11.2's
      // seeks back and fills both in). Either way the member must read.
      expect(dv.getUint16(30 + dv.getUint16(26, true), true)).toBe(0x0001); // ZIP64 extra id
      const compressed = dv.getUint32(18, true);
      const extraCompressed = Number(dv.getBigUint64(30 + dv.getUint16(26, true) + 4 + 8, true));
      expect([0xffffffff, extraCompressed]).toContain(compressed);
      expect(readNpz(bytes).size).toBe(3);
    });

    it('positional np.savez members (arr_0, arr_1) and a large multi-chunk compressed member', () => {
      const p = readNpz(file('positional.npz'));
      expect([...p.keys()]).toEqual(['arr_0', 'arr_1']);
      expect((p.get('arr_1') as NpyArray).kind).toBe('float32');
      const big = readNpz(file('big.npz')).get('big') as NpyArray;
      expect(big.shape).toEqual([300000]);
      const want = Float32Array.from({ length: 300000 }, (_, i) => Math.fround(i % 1013) / 7);
      expect(hexOf(big.data)).toBe(hexOf(want));
    });

    it('what we write, numpy reads and re-saves, and we read back identically', () => {
      const data = Float64Array.from({ length: 60 }, (_, i) => Math.sin(i) * 1e3);
      writeFileSync(join(dir, 'cycle_in.npz'), writeNpz({ x: { data, shape: [3, 4, 5] }, meta: '{"k": "v"}' }, { compress: true }));
      py(`
z = np.load('cycle_in.npz')
np.savez_compressed('cycle_out.npz', x=np.asfortranarray(z['x']).astype('>f8'), meta=z['meta'])`);
      const back = readNpz(file('cycle_out.npz'));
      expect(back.get('x')).toMatchObject({ dtype: '>f8', shape: [3, 4, 5] });
      expect(hexOf((back.get('x') as NpyArray).data)).toBe(hexOf(data));
      expect((back.get('meta') as NpyString).value).toBe('{"k": "v"}');
    });
  });
});
