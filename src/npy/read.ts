/**
 * Strict `.npy` reader. The format and every limit are specified in `format.ts`.
 *
 * Three entry points, from low to high level:
 * - `readNpyHeader` validates everything that can be validated without touching the
 *   element data (magic, version, header, dtype, shape, size limits, exact file length)
 *   and returns a description of the data. It allocates nothing proportional to the data.
 * - `readNpyMember` returns either a numeric array (`NpyArray`) or a 0-d unicode string
 *   (`NpyString`, what numpy writes for a Python `str`, e.g. a JSON `meta` entry).
 * - `readNpy` returns only numeric arrays and refuses strings.
 *
 * Every problem with the input is a `FormatError` whose one-line message is
 * `[name: ]what: expected X, got Y`; `name` is `opts.name` when given.
 */
import { FormatError, UsageError } from '../errors.js';
import { formatShape } from '../tensor/tensor.js';
import { clip, escapeText, excerpt as quoted, excerptBytes } from '../text/escape.js';
import {
  DEFAULT_MAX_BYTES,
  MAGIC,
  MAX_HEADER_LEN,
  MAX_NDIM,
  MAX_NESTING,
  SUPPORTED_VERSIONS,
  UNICODE_CHAR_BYTES,
  UNICODE_DESCR,
  lookupDType,
  type NpyDTypeInfo,
  type NpyKind,
} from './format.js';

/** A numeric array read from a `.npy` file. */
export interface NpyArray {
  /** The file's descr, normalized (1-byte types get `|`), e.g. `<f8`, `>f4`, `|b1`. */
  dtype: string;
  kind: NpyKind;
  shape: number[];
  /** Whether the FILE stored the data in Fortran order (`data` is always C order). */
  fortranOrder: boolean;
  /**
   * Elements in native byte order and C (row-major) order; `data.length` is the product
   * of `shape`. float32 files give a Float32Array; float64, integer and bool files a
   * Float64Array (bools as 0/1; 64-bit integers beyond 2**53 are rounded).
   */
  data: Float64Array | Float32Array;
}

/** A 0-d numpy unicode array (`<U{n}` or `>U{n}`), as numpy stores a Python `str`. */
export interface NpyString {
  kind: 'string';
  /** The file's descr, e.g. `<U12`. */
  dtype: string;
  /** Always `[]`: only 0-d string arrays are supported. */
  shape: [];
  /** The string with numpy's trailing NUL padding removed (as numpy's `str()` does). */
  value: string;
}

/** Anything a `.npy` member of an `.npz` may hold. */
export type NpyMember = NpyArray | NpyString;

export interface ReadNpyOptions {
  /** Largest element-data size accepted, in bytes. Default `DEFAULT_MAX_BYTES` (1 GiB). */
  maxBytes?: number;
  /** File or member name used as the message prefix. */
  name?: string;
}

/** What `readNpyHeader` learns from the preamble. */
export interface NpyHeader {
  /** `'1.0'`, `'2.0'` or `'3.0'`. */
  version: string;
  /** Normalized descr (see `NpyArray.dtype`). */
  dtype: string;
  /** Numeric dtype info, or undefined for a 0-d unicode string. */
  info: NpyDTypeInfo | undefined;
  /** For unicode strings: characters per element and byte order. */
  unicode: { chars: number; littleEndian: boolean } | undefined;
  fortranOrder: boolean;
  shape: number[];
  /** Byte offset of the element data (the preamble length). */
  dataOffset: number;
  /** Number of elements (product of shape). */
  count: number;
  /** Byte length of the element data; the file is exactly dataOffset + dataBytes long. */
  dataBytes: number;
}

const HOST_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

// ---------------------------------------------------------------------------------------
// Header literal parser

/** A parsed header literal. Integers are bigint so no value is silently rounded. */
export type PyValue =
  | { t: 'str'; v: string }
  | { t: 'int'; v: bigint }
  | { t: 'float'; text: string }
  | { t: 'bool'; v: boolean }
  | { t: 'tuple'; items: PyValue[] }
  | { t: 'list'; items: PyValue[] }
  | { t: 'dict'; entries: Array<[PyValue, PyValue]> };

