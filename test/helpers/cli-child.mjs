// One Node process that runs many command lines of the built CLI, one after another, for
// cli-server.ts: each run goes through the bin's entry (dist/cli/start.js, what
// bin/cnn-check.js calls) with the process's environment and its own captured stdout and stderr,
// and is answered over IPC with its exit code, its output and the peak resident memory of the
// process during it. What a spawned `node bin/cnn-check.js` would show is kept:
// - the peak: the high-water mark is reset (clear_refs 5, Linux) just before the run and read
//   after it: memory already resident (node, the loaded modules, anything earlier runs left,
//   garbage not yet collected) counts in it, so it is never below what a fresh process would have
//   peaked at; without clear_refs the process's whole peak so far (larger still);
// - exit: a run is answered only once the event loop holds nothing the run left behind (an open
//   handle, a pending file-system request such as an open() blocked on a FIFO, a ref'd timer or
//   worker): a fresh process would not have exited before then, so it runs into the caller's
//   timeout just as the spawned bin would;
// - a throw out of start() or an uncaught error is exit 1 with the error on stderr, as node's own
//   handling of the bin's top-level await would give; this process then ends, so no later run
//   sees what that one left.
// Started with the same heap limit as run.ts's spawned CLI (--max-old-space-size).
import { readFileSync, writeFileSync } from 'node:fs';
import { inspect } from 'node:util';

const { start } = await import(new URL('../../dist/cli/start.js', import.meta.url).href);

let canReset = true;
function resetPeak() {
  if (!canReset) return;
  try {
    writeFileSync('/proc/self/clear_refs', '5');
  } catch {
    canReset = false;
  }
}

/** Peak RSS in KiB (VmHWM, as rss-probe.mjs reads it). */
function peakKiB() {
  try {
    const m = /^VmHWM:\s+(\d+) kB$/m.exec(readFileSync('/proc/self/status', 'utf8'));
    if (m) return Number(m[1]);
  } catch {
    // no /proc
  }
  return process.resourceUsage().maxRSS;
}

/** What keeps the event loop alive, sorted (called from an immediate: none of ours is pending). */
const resources = () => process.getActiveResourcesInfo().sort().join(',');
/** Resolves once the event loop holds no more than `baseline`. */
function quiet(baseline) {
  return new Promise((resolve) => {
    const check = () =>
      setImmediate(() => {
        if (resources() === baseline) resolve();
        else setTimeout(check, 5);
      });
    check();
  });
}

let uncaught;
for (const event of ['uncaughtException', 'unhandledRejection']) {
  process.on(event, (err) => {
    uncaught ??= err;
  });
}

let baseline;

process.on('message', async ({ id, args, env, cwd }) => {
  const saved = {};
  for (const [k, v] of Object.entries(env)) {
    saved[k] = process.env[k];
    process.env[k] = v;
  }
  const home = process.cwd();
  if (cwd) process.chdir(cwd);
  let stdout = '';
  let stderr = '';
  const io = {
    stdout: { write: (s) => (stdout += s) },
    stderr: { write: (s) => (stderr += s) },
    env: process.env,
  };
  resetPeak();
  let status;
  try {
    status = await start(args, io);
  } catch (err) {
    uncaught ??= err;
  }
  await quiet(baseline);
  const maxRssKiB = peakKiB();
  if (uncaught !== undefined) {
    stderr += `${inspect(uncaught)}\n`;
    status = 1;
  }
  for (const [k, v] of Object.entries(saved)) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
  process.chdir(home);
  const crashed = uncaught !== undefined;
  process.send({ id, status, stdout, stderr, maxRssKiB }, () => {
    if (crashed) process.exit(0);
  });
});
// What the loop holds between runs: the IPC channel, now that it is listened to, and the standard
// streams, which the bin touches before it runs (its EPIPE handlers) and the CLI's libraries may.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (err) => {
    throw err;
  });
}
baseline = await new Promise((resolve) => setImmediate(() => resolve(resources())));
process.send({ ready: true });
