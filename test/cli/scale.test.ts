/**
 * The CLI side of checks at scale: --check-mode, --samples, --directions, --budget, --dtype and
 * --h-sweep on every layer command, localization in the report and in --json, and progress on
 * stderr for a terminal only.
 */
import { describe, expect, it } from 'vitest';
import { run } from '../helpers/io.js';
import { createProgressLine } from '../../src/cli/progress.js';

const ESC = '\u001b[';
const json = async (argv: string[]) => {
  const r = await run([...argv, '--json']);
  return { ...r, doc: JSON.parse(r.stdout) };
};

describe('--check-mode', () => {
  it('sampled: --samples elements per input, coverage in the report', async () => {
    const { code, doc } = await json(['conv', '--check-mode', 'sampled', '--samples', '20', '--repeat', '0']);
    expect(code).toBe(0);
    expect(doc.mode).toBe('sampled');
    for (const g of doc.gradients) {
      expect(g.mode).toBe('sampled');
      expect(g.checked).toBe(Math.min(20, g.total));
    }
    expect(doc.gradients.map((g: { total: number }) => g.total)).toEqual([300, 54, 2, 300, 54, 2]);
    const text = await run(['conv', '--check-mode', 'sampled', '--samples', '20', '--repeat', '0']);
    expect(text.stdout).toMatch(/naive │ dx .*│ pass \[20\/300 el\]/);
  });

  it('directional: --directions per input, the worst direction in the report', async () => {
    const { code, doc } = await json(['conv', '--check-mode', 'directional', '--directions', '3', '--repeat', '0']);
    expect(code).toBe(0);
    for (const g of doc.gradients) {
      expect(g.mode).toBe('directional');
      expect(g.directional.count).toBe(3);
      expect(g.worst.index).toEqual([]);
      expect(g.worst.direction).toBeGreaterThanOrEqual(0);
    }
    const text = await run(['conv', '--check-mode', 'directional', '--directions', '3', '--repeat', '0']);
    expect(text.stdout).toMatch(/direction \d: /);
    expect(text.stdout).toMatch(/pass \[3 dirs\]/);
  });

  it('auto (the default) is the full check at the cs231n shapes', async () => {
    const auto = (await json(['conv', '--repeat', '0'])).doc;
    const full = (await json(['conv', '--repeat', '0', '--check-mode', 'full'])).doc;
    expect(auto.mode).toBe('auto');
    expect(auto.gradients).toEqual(full.gradients);
    expect(auto.gradients.every((g: { mode: string }) => g.mode === 'full')).toBe(true);
  });

  it('auto at a larger shape: fast only, directions plus samples, and a note saying so', async () => {
    const r = await run(['conv', '--x-shape', '4,8,16,16', '--w-shape', '8,8,3,3', '--repeat', '0']);
    expect(r.code).toBe(0);
    // How many elements are sampled depends on the budget; the two directions do not.
    expect(r.stdout).toMatch(/fast │ dx .*│ pass \[2 dirs( \+ \d+\/8192 el)?\]/);
    expect(r.stdout).not.toMatch(/naive │/);
    expect(r.stdout).toMatch(/note: naive not checked: at these shapes auto mode checks only the fast implementation/);
    const { doc } = await json(['conv', '--x-shape', '4,8,16,16', '--w-shape', '8,8,3,3', '--repeat', '0']);
    expect(doc.notes[0]).toMatch(/^naive not checked/);
    expect(doc.gradients.map((g: { impl: string; name: string; mode: string }) => `${g.impl} ${g.name} ${g.mode}`)).toEqual([
      'fast dx directional+sampled',
      'fast dw directional+sampled',
      'fast db full',
    ]);
  });

  it("--check-mode does not clash with batchnorm's own --mode", async () => {
    const { code, doc } = await json(['batchnorm', '--mode', 'test', '--check-mode', 'sampled', '--samples', '5', '--repeat', '0']);
    expect(code).toBe(0);
    expect(doc.params.mode).toBe('test');
    expect(doc.mode).toBe('sampled');
  });
});

describe('--dtype float32', () => {
  it('runs the fast layer in float32 with the float32 tolerance, and still passes', async () => {
    const { code, doc } = await json(['conv', '--dtype', 'float32', '--repeat', '1']);
    expect(code).toBe(0);
    expect(doc.dtype).toBe('float32');
    const fast = doc.gradients.filter((g: { impl: string }) => g.impl === 'fast');
    const naive = doc.gradients.filter((g: { impl: string }) => g.impl === 'naive');
    expect(fast.every((g: { dtype: string; threshold: number }) => g.dtype === 'float32' && g.threshold > 6e-6 && g.threshold < 7e-6)).toBe(true);
    expect(naive.every((g: { dtype: string; threshold: number }) => g.dtype === 'float64' && g.threshold === 1e-7)).toBe(true);
    const text = await run(['conv', '--dtype', 'float32', '--repeat', '0']);
    expect(text.stdout).toMatch(/dtype float32 {2}seed 231/);
  });
});