/** Python-style rendering of a parsed value, for messages. */
export function reprPyValue(v: PyValue): string {
  switch (v.t) {
    case 'str':
      return `'${escapeText(v.v)}'`;
    case 'int':
      return v.v.toString();
    case 'float':
      return v.text;
    case 'bool':
      return v.v ? 'True' : 'False';
    case 'tuple':
      return v.items.length === 1 ? `(${reprPyValue(v.items[0])},)` : `(${v.items.map(reprPyValue).join(', ')})`;
    case 'list':
      return `[${v.items.map(reprPyValue).join(', ')}]`;
    case 'dict':
      return `{${v.entries.map(([k, x]) => `${reprPyValue(k)}: ${reprPyValue(x)}`).join(', ')}}`;
  }
}

function typeName(v: PyValue): string {
  return v.t === 'str' ? 'string' : v.t === 'int' ? 'integer' : v.t;
}

/** A short, escaped excerpt of `s` from `pos`, for messages. */
function excerpt(s: string, pos: number): string {
  return pos >= s.length ? 'end of header' : quoted(s.slice(pos));
}

/**
 * Parses the text of a header literal (without its final newline). Accepts exactly one
 * value followed by optional spaces. Throws FormatError (`prefix` + message) otherwise.
 * Supported: `'str'`/`"str"` without escapes, `True`, `False`, decimal integers with an
 * optional `-`, decimal floats (so a bad shape can be reported as such), tuples, lists,
 * dicts; spaces and tabs between tokens.
 */
export function parseHeaderLiteral(text: string, prefix = ''): PyValue {
  let pos = 0;
  const fail = (what: string): never => {
    throw new FormatError(`${prefix}bad header: expected ${what} at offset ${pos}, got ${excerpt(text, pos)}`);
  };
  const skipWs = () => {
    while (pos < text.length && (text[pos] === ' ' || text[pos] === '\t')) pos++;
  };
  const isDigit = (c: string | undefined) => c !== undefined && c >= '0' && c <= '9';
  const isIdent = (c: string | undefined) => c !== undefined && ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c === '_' || isDigit(c));

  const parseSeq = (close: string, depth: number): { items: PyValue[]; trailingComma: boolean } => {
    const items: PyValue[] = [];
    let trailingComma = false;
    for (;;) {
      skipWs();
      if (text[pos] === close) {
        pos++;
        return { items, trailingComma };
      }
      items.push(parseValue(depth + 1));
      skipWs();
      if (text[pos] === ',') {
        pos++;
        trailingComma = true;
      } else if (text[pos] === close) {
        pos++;
        return { items, trailingComma: false };
      } else {
        fail(`',' or '${close}'`);
      }
    }
  };

  const parseValue = (depth: number): PyValue => {
    if (depth > MAX_NESTING) fail(`at most ${MAX_NESTING} levels of nesting`);
    skipWs();
    const c = text[pos];
    if (c === '{') {
      pos++;
      const entries: Array<[PyValue, PyValue]> = [];
      for (;;) {
        skipWs();
        if (text[pos] === '}') {
          pos++;
          return { t: 'dict', entries };
        }
        const key = parseValue(depth + 1);
        skipWs();
        if (text[pos] !== ':') fail(`':'`);
        pos++;
        const value = parseValue(depth + 1);
        entries.push([key, value]);
        skipWs();
        if (text[pos] === ',') pos++;
        else if (text[pos] !== '}') fail(`',' or '}'`);
      }
    }
    if (c === '(') {
      pos++;
      const { items, trailingComma } = parseSeq(')', depth);
      // As in Python, `(x)` is just x; only `()` and a comma make a tuple.
      if (items.length === 1 && !trailingComma) return items[0];
      return { t: 'tuple', items };
    }
    if (c === '[') {
      pos++;
      return { t: 'list', items: parseSeq(']', depth).items };
    }
    if (c === "'" || c === '"') {
      const start = ++pos;
      while (pos < text.length && text[pos] !== c) {
        if (text[pos] === '\\') fail('a string without escape sequences');
        if (text[pos] === '\n' || text[pos] === '\r') fail(`closing ${c}`);
        pos++;
      }
      if (pos >= text.length) fail(`closing ${c}`);
      const v = text.slice(start, pos);
      pos++;
      return { t: 'str', v };
    }
    if (c === '-' || isDigit(c)) {
      const start = pos;
      if (c === '-') pos++;
      if (!isDigit(text[pos])) fail('a digit');
      if (text[pos] === '0' && isDigit(text[pos + 1])) fail('an integer without leading zeros');
      while (isDigit(text[pos])) pos++;
      let isFloat = false;
      if (text[pos] === '.') {
        isFloat = true;
        pos++;
        while (isDigit(text[pos])) pos++;
      }
      if (text[pos] === 'e' || text[pos] === 'E') {
        isFloat = true;
        pos++;
        if (text[pos] === '+' || text[pos] === '-') pos++;
        if (!isDigit(text[pos])) fail('an exponent');
        while (isDigit(text[pos])) pos++;
      }
      if (isIdent(text[pos]) || text[pos] === '.') fail('a delimiter after the number');
      const lit = text.slice(start, pos);
      return isFloat ? { t: 'float', text: lit } : { t: 'int', v: BigInt(lit) };
    }
    if (isIdent(c)) {
      const start = pos;
      while (isIdent(text[pos])) pos++;
      const word = text.slice(start, pos);
      if (word === 'True') return { t: 'bool', v: true };
      if (word === 'False') return { t: 'bool', v: false };
      pos = start;
      fail('a literal (string, integer, True, False, tuple, list or dict)');
    }
    return fail('a literal (string, integer, True, False, tuple, list or dict)');
  };

  const value = parseValue(0);
  skipWs();
  if (pos !== text.length) fail('only spaces after the header literal');
  return value;
}

