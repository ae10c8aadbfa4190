/**
 * Buggy copies of a correct layers.py (test/grade/python/bug_*.py: the whole file, one function
 * rewritten the way students get it wrong), graded: every layer with --quick, where exactly the
 * buggy layer must fail, then the buggy layer's whole battery, where the expected cases fail with
 * the expected hint and the failure is shrunk. Max-pool ties: a mask-style backward is a warning,
 * equal shares a pass; a softmax without the max shift passes. One Python process serves the file.
 */
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { gradeModule, type GradeCaseReport, type GradeReport } from '../../src/grade/grade.js';
import { openModule } from '../../src/impls/registry.js';
import type { ImplModule } from '../../src/impls/types.js';

const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));
const py = (name: string) => here(`./python/${name}.py`);

// Keeps the Python process of the file alive between modules.
const keeper = openModule(py('softmax_noshift'), { timeout: 60, label: 'keeper', log: () => {} });
afterAll(() => keeper.close());

/**
 * Grade runs already made, by module and options: tests that inspect the same run (a bug's whole
 * battery, for its own test and for a closer look) share it; the reports are only read.
 */
const graded = new Map<string, GradeReport>();

function grade(name: string, opts: { layers?: string[]; quick?: boolean } = {}): GradeReport {
  const key = JSON.stringify([name, opts.layers ?? null, opts.quick ?? false]);
  const done = graded.get(key);
  if (done) return done;
  let mod: ImplModule | undefined;
  try {
    mod = openModule(py(name), { timeout: 60, label: `${name}.py`, log: () => {} });
    const r = gradeModule(mod, { ...opts, timing: false, label: `${name}.py` });
    graded.set(key, r);
    return r;
  } finally {
    mod?.close();
  }
}

const failing = (r: GradeReport): string[] => r.layers.filter((l) => !l.pass).map((l) => l.layer);
const cases = (r: GradeReport, layer: string): GradeCaseReport[] => r.layers.find((l) => l.layer === layer)!.cases;
const failed = (r: GradeReport, layer: string, fn?: string) =>
  cases(r, layer)
    .filter((c) => !c.pass && (!fn || c.function === fn))
    .map((c) => c.name);

interface Bug {
  module: string;
  layer: string;
  /** The failing cases of the layer's whole battery (of its first function). */
  fails: string[];
  /** A case that must fail with this hint kind (null: no hint expected). */
  at: string;
  hint: string | null;
  /** A fragment of the hint's text. */
  says?: RegExp;
}

const BUGS: Bug[] = [
  { module: 'bug_dx_crop', layer: 'conv', fails: ['pad=0', 'stride=2 rectangular', '1x1 kernel'], at: 'pad=0', hint: 'empty-crop', says: /pad:-pad/ },
  {
    module: 'bug_pool_step',
    layer: 'maxpool',
    fails: ['overlap', 'overlap stride=2', 'rectangular', 'stride=3'],
    at: 'stride=3',
    hint: 'pool-step-size',
    says: /start at \(i\*stride, j\*stride\)/,
  },
  {
    module: 'bug_bn_test_affine',
    layer: 'batchnorm',
    fails: ['test after train', 'test mode'],
    at: 'test mode',
    hint: 'test-mode-no-affine',
    says: /gamma = 1 and beta = 0/,
  },
  {
    module: 'bug_sbn_positions',
    layer: 'spatial_batchnorm',
    fails: ['notebook', 'notebook test after train', 'test after train', 'gamma (1,C,1,1)', 'N=1', 'x*1e3', 'float32'],
    at: 'notebook',
    hint: 'per-position-stats',
    says: /x\.mean\(axis=\(0, 2, 3\)\)/,
  },
  {
    module: 'bug_gn_interleaved',
    layer: 'spatial_groupnorm',
    fails: ['notebook', 'G=3', 'gamma (C,)', 'x*1e3', 'float32'],
    at: 'G=3',
    hint: 'interleaved-groups',
    says: /c \/\/ \(C \/\/ G\)/,
  },
  {
    module: 'bug_dropout_unscaled',
    layer: 'dropout',
    fails: ['notebook', 'p=0.75', '4-d', 'float32'],
    at: 'notebook',
    hint: 'dropout-unscaled',
    says: /times p = 0\.2/,
  },
  { module: 'bug_svm_sum', layer: 'svm_loss', fails: ['notebook', 'margins', 'float32'], at: 'notebook', hint: 'loss-not-averaged', says: /N = 50 times/ },
  { module: 'bug_softmax_sign', layer: 'softmax_loss', fails: ['notebook', 'scores', 'N=1 C=2', 'float32'], at: 'scores', hint: 'sign', says: /sign flip/ },
  {
    module: 'bug_stride_w',
    layer: 'conv',
    fails: ['notebook-forward', 'stride=2', 'stride=3', 'stride=2 rectangular'],
    at: 'stride=2',
    hint: 'stride-axis',
    says: /ignored along W/,
  },
  {
    module: 'bug_db_averaged',
    layer: 'conv',
    fails: [
      'notebook-forward',
      'notebook',
      'pad=0',
      'pad=2',
      'stride=2',
      'stride=3',
      'rectangular',
      'stride=2 rectangular',
      'N=C=F=1',
      '1x1 kernel',
      'float32',
      'large',
    ],
    at: 'notebook',
    hint: 'factor',
    says: /100 = N\*Hout\*Wout/,
  },
  {
    module: 'bug_affine_dx_shape',
    layer: 'affine',
    fails: ['notebook-forward', 'notebook', '4-d', 'N=1 M=1', 'float32'],
    at: 'notebook',
    hint: 'not-reshaped',
    says: /dx\.reshape\(x\.shape\)/,
  },
  {
    module: 'bug_ddof',
    layer: 'batchnorm',
    fails: ['notebook', 'running stats', 'momentum, eps', 'test after train', 'N=2', 'x*1e3', 'float32'],
    at: 'running stats',
    hint: 'unbiased-running-var',
    says: /ddof=1/,
  },
];

