/**
 * The hardening tests' spawned CLI (test/hardening/run.ts `cli`), many runs to one process:
 * `cliServer().cli(args)` answers what `cli(args)` does (exit status or the signal that ended it,
 * stdout, stderr, peak RSS in MiB) for the same command line, with the same heap limit, the same
 * environment and the same timeout, from one long-lived Node process (cli-child.mjs) that
 * runs each command line through the bin's entry, one after another. A node start and the
 * loading of the CLI's modules, which cost more than a refusal itself, are paid once per test
 * file instead of once per command line; what each run proves is unchanged:
 * - peak RSS: the high-water mark is reset before each run and read after it, with what the
 *   process already holds counted in it (at least what a fresh process would have peaked at).
 *   NOTE: so a run that leaves much resident (a large check that passed: its kernels' workspace
 *   stays) raises the peak of every run after it; bounded refusals go before such runs;
 * - no hang: a run is answered when the event loop holds nothing it left behind (when the spawned
 *   bin would have exited); a run that is not answered within the timeout gets its process
 *   killed and is reported as the timed-out spawn is (status null, the signal), and the next run
 *   starts a new process;
 * - a crash (a throw out of the CLI, an uncaught error, the heap limit) is reported as the process
 *   would have ended, and the next run starts a new process.
 * Tests about a process as such (signals, several processes racing) still spawn the bin.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { type CliRun, HEAP_MB } from '../hardening/run.js';

const script = fileURLToPath(new URL('./cli-child.mjs', import.meta.url));

export interface CliOptions {
  cwd?: string;
  env?: Record<string, string>;
  timeoutMs?: number;
}

export interface CliServer {
  /** Run `cnn-check ...args` as run.ts's `cli` does; runs are answered in the order asked. */
  cli(args: string[], opts?: CliOptions): Promise<CliRun>;
  /** End the process and wait for it (afterAll). */
  close(): Promise<void>;
}

interface Answer {
  id: number;
  status: number | null;
  stdout: string;
  stderr: string;
  maxRssKiB: number;
}

interface Live {
  child: ChildProcess;
  ready: Promise<void>;
  /** What the process wrote to its own stderr (node's fatal errors). */
  stderr: string;
  /** Called with the exit when the process ends. */
  onExit?: (code: number | null, signal: NodeJS.Signals | null) => void;
  onAnswer?: (a: Answer) => void;
  exited: boolean;
}

export function cliServer(): CliServer {
  let live: Live | undefined;
  let ids = 0;
  let queue: Promise<unknown> = Promise.resolve();

  function launch(): Live {
    const child = spawn(process.execPath, [`--max-old-space-size=${HEAP_MB}`, script], {
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      env: { ...process.env, NO_COLOR: '1', GITHUB_ACTIONS: '' },
    });
    const l: Live = { child, stderr: '', exited: false, ready: Promise.resolve() };
    l.ready = new Promise((resolve, reject) => {
      child.on('message', (m: Answer | { ready: true }) => {
        if ('ready' in m) resolve();
        else l.onAnswer?.(m);
      });
      child.on('exit', (code, signal) => {
        l.exited = true;
        if (live === l) live = undefined;
        reject(new Error(`cli-child.mjs ended before it was ready (${code ?? signal}): ${l.stderr}`));
        l.onExit?.(code, signal);
      });
    });
    l.ready.catch(() => {});
    child.stdout!.resume();
    child.stderr!.setEncoding('utf8');
    child.stderr!.on('data', (s: string) => (l.stderr += s));
    return l;
  }

  async function once(args: string[], opts: CliOptions): Promise<CliRun> {
    live ??= launch();
    const l = live;
    await l.ready;
    const id = ids++;
    return new Promise<CliRun>((resolve) => {
      const timer = setTimeout(() => l.child.kill('SIGKILL'), opts.timeoutMs ?? 20_000);
      const settle = (r: CliRun) => {
        clearTimeout(timer);
        l.onAnswer = undefined;
        l.onExit = undefined;
        resolve(r);
      };
      l.onAnswer = (a) => {
        if (a.id === id) settle({ status: a.status, signal: null, stdout: a.stdout, stderr: a.stderr, maxRssMB: a.maxRssKiB / 1024 });
      };
      // Ended before answering: killed at the timeout, or the heap limit. Its stderr is node's.
      l.onExit = (code, signal) => settle({ status: code, signal, stdout: '', stderr: l.stderr, maxRssMB: undefined });
      if (l.exited) l.onExit(l.child.exitCode, l.child.signalCode);
      else l.child.send({ id, args, env: opts.env ?? {}, cwd: opts.cwd });
    });
  }

  return {
    cli(args, opts = {}) {
      const r = queue.then(() => once(args, opts));
      queue = r.catch(() => {});
      return r;
    },
    async close() {
      await queue;
      const l = live;
      live = undefined;
      if (!l || l.exited) return;
      // Closing the channel lets it exit by itself; waiting reaps it (its CPU time counts in the runner's).
      const exited = new Promise<void>((resolve) => {
        l.onExit = () => resolve();
      });
      const kill = setTimeout(() => l.child.kill('SIGKILL'), 5_000);
      l.child.disconnect();
      await exited;
      clearTimeout(kill);
    },
  };
}
