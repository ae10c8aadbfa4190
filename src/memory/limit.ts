/**
 * The default memory limit (`--max-memory`): a fraction of the memory this process may use, the
 * machine's (os.totalmem) or, when lower, its control group's limit (a container's, a CI job's).
 */
import { closeSync, openSync, readSync } from 'node:fs';
import { totalmem } from 'node:os';
import { formatBytes, type MemoryLimit } from './estimate.js';

/**
 * Share of the available memory a run may plan to use by default. Half: an estimate counts
 * cnn-check's arrays, not Node itself, the garbage a collection has not freed yet, nor the
 * user's other programs (the notebook whose numpy module is being checked, an editor, a browser);
 * the other half is for them.
 */
export const MAX_MEMORY_FRACTION = 0.5;

/** Limits at or above this are "no limit" (cgroup v1 reports 2^63 rounded to pages; constrainedMemory 2^64). */
const UNLIMITED = 2 ** 60;

/** Longest cgroup file read: a number and a newline. */
const CGROUP_FILE_BYTES = 64;

/** The number in a cgroup limit file, or undefined (no file, `max`, unreadable). */
function readCgroupLimit(path: string): number | undefined {
  let fd: number | undefined;
  try {
    fd = openSync(path, 'r');
    const buf = Buffer.alloc(CGROUP_FILE_BYTES);
    const n = readSync(fd, buf, 0, CGROUP_FILE_BYTES, null);
    const text = buf.subarray(0, n).toString('utf8').trim();
    return /^\d+$/.test(text) ? Number(text) : undefined;
  } catch {
    return undefined;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** cgroup v2 and v1 limit files of a process in the root of its hierarchy (a container's own view). */
const CGROUP_FILES = ['/sys/fs/cgroup/memory.max', '/sys/fs/cgroup/memory/memory.limit_in_bytes'];

/** The memory this process may use: the machine's, or its control group's limit when that is lower. */
export function availableMemory(): { bytes: number; what: string } {
  const total = totalmem();
  const limits: number[] = [];
  const constrained = (process as { constrainedMemory?: () => number | undefined }).constrainedMemory?.();
  if (typeof constrained === 'number') limits.push(constrained);
  for (const f of CGROUP_FILES) {
    const v = readCgroupLimit(f);
    if (v !== undefined) limits.push(v);
  }
  const cgroup = Math.min(...limits.filter((v) => v > 0 && v < UNLIMITED));
  return cgroup < total ? { bytes: cgroup, what: "the control group's limit of" } : { bytes: total, what: "this machine's" };
}

/** The default of `--max-memory`: MAX_MEMORY_FRACTION of availableMemory(), whole bytes. */
export function defaultMaxMemory(): number {
  return Math.floor(MAX_MEMORY_FRACTION * availableMemory().bytes);
}

/** The limit a run is held to: `maxMemory` when given, else the default, named as `label` says. */
export function memoryLimit(maxMemory: number | undefined, label: string): MemoryLimit {
  if (maxMemory !== undefined) return { bytes: maxMemory, label };
  const avail = availableMemory();
  return { bytes: Math.floor(MAX_MEMORY_FRACTION * avail.bytes), label, origin: `the default, half of ${avail.what} ${formatBytes(avail.bytes)}` };
}
