/**
 * The suite file is validated strictly and completely before anything runs: every mistake is
 * one line naming the file, the entry and the field.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FileError, FormatError } from '../../src/errors.js';
import { checkName, entryOf, parseSuite, readSuiteFile, resolveSuite, type LayerSuiteCheck } from '../../src/suite/schema.js';
import { flatCheck } from '../helpers/report.js';

const parse = (doc: unknown) => parseSuite(JSON.stringify(doc), 'suite.json').map(flatCheck);

/** [what is wrong, the suite, the message expected]. */
const INVALID: [string, unknown, RegExp][] = [
  ['not an array', { layer: 'conv' }, /^suite\.json: expected a JSON array of checks, got \{"layer":"conv"\}$/],
  ['empty', [], /^suite\.json: expected at least one check, got an empty array$/],
  [
    'entry not an object',
    [{ layer: 'conv' }, 'conv'],
    /^suite\.json\[1\]: expected an object such as \{"layer": "conv"\} or \{"fixture": "fixtures\/\*\.npz"\}, got 'conv'$/,
  ],
  [
    'unknown field',
    [{ layer: 'conv', stride: 2 }],
    /^suite\.json\[0\]: unknown field 'stride': expected name, layer, params, shapes, seed, .*checkMode, .*timeout, python$/,
  ],
  ['missing layer', [{ params: {} }], /^suite\.json\[0\]: layer: expected one of conv, maxpool, .*, got nothing$/],
  ['unknown layer', [{ layer: 'dilated_conv' }], /^suite\.json\[0\]: layer: unknown layer 'dilated_conv': expected one of conv, /],
  [
    'param out of domain',
    [{ layer: 'conv' }, { layer: 'conv', params: { stride: 0 } }],
    /^suite\.json\[1\] \(conv\): params\.stride: expected an integer >= 1, got 0$/,
  ],
  ['param as a string', [{ layer: 'conv', params: { pad: '1' } }], /^suite\.json\[0\] \(conv\): params\.pad: expected an integer >= 0, got '1'$/],
  ['unknown param', [{ layer: 'conv', params: { padding: 1 } }], /^suite\.json\[0\] \(conv\): params: unknown param 'padding': expected stride, pad$/],
  [
    'param of a layer without params',
    [{ layer: 'relu', params: { eps: 1 } }],
    /^suite\.json\[0\] \(relu\): params: unknown param 'eps': expected none \(relu has no params\)$/,
  ],
  ['enum param', [{ layer: 'batchnorm', params: { mode: 'eval' } }], /^suite\.json\[0\] \(batchnorm\): params\.mode: expected one of train, test, got 'eval'$/],
  [
    'params not an object',
    [{ layer: 'conv', params: [1, 2] }],
    /^suite\.json\[0\] \(conv\): params: expected an object of conv's params such as \{"stride": \.\.\.\}, got \[1,2\]$/,
  ],
  [
    'shape not positive',
    [{ layer: 'conv', shapes: { x: [4, 3, 0, 5] } }],
    /^suite\.json\[0\] \(conv\): shapes\.x: expected positive integer dimensions, got \[4,3,0,5\]$/,
  ],
  [
    'shape of a derived input',
    [{ layer: 'conv', shapes: { b: [2] } }],
    /^suite\.json\[0\] \(conv\): shapes\.b: conv has no settable input 'b' \(b's shape follows from the others\): expected x, w$/,
  ],
  ['shapes the layer refuses', [{ layer: 'conv', shapes: { x: [2, 4, 5, 5] } }], /^suite\.json\[0\] \(conv\): conv: w channels must equal x channels/],
  [
    'groups not dividing C',
    [{ layer: 'spatial_groupnorm', params: { G: 4 } }],
    /^suite\.json\[0\] \(spatial_groupnorm\): spatial_groupnorm: expected G to divide C, got C = 6, G = 4$/,
  ],
  [
    'check mode',
    [{ layer: 'conv', checkMode: 'fast' }],
    /^suite\.json\[0\] \(conv\): checkMode: expected one of full, sampled, directional, auto, got 'fast'$/,
  ],
  ['dtype', [{ layer: 'conv', dtype: 'float16' }], /^suite\.json\[0\] \(conv\): dtype: expected one of float64, float32, got 'float16'$/],
  ['samples', [{ layer: 'conv', samples: 1.5 }], /^suite\.json\[0\] \(conv\): samples: expected an integer in \[1, 1000000\], got 1\.5$/],
  ['directions', [{ layer: 'conv', directions: 0 }], /^suite\.json\[0\] \(conv\): directions: expected an integer in \[1, 10000\], got 0$/],
  ['budget', [{ layer: 'conv', budget: 0 }], /^suite\.json\[0\] \(conv\): budget: expected a number in \(0, 86400\], got 0$/],
  ['maxError', [{ layer: 'conv', maxError: -1 }], /^suite\.json\[0\] \(conv\): maxError: expected a number > 0, got -1$/],
  ['h', [{ layer: 'conv', h: 2 }], /^suite\.json\[0\] \(conv\): h: expected a number in \(0, 1\], got 2$/],
  ['seed', [{ layer: 'conv', seed: 2 ** 32 }], /^suite\.json\[0\] \(conv\): seed: expected an integer in \[0, 4294967295\], got 4294967296$/],
  ['rng', [{ layer: 'conv', rng: 'mt' }], /^suite\.json\[0\] \(conv\): rng: expected one of default, numpy, got 'mt'$/],
  ['init', [{ layer: 'conv', init: 'zeros' }], /^suite\.json\[0\] \(conv\): init: expected one of randn, linspace, got 'zeros'$/],
  ['strictKinks', [{ layer: 'relu', strictKinks: 'yes' }], /^suite\.json\[0\] \(relu\): strictKinks: expected true or false, got 'yes'$/],
  ['impls', [{ layer: 'conv', impls: ['fast', 'fast'] }], /^suite\.json\[0\] \(conv\): impls: expected distinct names, got 'fast,fast'$/],
  ['impls empty', [{ layer: 'conv', impls: [] }], /^suite\.json\[0\] \(conv\): impls: expected a non-empty list/],
  [
    'impls unknown',
    [{ layer: 'conv', impls: ['slow'] }],
    /^suite\.json\[0\] \(conv\): impls: expected a list of implementations of conv: "naive", "fast", got 'slow'$/,
  ],
  ['timeout without impl', [{ layer: 'conv', timeout: 5 }], /^suite\.json\[0\] \(conv\): timeout: applies to "impl" only; add an? "impl" field$/],
  ['repeat', [{ layer: 'conv', repeat: -1 }], /^suite\.json\[0\] \(conv\): repeat: expected an integer in \[0, 10000\], got -1$/],
  [
    'name with a line break',
    [{ name: 'a\nb', layer: 'conv' }],
    /^suite\.json\[0\] \(conv\): name: expected a one-line label of 1 to 200 characters, got 'a\\nb'$/,
  ],
  ['name empty', [{ name: '  ', layer: 'conv' }], /^suite\.json\[0\] \(conv\): name: expected a one-line label/],
  [
    'duplicate names',
    [
      { layer: 'conv', name: 'c' },
      { layer: 'maxpool', name: 'c' },
    ],
    /^suite\.json\[1\] \(maxpool\): name: 'c' is also the name of entry 0: expected a unique name \(set "name"\)$/,
  ],
  ['duplicate entries', [{ layer: 'conv' }, { layer: 'conv' }], /^suite\.json\[1\] \(conv\): name: 'conv \(defaults\)' is also the name of entry 0/],
];

describe('suite schema: invalid suites', () => {
  it.each(INVALID)('%s', (_what, doc, message) => {
    let err: unknown;
    try {
      parse(doc);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(FormatError);
    expect((err as Error).message).toMatch(message);
  });

  it('every message is one line', () => {
    for (const [what, doc] of INVALID) {
      try {
        parse(doc);
      } catch (e) {
        expect((e as Error).message, what).not.toContain('\n');
      }
    }
  });

  it('text that is not JSON names the file and stays on one line', () => {
    expect(() => parseSuite('[{"layer": "conv",\n}]', 'suite.json')).toThrow(/^suite\.json: not valid JSON: [^\n]+$/);
  });
});

describe('suite schema: valid suites', () => {
  it('fills defaults as the layer command would, and repeat 0', () => {
    const [c] = parse([{ layer: 'conv' }]);
    expect(c).toMatchObject({
      index: 0,
      name: 'conv (defaults)',
      params: { stride: 1, pad: 1 },
      checkMode: 'auto',
      dtype: 'float64',
      seed: 231,
      rng: 'default',
      init: 'randn',
      strictKinks: false,
      repeat: 0,
      givenShapes: {},
      shapes: { x: [4, 3, 5, 5], w: [2, 3, 3, 3], b: [2] },
    });
    expect(c.spec.name).toBe('conv');
  });

  it('takes every field, kebab-case layer names, and names a check by what differs', () => {
    const [c] = parse([
      {
        layer: 'spatial-groupnorm',
        params: { G: 3 },
        shapes: { x: [2, 6, 8, 8] },
        checkMode: 'sampled',
        samples: 16,
        directions: 2,
        budget: 1,
        dtype: 'float32',
        maxError: 1e-4,
        h: 1e-4,
        seed: 7,
        rng: 'numpy',
        init: 'linspace',
        strictKinks: true,
        impls: ['fast'],
        repeat: 2,
      },
    ]);
    expect(c.spec.name).toBe('spatial_groupnorm');
    expect(c.shapes).toEqual({ x: [2, 6, 8, 8], gamma: [1, 6, 1, 1], beta: [1, 6, 1, 1] });
    expect(c.name).toBe(
      'spatial_groupnorm G=3 x 2,6,8,8 seed=7 rng=numpy init=linspace sampled samples=16 directions=2 budget=1 float32 h=1e-4 maxError=1e-4 strictKinks repeat=2 fast',
    );
    expect(c).toMatchObject({ budget: 1, repeat: 2, impls: ['fast'] });
  });

  it('a shape equal to the default is not part of the name', () => {
    expect(parse([{ layer: 'conv', shapes: { x: [8, 3, 5, 5], w: [2, 3, 3, 3] } }])[0].name).toBe('conv x 8,3,5,5');
  });

  it('an explicit name is kept (trimmed)', () => {
    expect(parse([{ name: ' big conv ', layer: 'conv' }])[0].name).toBe('big conv');
  });

  it('entryOf writes a check back as an entry that resolves to the same check', () => {
    const raw = parseSuite(
      JSON.stringify([
        { layer: 'batchnorm', params: { mode: 'test' }, shapes: { x: [6, 3] }, dtype: 'float32', seed: 3 },
        { layer: 'relu', impls: ['naive'] },
      ]),
      'suite.json',
    );
    const checks = raw.map(flatCheck);
    const again = resolveSuite(JSON.parse(JSON.stringify(raw.map(entryOf))), 'again');
    expect(again.map(flatCheck).map((c) => [c.name, c.params, c.shapes, c.dtype, c.seed, c.impls])).toEqual(
      checks.map((c) => [c.name, c.params, c.shapes, c.dtype, c.seed, c.impls]),
    );
    expect(checkName((again[1] as LayerSuiteCheck).request)).toBe('relu naive');
  });
});

describe('suite files', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cnn-check-suite-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('reads a file and names it in messages', () => {
    const good = join(dir, 'good.json');
    writeFileSync(good, JSON.stringify([{ layer: 'relu' }]));
    expect(readSuiteFile(good).map((c) => c.name)).toEqual(['relu (defaults)']);
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, JSON.stringify([{ layer: 'relu', seed: -1 }]));
    expect(() => readSuiteFile(bad)).toThrow(`${bad}[0] (relu): seed: expected an integer in [0, 4294967295], got -1`);
  });

  it('a missing file or a directory is a FileError', () => {
    expect(() => readSuiteFile(join(dir, 'nope.json'))).toThrow(FileError);
    expect(() => readSuiteFile(join(dir, 'nope.json'))).toThrow(/nope\.json: no such file or directory: expected a JSON suite file$/);
    expect(() => readSuiteFile(dir)).toThrow(/: expected a JSON suite file, got a directory$/);
  });
});
