/**
 * The mistakes numpy users make, each planted in a real numpy module (test/impls/python/bug_*.py,
 * the correct cs231n-style code with one bug), found through `--impl` and through `compare` of a
 * fixture the module's results were saved in (make_fixtures.py, as a notebook saves them): the
 * failing array, the hint and the exit code. One Python process serves every --impl run of the
 * file (a module kept open holds it). Needs python3 with numpy (the project's CI has both).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { loadPythonModule } from '../../src/impls/python/load.js';
import { run } from '../helpers/io.js';

// Each test starts or reuses a Python process: a loaded machine takes seconds for what takes a fraction.
vi.setConfig({ testTimeout: 60_000 });

const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));
const py = (name: string) => relative(process.cwd(), here(`./python/${name}`));

// Keeps the Python process of the file alive between the CLI runs.
const keeper = loadPythonModule(here('./python/cs231n/layers.py'));
afterAll(() => keeper.close());

interface Hint {
  kind: string;
  message: string;
}
interface ArrayRow {
  name: string;
  pass: boolean;
  message?: string;
  localization?: { hint: Hint | null; top: unknown[] };
}
interface GradRow {
  impl: string;
  name: string;
  pass: boolean;
  localization?: { hint: Hint | null };
}

/** The failing arrays of the comparison with their hint kinds, the failing gradient rows with theirs, and the exit code. */
async function check(argv: string[]) {
  const r = await run([...argv, '--repeat', '0', '--json']);
  expect(r.stderr).toBe('');
  const doc = JSON.parse(r.stdout);
  const arrays: ArrayRow[] = doc.comparisons[0].arrays.filter((a: ArrayRow) => !a.pass);
  const grads: GradRow[] = doc.gradients.filter((g: GradRow) => !g.pass);
  return {
    code: r.code,
    arrays: Object.fromEntries(arrays.map((a) => [a.name, a.localization?.hint?.kind ?? null])),
    hints: arrays.map((a) => a.localization?.hint?.message ?? ''),
    gradients: Object.fromEntries(grads.map((g) => [`${g.impl} ${g.name}`, g.localization?.hint?.kind ?? null])),
    gradientHints: grads.map((g) => g.localization?.hint?.message ?? ''),
    doc,
  };
}

const SMALL_CONV = ['--x-shape', '2,3,4,4'];

