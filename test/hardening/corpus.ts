/**
 * The hostile-input corpus of the hardening tests: every file here is made on demand in a temp
 * directory, byte by byte (from the format descriptions in src/npy/format.ts and npz.ts, not
 * with the code under test) or with the file system (FIFOs, symlinks, sparse files).
 *
 * Each maker says what it reproduces; `HOSTILE` lists them by name so a new case is one entry.
 */
import { spawnSync } from 'node:child_process';
import { closeSync, ftruncateSync, mkdirSync, mkdtempSync, openSync, symlinkSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeNpy, writeNpz } from '../../src/npy/index.js';
import { getLayer } from '../../src/layers/registry.js';
import { generateInputs, resolveShapes } from '../../src/layers/params.js';
import { referenceMembers } from '../../src/fixtures/export.js';
import { XoshiroRng } from '../../src/tensor/rng.js';
import type { Tensor } from '../../src/tensor/tensor.js';
import { buildZip, concat, dict, enc, npyBytes } from '../npy/helpers.js';

/** A fresh temp directory for one test file's corpus. */
export function corpusDir(tag: string): string {
  return mkdtempSync(join(tmpdir(), `cnn-check-hostile-${tag}-`));
}

/** True where `mkfifo` works (not on Windows). */
export const canMkfifo = process.platform !== 'win32' && spawnSync('mkfifo', ['--version']).error === undefined;

/** A FIFO at `path`: opening it for reading blocks until a writer appears (forever, here). */
export function fifo(path: string): string {
  const r = spawnSync('mkfifo', [path]);
  if (r.status !== 0) throw new Error(`mkfifo ${path}: ${r.stderr}`);
  return path;
}

/** A symlink at `path` to `target`. */
export function link(path: string, target: string): string {
  symlinkSync(target, path);
  return path;
}

/** A `.npy` preamble (magic, version 1.0, numpy-style header padded to 64) for float64 `shape`. */
export function npyPreamble(shape: string): Uint8Array {
  return npyBytes(dict('<f8', shape));
}

/**
 * A `.npy` whose header declares `elements` float64 values, the data a hole made with
 * ftruncate: `8 * elements` bytes long, nothing on disk. Reading it whole costs that much memory.
 */
export function sparseNpy(path: string, elements: number): string {
  const fd = openSync(path, 'w');
  try {
    const pre = npyPreamble(`(${elements},)`);
    writeSync(fd, pre);
    ftruncateSync(fd, pre.length + 8 * elements);
  } finally {
    closeSync(fd);
  }
  return path;
}

/** `bytes` of zeros (a hole: nothing on disk), as at `path`: no zip structure at all. */
export function sparseZeros(path: string, bytes: number): string {
  const fd = openSync(path, 'w');
  try {
    ftruncateSync(fd, bytes);
  } finally {
    closeSync(fd);
  }
  return path;
}

/**
 * A stored `.npz` with one member `x.npy` holding `elements` float64 values (a hole), then a
 * valid central directory and end record (classic, so `elements * 8` stays under 4 GiB). The
 * directory declares the member's full size, which `--max-bytes` must refuse from the
 * directory alone. Reproduces: a 1.5 GB sparse `.npz` with `--max-bytes 1000` reached 3.1 GB
 * RSS and took 7 s.
 */
