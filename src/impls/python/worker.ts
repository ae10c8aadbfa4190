/**
 * The worker thread that owns the Python process (see process.ts and protocol.ts). It
 * - starts the child and posts its pid, or why it could not start;
 * - relays the child's raw stdout/stderr (what the bridge could not capture: a C extension
 *   writing to fd 1, an interpreter crash) and its exit;
 * - is the watchdog: every WATCHDOG_TICK_MS it compares the call in progress with its deadline
 *   and kills the child (SIGKILL) when it is past, which ends the main thread's blocking read;
 *   and when the child is gone while the main thread may be blocked opening a named pipe, it
 *   opens the other end itself to release it;
 * - in the `fds` transport, relays request frames to fd 3 and complete reply frames from fd 4.
 * After every message it bumps STATE.EVENTS, so a main thread in Atomics.wait wakes.
 */
import { spawn } from 'node:child_process';
import { closeSync, constants, openSync } from 'node:fs';
import { join } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { workerData, type MessagePort } from 'node:worker_threads';
import {
  PHASE_CALL,
  PHASE_OPENING,
  REPLY_FD,
  REPLY_FIFO,
  REQUEST_FD,
  REQUEST_FIFO,
  STATE,
  WATCHDOG_TICK_MS,
  frameLength,
  nowMs,
  type PythonWorkerData,
  type WorkerEvent,
} from './protocol.js';

const { python, args, transport, fifoDir, state, deadline } = workerData as PythonWorkerData;
const port = (workerData as PythonWorkerData).port as MessagePort;

function post(event: WorkerEvent, transfer: ArrayBuffer[] = []): void {
  port.postMessage(event, transfer);
  Atomics.add(state, STATE.EVENTS, 1);
  Atomics.notify(state, STATE.EVENTS);
}

const stdio = transport === 'fds' ? (['ignore', 'pipe', 'pipe', 'pipe', 'pipe'] as const) : (['ignore', 'pipe', 'pipe'] as const);
const child = spawn(python, args, { stdio: [...stdio], windowsHide: true });
let alive = false;

/** Open and close the far end of each named pipe, so a main thread blocked opening one returns. */
function releaseOpens(): void {
  if (!fifoDir) return;
  for (const [name, flags] of [
    [REQUEST_FIFO, constants.O_RDONLY],
    [REPLY_FIFO, constants.O_WRONLY],
  ] as const) {
    try {
      closeSync(openSync(join(fifoDir, name), flags | constants.O_NONBLOCK));
    } catch {
      // Not created yet, or nobody at the other end: nothing blocks on it.
    }
  }
}

function died(): void {
  alive = false;
  Atomics.store(state, STATE.DEAD, 1);
  releaseOpens();
}

child.on('spawn', () => {
  alive = true;
  post({ type: 'spawned', pid: child.pid! });
});
child.on('error', (err: NodeJS.ErrnoException) => {
  died();
  post({ type: 'spawn-error', code: err.code ?? '', message: err.message });
});
for (const stream of [child.stdout!, child.stderr!]) {
  stream.setEncoding('utf8');
  stream.on('data', (text: string) => post({ type: 'output', text }));
}
// 'close' comes after the streams ended, so every line (and frame) was posted before the exit.
child.on('close', (code, sig) => {
  died();
  post({ type: 'exit', code, signal: sig });
});

const watchdog = setInterval(() => {
  const phase = Atomics.load(state, STATE.PHASE);
  if (phase === PHASE_CALL && alive && nowMs() > deadline[0]) {
    Atomics.store(state, STATE.KILLED, Atomics.load(state, STATE.CALL));
    child.kill('SIGKILL');
  } else if (phase === PHASE_OPENING && (!alive || nowMs() > deadline[0])) {
    if (alive) child.kill('SIGKILL');
    Atomics.store(state, STATE.DEAD, 1);
    releaseOpens();
  }
}, WATCHDOG_TICK_MS);
watchdog.unref?.();

if (transport === 'fds') {
  const requests = child.stdio[REQUEST_FD] as Writable;
  // A request written after the child died fails with EPIPE; the exit event says what happened.
  requests.on('error', () => {});
  port.on('message', (frame: Uint8Array) => requests.write(frame));
  // Reply frames arrive in chunks of any size: keep the bytes until a frame is complete.
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  const replies = child.stdio[REPLY_FD] as Readable;
  replies.on('error', () => {});
  replies.on('data', (chunk: Buffer) => {
    pending.push(chunk);
    pendingBytes += chunk.length;
    for (;;) {
      if (pendingBytes < 8) return;
      if (pending.length > 1) pending = [Buffer.concat(pending, pendingBytes)];
      const buf = pending[0];
      const n = frameLength(buf);
      if (n < 0 || pendingBytes < n) return;
      // A copy with its own ArrayBuffer, transferred to the main thread.
      const frame = new Uint8Array(n);
      frame.set(buf.subarray(0, n));
      post({ type: 'frame', frame }, [frame.buffer]);
      pending = n < pendingBytes ? [buf.subarray(n)] : [];
      pendingBytes -= n;
    }
  });
}
