/**
 * Running the built CLI (npm test builds dist/ first) as a user would, with its time, its peak
 * memory and a bound on both: a hostile input must end in exit 2 promptly and with little memory,
 * not in a hang (the spawn's timeout kills it) or an allocation of gigabytes.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export const root = fileURLToPath(new URL('../..', import.meta.url));
export const bin = join(root, 'bin/cnn-check.js');
/** Whether dist/ is there to spawn (npm test builds it). */
export const built = existsSync(join(root, 'dist/cli/main.js'));
const probe = pathToFileURL(fileURLToPath(new URL('./rss-probe.mjs', import.meta.url))).href;

/** Heap limit of a spawned CLI, MiB: far below what the hostile inputs used to allocate. */
export const HEAP_MB = 256;
/** Peak RSS a refusal may reach, MiB: node and cnn-check take ~60; the bugs took 3,100 and more. */
export const MAX_RSS_MB = 300;

export interface CliRun {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** Peak RSS in MiB (undefined when the process did not exit by itself). */
  maxRssMB: number | undefined;
}

let runs = 0;

/** Spawn `cnn-check ...args` with a heap limit, a timeout and the RSS probe. */
export function cli(args: string[], opts: { cwd?: string; env?: Record<string, string>; timeoutMs?: number } = {}): CliRun {
  const rssFile = join(tmpdir(), `cnn-check-rss-${process.pid}-${runs++}`);
  const r = spawnSync(process.execPath, [`--max-old-space-size=${HEAP_MB}`, '--import', probe, bin, ...args], {
    encoding: 'utf8',
    cwd: opts.cwd,
    timeout: opts.timeoutMs ?? 20_000,
    maxBuffer: 64 * 2 ** 20,
    env: { ...process.env, NO_COLOR: '1', GITHUB_ACTIONS: '', ...opts.env, CNN_CHECK_RSS_OUT: rssFile },
  });
  let maxRssMB: number | undefined;
  if (existsSync(rssFile)) {
    maxRssMB = Number(readFileSync(rssFile, 'utf8')) / 1024;
    rmSync(rssFile, { force: true });
  }
  return { status: r.status, signal: r.signal, stdout: r.stdout ?? '', stderr: r.stderr ?? '', maxRssMB };
}

/**
 * The one line a refused input must end in: exit 2 (within the spawn's timeout), with bounded memory, nothing on
 * stdout, one stderr line `cnn-check: ...` without a stack trace or raw control characters.
 */
export function refusedLine(r: CliRun): string {
  const lines = r.stderr.replace(/\n$/, '').split('\n');
  const facts = { status: r.status, signal: r.signal, lines: lines.length, stdout: r.stdout };
  const expected = { status: 2, signal: null, lines: 1, stdout: '' };
  if (JSON.stringify(facts) !== JSON.stringify(expected))
    throw new Error(`expected a refusal, got ${JSON.stringify({ ...facts, stderr: r.stderr.slice(0, 400) })}`);
  if (!lines[0].startsWith('cnn-check: ')) throw new Error(`expected 'cnn-check: ...', got ${JSON.stringify(lines[0])}`);
  if (/\bat .*:\d+:\d+\)?$/m.test(r.stderr)) throw new Error('a stack trace on stderr');
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u0008\u000b-\u001f\u007f]/.test(r.stderr)) throw new Error(`raw control characters on stderr: ${JSON.stringify(r.stderr)}`);
  if (r.maxRssMB === undefined || r.maxRssMB > MAX_RSS_MB) throw new Error(`peak RSS ${r.maxRssMB?.toFixed(0)} MiB: expected at most ${MAX_RSS_MB}`);
  return lines[0];
}