describe('a buggy copy of layers.py fails in its buggy layer only, at the cases and with the hint expected', () => {
  it.each(BUGS.map((b) => [b.module, b]))('%s', (_name, bug) => {
    const b = bug as Bug;
    // Every layer, --quick: the notebook cases and one edge case each find the bug, and nothing else fails.
    const quick = grade(b.module, { quick: true });
    expect(failing(quick)).toEqual([b.layer]);
    expect(quick.pass).toBe(false);
    // The buggy layer's whole battery.
    const full = grade(b.module, { layers: [b.layer] });
    const fn = full.layers[0].implementations[0].name;
    expect(failed(full, b.layer, fn)).toEqual(b.fails);
    const at = cases(full, b.layer).find((c) => c.function === fn && c.name === b.at)!;
    expect(at.hintKind ?? null).toBe(b.hint);
    if (b.says) expect(at.hint).toMatch(b.says);
    expect(full.layers[0].summary).toMatch(new RegExp(`^${b.layer}: \\d+/\\d+ cases.* — .*fails at ${b.fails[0].replace(/[()*.]/g, '\\$&')}`));
    // Each failure is shrunk, or shares the shrunk case of an earlier one that failed the same way.
    for (const c of cases(full, b.layer).filter((k) => !k.pass)) expect(c.shrunk, `${c.function} ${c.name}`).toBeDefined();
  });

  it('the pad:-pad crop fails only at pad = 0, shrunk to one element', () => {
    const r = grade('bug_dx_crop', { layers: ['conv'] });
    const conv = cases(r, 'conv');
    for (const c of conv) expect(c.pass, c.name).toBe(c.params.pad !== 0);
    const first = conv.find((c) => c.name === 'pad=0')!;
    expect(first.message).toBe('dx has shape (2, 3, 0, 0), expected (2, 3, 5, 5)');
    const s = first.shrunk as {
      shapes: Record<string, number[]>;
      params: Record<string, number>;
      message: string;
      integer: boolean;
      arrays: { name: string; role: string; shape: number[] }[];
    };
    expect(s.shapes.x).toEqual([1, 1, 1, 1]);
    expect(s.shapes.w).toEqual([1, 1, 1, 1]);
    expect(s.params).toMatchObject({ pad: 0, stride: 1 });
    expect(s.message).toBe('dx has shape (1, 1, 0, 0), expected (1, 1, 1, 1)');
    expect(s.integer).toBe(true);
    expect(s.arrays.map((a) => `${a.name} ${a.role} ${a.shape.join(',')}`)).toEqual([
      'x input 1,1,1,1',
      'w input 1,1,1,1',
      'b input 1',
      'dout dout 1,1,1,1',
      'dx yours 1,1,0,0',
      'dx reference 1,1,1,1',
    ]);
    expect(conv.find((c) => c.name === '1x1 kernel')!.shrunk).toEqual({ sameAs: 'pad=0' });
  });

  it('a pool window stepping by its size raises at overlapping windows that run past the input: an error, shrunk to the same exception', () => {
    const r = grade('bug_pool_step', { layers: ['maxpool'] });
    const overlap = cases(r, 'maxpool').find((c) => c.name === 'overlap')!;
    expect(overlap.status).toBe('error');
    expect(overlap.message).toMatch(/^max_pool_forward_naive raised ValueError: .*\(bug_pool_step\.py:\d+\)$/);
    expect((overlap.shrunk as { message: string }).message).toMatch(/raised ValueError/);
  });
});

