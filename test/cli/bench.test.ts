import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import type { CliIO } from '../../src/cli/io.js';
import { run } from '../helpers/io.js';

/** A tiny conv case timed once, so every run takes milliseconds. */
const TINY = ['bench', 'conv', '--x-shape', '2,3,6,6', '--w-shape', '2,3,3,3', '--repeat', '1', '--warmup', '0', '--threads', '1'];
const dir = mkdtempSync(join(tmpdir(), 'cnn-check-bench-cli-'));

describe('cnn-check bench', () => {
  it('prints a table of naive and fast timings with GFLOP/s and the speedup', async () => {
    const r = await run(TINY);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(/forward ms/);
    expect(r.stdout).toMatch(/GFLOP\/s fwd \/ bwd/);
    expect(r.stdout).toMatch(/x 2,3,6,6 w 2,3,3,3 b 2/);
    expect(r.stdout).toMatch(/naive +│ float64/);
    expect(r.stdout).toMatch(/fast +│ float64/);
    expect(r.stdout).toMatch(/\d+(\.\d)?x/);
    expect(r.stdout).not.toMatch(/\x1b\[/); // not a TTY: no colour
  });

  it('--json prints {results: [...]} with the documented fields', async () => {
    const r = await run([...TINY, '--json', '--dtype', 'both', '--impls', 'fast']);
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.stdout);
    expect(doc.results).toHaveLength(2);
    for (const res of doc.results) {
      expect(Object.keys(res)).toEqual(expect.arrayContaining(['layer', 'impl', 'dtype', 'threads', 'shapes', 'forwardMs', 'backwardMs', 'gflops']));
      expect(Object.keys(res.forwardMs).sort()).toEqual(['max', 'median', 'min', 'samples']);
      expect(res.forwardMs.samples).toBe(1);
      expect(res.gflops.forward).toBeGreaterThan(0);
      expect(res.impl).toBe('fast');
    }
    expect(doc.results.map((x: { dtype: string }) => x.dtype)).toEqual(['float64', 'float32']);
    expect(doc.machine.cores).toBeGreaterThan(0);
  });

  it('marks naive rows estimated from a smaller batch when over --naive-budget', async () => {
    const r = await run([...TINY, '--naive-budget', '1e-9']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/estimated: timed at batch 1, scaled x2/);
  });

  it('--save writes the JSON report and refuses to overwrite it without --force', async () => {
    const file = join(dir, 'save.json');
    const first = await run([...TINY, '--save', file]);
    expect(first.code).toBe(0);
    const saved = JSON.parse(readFileSync(file, 'utf8'));
    expect(saved.results).toHaveLength(2);
    const again = await run([...TINY, '--save', file]);
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/^cnn-check: --save .*save\.json: already exists: expected a new path, or --force to overwrite it\n$/);
    expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual(saved);
    const forced = await run([...TINY, '--save', file, '--force']);
    expect(forced.code).toBe(0);
  });

  it('--baseline exits 1 when a median is slower than --max-slowdown x the baseline, 0 otherwise', async () => {
    const file = join(dir, 'baseline.json');
    expect((await run([...TINY, '--save', file])).code).toBe(0);
    const doc = JSON.parse(readFileSync(file, 'utf8'));
    const scaled = (k: number) => ({
      ...doc,
      results: doc.results.map((r: { forwardMs: { median: number }; backwardMs: { median: number } }) => ({
        ...r,
        forwardMs: { ...r.forwardMs, median: r.forwardMs.median * k },
        backwardMs: { ...r.backwardMs, median: r.backwardMs.median * k },
      })),
    });
    const fast = join(dir, 'doctored-fast.json');
    writeFileSync(fast, JSON.stringify(scaled(1e-6)));
    const slower = await run([...TINY, '--baseline', fast, '--max-slowdown', '2']);
    expect(slower.code).toBe(1);
    expect(slower.stdout).toMatch(/FAIL: 4 of 4 medians slower than 2x the baseline/);
    expect(slower.stdout).toMatch(/SLOWER/);

    const slow = join(dir, 'doctored-slow.json');
    writeFileSync(slow, JSON.stringify(scaled(1e6)));
    const ok = await run([...TINY, '--baseline', slow, '--max-slowdown', '2', '--json']);
    expect(ok.code).toBe(0);
    const out = JSON.parse(ok.stdout);
    expect(out.baseline.ok).toBe(true);
    expect(out.baseline.rows).toHaveLength(4);
  });

  it('shows progress on stderr only when stderr is a terminal', async () => {
    let stderr = '';
    const io: CliIO = { stdout: { write: () => true, isTTY: false }, stderr: { write: (s: string) => (stderr += s), isTTY: true }, env: {} };
    expect(await main(TINY, io)).toBe(0);
    expect(stderr).toMatch(/\[1\/2\] conv naive float64 x 2,3,6,6/);
    expect(stderr).toMatch(/\[2\/2\] conv fast float64/);
    expect(stderr.endsWith('\r\x1b[K')).toBe(true);
  });

  it.each([
    [['--dtype', 'float16'], /--dtype: expected float32, float64 or both, got 'float16'/],
    [['--impls', 'naive,slow'], /--impls: expected a comma-separated list of naive, fast, got 'naive,slow'/],
    [['--threads', '0'], /--threads: expected an integer in \[1, 64\], got '0'/],
    [['--repeat', '0'], /--repeat: expected an integer in \[1, 10000\], got '0'/],
    [['--naive-budget', '-1'], /--naive-budget: expected a number in \(0, 86400\], got '-1'/],
    [['--max-slowdown', '2'], /--max-slowdown: only meaningful with --baseline FILE/],
    [['--force'], /--force: only meaningful with --save FILE/],
    [['--pool-height', '3'], /--pool-height: not a param of conv \(it belongs to maxpool/],
    [['--stride', '0'], /--stride: expected an integer >= 1, got '0'/],
    [['--baseline', join(dir, 'missing.json')], /missing\.json: no such file or directory: expected /],
  ])('bad flags exit 2 with one line: %s', async (extra, message) => {
    const r = await run([...TINY, ...extra]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stdout).toBe('');
  });

  it('refuses unknown layers and mismatched shapes with exit 2', async () => {
    const unknown = await run(['bench', 'convolution', '--repeat', '1']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/unknown layer 'convolution'/);
    const shapes = await run(['bench', 'conv', '--x-shape', '2,3,6,6', '--w-shape', '2,4,3,3', '--repeat', '1']);
    expect(shapes.code).toBe(2);
    expect(shapes.stderr).toMatch(/w channels must equal x channels/);
  });
});
