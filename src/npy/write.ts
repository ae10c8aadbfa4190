/**
 * `.npy` writer. Output is byte-for-byte what `np.save` writes for the same array:
 * little-endian `<f8` / `<f4`, C order, version 1.0 unless the header does not fit a
 * 2-byte length (then 2.0), header keys in numpy's order with its trailing comma, numpy's
 * spare "growth" spaces, then space padding so the preamble is a multiple of 64 bytes,
 * ending in `\n`. See `format.ts` for the format.
 */
import { FormatError, ShapeError } from '../errors.js';
import { formatShape } from '../tensor/tensor.js';
import { ARRAY_ALIGN, MAGIC, MAX_NDIM } from './format.js';

/**
 * numpy leaves room after the dict so a writer can later grow the first (C order) or last
 * (Fortran order) dimension in place: it adds `21 - digits(that dimension)` spaces.
 * Reproduced so our files are byte-identical to numpy's.
 */
const GROWTH_DIGITS = 21;

const HOST_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** The header dict text exactly as numpy writes it, without padding. */
export function npyHeaderDict(descr: string, fortranOrder: boolean, shape: readonly number[]): string {
  const dict = `{'descr': '${descr}', 'fortran_order': ${fortranOrder ? 'True' : 'False'}, 'shape': ${formatShape(shape)}, }`;
  if (shape.length === 0) return dict;
  const growDim = shape[fortranOrder ? shape.length - 1 : 0];
  return dict + ' '.repeat(Math.max(0, GROWTH_DIGITS - String(growDim).length));
}

/**
 * The complete preamble (magic, version, length, padded header ending in `\n`) for an
 * array of `descr` and `shape`. Uses version 1.0 when the padded header fits a 2-byte
 * length, else 2.0. Only ASCII descrs are produced here, so 3.0 is never needed.
 */
export function buildNpyPreamble(descr: string, fortranOrder: boolean, shape: readonly number[]): Uint8Array {
  const dict = npyHeaderDict(descr, fortranOrder, shape);
  for (let i = 0; i < dict.length; i++) {
    if (dict.charCodeAt(i) > 0x7e) throw new FormatError(`npy header: expected ASCII, got ${JSON.stringify(dict[i])}`);
  }
  let major = 1;
  let lenBytes = 2;
  // Header bytes = dict + padding + '\n'. numpy pads with 1..64 spaces (never 0).
  let padded = paddedHeaderLength(dict.length, 6 + 2 + lenBytes);
  if (padded > 0xffff) {
    major = 2;
    lenBytes = 4;
    padded = paddedHeaderLength(dict.length, 6 + 2 + lenBytes);
  }
  const fixed = MAGIC.length + 2 + lenBytes;
  const out = new Uint8Array(fixed + padded);
  out.set(MAGIC, 0);
  out[6] = major;
  out[7] = 0;
  const dv = new DataView(out.buffer);
  if (lenBytes === 2) dv.setUint16(8, padded, true);
  else dv.setUint32(8, padded, true);
  for (let i = 0; i < dict.length; i++) out[fixed + i] = dict.charCodeAt(i);
  out.fill(0x20, fixed + dict.length, fixed + padded - 1);
  out[fixed + padded - 1] = 0x0a;
  return out;
}

function paddedHeaderLength(dictLen: number, fixed: number): number {
  const withNewline = dictLen + 1;
  const pad = ARRAY_ALIGN - ((fixed + withNewline) % ARRAY_ALIGN);
  return withNewline + pad;
}

/**
 * Serializes a C-order float tensor as a `.npy` file (`<f8` for Float64Array, `<f4` for
 * Float32Array). Throws ShapeError when `data.length` is not the product of `shape` or a
 * dimension is not a non-negative integer, FormatError for more than MAX_NDIM dimensions
 * or an unsupported data type.
 */
export function writeNpy(t: { data: Float64Array | Float32Array; shape: readonly number[] }): Uint8Array {
  const { data, shape } = t;
  let descr: string;
  if (data instanceof Float64Array) descr = '<f8';
  else if (data instanceof Float32Array) descr = '<f4';
  else throw new FormatError(`writeNpy: expected Float64Array or Float32Array data, got ${Object.prototype.toString.call(data)}`);
  if (!Array.isArray(shape)) throw new ShapeError(`writeNpy: expected shape to be an array, got ${typeof shape}`);
  if (shape.length > MAX_NDIM) throw new FormatError(`writeNpy: expected at most ${MAX_NDIM} dimensions, got ${shape.length}`);
  let n = 1;
  for (const d of shape) {
    if (!Number.isSafeInteger(d) || d < 0) throw new ShapeError(`writeNpy: expected non-negative integer dimensions, got ${formatShape(shape)}`);
    n *= d;
  }
  if (n !== data.length) throw new ShapeError(`writeNpy: expected ${n} elements for shape ${formatShape(shape)}, got ${data.length}`);
  const pre = buildNpyPreamble(descr, false, shape);
  const out = new Uint8Array(pre.length + data.byteLength);
  out.set(pre, 0);
  if (HOST_LITTLE_ENDIAN) {
    out.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), pre.length);
  } else {
    const dv = new DataView(out.buffer, pre.length);
    if (data instanceof Float64Array) for (let i = 0; i < data.length; i++) dv.setFloat64(i * 8, data[i], true);
    else for (let i = 0; i < data.length; i++) dv.setFloat32(i * 4, data[i], true);
  }
  return out;
}

/**
 * Serializes a string as numpy stores a Python `str`: a 0-d `<U{n}` array of n UTF-32LE
 * code points (n = number of code points; the empty string is written as `<U1` holding a
 * NUL, as numpy does). Strings ending in NUL characters lose them on reading, exactly as
 * with numpy. A lone UTF-16 surrogate cannot be stored and is a FormatError.
 */
export function writeNpyString(s: string): Uint8Array {
  const cps: number[] = [];
  for (const ch of s) {
    const cp = ch.codePointAt(0)!;
    if (cp >= 0xd800 && cp <= 0xdfff) {
      throw new FormatError(`writeNpyString: expected a well-formed string, got a lone surrogate at code point ${cps.length}`);
    }
    cps.push(cp);
  }
  const chars = Math.max(1, cps.length);
  const pre = buildNpyPreamble(`<U${chars}`, false, []);
  const out = new Uint8Array(pre.length + chars * 4);
  out.set(pre, 0);
  const dv = new DataView(out.buffer, pre.length);
  for (let i = 0; i < cps.length; i++) dv.setUint32(i * 4, cps[i], true);
  return out;
}
