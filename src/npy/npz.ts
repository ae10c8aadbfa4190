/**
 * Strict `.npz` (ZIP of `.npy` members) reader and writer.
 *
 * ## Accepted ZIP subset
 *
 * - One end-of-central-directory record (EOCD) at the end of the file (after it only its
 *   own comment), optionally preceded by a ZIP64 locator and ZIP64 EOCD record; a single
 *   disk; the central directory ends exactly where the (ZIP64) EOCD starts.
 * - At most MAX_NPZ_MEMBERS entries; each stored (method 0) or deflated (method 8), not
 *   encrypted; ZIP64 extra fields (id 0x0001) are honoured for sizes and offsets. Python's
 *   `zipfile`, which numpy uses, writes members with `force_zip64=True`: the local header
 *   carries 0xFFFFFFFF sizes plus a ZIP64 extra field. Sizes and offsets are taken from
 *   the central directory only; a local header is used just to find where the data starts
 *   (and its name and method must agree with the central directory).
 * - Member names end in `.npy` (the key is the name without it), are unique, and the
 *   members' byte ranges do not overlap (overlapping entries are how non-recursive zip
 *   bombs multiply one compressed payload).
 *
 * ## Decompression-bomb safety
 *
 * 1. Before anything is inflated, the sum of the sizes the central directory DECLARES is
 *    checked against `maxBytes` (default DEFAULT_MAX_BYTES, 1 GiB). A 200 MB member of
 *    zeros compresses to ~200 KB and is refused here, without inflating a byte.
 * 2. A declared size may lie. Deflated data is therefore inflated with fflate's streaming
 *    `Inflate`, fed INFLATE_CHUNK bytes at a time, into a buffer that grows with the
 *    actual output (never beyond the declared size, so a small member declaring a large
 *    size allocates little); output beyond the declared size aborts with a FormatError
 *    at the end of the current chunk. Because DEFLATE expands at most ~1032x, one chunk
 *    can overshoot by at most ~17 MB of transient output. The inflated length must equal
 *    the declared size and its CRC-32 must match the central directory's.
 *
 * Why not fflate's `unzipSync`: it parses the same central directory (and copes with
 * numpy's ZIP64 local headers), but it inflates into a buffer of the declared size and
 * silently truncates a stream that is longer than declared, and it does not check CRCs,
 * so a lying size would go unnoticed. The directory walk here is small and bounds-checked.
 *
 * Errors are FormatErrors; archive-level messages are prefixed with `opts.name` when
 * given, member-level ones with `name[member.npy]` (or just `member.npy`).
 */
import zlib from 'node:zlib';
import { Inflate, zipSync, type Zippable } from 'fflate';
import { CnnCheckError, FormatError, UsageError } from '../errors.js';
import type { Tensor } from '../tensor/tensor.js';
import { clip } from '../text/escape.js';
import { DEFAULT_MAX_BYTES, MAX_CENTRAL_DIRECTORY_BYTES, MAX_NPZ_MEMBERS } from './format.js';
import { bytesSource, readNpyMember, type ByteSource, type NpyMember } from './read.js';
import { writeNpy, writeNpyString } from './write.js';

/**
 * Compressed bytes fed to the inflater per step. DEFLATE's maximum expansion is about
 * 1032:1, so each step produces at most ~17 MB before the size check runs again.
 */
export const INFLATE_CHUNK = 16 * 1024;

const SIG_LOCAL = 0x04034b50;
const SIG_CENTRAL = 0x02014b50;
const SIG_EOCD = 0x06054b50;
const SIG_ZIP64_EOCD = 0x06064b50;
const SIG_ZIP64_LOCATOR = 0x07064b50;
const EOCD_LEN = 22;
const CENTRAL_LEN = 46;
const LOCAL_LEN = 30;
const ZIP64_LOCATOR_LEN = 20;
const ZIP64_EOCD_LEN = 56;
const MAX_COMMENT = 0xffff;

export interface ReadNpzOptions {
  /** Limit on the total declared uncompressed size of all members. Default 1 GiB. */
  maxBytes?: number;
  /** Archive name used as the message prefix. */
  name?: string;
}

