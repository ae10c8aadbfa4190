/**
 * loadUserImpl: a user's module behind the worker bridge is an ordinary LayerImpl; a module that
 * cannot be used at all is a user error (exit 2); a call that throws, hangs, ends its thread or
 * returns something that is not a tensor is a UserImplError with its message.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { getLayer } from '../../src/layers/registry.js';
import { generateInputs, resolveShapes } from '../../src/layers/params.js';
import { XoshiroRng } from '../../src/tensor/rng.js';
import { FileError, FormatError, UsageError } from '../../src/errors.js';
import type { Tensor } from '../../src/tensor/tensor.js';
import { loadUserImpl, UserImplError, type UserImpl } from '../../src/impls/js-module/load.js';
import { rethrow, thrown } from '../helpers/thrown.js';

const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));
const example = here('../../examples/conv-impl.mjs');
const fixture = (name: string) => here(`./fixtures/${name}`);

const conv = getLayer('conv');
const params = { stride: 2, pad: 1 };
const inputs = generateInputs(conv, resolveShapes(conv, {}, params), new XoshiroRng(7));
const reference = conv.impls.naive.forward(inputs, params);

const opened: UserImpl[] = [];
function load(path: string, opts: Parameters<typeof loadUserImpl>[1] = {}): UserImpl {
  const u = loadUserImpl(path, opts);
  opened.push(u);
  return u;
}
afterAll(() => {
  for (const u of opened) u.close();
});

/** The example, loaded once: the tests of what it computes and of the caches it keeps share its worker. */
let exampleImpl: UserImpl | undefined;
const loadExample = () => (exampleImpl ??= load(example));

function expectSame(a: Tensor, b: Tensor): void {
  expect(a.shape).toEqual(b.shape);
  expect(Array.from(a.data)).toEqual(Array.from(b.data));
}

describe('loadUserImpl: the example module', () => {
  it('computes what the reference computes, forward and backward', () => {
    const u = loadExample();
    expect(u.name).toBe('conv-impl');
    expect(u.path).toBe(example);
    const fwd = u.impl.forward(inputs, params);
    expectSame(fwd.out, reference.out);
    const refGrads = conv.impls.naive.backward(reference.out, reference.cache);
    const grads = u.impl.backward(reference.out, fwd.cache);
    expect(Object.keys(grads).sort()).toEqual(['db', 'dw', 'dx']);
    for (const k of ['dx', 'dw', 'db']) expectSame(grads[k], refGrads[k]);
    expect(u.lastCallMs()).toBeGreaterThanOrEqual(0);
  });

  it('keeps the caches of the last forward passes for backward, and says so for an older one', () => {
    const u = loadExample();
    const first = u.impl.forward(inputs, params);
    for (let k = 0; k < 8; k++) u.impl.forward(inputs, params);
    expect(() => u.impl.backward(reference.out, first.cache)).toThrow(/cache of an old forward pass \(only the last 8 are kept\)/);
    const last = u.impl.forward(inputs, params);
    expectSame(u.impl.backward(reference.out, last.cache).db, conv.impls.naive.backward(reference.out, reference.cache).db);
  });

  it('loads the TypeScript example (through tsx) and async functions from a module', () => {
    expectSame(load(here('../../examples/conv-impl.ts')).impl.forward(inputs, params).out, reference.out);
    expectSame(load(fixture('conv-async.mjs')).impl.forward(inputs, params).out, reference.out);
  });

  it('takes forward and backward from a CommonJS default export, and forwards console output line by line', () => {
    const lines: string[] = [];
    const u = load(fixture('conv-default-export.cjs'), { log: (l) => lines.push(l) });
    expectSame(u.impl.forward(inputs, params).out, reference.out);
    expect(lines).toEqual(['forward called with x of shape 4x3x5x5']);
  });
});

