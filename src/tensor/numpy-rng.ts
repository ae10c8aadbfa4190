/**
 * numpy's legacy global generator (`np.random.seed`, `np.random.rand`,
 * `np.random.randn`, i.e. `RandomState`), reproduced draw for draw so that the
 * random inputs of a cs231n notebook can be rebuilt in TypeScript.
 *
 * - `np.random.seed(int)` seeds MT19937 with the reference `init_genrand`
 *   (numpy's `mt19937_seed`); `init_by_array` is used by numpy only when the
 *   seed is a sequence (`np.random.seed([1, 2, 3])`), see `NumpyRng.fromArray`.
 *   Both reset the cached Gaussian, as `seed()` does.
 * - `rand()` / `random_sample()`: `(a >>> 5) * 2^26 + (b >>> 6)` over 2^53 from two
 *   consecutive 32-bit outputs.
 * - `randn()`: the polar Box-Muller method of numpy's `legacy_gauss`, returning
 *   `f * x2` and caching `f * x1` for the next call.
 *
 * Everything except the logarithm is exact integer or correctly rounded IEEE
 * arithmetic, so it matches numpy bit for bit. The exception: `legacy_gauss`
 * calls the C library's `log`, which is not correctly rounded. V8's `Math.log`
 * disagrees with glibc's on about 3% of draws, so `accurateLog` below is used
 * instead: it is correctly rounded, and glibc's `log` returns the correctly
 * rounded value for all but ~0.07% of the arguments met here (measured on
 * glibc 2.36, x86-64). A Gaussian pair whose `log(r2)` glibc misrounds differs
 * from numpy by 1-3 ulps; about 1 draw in 2800 on Linux. Uniform draws
 * (`uniform`, `nextUint32`) are always identical.
 */
import type { Rng } from './rng.js';

const N = 624;
const M = 397;
const MATRIX_A = 0x9908b0df;
const UPPER_MASK = 0x80000000;
const LOWER_MASK = 0x7fffffff;

/** numpy's legacy `RandomState` stream (MT19937 + legacy double + legacy Gaussian). */
export class NumpyRng implements Rng {
  private readonly mt = new Uint32Array(N);
  private pos = N;
  private hasGauss = false;
  private gauss = 0;