export interface WriteNpzOptions {
  /** Deflate the members (like `np.savez_compressed`); default false (like `np.savez`). */
  compress?: boolean;
}

/** One member as described by the central directory (nothing inflated yet). */
export interface NpzEntry {
  /** Member name in the archive, e.g. `w.npy`. */
  name: string;
  /** The key: the name without `.npy`. */
  key: string;
  /** 0 stored, 8 deflated. */
  method: number;
  crc32: number;
  compressedSize: number;
  /** Declared uncompressed size. */
  size: number;
  localHeaderOffset: number;
  /** Offset of the member's (compressed) data. */
  dataOffset: number;
}

// ---------------------------------------------------------------------------------------
// CRC-32 (IEEE 802.3, reflected, polynomial 0xEDB88320), as ZIP uses.

let crcTable: Uint32Array | undefined;
/** The table-driven CRC-32, for Node releases without zlib.crc32 (before 20.15). */
export function crc32Table(data: Uint8Array): number {
  if (!crcTable) {
    crcTable = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      crcTable[n] = c >>> 0;
    }
  }
  const t = crcTable;
  let c = 0xffffffff;
  for (let i = 0; i < data.length; i++) c = t[(c ^ data[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** CRC-32 of `data`: zlib's where Node has it (~15 times faster: 14 ms for 64 MB, against ~200 ms), else the table's. */
export const crc32: (data: Uint8Array) => number = typeof zlib.crc32 === 'function' ? (data) => zlib.crc32(data) >>> 0 : crc32Table; // NOTE: a property, not a named import: one that Node lacks fails to link

// ---------------------------------------------------------------------------------------
// Reading

function checkMaxBytes(maxBytes: number | undefined): number {
  if (maxBytes === undefined) return DEFAULT_MAX_BYTES;
  if (!Number.isSafeInteger(maxBytes) || maxBytes < 0) {
    throw new UsageError(`maxBytes: expected a non-negative integer, got ${clip(String(maxBytes))}`);
  }
  return maxBytes;
}

const hex = (n: number) => `0x${n.toString(16).padStart(8, '0')}`;

/** Reads a 64-bit little-endian size/offset; refuses values beyond 2**53-1. */
function u64(dv: DataView, off: number, what: string, fail: (m: string) => never): number {
  const v = dv.getBigUint64(off, true);
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) fail(`${what}: expected at most 2**53-1, got ${v}`);
  return Number(v);
}

/** A member name fit for a one-line message: escaped (control characters as \\xNN) and cut. */
function printable(name: string): string {
  return clip(name);
}

const viewOf = (b: Uint8Array) => new DataView(b.buffer, b.byteOffset, b.byteLength);

function decodeName(raw: Uint8Array, utf8: boolean): string | undefined {
  if (utf8) {
    try {
      return new TextDecoder('utf-8', { fatal: true }).decode(raw);
    } catch {
      return undefined;
    }
  }
  // Without the UTF-8 flag ZIP names are CP437; numpy's are ASCII, where CP437 and
  // Latin-1 agree, so Latin-1 is used for display and comparison.
  let s = '';
  for (const b of raw) s += String.fromCharCode(b);
  return s;
}

/**
 * The most compressed bytes a deflated member of `size` bytes may have. Incompressible data
 * is stored in blocks of at most 64 KiB with 5 bytes of overhead each (zlib's deflateBound
 * allows about size / 3000 more); a size / 1024 + 1 KiB margin covers every encoder. A member
 * whose compressed data is larger is lying about one of its sizes, and would otherwise make
 * the reader stream through a compressed payload of any length.
 */
export function maxDeflatedSize(size: number): number {
  return size + Math.ceil(size / 1024) + 1024;
}

/**
 * Walks and validates the ZIP structure of an `.npz` and returns its members in
 * central-directory order, WITHOUT inflating anything. Checks: ZIP structure, member
 * names (`*.npy`, unique), methods, encryption, overlap, and the total declared
 * uncompressed size against `maxBytes`. Throws FormatError.
 */
export function listNpz(bytes: Uint8Array, opts: ReadNpzOptions = {}): NpzEntry[] {
  if (!(bytes instanceof Uint8Array)) throw new FormatError(`${opts.name !== undefined ? `${opts.name}: ` : ''}expected bytes (Uint8Array)`);
  return listNpzFrom(bytesSource(bytes), opts);
}

/**
 * listNpz on a source read by position (a file): the end records, then the central directory
 * (at most MAX_CENTRAL_DIRECTORY_BYTES), then each member's local header, and nothing else;
 * so an archive of any size is refused after reading at most those.
 */
export function listNpzFrom(src: ByteSource, opts: ReadNpzOptions = {}): NpzEntry[] {
  const maxBytes = checkMaxBytes(opts.maxBytes);
  const p = opts.name !== undefined ? `${opts.name}: ` : '';
  const fail = (msg: string): never => {
    throw new FormatError(p + msg);
  };
  const mp = (member: string) => (opts.name !== undefined ? `${opts.name}[${printable(member)}]: ` : `${printable(member)}: `);
  const failMember = (member: string, msg: string): never => {
    throw new FormatError(mp(member) + msg);
  };
  const len = src.length;
  const notZip = (why: string): never => {
    const head = src.read(0, Math.min(len, 3));
    const npy = len >= 6 && head[0] === 0x93 && head[1] === 0x4e && head[2] === 0x55;
    return fail(`not a zip archive: expected an .npz (zip) file, got ${npy ? 'a .npy file' : why}`);
  };
  if (len < EOCD_LEN) notZip(`${len} bytes`);

  // End of central directory: the last EOCD whose comment runs exactly to the end.
  const tailStart = Math.max(0, len - EOCD_LEN - MAX_COMMENT);
  const tail = viewOf(src.read(tailStart, len - tailStart));
  let eocd = -1;
  for (let e = len - EOCD_LEN; e >= tailStart; e--) {
    const t = e - tailStart;
    if (tail.getUint32(t, true) === SIG_EOCD && e + EOCD_LEN + tail.getUint16(t + 20, true) === len) {
      eocd = e;
      break;
    }
  }
  if (eocd < 0) notZip('no end-of-central-directory record');
  const ed = viewOf(src.read(eocd, EOCD_LEN));

  let disk = ed.getUint16(4, true);
  let cdDisk = ed.getUint16(6, true);
  let diskEntries = ed.getUint16(8, true);
  let entries = ed.getUint16(10, true);
  let cdSize = ed.getUint32(12, true);
  let cdOffset = ed.getUint32(16, true);
  let cdEnd = eocd;

  const loc = eocd - ZIP64_LOCATOR_LEN;
  const ld = loc >= 0 ? viewOf(src.read(loc, ZIP64_LOCATOR_LEN)) : undefined;
  if (ld && ld.getUint32(0, true) === SIG_ZIP64_LOCATOR) {
    if (ld.getUint32(4, true) !== 0 || ld.getUint32(16, true) > 1) fail('multi-disk zip archives are not supported');
    const z = u64(ld, 8, 'ZIP64 end record offset', fail);
    if (z + ZIP64_EOCD_LEN > loc) fail(`ZIP64 end record: expected at most offset ${loc - ZIP64_EOCD_LEN}, got ${z}`);
    const zd = viewOf(src.read(z, ZIP64_EOCD_LEN));
    if (zd.getUint32(0, true) !== SIG_ZIP64_EOCD) fail(`ZIP64 end record: expected its signature at offset ${z}, got ${hex(zd.getUint32(0, true))}`);
    const recSize = u64(zd, 4, 'ZIP64 end record size', fail);
    if (z + 12 + recSize !== loc) fail(`ZIP64 end record: expected it to end at the locator (offset ${loc}), got ${z + 12 + recSize}`);
    disk = zd.getUint32(16, true);
    cdDisk = zd.getUint32(20, true);
    diskEntries = u64(zd, 24, 'ZIP64 entry count', fail);
    entries = u64(zd, 32, 'ZIP64 entry count', fail);
    cdSize = u64(zd, 40, 'ZIP64 central directory size', fail);
    cdOffset = u64(zd, 48, 'ZIP64 central directory offset', fail);
    cdEnd = z;
  } else if (entries === 0xffff || cdSize === 0xffffffff || cdOffset === 0xffffffff) {
    fail('ZIP64 end record: expected a ZIP64 locator before the end record, got none');
  }
  if (disk !== 0 || cdDisk !== 0 || diskEntries !== entries) fail('multi-disk zip archives are not supported');
  if (entries > MAX_NPZ_MEMBERS) fail(`too many members: expected at most ${MAX_NPZ_MEMBERS}, got ${entries}`);
  if (cdOffset + cdSize !== cdEnd) {
    fail(`central directory: expected it to end at offset ${cdEnd}, got ${cdOffset} + ${cdSize} = ${cdOffset + cdSize}`);
  }
  if (entries * CENTRAL_LEN > cdSize) fail(`central directory: expected at least ${entries * CENTRAL_LEN} bytes for ${entries} entries, got ${cdSize}`);
  if (cdSize > MAX_CENTRAL_DIRECTORY_BYTES) fail(`central directory: expected at most ${MAX_CENTRAL_DIRECTORY_BYTES} bytes, got ${cdSize}`);

  // Central directory entries, read in one piece; offsets in messages are the file's.
  const cdBytes = src.read(cdOffset, cdSize);
  const cd = viewOf(cdBytes);
  const out: NpzEntry[] = [];
  const keys = new Set<string>();
  let total = 0;
  let rel = 0;
  for (let i = 0; i < entries; i++) {
    const pos = cdOffset + rel;
    if (pos + CENTRAL_LEN > cdEnd) fail(`central directory entry ${i}: expected ${CENTRAL_LEN} bytes at offset ${pos}, got ${cdEnd - pos}`);
    if (cd.getUint32(rel, true) !== SIG_CENTRAL)
      fail(`central directory entry ${i}: expected signature ${hex(SIG_CENTRAL)}, got ${hex(cd.getUint32(rel, true))}`);
    const flags = cd.getUint16(rel + 8, true);
    const method = cd.getUint16(rel + 10, true);
    const crc = cd.getUint32(rel + 16, true);
    let csize = cd.getUint32(rel + 20, true);
    let usize = cd.getUint32(rel + 24, true);
    const nameLen = cd.getUint16(rel + 28, true);
    const extraLen = cd.getUint16(rel + 30, true);
    const commentLen = cd.getUint16(rel + 32, true);
    let diskStart = cd.getUint16(rel + 34, true);
    let local = cd.getUint32(rel + 42, true);
    const next = rel + CENTRAL_LEN + nameLen + extraLen + commentLen;
    if (cdOffset + next > cdEnd) fail(`central directory entry ${i}: expected to end by offset ${cdEnd}, got ${cdOffset + next}`);
    const rawName = cdBytes.subarray(rel + CENTRAL_LEN, rel + CENTRAL_LEN + nameLen);
    const name = decodeName(rawName, (flags & 0x0800) !== 0);
    if (name === undefined) fail(`central directory entry ${i}: expected a UTF-8 member name, got invalid UTF-8`);
    const member = name as string;

    // ZIP64 extra field: only the fields whose 32/16-bit slot is saturated, in order.
    if (usize === 0xffffffff || csize === 0xffffffff || local === 0xffffffff || diskStart === 0xffff) {
      let e = rel + CENTRAL_LEN + nameLen;
      const eEnd = e + extraLen;
      let found = false;
      while (e + 4 <= eEnd) {
        const id = cd.getUint16(e, true);
        const sz = cd.getUint16(e + 2, true);
        if (e + 4 + sz > eEnd) break;
        if (id === 0x0001) {
          let q = e + 4;
          const take = (what: string): number => {
            if (q + 8 > e + 4 + sz) failMember(member, `ZIP64 extra field: expected a ${what}, got ${e + 4 + sz - q} bytes`);
            const v = u64(cd, q, what, (m) => failMember(member, m));
            q += 8;
            return v;
          };
          if (usize === 0xffffffff) usize = take('uncompressed size');
          if (csize === 0xffffffff) csize = take('compressed size');
          if (local === 0xffffffff) local = take('local header offset');
          if (diskStart === 0xffff) {
            if (q + 4 > e + 4 + sz) failMember(member, 'ZIP64 extra field: expected a disk number, got none');
            diskStart = cd.getUint32(q, true);
          }
          found = true;
          break;
        }
        e += 4 + sz;
      }
      if (!found) failMember(member, 'central directory: expected a ZIP64 extra field for saturated sizes, got none');
    }
    if (diskStart !== 0) fail('multi-disk zip archives are not supported');

    if (!member.endsWith('.npy') || member.length === 4) failMember(member, `expected a member name ending in '.npy', got '${printable(member)}'`);
    const key = member.slice(0, -4);
    if (keys.has(key)) failMember(member, `duplicate member name '${printable(member)}'`);
    keys.add(key);
    if (flags & 0x2041) failMember(member, 'encrypted members are not supported');
    if (method !== 0 && method !== 8) failMember(member, `unsupported compression method: expected 0 (stored) or 8 (deflate), got ${method}`);
    if (method === 0 && csize !== usize) failMember(member, `stored member: expected equal sizes, got ${csize} compressed and ${usize} uncompressed`);

    total += usize;
    if (total > maxBytes) {
      failMember(
        member,
        `declared uncompressed size too large: expected at most ${maxBytes} bytes (maxBytes; raise it with --max-bytes) in total, got ${total} so far (this member declares ${usize})`,
      );
    }
    if (method === 8 && csize > maxDeflatedSize(usize)) {
      failMember(member, `compressed size: expected at most ${maxDeflatedSize(usize)} bytes for the declared ${usize} bytes, got ${csize} (lying zip header)`);
    }

    // Local header: only to find the data; must agree with the central directory.
    if (local + LOCAL_LEN > cdOffset) failMember(member, `local header: expected it before offset ${cdOffset}, got offset ${local}`);
    const lh = viewOf(src.read(local, LOCAL_LEN));
    if (lh.getUint32(0, true) !== SIG_LOCAL)
      failMember(member, `local header: expected signature ${hex(SIG_LOCAL)} at offset ${local}, got ${hex(lh.getUint32(0, true))}`);
    const lNameLen = lh.getUint16(26, true);
    const lExtraLen = lh.getUint16(28, true);
    const dataOffset = local + LOCAL_LEN + lNameLen + lExtraLen;
    if (dataOffset + csize > cdOffset) {
      failMember(member, `truncated member data: expected ${csize} bytes at offset ${dataOffset}, got ${Math.max(0, cdOffset - dataOffset)}`);
    }
    const lName = src.read(local + LOCAL_LEN, lNameLen);
    if (lNameLen !== nameLen || lName.some((b, j) => b !== rawName[j]))
      failMember(member, 'local header: expected the same name as the central directory, got a different one');
    if (lh.getUint16(8, true) !== method)
      failMember(member, 'local header: expected the same compression method as the central directory, got a different one');

    out.push({ name: member, key, method, crc32: crc, compressedSize: csize, size: usize, localHeaderOffset: local, dataOffset });
    rel = next;
  }

  // No two members may share bytes.
  const byOffset = [...out].sort((a, b) => a.localHeaderOffset - b.localHeaderOffset);
  for (let i = 1; i < byOffset.length; i++) {
    const prev = byOffset[i - 1];
    if (prev.dataOffset + prev.compressedSize > byOffset[i].localHeaderOffset) {
      failMember(
        byOffset[i].name,
        `overlapping members: expected it to start after '${printable(prev.name)}' ends (offset ${prev.dataOffset + prev.compressedSize}), got offset ${byOffset[i].localHeaderOffset}`,
      );
    }
  }
  return out;
}

/**
 * Inflates one member into exactly `entry.size` bytes, refusing anything longer. The
 * compressed data is read INFLATE_CHUNK bytes at a time, so neither side is ever held whole
 * beyond what the declared sizes allow.
 */
function inflateMember(src: ByteSource, entry: NpzEntry, label: string): Uint8Array {
  if (entry.method === 0) return src.read(entry.dataOffset, entry.compressedSize);
  const csize = entry.compressedSize;
  // The buffer grows with the actual output (doubling, capped at the declared size), so a
  // tiny member that declares a large size cannot make us allocate that size up front.
  let out = new Uint8Array(Math.min(entry.size, Math.max(65536, 4 * csize)));
  let written = 0;
  const tooLong = () => new FormatError(`${label}inflated size: expected the declared ${entry.size} bytes, got more (lying zip header)`);
  const inflater = new Inflate((chunk) => {
    const need = written + chunk.length;
    if (need > entry.size) throw tooLong();
    if (need > out.length) {
      const grown = new Uint8Array(Math.min(entry.size, Math.max(need, 2 * out.length)));
      grown.set(out.subarray(0, written));
      out = grown;
    }
    out.set(chunk, written);
    written = need;
  });
  try {
    if (csize === 0) inflater.push(new Uint8Array(0), true);
    for (let off = 0; off < csize; off += INFLATE_CHUNK) {
      const end = Math.min(csize, off + INFLATE_CHUNK);
      inflater.push(src.read(entry.dataOffset + off, end - off), end === csize);
    }
  } catch (err) {
    if (err instanceof CnnCheckError) throw err;
    throw new FormatError(`${label}corrupt deflate data: expected a valid DEFLATE stream, got error '${clip(String((err as Error).message))}'`);
  }
  if (written !== entry.size) throw new FormatError(`${label}inflated size: expected the declared ${entry.size} bytes, got ${written}`);
  return out;
}

/**
 * Reads an `.npz` archive as written by `np.savez` / `np.savez_compressed` (or
 * `writeNpz`). Returns the members by key (name without `.npy`), in archive order; each
 * is a numeric `NpyArray` or a 0-d `NpyString`. Structure and declared sizes are checked
 * by `listNpz` before anything is inflated; each member's CRC-32 is verified.
 */
export function readNpz(bytes: Uint8Array, opts: ReadNpzOptions = {}): Map<string, NpyMember> {
  if (!(bytes instanceof Uint8Array)) throw new FormatError(`${opts.name !== undefined ? `${opts.name}: ` : ''}expected bytes (Uint8Array)`);
  return readNpzFrom(bytesSource(bytes), opts);
}

/**
 * readNpz on a source read by position (a file): listNpzFrom first, then each member's data,
 * one member at a time. Memory stays within about the declared sizes, which maxBytes bounds.
 */
export function readNpzFrom(src: ByteSource, opts: ReadNpzOptions = {}): Map<string, NpyMember> {
  const maxBytes = checkMaxBytes(opts.maxBytes);
  const entries = listNpzFrom(src, opts);
  const result = new Map<string, NpyMember>();
  for (const entry of entries) {
    const memberName = opts.name !== undefined ? `${opts.name}[${printable(entry.name)}]` : printable(entry.name);
    const label = `${memberName}: `;
    const data = inflateMember(src, entry, label);
    const crc = crc32(data);
    if (crc !== entry.crc32) throw new FormatError(`${label}CRC-32 mismatch: expected ${hex(entry.crc32)}, got ${hex(crc)}`);
    result.set(entry.key, readNpyMember(data, { maxBytes, name: memberName }));
  }
  return result;
}

// ---------------------------------------------------------------------------------------
// Writing

/** 1980-01-01 00:00 local time: the DOS epoch, the timestamp numpy's members carry too. */
const DOS_EPOCH = new Date(1980, 0, 1, 0, 0, 0);

/**
 * Serializes tensors and strings as an `.npz` that `np.load` reads: each entry becomes
 * member `{key}.npy` (tensors via `writeNpy`, strings via `writeNpyString`), stored, or
 * deflated when `compress` is true. Timestamps are fixed so the output is deterministic.
 * Keys must be non-empty and free of NUL and backslash (FormatError otherwise).
 */
export function writeNpz(members: Record<string, Tensor | string>, opts: WriteNpzOptions = {}): Uint8Array {
  const files: Zippable = {};
  for (const [key, value] of Object.entries(members)) {
    if (key.length === 0 || key.includes('\0') || key.includes('\\')) {
      throw new FormatError(`writeNpz: expected a non-empty member key without NUL or backslash, got ${JSON.stringify(key)}`);
    }
    const bytes = typeof value === 'string' ? writeNpyString(value) : writeNpy(value);
    files[`${key}.npy`] = bytes;
  }
  return zipSync(files, { level: opts.compress ? 6 : 0, mtime: DOS_EPOCH });
}
