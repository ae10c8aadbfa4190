/**
 * Memory estimates: the bytes a check, an export, a benchmark or a fixture comparison will
 * allocate, computed from shapes and params before anything runs, and the refusal of anything
 * above the limit (`--max-memory`, limit.ts) in one line that says how much it needs and for what.
 *
 * Each layer declares what its own passes allocate (LayerSpec `memory`, from the shared geometry;
 * a kernel's workspace through functions the kernel module exports); work.ts adds what the checker,
 * export, bench and compare allocate around them. An estimate is an upper bound on the arrays
 * cnn-check allocates: the arrays of successive phases are added as if all were alive at once, and
 * each kernel workspace (a buffer that only grows) counts at the largest size any pass of the run
 * asks of it. Not in it: Node itself (~50 MB of runtime, modules and JS heap), and a user module's
 * own memory, which has its own limit (the worker's or Python process's). test/memory/ measures the
 * peak resident memory of real runs against their estimates.
 */
import { MemoryLimitError } from '../errors.js';
import type { MemoryParts } from '../layers/types.js';
import type { DType } from '../tensor/tensor.js';

/** Bytes per element of each dtype. */
export const ELEMENT_BYTES: Readonly<Record<DType, number>> = { float64: 8, float32: 4 };
/** Bytes per element of the Int32Array masks and indices (relu's active mask, max-pool's argmax). */
export const INT32_BYTES = 4;

/** Bytes of `elements` values of `dtype`. */
export function bytesOf(dtype: DType, elements: number): number {
  return ELEMENT_BYTES[dtype] * elements;
}

/** One named part of an estimate. */
export interface MemoryPart {
  name: string;
  bytes: number;
}

/** An estimate: the total and what it is made of. */
export interface MemoryEstimate {
  /** Bytes in all. */
  total: number;
  /** What they hold, largest first; the kernels' workspace buffers are among them. */
  parts: MemoryPart[];
  /** The kernels' workspace buffers by name (included in parts and total). */
  workspace: MemoryParts;
}

/** Sum of the parts' bytes. */
export function totalOf(parts: MemoryParts): number {
  let s = 0;
  for (const v of Object.values(parts)) s += v;
  return s;
}

/** Per-buffer maximum of workspaces: each buffer only grows, so a run holds the largest size any pass asked of it. */
export function largestWorkspace(...workspaces: (MemoryParts | undefined)[]): MemoryParts {
  const out: MemoryParts = {};
  for (const ws of workspaces) for (const [k, v] of Object.entries(ws ?? {})) out[k] = Math.max(out[k] ?? 0, v);
  return out;
}

/** Accumulates named parts (the same name adds up) and workspace buffers (per-buffer maximum). */
export class MemoryTally {
  private readonly parts = new Map<string, number>();
  private workspace: MemoryParts = {};

  /** Add `bytes` under `name`. */
  add(name: string, bytes: number): this {
    if (bytes > 0) this.parts.set(name, (this.parts.get(name) ?? 0) + bytes);
    return this;
  }

  /** Add every part of `parts`, `times` over, names prefixed with `prefix`. */
  addAll(parts: MemoryParts, prefix = '', times = 1): this {
    for (const [k, v] of Object.entries(parts)) this.add(prefix + k, v * times);
    return this;
  }

  /** Let the workspace buffers be at least as large as `ws`'s. */
  workspaceAtLeast(ws: MemoryParts | undefined): this {
    this.workspace = largestWorkspace(this.workspace, ws);
    return this;
  }

  estimate(): MemoryEstimate {
    const all = new Map(this.parts);
    for (const [k, v] of Object.entries(this.workspace)) if (v > 0) all.set(k, (all.get(k) ?? 0) + v);
    const parts = [...all].map(([name, bytes]) => ({ name, bytes })).sort((a, b) => b.bytes - a.bytes);
    return { total: parts.reduce((s, p) => s + p.bytes, 0), parts, workspace: { ...this.workspace } };
  }
}

const UNITS = ['bytes', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB', 'EiB'];

/** `21.3 GiB`, `512.0 MiB`, `900 bytes`. */
export function formatBytes(n: number): string {
  if (!Number.isFinite(n)) return `${n} bytes`;
  let u = 0;
  let v = n;
  while (v >= 1024 && u < UNITS.length - 1) {
    v /= 1024;
    u++;
  }
  return u === 0 ? `${Math.round(v)} bytes` : `${v.toFixed(1)} ${UNITS[u]}`;
}

/** Parts shown in a refusal: the largest few, each at least SHOWN_SHARE of the total. */
export const SHOWN_PARTS = 4;
export const SHOWN_SHARE = 0.01;

/** The limit an estimate is held to, and how messages name it. */
export interface MemoryLimit {
  bytes: number;
  /** `--max-memory` on the command line, `maxMemory` in a suite entry or a library call. */
  label: string;
  /** What the value is when it is not a number the user gave: `half of this machine's 23.5 GiB`. */
  origin?: string;
}

/**
 * Throw MemoryLimitError (exit 2) when `estimate` is above `limit`: `what: needs ~21.3 GiB (its
 * largest parts), above --max-memory 11.8 GiB (...); expected at most that: ...`.
 */
export function requireMemory(what: string, estimate: MemoryEstimate, limit: MemoryLimit): void {
  if (estimate.total <= limit.bytes) return;
  const over = `above ${limit.label} ${formatBytes(limit.bytes)}${limit.origin ? ` (${limit.origin})` : ''}: expected at most that; use smaller shapes or raise ${limit.label}`;
  // Shapes whose element counts pass 2^1024 (64 dimensions of 2^31 - 1) have no number of bytes.
  if (!Number.isFinite(estimate.total)) throw new MemoryLimitError(`${what} needs more memory than a number can count, ${over}`);
  // The largest few parts, and none too small to matter (at least the largest).
  const large = estimate.parts.filter((p, k) => k === 0 || p.bytes >= SHOWN_SHARE * estimate.total);
  const shown = large.slice(0, SHOWN_PARTS).map((p) => `${p.name} ${formatBytes(p.bytes)}`);
  if (estimate.parts.length > shown.length) shown.push('...');
  throw new MemoryLimitError(`${what} needs ~${formatBytes(estimate.total)} of memory (${shown.join(', ')}), ${over}`);
}