describe('max-pool ties are judged as subgradients', () => {
  it('mask = (window == max), the whole dout to every tied maximum: a warning with its explanation, not a failure', () => {
    const r = grade('pool_mask', { layers: ['maxpool'] });
    expect(r.pass).toBe(true);
    const ties = cases(r, 'maxpool').find((c) => c.name === 'ties')!;
    expect(ties.status).toBe('warn');
    expect(ties.pass).toBe(true);
    expect(ties.convention).toBe('whole dout to every tied maximum');
    expect(ties.warnings[0]).toMatch(/gives the whole dout to every tied maximum \(mask = \(window == max\)\), so such a window passes k \* dout back/);
    expect(
      cases(r, 'maxpool')
        .filter((c) => c.status !== 'pass')
        .map((c) => c.name),
    ).toEqual(['ties']);
    expect(r.layers[0].summary).toBe('maxpool: 10/10 cases pass, 1 with a warning');
    expect(r.counts.warnings).toBe(1);
  });

  it('equal shares among tied maxima, and the first maximum (np.argmax): valid splits, passes, the convention named', () => {
    const shares = cases(grade('pool_shares', { layers: ['maxpool'] }), 'maxpool').find((c) => c.name === 'ties')!;
    expect(shares.status).toBe('pass');
    expect(shares.convention).toBe('equal shares');
    expect(shares.info.join('\n')).toMatch(/differs from the reference's \(the first maximum\) at tied windows only, and is a valid split/);
    const first = cases(grade('softmax_noshift', { layers: ['maxpool', 'softmax_loss'] }), 'maxpool').find((c) => c.name === 'ties')!;
    expect(first.status).toBe('pass');
    expect(first.convention).toBe('first maximum');
  });
});

describe('what is not a bug passes', () => {
  it('a softmax without the max shift passes at the scores of the battery', () => {
    // One run grades the module's maxpool (for the tie convention above) and its softmax_loss.
    const r = grade('softmax_noshift', { layers: ['maxpool', 'softmax_loss'] });
    expect(r.layers.map((l) => l.layer)).toEqual(['maxpool', 'softmax_loss']);
    expect(r.layers.find((l) => l.layer === 'softmax_loss')!.pass).toBe(true);
    expect(r.pass).toBe(true);
  });

  it('a batchnorm backward for train mode only, and no batchnorm_backward_alt: passes, the test-mode backward noted', () => {
    const r = grade('bn_train_only');
    expect(r.pass).toBe(true);
    expect(r.layers.map((l) => `${l.layer} ${l.implementations.map((f) => f.name).join(',')}`)).toEqual(['batchnorm py']);
    const test = cases(r, 'batchnorm').find((c) => c.name === 'test mode')!;
    expect(test.mode).toBe('forward only');
    expect(test.info).toEqual([
      'backward in test mode: batchnorm_backward raised NotImplementedError: train mode only (bn_train_only.py:8) (cs231n asks for the backward in train mode only)',
    ]);
  });

  it('a forward without its backward is a failure of that function with what to define; the rest is graded', () => {
    const r = grade('incomplete');
    expect(r.layers.map((l) => l.layer)).toEqual(['conv', 'relu']);
    const [pair] = cases(r, 'conv');
    expect(pair).toMatchObject({ function: 'py:naive', name: 'pair', status: 'error', pass: false });
    expect(pair.message).toBe('conv_forward_naive has no backward: expected conv_backward_naive(dout, cache) returning (dx, dw, db)');
    expect(r.layers.find((l) => l.layer === 'relu')!.pass).toBe(true);
  });
});
