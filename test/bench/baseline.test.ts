import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { compareToBaseline, readBenchReport, saveReport, type BaselineResult } from '../../src/bench/baseline.js';
import type { BenchResult } from '../../src/bench/run.js';
import { FileError, FormatError } from '../../src/errors.js';

const result = (impl: 'naive' | 'fast', fwd: number, bwd: number, threads = 1): BenchResult => ({
  layer: 'conv',
  impl,
  dtype: 'float64',
  threads,
  shapes: { x: [2, 3, 8, 8], w: [4, 3, 3, 3], b: [4] },
  params: { stride: 1, pad: 1 },
  forwardMs: { median: fwd, min: fwd, max: fwd, samples: 3 },
  backwardMs: { median: bwd, min: bwd, max: bwd, samples: 3 },
  gflops: null,
});

describe('compareToBaseline', () => {
  it('flags medians slower than maxSlowdown x the baseline, pass by pass', () => {
    const baseline: BaselineResult[] = [result('naive', 10, 20), result('fast', 1, 2)];
    const cmp = compareToBaseline([result('naive', 12, 20), result('fast', 1, 5)], baseline, 1.5, 'b.json');
    expect(cmp.rows.map((r) => [r.impl, r.pass, r.ratio, r.ok])).toEqual([
      ['naive', 'forward', 1.2, true],
      ['naive', 'backward', 1, true],
      ['fast', 'forward', 1, true],
      ['fast', 'backward', 2.5, false],
    ]);
    expect(cmp.ok).toBe(false);
    expect(cmp.unmatched).toBe(0);
  });

  it('matches on layer, impl, dtype, threads, shapes and params; counts the rest as unmatched', () => {
    const cmp = compareToBaseline([result('fast', 1, 1, 2), result('naive', 1, 1)], [result('fast', 1, 1, 1)], 1.1, 'b.json');
    expect(cmp.rows).toEqual([]);
    expect(cmp.unmatched).toBe(2);
    expect(cmp.ok).toBe(true);
  });
});

describe('reading reports', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cnn-check-baseline-'));
  const file = (name: string, text: string) => {
    const p = join(dir, name);
    writeFileSync(p, text);
    return p;
  };

  it('reads what bench --json writes', () => {
    const p = file('ok.json', JSON.stringify({ results: [result('fast', 1.5, 2.5)] }));
    const { layer, impl, dtype, threads, shapes, params } = result('fast', 1.5, 2.5);
    expect(readBenchReport(p)).toEqual([{ layer, impl, dtype, threads, shapes, params, forwardMs: { median: 1.5 }, backwardMs: { median: 2.5 } }]);
  });

  it('refuses missing files, non-JSON and malformed records with one-line messages', () => {
    expect(() => readBenchReport(join(dir, 'missing.json'))).toThrow(FileError);
    expect(() => readBenchReport(file('text.json', 'not json'))).toThrow(/expected a JSON report from cnn-check bench --json/);
    expect(() => readBenchReport(file('array.json', '[]'))).toThrow(/expected an object with a "results" array, got an array/);
    const bad = { ...result('fast', 1, 1), forwardMs: { median: 'fast' } };
    expect(() => readBenchReport(file('bad.json', JSON.stringify({ results: [result('naive', 1, 1), bad] })))).toThrow(
      /results\[1\]\.forwardMs\.median: expected a positive number of milliseconds/,
    );
    expect(() => readBenchReport(file('impl.json', JSON.stringify({ results: [{ ...result('fast', 1, 1), impl: 42 }] })))).toThrow(
      /results\[0\]\.impl: expected an implementation name such as "fast", got 42/,
    );
    expect(readBenchReport(file('user.json', JSON.stringify({ results: [{ ...result('fast', 1, 1), impl: 'user' }] })))[0].impl).toBe('user');
    expect(() => readBenchReport(file('zero.json', JSON.stringify({ results: [result('fast', 0, 1)] })))).toThrow(FormatError);
  });
});

describe('saveReport', () => {
  it('writes through a temporary file, refuses to overwrite without force, replaces with it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cnn-check-save-'));
    const p = join(dir, 'report.json');
    saveReport(p, 'first\n', false);
    expect(readFileSync(p, 'utf8')).toBe('first\n');
    expect(() => saveReport(p, 'second\n', false)).toThrow(/--save .*report\.json: already exists: expected a new path, or --force to overwrite it/);
    expect(readFileSync(p, 'utf8')).toBe('first\n');
    saveReport(p, 'third\n', true);
    expect(readFileSync(p, 'utf8')).toBe('third\n');
    expect(readdirSync(dir)).toEqual(['report.json']);
    expect(() => saveReport(join(dir, 'no', 'such', 'dir.json'), 'x', false)).toThrow(FileError);
  });
});