  /** Same state as `np.random.seed(seed)` with an integer 0 <= seed <= 2**32 - 1. */
  constructor(seed: number) {
    if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) {
      throw new RangeError(`seed must be an integer between 0 and 2**32 - 1, got ${seed}`);
    }
    this.initGenrand(seed);
  }

  /** Same state as `np.random.seed(key)` with a non-empty 1-d sequence of 32-bit unsigned ints. */
  static fromArray(key: readonly number[]): NumpyRng {
    if (key.length === 0) throw new RangeError('seed array must be non-empty');
    for (const k of key) {
      if (!Number.isInteger(k) || k < 0 || k > 0xffffffff) {
        throw new RangeError(`seed array entries must be integers between 0 and 2**32 - 1, got ${k}`);
      }
    }
    const rng = new NumpyRng(0);
    rng.initByArray(key);
    return rng;
  }

  private initGenrand(seed: number): void {
    const mt = this.mt;
    mt[0] = seed >>> 0;
    for (let i = 1; i < N; i++) {
      const prev = mt[i - 1];
      mt[i] = (Math.imul(1812433253, (prev ^ (prev >>> 30)) >>> 0) + i) >>> 0;
    }
    this.pos = N;
    this.hasGauss = false;
    this.gauss = 0;
  }

  private initByArray(key: readonly number[]): void {
    const mt = this.mt;
    this.initGenrand(19650218);
    let i = 1;
    let j = 0;
    for (let k = Math.max(N, key.length); k > 0; k--) {
      const prev = mt[i - 1];
      const mixed = Math.imul((prev ^ (prev >>> 30)) >>> 0, 1664525) >>> 0;
      mt[i] = (((mt[i] ^ mixed) >>> 0) + (key[j] >>> 0) + j) >>> 0;
      i++;
      j++;
      if (i >= N) {
        mt[0] = mt[N - 1];
        i = 1;
      }
      if (j >= key.length) j = 0;
    }
    for (let k = N - 1; k > 0; k--) {
      const prev = mt[i - 1];
      const mixed = Math.imul((prev ^ (prev >>> 30)) >>> 0, 1566083941) >>> 0;
      mt[i] = (((mt[i] ^ mixed) >>> 0) - i) >>> 0;
      i++;
      if (i >= N) {
        mt[0] = mt[N - 1];
        i = 1;
      }
    }
    mt[0] = UPPER_MASK;
    this.pos = N;
    this.hasGauss = false;
    this.gauss = 0;
  }

  private twist(): void {
    const mt = this.mt;
    let kk = 0;
    for (; kk < N - M; kk++) {
      const y = (mt[kk] & UPPER_MASK) | (mt[kk + 1] & LOWER_MASK);
      mt[kk] = mt[kk + M] ^ (y >>> 1) ^ (y & 1 ? MATRIX_A : 0);
    }
    for (; kk < N - 1; kk++) {
      const y = (mt[kk] & UPPER_MASK) | (mt[kk + 1] & LOWER_MASK);
      mt[kk] = mt[kk + (M - N)] ^ (y >>> 1) ^ (y & 1 ? MATRIX_A : 0);
    }
    const y = (mt[N - 1] & UPPER_MASK) | (mt[0] & LOWER_MASK);
    mt[N - 1] = mt[M - 1] ^ (y >>> 1) ^ (y & 1 ? MATRIX_A : 0);
    this.pos = 0;
  }

  /** The next raw 32-bit output (numpy's `mt19937_next32`), as an unsigned number. */
  nextUint32(): number {
    if (this.pos >= N) this.twist();
    let y = this.mt[this.pos++];
    y ^= y >>> 11;
    y ^= (y << 7) & 0x9d2c5680;
    y ^= (y << 15) & 0xefc60000;
    y ^= y >>> 18;
    return y >>> 0;
  }

  /** `np.random.rand()` / `np.random.random_sample()`: uniform in [0, 1) with 53 bits. */
  uniform(): number {
    const a = this.nextUint32() >>> 5;
    const b = this.nextUint32() >>> 6;
    return (a * 67108864 + b) / 9007199254740992;
  }

  /** Alias of `uniform()` under numpy's name. */
  rand(): number {
    return this.uniform();
  }

  /**
   * `np.random.randint(high)`: numpy's legacy bounded draw for a range within 32 bits, masked
   * rejection (a 32-bit output ANDed with the smallest all-ones mask covering high - 1, drawn
   * again while above it).
   */
  randint(high: number): number {
    const rng = high - 1;
    if (rng <= 0) return 0;
    let mask = rng;
    mask |= mask >>> 1;
    mask |= mask >>> 2;
    mask |= mask >>> 4;
    mask |= mask >>> 8;
    mask |= mask >>> 16;
    mask >>>= 0;
    for (;;) {
      const v = (this.nextUint32() & mask) >>> 0;
      if (v <= rng) return v;
    }
  }

  /** `np.random.randn()`: numpy's legacy polar Box-Muller Gaussian. */
  randn(): number {
    if (this.hasGauss) {
      const cached = this.gauss;
      this.hasGauss = false;
      this.gauss = 0;
      return cached;
    }
    let x1: number;
    let x2: number;
    let r2: number;
    do {
      x1 = 2 * this.uniform() - 1;
      x2 = 2 * this.uniform() - 1;
      r2 = x1 * x1 + x2 * x2;
    } while (r2 >= 1 || r2 === 0);
    const f = Math.sqrt((-2 * accurateLog(r2)) / r2);
    this.gauss = f * x1;
    this.hasGauss = true;
    return f * x2;
  }
}

// ---------------------------------------------------------------------------
// Natural logarithm, correctly rounded in all but astronomically rare cases.
//
// `legacy_gauss` evaluates the C library's `log`. V8's `Math.log` (an fdlibm
// port, error < 1 ulp) rounds differently from glibc's (error < 0.52 ulp) on
// about 3% of the arguments seen in a randn stream, so it cannot be used. This
// version evaluates log in double-double arithmetic (about 100 correct bits)
// and rounds once at the end: it returns the correctly rounded result, which is
// what glibc returns except on the rare arguments where glibc itself misrounds.
// ---------------------------------------------------------------------------

const SPLITTER = 134217729; // 2^27 + 1, Veltkamp split constant
// biome-ignore lint/suspicious/noApproximativeNumericConstant: the high part of a two-double ln 2, written out beside its low parts
const LN2_HI = 0.6931471805599453;
const LN2_LO = 2.3190468138462996e-17;
const LN2_LO2 = 5.707708438416212e-34;
const MIN_NORMAL = 2.2250738585072014e-308;

// Results of the double-double helpers below (avoids allocating pairs).
let ddH = 0;
let ddL = 0;

/** ddH + ddL = a * b exactly (Dekker). */
function twoProd(a: number, b: number): void {
  const p = a * b;
  let t = SPLITTER * a;
  const ah = t - (t - a);
  const al = a - ah;
  t = SPLITTER * b;
  const bh = t - (t - b);
  const bl = b - bh;
  ddH = p;
  ddL = ah * bh - p + ah * bl + al * bh + al * bl;
}

