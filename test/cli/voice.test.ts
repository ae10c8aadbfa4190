/**
 * One voice, at any width: every command's output and help fit an 80- and a 60-column terminal
 * (COLUMNS), every help has examples, the exit codes and its doc page, and commander's own
 * errors read like every other error, pointing at the subcommand's help.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import type { LayerCheckReport } from '../../src/gradcheck/check-layer.js';
import type { GradeReport } from '../../src/grade/grade.js';
import { LAYERS, kebabName } from '../../src/layers/registry.js';
import { renderGradeReport, renderLayerReport } from '../../src/report/terminal.js';
import { run, type RunResult } from '../helpers/io.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'cnn-check-voice-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// eslint-disable-next-line no-control-regex
const visible = (line: string) => [...line.replace(/\u001b\[[0-9;]*m/g, '')].length;
const widest = (text: string) => Math.max(0, ...text.split('\n').map(visible));

const suite = join(dir, 'suite.json');
writeFileSync(
  suite,
  JSON.stringify([
    { name: 'a conv with a long name that would not fit a narrow terminal at all', layer: 'conv', params: { stride: 2 } },
    { layer: 'batchnorm', h: 0.5, impls: ['naive'] },
    { fixture: join(root, 'fixtures', 'good', 'relu.npz') },
  ]),
);

/** A command's --json document rendered as its text output is (the function the command prints with), `width` columns, no colour. */
type Render = (doc: never, width: number) => string;
const layerText: Render = (doc: LayerCheckReport, width) => renderLayerReport(doc, false, width);
const gradeText: Render = (doc: GradeReport, width) => renderGradeReport(doc, false, width);

/**
 * Commands whose output is checked for width: a pass, failures with localization and hints, every table kind.
 * The layer commands and grade print their report through one renderer: what is checked is rendering,
 * so each of them runs once (--json) and its report is rendered at every width. The others, and
 * batchnorm --h 0.5 (a failing layer command), run at every width, so the way from COLUMNS to the
 * renderer is checked too.
 */
const COMMANDS: [string[], Render?][] = [
  ...LAYERS.map((l): [string[], Render] => [[kebabName(l.name), '--repeat', '2'], layerText]),
  [['conv', '--impl', join(root, 'examples', 'conv-impl.mjs'), '--repeat', '1'], layerText],
  [['batchnorm', '--h', '0.5', '--repeat', '0']],
  [['conv', '--h-sweep', '--repeat', '0'], layerText],
  [['list']],
  [['suite', suite]],
  [['compare', join(root, 'fixtures', 'good', 'conv_s1_p1.npz'), join(root, 'fixtures', 'good', 'batchnorm_train.npz')]],
  [['inspect', join(root, 'fixtures', 'good', 'batchnorm_train.npz')]],
  [['bench', 'conv', '--x-shape', '2,3,6,6', '--repeat', '1', '--warmup', '0', '--threads', '1']],
  // grade: the report card, a failure with its hint and its smallest case in full, a tie warning, the timing table.
  [['grade', join(root, 'test', 'grade', 'python', 'bug_dx_crop.py'), '--quick', '--layers', 'conv,affine'], gradeText],
  [['grade', join(root, 'test', 'grade', 'python', 'pool_mask.py'), '--layers', 'maxpool'], gradeText],
];

/** The --json run of a command with a renderer, once for every width. */
const jsonRuns = new Map<string, Promise<RunResult>>();
function jsonRun(argv: string[]): Promise<RunResult> {
  const key = argv.join('\0');
  let r = jsonRuns.get(key);
  if (!r) {
    r = run([...argv, '--json']);
    jsonRuns.set(key, r);
  }
  return r;
}