// ---------------------------------------------------------------------------------------
// Preamble and header validation

function checkMaxBytes(maxBytes: number | undefined): number {
  if (maxBytes === undefined) return DEFAULT_MAX_BYTES;
  if (!Number.isSafeInteger(maxBytes) || maxBytes < 0) {
    throw new UsageError(`maxBytes: expected a non-negative integer, got ${String(maxBytes)}`);
  }
  return maxBytes;
}

function latin1(bytes: Uint8Array): string {
  let s = '';
  for (let i = 0; i < bytes.length; i += 4096) {
    s += String.fromCharCode(...bytes.subarray(i, i + 4096));
  }
  return s;
}

const utf8Strict = new TextDecoder('utf-8', { fatal: true });

/**
 * Validates the preamble, header, dtype, shape and the exact file length of a `.npy`
 * file without reading the element data. Throws FormatError on any problem.
 */
export function readNpyHeader(bytes: Uint8Array, opts: ReadNpyOptions = {}): NpyHeader {
  return parseNpyPreamble(bytes, bytes?.length, opts);
}

/**
 * Longest preamble a valid `.npy` has: magic, version, a 4-byte length field and at most
 * MAX_HEADER_LEN header bytes. Reading this much of a file is always enough to validate it.
 */
export const MAX_PREAMBLE_LEN = MAGIC.length + 2 + 4 + MAX_HEADER_LEN;

/**
 * readNpyHeader on the first bytes of a file of `fileLength` bytes: `bytes` must hold the
 * whole preamble or the whole file (MAX_PREAMBLE_LEN bytes are always enough).
 */
