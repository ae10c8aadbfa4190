/**
 * Failures of the user's numpy code are reported, never a crash of cnn-check: an exception with
 * its type, message and the user's file:line; a wrong return arity, a non-array, None, NaN, an
 * input changed in place, each named (exit 1, as rows and problems); a call over --timeout is
 * stopped, a process that dies or exceeds the memory limit is named. What makes a module unusable
 * (it fails to import, lacks the functions, there is no python3 or no numpy) ends with exit 2
 * and one line saying what to do. The user's prints go to stderr, marked, and never into --json.
 * Needs python3 with numpy (the project's CI has both).
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { getLayer } from '../../src/layers/registry.js';
import { checkLayer } from '../../src/gradcheck/check-layer.js';
import { loadPythonModule } from '../../src/impls/python/load.js';
import { decodeFrame, encodeFrame } from '../../src/impls/python/protocol.js';
import { UserImplError } from '../../src/impls/js-module/load.js';
import { run } from '../helpers/io.js';

// Each test starts or reuses a Python process: a loaded machine takes seconds for what takes a fraction.
vi.setConfig({ testTimeout: 60_000 });

const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));
const root = here('../../');
const dir = mkdtempSync(join(tmpdir(), 'cnn-check-py-fail-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A module in the temp directory: relu functions (or whatever `body` defines). */
function module(name: string, body: string): string {
  const path = join(dir, name);
  writeFileSync(path, `import numpy as np\n${body.replace(/^\n/, '')}`);
  return path;
}
const RELU_BACKWARD = 'def relu_backward(dout, cache):\n    return dout * (cache > 0)\n';
const RELU_FORWARD = 'def relu_forward(x):\n    return np.maximum(x, 0), x\n';

// Keeps the Python process of the file alive between the runs (until the timeout test kills it, last).
const keeper = loadPythonModule(here('./python/cs231n/layers.py'));
afterAll(() => keeper.close());

async function json(argv: string[]) {
  const r = await run([...argv, '--repeat', '0', '--json']);
  return { ...r, doc: r.stdout ? JSON.parse(r.stdout) : undefined };
}

describe('the exchange', () => {
  it('frames carry a JSON header and arrays as .npy, float64 and float32 alike', () => {
    const x = { data: Float64Array.from([1, -2.5, 3e-300]), shape: [3] };
    const y = { data: Float32Array.from([0.5, 2]), shape: [2, 1] };
    const { header, arrays } = decodeFrame<{ op: string }>(
      encodeFrame({ op: 'forward' }, [
        ['x', x],
        ['y', y],
      ]),
    );
    expect(header.op).toBe('forward');
    expect(arrays.get('x')).toEqual(x);
    expect(arrays.get('y')).toEqual(y);
  });
});

