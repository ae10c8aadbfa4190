/**
 * NumpyRng and linspace against values produced by numpy and committed in
 * numpy-draws.json (regenerate with `python3 test/tensor/make-numpy-draws.py`).
 * The contract is bit-identical output, so every comparison is Object.is.
 *
 * The one documented exception: numpy's legacy Gaussian calls the C library's
 * log(), which glibc rounds incorrectly for ~0.07% of arguments, while NumpyRng
 * uses a correctly rounded log. The generator script lists those draws
 * ("libm_dependent") together with the value numpy would give with a correctly
 * rounded log; NumpyRng must equal that value exactly.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { NumpyRng, accurateLog } from '../../src/tensor/numpy-rng.js';
import { linspace, randWith, randnWith } from '../../src/tensor/init.js';

type Num = number | string;
interface Dependent {
  index: number;
  numpy: Num;
  correctly_rounded_log: Num;
}
interface Draws {
  seeds: {
    seed: number;
    uint32_first: number[];
    randn_first: Num[];
    randn_first_libm_dependent: Dependent[];
    rand_first: Num[];
    randn_shape: { shape: number[]; data: Num[] };
    rand_shape: { shape: number[]; data: Num[] };
  }[];
  array_seeds: { key: number[]; rand_then_randn: Num[] }[];
  long_streams: { seed: number; randn: Num[]; libm_dependent: Dependent[] }[];
  interleaved: { seed: number; steps: { op: string; value?: Num }[] }[];
  linspace: { lo: Num; hi: Num; shape: number[]; note: string; data: Num[] }[];
  log_reference: { x: Num; log: Num }[];
}

const draws: Draws = JSON.parse(readFileSync(new URL('./numpy-draws.json', import.meta.url), 'utf8'));

/** JSON has no NaN, Infinity or -0: the generator writes those as strings. */
function dec(v: Num): number {
  if (typeof v === 'number') return v;
  switch (v) {
    case 'NaN':
      return NaN;
    case 'Infinity':
      return Infinity;
    case '-Infinity':
      return -Infinity;
    case '-0':
      return -0;
    default:
      throw new Error(`unexpected encoded number ${v}`);
  }
}

/** Distance in units in the last place between two finite doubles of the same sign. */
function ulps(a: number, b: number): number {
  const dv = new DataView(new ArrayBuffer(16));
  dv.setFloat64(0, a);
  dv.setFloat64(8, b);
  const d = dv.getBigInt64(0) - dv.getBigInt64(8);
  return Number(d < 0n ? -d : d);
}

/** Every element bit-identical; reports the first differing index. */
function expectBitIdentical(actual: ArrayLike<number>, expected: readonly Num[], what: string): void {
  expect(actual.length, `${what}: length`).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) {
    const want = dec(expected[i]);
    if (!Object.is(actual[i], want)) {
      expect.fail(`${what}[${i}]: got ${actual[i]}, numpy ${want}`);
    }
  }
}

/** randn draws against numpy, allowing only the listed libm-dependent draws to differ. */
function expectRandnStream(actual: number[], numpy: readonly Num[], dependent: Dependent[], what: string): void {
  const expected = numpy.map(dec);
  for (const d of dependent) {
    expect(dec(d.numpy), `${what}: libm-dependent entry matches the stream`).toBe(expected[d.index]);
    const cr = dec(d.correctly_rounded_log);
    expect(Object.is(actual[d.index], cr), `${what}[${d.index}]: equals numpy with a correctly rounded log`).toBe(true);
    expect(ulps(actual[d.index], expected[d.index]), `${what}[${d.index}]: within 4 ulps of numpy`).toBeLessThanOrEqual(4);
    expected[d.index] = cr;
  }
  expectBitIdentical(actual, expected, what);
}

describe('NumpyRng seeding and raw MT19937 output', () => {
  for (const s of draws.seeds) {
    it(`np.random.seed(${s.seed}) then randint(0, 2**32, dtype=uint32)`, () => {
      const rng = new NumpyRng(s.seed);
      const got = s.uint32_first.map(() => rng.nextUint32());
      expect(got).toEqual(s.uint32_first);
    });
  }

  for (const a of draws.array_seeds) {
    it(`np.random.seed(${JSON.stringify(a.key)}) (init_by_array): rand(10), randn(10)`, () => {
      const rng = NumpyRng.fromArray(a.key);
      const got = [...randWith(rng, [10]).data, ...randnWith(rng, [10]).data];
      expectBitIdentical(got, a.rand_then_randn, `seed ${JSON.stringify(a.key)}`);
    });
  }

  it('rejects seeds numpy rejects', () => {
    expect(() => new NumpyRng(-1)).toThrow(RangeError);
    expect(() => new NumpyRng(2 ** 32)).toThrow(RangeError);
    expect(() => new NumpyRng(1.5)).toThrow(RangeError);
    expect(() => NumpyRng.fromArray([])).toThrow(RangeError);
    expect(() => NumpyRng.fromArray([1, -2])).toThrow(RangeError);
  });
});