function parseNpyPreamble(bytes: Uint8Array, fileLength: number, opts: ReadNpyOptions): NpyHeader {
  const maxBytes = checkMaxBytes(opts.maxBytes);
  const p = opts.name !== undefined ? `${opts.name}: ` : '';
  const fail = (msg: string): never => {
    throw new FormatError(p + msg);
  };
  if (!(bytes instanceof Uint8Array)) fail('expected bytes (Uint8Array)');

  // Magic. A short file that is a prefix of the magic is truncated rather than foreign.
  const magicLen = MAGIC.length;
  for (let i = 0; i < Math.min(magicLen, bytes.length); i++) {
    if (bytes[i] !== MAGIC[i]) {
      const hint = bytes[0] === 0x50 && bytes[1] === 0x4b ? ' (a zip archive, such as an .npz)' : '';
      fail(`not a .npy file: expected magic '\\x93NUMPY', got ${excerptBytes(bytes.subarray(0, magicLen))}${hint}`);
    }
  }
  if (bytes.length < magicLen + 2) fail(`truncated header: expected at least ${magicLen + 4} bytes, got ${bytes.length}`);

  // Version.
  const major = bytes[magicLen];
  const minor = bytes[magicLen + 1];
  const version = `${major}.${minor}`;
  if (!SUPPORTED_VERSIONS.includes(version)) {
    fail(`unsupported version: expected ${SUPPORTED_VERSIONS.slice(0, -1).join(', ')} or ${SUPPORTED_VERSIONS.at(-1)}, got ${version}`);
  }
  const lenBytes = major === 1 ? 2 : 4;
  const headerStart = magicLen + 2 + lenBytes;
  if (bytes.length < headerStart) fail(`truncated header: expected at least ${headerStart} bytes, got ${bytes.length}`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLen = major === 1 ? view.getUint16(magicLen + 2, true) : view.getUint32(magicLen + 2, true);
  if (headerLen > MAX_HEADER_LEN) fail(`header too long: expected at most ${MAX_HEADER_LEN} bytes, got ${headerLen}`);
  const dataOffset = headerStart + headerLen;
  if (bytes.length < dataOffset) {
    fail(`truncated header: expected ${headerLen} header bytes, got ${bytes.length - headerStart}`);
  }

  // Header text.
  const raw = bytes.subarray(headerStart, dataOffset);
  let text: string;
  if (major === 3) {
    try {
      text = utf8Strict.decode(raw);
    } catch {
      return fail('bad header: expected UTF-8 text (version 3.0), got invalid UTF-8');
    }
  } else {
    text = latin1(raw);
  }
  if (text.length === 0 || text[text.length - 1] !== '\n') {
    fail(`bad header: expected a final newline, got ${text.length === 0 ? 'an empty header' : quoted(text.slice(-1))}`);
  }
  text = text.slice(0, -1);
  if (text[0] !== '{') fail(`header is not a dict: expected '{', got ${excerpt(text, 0)}`);
  const dict = parseHeaderLiteral(text, p);
  if (dict.t !== 'dict') return fail(`header is not a dict: expected a dict, got ${typeName(dict)}`);

  // Keys: exactly descr, fortran_order, shape.
  const fields = new Map<string, PyValue>();
  for (const [k, v] of dict.entries) {
    if (k.t !== 'str') fail(`bad header key: expected a string, got ${clip(reprPyValue(k))}`);
    const key = (k as { v: string }).v;
    if (key !== 'descr' && key !== 'fortran_order' && key !== 'shape') {
      fail(`unexpected header key '${clip(key)}': expected only 'descr', 'fortran_order', 'shape'`);
    }
    if (fields.has(key)) fail(`duplicate header key '${key}'`);
    fields.set(key, v);
  }
  for (const key of ['descr', 'fortran_order', 'shape']) {
    if (!fields.has(key)) fail(`missing header key '${key}': expected 'descr', 'fortran_order' and 'shape'`);
  }

  // descr.
  const descrV = fields.get('descr')!;
  if (descrV.t === 'list' || descrV.t === 'tuple' || descrV.t === 'dict') {
    fail(`structured dtypes are refused: expected a simple descr string, got ${descrV.t} ${clip(reprPyValue(descrV))}`);
  }
  if (descrV.t !== 'str') fail(`descr: expected a string, got ${clip(reprPyValue(descrV))}`);
  const descr = (descrV as { v: string }).v;
  if (/^[<>|=]?O\d*$/.test(descr)) {
    fail(`object arrays (pickles) are refused: expected a numeric descr, got '${clip(descr)}'`);
  }
  const info = lookupDType(descr);
  const um = info ? null : UNICODE_DESCR.exec(descr);
  if (!info && !um) {
    fail(`unsupported descr: expected one of <f8 >f8 <f4 >f4 |b1, [<>|]i1/u1, [<>]i2/i4/i8/u2/u4/u8 or a 0-d <U/>U string, got '${clip(descr)}'`);
  }

  // fortran_order.
  const fo = fields.get('fortran_order')!;
  if (fo.t !== 'bool') fail(`fortran_order: expected True or False, got ${clip(reprPyValue(fo))}`);
  const fortranOrder = (fo as { v: boolean }).v;

  // shape.
  const sv = fields.get('shape')!;
  if (sv.t !== 'tuple') fail(`shape: expected a tuple of non-negative integers, got ${typeName(sv)} ${clip(reprPyValue(sv))}`);
  const items = (sv as { items: PyValue[] }).items;
  if (items.length > MAX_NDIM) fail(`shape: expected at most ${MAX_NDIM} dimensions, got ${items.length}`);
  const shape: number[] = [];
  for (let i = 0; i < items.length; i++) {
    const d = items[i];
    if (d.t !== 'int') fail(`shape: expected non-negative integer dimensions, got ${clip(reprPyValue(d))} at index ${i}`);
    const v = (d as { v: bigint }).v;
    if (v < 0n) fail(`shape: negative dimension: expected >= 0, got ${clip(v.toString())} at index ${i}`);
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) fail(`shape: dimension too large: expected at most 2**53-1, got ${clip(v.toString())} at index ${i}`);
    shape.push(Number(v));
  }

  let itemsize: number;
  let unicode: NpyHeader['unicode'];
  let dtype: string;
  if (info) {
    itemsize = info.itemsize;
    dtype = info.descr;
  } else {
    const chars = Number(um![2]);
    unicode = { chars, littleEndian: um![1] === '<' };
    itemsize = chars * UNICODE_CHAR_BYTES;
    dtype = descr;
    if (shape.length !== 0) fail(`string arrays are not supported: expected a 0-d '${descr}' array, got shape ${formatShape(shape)}`);
    if (fortranOrder) fail(`fortran_order: expected False for a 0-d string, got True`);
  }

  // Size: exact arithmetic, checked against the limit before anything is allocated.
  let count = 1n;
  for (const d of shape) count *= BigInt(d);
  const need = count * BigInt(itemsize);
  const what = `shape ${formatShape(shape)} ${info ? info.name : dtype}`;
  if (need > BigInt(maxBytes)) {
    fail(`data too large: expected at most ${maxBytes} bytes (maxBytes; raise it with --max-bytes), got ${need} for ${what}`);
  }
  const dataBytes = Number(need);
  const present = fileLength - dataOffset;
  if (present < dataBytes) fail(`truncated data: expected ${dataBytes} bytes for ${what}, got ${present}`);
  if (present > dataBytes) {
    fail(`trailing bytes after data: expected ${dataBytes} bytes for ${what}, got ${present} (${present - dataBytes} extra)`);
  }
  return { version, dtype, info, unicode, fortranOrder, shape, dataOffset, count: Number(count), dataBytes };
}