/** ddH + ddL = a + b exactly (Knuth). */
function twoSum(a: number, b: number): void {
  const s = a + b;
  const bb = s - a;
  ddH = s;
  ddL = a - (s - bb) + (b - bb);
}

/** (ddH, ddL) = (ah, al) + (bh, bl), accurate double-double addition. */
function ddAdd(ah: number, al: number, bh: number, bl: number): void {
  twoSum(ah, bh);
  const sh = ddH;
  let sl = ddL;
  twoSum(al, bl);
  const th = ddH;
  const tl = ddL;
  sl += th;
  const h = sh + sl;
  sl = sl - (h - sh);
  sl += tl;
  const hh = h + sl;
  ddL = sl - (hh - h);
  ddH = hh;
}

/** (ddH, ddL) = (ah, al) * (bh, bl). */
function ddMul(ah: number, al: number, bh: number, bl: number): void {
  twoProd(ah, bh);
  const ph = ddH;
  const pl = ddL + (ah * bl + al * bh);
  const h = ph + pl;
  ddL = pl - (h - ph);
  ddH = h;
}

/** (ddH, ddL) = (ah, al) / (bh, bl), three-step long division. */
function ddDiv(ah: number, al: number, bh: number, bl: number): void {
  const q1 = ah / bh;
  ddMul(q1, 0, bh, bl);
  ddAdd(ah, al, -ddH, -ddL);
  let rh = ddH;
  let rl = ddL;
  const q2 = rh / bh;
  ddMul(q2, 0, bh, bl);
  ddAdd(rh, rl, -ddH, -ddL);
  rh = ddH;
  rl = ddL;
  const q3 = rh / bh;
  twoSum(q1, q2);
  ddAdd(ddH, ddL, q3, 0);
}

/** Double-double 1/(2n+1) for the atanh series, n = 0..DD_TERMS-1. */
const DD_TERMS = 10;
const SERIES_TERMS = 22;
const INV_ODD_HI = new Float64Array(DD_TERMS);
const INV_ODD_LO = new Float64Array(DD_TERMS);
for (let n = 0; n < DD_TERMS; n++) {
  const d = 2 * n + 1;
  const hi = 1 / d;
  twoProd(hi, d);
  INV_ODD_HI[n] = hi;
  INV_ODD_LO[n] = (1 - ddH - ddL) / d;
}

const scratch = new DataView(new ArrayBuffer(8));

/**
 * Natural logarithm rounded to nearest from a ~2^-100 accurate double-double
 * evaluation: x = 2^k m with m in [sqrt(1/2), sqrt(2)],
 * log(m) = 2 atanh(s) with s = (m - 1) / (m + 1), |s| < 0.172.
 */
export function accurateLog(x: number): number {
  if (Number.isNaN(x) || x < 0) return NaN;
  if (x === 0) return -Infinity;
  if (x === Infinity) return Infinity;
  if (x === 1) return 0;
  let k = 0;
  if (x < MIN_NORMAL) {
    x *= 18014398509481984; // 2^54
    k = -54;
  }
  scratch.setFloat64(0, x);
  const hiWord = scratch.getUint32(0);
  k += ((hiWord >>> 20) & 0x7ff) - 1023;
  scratch.setUint32(0, (hiWord & 0x000fffff) | 0x3ff00000);
  let m = scratch.getFloat64(0);
  if (m > Math.SQRT2) {
    m *= 0.5;
    k += 1;
  }
  const f = m - 1; // exact: m is within a factor 2 of 1
  twoSum(2, f);
  ddDiv(f, 0, ddH, ddL);
  const sh = ddH;
  const sl = ddL;
  ddMul(sh, sl, sh, sl);
  const s2h = ddH;
  const s2l = ddL;
  // Terms n >= DD_TERMS are below 2^-50 relative: plain doubles suffice.
  let tail = 0;
  for (let n = SERIES_TERMS - 1; n >= DD_TERMS; n--) tail = tail * s2h + 1 / (2 * n + 1);
  let acch = tail;
  let accl = 0;
  for (let n = DD_TERMS - 1; n >= 0; n--) {
    ddMul(acch, accl, s2h, s2l);
    ddAdd(ddH, ddL, INV_ODD_HI[n], INV_ODD_LO[n]);
    acch = ddH;
    accl = ddL;
  }
  ddMul(sh, sl, acch, accl);
  const yh = 2 * ddH;
  const yl = 2 * ddL;
  if (k === 0) return yh + yl;
  twoProd(k, LN2_HI);
  const kh = ddH;
  const kl = ddL + (k * LN2_LO + k * LN2_LO2);
  ddAdd(kh, kl, yh, yl);
  return ddH + ddL;
}
