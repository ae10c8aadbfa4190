/**
 * # The `.npy` format, as this package reads and writes it
 *
 * A `.npy` file stores one n-dimensional array: a short self-describing text header
 * followed by the raw element bytes. This comment is the specification the reader in
 * `read.ts` enforces and the writer in `write.ts` follows.
 *
 * ## Layout
 *
 * ```
 * offset 0   6 bytes   magic: the byte 0x93 followed by the ASCII letters "NUMPY"
 * offset 6   1 byte    major version (1, 2 or 3)
 * offset 7   1 byte    minor version (always 0)
 * offset 8   2 bytes   header length H, unsigned little-endian      (version 1.0)
 *            4 bytes   header length H, unsigned little-endian      (versions 2.0, 3.0)
 * then       H bytes   header text
 * then       N bytes   element data
 * ```
 *
 * The "preamble" is everything before the element data: magic, version, length field and
 * header text. Writers pad the header text so the preamble length is a multiple of 64
 * (older writers used 16), which lets a reader memory-map the data at an aligned address.
 * The reader does not insist on any particular alignment; it only uses H.
 *
 * Version 1.0 is the default. 2.0 exists only because a 2-byte length field caps the
 * header at 65535 bytes; 2.0 widens the field to 4 bytes. 3.0 is 2.0 with the header text
 * encoded as UTF-8 instead of Latin-1 (needed only for structured dtypes whose field
 * names are not Latin-1). Versions 1.0 and 2.0 headers are therefore decoded as Latin-1,
 * 3.0 headers as strict UTF-8.
 *
 * ## Header text
 *
 * The header is the text of a Python dictionary literal with exactly three keys:
 *
 * - `'descr'`: the element type as a numpy type string: a byte-order character (`<`
 *   little-endian, `>` big-endian, `|` not applicable), a kind letter (`f` float,
 *   `i` signed int, `u` unsigned int, `b` bool, `U` unicode string, `O` Python object,
 *   ...) and the item size (bytes for numbers, characters for `U`). Structured arrays
 *   use a list of field tuples here instead of a string.
 * - `'fortran_order'`: `True` when the data is stored column-major (first index varies
 *   fastest), `False` for row-major (C order, last index varies fastest).
 * - `'shape'`: a tuple of non-negative integers; `()` is a 0-d array holding one element,
 *   `(n,)` a vector.
 *
 * numpy writes the keys in that order, with a trailing comma, e.g.
 * `{'descr': '<f8', 'fortran_order': False, 'shape': (3, 4), }`, then pads with spaces
 * and ends the header with a single newline (`\n`), the newline being the last byte of
 * the preamble.
 *
 * This package never evaluates the header. `read.ts` parses it with a small literal
 * parser that knows only: strings in single or double quotes (no escapes, no prefixes),
 * `True`, `False`, decimal integers, tuples (`()`, `(3,)`, `(3, 4)`), lists and dicts.
 * Anything else (names, calls, arithmetic, Python-2 `3L` longs, `None`) is refused. After
 * the closing `}` only spaces (or tabs) may follow, then the final `\n`.
 *
 * ## Data
 *
 * The data is prod(shape) * itemsize bytes, in C order unless `fortran_order` is True,
 * each element in the byte order given by `descr`. Nothing may follow the data: a file
 * longer than preamble + data is refused, as is a shorter one.
 *
 * Object arrays (`|O`) hold pickled Python objects; unpickling runs arbitrary code, so
 * they are always refused. Structured dtypes (list descr) are refused as unsupported.
 *
 * A Python `str` saved with numpy (as `np.savez(path, meta=json.dumps(m))` does) is a 0-d
 * array of dtype `<U{n}`: n characters, each a 4-byte UTF-32 code point in the stated
 * byte order, padded with NUL code points. Such 0-d strings are supported; string arrays
 * of other ranks are not.
 *
 * ## `.npz`
 *
 * An `.npz` is a ZIP archive whose members are `.npy` files named `{key}.npy`, either
 * stored (`np.savez`) or deflated (`np.savez_compressed`). `npz.ts` documents the subset
 * of ZIP it accepts.
 */

/** The 6 magic bytes every `.npy` file starts with: 0x93 then ASCII `NUMPY`. */
export const MAGIC: readonly number[] = Object.freeze([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]);

/** Versions (major, minor) that the reader accepts. */
export const SUPPORTED_VERSIONS: readonly string[] = Object.freeze(['1.0', '2.0', '3.0']);

/**
 * Writers pad the preamble to a multiple of this many bytes (numpy uses 64 so the data
 * can be memory-mapped with any SIMD alignment). The reader does not require it.
 */
export const ARRAY_ALIGN = 64;

/**
 * Largest header text (the H bytes) the reader accepts. A header for a supported dtype is
 * small: the fixed keys take about 60 bytes and each of at most MAX_NDIM dimensions at
 * most 18 more (16 digits of a safe integer, comma, space), so about 1.3 KB even for 64
 * dimensions; padding adds < 64. 10000 is numpy's own default cap when loading
 * (`max_header_size`), so anything numpy loads by default we also get past this check, and
 * a hostile version 2.0/3.0 file cannot make us decode or parse up to 4 GiB of header.
 */
export const MAX_HEADER_LEN = 10000;

/**
 * Largest rank accepted (and written). numpy 2.x supports at most 64 dimensions (numpy
 * 1.x had 32), so a file with more cannot come from numpy and cannot be loaded by it.
 */
export const MAX_NDIM = 64;