describe('NumpyRng draws match numpy bit for bit', () => {
  for (const s of draws.seeds) {
    it(`seed ${s.seed}: first 50 randn()`, () => {
      const rng = new NumpyRng(s.seed);
      const got = s.randn_first.map(() => rng.randn());
      expectRandnStream(got, s.randn_first, s.randn_first_libm_dependent, `seed ${s.seed} randn`);
    });

    it(`seed ${s.seed}: first 50 rand()`, () => {
      const rng = new NumpyRng(s.seed);
      expectBitIdentical(
        s.rand_first.map(() => rng.rand()),
        s.rand_first,
        `seed ${s.seed} rand`,
      );
    });

    it(`seed ${s.seed}: randn(2, 3, 4, 5) and rand(2, 3, 4, 5)`, () => {
      const t = randnWith(new NumpyRng(s.seed), s.randn_shape.shape);
      expect(t.shape).toEqual([2, 3, 4, 5]);
      expect(t.data).toBeInstanceOf(Float64Array);
      expectBitIdentical(t.data, s.randn_shape.data, `seed ${s.seed} randn(2,3,4,5)`);
      const u = randWith(new NumpyRng(s.seed), s.rand_shape.shape);
      expect(u.shape).toEqual([2, 3, 4, 5]);
      expectBitIdentical(u.data, s.rand_shape.data, `seed ${s.seed} rand(2,3,4,5)`);
    });
  }

  for (const ls of draws.long_streams) {
    it(`seed ${ls.seed}: ${ls.randn.length} randn() draws, ${ls.libm_dependent.length} of them libm-dependent`, () => {
      const rng = new NumpyRng(ls.seed);
      const got = ls.randn.map(() => rng.randn());
      expectRandnStream(got, ls.randn, ls.libm_dependent, `seed ${ls.seed} long randn`);
    });
  }

  for (const seq of draws.interleaved) {
    it(`seed ${seq.seed}: interleaved ${seq.steps.map((s) => s.op).join(', ')}`, () => {
      let rng = new NumpyRng(seq.seed);
      seq.steps.forEach((step, i) => {
        if (step.op.startsWith('seed:')) {
          rng = new NumpyRng(Number(step.op.slice(5)));
          return;
        }
        const got = step.op === 'rand' ? rng.rand() : rng.randn();
        expect(Object.is(got, dec(step.value!)), `step ${i} (${step.op}): got ${got}, numpy ${dec(step.value!)}`).toBe(true);
      });
    });
  }
});

describe('linspace matches np.linspace(lo, hi, num=prod(shape)).reshape(shape)', () => {
  for (const c of draws.linspace) {
    it(`${c.note}: linspace(${c.lo}, ${c.hi}, [${c.shape.join(', ')}])`, () => {
      const t = linspace(dec(c.lo), dec(c.hi), c.shape);
      expect(t.shape).toEqual(c.shape);
      expect(t.data).toBeInstanceOf(Float64Array);
      expectBitIdentical(t.data, c.data, 'linspace');
    });
  }

  it('rejects negative or fractional dimensions', () => {
    expect(() => linspace(0, 1, [2, -1])).toThrow(RangeError);
    expect(() => linspace(0, 1, [2.5])).toThrow(RangeError);
  });
});

describe('accurateLog', () => {
  it('is correctly rounded on the committed reference arguments', () => {
    for (const { x, log } of draws.log_reference) {
      const got = accurateLog(dec(x));
      if (!Object.is(got, dec(log))) expect.fail(`log(${dec(x)}): got ${got}, correctly rounded ${dec(log)}`);
    }
  });

  it('handles the special values like the C library', () => {
    expect(accurateLog(1)).toBe(0);
    expect(Object.is(accurateLog(1), 0)).toBe(true);
    expect(accurateLog(0)).toBe(-Infinity);
    expect(accurateLog(-0)).toBe(-Infinity);
    expect(accurateLog(Infinity)).toBe(Infinity);
    expect(accurateLog(-1)).toBeNaN();
    expect(accurateLog(NaN)).toBeNaN();
    expect(accurateLog(2)).toBe(Math.LN2);
  });
});
