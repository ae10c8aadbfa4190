/**
 * Memory estimates and the refusals above --max-memory, in-process: the arithmetic of estimate.ts,
 * the default limit, and every place work is refused before it allocates (checks, the library's
 * checkLayer, exports, fixture comparisons, benchmarks, suites). Nothing here allocates what it
 * refuses: a refused conv with pad 3000 would need ~100 GiB.
 */
import { totalmem } from 'node:os';
import { describe, expect, it } from 'vitest';
import { MemoryLimitError } from '../../src/errors.js';
import { getLayer } from '../../src/layers/registry.js';
import { defaultParams, resolveShapes, validateParams } from '../../src/layers/params.js';
import { formatBytes, largestWorkspace, MemoryTally, requireMemory } from '../../src/memory/estimate.js';
import { availableMemory, defaultMaxMemory, MAX_MEMORY_FRACTION, memoryLimit } from '../../src/memory/limit.js';
import { describeCase, estimateCheckMemory, estimateExportMemory, inSequence } from '../../src/memory/work.js';
import { buildCheckRequest, FLAG_LABELS } from '../../src/request/request.js';
import { checkLayer } from '../../src/gradcheck/check-layer.js';
import { compareFixture } from '../../src/fixtures/compare.js';
import { runBench } from '../../src/bench/run.js';
import { parseSuite, type LayerSuiteCheck } from '../../src/suite/schema.js';
import { requireSuiteMemory, runSuite } from '../../src/suite/run.js';
import { defaultSettings, parseSettings, SETTINGS } from '../../src/settings/schema.js';
import { XoshiroRng, randn } from '../../src/tensor/rng.js';
import type { Fixture } from '../../src/fixtures/contract.js';

const GiB = 2 ** 30;

describe('estimate arithmetic', () => {
  it('formats bytes in binary units with one decimal', () => {
    expect(formatBytes(900)).toBe('900 bytes');
    expect(formatBytes(1536)).toBe('1.5 KiB');
    expect(formatBytes(21.3 * GiB)).toBe('21.3 GiB');
    expect(formatBytes(3 * 2 ** 40)).toBe('3.0 TiB');
  });

  it('adds parts by name, keeps each workspace buffer at its largest, and sorts the largest first', () => {
    const e = new MemoryTally()
      .add('out', 10)
      .add('dx', 30)
      .add('out', 5)
      .workspaceAtLeast({ arena: 8, wasm: 2 })
      .workspaceAtLeast({ arena: 4, wasm: 7 })
      .estimate();
    expect(e.parts).toEqual([
      { name: 'dx', bytes: 30 },
      { name: 'out', bytes: 15 },
      { name: 'arena', bytes: 8 },
      { name: 'wasm', bytes: 7 },
    ]);
    expect(e.total).toBe(60);
    expect(e.workspace).toEqual({ arena: 8, wasm: 7 });
    expect(largestWorkspace({ a: 1 }, undefined, { a: 3, b: 2 })).toEqual({ a: 3, b: 2 });
  });

  it('work in sequence holds the workspace every earlier piece grew', () => {
    const first = new MemoryTally().add('inputs', 100).workspaceAtLeast({ scratch: 1000 }).estimate();
    const second = new MemoryTally().add('inputs', 10).workspaceAtLeast({ arena: 50 }).estimate();
    const [a, b] = inSequence([first, second]);
    expect(a.total).toBe(1100);
    expect(b.total).toBe(10 + 1000 + 50);
    expect(b.workspace).toEqual({ scratch: 1000, arena: 50 });
  });

  it('refuses above the limit in one line with the largest parts, and accepts at the limit', () => {
    const e = new MemoryTally()
      .add('columns', 8 * GiB)
      .add('out', 2 * GiB)
      .add('tiny', 1)
      .estimate();
    expect(() => requireMemory('conv with pad 3000: its check', e, { bytes: e.total, label: '--max-memory' })).not.toThrow();
    let message = '';
    try {
      requireMemory('conv with pad 3000: its check', e, { bytes: 4 * GiB, label: '--max-memory', origin: "the default, half of this machine's 8.0 GiB" });
    } catch (err) {
      expect(err).toBeInstanceOf(MemoryLimitError);
      message = (err as Error).message;
    }
    expect(message).toBe(
      "conv with pad 3000: its check needs ~10.0 GiB of memory (columns 8.0 GiB, out 2.0 GiB, ...), above --max-memory 4.0 GiB (the default, half of this machine's 8.0 GiB): " +
        'expected at most that; use smaller shapes or raise --max-memory',
    );
  });

  it('names a case by what differs from the layer defaults', () => {
    const conv = getLayer('conv');
    const params = validateParams(conv, { pad: 3000 });
    expect(describeCase(conv, params, resolveShapes(conv, {}, params))).toBe('conv with pad 3000');
    expect(describeCase(conv, defaultParams(conv), resolveShapes(conv, { x: [8, 3, 5, 5] }, defaultParams(conv)))).toBe('conv with x 8,3,5,5');
    expect(describeCase(conv, defaultParams(conv), resolveShapes(conv, {}, defaultParams(conv)))).toBe('conv');
  });
});