// ---------------------------------------------------------------------------------------
// Data conversion

/** Reorders `src` (Fortran order, shape `shape`) into `out` (C order). */
function fortranToC(src: Float64Array | Float32Array, shape: readonly number[], out: Float64Array | Float32Array): void {
  const n = out.length;
  const nd = shape.length;
  if (n === 0) return;
  const fstride = new Array<number>(nd);
  let acc = 1;
  for (let k = 0; k < nd; k++) {
    fstride[k] = acc;
    acc *= shape[k];
  }
  const idx = new Array<number>(nd).fill(0);
  let off = 0;
  for (let i = 0; i < n; i++) {
    out[i] = src[off];
    for (let k = nd - 1; k >= 0; k--) {
      idx[k]++;
      off += fstride[k];
      if (idx[k] < shape[k]) break;
      off -= fstride[k] * shape[k];
      idx[k] = 0;
    }
  }
}

/** Decodes the elements in storage order into a native typed array. */
function decodeElements(bytes: Uint8Array, h: NpyHeader, p: string, owned = false): Float64Array | Float32Array {
  const info = h.info!;
  const n = h.count;
  const start = h.dataOffset;
  const raw = bytes.subarray(start, start + h.dataBytes);
  if (info.letter === 'f' && info.littleEndian === HOST_LITTLE_ENDIAN) {
    // PERF: a buffer of our own whose data is aligned is viewed as it is (a file read by
    // readNpyMemberFrom), saving a copy of up to --max-bytes.
    if (owned && raw.byteOffset % info.itemsize === 0 && !(raw.buffer instanceof SharedArrayBuffer)) {
      return info.itemsize === 8 ? new Float64Array(raw.buffer, raw.byteOffset, n) : new Float32Array(raw.buffer, raw.byteOffset, n);
    }
    // Same byte order: copy into a fresh (aligned) buffer and view it. (`new Uint8Array(x)`
    // always copies; `slice` would not when the input is a Node Buffer.)
    const copy = new Uint8Array(raw);
    return info.itemsize === 8 ? new Float64Array(copy.buffer, 0, n) : new Float32Array(copy.buffer, 0, n);
  }
  const dv = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const le = info.littleEndian;
  if (info.letter === 'f') {
    if (info.itemsize === 8) {
      const out = new Float64Array(n);
      for (let i = 0; i < n; i++) out[i] = dv.getFloat64(i * 8, le);
      return out;
    }
    const out = new Float32Array(n);
    for (let i = 0; i < n; i++) out[i] = dv.getFloat32(i * 4, le);
    return out;
  }
  const out = new Float64Array(n);
  if (info.letter === 'b') {
    for (let i = 0; i < n; i++) {
      const b = raw[i];
      if (b > 1) throw new FormatError(`${p}bad bool element ${i}: expected 0 or 1, got ${b}`);
      out[i] = b;
    }
    return out;
  }
  const signed = info.letter === 'i';
  switch (info.itemsize) {
    case 1:
      for (let i = 0; i < n; i++) out[i] = signed ? dv.getInt8(i) : dv.getUint8(i);
      break;
    case 2:
      for (let i = 0; i < n; i++) out[i] = signed ? dv.getInt16(i * 2, le) : dv.getUint16(i * 2, le);
      break;
    case 4:
      for (let i = 0; i < n; i++) out[i] = signed ? dv.getInt32(i * 4, le) : dv.getUint32(i * 4, le);
      break;
    default:
      for (let i = 0; i < n; i++) out[i] = Number(signed ? dv.getBigInt64(i * 8, le) : dv.getBigUint64(i * 8, le));
  }
  return out;
}

