/**
 * The Python process a run checks numpy modules in, seen from the main thread. The checker is
 * synchronous, and so is this: a request is written and its reply read with blocking calls on
 * two named pipes (the `fifo` transport of protocol.ts; where there are none, frames go through
 * the worker and the main thread blocks in Atomics.wait). The process belongs to a worker thread
 * (worker.ts), which relays its raw output and its exit, and is the watchdog: a call past its
 * timeout gets the process killed (SIGKILL: a loop in numpy's C code ignores anything gentler),
 * which ends the blocking read; every later request fails at once with the reason. Neither the
 * worker nor the process keeps cnn-check's own process alive.
 *
 * One process serves every module of a run that names the same interpreter (`acquirePython`):
 * a suite checking several modules starts Python and imports numpy once. A process that was
 * stopped (a timeout, a crash) is replaced by a fresh one for the next module that asks.
 */
import { closeSync, constants, existsSync, mkdtempSync, openSync, readSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MessageChannel, Worker, receiveMessageOnPort, type MessagePort } from 'node:worker_threads';
import { UsageError } from '../../errors.js';
import type { Tensor } from '../../tensor/tensor.js';
import { workerEntry } from '../../workers.js';
import {
  FRAME_HEAD,
  PHASE_CALL,
  PHASE_IDLE,
  PHASE_OPENING,
  PYTHON_MEMORY_LIMIT_MB,
  REPLY_FD,
  REPLY_FIFO,
  REQUEST_FD,
  REQUEST_FIFO,
  STATE,
  decodeFrame,
  encodeFrame,
  frameLength,
  nowMs,
  type Hello,
  type PyReply,
  type PyRequest,
  type PythonWorkerData,
  type Transport,
  type WorkerEvent,
} from './protocol.js';

/** How long starting Python and importing numpy may take (a cold disk, a slow network home). */
export const PYTHON_START_TIMEOUT_MS = 60_000;
/** How long to wait for the exit event of a process whose channel closed, for its exit code and last words. */
const EXIT_GRACE_MS = 2_000;
/** Lines of the process's raw output kept to explain a crash. */
const OUTPUT_TAIL = 5;

/** The bridge script: python/cnn_check.py at the package root (three levels above this file in src/ and in dist/). */
export const BRIDGE_SCRIPT = fileURLToPath(new URL('../../../python/cnn_check.py', import.meta.url));

/** The interpreter used when none is named: `--python`, then $CNN_CHECK_PYTHON, then this. */
export const DEFAULT_PYTHON = process.platform === 'win32' ? 'python' : 'python3';

/** The interpreter to run: the one named, else $CNN_CHECK_PYTHON, else DEFAULT_PYTHON. */
export function resolvePython(named?: string, env: Record<string, string | undefined> = process.env): string {
  return named ?? (env.CNN_CHECK_PYTHON || DEFAULT_PYTHON);
}

/** Named pipes where the platform has them. */
export const DEFAULT_TRANSPORT: Transport = process.platform === 'win32' ? 'fds' : 'fifo';

/** What became of a request. */
export type Outcome = { kind: 'reply'; reply: PyReply; arrays: Map<string, Tensor> } | { kind: 'timeout' } | { kind: 'dead'; why: string };

export interface PythonProcessOptions {
  /** Address space the process may grow by, in MB (default PYTHON_MEMORY_LIMIT_MB). */
  memoryMb?: number;
  /** How frames travel (default: named pipes where there are any). */
  transport?: Transport;
}

export class PythonProcess {
  readonly python: string;
  readonly memoryMb: number;
  readonly transport: Transport;
  hello: Hello | undefined;
  /** Why the process was stopped, once it was; every later request fails with it. */
  stopped: string | undefined;
  private readonly worker: Worker;
  private readonly port: MessagePort;
  private readonly state = new Int32Array(new SharedArrayBuffer(4 * STATE.LENGTH));
  private readonly deadline = new Float64Array(new SharedArrayBuffer(8));
  private readonly fifoDir: string | undefined;
  private requestFd = -1;
  private replyFd = -1;
  private call = 0;
  private pid: number | undefined;
  private spawnError: { code: string; message: string } | undefined;
  private exited: { code: number | null; signal: string | null } | undefined;
  private readonly frames: Uint8Array[] = [];
  private partialLine = '';
  private readonly tail: string[] = [];
  /** Where the process's raw output goes: the module whose request is running. */
  private log: (line: string) => void = () => {};

