/**
 * The suite runner: each check runs as its layer command would, results come back as data,
 * failures are counted and the worst gradient named; progress says which check is running.
 */
import { describe, expect, it } from 'vitest';
import { conv, convBackwardNaive } from '../../src/layers/conv.js';
import type { LayerSpec } from '../../src/layers/types.js';
import { checkLayer } from '../../src/gradcheck/check-layer.js';
import { linspaceInput, makeRng } from '../../src/fixtures/inputs.js';
import { parseSuite, type LayerSuiteCheck } from '../../src/suite/schema.js';
import { runCheck, runSuite, worstGradient, type SuiteProgress } from '../../src/suite/run.js';

/** conv whose naive backward returns dx with the wrong sign. */
const signFlipped: LayerSpec = {
  ...conv,
  impls: {
    ...conv.impls,
    naive: {
      forward: conv.impls.naive.forward,
      backward: (dout, cache) => {
        const g = convBackwardNaive(dout, cache);
        return { ...g, dx: { data: g.dx.data.map((v) => -v), shape: g.dx.shape } };
      },
    },
  },
};

const suite = (doc: unknown) => parseSuite(JSON.stringify(doc), 'suite.json') as LayerSuiteCheck[];

/** A clock that advances 250 ms each time it is read. */
function steppingClock(): () => number {
  let t = 0;
  return () => (t += 250);
}

describe('runSuite', () => {
  it('runs every check as the layer command does and summarizes', () => {
    const checks = suite([
      { layer: 'conv', params: { stride: 2 }, seed: 5 },
      { layer: 'relu', dtype: 'float32' },
      { layer: 'batchnorm', params: { mode: 'test' }, impls: ['fast'] },
    ]);
    const r = runSuite(checks, 'suite.json', { now: steppingClock() });
    expect(r).toMatchObject({ source: 'suite.json', pass: true, failedChecks: 0, failedGradients: 0, gradients: 6 + 2 + 3 });
    expect(r.checks.map((c) => [c.name, c.layer, c.pass, c.gradients, c.failed, c.dtype])).toEqual([
      ['conv stride=2 seed=5', 'conv', true, 6, 0, 'float64'],
      ['relu float32', 'relu', true, 2, 0, 'float32'],
      ['batchnorm mode=test fast', 'batchnorm', true, 3, 0, 'float64'],
    ]);
    // Each check reads the clock twice (start, end): 250 ms apart.
    expect(r.checks.map((c) => c.seconds)).toEqual([0.25, 0.25, 0.25]);
    // The same numbers as the layer command: checkLayer with the same settings.
    const direct = checkLayer(conv, { params: { stride: 2, pad: 1 }, seed: 5, repeat: 0 });
    expect(r.checks[0].report!.gradients).toEqual(direct.gradients);
    expect(r.checks[0].report!.timing).toEqual([]);
    expect(r.checks[2].report!.gradients.map((g) => g.impl)).toEqual(['fast', 'fast', 'fast']);
  });

  it('a failing check fails the suite, with the worst gradient named', () => {
    const checks = suite([{ layer: 'conv' }, { layer: 'conv', name: 'broken conv', impls: ['naive'] }]);
    checks[1] = { ...checks[1], request: { ...checks[1].request, spec: signFlipped } };
    const r = runSuite(checks, 'suite.json');
    expect(r).toMatchObject({ pass: false, failedChecks: 1, failedGradients: 1, gradients: 9 });
    const bad = r.checks[1];
    expect(bad).toMatchObject({ name: 'broken conv', pass: false, gradients: 3, failed: 1 });
    expect(bad.worst).toMatchObject({ impl: 'naive', name: 'dx', threshold: 1e-7 });
    expect(bad.worst!.relError).toBe(1); // analytic = -numeric everywhere: |a - n| / (|a| + |n|) = 1
    expect(bad.report!.gradients[0].localization?.hint?.kind).toBe('sign');
  });

  it('reports progress: each check as it starts, then its gradients', () => {
    const events: SuiteProgress[] = [];
    runSuite(suite([{ layer: 'relu' }, { layer: 'maxpool' }]), 'x', { onProgress: (p) => events.push(p) });
    const starts = events.filter((e) => !e.check);
    expect(starts).toEqual([
      { index: 1, total: 2, name: 'relu (defaults)', check: undefined },
      { index: 2, total: 2, name: 'maxpool (defaults)', check: undefined },
    ]);
    const inner = events.filter((e) => e.check);
    expect(inner.length).toBeGreaterThan(0);
    expect(new Set(inner.map((e) => e.name))).toEqual(new Set(['relu (defaults)', 'maxpool (defaults)']));
    expect(inner.every((e) => ['naive', 'fast'].includes(e.check!.impl) && e.check!.gradient === 'dx')).toBe(true);
  });

  it('rng numpy and init linspace reach the inputs as on the command line', () => {
    const [c] = suite([{ layer: 'conv', init: 'linspace', rng: 'numpy', seed: 1, impls: ['naive'] }]);
    const r = runCheck(c);
    const inputs = Object.fromEntries(conv.inputs.map((i) => [i.name, linspaceInput(i, c.request.shapes[i.name])!]));
    const direct = checkLayer(conv, { params: c.request.params, inputs, rng: makeRng('numpy', 1), seed: 1, repeat: 0, impls: ['naive'] });
    expect(r.pass).toBe(true);
    expect(r.gradients).toEqual(direct.gradients);
    const drawn = checkLayer(conv, { params: c.request.params, rng: makeRng('numpy', 1), seed: 1, repeat: 0, impls: ['naive'] });
    expect(r.gradients.map((g) => g.worst)).not.toEqual(drawn.gradients.map((g) => g.worst));
  });

  it('worstGradient ranks by relError / threshold, NaN first', () => {
    const row = (name: string, relError: number, threshold: number) => ({ impl: 'fast', name, relError, threshold }) as never;
    expect(worstGradient([row('dx', 1e-8, 1e-7), row('dgamma', 1e-6, 1e-5), row('db', 5e-8, 1e-7)])).toMatchObject({ name: 'db' });
    expect(worstGradient([row('dx', 1, 1e-7), row('dw', NaN, 1e-7)])).toMatchObject({ name: 'dw' });
    expect(worstGradient([])).toBeNull();
  });
});
