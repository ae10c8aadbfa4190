/**
 * A correct numpy module (test/impls/python/cs231n/, written as the cs231n assignment's solutions
 * are) checked through `--impl layers.py`: it passes on every layer, in every check mode and in
 * float32 and float64, its functions found by their cs231n names (two implementations for conv
 * and batchnorm when present), bn_param updated in place and its running statistics compared.
 * One Python process serves the whole file: a module kept open holds it for the CLI runs too.
 * Needs python3 with numpy (the project's CI has both).
 */
import { fileURLToPath } from 'node:url';
import { relative } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { getLayer, LAYERS } from '../../src/layers/registry.js';
import { checkLayer } from '../../src/gradcheck/check-layer.js';
import { loadPythonModule, type PythonModule } from '../../src/impls/python/load.js';
import { CS231N } from '../../src/impls/python/cs231n.js';
import { IMPL_KINDS, parseImplRef } from '../../src/impls/registry.js';
import { run } from '../helpers/io.js';
import { gradCheck } from '../../src/gradcheck/gradcheck.js';
import { PREFETCH_ELEMENTS } from '../../src/gradcheck/modes.js';
import { generateInputs, resolveShapes } from '../../src/layers/params.js';
import type { Inputs, LayerImpl, Params, Shapes } from '../../src/layers/types.js';
import { XoshiroRng } from '../../src/tensor/rng.js';

// Each test starts or reuses a Python process: a loaded machine takes seconds for what takes a fraction.
vi.setConfig({ testTimeout: 60_000 });

const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));
const layersPy = here('./python/cs231n/layers.py');
const layerUtilsPy = here('./python/cs231n/layer_utils.py');
/** As a user types it: relative to the working directory. */
const rel = (p: string) => relative(process.cwd(), p);

const layers: PythonModule = loadPythonModule(layersPy);
const utils: PythonModule = loadPythonModule(layerUtilsPy);
afterAll(() => {
  layers.close();
  utils.close();
});

interface ArrayRow {
  name: string;
  pass: boolean;
  dtype: string;
  relError: number;
}
interface GradRow {
  impl: string;
  name: string;
  pass: boolean;
  mode: string;
  dtype: string;
}