describe("failures of a call are the implementation's (exit 1)", () => {
  it("an exception: its type, message and the user's file:line of the innermost frame in their module", async () => {
    const path = module(
      'raises.py',
      `
${RELU_FORWARD}
def helper(dout, cache):
    return dout[1:] + cache

def relu_backward(dout, cache):
    return helper(dout, cache)
`,
    );
    const r = await json(['relu', '--impl', path]);
    expect(r.code).toBe(1);
    const message = 'relu_backward raised ValueError: operands could not be broadcast together with shapes (2,4,5) (3,4,5) (raises.py:6)';
    expect(r.doc.problems).toEqual([`py: ${message}`]);
    expect(r.doc.comparisons[0].arrays.map((a: { name: string; message?: string }) => [a.name, a.message ?? null])).toEqual([
      ['out', null],
      ['dx', message],
    ]);
  });

  const cases: [string, string, string][] = [
    [
      'a forward returning out without the cache',
      `def relu_forward(x):\n    return np.maximum(x, 0)\n${RELU_BACKWARD}`,
      'relu_forward returned an array of shape (3, 4, 5): expected a tuple (out, cache)',
    ],
    [
      'a backward returning a tuple where cs231n returns the array',
      `${RELU_FORWARD}def relu_backward(dout, cache):\n    return dout, None\n`,
      'relu_backward returned a tuple of 2: expected the array dx',
    ],
    [
      'a function not implemented yet (the skeleton returns None)',
      `${RELU_FORWARD}def relu_backward(dout, cache):\n    dx = None\n    return dx\n`,
      'relu_backward returned None: expected the array dx (not implemented yet?)',
    ],
    [
      'a list instead of an array',
      `def relu_forward(x):\n    return [0.0] * x.size, x\n${RELU_BACKWARD}`,
      "relu_forward's out is a list: expected a numpy array",
    ],
    [
      'an input changed in place',
      `def relu_forward(x):\n    x[x < 0] = 0\n    return x.copy(), x\n${RELU_BACKWARD}`,
      'relu_forward modified its input x in place: x[0, 0, 0] was',
    ],
    ["sys.exit in the user's code", `${RELU_FORWARD}def relu_backward(dout, cache):\n    import sys\n    sys.exit(3)\n`, 'relu_backward called sys.exit(3)'],
  ];
  for (const [name, body, message] of cases) {
    it(name, async () => {
      const r = await json(['relu', '--impl', module(`${name.replace(/\W+/g, '_')}.py`, body)]);
      expect(r.code).toBe(1);
      expect(r.doc.problems).toHaveLength(1);
      expect(r.doc.problems[0]).toContain(`py: ${message}`);
    });
  }

  it('a wrong arity of the backward tuple, and a gradient of the wrong shape', async () => {
    const arity = await json([
      'affine',
      '--impl',
      module(
        'affine_arity.py',
        `
def affine_forward(x, w, b):
    return x.reshape(x.shape[0], -1) @ w + b, (x, w)

def affine_backward(dout, cache):
    x, w = cache
    return (dout @ w.T).reshape(x.shape), x.reshape(x.shape[0], -1).T @ dout
`,
      ),
    ]);
    expect(arity.code).toBe(1);
    expect(arity.doc.problems).toEqual(['py: affine_backward returned a tuple of 2: expected a tuple (dx, dw, db)']);
    const shape = await json([
      'affine',
      '--impl',
      module(
        'affine_shape.py',
        `
def affine_forward(x, w, b):
    return x.reshape(x.shape[0], -1) @ w + b, (x, w)

def affine_backward(dout, cache):
    x, w = cache
    return dout @ w.T, x.reshape(x.shape[0], -1).T @ dout, dout.sum(axis=0)
`,
      ),
    ]);
    expect(shape.code).toBe(1);
    const dx = shape.doc.comparisons[0].arrays.find((a: { name: string }) => a.name === 'dx');
    expect(dx.message).toBe("dx has shape (10, 6), expected the reference's (10, 2, 3)");
  });

  it('NaN in the output fails the check with where it is', async () => {
    const r = await json([
      'relu',
      '--impl',
      module(
        'nan.py',
        `
def relu_forward(x):
    out = np.maximum(x, 0)
    out[0, 1, 2] = np.nan
    return out, x
${RELU_BACKWARD}`,
      ),
    ]);
    expect(r.code).toBe(1);
    expect(r.doc.problems).toEqual(['py: forward output contains NaN at index (0, 1, 2)']);
    expect(r.doc.comparisons[0].arrays[0].message).toBe('1 NaN/Inf value(s), first at (0, 1, 2)');
  });

  it('print goes to stderr marked with the module, never into the JSON document; after 50 lines the rest is dropped', async () => {
    const r = await json([
      'relu',
      '--impl',
      module(
        'chatty.py',
        `
def relu_forward(x):
    print("forward of", x.shape)
    return np.maximum(x, 0), x
${RELU_BACKWARD}`,
      ),
    ]);
    expect(r.code).toBe(0);
    expect(r.doc.pass).toBe(true);
    const lines = r.stderr.trimEnd().split('\n');
    expect(lines[0]).toBe('[chatty.py] forward of (3, 4, 5)');
    expect(lines).toHaveLength(51);
    expect(lines[50]).toBe('[chatty.py] (further output of chatty.py dropped after 50 lines)');
  });
});

