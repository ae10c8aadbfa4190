/**
 * Fresh output arrays without the page-fault tax.
 *
 * A pass's output is kept by the caller, so it must be new memory, never a buffer a later pass
 * reuses. But new memory costs a page fault per 4 KiB on first touch: measured here 1.8-2.5 us a
 * page, spiking to 10-13 us when the VM's host is busy (`process.resourceUsage().minorPageFault`),
 * so 2.5-15 ms for the 5 MB float64 output of the cs231n-shape conv forward, whose arithmetic takes
 * 1-2 ms. V8 frees array buffers only when it collects, and glibc hands large freed blocks back to
 * the OS, so a pass rarely gets hot pages back (numpy frees by reference count and does).
 *
 * So outputs of at least PREFAULT_MIN_BYTES come from a helper thread that allocates an ArrayBuffer
 * of the size last asked for, touches every page, and transfers it (zero-copy) to the thread that
 * will need it; `freshArray` takes a ready buffer when there is one (received synchronously with
 * receiveMessageOnPort, no event-loop turn needed) and asks for a replacement, so a series of
 * passes at one shape finds its output pages already mapped. Every buffer is used once: outputs
 * stay plain Float64Array / Float32Array on their own ArrayBuffer, exactly as `new Float64Array(n)`
 * (zero-filled) would give, and the caller may keep them forever.
 *
 * The helper is an unref'ed worker (it never keeps the process alive), started on the first
 * request; at most PREFAULT_DEPTH buffers per size and PREFAULT_SIZES sizes are kept ready.
 * `setPrefault(false)` turns it off (plain allocation).
 */
import { MessageChannel, Worker, isMainThread, receiveMessageOnPort, type MessagePort } from 'node:worker_threads';
import type { DType, FloatArray, Tensor } from '../tensor/tensor.js';

/** Smaller outputs are allocated directly: malloc reuses small blocks, and 1 MiB faults in ~0.5 ms. */
export const PREFAULT_MIN_BYTES = 1 << 20;
/** Buffers kept ready (or on order) per size: a forward and a backward output of one shape, or two forwards. */
export const PREFAULT_DEPTH = 2;
/** Distinct sizes remembered; the least recently asked-for size is dropped first. */
export const PREFAULT_SIZES = 8;

/** The helper thread's own resident bytes (an isolate that runs the few lines below). */
export const PREFAULT_HELPER_BYTES = 16 * 2 ** 20;

/** A memory estimate's name for the ready buffers and the helper (src/memory/). */
export const PREFAULT_SPARES = 'prefaulted outputs';

/**
 * Bytes the helper may hold for passes whose fresh arrays have these byte sizes: PREFAULT_DEPTH
 * ready buffers of each distinct size of at least PREFAULT_MIN_BYTES (the PREFAULT_SIZES largest),
 * and the helper itself; 0 when no array is large enough to go through it.
 */
export function prefaultSpareBytes(sizes: readonly number[]): number {
  const large = [...new Set(sizes.filter((b) => b >= PREFAULT_MIN_BYTES))].sort((a, b) => b - a).slice(0, PREFAULT_SIZES);
  return large.length ? PREFAULT_HELPER_BYTES + PREFAULT_DEPTH * large.reduce((t, b) => t + b, 0) : 0;
}

/** The helper: allocate, touch every page, transfer back. CommonJS, evaluated as a worker. */
const HELPER = `
const { workerData } = require('node:worker_threads');
const port = workerData.port;
port.on('message', (bytes) => {
  const buf = new ArrayBuffer(bytes);
  const v = new Uint8Array(buf);
  for (let i = 0; i < bytes; i += 4096) v[i] = 0; // a write maps the page (a read would map the shared zero page)
  port.postMessage(buf, [buf]);
});
`;

interface Helper {
  worker: Worker;
  port: MessagePort;
}

let enabled = true;
let helper: Helper | null | undefined;
/** Ready buffers per byte size, most recently asked-for size last. */
const ready = new Map<number, ArrayBuffer[]>();
/** Buffers asked for and not yet received, per byte size. */
const pending = new Map<number, number>();

/** Turn the helper on or off (off: every array is a plain new allocation). */
export function setPrefault(on: boolean): void {
  enabled = on;
  if (!on) {
    ready.clear();
  }
}

function startHelper(): Helper | null {
  if (helper !== undefined) return helper;
  try {
    const { port1, port2 } = new MessageChannel();
    const worker = new Worker(HELPER, { eval: true, workerData: { port: port2 }, transferList: [port2] });
    worker.on('error', () => {
      helper = null; // allocation falls back to plain arrays
    });
    worker.unref();
    port1.unref();
    helper = { worker, port: port1 };
  } catch {
    helper = null;
  }
  return helper;
}

/** Move every buffer the helper has sent into `ready`. */
function drain(h: Helper): void {
  for (;;) {
    const msg = receiveMessageOnPort(h.port);
    if (!msg) return;
    const buf = msg.message as ArrayBuffer;
    const n = buf.byteLength;
    pending.set(n, Math.max(0, (pending.get(n) ?? 1) - 1));
    const list = ready.get(n);
    if (list && list.length < PREFAULT_DEPTH) list.push(buf);
    // else: a size no longer wanted; the buffer is dropped unused
  }
}

/** Ask for buffers of `bytes` until PREFAULT_DEPTH are ready or on order; forget the oldest size past PREFAULT_SIZES. */
function order(h: Helper, bytes: number): void {
  const list = ready.get(bytes) ?? [];
  ready.delete(bytes);
  ready.set(bytes, list); // most recent last
  while (ready.size > PREFAULT_SIZES) {
    const oldest = ready.keys().next().value as number;
    ready.delete(oldest);
  }
  let want = PREFAULT_DEPTH - list.length - (pending.get(bytes) ?? 0);
  for (; want > 0; want--) {
    h.port.postMessage(bytes);
    pending.set(bytes, (pending.get(bytes) ?? 0) + 1);
  }
}

/** A zero-filled ArrayBuffer of `bytes` bytes that nothing else holds, its pages mapped when the helper got there first. */
export function freshBuffer(bytes: number): ArrayBuffer {
  if (!enabled || bytes < PREFAULT_MIN_BYTES || !isMainThread) return new ArrayBuffer(bytes);
  const h = startHelper();
  if (!h) return new ArrayBuffer(bytes);
  drain(h);
  const buf = ready.get(bytes)?.pop();
  order(h, bytes);
  return buf ?? new ArrayBuffer(bytes);
}

/** A zero-filled array of `length` elements of `dtype` (see freshBuffer). */
export function freshArray(dtype: DType, length: number): FloatArray {
  return dtype === 'float32' ? new Float32Array(freshBuffer(length * 4)) : new Float64Array(freshBuffer(length * 8));
}

/** A zero-filled Int32Array of `length` elements (see freshBuffer). */
export function freshInt32(length: number): Int32Array {
  return new Int32Array(freshBuffer(length * 4));
}

/** A zero-filled tensor of `shape` and `dtype` on a fresh buffer (see freshBuffer). */
export function freshTensor(shape: readonly number[], dtype: DType): Tensor {
  return {
    data: freshArray(
      dtype,
      shape.reduce((a, b) => a * b, 1),
    ),
    shape: [...shape],
  };
}