describe('every output fits the terminal', () => {
  for (const columns of [80, 60]) {
    it.each(COMMANDS.map(([c, render]) => [c.join(' ').replace(root, ''), c, render]))(`${columns} columns: %s`, async (_name, argv, render) => {
      let stdout: string;
      if (render) {
        const r = await jsonRun(argv as string[]);
        expect(r.code, r.stderr).toBeLessThanOrEqual(1);
        stdout = (render as Render)(JSON.parse(r.stdout) as never, columns);
      } else {
        const r = await run(argv as string[], { env: { COLUMNS: String(columns) } });
        expect(r.code, r.stderr).toBeLessThanOrEqual(1);
        stdout = r.stdout;
      }
      expect(stdout.length).toBeGreaterThan(0);
      const over = stdout.split('\n').filter((l) => visible(l) > columns);
      expect(over, over.join('\n')).toEqual([]);
    });
  }

  it('colour does not change the widths (FORCE_COLOR)', async () => {
    const r = await run(['batchnorm', '--h', '0.5', '--repeat', '0'], { env: { COLUMNS: '80', FORCE_COLOR: '1' } });
    expect(r.stdout).toContain('\u001b[');
    expect(widest(r.stdout)).toBeLessThanOrEqual(80);
  });
});

const HELP: string[][] = [
  [],
  ...LAYERS.map((l) => [kebabName(l.name)]),
  ['compare'],
  ['export'],
  ['export', 'conv'],
  ['inspect'],
  ['suite'],
  ['merge-reports'],
  ['bench'],
  ['list'],
  ['grade'],
];

describe('help that teaches', () => {
  for (const columns of [80, 60]) {
    it.each(HELP.map((h) => [h.join(' ') || '(top level)', h]))(`${columns} columns: %s --help`, async (_name, argv) => {
      const r = await run([...(argv as string[]), '--help'], { env: { COLUMNS: String(columns) } });
      expect(r.code).toBe(0);
      expect(widest(r.stdout)).toBeLessThanOrEqual(columns);
      if ((argv as string[]).join(' ') !== 'export') {
        expect(r.stdout).toMatch(/Exit codes: 0 every check passed, 1 a check\s+failed, 2\s+bad\s+input/);
        expect(r.stdout).toMatch(/Docs: .*docs\//);
      }
      if ((argv as string[]).length && (argv as string[])[0] !== 'export') expect(r.stdout).toMatch(/Examples:\n {2}cnn-check /);
      expect(r.stdout).not.toContain('(default: [])');
    });
  }

  it('a layer command groups its options: params and shapes, inputs, checking, your implementation, output', async () => {
    const r = await run(['conv', '--help']);
    const headings = r.stdout.split('\n').filter((l) => /^[A-Z][A-Za-z ]+:$/.test(l));
    expect(headings).toEqual(['Layer params and shapes:', 'Inputs:', 'Checking:', 'Your implementation:', 'Output:', 'Options:', 'Examples:']);
    expect(r.stdout).toMatch(/--check-mode <mode> +how much of each gradient to evaluate .*: full, sampled,/s);
    expect(r.stdout).toMatch(/--dtype <dtype> +run the layer in float64 or float32 .*: float64, float32 \(default float64\)/s);
  });

  it('group norm takes --groups and --G; the help says which name fixtures and suites use', async () => {
    const r = await run(['spatial-groupnorm', '--help']);
    expect(r.stdout).toMatch(/--groups <n> +number of channel groups/);
    expect(r.stdout).toMatch(/--G <n> +the same as --groups \(G is the name in fixtures and suites\)/);
  });
});

describe('one voice for errors', () => {
  it.each([
    [['conv', '--bogus'], "cnn-check: unknown option '--bogus' (see cnn-check conv --help)"],
    [['export', 'conv', '--stride'], "cnn-check: option '--stride <n>' argument missing (see cnn-check export conv --help)"],
    [['nosuch'], "cnn-check: unknown command 'nosuch' (see cnn-check --help)"],
    [['compare'], "cnn-check: missing required argument 'path' (see cnn-check compare --help)"],
  ])('%j', async (argv, line) => {
    const r = await run(argv);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe(`${line}\n`);
  });

  it('a missing file reads the same in every command', async () => {
    const missing = join(dir, 'missing');
    const lines = await Promise.all([
      run(['suite', `${missing}.json`]),
      run(['compare', `${missing}.npz`]),
      run(['inspect', `${missing}.npz`]),
      run(['conv', '--impl', `${missing}.mjs`]),
      run(['conv', '--inputs', `${missing}.npz`]),
      run(['bench', 'relu', '--baseline', `${missing}.json`]),
    ]);
    for (const r of lines) {
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(new RegExp(`^cnn-check: .*${missing.replace(/[/.]/g, '\\$&')}\\.\\w+: no such file or directory: expected `));
    }
  });
});