export function sparseNpz(path: string, elements: number): string {
  const name = enc('x.npy');
  const pre = npyPreamble(`(${elements},)`);
  const size = pre.length + 8 * elements;
  if (size >= 2 ** 32) throw new Error('sparseNpz: use fewer elements (classic zip sizes)');
  const local = new Uint8Array(30);
  const lv = new DataView(local.buffer);
  lv.setUint32(0, 0x04034b50, true);
  lv.setUint16(4, 20, true);
  lv.setUint16(12, 0x21, true);
  lv.setUint32(18, size, true);
  lv.setUint32(22, size, true);
  lv.setUint16(26, name.length, true);
  const central = new Uint8Array(46);
  const cv = new DataView(central.buffer);
  cv.setUint32(0, 0x02014b50, true);
  cv.setUint16(4, 20, true);
  cv.setUint16(6, 20, true);
  cv.setUint16(14, 0x21, true);
  cv.setUint32(20, size, true);
  cv.setUint32(24, size, true);
  cv.setUint16(28, name.length, true);
  const cdOffset = local.length + name.length + size;
  const eocd = new Uint8Array(22);
  const ev = new DataView(eocd.buffer);
  ev.setUint32(0, 0x06054b50, true);
  ev.setUint16(8, 1, true);
  ev.setUint16(10, 1, true);
  ev.setUint32(12, central.length + name.length, true);
  ev.setUint32(16, cdOffset, true);
  const fd = openSync(path, 'w');
  try {
    writeSync(fd, concat(local, name, pre));
    ftruncateSync(fd, cdOffset);
    writeSync(fd, concat(central, name, eocd), 0, central.length + name.length + eocd.length, cdOffset);
  } finally {
    closeSync(fd);
  }
  return path;
}

/** The members of a small reference conv fixture (meta as a JSON string). */
export function convMembers(): Record<string, Tensor | string> {
  const conv = getLayer('conv');
  const params = { stride: 1, pad: 1 };
  const shapes = resolveShapes(conv, { x: [2, 3, 5, 5], w: [2, 3, 3, 3] }, params);
  const inputs = generateInputs(conv, shapes, new XoshiroRng(5));
  const out = conv.impls.naive.forward(inputs, params).out;
  const dout: Tensor = { data: out.data.map((_, i) => Math.sin(i)), shape: out.shape };
  return referenceMembers(conv, inputs, params, dout);
}

/** A directory fixture (`*.npy` and `meta.json`) of `members` at `dir`. */
export function fixtureDir(dir: string, members: Record<string, Tensor | string> = convMembers()): string {
  mkdirSync(dir, { recursive: true });
  for (const [k, v] of Object.entries(members)) {
    if (typeof v === 'string') writeFileSync(join(dir, `${k}.json`), v);
    else writeFileSync(join(dir, `${k}.npy`), writeNpy(v));
  }
  return dir;
}

/** An `.npz` fixture of `members` at `path`. */
export function fixtureNpz(path: string, members: Record<string, Tensor | string> = convMembers()): string {
  writeFileSync(path, writeNpz(members));
  return path;
}

/** JSON text with a value nested `depth` arrays deep: `[[[...]]]`. */
export function deepArray(depth: number): string {
  return '['.repeat(depth) + ']'.repeat(depth);
}

/** A `.npy` whose descr carries a terminal escape (clear screen). */
export function escapeDescrNpy(path: string): string {
  writeFileSync(path, npyBytes("{'descr': '\u001b[2J<f8', 'fortran_order': False, 'shape': (1,), }", new Uint8Array(8)));
  return path;
}

/** A `.npy` whose shape has a dimension of `digits` decimal digits (fits the 10000-byte header cap). */
export function hugeDimensionNpy(path: string, digits: number): string {
  writeFileSync(path, npyBytes(dict('<f8', `(${'9'.repeat(digits)},)`)));
  return path;
}

/**
 * A stored `.npz` whose member names and meta string carry raw control characters: a name with
 * `\x1b[2J` and a meta that is not JSON but a string with ESC and a newline then `::warning::`.
 */
export function escapeNamesNpz(path: string): string {
  const x = writeNpy({ data: new Float64Array([1, 2]), shape: [2] });
  const metaText = 'conv\u001b[31m\n::warning::injected';
  const chars = [...metaText].map((c) => c.codePointAt(0)!);
  const u = new Uint8Array(chars.length * 4);
  chars.forEach((cp, i) => {
    new DataView(u.buffer).setUint32(i * 4, cp, true);
  });
  const meta = npyBytes(`{'descr': '<U${chars.length}', 'fortran_order': False, 'shape': (), }`, u);
  writeFileSync(
    path,
    buildZip([
      { name: 'a\u001b[2Jb.npy', payload: x },
      { name: 'meta.npy', payload: meta },
    ]),
  );
  return path;
}