  constructor(python: string, opts: PythonProcessOptions = {}) {
    this.python = python;
    this.memoryMb = opts.memoryMb ?? PYTHON_MEMORY_LIMIT_MB;
    this.transport = opts.transport ?? DEFAULT_TRANSPORT;
    const { port1, port2 } = new MessageChannel();
    this.port = port1;
    let channel: string[];
    if (this.transport === 'fifo') {
      // A private directory (mode 0700): nobody else can open the pipes.
      this.fifoDir = mkdtempSync(join(tmpdir(), 'cnn-check-py-'));
      channel = ['fifo', this.fifoDir];
    } else {
      channel = ['fds', String(REQUEST_FD), String(REPLY_FD)];
    }
    const data: PythonWorkerData = {
      python,
      args: ['-u', BRIDGE_SCRIPT, '--bridge', ...channel, String(this.memoryMb)],
      transport: this.transport,
      fifoDir: this.fifoDir,
      state: this.state,
      deadline: this.deadline,
      port: port2,
    };
    const common = { workerData: data, transferList: [port2], stdout: false, stderr: false };
    const { entry, eval: evaluated } = workerEntry(import.meta.url, './worker.js');
    this.worker = new Worker(evaluated ? entry : new URL(entry), { eval: evaluated, ...common });
    this.worker.on('error', () => {});
    this.worker.unref();
    this.port.unref();
  }

  /**
   * Start: open the channel and read the bridge's hello. Throws a UsageError (exit 2) saying
   * what to do when there is no such interpreter, it cannot run the bridge, or it has no numpy.
   */
  start(): Hello {
    this.deadline[0] = nowMs() + PYTHON_START_TIMEOUT_MS;
    let outcome: Outcome;
    try {
      outcome = this.transport === 'fifo' ? (this.openFifos() ?? this.readFrame()) : this.waitFrame();
    } finally {
      Atomics.store(this.state, STATE.PHASE, PHASE_IDLE);
    }
    const fix = 'name another interpreter with --python PATH or the CNN_CHECK_PYTHON environment variable';
    if (outcome.kind !== 'reply') {
      this.drain();
      const last = this.tail.length ? `: ${this.tail[this.tail.length - 1]}` : '';
      const why = this.spawnError
        ? this.spawnError.code === 'ENOENT'
          ? `cannot run ${this.python}: not found; install Python 3 with numpy, or ${fix}`
          : `cannot run ${this.python}: ${this.spawnError.message}; ${fix}`
        : outcome.kind === 'timeout' || !this.exited
          ? `${this.python} did not start cnn-check's Python bridge within ${PYTHON_START_TIMEOUT_MS / 1000} s${last}`
          : `${this.python} ended before cnn-check's Python bridge started (${this.exitText()})${last}; it needs Python 3.8 or newer, or ${fix}`;
      this.stop('it did not start');
      throw new UsageError(why);
    }
    const hello = outcome.reply as unknown as Hello;
    if (!hello.ok) {
      this.stop('no numpy');
      throw new UsageError(
        `${this.python} (Python ${hello.python}) cannot import numpy (${hello.message}): install it (${this.python} -m pip install numpy), or ${fix}`,
      );
    }
    this.hello = hello;
    return hello;
  }