describe('the numpy conventions', () => {
  it('cover every registered layer, and the python kind is registered for .py', () => {
    expect(Object.keys(CS231N).sort()).toEqual(LAYERS.map((l) => l.name).sort());
    for (const spec of LAYERS) {
      const c = CS231N[spec.name];
      expect(c.grads, spec.name).toEqual(spec.inputs.filter((i) => i.grad).map((i) => `d${i.name}`));
    }
    expect(IMPL_KINDS.find((k) => k.extensions.includes('.py'))?.name).toBe('python');
  });

  it('find the pairs a module defines, by layer, and list them', () => {
    expect(layers.implementationsFor(getLayer('conv')).map((im) => im.name)).toEqual(['py:naive']);
    expect(layers.implementationsFor(getLayer('batchnorm')).map((im) => im.name)).toEqual(['py', 'py:alt']);
    expect(layers.implementationsFor(getLayer('maxpool')).map((im) => im.name)).toEqual(['py:naive']);
    const listed = layers.listFunctions();
    expect(listed.map((f) => `${f.layer} ${f.name}`)).toEqual([
      'conv py:naive',
      'maxpool py:naive',
      'relu py',
      'affine py',
      'batchnorm py',
      'batchnorm py:alt',
      'layernorm py',
      'spatial_batchnorm py',
      'spatial_groupnorm py',
      'dropout py',
      'svm_loss py',
      'softmax_loss py',
    ]);
    expect(layers.layers()).toEqual([
      'conv',
      'maxpool',
      'relu',
      'affine',
      'batchnorm',
      'layernorm',
      'spatial_batchnorm',
      'spatial_groupnorm',
      'dropout',
      'svm_loss',
      'softmax_loss',
    ]);
    expect(listed[0]).toEqual({ layer: 'conv', name: 'py:naive', forward: 'conv_forward_naive', backward: 'conv_backward_naive' });
    // layer_utils.py imports the layers relatively (from .layers import *): it is imported as cs231n.layer_utils.
    expect(utils.listFunctions().map((f) => f.layer)).toContain('conv_relu_pool');
  });

  it('module references: PATH, PATH:forward,backward, PATH:function', () => {
    expect(parseImplRef('cs231n/layers.py')).toEqual({ path: 'cs231n/layers.py' });
    expect(parseImplRef('cs231n/layers.py:conv_forward_fast,conv_backward_fast')).toEqual({
      path: 'cs231n/layers.py',
      select: { forward: 'conv_forward_fast', backward: 'conv_backward_fast' },
    });
    expect(parseImplRef('a:b/layers.py:svm_loss')).toEqual({ path: 'a:b/layers.py', select: { forward: 'svm_loss' } });
    // Not identifiers after the colon: a path.
    expect(parseImplRef('C:\\work\\layers.py')).toEqual({ path: 'C:\\work\\layers.py' });
  });

  it('PATH:forward,backward picks two functions and names the implementation after the forward', () => {
    const [im] = layers.implementationsFor(getLayer('batchnorm'), { forward: 'batchnorm_forward', backward: 'batchnorm_backward_alt' });
    expect(im.name).toBe('py:batchnorm_forward');
    expect(im.source).toBe(`${layersPy}:batchnorm_forward,batchnorm_backward_alt`);
  });

  it('a loss is one function returning (loss, dx): PATH:function names it, a second name is refused, and a pair layer needs two', () => {
    const [im] = layers.implementationsFor(getLayer('svm_loss'));
    expect(im.name).toBe('py');
    expect(im.source).toBe(`${layersPy}:svm_loss`);
    const [named] = layers.implementationsFor(getLayer('softmax_loss'), { forward: 'softmax_loss' });
    expect(named.source).toBe(`${layersPy}:softmax_loss`);
    expect(() => layers.implementationsFor(getLayer('svm_loss'), { forward: 'svm_loss', backward: 'relu_backward' })).toThrow(
      /svm_loss is one function returning \(loss, dx\): name it once/,
    );
    expect(() => layers.implementationsFor(getLayer('conv'), { forward: 'conv_forward_naive' })).toThrow(/conv is a forward and a backward: name both/);
  });
});

describe('a correct module passes', () => {
  for (const spec of LAYERS) {
    it(`${spec.name}: the comparison with the reference and the gradient check`, () => {
      const mod = spec.name === 'conv_relu_pool' ? utils : layers;
      // Small shapes for the naive numpy loops (conv_relu_pool's default 2,3,16,16 takes them 30 s of full
      // check; at 2,3,4,4 its conv still pads, and its pool still has windows to pick from); conv at the
      // cs231n shapes runs through the CLI below.
      const shapes = (
        { conv: { x: [2, 3, 4, 4] }, maxpool: { x: [2, 2, 4, 4] }, conv_relu_pool: { x: [2, 3, 4, 4] } } as Record<string, Record<string, number[]>>
      )[spec.name];
      const r = checkLayer(spec, { params: {}, shapes, repeat: 0, impls: ['fast'], external: mod.implementationsFor(spec) });
      expect(r.problems).toEqual([]);
      expect(r.pass).toBe(true);
      for (const c of r.comparisons!) {
        expect(c.pass).toBe(true);
        // out, the state the layer updates and every gradient.
        expect(c.arrays.map((a) => a.name)).toEqual(['out', ...(spec.stateOutputs ?? []).map((s) => `${s}_after`), ...CS231N[spec.name].grads]);
      }
    });
  }

  for (const mode of ['full', 'sampled', 'directional', 'auto'] as const) {
    for (const dtype of ['float64', 'float32'] as const) {
      it(`conv in ${mode} mode, ${dtype}`, () => {
        const r = checkLayer(getLayer('conv'), {
          params: { stride: 2, pad: 1 },
          shapes: { x: [2, 2, 5, 5], w: [2, 2, 3, 3] },
          mode,
          dtype,
          samples: 24,
          directions: 2,
          repeat: 0,
          impls: ['fast'],
          external: layers.implementationsFor(getLayer('conv')),
        });
        expect(r.problems).toEqual([]);
        const py = r.gradients.filter((g) => g.impl === 'py:naive');
        expect(py.map((g) => [g.name, g.pass])).toEqual([
          ['dx', true],
          ['dw', true],
          ['db', true],
        ]);
        expect(r.comparisons![0].pass).toBe(true);
        // Given float32 arrays, numpy computes in float32: a float32 layer, whatever dtype its out was allocated in.
        for (const g of py) expect(g.dtype).toBe(dtype);
        if (mode === 'sampled') for (const g of py) expect(g.mode).toBe('sampled');
        expect(r.pass).toBe(true);
      });
    }
  }

  it('spatial batchnorm in test mode and float32: running statistics pass through bn_param unchanged', () => {
    const spec = getLayer('spatial_batchnorm');
    const r = checkLayer(spec, { params: { mode: 'test' }, dtype: 'float32', repeat: 0, impls: ['fast'], external: layers.implementationsFor(spec) });
    expect(r.pass).toBe(true);
    const after = r.comparisons![0].arrays.filter((a) => a.name.endsWith('_after'));
    expect(after.map((a) => [a.name, a.pass, a.dtype])).toEqual([
      ['running_mean_after', true, 'float32'],
      ['running_var_after', true, 'float32'],
    ]);
  });
});