describe('the default limit', () => {
  it('is half of the memory available: the machine, or a lower cgroup limit', () => {
    const avail = availableMemory();
    expect(avail.bytes).toBeGreaterThan(0);
    expect(avail.bytes).toBeLessThanOrEqual(totalmem());
    expect(defaultMaxMemory()).toBe(Math.floor(MAX_MEMORY_FRACTION * avail.bytes));
    const limit = memoryLimit(undefined, '--max-memory');
    expect(limit.bytes).toBe(defaultMaxMemory());
    expect(limit.origin).toMatch(/^the default, half of (this machine's|the control group's limit of) \d+\.\d [KMGT]iB$/);
    expect(memoryLimit(123, 'maxMemory')).toEqual({ bytes: 123, label: 'maxMemory' });
  });

  it('is a setting: --max-memory on every layer command, maxMemory in suite entries', () => {
    expect(SETTINGS.maxMemory.flag).toBe('max-memory');
    expect(SETTINGS.maxMemory.suite).toBe(true);
    expect(parseSettings({ maxMemory: '8e9' }, { text: true, labelOf: (s) => `--${s.flag}` }).maxMemory).toBe(8e9);
    expect(() => parseSettings({ maxMemory: '0' }, { text: true, labelOf: (s) => `--${s.flag}` })).toThrow(
      "--max-memory: expected an integer in [1, 9007199254740991], got '0'",
    );
  });
});

describe('a check estimate grows with what the check keeps', () => {
  const conv = getLayer('conv');
  const params = defaultParams(conv);
  const shapes = resolveShapes(conv, { x: [8, 3, 16, 16] }, params);
  const settings = { dtype: 'float64' as const, checkMode: 'directional' as const, hSweep: false };
  const total = (s: Partial<typeof settings> & { directions?: number; impl?: string }) =>
    estimateCheckMemory({ spec: conv, shapes, params, settings: { ...settings, ...s } }).total;

  it('float32 adds the copies, a user module the comparison, each direction an array of the input', () => {
    const base = total({});
    expect(total({ dtype: 'float32' } as never)).toBeGreaterThan(base);
    expect(total({ impl: 'conv.mjs' })).toBeGreaterThan(base);
    const x = 8 * 3 * 16 * 16;
    expect(total({ directions: 10 }) - total({ directions: 2 })).toBe(8 * 8 * x);
  });

  it('an export of the same case needs less than its check', () => {
    expect(estimateExportMemory(conv, shapes, params).total).toBeLessThan(total({}));
  });
});