describe('loadUserImpl: a module that cannot be used is a user error', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cnn-check-impl-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('a missing path, a directory, an unsupported extension', () => {
    expect(() => load(join(dir, 'nope.mjs'), { label: '--impl nope.mjs' })).toThrow(FileError);
    expect(() => load(join(dir, 'nope.mjs'), { label: '--impl nope.mjs' })).toThrow('--impl nope.mjs: no such file');
    expect(() => load(dir)).toThrow(/expected a module file, got a directory/);
    const py = join(dir, 'conv.py');
    writeFileSync(py, 'def forward(): pass\n');
    expect(() => load(py)).toThrow(UsageError);
    expect(() => load(py)).toThrow(/expected a JavaScript module \(\.mjs, \.js, \.cjs\) or TypeScript \(\.ts, \.mts, \.cts\), got '\.py'/);
  });

  it('a module without backward names what it exports', () => {
    const err = thrown(() => load(fixture('conv-no-backward.mjs'), { label: 'm' }));
    expect(rethrow(err)).toThrow(FormatError);
    expect(rethrow(err)).toThrow(
      'm: expected functions forward and backward (named exports or properties of the default export), no backward; got exports forward, helper',
    );
    const notFn = join(dir, 'not-fn.mjs');
    writeFileSync(notFn, 'export const forward = 1;\nexport function backward() {}\n');
    expect(() => load(notFn, { label: 'm' })).toThrow(/forward of type number; got exports backward, forward/);
  });

  it('a syntax error names the line; a module whose import never finishes is stopped', () => {
    expect(() => load(fixture('conv-syntax-error.mjs'), { label: 'm' })).toThrow(
      "m: cannot load the module: SyntaxError: Unexpected token ';' (conv-syntax-error.mjs:2)",
    );
    // 0.1 s: an import that never finishes is stopped at any limit; the module's busy loop burns less.
    expect(() => load(fixture('top-level-hang.mjs'), { label: 'm', loadTimeout: 0.1 })).toThrow(
      'm: cannot load the module: importing it did not finish within 0.1 s',
    );
  });

  it('TypeScript outside any package: loaded through tsx; a syntax error in it is one line naming the place', () => {
    const good = join(dir, 'conv.ts');
    writeFileSync(good, readFileSync(here('../../examples/conv-impl.ts'), 'utf8'));
    expectSame(load(good).impl.forward(inputs, params).out, reference.out);
    const bad = join(dir, 'bad.ts');
    writeFileSync(bad, 'export function forward(x: number {\n}\nexport function backward() {}\n');
    expect(() => load(bad, { label: 'm' })).toThrow(
      `m: cannot load the module: TransformError: Transform failed with 1 error: ${bad}:1:34: ERROR: Expected ")" but found "{"`,
    );
  });

  it('a module that throws while it is imported', () => {
    const bad = join(dir, 'throws-on-import.mjs');
    writeFileSync(bad, "throw new RangeError('no GPU here');\n");
    expect(() => load(bad, { label: 'm' })).toThrow('m: cannot load the module: RangeError: no GPU here (throws-on-import.mjs:1:7)');
  });
});

describe('loadUserImpl: a failing call is a UserImplError with its message', () => {
  it('a throwing backward: the message and where it was thrown', () => {
    const u = load(fixture('conv-throws.mjs'));
    const fwd = u.impl.forward(inputs, params);
    expect(() => u.impl.backward(reference.out, fwd.cache)).toThrow(UserImplError);
    expect(() => u.impl.backward(reference.out, fwd.cache)).toThrow('backward threw Error: conv backward: not implemented yet (conv-throws.mjs:5:9)');
    // The worker survives a throw: forward still works.
    expectSame(u.impl.forward(inputs, params).out, reference.out);
  });

  it('a hanging forward is stopped after the timeout, and later calls fail at once', () => {
    // 0.1 s: a forward that never returns is stopped at any limit; its busy loop burns less.
    const u = load(fixture('conv-hangs.mjs'), { timeout: 0.1 });
    expect(() => u.impl.forward(inputs, params)).toThrow('forward did not finish within the timeout of 0.1 s; its worker was stopped');
    expect(() => u.impl.forward(inputs, params)).toThrow(
      "forward not run: the module's worker was stopped after an earlier failure (forward did not finish within the timeout of 0.1 s)",
    );
  });

  it('process.exit in the module ends only its worker', () => {
    const u = load(fixture('conv-exits.mjs'));
    const fwd = u.impl.forward(inputs, params);
    expect(() => u.impl.backward(reference.out, fwd.cache)).toThrow('the module ended its worker thread during backward (process.exit?)');
  });

  it('results that are not tensors', () => {
    expect(() => load(fixture('conv-not-tensor.mjs')).impl.forward(inputs, params)).toThrow(
      "forward's out has data of type Array: expected a Tensor {data: Float64Array | Float32Array, shape: number[]}",
    );
  });
});