describe('cnn-check <layer> --impl layers.py', () => {
  it('conv: rows for py:naive, the comparison, timing beside naive and fast, exit 0', async () => {
    const r = await run(['conv', '--impl', rel(layersPy), '--stride', '2', '--repeat', '1', '--json']);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
    const doc = JSON.parse(r.stdout);
    expect(doc.comparisons).toHaveLength(1);
    expect(doc.comparisons[0]).toMatchObject({
      impl: 'py:naive',
      source: `${rel(layersPy)}:conv_forward_naive,conv_backward_naive`,
      reference: 'naive',
      pass: true,
    });
    expect(doc.comparisons[0].arrays.map((a: ArrayRow) => [a.name, a.pass, a.dtype])).toEqual([
      ['out', true, 'float64'],
      ['dx', true, 'float64'],
      ['dw', true, 'float64'],
      ['db', true, 'float64'],
    ]);
    expect(doc.gradients.filter((g: GradRow) => g.impl === 'py:naive').map((g: GradRow) => [g.name, g.pass, g.mode])).toEqual([
      ['dx', true, 'full'],
      ['dw', true, 'full'],
      ['db', true, 'full'],
    ]);
    expect(doc.timing.map((t: { impl: string }) => t.impl)).toEqual(['naive', 'fast', 'py:naive']);
    expect(doc.timing[2].forwardMs.median).toBeGreaterThan(0);
  });

  it('batchnorm: both backward functions, and the text report names them', async () => {
    const r = await run(['batchnorm', '--impl', rel(layersPy), '--repeat', '0']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/│ py:alt +│ dx /);
    expect(r.stdout).toContain(`py (${rel(layersPy)}:batchnorm_forward,batchnorm_backward) against the reference (naive, float64)`);
    expect(r.stdout).toContain(`py:alt (${rel(layersPy)}:batchnorm_forward,batchnorm_backward_alt) against the reference`);
    expect(r.stdout).toMatch(/PASS: 12 gradient checks within threshold, 12 arrays match the reference/);
  });

  it('PATH:forward,backward from the command line', async () => {
    const r = await run(['batchnorm', '--impl', `${rel(layersPy)}:batchnorm_forward,batchnorm_backward_alt`, '--repeat', '0', '--json']);
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.stdout);
    expect(doc.comparisons.map((c: { impl: string }) => c.impl)).toEqual(['py:batchnorm_forward']);
  });

  it('conv-relu-pool from cs231n/layer_utils.py, whose relative imports work', async () => {
    const r = await run(['conv-relu-pool', '--impl', rel(layerUtilsPy), '--x-shape', '2,3,4,4', '--repeat', '0', '--json']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).comparisons[0].impl).toBe('py');
  });

  it('--python names the interpreter; without --impl it is a usage error', async () => {
    const ok = await run(['relu', '--impl', rel(layersPy), '--python', 'python3', '--repeat', '0']);
    expect(ok.code).toBe(0);
    const bad = await run(['relu', '--python', 'python3']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toBe('cnn-check: --python: applies to --impl only; add --impl <path>\n');
  });
});