/** An `.npz` of `n` small float64 members `a0 ... a{n-1}` (what numpy's savez writes, stored). */
export function manyMembersNpz(path: string, n: number): string {
  const members: Record<string, Tensor> = {};
  for (let i = 0; i < n; i++) members[`a${i}`] = { data: new Float64Array([i, -i, 0.5]), shape: [3] };
  writeFileSync(path, writeNpz(members));
  return path;
}

/** Source of an `--impl` conv module (the example's loops) with `extra` code run in forward. */
export function convModule(extraForward: string, extraTop = ''): string {
  return `
${extraTop}
export function forward({ x, w, b }, { stride, pad }) {
  ${extraForward}
  const [N, C, H, W] = x.shape, [F, , HH, WW] = w.shape;
  const Ho = Math.floor((H + 2 * pad - HH) / stride) + 1, Wo = Math.floor((W + 2 * pad - WW) / stride) + 1;
  const out = new Float64Array(N * F * Ho * Wo);
  for (let n = 0; n < N; n++) for (let f = 0; f < F; f++) for (let i = 0; i < Ho; i++) for (let j = 0; j < Wo; j++) {
    let s = b.data[f];
    for (let c = 0; c < C; c++) for (let p = 0; p < HH; p++) for (let q = 0; q < WW; q++) {
      const h = i * stride + p - pad, v = j * stride + q - pad;
      if (h >= 0 && h < H && v >= 0 && v < W) s += x.data[((n * C + c) * H + h) * W + v] * w.data[((f * C + c) * HH + p) * WW + q];
    }
    out[((n * F + f) * Ho + i) * Wo + j] = s;
  }
  return { out: { data: out, shape: [N, F, Ho, Wo] }, cache: { x, w, stride, pad } };
}
export function backward(dout, { x, w, stride, pad }) {
  const [N, C, H, W] = x.shape, [F, , HH, WW] = w.shape, [, , Ho, Wo] = dout.shape;
  const dx = new Float64Array(x.data.length), dw = new Float64Array(w.data.length), db = new Float64Array(F);
  for (let n = 0; n < N; n++) for (let f = 0; f < F; f++) for (let i = 0; i < Ho; i++) for (let j = 0; j < Wo; j++) {
    const g = dout.data[((n * F + f) * Ho + i) * Wo + j];
    db[f] += g;
    for (let c = 0; c < C; c++) for (let p = 0; p < HH; p++) for (let q = 0; q < WW; q++) {
      const h = i * stride + p - pad, v = j * stride + q - pad;
      if (h >= 0 && h < H && v >= 0 && v < W) {
        dx[((n * C + c) * H + h) * W + v] += g * w.data[((f * C + c) * HH + p) * WW + q];
        dw[((f * C + c) * HH + p) * WW + q] += g * x.data[((n * C + c) * H + h) * W + v];
      }
    }
  }
  return { dx: { data: dx, shape: x.shape }, dw: { data: dw, shape: w.shape }, db: { data: db, shape: [F] } };
}
`;
}

/** The corpus by name: what each case is and how to make it in `dir`. */
export const HOSTILE = {
  'npz-sparse-1.5GB': (dir: string) => sparseNpz(join(dir, 'sparse.npz'), 187_500_000),
  'npz-zeros-1.5GB': (dir: string) => sparseZeros(join(dir, 'zeros.npz'), 1_500_000_000),
  'npy-sparse-1.5GB': (dir: string) => sparseNpy(join(dir, 'sparse.npy'), 187_500_000),
  'npy-descr-escape': (dir: string) => escapeDescrNpy(join(dir, 'descr.npy')),
  'npy-9900-digit-dimension': (dir: string) => hugeDimensionNpy(join(dir, 'dim.npy'), 9900),
  'npz-names-escape': (dir: string) => escapeNamesNpz(join(dir, 'names.npz')),
  'npz-10000-members': (dir: string) => manyMembersNpz(join(dir, 'many.npz'), 10_000),
} as const;
