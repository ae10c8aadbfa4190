/**
 * Adding a layer is checkable: what outside src/ lists the layers (the Python fixture helper's
 * table, the independent numpy generator of the committed fixtures, the committed fixtures
 * themselves) must agree with the registry, so a layer added to LAYERS without them fails here.
 * Needs python3 with numpy (the README says so).
 */
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { LAYERS } from '../../src/layers/registry.js';
import { resultNames } from '../../src/fixtures/contract.js';
import { defaultParams, resolveShapes } from '../../src/layers/params.js';
import { implNames } from '../../src/layers/types.js';

const root = fileURLToPath(new URL('../..', import.meta.url));

/** Evaluate a Python expression with `dir` on sys.path; its JSON value. */
function python(dir: string, code: string): unknown {
  const r = spawnSync('python3', ['-c', `import json, sys; sys.path.insert(0, ${JSON.stringify(dir)}); ${code}`], { encoding: 'utf8', timeout: 60_000 });
  expect(r.status, r.stderr).toBe(0);
  return JSON.parse(r.stdout);
}

const registry = Object.fromEntries(LAYERS.map((l) => [l.name, l]));

describe('adding a layer: everything that lists the layers agrees with the registry', () => {
  it('the Python fixture helper: its layer table, params and array names', () => {
    const helper = python(
      `${root}/python`,
      'import cnn_check as m; print(json.dumps({"layers": {k: list(v) for k, v in m.LAYERS.items()}, "arrays": list(m.ARRAY_NAMES), "doc": m.__doc__}))',
    ) as {
      layers: Record<string, string[]>;
      arrays: string[];
      doc: string;
    };
    expect(Object.keys(helper.layers).sort()).toEqual(Object.keys(registry).sort());
    for (const [name, params] of Object.entries(helper.layers)) expect(params, name).toEqual(registry[name].params.map((p) => p.name));
    for (const spec of LAYERS) {
      for (const n of [...spec.inputs.map((i) => i.name), 'dout', ...resultNames(spec)]) expect(helper.arrays, `${spec.name}: ${n}`).toContain(n);
      expect(helper.doc, `the helper's docstring names ${spec.name}`).toContain(spec.name);
    }
  });

  it('the fixture generator: one entry per layer with its inputs', () => {
    const inputs = python(`${root}/fixtures`, 'import make_fixtures as m; print(json.dumps({k: list(v) for k, v in m.INPUTS.items()}))') as Record<
      string,
      string[]
    >;
    expect(Object.keys(inputs).sort()).toEqual(Object.keys(registry).sort());
    for (const [name, names] of Object.entries(inputs)) expect(names, name).toEqual(registry[name].inputs.map((i) => i.name));
  });

  it("every layer declares its passes' memory (LayerSpec.memory), for each of its implementations", () => {
    for (const spec of LAYERS) {
      expect(typeof spec.memory, spec.name).toBe('function');
      const shapes = resolveShapes(spec, {}, defaultParams(spec));
      const mem = spec.memory(shapes, defaultParams(spec), { dtype: 'float64', threads: 1 });
      expect(Object.keys(mem.impls).sort(), spec.name).toEqual(implNames(spec).sort());
    }
  });

  it('the committed fixtures: at least one good fixture per layer', () => {
    const files = readdirSync(`${root}/fixtures/good`);
    const byLongest = Object.keys(registry).sort((a, b) => b.length - a.length);
    const covered = new Set(files.map((f) => byLongest.find((l) => f === `${l}.npz` || f.startsWith(`${l}_`))));
    for (const name of Object.keys(registry)) expect(covered.has(name), name).toBe(true);
  });
});
