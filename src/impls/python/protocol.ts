/**
 * The exchange with the Python bridge (python/cnn_check.py, which describes the same format):
 * length-prefixed frames on two dedicated channels, never on the child's stdout or stderr, so
 * nothing the user's code prints can corrupt them.
 *
 *     u32 LE header length | u32 LE body length | header (JSON, UTF-8) | body
 *
 * The body is the arrays listed in the header's `arrays: [[name, nbytes], ...]`, each a complete
 * `.npy` file: cnn-check's writer and strict reader here (src/npy), numpy's format there. The
 * bridge sends a hello frame when it is ready, then answers each request with exactly one reply,
 * in order.
 *
 * The channels (see process.ts):
 * - `fifo` (POSIX): two named pipes the bridge creates in a private temporary directory; the main
 *   thread writes requests and reads replies on them with blocking fs calls, a round trip of
 *   ~15 us. The worker that owns the child is the watchdog: it kills the child when a call passes
 *   its deadline, which ends the main thread's blocking read with end-of-file.
 * - `fds` (where there are no named pipes): the child's file descriptors 3 and 4, owned by the
 *   worker, which relays frames to the main thread blocked in Atomics.wait (~350 us a round trip).
 */
import { readNpy } from '../../npy/read.js';
import { writeNpy } from '../../npy/write.js';
import type { Tensor } from '../../tensor/tensor.js';
import type { PyArg } from './cs231n.js';

/** File descriptors of the child in the `fds` transport: requests in, replies out. */
export const REQUEST_FD = 3;
export const REPLY_FD = 4;
/** Names of the named pipes in the `fifo` transport's directory. */
export const REQUEST_FIFO = 'requests';
export const REPLY_FIFO = 'replies';

/**
 * Address space the Python process may grow by beyond what it uses once numpy is loaded, in MB
 * (RLIMIT_AS where the platform has it). A call that needs more fails as "exceeded N MB".
 */
export const PYTHON_MEMORY_LIMIT_MB = 4096;

/** Slots of the shared Int32 state. */
export const STATE = {
  /** Bumped by the worker after every message it posts. */
  EVENTS: 0,
  /** What the main thread is doing: PHASE_* below. */
  PHASE: 1,
  /** 1 once the child has exited (or could not be started). */
  DEAD: 2,
  /** The call number the watchdog killed the child for (0: none). */
  KILLED: 3,
  /** The number of the call in progress (the main thread counts from 1). */
  CALL: 4,
  LENGTH: 5,
} as const;
export const PHASE_IDLE = 0;
/** The main thread is opening the named pipes (blocking until the child opens its ends). */
export const PHASE_OPENING = 1;
/** A request is in progress: the watchdog enforces `deadline`. */
export const PHASE_CALL = 2;

/** How often the watchdog looks at the deadline, in ms (the precision of --timeout). */
export const WATCHDOG_TICK_MS = 20;

/** Bytes of a frame's fixed head. */
export const FRAME_HEAD = 8;

export type Transport = 'fifo' | 'fds';

/** What the worker is started with. */
export interface PythonWorkerData {
  /** The interpreter: `python3`, a path. */
  python: string;
  args: string[];
  transport: Transport;
  /** The directory of the named pipes (`fifo`). */
  fifoDir?: string;
  /** Int32 STATE slots. */
  state: Int32Array;
  /** [deadline] as performance.timeOrigin + performance.now() milliseconds. */
  deadline: Float64Array;
  /** A MessagePort: request frames in (`fds`); WorkerEvents out. */
  port: unknown;
}

/** What the worker posts to the main thread. */
export type WorkerEvent =
  | { type: 'spawned'; pid: number }
  | { type: 'spawn-error'; code: string; message: string }
  | { type: 'frame'; frame: Uint8Array }
  | { type: 'output'; text: string }
  | { type: 'exit'; code: number | null; signal: string | null };

/** The bridge's first frame. */
export interface Hello {
  ok: boolean;
  python: string;
  numpy?: string;
  pid?: number;
  /** `numpy` when numpy cannot be imported. */
  error?: string;
  message?: string;
}

export type PyRequest =
  | { op: 'load'; id: number; path: string }
  | {
      op: 'forward';
      module: number;
      fn: string;
      args: PyArg[];
      pristine: string[];
      state?: { arg: number; name: string; keys: string[] };
      /** Several calls in one request: the arrays of call i, and its results, are named `name#i`. */
      runs?: number;
    }
  | { op: 'backward'; module: number; fn: string; cache: number; grads: string[] };

/** A reply's header. */
export interface PyReply {
  ok: boolean;
  error?: string;
  /** The user's output during the request (print, warnings), line by line. */
  logs?: string[];
  /** Milliseconds of the user's function itself, measured in Python. */
  ms?: number;
  cache?: number;
  /** `forward` with `runs`: each call's cache. */
  caches?: number[];
  /** `load`: the module's name and its public callables. */
  module?: string;
  functions?: string[];
}

/** Absolute milliseconds, comparable between threads. */
export function nowMs(): number {
  return performance.timeOrigin + performance.now();
}

/** Encode a frame: a JSON header and tensors as `.npy` files. */
export function encodeFrame(header: object, arrays: [string, Tensor][] = []): Uint8Array {
  const blobs = arrays.map(([name, t]) => [name, writeNpy(t)] as const);
  const text = new TextEncoder().encode(JSON.stringify({ ...header, arrays: blobs.map(([n, b]) => [n, b.length]) }));
  const bodyLength = blobs.reduce((s, [, b]) => s + b.length, 0);
  const frame = new Uint8Array(FRAME_HEAD + text.length + bodyLength);
  const dv = new DataView(frame.buffer);
  dv.setUint32(0, text.length, true);
  dv.setUint32(4, bodyLength, true);
  frame.set(text, FRAME_HEAD);
  let at = FRAME_HEAD + text.length;
  for (const [, b] of blobs) {
    frame.set(b, at);
    at += b.length;
  }
  return frame;
}

/** Total length of the frame whose head starts `buf`, or -1 while the head is incomplete. */
export function frameLength(buf: Uint8Array): number {
  if (buf.length < FRAME_HEAD) return -1;
  const dv = new DataView(buf.buffer, buf.byteOffset, FRAME_HEAD);
  return FRAME_HEAD + dv.getUint32(0, true) + dv.getUint32(4, true);
}

/** Decode a complete frame: its header and arrays (read strictly, as any .npy). */
export function decodeFrame<H>(frame: Uint8Array): { header: H; arrays: Map<string, Tensor> } {
  const dv = new DataView(frame.buffer, frame.byteOffset, FRAME_HEAD);
  const hlen = dv.getUint32(0, true);
  const header = JSON.parse(new TextDecoder().decode(frame.subarray(FRAME_HEAD, FRAME_HEAD + hlen))) as H & { arrays?: [string, number][] };
  const arrays = new Map<string, Tensor>();
  let at = FRAME_HEAD + hlen;
  for (const [name, n] of header.arrays ?? []) {
    const a = readNpy(frame.subarray(at, at + n), { name, maxBytes: Number.MAX_SAFE_INTEGER });
    arrays.set(name, { data: a.data, shape: a.shape });
    at += n;
  }
  return { header, arrays };
}