describe('refused before anything is allocated', () => {
  const conv = getLayer('conv');

  it('a layer command: --pad 3000 names the estimate and --max-memory', () => {
    const settings = { ...defaultSettings(), repeat: 0, maxMemory: 4 * GiB };
    expect(() => buildCheckRequest(conv, { params: { pad: '3000' }, shapes: {} }, settings, FLAG_LABELS)).toThrow(
      /^conv with pad 3000: its check needs ~\d+\.\d GiB of memory \(.*\), above --max-memory 4\.0 GiB: expected at most that; use smaller shapes or raise --max-memory$/,
    );
  });

  it('checkLayer (the library) names maxMemory', () => {
    expect(() => checkLayer(conv, { params: { pad: 3000 }, maxMemory: GiB })).toThrow(MemoryLimitError);
    expect(() => checkLayer(conv, { params: { pad: 3000 }, maxMemory: GiB })).toThrow(/above maxMemory 1\.0 GiB/);
  });

  it('an export is held to its own estimate, not the check', () => {
    const settings = { ...defaultSettings(), maxMemory: 4 * GiB };
    const exportWork = { what: 'its export', estimate: (s: Record<string, number[]>, p: Record<string, number | string>) => estimateExportMemory(conv, s, p) };
    expect(() => buildCheckRequest(conv, { params: { pad: '100000' }, shapes: {} }, settings, FLAG_LABELS, process.cwd(), exportWork)).toThrow(
      /^conv with pad 100000: its export needs ~\d+\.\d TiB/,
    );
  });

  it('a fixture comparison, from the params in its meta', () => {
    const rng = new XoshiroRng(1);
    const params = validateParams(conv, { pad: 20000 });
    const fx: Fixture = {
      path: 'big.npz',
      spec: conv,
      params,
      inputs: { x: randn(rng, [4, 3, 5, 5]), w: randn(rng, [2, 3, 3, 3]), b: randn(rng, [2]) },
      expected: new Map(),
    };
    expect(() => compareFixture(fx, { maxMemory: GiB, memoryLabel: '--max-memory' })).toThrow(
      /^big\.npz: comparing it needs ~\d+\.\d GiB of memory .*above --max-memory 1\.0 GiB/,
    );
  });

  it('a benchmark, every row before the first runs', () => {
    const params = validateParams(conv, { pad: 20000 });
    expect(() =>
      runBench([{ layer: conv, shapes: { x: [4, 3, 5, 5], w: [2, 3, 3, 3] }, params }], {
        dtypes: ['float64'],
        impls: ['naive', 'fast'],
        threads: 1,
        warmup: 0,
        repeat: 1,
        naiveBudgetSec: Infinity,
        maxMemory: GiB,
        memoryLabel: '--max-memory',
      }),
    ).toThrow(/^bench conv with pad 20000 float64 naive needs ~\d+\.\d GiB/);
  });

  it('a suite entry when the suite is read, naming the entry', () => {
    expect(() => parseSuite(JSON.stringify([{ layer: 'conv', params: { pad: 3000 }, maxMemory: 1e9 }]), 'suite.json')).toThrow(
      /^suite\.json\[0\] \(conv\): conv with pad 3000: its check needs .* above maxMemory 953\.7 MiB/,
    );
  });

  it('a suite entry that fits alone, after an entry whose kernels keep more workspace than is left', () => {
    const [big, small] = parseSuite(
      JSON.stringify([{ layer: 'conv', shapes: { x: [16, 16, 32, 32], w: [16, 16, 3, 3] } }, { layer: 'relu' }]),
      'suite.json',
    ) as LayerSuiteCheck[];
    const alone = estimateCheckMemory(small.request);
    const after = inSequence([estimateCheckMemory(big.request), alone])[1];
    expect(after.total).toBeGreaterThan(alone.total);
    small.request.settings.maxMemory = alone.total;
    expect(() => requireSuiteMemory([small], 'suite.json')).not.toThrow();
    expect(() => runSuite([big, small], 'suite.json')).toThrow(/^suite\.json\[1\] \(relu \(defaults\)\): relu: its check needs/);
  });
});
