/**
 * `cnn-check suite` and the CI outputs of every checking command: the summary table, exit codes,
 * strict suite files, `--print`, `--junit` (parsed back as XML), `--report` on the layer
 * commands, `compare`, `suite` and `bench`, overwrite semantics, and suite progress.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LAYERS } from '../../src/layers/registry.js';
import { defaultSuiteEntries } from '../../src/suite/default.js';
import { resolveSuite } from '../../src/suite/schema.js';
import { createProgressLine, renderBar, renderSuiteProgress } from '../../src/cli/progress.js';
import type { SuiteProgress } from '../../src/suite/run.js';
import { esc } from '../../src/report/html.js';
import { run, type RunResult } from '../helpers/io.js';

const dir = mkdtempSync(join(tmpdir(), 'cnn-check-suite-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const parser = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '', htmlEntities: true, isArray: (n) => ['testsuite', 'testcase'].includes(n) });
interface Junit {
  testsuites: {
    tests: string;
    failures: string;
    testsuite: { name: string; tests: string; failures: string; testcase: { name: string; failure?: { message: string } }[] }[];
  };
}
function readJunit(path: string): Junit {
  const xml = readFileSync(path, 'utf8');
  expect(XMLValidator.validate(xml)).toBe(true);
  return parser.parse(xml);
}

function suiteFile(name: string, doc: unknown): string {
  const path = join(dir, name);
  writeFileSync(path, typeof doc === 'string' ? doc : JSON.stringify(doc));
  return path;
}

const count = (s: string, needle: string) => s.split(needle).length - 1;

describe('cnn-check suite (the built-in suite)', () => {
  let r: RunResult;
  const junit = join(dir, 'default.xml');
  const report = join(dir, 'default.html');
  const expected = resolveSuite(defaultSuiteEntries(), 'default');
  beforeAll(async () => {
    r = await run(['suite', '--json', '--junit', junit, '--report', report]);
  }, 180_000);

  it('passes every check and prints one JSON document', () => {
    expect(r.code).toBe(0);
    // stderr is not a terminal: the estimate, no progress.
    expect(r.stderr).toMatch(new RegExp(`^cnn-check suite: ${defaultSuiteEntries().length} checks, estimated [\\d.]+ s\\n$`));
    const doc = JSON.parse(r.stdout);
    expect(doc).toMatchObject({ source: 'default', pass: true, failedChecks: 0, failedGradients: 0 });
    expect(doc.checks.map((c: { name: string }) => c.name)).toEqual(expected.map((c) => c.name));
    for (const c of doc.checks) {
      expect(c.pass).toBe(true);
      expect(c.worst.relError).toBeLessThanOrEqual(c.worst.threshold);
      expect(c.report.gradients.length).toBe(c.gradients);
    }
    expect(doc.gradients).toBe(doc.checks.reduce((n: number, c: { gradients: number }) => n + c.gradients, 0));
  });

  it('covers every registered layer, in float32 and in sampled and directional mode', () => {
    const doc = JSON.parse(r.stdout);
    for (const l of LAYERS) {
      const mine = doc.checks.filter((c: { layer: string }) => c.layer === l.name);
      expect(mine.length, l.name).toBeGreaterThanOrEqual(4);
      expect(mine.map((c: { checkMode: string }) => c.checkMode)).toEqual(expect.arrayContaining(['auto', 'sampled', 'directional']));
      if (l.impls.fast)
        expect(
          mine.some((c: { dtype: string }) => c.dtype === 'float32'),
          l.name,
        ).toBe(true);
    }
    const sampledConv = doc.checks.find((c: { layer: string; checkMode: string }) => c.layer === 'conv' && c.checkMode === 'sampled');
    expect(sampledConv.shapes.x).toEqual([16, 3, 20, 20]);
    expect(sampledConv.report.gradients.find((g: { name: string }) => g.name === 'dx').mode).toBe('sampled');
  });

  it('writes JUnit XML with one testsuite per check and one testcase per gradient', () => {
    const doc = readJunit(junit);
    const checks = JSON.parse(r.stdout).checks;
    expect(doc.testsuites.testsuite.map((s) => s.name)).toEqual(checks.map((c: { name: string }) => c.name));
    expect(doc.testsuites.testsuite.map((s) => s.testcase.length)).toEqual(checks.map((c: { gradients: number }) => c.gradients));
    expect(doc.testsuites.failures).toBe('0');
    expect(Number(doc.testsuites.tests)).toBe(JSON.parse(r.stdout).gradients);
  });

  it('writes the HTML report with the summary table and a chart of the times', () => {
    const html = readFileSync(report, 'utf8');
    const table = html.slice(html.indexOf('<table class="summary">'), html.indexOf('</table>', html.indexOf('<table class="summary">')));
    expect(count(table, '<tr')).toBe(1 + expected.length);
    expect(count(html, '<svg class="chart timing"')).toBe(1);
    expect(count(html, '<details class="check">')).toBe(expected.length);
    expect(html).not.toContain('<script');
  });
});

describe('cnn-check suite FILE', () => {
  it('prints one summary table: check, gradients, worst rel error, threshold, time, status', async () => {
    const file = suiteFile('small.json', [
      { layer: 'conv', params: { stride: 2 } },
      { name: 'relu in float32', layer: 'relu', dtype: 'float32' },
    ]);
    const r = await run(['suite', file]);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/^cnn-check suite: 2 checks, estimated [\d.]+ s\n$/);
    expect(r.stdout).toContain(`cnn-check suite  ${file}: 2 checks`);
    expect(r.stdout).toMatch(/│ # │ check +│ gradients │ worst rel error +│ threshold │ +time │ status │/);
    expect(r.stdout).toMatch(/│ 1 │ conv stride=2 +│ 6 pass +│ \d\.\d\de-\d+ \((naive|fast) d[xwb]\) +│ +1\.00e-7 │ +\d+\.\d\d s │ pass +│/);
    expect(r.stdout).toMatch(/│ 2 │ relu in float32 +│ 2 pass +│ \d\.\d\de-\d+ \((naive|fast) dx\) +│/);
    expect(r.stdout).toMatch(/PASS: 2 checks, 8 gradient checks within threshold \(\d+\.\d s\)\n$/);
  });

  it('a failing check exits 1 and says where, with the numbers', async () => {
    const file = suiteFile('failing.json', [{ layer: 'relu' }, { name: 'batchnorm, h far too large', layer: 'batchnorm', h: 0.5, impls: ['naive'] }]);
    const junit = join(dir, 'failing.xml');
    const r = await run(['suite', file, '--junit', junit]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/│ 2 │ batchnorm, h far too large │ 1 of 3 fail +│ \d\.\d\de-\d \(naive dx\) +│ +1\.00e-5 │ .* │ FAIL +│/);
    expect(r.stdout).toContain('FAIL 2. batchnorm, h far too large');
    expect(r.stdout).toMatch(/ {2}naive dx: rel error \d\.\d\de-\d > 1\.00e-5 at \(\d, \d\): -?[\d.]+ \/ -?[\d.]+/);
    expect(r.stdout).toMatch(/FAIL: 1 of 2 checks failed, 1 of 5 gradient checks \(\d+\.\d s\)\n$/);
    const doc = readJunit(junit);
    expect(doc.testsuites).toMatchObject({ tests: '5', failures: '1' });
    const bad = doc.testsuites.testsuite[1].testcase.find((t) => t.failure)!;
    expect(bad.name).toBe('naive dx');
    expect(bad.failure!.message).toMatch(
      /^rel error \d\.\d\de-\d > threshold 1\.00e-5; worst element \(\d, \d\): analytic -?[\d.]+, numeric -?[\d.]+; max abs error /,
    );
    const json = JSON.parse((await run(['suite', file, '--json'])).stdout);
    expect(json).toMatchObject({ pass: false, failedChecks: 1, failedGradients: 1, gradients: 5 });
    expect(json.checks[1].worst).toMatchObject({ impl: 'naive', name: 'dx', threshold: 1e-5 });
  });

  it('an invalid suite exits 2 with one line naming the entry and the field, and runs nothing', async () => {
    const junit = join(dir, 'never.xml');
    const file = suiteFile('invalid.json', [{ layer: 'relu' }, { layer: 'conv', params: { stride: 0 } }]);
    const r = await run(['suite', file, '--junit', junit]);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe(`cnn-check: ${file}[1] (conv): params.stride: expected an integer >= 1, got 0\n`);
    expect(existsSync(junit)).toBe(false);
  });

  it.each([
    ['not JSON', '[{"layer": "conv"', /: not valid JSON: /],
    ['an unknown field', [{ layer: 'conv', samples: 4, sample: 4 }], /\[0\]: unknown field 'sample': expected name, layer, /],
    ['a missing file', null, /missing\.json: no such file or directory: expected a JSON suite file$/],
  ])('%s exits 2', async (_what, doc, message) => {
    const file = doc === null ? join(dir, 'missing.json') : suiteFile('bad.json', doc);
    const r = await run(['suite', file]);
    expect(r.code).toBe(2);
    expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(r.stderr.trimEnd()).toMatch(message);
  });

  it('--print writes the suite as a file to start from and runs nothing', async () => {
    const r = await run(['suite', '--print']);
    expect(r.code).toBe(0);
    const entries = JSON.parse(r.stdout);
    expect(entries.length).toBe(defaultSuiteEntries().length);
    expect(entries[0]).toEqual({ name: 'conv (defaults)', layer: 'conv', params: { stride: 1, pad: 1 }, checkMode: 'auto', dtype: 'float64', seed: 231 });
    const file = suiteFile('printed.json', entries);
    const again = await run(['suite', file, '--print']);
    expect(JSON.parse(again.stdout)).toEqual(entries);
    expect((await run(['suite', '--print', '--junit', join(dir, 'x.xml')])).code).toBe(2);
  });
});

describe('--junit and --report files', () => {
  const small = () => suiteFile('one.json', [{ layer: 'relu' }]);

  it('refuse a path without the right extension, or in a missing directory, before running', async () => {
    const a = await run(['suite', small(), '--junit', join(dir, 'report.json')]);
    expect(a.code).toBe(2);
    expect(a.stdout).toBe('');
    expect(a.stderr).toBe(`cnn-check: --junit: expected a path ending in .xml, got '${join(dir, 'report.json')}'\n`);
    const b = await run(['conv', '--report', join(dir, 'fixture.npz')]);
    expect(b.code).toBe(2);
    expect(b.stderr).toBe(`cnn-check: --report: expected a path ending in .html or .htm, got '${join(dir, 'fixture.npz')}'\n`);
    const c = await run(['suite', small(), '--report', join(dir, 'no', 'such', 'r.html')]);
    expect(c.code).toBe(2);
    expect(c.stderr).toMatch(/^cnn-check: --report .*r\.html: directory .*such does not exist\n$/);
  });

  it('replace an existing report (regenerated by every CI run), atomically: no temporary file is left', async () => {
    const sub = mkdtempSync(join(dir, 'overwrite-'));
    const junit = join(sub, 'junit.xml');
    const report = join(sub, 'report.html');
    writeFileSync(junit, 'old');
    writeFileSync(report, 'old');
    const r = await run(['suite', small(), '--junit', junit, '--report', report]);
    expect(r.code).toBe(0);
    expect(readJunit(junit).testsuites.testsuite[0].name).toBe('relu (defaults)');
    expect(readFileSync(report, 'utf8')).toMatch(/^<!DOCTYPE html>/);
    expect(readdirSync(sub).sort()).toEqual(['junit.xml', 'report.html']);
  });

  it('a layer command writes JUnit (one testcase per gradient) and the report', async () => {
    const junit = join(dir, 'conv.xml');
    const report = join(dir, 'conv.html');
    const r = await run(['conv', '--stride', '2', '--repeat', '2', '--junit', junit, '--report', report]);
    expect(r.code).toBe(0);
    const doc = readJunit(junit);
    expect(doc.testsuites.testsuite).toHaveLength(1);
    expect(doc.testsuites.testsuite[0]).toMatchObject({ name: 'conv stride=2 pad=1', tests: '6', failures: '0' });
    expect(doc.testsuites.testsuite[0].testcase.map((t) => t.name)).toEqual(['naive dx', 'naive dw', 'naive db', 'fast dx', 'fast dw', 'fast db']);
    const html = readFileSync(report, 'utf8');
    expect(html).toContain('<title>cnn-check conv stride=2 pad=1</title>');
    expect(count(html, '<table class="gradients">')).toBe(1);
    expect(count(html, '<table class="timing">')).toBe(1);
    expect(count(html, '<svg class="chart timing"')).toBe(1);
  });

  it('a failing layer command puts its heatmap in the report', async () => {
    const report = join(dir, 'bn.html');
    // h = 0.5 is far too large for a nonlinear layer: dx fails in both implementations, over (H, W) = (4, 5).
    const r = await run(['spatial-batchnorm', '--h', '0.5', '--repeat', '0', '--report', report]);
    expect(r.code).toBe(1);
    const html = readFileSync(report, 'utf8');
    expect(count(html, '<tr class="fail">')).toBe(2);
    expect(count(html, '<svg class="heatmap"')).toBe(2);
    expect(count(html, '<rect class="cell"')).toBe(2 * 4 * 5);
  });

  it("--impl: the user module's gradients and its arrays against the reference are testcases, annotations and report rows", async () => {
    const example = new URL('../../examples/conv-impl.mjs', import.meta.url).pathname;
    const broken = join(dir, 'conv-broken.mjs');
    writeFileSync(
      broken,
      [
        `import { forward, backward as correct } from ${JSON.stringify(example)};`,
        'export { forward };',
        'export function backward(dout, cache) {',
        '  const g = correct(dout, cache);',
        '  return { ...g, db: { data: g.db.data.map((v) => 2 * v), shape: g.db.shape } };',
        '}',
      ].join('\n'),
    );
    const junit = join(dir, 'impl.xml');
    const report = join(dir, 'impl.html');
    const r = await run(['conv', '--impl', broken, '--repeat', '0', '--junit', junit, '--report', report], { env: { GITHUB_ACTIONS: 'true' } });
    expect(r.code).toBe(1);
    const cases = readJunit(junit).testsuites.testsuite[0].testcase;
    const failed = cases.filter((t) => t.failure).map((t) => t.name);
    expect(failed).toEqual(['user db', 'user vs naive db']);
    const vs = cases.find((t) => t.name === 'user vs naive db')!.failure!.message;
    expect(vs).toMatch(
      /^rel error 3\.33e-1 > threshold 1\.00e-6; worst element \(\d\): user -?[\d.]+, reference -?[\d.]+; 2 of 2 elements wrong; hint: your db = the reference \* 2 for all 2 checked elements/,
    );
    expect(cases.filter((t) => t.name.startsWith('user vs naive ')).map((t) => t.name)).toEqual([
      'user vs naive out',
      'user vs naive dx',
      'user vs naive dw',
      'user vs naive db',
    ]);
    const annotations = r.stdout.split('\n').filter((l) => l.startsWith('::error'));
    expect(annotations).toHaveLength(2);
    expect(annotations[1]).toMatch(/^::error title=cnn-check%3A conv stride=1 pad=1 user db differs from the reference::rel error 3\.33e-1 > /);
    const html = readFileSync(report, 'utf8');
    expect(count(html, '<table class="comparison">')).toBe(1);
    expect(html).toContain(`user (${esc(broken)}) against the reference (naive), same inputs and dout`);
  });

  it('compare --report lists every fixture, the unreadable ones too', async () => {
    const fixtures = new URL('../../fixtures/', import.meta.url).pathname;
    const report = join(dir, 'compare.html');
    const r = await run(['compare', join(fixtures, 'good', 'conv_s2_p1.npz'), join(fixtures, 'bad', 'plain_text.npz'), '--report', report]);
    expect(r.code).toBe(2);
    const html = readFileSync(report, 'utf8');
    expect(count(html, '<table class="arrays">')).toBe(1);
    expect(html).toContain('plain_text.npz: not a zip archive');
    expect(count(html, '<svg class="chart errors"')).toBe(1);
  });

  it('bench --report has the timing table and chart', async () => {
    const report = join(dir, 'bench.html');
    const r = await run(['bench', 'relu', '--x-shape', '2,3,4', '--repeat', '1', '--warmup', '0', '--report', report]);
    expect(r.code).toBe(0);
    const html = readFileSync(report, 'utf8');
    const table = html.slice(html.indexOf('<table class="bench">'), html.indexOf('</table>', html.indexOf('<table class="bench">')));
    expect(count(table, '<tr')).toBe(1 + 2);
    expect(count(html, '<svg class="chart timing"')).toBe(1);
    expect(count(html, '<rect class="bar')).toBe(4);
  });
});

describe('suite progress', () => {
  it('a bar, the check, the gradient and the elapsed time, only after a second, erased at the end', () => {
    let out = '';
    let t = 0;
    const line = createProgressLine<SuiteProgress>({ write: (s: string) => (out += s), isTTY: true }, false, { now: () => t, render: renderSuiteProgress });
    const p: SuiteProgress = {
      index: 3,
      total: 4,
      name: 'conv stride=2',
      check: { impl: 'fast', gradient: 'dw', phase: 'sampled', done: 40, total: 128 } as never,
    };
    t = 500;
    line.update(p);
    expect(out).toBe('');
    t = 1500;
    line.update(p);
    expect(out).toBe(`\r[${'█'.repeat(10)}${'░'.repeat(10)}] 3/4 1.5 s  conv stride=2  fast dw: sampled 40/128\u001b[K`);
    line.done();
    expect(out.endsWith('\r\u001b[K')).toBe(true);
  });

  it('a long check name is cut to the terminal width so that the line never wraps', () => {
    for (const columns of [60, 80, 120]) {
      let out = '';
      let t = 0;
      const line = createProgressLine<SuiteProgress>({ write: (s: string) => (out += s), isTTY: true, columns }, false, {
        now: () => t,
        render: renderSuiteProgress,
      });
      t = 2000;
      line.update({ index: 1, total: 2, name: 'x'.repeat(300) });
      const drawn = out.replace(/^\r/, '').replace(/\u001b\[K$/, '');
      expect([...drawn].length).toBe(columns - 1);
      expect(drawn.startsWith(`[${'░'.repeat(20)}] 1/2 2.0 s  xxx`)).toBe(true);
      expect(drawn.endsWith('x…')).toBe(true);
    }
  });

  it('renderBar', () => {
    expect(renderBar(0, 4, 8)).toBe('░░░░░░░░');
    expect(renderBar(1, 4, 8)).toBe('██░░░░░░');
    expect(renderBar(4, 4, 8)).toBe('████████');
    expect(renderBar(0, 0, 4)).toBe('░░░░');
  });
});
