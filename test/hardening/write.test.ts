/**
 * Writing outputs (hardening items 11 to 13): concurrent `export`s without --force all exited 0
 * and overwrote each other (check, then rename); an interrupted export left a full hidden .tmp
 * file; `export` found that --out existed or that its directory was missing only after the
 * computation, and `--junit` into a read-only directory failed after the suite printed PASS.
 */
import { spawn } from 'node:child_process';
import { chmodSync, closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, rmSync, unlinkSync, watch, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FileError } from '../../src/errors.js';
import { checkOutputPath, writeFileAtomic } from '../../src/fs/write.js';
import { readNpz } from '../../src/npy/npz.js';
import { canMkfifo, corpusDir, fifo, npyPreamble } from './corpus.js';
import { bin, built, refusedLine } from './run.js';
import { cliServer } from '../helpers/cli-server.js';

const dir = corpusDir('write');
afterAll(() => rmSync(dir, { recursive: true, force: true }));
// The refusals of item 13 in one process with run.ts's heap limit, timeout and peak RSS per run (cli-server.ts);
// the races and interruptions below are about processes, and spawn the bin.
const server = cliServer();
afterAll(() => server.close());
const cli = server.cli;
const at = (name: string) => join(dir, name);
const temps = (d: string) => readdirSync(d).filter((f) => f.endsWith('.tmp') || f.endsWith('.probe'));

/** A directory where creating a file fails, even for root (a 0555 directory, else /sys), or undefined. */
function unwritableDir(): string | undefined {
  const ro = at('read-only');
  mkdirSync(ro, { recursive: true });
  chmodSync(ro, 0o555);
  for (const d of [ro, '/sys']) {
    try {
      const probe = join(d, `.probe-${process.pid}`);
      closeSync(openSync(probe, 'wx'));
      unlinkSync(probe);
    } catch {
      return d;
    }
  }
  return undefined;
}
const readOnly = unwritableDir();

describe('writeFileAtomic and checkOutputPath', () => {
  it('creates, refuses an existing name without replace, replaces with it, and leaves no temporary file', () => {
    const d = at('unit');
    mkdirSync(d);
    const p = join(d, 'a.json');
    writeFileAtomic(p, 'one\n', { replace: false, flag: '--save' });
    expect(readFileSync(p, 'utf8')).toBe('one\n');
    expect(() => writeFileAtomic(p, 'two\n', { replace: false, flag: '--save' })).toThrow(
      `--save ${p}: already exists: expected a new path, or --force to overwrite it`,
    );
    writeFileAtomic(p, new TextEncoder().encode('three\n'), { replace: true, flag: '--save' });
    expect(readFileSync(p, 'utf8')).toBe('three\n');
    expect(readdirSync(d)).toEqual(['a.json']);
  });

  it('checkOutputPath names what is wrong with a path before anything is computed', () => {
    const d = at('check');
    mkdirSync(d);
    writeFileSync(join(d, 'taken.npz'), 'x');
    mkdirSync(join(d, 'sub.npz'));
    const check =
      (p: string, replace = false) =>
      () =>
        checkOutputPath(p, { replace, flag: '--out' });
    expect(check(join(d, 'new.npz'))).not.toThrow();
    expect(check(join(d, 'taken.npz'))).toThrow(`--out ${d}/taken.npz: already exists: expected a new path, or --force to overwrite it`);
    expect(check(join(d, 'taken.npz'), true)).not.toThrow();
    expect(check(join(d, 'no', 'x.npz'))).toThrow(`--out ${d}/no/x.npz: directory ${d}/no does not exist`);
    expect(check(join(d, 'taken.npz', 'x.npz'))).toThrow(`--out ${d}/taken.npz/x.npz: expected a path in a directory, got ${d}/taken.npz, a regular file`);
    expect(check(join(d, 'sub.npz'), true)).toThrow(`--out ${d}/sub.npz: is a directory: expected a file path`);
    expect(check('')).toThrow(FileError);
    expect(readdirSync(d).sort()).toEqual(['sub.npz', 'taken.npz']);
  });

  it.skipIf(!canMkfifo)('with replace, a FIFO or device is not replaced', () => {
    const f = fifo(at('out-fifo.npz'));
    expect(() => checkOutputPath(f, { replace: true, flag: '--out' })).toThrow(`--out ${f}: expected a regular file to replace, got a FIFO`);
  });

  it.skipIf(!readOnly)('a directory that refuses new files is found by trying, not from mode bits', () => {
    const p = join(readOnly!, 'x.json');
    expect(() => checkOutputPath(p, { replace: true, flag: '--junit' })).toThrow(
      new RegExp(
        `^--junit ${p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: expected a writable directory, got ${readOnly} \\(creating a file there fails: E[A-Z]+\\)$`,
      ),
    );
  });
});