function decodeUnicode(bytes: Uint8Array, h: NpyHeader, p: string): string {
  const { chars, littleEndian } = h.unicode!;
  const dv = new DataView(bytes.buffer, bytes.byteOffset + h.dataOffset, h.dataBytes);
  let end = chars;
  while (end > 0 && dv.getUint32((end - 1) * 4, littleEndian) === 0) end--;
  const cps: number[] = new Array(end);
  for (let i = 0; i < end; i++) {
    const cp = dv.getUint32(i * 4, littleEndian);
    if (cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
      throw new FormatError(`${p}bad string character ${i}: expected a Unicode scalar value, got 0x${cp.toString(16)}`);
    }
    cps[i] = cp;
  }
  let s = '';
  for (let i = 0; i < cps.length; i += 4096) s += String.fromCodePoint(...cps.slice(i, i + 4096));
  return s;
}

/**
 * Reads a `.npy` file holding either a numeric array or a 0-d unicode string (the way
 * numpy stores a Python `str`). Use the `kind` field to tell them apart.
 */
export function readNpyMember(bytes: Uint8Array, opts: ReadNpyOptions = {}): NpyMember {
  return decodeMember(bytes, readNpyHeader(bytes, opts), opts, false);
}

/**
 * Random access to the bytes of a file, or of a buffer (`bytesSource`): `read` returns exactly
 * `n` bytes at `offset` or throws. `fs/read.ts`'s RegularFile is one.
 */
export interface ByteSource {
  /** Total length in bytes. */
  readonly length: number;
  read(offset: number, n: number): Uint8Array;
}

/** A ByteSource over bytes in memory (reads are views, not copies). */
export function bytesSource(bytes: Uint8Array): ByteSource {
  return { length: bytes.length, read: (offset, n) => bytes.subarray(offset, offset + n) };
}

/**
 * readNpyMember from a source, reading in two steps: the preamble first (at most
 * MAX_PREAMBLE_LEN bytes), then, once the header is valid, within `maxBytes` and agrees with
 * the source's exact length, the data and nothing else. So a huge or hostile file costs at most
 * one preamble read before it is refused. `fresh`: each `read` returns a new buffer that the
 * array may keep (a file), so aligned data needs no copy.
 */
export function readNpyMemberFrom(source: ByteSource, opts: ReadNpyOptions & { fresh?: boolean } = {}): NpyMember {
  const h = parseNpyPreamble(source.read(0, Math.min(source.length, MAX_PREAMBLE_LEN)), source.length, opts);
  return decodeMember(source.read(h.dataOffset, h.dataBytes), { ...h, dataOffset: 0 }, opts, opts.fresh === true);
}

/** The member a validated header `h` describes, from `bytes` (its data at `h.dataOffset`). */
function decodeMember(bytes: Uint8Array, h: NpyHeader, opts: ReadNpyOptions, owned: boolean): NpyMember {
  const p = opts.name !== undefined ? `${opts.name}: ` : '';
  if (h.unicode) return { kind: 'string', dtype: h.dtype, shape: [], value: decodeUnicode(bytes, h, p) };
  const info = h.info!;
  let data = decodeElements(bytes, h, p, owned);
  if (h.fortranOrder && h.shape.length > 1) {
    const c = data instanceof Float32Array ? new Float32Array(data.length) : new Float64Array(data.length);
    fortranToC(data, h.shape, c);
    data = c;
  }
  return { dtype: h.dtype, kind: info.kind, shape: h.shape, fortranOrder: h.fortranOrder, data };
}

/** Reads a numeric `.npy` file; a 0-d string file is refused with a FormatError. */
export function readNpy(bytes: Uint8Array, opts: ReadNpyOptions = {}): NpyArray {
  const m = readNpyMember(bytes, opts);
  if (m.kind === 'string') {
    const p = opts.name !== undefined ? `${opts.name}: ` : '';
    throw new FormatError(`${p}expected a numeric array, got a 0-d string '${m.dtype}' (use readNpyMember)`);
  }
  return m;
}
