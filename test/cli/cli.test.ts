import { describe, expect, it } from 'vitest';
import { run } from '../helpers/io.js';

const ESC = '\u001b[';

describe('cnn-check conv', () => {
  it('checks the cs231n example and exits 0', async () => {
    const r = await run(['conv', '--stride', '2', '--pad', '1', '--repeat', '1']);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(/conv {2}stride=2 pad=1/);
    expect(r.stdout).toMatch(/x \(4, 3, 5, 5\) {2}w \(2, 3, 3, 3\) {2}b \(2,\)/);
    expect(r.stdout).toMatch(/seed 231/);
    for (const g of ['dx', 'dw', 'db']) expect(r.stdout).toMatch(new RegExp(`naive │ ${g} .*│ pass`));
    expect(r.stdout).toMatch(/forward ms/);
    expect(r.stdout).toMatch(/PASS/);
  });

  it('--json prints exactly one JSON document with the documented fields', async () => {
    const r = await run(['conv', '--json', '--seed', '5', '--x-shape', '2,3,6,6', '--w-shape', '4,3,3,3', '--repeat', '2']);
    expect(r.code).toBe(0);
    expect(r.stdout).not.toContain(ESC);
    const doc = JSON.parse(r.stdout);
    expect(doc).toMatchObject({
      layer: 'conv',
      params: { stride: 1, pad: 1 },
      dtype: 'float64',
      seed: 5,
      pass: true,
      shapes: { x: [2, 3, 6, 6], w: [4, 3, 3, 3], b: [4] },
    });
    const names = doc.gradients.map((g: { name: string }) => g.name);
    expect(names).toEqual(expect.arrayContaining(['dx', 'dw', 'db']));
    for (const g of doc.gradients) {
      expect(Object.keys(g)).toEqual(expect.arrayContaining(['name', 'relError', 'maxAbsError', 'worst', 'threshold', 'pass']));
      expect(Object.keys(g.worst)).toEqual(expect.arrayContaining(['index', 'analytic', 'numeric']));
      expect(g.relError).toBeLessThan(g.threshold);
    }
    expect(doc.gradients.find((g: { name: string }) => g.name === 'dx').worst.index).toHaveLength(4);
    expect(doc.timing[0].forwardMs.samples).toBe(2);
    expect(typeof doc.timing[0].backwardMs.median).toBe('number');
  });

  it('the same seed repeats the same numbers', async () => {
    const a = JSON.parse((await run(['conv', '--json', '--seed', '9', '--repeat', '0'])).stdout);
    const b = JSON.parse((await run(['conv', '--json', '--seed', '9', '--repeat', '0'])).stdout);
    expect(a.gradients).toEqual(b.gradients);
  });

  it('a failing check exits 1 (a step far too large for a nonlinear layer)', async () => {
    const r = await run(['batchnorm', '--h', '0.5', '--repeat', '0', '--json']);
    expect(r.code).toBe(1);
    const doc = JSON.parse(r.stdout);
    expect(doc.pass).toBe(false);
    expect(doc.gradients.find((g: { name: string; impl: string }) => g.name === 'dx' && g.impl === 'naive').pass).toBe(false);
    expect((await run(['batchnorm', '--h', '0.5', '--repeat', '0'])).stdout).toMatch(/FAIL: \d of 6 gradient checks failed/);
  });

  it('maxpool defaults and list', async () => {
    const r = await run(['maxpool', '--json', '--repeat', '0']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ layer: 'maxpool', params: { pool_height: 2, pool_width: 2, stride: 2 }, shapes: { x: [3, 2, 8, 8] } });
    const l = await run(['list']);
    expect(l.code).toBe(0);
    expect(l.stdout).toMatch(/conv/);
    expect(l.stdout).toMatch(/--pool-height 2/);
    const lj = JSON.parse((await run(['list', '--json'])).stdout);
    expect(lj.layers.map((x: { name: string }) => x.name)).toEqual(expect.arrayContaining(['conv', 'maxpool']));
  });
});