describe('--h-sweep', () => {
  it('adds the error at every h to each gradient, and a table with the best h', async () => {
    const { doc } = await json(['batchnorm', '--h-sweep', '--repeat', '0']);
    for (const g of doc.gradients) {
      expect(g.sweep.hs).toEqual([1e-2, 1e-3, 1e-4, 1e-5, 1e-6, 1e-7, 1e-8, 1e-9]);
      expect(g.sweep.relErrors).toHaveLength(8);
      expect(g.sweep.bestRelError).toBe(Math.min(...g.sweep.relErrors));
    }
    const r = await run(['batchnorm', '--h-sweep', '--repeat', '0']);
    expect(r.stdout).toMatch(/relative error over h/);
    expect(r.stdout).toMatch(/│ 1e-9 /);
    expect(r.stdout).toMatch(/best h: naive dx 1e-\d \(/);
  });
});

describe('failures are localized in the report and in --json', () => {
  it('a failing gradient says where: too large a step for a nonlinear layer', async () => {
    // At h = 0.3 the centred difference of spatial batchnorm's dx carries a truncation error of
    // ~1e-2 relative (far above rounding noise); dgamma and dbeta are linear in gamma and beta.
    const { code, doc } = await json(['spatial-batchnorm', '--h', '0.3', '--repeat', '0']);
    expect(code).toBe(1);
    for (const g of doc.gradients) {
      expect(g.pass).toBe(g.name !== 'dx');
      if (g.name !== 'dx') continue;
      const loc = g.localization;
      expect(loc.top.length).toBeGreaterThan(0);
      expect(Object.keys(loc.top[0])).toEqual(['index', 'analytic', 'numeric', 'absError', 'relError']);
      expect(loc.checked).toBe(g.total);
      expect(loc.perChannel.length).toBe(3);
      expect(loc.heatmap.values).toHaveLength(4);
      expect(loc.heatmap.values[0]).toHaveLength(5);
      expect(loc.border.count + loc.interior.count).toBe(120);
    }
    const text = await run(['spatial-batchnorm', '--h', '0.3', '--repeat', '0']);
    expect(text.stdout).toMatch(/where naive dx is wrong \(120 of 120 elements evaluated\):/);
    expect(text.stdout).toMatch(/┌──────────┐\n│/);
    expect(text.stdout).toMatch(/border \(first\/last rows and columns\): max rel/);
  });

  it('a threshold below rounding noise cannot fail a correct layer: such elements are counted, not failed', async () => {
    const { code, doc } = await json(['conv', '--max-error', '1e-30', '--repeat', '0']);
    expect(code).toBe(0);
    for (const g of doc.gradients) {
      expect(g.pass).toBe(true);
      expect(g.relError).toBeGreaterThan(1e-30);
      expect(g.withinNoise).toBeGreaterThan(0);
      expect(g.withinNoise).toBeLessThanOrEqual(g.checked);
    }
  });
});

describe('bad scale flags: one line on stderr, exit 2', () => {
  const cases: [string, string[], RegExp][] = [
    ['unknown mode', ['conv', '--check-mode', 'quick'], /--check-mode: expected one of full, sampled, directional, auto, got 'quick'/],
    ['zero samples', ['conv', '--samples', '0'], /--samples: expected an integer in \[1, 1000000\], got '0'/],
    ['fractional directions', ['conv', '--directions', '1.5'], /--directions: expected an integer in \[1, 10000\], got '1.5'/],
    ['zero budget', ['conv', '--budget', '0'], /--budget: expected a number in \(0, 86400\], got '0'/],
    ['unknown dtype', ['conv', '--dtype', 'float16'], /--dtype: expected one of float64, float32, got 'float16'/],
  ];
  for (const [name, argv, message] of cases) {
    it(name, async () => {
      const r = await run(argv);
      expect(r.code).toBe(2);
      expect(r.stdout).toBe('');
      expect(r.stderr).toMatch(message);
      expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
    });
  }

  it('every layer command has the flags', async () => {
    for (const layer of ['conv', 'maxpool', 'relu', 'affine', 'batchnorm', 'layernorm', 'spatial-batchnorm', 'spatial-groupnorm', 'conv-relu-pool']) {
      const h = await run([layer, '--help']);
      for (const flag of ['--check-mode <mode>', '--samples <k>', '--directions <k>', '--budget <seconds>', '--dtype <dtype>', '--h-sweep']) {
        expect(h.stdout, `${layer} ${flag}`).toContain(flag);
      }
    }
  });
});

describe('progress on stderr', () => {
  it('is not written when stderr is not a terminal', async () => {
    const r = await run(['conv', '--x-shape', '4,8,16,16', '--w-shape', '8,8,3,3', '--repeat', '0']);
    expect(r.stderr).toBe('');
  });

  it('the progress line: hidden for the first second, redrawn in place at most every 100 ms, erased at the end', () => {
    let out = '';
    let t = 0;
    const line = createProgressLine({ write: (s: string) => (out += s), isTTY: true }, false, { now: () => t });
    const p = { impl: 'fast' as const, gradient: 'dx', phase: 'sampled' as const, done: 3, total: 128 };
    t = 999;
    line.update(p);
    expect(out).toBe('');
    t = 1000;
    line.update(p);
    expect(out).toBe('\rfast dx: sampled 3/128  1.0 s\u001b[K');
    t = 1050;
    line.update({ ...p, done: 4 });
    expect(out).not.toContain('4/128');
    t = 1100;
    line.update({ ...p, done: 5 });
    expect(out.endsWith('\rfast dx: sampled 5/128  1.1 s\u001b[K')).toBe(true);
    line.done();
    expect(out.endsWith('\r\u001b[K')).toBe(true);
    expect(out).not.toContain('\n');
  });

  it('erases nothing when it never drew, and is coloured only when asked', () => {
    let out = '';
    let t = 0;
    const quiet = createProgressLine({ write: (s: string) => (out += s) }, true, { now: () => t });
    quiet.done();
    expect(out).toBe('');
    const loud = createProgressLine({ write: (s: string) => (out += s) }, true, { now: () => t });
    t = 2000;
    loud.update({ impl: 'naive', gradient: 'dw', phase: 'full', done: 1, total: 2 });
    expect(out).toContain(`${ESC}2m`);
  });
});