/** Spawn the built CLI without waiting. */
function start(args: string[]) {
  const child = spawn(process.execPath, [bin, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c) => (stdout += c));
  child.stderr.on('data', (c) => (stderr += c));
  const done = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>((resolve) => {
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
  return { child, done };
}

describe.skipIf(!built)('concurrent exports to one name (item 11)', () => {
  it("four exports without --force: exactly one writes, three exit 2, the file is the winner's whole fixture", async () => {
    const d = at('race');
    mkdirSync(d);
    const out = join(d, 'big.npz');
    // Four racers race as eight did: each computes ~0.5 s of CPU (a 1M-element relu, 32 MB to
    // write) after its up-front check of --out, so all are in flight at once (on two loaded cores
    // all four probe files came by ~0.9 s, the first commit at 2-3 s). The watch asserts it: every
    // racer had passed that check (its probe file, named by its pid) before the first commit.
    const events: string[] = [];
    const watcher = watch(d, (_event, name) => events.push(String(name)));
    const runs = Array.from({ length: 4 }, (_, i) => start(['export', 'relu', '--x-shape', '100,1000,10', '--seed', String(i + 1), '--out', out]));
    const results = await Promise.all(runs.map((r) => r.done));
    watcher.close();
    const beforeCommit = events.slice(0, events.indexOf('big.npz'));
    const checked = new Set(beforeCommit.filter((n) => n.endsWith('.probe')).map((n) => n.split('.')[3]));
    expect(checked, 'every racer checked --out before the first commit').toEqual(new Set(runs.map((r) => String(r.child.pid))));
    const winners = results.filter((r) => r.code === 0);
    expect(winners).toHaveLength(1);
    const losers = results.filter((r) => r.code !== 0);
    expect(losers.map((r) => r.code)).toEqual(Array(3).fill(2));
    for (const r of losers) expect(r.stderr).toBe(`cnn-check: --out ${out}: already exists: expected a new path, or --force to overwrite it\n`);
    const seed = /\(seed (\d+)\)/.exec(winners[0].stdout)![1];
    const meta = readNpz(new Uint8Array(readFileSync(out))).get('x');
    expect(meta && 'shape' in meta ? meta.shape : null).toEqual([100, 1000, 10]);
    expect(Number(seed)).toBeGreaterThan(0);
    expect(temps(d)).toEqual([]);
  }, 60_000);

  it('with --force every export succeeds and the file is one whole fixture', async () => {
    const d = at('race-force');
    mkdirSync(d);
    const out = join(d, 'f.npz');
    const results = await Promise.all(Array.from({ length: 4 }, (_, i) => start(['export', 'conv', '--seed', String(i), '--out', out, '--force']).done));
    expect(results.map((r) => r.code)).toEqual([0, 0, 0, 0]);
    expect([...readNpz(new Uint8Array(readFileSync(out))).keys()]).toEqual(['meta', 'x', 'w', 'b', 'dout', 'out', 'dx', 'dw', 'db']);
    expect(temps(d)).toEqual([]);
  }, 60_000);
});

describe.skipIf(!built || process.platform === 'win32')('an interrupted export (item 12)', () => {
  // Its x and dout: one .npy of 4M float64 (a ramp through 0), made once for both signals. What is
  // written does not matter here, only how much; drawing 8M random numbers cost each export ~0.4 s.
  let input: string | undefined;
  function inputFile(): string {
    if (input) return input;
    const path = at('interrupt-input.npy');
    const fd = openSync(path, 'w');
    try {
      writeSync(fd, npyPreamble('(400, 1000, 10)'));
      writeSync(fd, new Uint8Array(new Float64Array(4_000_000).map((_, i) => i / 4_000_000 - 0.5).buffer));
    } finally {
      closeSync(fd);
    }
    input = path;
    return path;
  }

  for (const [signal, code] of [
    ['SIGINT', 130],
    ['SIGTERM', 143],
  ] as const) {
    it(`${signal} while the file is written: no .tmp is left, and the process ends by ${signal} (a shell's ${code})`, async () => {
      const d = at(`interrupt-${signal}`);
      mkdirSync(d);
      const out = join(d, 'big.npz');
      // 4 arrays of 4M float64: 128 MB to write and flush, long enough to be caught in the act.
      const run = start(['export', 'relu', '--input', `x=${inputFile()}`, '--input', `dout=${inputFile()}`, '--out', out]);
      let sent = false;
      const watcher = watch(d, (_event, name) => {
        if (!sent && name?.toString().endsWith('.tmp')) {
          sent = true;
          run.child.kill(signal);
        }
      });
      const r = await run.done;
      watcher.close();
      expect(sent).toBe(true);
      expect(r.signal).toBe(signal);
      expect(r.code).toBeNull();
      expect(temps(d)).toEqual([]);
      // What is there is whole: either nothing, or the complete fixture (the write finished first).
      if (existsSync(out)) expect([...readNpz(new Uint8Array(readFileSync(out))).keys()]).toEqual(['meta', 'x', 'dout', 'out', 'dx']);
    }, 60_000);
  }
});

describe.skipIf(!built)('output paths are checked before computing (item 13)', () => {
  // A naive conv at this size takes tens of seconds: a check after it would show in the time.
  const slow = ['conv', '--x-shape', '32,64,32,32', '--w-shape', '64,64,3,3'];

  it('export --out that exists, in a missing directory, or that is a directory: refused at once', async () => {
    const taken = at('taken.npz');
    writeFileSync(taken, 'x');
    expect(refusedLine(await cli(['export', ...slow, '--out', taken]))).toBe(
      `cnn-check: --out ${taken}: already exists: expected a new path, or --force to overwrite it`,
    );
    const missing = at('no/such/dir/x.npz');
    expect(refusedLine(await cli(['export', ...slow, '--out', missing]))).toBe(`cnn-check: --out ${missing}: directory ${at('no/such/dir')} does not exist`);
    const sub = at('sub.npz');
    mkdirSync(sub);
    expect(refusedLine(await cli(['export', ...slow, '--out', sub, '--force']))).toBe(`cnn-check: --out ${sub}: is a directory: expected a file path`);
  });

  it.skipIf(!readOnly)('export, --junit, --report and bench --save into a read-only directory: refused before running', async () => {
    const ro = readOnly!;
    const line = (flag: string, file: string) =>
      new RegExp(`^cnn-check: ${flag} ${ro}/${file}: expected a writable directory, got ${ro} \\(creating a file there fails: E[A-Z]+\\)$`);
    expect(refusedLine(await cli(['export', ...slow, '--out', `${ro}/x.npz`]))).toMatch(line('--out', 'x.npz'));
    const suite = await cli(['suite', '--junit', `${ro}/junit.xml`]);
    expect(refusedLine(suite)).toMatch(line('--junit', 'junit.xml'));
    expect(suite.stdout).not.toMatch(/PASS/);
    expect(refusedLine(await cli([...slow, '--report', `${ro}/r.html`]))).toMatch(line('--report', 'r.html'));
    expect(refusedLine(await cli(['bench', 'conv', '--repeat', '1', '--save', `${ro}/b.json`]))).toMatch(line('--save', 'b.json'));
  });

  it('the probe file of the check is gone afterwards', () => {
    const d = at('probe');
    mkdirSync(d);
    checkOutputPath(join(d, 'x.npz'), { replace: false, flag: '--out' });
    expect(readdirSync(d)).toEqual([]);
    rmSync(d, { recursive: true });
  });
});