describe('colour rules', () => {
  it('colours a terminal', async () => {
    expect((await run(['conv', '--repeat', '0'], { isTTY: true })).stdout).toContain(ESC);
  });
  it('no colour when piped, with NO_COLOR, with --no-color, or with --json', async () => {
    expect((await run(['conv', '--repeat', '0'], { isTTY: false })).stdout).not.toContain(ESC);
    expect((await run(['conv', '--repeat', '0'], { isTTY: true, env: { NO_COLOR: '1' } })).stdout).not.toContain(ESC);
    expect((await run(['conv', '--repeat', '0', '--no-color'], { isTTY: true })).stdout).not.toContain(ESC);
    expect((await run(['conv', '--repeat', '0', '--json'], { isTTY: true })).stdout).not.toContain(ESC);
    expect((await run(['list'], { isTTY: true, env: { NO_COLOR: 'yes' } })).stdout).not.toContain(ESC);
  });
});

describe('help and version', () => {
  it('--help and --version exit 0', async () => {
    const h = await run(['--help']);
    expect(h.code).toBe(0);
    expect(h.stdout).toMatch(/Usage: cnn-check/);
    const ch = await run(['conv', '--help']);
    expect(ch.code).toBe(0);
    expect(ch.stdout).toMatch(/--stride <n>/);
    expect(ch.stdout).toMatch(/--x-shape <dims>/);
    const v = await run(['--version']);
    expect(v.code).toBe(0);
    expect(v.stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
  });
});

describe('bad input: one line on stderr, exit 2, no stack trace', () => {
  const cases: [string, string[], RegExp][] = [
    ['zero stride', ['conv', '--stride', '0'], /--stride: expected an integer >= 1, got '0'/],
    ['negative stride', ['conv', '--stride', '-2'], /--stride: expected an integer >= 1, got '-2'/],
    ['non-integer stride', ['conv', '--stride', '1.5'], /--stride: expected an integer >= 1, got '1.5'/],
    ['non-numeric stride', ['conv', '--stride', 'two'], /--stride: expected an integer >= 1, got 'two'/],
    ['negative pad', ['conv', '--pad', '-1'], /--pad: expected an integer >= 0, got '-1'/],
    ['wrong rank', ['conv', '--x-shape', '4,3,5'], /conv: x must be rank 4 \(N,C,H,W\), got rank 3 \(4, 3, 5\)/],
    ['zero dimension', ['conv', '--x-shape', '4,0,5,5'], /--x-shape: expected positive integer dimensions, got '4,0,5,5'/],
    ['negative dimension', ['conv', '--w-shape', '2,3,-3,3'], /--w-shape: expected positive integer dimensions/],
    ['shape not a list of integers', ['conv', '--x-shape', '4,3,a,5'], /--x-shape: expected a comma-separated list of integers such as 4,3,5,5, got '4,3,a,5'/],
    ['float in shape', ['conv', '--x-shape', '4,3,5.5,5'], /--x-shape: expected a comma-separated list of integers/],
    ['channels differ', ['conv', '--x-shape', '4,3,5,5', '--w-shape', '2,4,3,3'], /w channels must equal x channels \(3\)/],
    ['kernel larger than padded input', ['conv', '--w-shape', '2,3,8,8'], /kernel 8x8 must fit the padded input 7x7/],
    ['pool larger than input', ['maxpool', '--pool-height', '9'], /pool window 9x2 must fit the input 8x8/],
    ['zero pool width', ['maxpool', '--pool-width', '0'], /--pool-width: expected an integer >= 1, got '0'/],
    ['unknown layer', ['convolution'], /unknown command 'convolution'/],
    ['unknown flag', ['conv', '--strdie', '2'], /unknown option '--strdie'/],
    ['missing flag value', ['conv', '--stride'], /option '--stride <n>' argument missing/],
    ['bad seed', ['conv', '--seed', '-1'], /--seed: expected an integer in \[0, 4294967295\], got '-1'/],
    ['bad step', ['conv', '--h', '0'], /--h: expected a number in \(0, 1\], got '0'/],
    ['bad max-error', ['conv', '--max-error', 'x'], /--max-error: expected a number > 0, got 'x'/],
  ];
  for (const [name, argv, message] of cases) {
    it(name, async () => {
      const r = await run(argv);
      expect(r.code).toBe(2);
      expect(r.stdout).toBe('');
      expect(r.stderr).toMatch(message);
      expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
      expect(r.stderr).not.toMatch(/\n\s+at /);
    });
  }
});