describe('a module that cannot be used: one line, exit 2', () => {
  const cases: [string, () => string[], (path: string) => string][] = [
    [
      'an import that fails',
      () => ['relu', '--impl', module('broken_import.py', 'x = undefined_name\n')],
      (p) => `cnn-check: --impl ${p}: cannot import the module: NameError: name 'undefined_name' is not defined (broken_import.py:2)`,
    ],
    [
      'a syntax error',
      () => ['relu', '--impl', module('syntax.py', 'def relu_forward(x)\n    return x\n')],
      (p) => `cnn-check: --impl ${p}: cannot import the module: SyntaxError: expected ':' (syntax.py:2)`,
    ],
    [
      'a missing function, listing the cs231n functions the module defines',
      () => ['relu', '--impl', module('half.py', `${RELU_FORWARD}def affine_forward(x, w, b):\n    return x, x\n`)],
      (p) =>
        `cnn-check: --impl ${p}: expected functions relu_forward and relu_backward for relu, no relu_backward; the module defines affine_forward, relu_forward; or name two with --impl ${p}:FORWARD,BACKWARD`,
    ],
    [
      'a function named with :forward,backward that does not exist',
      () => ['relu', '--impl', `${module('named.py', RELU_FORWARD + RELU_BACKWARD)}:my_forward,relu_backward`],
      (p) => `cnn-check: --impl ${p}: expected functions my_forward and relu_backward, no my_forward; the module defines relu_backward, relu_forward`,
    ],
    [
      'no such interpreter',
      () => ['relu', '--impl', here('./python/cs231n/layers.py'), '--python', join(dir, 'no-python')],
      (p) =>
        `cnn-check: --impl ${p}: cannot run ${join(dir, 'no-python')}: not found; install Python 3 with numpy, or name another interpreter with --python PATH or the CNN_CHECK_PYTHON environment variable`,
    ],
  ];
  for (const [name, argv, message] of cases) {
    it(name, async () => {
      const a = argv();
      const r = await run(a);
      expect(r.code).toBe(2);
      expect(r.stdout).toBe('');
      expect(r.stderr).toBe(`${message(a[2])}\n`);
    });
  }

  it('a Python without numpy', async () => {
    // An interpreter whose numpy cannot be imported: python3 with a numpy package that fails first on the path.
    const fake = join(dir, 'fake-numpy');
    mkdirSync(join(fake, 'numpy'), { recursive: true });
    writeFileSync(join(fake, 'numpy', '__init__.py'), 'raise ImportError("No module named \'numpy\'")\n');
    const python = join(dir, 'python-without-numpy');
    writeFileSync(python, `#!/bin/sh\nPYTHONPATH=${fake} exec python3 "$@"\n`);
    chmodSync(python, 0o755);
    const r = await run(['relu', '--impl', here('./python/cs231n/layers.py'), '--python', python]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(
      new RegExp(
        `^cnn-check: --impl .*layers\\.py: ${python.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')} \\(Python 3\\.\\d+\\.\\d+\\) cannot import numpy \\(ImportError: No module named 'numpy'\\): install it \\(.* -m pip install numpy\\), or name another interpreter with --python PATH or the CNN_CHECK_PYTHON environment variable\\n$`,
      ),
    );
  });
});

describe('a process of its own: the fds transport (where there are no named pipes) and a memory limit of 256 MB', () => {
  it('checks a module; a call needing more memory fails as exceeding the limit; a call over the timeout is stopped', () => {
    const relu = getLayer('relu');
    const opts = { transport: 'fds', memoryMb: 256 } as const;
    const ok = loadPythonModule(here('./python/cs231n/layers.py'), opts);
    const hungry = loadPythonModule(
      module(
        'hungry.py',
        `
def relu_forward(x):
    big = np.ones((256, 1024, 1024))  # 2 GiB
    return np.maximum(x, 0), x
${RELU_BACKWARD}`,
      ),
      opts,
    );
    const slow = loadPythonModule(module('slow_fds.py', `import time\ndef relu_forward(x):\n    time.sleep(30)\n    return x, x\n${RELU_BACKWARD}`), {
      ...opts,
      timeout: 0.3,
    });
    try {
      expect(checkLayer(relu, { params: {}, repeat: 0, impls: [], external: ok.implementationsFor(relu) }).pass).toBe(true);
      const r = checkLayer(relu, { params: {}, repeat: 0, impls: [], external: hungry.implementationsFor(relu) });
      expect(r.problems).toHaveLength(1);
      expect(r.problems[0]).toMatch(/^py: relu_forward exceeded the memory limit of 256 MB \(MemoryError: Unable to allocate 2\.00 GiB/);
      const [im] = slow.implementationsFor(relu);
      expect(() => im.impl.forward({ x: { data: new Float64Array(2), shape: [2] } }, {})).toThrow(
        'relu_forward did not finish within the timeout of 0.3 s; the Python process was stopped',
      );
    } finally {
      for (const m of [ok, hungry, slow]) m.close();
    }
  });
});

describe('the built bin', () => {
  const cli = (args: string[], env: Record<string, string> = {}) =>
    spawnSync(process.execPath, [join(root, 'bin/cnn-check.js'), ...args], { encoding: 'utf8', cwd: root, timeout: 60_000, env: { ...process.env, ...env } });

  it('CNN_CHECK_PYTHON chooses the interpreter', () => {
    const r = cli(['relu', '--impl', 'test/impls/python/cs231n/layers.py'], { CNN_CHECK_PYTHON: '/no/such/python3' });
    expect(r.status).toBe(2);
    expect(r.stderr).toBe(
      'cnn-check: --impl test/impls/python/cs231n/layers.py: cannot run /no/such/python3: not found; install Python 3 with numpy, or name another interpreter with --python PATH or the CNN_CHECK_PYTHON environment variable\n',
    );
  });

  it('a call over --timeout is stopped, and the process ends', () => {
    const path = module('hangs.py', `def relu_forward(x):\n    while True:\n        pass\n${RELU_BACKWARD}`);
    const r = cli(['relu', '--impl', path, '--timeout', '0.5', '--json']);
    expect(r.signal).toBeNull();
    expect(r.status).toBe(1);
    expect(JSON.parse(r.stdout).problems).toEqual(['py: relu_forward did not finish within the timeout of 0.5 s; the Python process was stopped']);
  });
});

describe("the process stopped (last: each stops the file's shared process)", () => {
  it('the process dying in a call (os._exit) is named with its exit code', async () => {
    const r = await json(['relu', '--impl', module('exits.py', `${RELU_FORWARD}def relu_backward(dout, cache):\n    import os\n    os._exit(7)\n`)]);
    expect(r.code).toBe(1);
    expect(r.doc.problems).toEqual(['py: the Python process ended during relu_backward (exit code 7)']);
  });

  it('fails the call with UserImplError; later calls fail at once; a fresh process serves the next module', () => {
    const mod = loadPythonModule(module('slow.py', `import time\ndef relu_forward(x):\n    time.sleep(30)\n    return x, x\n${RELU_BACKWARD}`), {
      timeout: 0.3,
    });
    const relu = getLayer('relu');
    const [im] = mod.implementationsFor(relu);
    const x = { data: new Float64Array(4), shape: [4] };
    expect(() => im.impl.forward({ x }, {})).toThrow(
      new UserImplError('relu_forward did not finish within the timeout of 0.3 s; the Python process was stopped'),
    );
    expect(() => im.impl.forward({ x }, {})).toThrow(
      /^relu_forward not run: the Python process was stopped after an earlier failure \(relu_forward did not finish/,
    );
    // The module is imported again in a fresh process when a check asks for it anew.
    const again = loadPythonModule(here('./python/cs231n/layers.py'));
    try {
      const [ok] = again.implementationsFor(relu);
      expect(ok.impl.forward({ x: { data: Float64Array.from([-1, 2]), shape: [2] } }, {}).out.data).toEqual(Float64Array.from([0, 2]));
    } finally {
      again.close();
      mod.close();
    }
  });
});
