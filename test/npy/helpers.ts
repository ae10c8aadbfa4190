/**
 * Byte-level builders for `.npy` and ZIP test inputs, written from the format description
 * in src/npy/format.ts (not with the code under test), so malformed files can be made on
 * purpose.
 */

export const enc = (s: string) => new TextEncoder().encode(s);

export function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

export interface NpyBuildOptions {
  /** [major, minor]; default [1, 0]. */
  version?: [number, number];
  /** Pad to this alignment with spaces and a final newline (default 64); 0 = use text as is. */
  align?: number;
  /** Override the header-length field. */
  headerLen?: number;
  /** Encode the header as UTF-8 instead of Latin-1. */
  utf8?: boolean;
}

/** A `.npy` file from raw header text (padded like numpy unless align = 0) and data bytes. */
export function npyBytes(header: string, data: Uint8Array = new Uint8Array(0), o: NpyBuildOptions = {}): Uint8Array {
  const [major, minor] = o.version ?? [1, 0];
  const lenBytes = major === 1 ? 2 : 4;
  const align = o.align ?? 64;
  let text = header;
  if (align > 0) {
    const used = 6 + 2 + lenBytes + text.length + 1;
    text = `${text + ' '.repeat((align - (used % align)) % align)}\n`;
  }
  const hb = o.utf8 ? enc(text) : Uint8Array.from(text, (c) => c.charCodeAt(0));
  const pre = new Uint8Array(6 + 2 + lenBytes);
  pre.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, major, minor]);
  const dv = new DataView(pre.buffer);
  const hl = o.headerLen ?? hb.length;
  if (lenBytes === 2) dv.setUint16(8, hl, true);
  else dv.setUint32(8, hl, true);
  return concat(pre, hb, data);
}

/** numpy's header dict text. */
export function dict(descr: string, shape: string, fortran = 'False'): string {
  return `{'descr': '${descr}', 'fortran_order': ${fortran}, 'shape': ${shape}, }`;
}

/** Element bytes of `values` as `kind` ('f8','f4','i1','i2','i4','i8','u1','u2','u4','u8','b1') in the given order. */
export function elemBytes(values: number[], kind: string, littleEndian = true): Uint8Array {
  const size = Number(kind.slice(1));
  const out = new Uint8Array(values.length * size);
  const dv = new DataView(out.buffer);
  values.forEach((v, i) => {
    const o = i * size;
    switch (kind) {
      case 'f8':
        dv.setFloat64(o, v, littleEndian);
        break;
      case 'f4':
        dv.setFloat32(o, v, littleEndian);
        break;
      case 'i1':
        dv.setInt8(o, v);
        break;
      case 'u1':
      case 'b1':
        dv.setUint8(o, v);
        break;
      case 'i2':
        dv.setInt16(o, v, littleEndian);
        break;
      case 'u2':
        dv.setUint16(o, v, littleEndian);
        break;
      case 'i4':
        dv.setInt32(o, v, littleEndian);
        break;
      case 'u4':
        dv.setUint32(o, v, littleEndian);
        break;
      case 'i8':
        dv.setBigInt64(o, BigInt(v), littleEndian);
        break;
      case 'u8':
        dv.setBigUint64(o, BigInt(v), littleEndian);
        break;
      default:
        throw new Error(`test helper: unknown kind ${kind}`);
    }
  });
  return out;
}

// ---------------------------------------------------------------------------------------
// CRC-32 and a raw ZIP builder

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

