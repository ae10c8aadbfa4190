/**
 * A synchronous bridge to the worker thread a user's module runs in (worker.ts). The layer
 * interface and the gradient checker are synchronous, and a synchronous infinite loop in the
 * module could not be interrupted on the main thread, so each call posts a request and blocks
 * in Atomics.wait on a shared signal with a timeout; the worker bumps the signal after posting
 * its reply, which is then taken off the port with receiveMessageOnPort. Tensors cross by
 * structured clone (copies: the module can neither see nor change cnn-check's arrays).
 * On a timeout the worker is terminated, which interrupts even a loop that never yields.
 *
 * The worker is started by a supervisor thread (supervisor.ts) that bounds its memory (the JS heap
 * by resourceLimits, typed arrays by the process's resident memory while a call runs) and ends it
 * past the limit; the wait then ends with 'memory'.
 *
 * The supervisor is unref'ed, so it never keeps the process (or a test runner) alive.
 */
import { MessageChannel, Worker, receiveMessageOnPort, type MessagePort } from 'node:worker_threads';
import {
  MODULE_MEMORY_LIMIT_MB,
  SEQ_FIRST_CALL,
  SIGNAL_DEAD,
  SIGNAL_EVENTS,
  SIGNAL_LENGTH,
  SIGNAL_MEMORY,
  type Reply,
  type Request,
  type UserWorkerData,
} from './protocol.js';
import { workerEntry } from '../../workers.js';
import { CALL, MEMORY_HEAP, MEMORY_OK, MEMORY_TICK_MS, SUPERVISOR_SOURCE, type SupervisorData } from './supervisor.js';

/** How long a worker may take to start, before the module is imported (registering tsx included). */
export const WORKER_START_TIMEOUT_MS = 60_000;

/** What became of a request: its reply, or no reply because the time ran out, the memory limit was reached, or the thread ended. */
export type Outcome = Reply | 'timeout' | 'memory' | 'dead';

/** Distributes the request-only fields of Request over its variants. */
type RequestBody = Request extends infer R ? (R extends Request ? Omit<R, 'seq'> : never) : never;

export interface BridgeOptions {
  /** file: URL of tsx's ESM API, which imports the module when it is TypeScript. */
  tsxApi?: string;
  /** Receives the module's console output, one line at a time. */
  log: (line: string) => void;
  /** The memory limit in MB (default MODULE_MEMORY_LIMIT_MB). */
  memoryMb?: number;
}

export class WorkerBridge {
  private readonly worker: Worker;
  private readonly port: MessagePort;
  private readonly signal = new Int32Array(new SharedArrayBuffer(4 * SIGNAL_LENGTH));
  /** A call's memory accounting, shared with the supervisor (supervisor.ts CALL). */
  private readonly callMemory = new Float64Array(new SharedArrayBuffer(8 * CALL.LENGTH));
  /** Bytes the module held after its last reply. */
  private held = 0;
  private seq = SEQ_FIRST_CALL;
  private readonly log: (line: string) => void;
  /** The memory limit in MB. */
  readonly memoryMb: number;
  /** Why the worker was stopped, once it was (then every request fails at once with it). */
  stopped: string | undefined;

  constructor(moduleUrl: string, opts: BridgeOptions) {
    this.log = opts.log;
    this.memoryMb = opts.memoryMb ?? MODULE_MEMORY_LIMIT_MB;
    const { port1, port2 } = new MessageChannel();
    this.port = port1;
    const tsxApi = opts.tsxApi;
    const data: UserWorkerData = { moduleUrl, signal: this.signal, port: port2, tsxApi };
    const { entry, eval: evaluated } = workerEntry(import.meta.url, './worker.js');
    const supervised: SupervisorData = {
      entry,
      eval: evaluated,
      workerData: data,
      limitMb: this.memoryMb,
      signal: this.signal,
      call: this.callMemory,
      slots: { events: SIGNAL_EVENTS, dead: SIGNAL_DEAD, memory: SIGNAL_MEMORY },
      tickMs: MEMORY_TICK_MS,
    };
    this.startCall();
    this.worker = new Worker(SUPERVISOR_SOURCE, { eval: true, workerData: supervised, stdout: true, stderr: true, transferList: [port2] });
    // An 'error' event without a listener would be rethrown on this thread; errors reach us as replies.
    this.worker.on('error', () => {});
    // Output the module writes to process.stdout/stderr directly (console output comes with the replies).
    const forward = (chunk: Buffer) => {
      for (const line of chunk.toString('utf8').replace(/\n$/, '').split('\n')) this.log(line);
    };
    this.worker.stdout.on('data', forward);
    this.worker.stderr.on('data', forward);
    this.worker.unref();
    this.port.unref();
  }

  /** From now until the wait ends, the process's growth counts as the module's (the supervisor watches it). */
  private startCall(): void {
    if (this.callMemory[CALL.START_RSS] !== 0) return;
    this.callMemory[CALL.HELD] = this.held;
    this.callMemory[CALL.START_RSS] = process.memoryUsage.rss();
  }

  /** Wait for the reply `seq`; logs every reply's console output on the way. */
  wait(seq: number, timeoutMs: number): Outcome {
    this.startCall();
    try {
      const deadline = performance.now() + timeoutMs;
      for (;;) {
        const seen = Atomics.load(this.signal, SIGNAL_EVENTS);
        for (let m = receiveMessageOnPort(this.port); m; m = receiveMessageOnPort(this.port)) {
          const reply = m.message as Reply;
          for (const line of reply.logs) this.log(line);
          if (typeof reply.held === 'number') this.held = reply.held;
          // Replies to earlier requests (abandoned, or answered twice) are dropped.
          if (reply.seq === seq) return reply;
        }
        if (Atomics.load(this.signal, SIGNAL_MEMORY) !== MEMORY_OK) return 'memory';
        if (Atomics.load(this.signal, SIGNAL_DEAD)) return 'dead';
        const left = deadline - performance.now();
        if (left <= 0) return 'timeout';
        Atomics.wait(this.signal, SIGNAL_EVENTS, seen, left);
      }
    } finally {
      this.callMemory[CALL.START_RSS] = 0;
    }
  }

  /** Post a request and wait up to `timeoutMs` for its reply. */
  call(req: RequestBody, timeoutMs: number): Outcome {
    const seq = this.seq++;
    this.startCall();
    this.port.postMessage({ ...req, seq });
    return this.wait(seq, timeoutMs);
  }

  /** Why the supervisor ended the worker for its memory, after a wait ended in 'memory': `exceeded the memory limit of N MB (...)`; what it held is rounded up, so it reads as more than N. */
  memoryFailure(): string {
    const how =
      Atomics.load(this.signal, SIGNAL_MEMORY) === MEMORY_HEAP
        ? 'its JS heap reached it'
        : `it held ${Math.ceil(this.callMemory[CALL.SEEN] / 2 ** 20)} MB, its typed arrays and Buffers counted`;
    return `exceeded the memory limit of ${this.memoryMb} MB (${how})`;
  }

  /** Terminate the worker (interrupting whatever it runs); idempotent. */
  stop(reason: string): void {
    this.stopped ??= reason;
    this.worker.stdout.removeAllListeners('data');
    this.worker.stderr.removeAllListeners('data');
    void this.worker.terminate().catch(() => {});
    this.port.close();
  }
}