describe('numeric gradients of a module, evaluated ahead', () => {
  it('one request runs many forward passes (forwardMany), with the numbers of one request per pass', () => {
    for (const [layer, shapes] of [
      ['conv', { x: [2, 3, 5, 5], w: [2, 3, 3, 3] }],
      ['batchnorm', { x: [4, 5] }],
      ['maxpool', { x: [2, 2, 4, 4] }],
    ] as [string, Shapes][]) {
      const spec = getLayer(layer);
      const [im] = layers.implementationsFor(spec);
      const params = Object.fromEntries(spec.params.map((p) => [p.name, p.default]));
      const inputs = generateInputs(spec, resolveShapes(spec, shapes, params), new XoshiroRng(3));
      let singles = 0;
      let batches = 0;
      const counted = (many: boolean): LayerImpl => ({
        forward: (i, p) => {
          singles++;
          return im.impl.forward(i, p);
        },
        backward: (d, c) => im.impl.backward(d, c),
        ...(many
          ? {
              forwardMany: (list: Inputs[], p: Params) => {
                batches++;
                return im.impl.forwardMany!(list, p);
              },
            }
          : {}),
      });
      const one = gradCheck(spec, counted(false), inputs, params, { rng: new XoshiroRng(4), mode: 'full' });
      const callsOne = singles;
      singles = 0;
      const ahead = gradCheck(spec, counted(true), inputs, params, { rng: new XoshiroRng(4), mode: 'full' });
      expect(ahead.gradients, layer).toEqual(one.gradients);
      expect(ahead.pass, layer).toBe(true);
      // Every element's two passes in requests of PREFETCH_ELEMENTS elements: what is left are the
      // checked forward and the per-sample tests.
      const elements = Object.values(ahead.gradients).reduce((n, g) => n + g.total, 0);
      expect(batches, layer).toBeGreaterThanOrEqual(Math.ceil(elements / PREFETCH_ELEMENTS));
      expect(singles, layer).toBeLessThan(callsOne - 2 * elements + 8);
    }
  });

  it('a request whose call raises fails the check with the message of that call alone', () => {
    // A forward that raises once an element of x moves below -1: in a request of several calls as
    // when called alone.
    const spec = getLayer('relu');
    const [im] = layers.implementationsFor(spec);
    const inputs = generateInputs(spec, resolveShapes(spec, { x: [3, 4] }, {}), new XoshiroRng(5));
    inputs.x.data[7] = -1 + 5e-6;
    const failing = (many: boolean): LayerImpl => {
      const check = (i: Inputs) => {
        if (i.x.data.some((v) => v < -1)) throw new Error('relu_forward raised ValueError: below -1 (layers.py:1)');
      };
      return {
        forward: (i, p) => {
          check(i);
          return im.impl.forward(i, p);
        },
        backward: (d, c) => im.impl.backward(d, c),
        ...(many
          ? {
              forwardMany: (list: Inputs[], p: Params) => {
                for (const i of list) check(i);
                return im.impl.forwardMany!(list, p);
              },
            }
          : {}),
      };
    };
    const outcome = (many: boolean) => gradCheck(spec, failing(many), inputs, {}, { rng: new XoshiroRng(6), mode: 'full' });
    const batched = outcome(true);
    expect(batched.pass).toBe(false);
    expect(batched.problems).toEqual(['relu threw: relu_forward raised ValueError: below -1 (layers.py:1)']);
    expect(batched).toEqual(outcome(false));
  });
});
