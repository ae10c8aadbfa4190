/**
 * A JS/TS module of cs231n-named functions (layers.py written in JS): found by the conventions of
 * the numpy modules, called with their arguments, its tuples returned as arrays; what it defines
 * listed by layer; the usual messages when a layer's functions are missing or a call goes wrong.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { FormatError } from '../../src/errors.js';
import { openModule } from '../../src/impls/registry.js';
import type { ImplModule } from '../../src/impls/types.js';
import { compareWithReference } from '../../src/gradcheck/check-layer.js';
import { generateInputs, resolveShapes } from '../../src/layers/params.js';
import { getLayer } from '../../src/layers/registry.js';
import { randn, XoshiroRng } from '../../src/tensor/rng.js';
import { run } from '../helpers/io.js';

const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));
const layersJs = here('../grade/js/layers.mjs');
const dir = mkdtempSync(join(tmpdir(), 'cnn-check-js-named-'));
const opened: ImplModule[] = [];
const open = (path: string) => {
  const m = openModule(path, { timeout: 10, label: path, log: () => {} });
  opened.push(m);
  return m;
};
afterAll(() => {
  for (const m of opened) m.close();
  rmSync(dir, { recursive: true, force: true });
});

/** layers.mjs, opened once: listing it, calling it and asking it for a layer it lacks leave it as it was, so those tests share its worker. */
let layers: ImplModule | undefined;
const openLayers = () => (layers ??= open(layersJs));

function write(name: string, text: string): string {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
}

describe('a JS module of cs231n-named functions', () => {
  it('lists its pairs by layer, as a numpy module does, named js:...', () => {
    const m = openLayers();
    expect(m.listFunctions!().map((f) => `${f.layer} ${f.name}`)).toEqual([
      'conv js:naive',
      'maxpool js:naive',
      'relu js',
      'affine js',
      'svm_loss js',
      'softmax_loss js',
    ]);
    expect(m.layers!()).toEqual(['conv', 'maxpool', 'relu', 'affine', 'svm_loss', 'softmax_loss']);
  });

  it('computes what the reference computes: [out, cache] and [dx, dw, db] as arrays, a loss as [loss, dx]', () => {
    const m = openLayers();
    for (const [layer, params] of [
      ['conv', { stride: 2, pad: 1 }],
      ['maxpool', {}],
      ['affine', {}],
      ['svm_loss', {}],
      ['softmax_loss', {}],
    ] as const) {
      const spec = getLayer(layer);
      const [im] = m.implementationsFor(spec);
      const p = { ...Object.fromEntries(spec.params.map((q) => [q.name, q.default])), ...params };
      const rng = new XoshiroRng(5);
      const inputs = generateInputs(spec, resolveShapes(spec, {}, p), rng);
      const dout = randn(rng, spec.impls.naive.forward(inputs, p).out.shape);
      const cmp = compareWithReference(spec, im.impl, inputs, p, dout);
      expect(cmp.failure, layer).toBeUndefined();
      expect(
        cmp.arrays.filter((a) => !a.pass).map((a) => a.name),
        layer,
      ).toEqual([]);
    }
  });

  it('goes through --impl like any implementation', async () => {
    const r = await run(['conv', '--impl', layersJs, '--repeat', '0', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const doc = JSON.parse(r.stdout);
    expect(doc.comparisons.map((c: { impl: string }) => c.impl)).toEqual(['js:naive']);
  });

  it('a layer it lacks: the message lists the cs231n functions it defines', () => {
    const m = openLayers();
    expect(() => m.implementationsFor(getLayer('batchnorm'))).toThrow(FormatError);
    expect(() => m.implementationsFor(getLayer('batchnorm'))).toThrow(
      /expected functions batchnorm_forward and batchnorm_backward for batchnorm .*; the module defines affine_backward, affine_forward, conv_backward_naive/,
    );
  });

  it('a forward that returns out alone, not [out, cache], fails its call with the reason', () => {
    const p = write('bad.mjs', 'export function relu_forward(x) { return x; }\nexport function relu_backward(dout, cache) { return dout; }\n');
    const [im] = open(p).implementationsFor(getLayer('relu'));
    const x = { data: new Float64Array([1, -1]), shape: [2] };
    expect(() => im.impl.forward({ x }, {})).toThrow(/relu_forward returned an object \{data, shape\}: expected \[out, cache\]/);
  });

  it('a module with neither forward/backward nor cs231n names is told of both ways', () => {
    const p = write('none.mjs', 'export function helper() {}\n');
    expect(() => open(p)).toThrow(
      /expected functions forward and backward \(named exports or properties of the default export\), or functions with cs231n names \(conv_forward_naive, \.\.\.\), no forward and no backward; got exports helper/,
    );
  });
});
