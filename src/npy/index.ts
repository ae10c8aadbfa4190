/**
 * Strict `.npy` / `.npz` reading and writing. The format and its limits are specified in
 * `format.ts`; every malformed input is refused with a one-line FormatError.
 */
export {
  ARRAY_ALIGN,
  DEFAULT_MAX_BYTES,
  MAGIC,
  MAX_HEADER_LEN,
  MAX_NDIM,
  MAX_CENTRAL_DIRECTORY_BYTES,
  MAX_NESTING,
  MAX_NPZ_MEMBERS,
  NUMERIC_DTYPES,
  SUPPORTED_VERSIONS,
  UNICODE_CHAR_BYTES,
  UNICODE_DESCR,
  lookupDType,
  type NpyDTypeInfo,
  type NpyKind,
} from './format.js';
export {
  bytesSource,
  MAX_PREAMBLE_LEN,
  parseHeaderLiteral,
  readNpy,
  readNpyHeader,
  readNpyMember,
  readNpyMemberFrom,
  reprPyValue,
  type ByteSource,
  type NpyArray,
  type NpyHeader,
  type NpyMember,
  type NpyString,
  type PyValue,
  type ReadNpyOptions,
} from './read.js';
export { buildNpyPreamble, npyHeaderDict, writeNpy, writeNpyString } from './write.js';
export {
  INFLATE_CHUNK,
  listNpz,
  listNpzFrom,
  maxDeflatedSize,
  readNpz,
  readNpzFrom,
  writeNpz,
  type NpzEntry,
  type ReadNpzOptions,
  type WriteNpzOptions,
} from './npz.js';