  /** Send `req` with `arrays` and wait up to `timeoutMs` for its reply; `log` receives the user's output. */
  request(req: PyRequest, arrays: [string, Tensor][], timeoutMs: number, log: (line: string) => void): Outcome {
    if (this.stopped) return { kind: 'dead', why: this.stopped };
    this.log = log;
    this.drain();
    if (this.exited) return { kind: 'dead', why: this.exitText() };
    const frame = encodeFrame(req, arrays);
    const call = ++this.call;
    this.deadline[0] = nowMs() + timeoutMs;
    Atomics.store(this.state, STATE.CALL, call);
    Atomics.store(this.state, STATE.PHASE, PHASE_CALL);
    let outcome: Outcome;
    try {
      if (this.transport === 'fifo') {
        outcome = this.writeFrame(frame) ?? this.readFrame();
        if (outcome.kind === 'dead' && Atomics.load(this.state, STATE.KILLED) === call) outcome = { kind: 'timeout' };
      } else {
        this.port.postMessage(frame, [frame.buffer as ArrayBuffer]);
        outcome = this.waitFrame();
      }
    } finally {
      Atomics.store(this.state, STATE.PHASE, PHASE_IDLE);
    }
    this.drain();
    if (outcome.kind === 'reply') for (const line of outcome.reply.logs ?? []) log(line);
    return outcome;
  }

  /** Kill the process and stop the worker; idempotent. */
  stop(reason: string): void {
    if (this.stopped) return;
    this.stopped = reason;
    if (this.pid !== undefined && !this.exited) {
      try {
        process.kill(this.pid, 'SIGKILL');
      } catch {
        // Already gone.
      }
    }
    for (const fd of [this.requestFd, this.replyFd]) {
      if (fd >= 0) {
        try {
          closeSync(fd);
        } catch {
          // Closed already.
        }
      }
    }
    this.requestFd = this.replyFd = -1;
    if (this.fifoDir) rmSync(this.fifoDir, { recursive: true, force: true });
    void this.worker.terminate().catch(() => {});
    this.port.close();
  }

  /** True while requests can be sent. */
  get alive(): boolean {
    return !this.stopped && !this.exited && !this.spawnError;
  }

  // -- the fifo transport --------------------------------------------------------------------

  /**
   * Open the named pipes once the bridge has made them: requests for writing, then replies for
   * reading, the order in which the bridge opens its ends. Each open blocks until the bridge
   * opens its end; if the bridge dies first, the watchdog opens the far end to release it.
   */
  private openFifos(): Outcome | undefined {
    const dir = this.fifoDir!;
    const requests = join(dir, REQUEST_FIFO);
    const replies = join(dir, REPLY_FIFO);
    const pause = new Int32Array(new SharedArrayBuffer(4));
    Atomics.store(this.state, STATE.PHASE, PHASE_OPENING);
    // The bridge creates the replies pipe last: once it exists, both do.
    while (!existsSync(replies)) {
      this.drain();
      if (this.spawnError || this.exited || Atomics.load(this.state, STATE.DEAD)) return this.deadOutcome();
      if (nowMs() > this.deadline[0]) return { kind: 'timeout' };
      Atomics.wait(pause, 0, 0, 2);
    }
    try {
      this.requestFd = openSync(requests, constants.O_WRONLY);
      this.replyFd = openSync(replies, constants.O_RDONLY);
    } catch (err) {
      return { kind: 'dead', why: (err as Error).message };
    }
    // The open fds are all the pipes are needed for now.
    rmSync(dir, { recursive: true, force: true });
    if (Atomics.load(this.state, STATE.DEAD)) return this.deadOutcome();
    return undefined;
  }

  private writeFrame(frame: Uint8Array): Outcome | undefined {
    try {
      let at = 0;
      while (at < frame.length) at += writeSync(this.requestFd, frame, at, frame.length - at);
      return undefined;
    } catch {
      // EPIPE: the bridge is gone.
      return this.deadOutcome();
    }
  }