export function crc32(d: Uint8Array): number {
  let c = 0xffffffff;
  for (let i = 0; i < d.length; i++) c = CRC_TABLE[(c ^ d[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

export interface ZipMember {
  name: string;
  /** Bytes as stored in the archive (already compressed for method 8). */
  payload: Uint8Array;
  method?: number;
  /** Declared uncompressed size (default payload.length). */
  size?: number;
  crc?: number;
  flags?: number;
  /** Name written in the local header (default: name). */
  localName?: string;
  /** Write the local header like Python's zipfile with force_zip64 (0xFFFFFFFF sizes + ZIP64 extra). */
  zip64Local?: boolean;
  /** Saturate the central-directory sizes/offset and move them into a ZIP64 extra field. */
  zip64Central?: boolean;
  /** Override the local-header offset in the central directory. */
  offsetOverride?: number;
}

export interface ZipOptions {
  /** Add a ZIP64 end record + locator (and saturate the classic EOCD fields). */
  zip64End?: boolean;
  comment?: string;
  /** Override the entry count in the EOCD. */
  countOverride?: number;
}

/** A ZIP archive built field by field (APPNOTE layout), for crafting good and bad inputs. */
export function buildZip(members: ZipMember[], o: ZipOptions = {}): Uint8Array {
  const parts: Uint8Array[] = [];
  const central: Uint8Array[] = [];
  let offset = 0;
  for (const m of members) {
    const name = enc(m.name);
    const lname = enc(m.localName ?? m.name);
    const size = m.size ?? m.payload.length;
    const crc = m.crc ?? crc32(m.payload);
    const method = m.method ?? 0;
    const lextra = m.zip64Local ? new Uint8Array(20) : new Uint8Array(0);
    if (m.zip64Local) {
      const dv = new DataView(lextra.buffer);
      dv.setUint16(0, 1, true);
      dv.setUint16(2, 16, true);
      dv.setBigUint64(4, BigInt(size), true);
      dv.setBigUint64(12, BigInt(m.payload.length), true);
    }
    const local = new Uint8Array(30);
    const lv = new DataView(local.buffer);
    lv.setUint32(0, 0x04034b50, true);
    lv.setUint16(4, m.zip64Local ? 45 : 20, true);
    lv.setUint16(6, m.flags ?? 0, true);
    lv.setUint16(8, method, true);
    lv.setUint16(12, 0x21, true); // date 1980-01-01, time 00:00
    lv.setUint32(14, crc, true);
    lv.setUint32(18, m.zip64Local ? 0xffffffff : m.payload.length, true);
    lv.setUint32(22, m.zip64Local ? 0xffffffff : size, true);
    lv.setUint16(26, lname.length, true);
    lv.setUint16(28, lextra.length, true);
    const localOffset = m.offsetOverride ?? offset;
    parts.push(local, lname, lextra, m.payload);
    offset += local.length + lname.length + lextra.length + m.payload.length;

    const cextra = m.zip64Central ? new Uint8Array(28) : new Uint8Array(0);
    if (m.zip64Central) {
      const dv = new DataView(cextra.buffer);
      dv.setUint16(0, 1, true);
      dv.setUint16(2, 24, true);
      dv.setBigUint64(4, BigInt(size), true);
      dv.setBigUint64(12, BigInt(m.payload.length), true);
      dv.setBigUint64(20, BigInt(localOffset), true);
    }
    const c = new Uint8Array(46);
    const cv = new DataView(c.buffer);
    cv.setUint32(0, 0x02014b50, true);
    cv.setUint16(4, 45, true);
    cv.setUint16(6, 45, true);
    cv.setUint16(8, m.flags ?? 0, true);
    cv.setUint16(10, method, true);
    cv.setUint16(14, 0x21, true);
    cv.setUint32(16, crc, true);
    cv.setUint32(20, m.zip64Central ? 0xffffffff : m.payload.length, true);
    cv.setUint32(24, m.zip64Central ? 0xffffffff : size, true);
    cv.setUint16(28, name.length, true);
    cv.setUint16(30, cextra.length, true);
    cv.setUint32(42, m.zip64Central ? 0xffffffff : localOffset, true);
    central.push(c, name, cextra);
  }
  const cd = concat(...central);
  const cdOffset = offset;
  const count = o.countOverride ?? members.length;
  const tail: Uint8Array[] = [];
  if (o.zip64End) {
    const z = new Uint8Array(56);
    const zv = new DataView(z.buffer);
    zv.setUint32(0, 0x06064b50, true);
    zv.setBigUint64(4, 44n, true);
    zv.setUint16(12, 45, true);
    zv.setUint16(14, 45, true);
    zv.setBigUint64(24, BigInt(count), true);
    zv.setBigUint64(32, BigInt(count), true);
    zv.setBigUint64(40, BigInt(cd.length), true);
    zv.setBigUint64(48, BigInt(cdOffset), true);
    const loc = new Uint8Array(20);
    const lv = new DataView(loc.buffer);
    lv.setUint32(0, 0x07064b50, true);
    lv.setBigUint64(8, BigInt(cdOffset + cd.length), true);
    lv.setUint32(16, 1, true);
    tail.push(z, loc);
  }
  const comment = enc(o.comment ?? '');
  const e = new Uint8Array(22);
  const ev = new DataView(e.buffer);
  ev.setUint32(0, 0x06054b50, true);
  ev.setUint16(8, o.zip64End ? 0xffff : count, true);
  ev.setUint16(10, o.zip64End ? 0xffff : count, true);
  ev.setUint32(12, o.zip64End ? 0xffffffff : cd.length, true);
  ev.setUint32(16, o.zip64End ? 0xffffffff : cdOffset, true);
  ev.setUint16(20, comment.length, true);
  return concat(...parts, cd, ...tail, e, comment);
}

/**
 * A raw DEFLATE stream (one fixed-Huffman block) that inflates to `n` zero bytes, built
 * directly: a literal 0, then (length 258, distance 1) copies, then literals. About 13
 * bits per 258 output bytes, so 200 MB of zeros is ~1.3 MB and takes milliseconds.
 */
export function zerosDeflate(n: number): Uint8Array {
  const out = new Uint8Array(Math.ceil(((n / 258) * 13) / 8) + 300);
  let bitPos = 0;
  const put = (value: number, bits: number) => {
    // LSB-first bit packing.
    for (let i = 0; i < bits; i++) {
      if ((value >>> i) & 1) out[bitPos >>> 3] |= 1 << (bitPos & 7);
      bitPos++;
    }
  };
  // Huffman codes are sent most-significant bit first.
  const putCode = (code: number, bits: number) => {
    let r = 0;
    for (let i = 0; i < bits; i++) r |= ((code >>> i) & 1) << (bits - 1 - i);
    put(r, bits);
  };
  put(1, 1); // BFINAL
  put(1, 2); // BTYPE = 01, fixed Huffman
  let left = n;
  const literalZero = () => putCode(0x30, 8); // literal 0: 0x30 + 0, 8 bits
  if (left > 0) {
    literalZero();
    left--;
  }
  while (left >= 258) {
    putCode(0xc0 + (285 - 280), 8); // length symbol 285 = 258 bytes, no extra bits
    putCode(0, 5); // distance code 0 = distance 1
    left -= 258;
  }
  while (left > 0) {
    literalZero();
    left--;
  }
  putCode(0, 7); // end of block (symbol 256)
  return out.subarray(0, Math.ceil(bitPos / 8));
}