describe('--impl: each mistake fails with its array, its hint and exit 1', () => {
  it('dx cropped as pad:-pad, empty at pad = 0', async () => {
    const r = await check(['conv', '--impl', py('bug_dx_crop.py'), '--pad', '0', '--x-shape', '2,3,5,5']);
    expect(r.code).toBe(1);
    expect(r.arrays).toEqual({ dx: 'empty-crop' });
    expect(r.hints[0]).toContain('a crop written dxp[:, :, pad:-pad, pad:-pad] is empty when pad = 0');
    expect(r.doc.comparisons[0].arrays.find((a: ArrayRow) => a.name === 'dx').message).toBe("dx has shape (2, 3, 0, 0), expected the reference's (2, 3, 5, 5)");
  });

  it('the bias forgotten in the forward pass: out differs (bias-missing), and the gradient check finds db of an unused input', async () => {
    const r = await check(['conv', '--impl', py('bug_no_bias.py'), ...SMALL_CONV]);
    expect(r.code).toBe(1);
    expect(r.arrays).toEqual({ out: 'bias-missing' });
    expect(r.hints[0]).toBe("your out equals the reference's computed with b = 0: the bias is not added in the forward pass (out = ... + b[f])");
    expect(r.gradients).toEqual({ 'py:naive db': 'unused-input' });
  });

  it('db averaged over N*Hout*Wout: the factor, in the comparison and the gradient check', async () => {
    const r = await check(['conv', '--impl', py('bug_db_averaged.py'), ...SMALL_CONV]);
    expect(r.code).toBe(1);
    expect(r.arrays).toEqual({ db: 'factor' });
    expect(r.hints[0]).toMatch(/^your db = the reference \/ 32 .*and 32 = N\*Hout\*Wout: averaged over N\*Hout\*Wout instead of summed\?$/);
    expect(r.gradients).toEqual({ 'py:naive db': 'factor' });
  });

  it("dw not accumulated over the batch: the last sample's alone", async () => {
    const r = await check(['conv', '--impl', py('bug_dw_not_accumulated.py'), ...SMALL_CONV]);
    expect(r.code).toBe(1);
    expect(r.arrays).toEqual({ dw: 'one-sample' });
    expect(r.hints[0]).toContain(
      'your dw is the gradient of sample 1 alone (the last of N = 2): assigned in the loop over samples (dw = ...) instead of accumulated (dw += ...)',
    );
  });

  it('the stride ignored along W, in forward and backward alike: the gradient check passes, the comparison does not', async () => {
    const r = await check(['conv', '--impl', py('bug_stride_w.py'), '--stride', '2', '--x-shape', '2,3,5,5']);
    expect(r.code).toBe(1);
    expect(r.gradients).toEqual({});
    expect(r.arrays).toEqual({ out: 'stride-axis', dx: 'stride-axis', dw: 'stride-axis' });
    expect(r.hints[0]).toContain('match a conv whose stride is ignored along W');
  });

  it('a flipped kernel in forward and backward alike: found by the comparison only', async () => {
    const r = await check(['conv', '--impl', py('bug_flipped.py'), ...SMALL_CONV]);
    expect(r.code).toBe(1);
    expect(r.gradients).toEqual({});
    expect(r.arrays).toEqual({ out: 'flipped-kernel', dx: 'flipped-kernel', dw: 'flipped-kernel' });
    expect(r.hints[0]).toContain('a convolution with the kernel flipped (HH and WW reversed)');
  });

  it('spatial batchnorm reshaped without the transpose', async () => {
    const r = await check(['spatial-batchnorm', '--impl', py('bug_sbn_reshape.py')]);
    expect(r.code).toBe(1);
    expect(Object.values(r.arrays).every((k) => k === 'reshape-without-transpose')).toBe(true);
    expect(Object.keys(r.arrays)).toEqual(['out', 'running_mean_after', 'running_var_after', 'dx', 'dgamma', 'dbeta']);
    expect(r.hints[0]).toContain('x.transpose(0, 2, 3, 1).reshape(-1, C)');
  });

  it('group norm with interleaved groups', async () => {
    const r = await check(['spatial-groupnorm', '--impl', py('bug_gn_interleaved.py')]);
    expect(r.code).toBe(1);
    expect(r.arrays).toEqual({ out: 'interleaved-groups', dx: 'interleaved-groups', dgamma: 'interleaved-groups' });
    expect(r.hints[0]).toContain('channel c in group c // (C // G)');
  });

  it('running variance with ddof=1', async () => {
    const r = await check(['batchnorm', '--impl', py('bug_ddof.py')]);
    expect(r.code).toBe(1);
    expect(r.arrays).toEqual({ running_var_after: 'unbiased-running-var' });
    expect(r.hints[0]).toContain('unbiased batch variance (ddof=1, the variance times M/(M-1), M = 4)');
  });

  it('test mode using the batch statistics', async () => {
    const r = await check(['batchnorm', '--impl', py('bug_test_mode.py'), '--mode', 'test']);
    expect(r.code).toBe(1);
    expect(r.arrays.out).toBe('test-mode-batch-stats');
    expect(r.arrays.running_mean_after).toBe('test-mode-batch-stats');
    expect(r.hints[0]).toMatch(/^in test mode your out, .*equal the train-mode result/);
  });

  it('the text report shows where the array differs, with the heatmap and the hint', async () => {
    const r = await run(['conv', '--impl', py('bug_flipped.py'), ...SMALL_CONV, '--repeat', '0']);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/where py:naive out differs from the reference \(64 elements\):\n\d+ of 64 elements wrong \(rel error > 1\.00e-6\)/);
    expect(r.stdout).toMatch(/│ element +│ py:naive +│ reference +│ abs error │ rel error │/);
    expect(r.stdout).toContain('|error| over the last two axes at (');
    expect(r.stdout).toContain('hint: your out, dx and dw are those of a convolution with the kernel flipped');
  });
});