  /** Read `n` bytes into `buf` from the replies pipe; false at end-of-file (the bridge is gone). */
  private readExact(buf: Uint8Array, n: number): boolean {
    let at = 0;
    while (at < n) {
      let got: number;
      try {
        got = readSync(this.replyFd, buf, at, n - at, null);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'EAGAIN') continue;
        return false;
      }
      if (got === 0) return false;
      at += got;
    }
    return true;
  }

  private readFrame(): Outcome {
    const head = new Uint8Array(FRAME_HEAD);
    if (!this.readExact(head, FRAME_HEAD)) return this.deadOutcome();
    const frame = new Uint8Array(frameLength(head));
    frame.set(head);
    if (!this.readExact(frame.subarray(FRAME_HEAD), frame.length - FRAME_HEAD)) return this.deadOutcome();
    const { header, arrays } = decodeFrame<PyReply>(frame);
    return { kind: 'reply', reply: header, arrays };
  }

  /** The process is gone: wait briefly for its exit event, for the exit code and its last output. */
  private deadOutcome(): Outcome {
    const until = performance.now() + EXIT_GRACE_MS;
    for (;;) {
      const seen = Atomics.load(this.state, STATE.EVENTS);
      this.drain();
      if (this.exited || this.spawnError) break;
      const left = until - performance.now();
      if (left <= 0) break;
      Atomics.wait(this.state, STATE.EVENTS, seen, left);
    }
    if (this.spawnError) return { kind: 'dead', why: this.spawnError.message };
    const last = this.tail.length ? `; its last output: ${this.tail[this.tail.length - 1]}` : '';
    return { kind: 'dead', why: `${this.exitText()}${last}` };
  }

  // -- the fds transport ---------------------------------------------------------------------

  /** Wait until the deadline for the next frame the worker relays. */
  private waitFrame(): Outcome {
    for (;;) {
      const seen = Atomics.load(this.state, STATE.EVENTS);
      this.drain();
      const frame = this.frames.shift();
      if (frame) {
        const { header, arrays } = decodeFrame<PyReply>(frame);
        return { kind: 'reply', reply: header, arrays };
      }
      if (this.spawnError || this.exited) {
        if (Atomics.load(this.state, STATE.KILLED) === this.call && this.call > 0) return { kind: 'timeout' };
        return this.deadOutcome();
      }
      const left = this.deadline[0] - nowMs();
      if (left <= 0) return { kind: 'timeout' };
      Atomics.wait(this.state, STATE.EVENTS, seen, left);
    }
  }

  // -- events --------------------------------------------------------------------------------

  private exitText(): string {
    const e = this.exited;
    if (!e) return 'it ended';
    return e.signal ? `killed by ${e.signal}` : `exit code ${e.code}`;
  }

  private handle(ev: WorkerEvent): void {
    switch (ev.type) {
      case 'spawned':
        this.pid = ev.pid;
        break;
      case 'spawn-error':
        this.spawnError = { code: ev.code, message: ev.message };
        break;
      case 'frame':
        this.frames.push(ev.frame);
        break;
      case 'output': {
        const lines = (this.partialLine + ev.text).split('\n');
        this.partialLine = lines.pop() ?? '';
        for (const line of lines) this.output(line);
        break;
      }
      case 'exit':
        if (this.partialLine) this.output(this.partialLine);
        this.partialLine = '';
        this.exited = { code: ev.code, signal: ev.signal };
        break;
    }
  }

  private output(line: string): void {
    this.tail.push(line);
    if (this.tail.length > OUTPUT_TAIL) this.tail.shift();
    this.log(line);
  }

  private drain(): void {
    for (let m = receiveMessageOnPort(this.port); m; m = receiveMessageOnPort(this.port)) this.handle(m.message as WorkerEvent);
  }
}

const running = new Map<string, { proc: PythonProcess; users: number }>();

/**
 * The live process for `python` (started, with numpy, when there is none), shared by the
 * modules of a run; `releasePython` when a module is closed stops it after its last user.
 */
export function acquirePython(python: string, opts: PythonProcessOptions = {}): PythonProcess {
  const key = `${python}\0${opts.memoryMb ?? PYTHON_MEMORY_LIMIT_MB}\0${opts.transport ?? DEFAULT_TRANSPORT}`;
  const have = running.get(key);
  if (have?.proc.alive) {
    have.users++;
    return have.proc;
  }
  const proc = new PythonProcess(python, opts);
  proc.start();
  running.set(key, { proc, users: 1 });
  return proc;
}

export function releasePython(proc: PythonProcess): void {
  for (const [key, entry] of running) {
    if (entry.proc !== proc) continue;
    if (--entry.users > 0 && proc.alive) return;
    running.delete(key);
    break;
  }
  proc.stop('closed');
}
