/**
 * `cnn-check grade` from the command line: a correct numpy layers module and a JS module with
 * cs231n names pass every case (exit 0); what cannot be graded is an input error (exit 2); the
 * report card, JSON, JUnit, HTML and GitHub annotations; shrunk failures written as fixtures that
 * load_fixture reads and `compare` judges again, never overwritten without --force; the notebook
 * cases draw numpy's own arrays. Needs python3 with numpy (the project's CI has both).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { XMLParser } from 'fast-xml-parser';
import { afterAll, describe, expect, it } from 'vitest';
import { BATTERY } from '../../src/grade/battery.js';
import { materialize } from '../../src/grade/inputs.js';
import { loadPythonModule } from '../../src/impls/python/load.js';
import { getLayer, LAYERS } from '../../src/layers/registry.js';
import { run } from '../helpers/io.js';

const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));
const correct = here('../impls/python/cs231n/layer_utils.py');
const bug = (name: string) => here(`./python/${name}.py`);
const layersJs = here('./js/layers.mjs');
const pythonDir = here('../../python/');
const bin = here('../../bin/cnn-check.js');
const dir = mkdtempSync(join(tmpdir(), 'cnn-check-grade-'));

// Keeps one Python process for the in-process runs of the file.
const keeper = loadPythonModule(bug('softmax_noshift'));
afterAll(() => {
  keeper.close();
  rmSync(dir, { recursive: true, force: true });
});

interface Case {
  function: string;
  name: string;
  pass: boolean;
  status: string;
  mode: string;
  message: string;
  hint: string | null;
  params: object;
  shapes: object;
  seed: number;
  dtype: string;
}
interface Layer {
  layer: string;
  functions: string[];
  pass: boolean;
  summary: string;
  cases: Case[];
  implementations: { name: string; timing?: { yours?: { forwardMs: number } } }[];
}

describe('a correct module passes every case', () => {
  it('the numpy layers (with layer_utils.py, conv_relu_pool): exit 0, every layer, every case, each function timed', async () => {
    const r = await run(['grade', correct, '--json']);
    expect(r.code, r.stderr).toBe(0);
    const doc = JSON.parse(r.stdout);
    expect(doc.pass).toBe(true);
    expect(doc.module).toBe(correct);
    const layers = doc.layers as Layer[];
    expect(layers.map((l) => l.layer)).toEqual(LAYERS.map((l) => l.name));
    for (const l of layers) {
      const battery = BATTERY.find((b) => b.layer === l.layer)!;
      expect(l.cases.length, l.layer).toBe(battery.cases.length * l.implementations.length);
      expect(
        l.cases.filter((c) => !c.pass).map((c) => `${c.function} ${c.name}: ${c.message}`),
        l.layer,
      ).toEqual([]);
      expect(l.summary).toMatch(new RegExp(`^${l.layer}: (\\d+)/\\1 cases.* pass$`));
      for (const f of l.implementations) expect(f.timing?.yours?.forwardMs, `${l.layer} ${f.name}`).toBeGreaterThan(0);
      for (const c of l.cases) expect(['full', 'sampled', 'forward only']).toContain(c.mode);
    }
    expect(layers.find((l) => l.layer === 'batchnorm')!.implementations.map((f) => f.name)).toEqual(['py', 'py:alt']);
    expect(layers.find((l) => l.layer === 'conv')!.functions).toEqual(['conv_forward_naive', 'conv_backward_naive']);
    expect(doc.counts.failed + doc.counts.errors).toBe(0);
  });

  it('a JS module with the cs231n names, [out, cache] returned as arrays: graded the same way', async () => {
    const r = await run(['grade', layersJs, '--quick', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const doc = JSON.parse(r.stdout);
    expect(doc.kind).toBe('js');
    expect((doc.layers as Layer[]).map((l) => `${l.layer} ${l.implementations.map((f) => f.name).join(',')}`)).toEqual([
      'conv js:naive',
      'maxpool js:naive',
      'relu js',
      'affine js',
      'svm_loss js',
      'softmax_loss js',
    ]);
  });

  it('the report card: one row per function and case, a summary line per layer, PASS', async () => {
    const r = await run(['grade', correct, '--quick', '--layers', 'conv,relu']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/│ conv +│ py:naive +│ pad=0 +│ x 2,3,5,5 w 2,3,3,3 b 2 stride=1 pad=0 +│ sampled +│ pass +│/);
    expect(r.stdout).toMatch(/^conv: 3\/3 cases pass$/m);
    expect(r.stdout).toMatch(/^relu: 3\/3 cases pass$/m);
    expect(r.stdout).toMatch(/^PASS: 6 of 6 cases pass in 2 layers$/m);
    // --quick: no timing.
    expect(r.stdout).not.toContain('timing at a mid shape');
  });
});

describe('what cannot be graded: exit 2, one line', () => {
  it.each([
    [['grade', join(dir, 'missing.py')], /^cnn-check: .*missing\.py: no such file or directory: expected a module file\n$/],
    [['grade', correct, '--layers', 'convolution'], /^cnn-check: unknown layer 'convolution': expected one of conv, maxpool/],
    [
      ['grade', bug('incomplete'), '--layers', 'maxpool'],
      /^cnn-check: --layers maxpool: the module defines no maxpool functions \(max_pool_forward_naive and max_pool_backward_naive\); it defines conv, relu\n$/,
    ],
    [['grade', correct, '--force'], /^cnn-check: --force: replaces existing fixtures: it needs --fixtures DIR\n$/],
    [['grade', correct, '--timeout', '0'], /^cnn-check: --timeout: expected a number in \(0, 86400\], got '0'\n$/],
  ])('%j', async (argv, line) => {
    const r = await run(argv as string[]);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(line as RegExp);
  });

  it('a module without cs231n functions lists what it saw', async () => {
    const p = join(dir, 'nothing.py');
    writeFileSync(p, 'def helper():\n    pass\n\ndef conv_forward(x, w, b, conv_param):\n    pass\n');
    const r = await run(['grade', p]);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe(
      `cnn-check: ${p}: expected cs231n layer functions such as conv_forward_naive and conv_backward_naive, relu_forward, svm_loss; the module defines conv_forward, helper\n`,
    );
  });

  it('a JS module of forward and backward (the --impl interface) is graded for the layer it names, and told to name it', async () => {
    const named = await run(['grade', here('../../examples/conv-impl.mjs'), '--quick', '--json']);
    expect(named.code, named.stderr).toBe(0);
    expect(JSON.parse(named.stdout).layers.map((l: Layer) => `${l.layer} ${l.implementations[0].name}`)).toEqual(['conv user']);
    const p = join(dir, 'anonymous.mjs');
    writeFileSync(p, 'export function forward() {}\nexport function backward() {}\n');
    const r = await run(['grade', p]);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(
      `cnn-check: ${p}: the module exports forward and backward without saying their layer: add export const layer = 'conv' (or name its functions as cs231n does, conv_forward_naive ...)\n`,
    );
  });
});

describe('outputs of a failing grade', () => {
  it('exit 1; JUnit one testcase per function and case; HTML; annotations at the function that failed', async () => {
    const junit = join(dir, 'grade.xml');
    const html = join(dir, 'grade.html');
    const r = await run(['grade', bug('bug_dx_crop'), '--quick', '--layers', 'conv,relu', '--junit', junit, '--report', html], {
      env: { GITHUB_ACTIONS: 'true' },
    });
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^FAIL conv py:naive pad=0: dx has shape \(2, 3, 0, 0\), expected \(2, 3, 5, 5\)$/m);
    expect(r.stdout).toMatch(/^ {2}smallest failing case \(shrunk in .*; integer values\): x \(1, 1, 1, 1\), w \(1, 1, 1, 1\), b \(1,\); stride=1 pad=0$/m);
    expect(r.stdout).toMatch(/^ {4}dx, yours = \[\] \(shape \(1, 1, 0, 0\), empty\)$/m);
    expect(r.stdout).toMatch(/^conv: 2\/3 cases — fails at pad=0: dx has shape \(2, 3, 0, 0\), expected \(2, 3, 5, 5\)$/m);
    expect(r.stdout).toMatch(/^FAIL: 1 of 6 cases fail, in conv$/m);
    const line =
      readFileSync(bug('bug_dx_crop'), 'utf8')
        .split('\n')
        .findIndex((l) => l.startsWith('def conv_backward_naive')) + 1;
    expect(r.stdout).toContain(
      `::error title=cnn-check grade%3A conv py%3Anaive pad=0,file=${bug('bug_dx_crop')},line=${line}::dx has shape (2, 3, 0, 0), expected (2, 3, 5, 5); hint: `,
    );
    const xml = new XMLParser({ ignoreAttributes: false }).parse(readFileSync(junit, 'utf8'));
    const suites = [xml.testsuites.testsuite].flat();
    expect(suites.map((s: Record<string, string>) => `${s['@_name']} ${s['@_tests']} ${s['@_failures']}`)).toEqual(['grade conv 3 1', 'grade relu 3 0']);
    const failure = [suites[0].testcase].flat().find((t: Record<string, unknown>) => t.failure);
    expect(failure['@_name']).toBe('py:naive pad=0');
    expect(failure.failure['@_message']).toMatch(/^dx has shape \(2, 3, 0, 0\), expected \(2, 3, 5, 5\); hint: .*pad:-pad/);
    expect(failure.failure['#text']).toContain('smallest failing case: x (1, 1, 1, 1), w (1, 1, 1, 1), b (1,); stride=1 pad=0');
    const page = readFileSync(html, 'utf8');
    expect(page).toContain('<h2>grade ');
    expect(page).toContain('conv: 2/3 cases — fails at pad=0');
  });

  it('--fixtures DIR: the shrunk case as a fixture load_fixture reads and compare judges again; never replaced without --force', async () => {
    const fx = join(dir, 'fixtures');
    const argv = ['grade', bug('bug_dx_crop'), '--quick', '--layers', 'conv', '--fixtures', fx, '--json'];
    const r = await run(argv);
    expect(r.code).toBe(1);
    const pad0 = JSON.parse(r.stdout).layers[0].cases.find((c: Case) => c.name === 'pad=0');
    const path = join(fx, 'conv.py-naive.pad-0.npz');
    expect(pad0.shrunk.fixture).toBe(path);
    expect(existsSync(path)).toBe(true);
    const loaded = spawnSync(
      'python3',
      [
        '-c',
        `import sys; sys.path.insert(0, ${JSON.stringify(pythonDir)})
from cnn_check import load_fixture
meta, arrays = load_fixture(${JSON.stringify(path)})
print(meta['layer'], meta['params']['pad'], meta['grade']['case'], meta['grade']['results'], sorted((k, v.shape) for k, v in arrays.items()))`,
      ],
      { encoding: 'utf8' },
    );
    expect(loaded.stderr).toBe('');
    expect(loaded.stdout.trim()).toBe(
      "conv 0 pad=0 yours [('b', (1,)), ('db', (1,)), ('dout', (1, 1, 1, 1)), ('dw', (1, 1, 1, 1)), ('dx', (1, 1, 0, 0)), ('out', (1, 1, 1, 1)), ('w', (1, 1, 1, 1)), ('x', (1, 1, 1, 1))]",
    );
    const cmp = await run(['compare', path, '--json']);
    expect(cmp.code).toBe(1);
    expect(
      JSON.parse(cmp.stdout)
        .fixtures[0].arrays.filter((a: { pass: boolean }) => !a.pass)
        .map((a: { name: string }) => a.name),
    ).toEqual(['dx']);
    // Again: the fixture exists and is kept, and the report says so; --force replaces it.
    const again = JSON.parse((await run(argv)).stdout).layers[0].cases.find((c: Case) => c.name === 'pad=0');
    expect(again.shrunk.fixture).toBeUndefined();
    expect(again.shrunk.fixtureNote).toMatch(
      /^not written: --fixtures .*conv\.py-naive\.pad-0\.npz: already exists: expected a new path, or --force to overwrite it$/,
    );
    const forced = JSON.parse((await run([...argv, '--force'])).stdout).layers[0].cases.find((c: Case) => c.name === 'pad=0');
    expect(forced.shrunk.fixture).toBe(path);
  });
});

describe('the notebook cases draw what numpy draws', () => {
  it('np.random.seed(231) then randn in the notebook order, 5 * randn + 12, randint labels, linspace', () => {
    const cases: [string, string, string[], string][] = [
      [
        'conv',
        'notebook',
        ['x', 'w', 'b', 'dout'],
        'x = np.random.randn(4, 3, 5, 5); w = np.random.randn(2, 3, 3, 3); b = np.random.randn(2,); dout = np.random.randn(4, 2, 5, 5)',
      ],
      [
        'batchnorm',
        'notebook',
        ['x', 'gamma', 'beta', 'dout'],
        'x = 5 * np.random.randn(4, 5) + 12; gamma = np.random.randn(5); beta = np.random.randn(5); dout = np.random.randn(4, 5)',
      ],
      ['svm_loss', 'notebook', ['x', 'y'], 'x = 0.001 * np.random.randn(50, 10); y = np.random.randint(10, size=50)'],
      [
        'conv',
        'notebook-forward',
        ['x', 'w', 'b'],
        'x = np.linspace(-0.1, 0.5, num=96).reshape(2, 3, 4, 4); w = np.linspace(-0.2, 0.3, num=144).reshape(3, 3, 4, 4); b = np.linspace(-0.1, 0.2, num=3)',
      ],
    ];
    // One Python run draws every case's arrays, each after its own np.random.seed(231).
    const script = ['import json, numpy as np', 'out = {}'];
    cases.forEach(([, , arrays, code], k) => {
      script.push(
        'np.random.seed(231)',
        code,
        `out[${k}] = {k: np.asarray(v, dtype=float).ravel().tolist() for k, v in dict(${arrays.map((a) => `${a}=${a}`).join(', ')}).items()}`,
      );
    });
    script.push('print(json.dumps(out))');
    const r = spawnSync('python3', ['-c', script.join('\n')], { encoding: 'utf8' });
    expect(r.stderr).toBe('');
    const drawn = JSON.parse(r.stdout) as Record<string, Record<string, number[]>>;
    cases.forEach(([layer, name, arrays], k) => {
      const numpy = drawn[k];
      const spec = getLayer(layer);
      const mc = materialize(spec, BATTERY.find((b) => b.layer === layer)!.cases.find((c) => c.name === name)!);
      for (const a of arrays) {
        const ours = Array.from(a === 'dout' ? mc.dout.data : mc.inputs[a].data);
        expect(ours.length, `${layer} ${a}`).toBe(numpy[a].length);
        // NOTE: numpy's Gaussian calls the C library's log, which misrounds 1 draw in ~2800 by 1-3 ulps (tensor/numpy-rng.ts).
        ours.forEach((v, i) => {
          expect(Math.abs(v - numpy[a][i]), `${layer} ${name} ${a}[${i}]`).toBeLessThanOrEqual(4e-16 * Math.max(1, Math.abs(v)));
        });
      }
    });
  });
});

describe('the Python helper: grade() for pytest', () => {
  it('grade(path).assert_ok() passes for correct layers and raises AssertionError with the failing cases for a bug', () => {
    const cli = JSON.stringify(['node', bin]);
    const r = spawnSync(
      'python3',
      [
        '-c',
        `import sys; sys.path.insert(0, ${JSON.stringify(pythonDir)})
from cnn_check import grade, GradeResult
ok = grade(${JSON.stringify(correct)}, layers=["relu", "affine"], quick=True, cli=${cli})
print("ok", isinstance(ok, GradeResult), ok.ok, bool(ok), ok.assert_ok() is ok)
bad = grade(${JSON.stringify(bug('bug_dx_crop'))}, layers="conv", quick=True, cli=${cli})
print("bad", bad.ok, [(c["layer"], c["name"]) for c in bad.failures])
try:
    bad.assert_ok()
except AssertionError as e:
    print("raised")
    print(e)
`,
      ],
      { encoding: 'utf8', timeout: 120_000 },
    );
    expect(r.stderr).toBe('');
    const out = r.stdout.split('\n');
    expect(out[0]).toBe('ok True True True True');
    expect(out[1]).toBe("bad False [('conv', 'pad=0')]");
    expect(out[2]).toBe('raised');
    expect(r.stdout).toContain('1 failing case(s)');
    expect(r.stdout).toContain('conv: 2/3 cases — fails at pad=0: dx has shape (2, 3, 0, 0), expected (2, 3, 5, 5)');
    expect(r.stdout).toContain('conv py:naive pad=0: dx has shape (2, 3, 0, 0), expected (2, 3, 5, 5)');
    expect(r.stdout).toMatch(/ {2}hint: your dx has shape .* pad:-pad/);
    expect(r.stdout).toContain(
      '  smallest failing case: x (1, 1, 1, 1), w (1, 1, 1, 1), b (1,); stride=1 pad=0: dx has shape (1, 1, 0, 0), expected (1, 1, 1, 1)',
    );
  });
});

// Last: the timeout stops the file's shared Python process, and every later run would start its own.
describe('a function that hangs', () => {
  it('fails the case it hangs in, not shrunk; the Python process is started afresh for the next case and layer', async () => {
    const r = await run(['grade', bug('hang_stride2'), '--quick', '--layers', 'conv,relu', '--timeout', '0.5', '--json']);
    expect(r.code).toBe(1);
    const [conv, relu] = JSON.parse(r.stdout).layers as Layer[];
    expect(conv.cases.map((c) => `${c.name} ${c.status}`)).toEqual(['notebook-forward error', 'notebook pass', 'pad=0 pass']);
    const hung = conv.cases[0] as Case & { info: string[]; shrunk?: unknown };
    expect(hung.message).toBe('conv_backward_naive did not finish within the timeout of 0.5 s; the Python process was stopped');
    expect(hung.shrunk).toBeUndefined();
    expect(hung.info).toContain('not shrunk: every smaller try would wait for the timeout or restart the process');
    expect(relu.pass).toBe(true);
  });
});