describe('compare: fixtures saved from the mistake modules get the same diagnosis', () => {
  let dir = '';
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'cnn-check-mistakes-'));
    const r = spawnSync('python3', [here('./python/make_fixtures.py'), dir], { encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.stdout.trim()).toBe('ok');
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('every fixture: the failing arrays, their hints, exit 1', async () => {
    const names = [
      'correct',
      'bug_dx_crop',
      'bug_no_bias',
      'bug_db_averaged',
      'bug_dw_not_accumulated',
      'bug_stride_w',
      'bug_flipped',
      'bug_sbn_reshape',
      'bug_gn_interleaved',
      'bug_ddof',
      'bug_test_mode',
      'bn_saved_after',
    ];
    const r = await run(['compare', ...names.map((n) => join(dir, `${n}.npz`)), '--json']);
    expect(r.code).toBe(1);
    const doc = JSON.parse(r.stdout);
    const found = Object.fromEntries(
      doc.fixtures.map((f: { path: string; arrays: ArrayRow[] }) => [
        f.path.replace(/^.*[\\/]/, '').replace('.npz', ''),
        Object.fromEntries(f.arrays.filter((a) => !a.pass).map((a) => [a.name, a.localization?.hint?.kind ?? null])),
      ]),
    );
    const each = (kind: string, ...arrays: string[]) => Object.fromEntries(arrays.map((a) => [a, kind]));
    expect(found).toEqual({
      correct: {},
      bug_dx_crop: { dx: 'empty-crop' },
      bug_no_bias: { out: 'bias-missing' },
      bug_db_averaged: { db: 'factor' },
      bug_dw_not_accumulated: { dw: 'one-sample' },
      bug_stride_w: each('stride-axis', 'out', 'dx', 'dw'),
      bug_flipped: each('flipped-kernel', 'out', 'dx', 'dw'),
      bug_sbn_reshape: each('reshape-without-transpose', 'running_mean_after', 'running_var_after', 'out', 'dx', 'dgamma', 'dbeta'),
      bug_gn_interleaved: each('interleaved-groups', 'out', 'dx', 'dgamma'),
      bug_ddof: { running_var_after: 'unbiased-running-var' },
      bug_test_mode: each('test-mode-batch-stats', 'running_mean_after', 'running_var_after', 'out', 'dx', 'dgamma'),
      bn_saved_after: each('running-stats-saved-after', 'running_mean_after', 'running_var_after'),
    });
    const saved = doc.fixtures
      .find((f: { path: string }) => f.path.endsWith('bn_saved_after.npz'))
      .arrays.find((a: ArrayRow) => a.name === 'running_mean_after');
    expect(saved.localization.hint.message).toBe(
      "the fixture's input running_mean equals its running_mean_after: it was saved after the forward pass updated bn_param in place; " +
        'save the value from before the call (bn_param["running_mean"].copy() taken before the forward pass)',
    );
  });

  it('the text report: the count of wrong elements, the worst ones, groups, heatmap and hint for each failing array', async () => {
    const r = await run(['compare', join(dir, 'bug_db_averaged.npz'), join(dir, 'bug_dx_crop.npz')]);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('where fixture db differs from the reference (2 elements):\n2 of 2 elements wrong (rel error > 1.00e-6)');
    expect(r.stdout).toMatch(/│ element │ fixture +│ reference +│ abs error │ rel error │/);
    expect(r.stdout).toContain(
      "hint: the fixture's db = the reference / 100 for all 2 checked elements, and 100 = N*Hout*Wout: averaged over N*Hout*Wout instead of summed?",
    );
    expect(r.stdout).toContain("hint: the fixture's dx has shape (4, 3, 0, 0), with an empty spatial axis, and pad = 0");
  });

  it('--report: the page holds the heatmap and the hint of a failing fixture array', async () => {
    const page = join(dir, 'report.html');
    const r = await run(['compare', join(dir, 'bug_flipped.npz'), '--report', page]);
    expect(r.code).toBe(1);
    const html = (await import('node:fs')).readFileSync(page, 'utf8');
    expect(html).toContain('where fixture out differs from the reference');
    expect(html).toContain('<svg class="heatmap"');
    expect(html).toContain('hint: the fixture&#39;s out, dx and dw are those of a convolution with the kernel flipped');
  });
});