/**
 * Default limit on element-data bytes: 1 GiB (2**30). For `.npy` it bounds the data of
 * one array; for `.npz` it bounds the total declared uncompressed size of all members
 * (preambles included). It is checked against the header (or ZIP directory) BEFORE any
 * allocation, so a small hostile file cannot make the reader allocate more than this.
 * Layer fixtures for this tool are far smaller; callers may raise it via `maxBytes`.
 */
export const DEFAULT_MAX_BYTES = 2 ** 30;

/**
 * Deepest nesting of brackets accepted in a header literal. The three legitimate values
 * nest at most 2 deep (`{` then `(`); structured descrs a few levels more. The cap keeps
 * the recursive parser's stack small on hostile input like 5000 `(`.
 */
export const MAX_NESTING = 16;

/**
 * Most members accepted in one `.npz`. A fixture has tens of arrays; the cap bounds the
 * work done walking a ZIP central directory before anything else can be validated.
 */
export const MAX_NPZ_MEMBERS = 10000;

/**
 * Largest ZIP central directory read, in bytes. It is read whole before anything else of the
 * archive, so it is bounded on its own: MAX_NPZ_MEMBERS entries of 46 bytes plus a name of a
 * few dozen characters and a ZIP64 extra field (numpy writes one for every member) take well
 * under 2 MiB; 16 MiB leaves room for long names without letting a hostile directory size make
 * the reader allocate gigabytes.
 */
export const MAX_CENTRAL_DIRECTORY_BYTES = 16 * 2 ** 20;

/** Element kinds as reported by the reader. Integers of every width map to `'int'`. */
export type NpyKind = 'float64' | 'float32' | 'int' | 'bool';

/** One supported numeric dtype. */
export interface NpyDTypeInfo {
  /** Normalized descr: byte-order char + kind letter + item size, e.g. `<f8`, `|u1`. */
  descr: string;
  /** numpy's name for it, used in messages: `float64`, `int16`, `uint8`, `bool`. */
  name: string;
  kind: NpyKind;
  /** Bytes per element. */
  itemsize: number;
  /** Byte order of the stored elements (1-byte types: true, irrelevant). */
  littleEndian: boolean;
  /** `f` float, `i` signed, `u` unsigned, `b` bool. */
  letter: 'f' | 'i' | 'u' | 'b';
}

function buildDTypes(): ReadonlyMap<string, NpyDTypeInfo> {
  const m = new Map<string, NpyDTypeInfo>();
  const add = (orders: string, letter: NpyDTypeInfo['letter'], itemsize: number) => {
    const name = letter === 'f' ? `float${itemsize * 8}` : letter === 'i' ? `int${itemsize * 8}` : letter === 'u' ? `uint${itemsize * 8}` : 'bool';
    const kind: NpyKind = letter === 'f' ? (itemsize === 8 ? 'float64' : 'float32') : letter === 'b' ? 'bool' : 'int';
    for (const o of orders) {
      // 1-byte types have no byte order; numpy writes '|', we also accept '<' and '>'.
      const norm = itemsize === 1 ? '|' : o;
      const info: NpyDTypeInfo = Object.freeze({ descr: `${norm}${letter}${itemsize}`, name, kind, itemsize, littleEndian: norm !== '>', letter });
      m.set(`${o}${letter}${itemsize}`, info);
    }
  };
  add('<>', 'f', 8);
  add('<>', 'f', 4);
  add('|<>', 'b', 1);
  for (const letter of ['i', 'u'] as const) {
    add('|<>', letter, 1);
    for (const size of [2, 4, 8]) add('<>', letter, size);
  }
  return m;
}

/**
 * Every numeric descr the reader accepts, keyed by the descr exactly as it may appear in a
 * file: `<f8 >f8 <f4 >f4`, bool `|b1`, signed `|i1 <i2 <i4 <i8 >i2 >i4 >i8`, unsigned
 * `|u1 <u2 <u4 <u8 >u2 >u4 >u8` (1-byte types also with `<` or `>`). Floats keep their
 * width; bools and integers are converted to float64 (64-bit integers beyond 2**53 round
 * to the nearest double).
 */
export const NUMERIC_DTYPES: ReadonlyMap<string, NpyDTypeInfo> = buildDTypes();

/** The info for a numeric descr, or undefined when unsupported. */
export function lookupDType(descr: string): NpyDTypeInfo | undefined {
  return NUMERIC_DTYPES.get(descr);
}

/**
 * Matches a unicode string descr with an explicit byte order, `<U5` or `>U12` (numpy
 * always writes one); the capture groups are the order and the character count.
 */
export const UNICODE_DESCR = /^([<>])U(0|[1-9][0-9]{0,9})$/;

/**
 * A descr as cnn-check names dtypes everywhere: numpy's name (`float64`, `uint8`, `bool`), with
 * the byte order when it is not the usual little-endian one (`float32, big-endian`); a unicode
 * string as `str, 52 chars`; `json` (a directory's meta.json) as is; anything else as given.
 */
export function dtypeDisplayName(descr: string): string {
  const info = lookupDType(descr);
  if (info) return info.itemsize > 1 && !info.littleEndian ? `${info.name}, big-endian` : info.name;
  const u = UNICODE_DESCR.exec(descr);
  if (u) return `str, ${u[2]} char${u[2] === '1' ? '' : 's'}`;
  return descr;
}

/** Bytes per character of a numpy unicode (`U`) dtype: UTF-32 code units. */
export const UNICODE_CHAR_BYTES = 4;
