/**
 * A synchronous bridge to the worker thread a user's module runs in (worker.ts). The layer
 * interface and the gradient checker are synchronous, and a synchronous infinite loop in the
 * module could not be interrupted on the main thread, so each call posts a request and blocks
 * in Atomics.wait on a shared signal with a timeout; the worker bumps the signal after posting
 * its reply, which is then taken off the port with receiveMessageOnPort. Tensors cross by
 * structured clone (copies: the module can neither see nor change cnn-check's arrays).
 * On a timeout the worker is terminated, which interrupts even a loop that never yields.
 *
 * The worker is unref'ed, so it never keeps the process (or a test runner) alive.
 */
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { MessageChannel, Worker, receiveMessageOnPort, type MessagePort } from 'node:worker_threads';
import {
  SEQ_FIRST_CALL, SIGNAL_DEAD, SIGNAL_EVENTS, SIGNAL_LENGTH, type Reply, type Request, type UserWorkerData,
} from './protocol.js';

/** How long a worker may take to start, before the module is imported (registering tsx included). */
export const WORKER_START_TIMEOUT_MS = 60_000;

/** What became of a request: its reply, or no reply because the time ran out or the thread ended. */
export type Outcome = Reply | 'timeout' | 'dead';

/** Distributes the request-only fields of Request over its variants. */
type RequestBody = Request extends infer R ? (R extends Request ? Omit<R, 'seq'> : never) : never;

export interface BridgeOptions {
  /** file: URL of tsx's ESM API, which imports the module when it is TypeScript. */
  tsxApi?: string;
  /** Receives the module's console output, one line at a time. */
  log: (line: string) => void;
}

/** The resolved file: URL of `tsx/esm/api` as seen from `from` (a file: URL or path), or undefined. */
export function resolveTsxApi(from: string): string | undefined {
  try {
    return pathToFileURL(createRequire(from).resolve('tsx/esm/api')).href.replace(/\.cjs$/, '.mjs');
  } catch {
    return undefined;
  }
}

export class WorkerBridge {
  private readonly worker: Worker;
  private readonly port: MessagePort;
  private readonly signal = new Int32Array(new SharedArrayBuffer(4 * SIGNAL_LENGTH));
  private seq = SEQ_FIRST_CALL;
  private readonly log: (line: string) => void;
  /** Why the worker was stopped, once it was (then every request fails at once with it). */
  stopped: string | undefined;

  constructor(moduleUrl: string, opts: BridgeOptions) {
    this.log = opts.log;
    const { port1, port2 } = new MessageChannel();
    this.port = port1;
    const tsxApi = opts.tsxApi;
    const common = { stdout: true, stderr: true, transferList: [port2] };
    if (import.meta.url.endsWith('.ts')) {
      // NOTE: running from the TypeScript sources (vitest, tsx): the worker registers tsx itself
      // first, so it can load worker.ts.
      const api = resolveTsxApi(import.meta.url);
      if (!api) throw new Error('running from TypeScript sources needs tsx to start the worker');
      const entry = new URL('./worker.ts', import.meta.url).href;
      const data: UserWorkerData = { moduleUrl, signal: this.signal, port: port2, tsxApi };
      const code = `import(${JSON.stringify(api)}).then((m) => { m.register(); return import(${JSON.stringify(entry)}); });`;
      this.worker = new Worker(code, { eval: true, workerData: data, ...common });
    } else {
      const data: UserWorkerData = { moduleUrl, signal: this.signal, port: port2, tsxApi };
      this.worker = new Worker(new URL('./worker.js', import.meta.url), { workerData: data, ...common });
    }
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

  /** Wait for the reply `seq`; logs every reply's console output on the way. */
  wait(seq: number, timeoutMs: number): Outcome {
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      const seen = Atomics.load(this.signal, SIGNAL_EVENTS);
      for (let m = receiveMessageOnPort(this.port); m; m = receiveMessageOnPort(this.port)) {
        const reply = m.message as Reply;
        for (const line of reply.logs) this.log(line);
        // Replies to earlier requests (abandoned, or answered twice) are dropped.
        if (reply.seq === seq) return reply;
      }
      if (Atomics.load(this.signal, SIGNAL_DEAD)) return 'dead';
      const left = deadline - performance.now();
      if (left <= 0) return 'timeout';
      Atomics.wait(this.signal, SIGNAL_EVENTS, seen, left);
    }
  }

  /** Post a request and wait up to `timeoutMs` for its reply. */
  call(req: RequestBody, timeoutMs: number): Outcome {
    const seq = this.seq++;
    this.port.postMessage({ ...req, seq });
    return this.wait(seq, timeoutMs);
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
