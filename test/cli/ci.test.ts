/**
 * CI gates for a user's own code: suites that name modules and fixtures, `suite --impl`,
 * sharding across a CI matrix and merging the shards, `--max-time`, `compare --junit`,
 * `bench --impl`, the suite file's JSON Schema, and the example workflows run as shipped.
 */
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { parse as parseYaml } from 'yaml';
import { afterAll, describe, expect, it } from 'vitest';
import { suiteJsonSchema } from '../../src/suite/json-schema.js';
import { parseSuite, entryOf } from '../../src/suite/schema.js';
import { assignShards } from '../../src/suite/shard.js';
import { defaultSuiteEntries } from '../../src/suite/default.js';
import { run } from '../helpers/io.js';
import { getLayer } from '../../src/layers/registry.js';
import { defaultParams, generateInputs, resolveShapes } from '../../src/layers/params.js';
import { referenceMembers } from '../../src/fixtures/export.js';
import { writeNpz } from '../../src/npy/npz.js';
import { XoshiroRng, randn } from '../../src/tensor/rng.js';
import type { Tensor } from '../../src/tensor/tensor.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const bin = join(root, 'bin', 'cnn-check.js');
const dir = mkdtempSync(join(tmpdir(), 'cnn-check-ci-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const parser = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '', htmlEntities: true, isArray: (n) => ['testsuite', 'testcase'].includes(n) });
interface Case {
  name: string;
  failure?: { message: string };
  error?: { message: string };
  skipped?: { message: string };
}
interface Junit {
  testsuites: { tests: string; failures: string; errors: string; testsuite: { name: string; tests: string; failures: string; testcase: Case[] }[] };
}
function readJunit(path: string): Junit {
  const xml = readFileSync(path, 'utf8');
  expect(XMLValidator.validate(xml)).toBe(true);
  return parser.parse(xml);
}

const hasNumpy = spawnSync('python3', ['-c', 'import numpy'], { encoding: 'utf8' }).status === 0;
if (!hasNumpy) console.log('skipped: the numpy module entries of the mixed suite (python3 with numpy not found)');

/** A user's repository: the example suite, its fixtures and module laid out as examples/ has them. */
function userRepo(name: string): string {
  const repo = join(dir, name);
  mkdirSync(repo);
  cpSync(join(root, 'examples', 'ci'), join(repo, 'ci'), { recursive: true });
  cpSync(join(root, 'examples', 'conv-impl.mjs'), join(repo, 'conv-impl.mjs'));
  return repo;
}

/** The example suite plus numpy module entries (a cs231n layers.py) where python3 has numpy: built-in checks, a JS module, a Python module and a fixture glob. */
function mixedSuite(repo: string): string {
  const entries = JSON.parse(readFileSync(join(repo, 'ci', 'cnn-check.json'), 'utf8')) as unknown[];
  if (hasNumpy) {
    cpSync(join(root, 'test', 'impls', 'python', 'cs231n', 'layers.py'), join(repo, 'layers.py'));
    entries.push(
      { name: 'my numpy max-pool', layer: 'maxpool', impl: '../layers.py' },
      { name: 'my numpy batchnorm', layer: 'batchnorm', impl: '../layers.py' },
    );
  }
  const path = join(repo, 'ci', 'mixed.json');
  writeFileSync(path, JSON.stringify(entries));
  return path;
}

describe('a suite naming modules and fixtures, sharded and merged', () => {
  const repo = userRepo('repo');
  const suite = mixedSuite(repo);
  const shards = [1, 2, 3].map((i) => join(dir, `shard-${i}.json`));

  it('every shard runs its share; merged, the JUnit has every check exactly once', async () => {
    const total = parseSuite(readFileSync(suite, 'utf8'), suite, join(repo, 'ci')).length;
    const seen: string[] = [];
    for (let i = 1; i <= 3; i++) {
      const r = await run(['suite', suite, '--shard', `${i}/3`, '--json']);
      expect(r.code, r.stderr).toBe(0);
      writeFileSync(shards[i - 1], r.stdout);
      const doc = JSON.parse(r.stdout);
      expect(doc.shard).toEqual({ index: i, count: 3 });
      expect(doc.total).toBe(total);
      seen.push(...doc.checks.map((c: { name: string }) => c.name));
      expect(r.stderr).toMatch(new RegExp(`^cnn-check suite: \\d+ checks? \\(shard ${i}/3 of ${total}\\), estimated [\\d.]+ s\\n$`));
    }
    expect(seen.length).toBe(total);
    expect(new Set(seen).size).toBe(total);
    const junit = join(dir, 'all.xml');
    const merged = await run(['merge-reports', ...shards, '--junit', junit, '--json']);
    expect(merged.code).toBe(0);
    const doc = readJunit(junit);
    const names = doc.testsuites.testsuite.map((s) => s.name);
    expect(names.sort()).toEqual([...seen].sort());
    expect(names).toContain('my conv');
    expect(names).toContain('fixture fixtures/conv_s1_p1.npz');
    if (hasNumpy) {
      const numpy = doc.testsuites.testsuite.find((s) => s.name === 'my numpy batchnorm')!;
      expect(numpy.testcase.map((t) => t.name)).toContain('py vs naive dx');
      expect(numpy.testcase.map((t) => t.name)).toContain('py:alt dx');
      expect(numpy.failures).toBe('0');
    }
    const fixture = doc.testsuites.testsuite.find((s) => s.name === 'fixture fixtures/conv_s1_p1.npz')!;
    expect(fixture.testcase.map((t) => t.name)).toEqual(['out', 'dx', 'dw', 'db']);
    expect(JSON.parse(merged.stdout)).toMatchObject({ pass: true, total, failedChecks: 0 });
  });

  it('a failing entry fails the merged report (exit 1), a missing or repeated shard is refused (exit 2)', async () => {
    // A passing entry and a failing one, one a shard: what is tested is how a failure and the shards merge,
    // whatever the entries (the suite above, with its modules and fixtures, merges in the test above).
    const bad = join(repo, 'ci', 'failing.json');
    writeFileSync(
      bad,
      JSON.stringify([
        { name: 'reference max-pool', layer: 'maxpool' },
        { name: 'h far too large', layer: 'batchnorm', h: 0.5, impls: ['naive'] },
      ]),
    );
    const docs: string[] = [];
    let failed = 0;
    for (let i = 1; i <= 2; i++) {
      const r = await run(['suite', bad, '--shard', `${i}/2`, '--json']);
      failed += r.code;
      const path = join(dir, `bad-${i}.json`);
      writeFileSync(path, r.stdout);
      docs.push(path);
    }
    expect(failed).toBe(1);
    const merged = await run(['merge-reports', ...docs]);
    expect(merged.code).toBe(1);
    expect(merged.stdout).toMatch(/FAIL \d+\. h far too large/);
    const missing = await run(['merge-reports', docs[0]]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/^cnn-check: merge: shard 2\/2 of .*failing\.json missing: expected a report of every shard\n$/);
    const twice = await run(['merge-reports', docs[0], docs[0]]);
    expect(twice.code).toBe(2);
    expect(twice.stderr).toMatch(/shard 1\/2 is also .*: expected each shard once/);
    const mixed = await run(['merge-reports', docs[0], shards[1], shards[2]]);
    expect(mixed.code).toBe(2);
  });

  it('shards are balanced by estimated cost, not by count, and cover every check once', () => {
    const checks = parseSuite(JSON.stringify(defaultSuiteEntries()), 'default');
    for (const n of [2, 3, 5]) {
      const owner = assignShards(checks, n);
      const load = new Array(n).fill(0);
      owner.forEach((s, k) => {
        load[s] += checks[k].estimate;
      });
      const biggest = Math.max(...checks.map((c) => c.estimate));
      // Longest-first greedy: no shard exceeds the lightest by more than the largest check.
      expect(Math.max(...load) - Math.min(...load)).toBeLessThanOrEqual(biggest + 1e-9);
      expect(owner.every((s) => s >= 0 && s < n)).toBe(true);
    }
  });

  it('bad --shard values exit 2 with one line', async () => {
    for (const bad of ['0/3', '4/3', '1/0', 'a/b', '1']) {
      const r = await run(['suite', suite, '--shard', bad]);
      expect(r.code).toBe(2);
      expect(r.stderr).toBe(`cnn-check: --shard: expected i/n with 1 <= i <= n <= 1000, such as 2/3, got '${bad}'\n`);
    }
  });

  it('--max-time: checks that would end after it are not started, named, and fail the run', async () => {
    const junit = join(dir, 'late.xml');
    const r = await run(['suite', suite, '--max-time', '0.000001', '--junit', junit]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/NOT RUN \(--max-time\): 1\. reference conv, stride 2, 2\. reference max-pool/);
    const doc = readJunit(junit);
    const skipped = doc.testsuites.testsuite.flatMap((s) => s.testcase).filter((t) => t.skipped);
    // Every check of the suite: the example's six and the two numpy entries where numpy is present.
    expect(skipped.length).toBe(hasNumpy ? 8 : 6);
    expect(skipped[0].skipped!.message).toMatch(/^not started: the run reached --max-time \(estimated [\d.]+ s\)$/);
  });
});

describe('suite --impl', () => {
  it('applies the module to every entry of its layer, and only there', async () => {
    const file = join(dir, 'impl.json');
    writeFileSync(file, JSON.stringify([{ layer: 'conv' }, { layer: 'conv', params: { stride: 2 } }, { layer: 'relu' }]));
    const r = await run(['suite', file, '--impl', join(root, 'examples', 'conv-impl.mjs'), '--json']);
    expect(r.code, r.stderr).toBe(0);
    const doc = JSON.parse(r.stdout);
    expect(doc.checks.map((c: { report: { comparisons?: unknown[] } }) => (c.report.comparisons ?? []).length)).toEqual([1, 1, 0]);
    expect(doc.checks[0].report.gradients.some((g: { impl: string }) => g.impl === 'user')).toBe(true);
  });

  it('a module that does not say its layer is refused with what to add', async () => {
    const mod = join(dir, 'anonymous.mjs');
    writeFileSync(mod, readFileSync(join(root, 'examples', 'conv-impl.mjs'), 'utf8').replace("export const layer = 'conv';", ''));
    const file = join(dir, 'anon.json');
    writeFileSync(file, JSON.stringify([{ layer: 'conv' }]));
    const r = await run(['suite', file, '--impl', mod]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/suite --impl .*anonymous\.mjs: the module does not say which layer it implements: add export const layer = 'conv'/);
  });
});

describe('fixture entries', () => {
  it('a glob gives one check per file; an invalid fixture is its own result (exit 2), the others still report', async () => {
    const repo = userRepo('fixtures-repo');
    writeFileSync(join(repo, 'ci', 'fixtures', 'broken.npz'), 'not a zip archive');
    const file = join(repo, 'ci', 'fixtures.json');
    writeFileSync(file, JSON.stringify([{ fixture: 'fixtures/*.npz', name: 'saved' }]));
    const r = await run(['suite', file, '--json', '--no-annotations']);
    expect(r.code).toBe(2);
    const doc = JSON.parse(r.stdout);
    expect(doc.checks.map((c: { name: string; pass: boolean }) => [c.name, c.pass])).toEqual([
      ['saved fixtures/broken.npz', false],
      ['saved fixtures/conv_s1_p1.npz', true],
      ['saved fixtures/maxpool_2x2_s2.npz', true],
    ]);
    expect(doc.checks[0].error).toMatch(/broken\.npz/);
    expect(doc.invalid).toBe(1);
  });

  it('a pattern matching nothing, or a field a fixture entry does not have, is a suite error', async () => {
    const file = join(dir, 'nomatch.json');
    writeFileSync(file, JSON.stringify([{ fixture: 'nowhere/*.npz' }]));
    expect((await run(['suite', file])).stderr).toBe(
      `cnn-check: ${file}[0] (fixture): fixture: 'nowhere/*.npz' matches no file: expected at least one .npz or fixture directory\n`,
    );
    writeFileSync(file, JSON.stringify([{ fixture: 'x.npz', seed: 3 }]));
    expect((await run(['suite', file])).stderr).toBe(
      `cnn-check: ${file}[0]: unknown field 'seed' in a fixture entry: expected name, fixture, maxError, maxBytes, maxMemory\n`,
    );
  });
});

describe('compare reports like the layer commands', () => {
  const good = join(root, 'fixtures', 'good');

  it('--junit: one testsuite per fixture, one testcase per array; annotations name the fixture file', async () => {
    const junit = join(dir, 'compare.xml');
    const fixtures = [join(good, 'conv_s1_p1.npz'), join(good, 'relu.npz')];
    const r = await run(['compare', ...fixtures, '--junit', junit], { env: { GITHUB_ACTIONS: 'true' } });
    expect(r.code).toBe(0);
    const doc = readJunit(junit);
    expect(doc.testsuites.testsuite.map((s) => [s.name, s.testcase.length])).toEqual([
      [fixtures[0], 4],
      [fixtures[1], 2],
    ]);
    expect(r.stdout).not.toContain('::error');
  });

  it('a fixture that differs fails (exit 1) with an annotation on its file', async () => {
    const spec = getLayer('conv');
    const inputs = generateInputs(spec, resolveShapes(spec, {}, defaultParams(spec)), new XoshiroRng(3));
    const members = referenceMembers(spec, inputs, defaultParams(spec), randn(new XoshiroRng(4), [4, 2, 5, 5]));
    const db = members.db as Tensor;
    members.db = { data: db.data.map((v) => v / 100), shape: db.shape };
    const path = join(dir, 'db-averaged.npz');
    writeFileSync(path, writeNpz(members));
    const junit = join(dir, 'differs.xml');
    const r = await run(['compare', path, '--junit', junit], { env: { GITHUB_ACTIONS: 'true' } });
    expect(r.code).toBe(1);
    const lines = r.stdout.split('\n').filter((l) => l.startsWith('::error'));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(
      new RegExp(
        `^::error title=cnn-check%3A ${path.replace(/[./]/g, '\\$&')} db differs from the reference,file=${path.replace(/[./]/g, '\\$&')}::rel error 9\\.80e-1 > threshold 1\\.00e-6; worst element \\(\\d\\): fixture `,
      ),
    );
    const doc = readJunit(junit);
    expect(doc.testsuites.failures).toBe('1');
    expect(doc.testsuites.testsuite[0].testcase.find((t) => t.failure)!.name).toBe('db');
  });
});

describe('bench --impl', () => {
  it("times the user's module beside naive and fast; the baseline gate applies to it", async () => {
    const mod = join(root, 'examples', 'conv-impl.mjs');
    const save = join(dir, 'bench.json');
    const args = ['bench', '--impl', mod, '--x-shape', '2,3,6,6', '--repeat', '2', '--warmup', '0', '--threads', '1'];
    const r = await run([...args, '--json', '--save', save]);
    expect(r.code, r.stderr).toBe(0);
    const doc = JSON.parse(r.stdout);
    expect(doc.results.map((x: { layer: string; impl: string }) => `${x.layer} ${x.impl}`)).toEqual(['conv naive', 'conv fast', 'conv user']);
    const again = await run([...args, '--baseline', save, '--max-slowdown', '1000']);
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/conv x 2,3,6,6 .*│ user/);
  });

  it('without a layer, a module that does not say its layer is asked to', async () => {
    const mod = join(dir, 'anonymous.mjs');
    const r = await run(['bench', '--impl', mod]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--impl .*anonymous\.mjs: name the layer it implements: cnn-check bench <layer> --impl/);
  });
});

describe('the suite file JSON Schema', () => {
  const ajv = new Ajv2020({ allErrors: true, strict: false });
  const validate = ajv.compile(suiteJsonSchema());

  it('the shipped file is the one the code makes (npm run schema writes it)', () => {
    expect(JSON.parse(readFileSync(join(root, 'schema', 'suite.schema.json'), 'utf8'))).toEqual(suiteJsonSchema());
  });

  it('accepts the example suite and the built-in suite written back as entries', () => {
    expect(validate(JSON.parse(readFileSync(join(root, 'examples', 'ci', 'cnn-check.json'), 'utf8'))), JSON.stringify(validate.errors)).toBe(true);
    const printed = parseSuite(JSON.stringify(defaultSuiteEntries()), 'default').map(entryOf);
    expect(validate(printed), JSON.stringify(validate.errors?.slice(0, 3))).toBe(true);
  });

  it.each([
    ['an unknown field', [{ layer: 'conv', sample: 4 }]],
    ['a param of another layer', [{ layer: 'conv', params: { G: 2 } }]],
    ['a setting out of its domain', [{ layer: 'conv', samples: 0 }]],
    ['a fixture entry with a layer setting', [{ fixture: 'a.npz', seed: 1 }]],
    ['an empty suite', []],
  ])('rejects %s, as the validator does', (_what, doc) => {
    expect(validate(doc)).toBe(false);
    expect(() => parseSuite(JSON.stringify(doc), 's.json', dir)).toThrow();
  });
});

describe('the example workflows, as shipped', () => {
  /** The cnn-check command lines of a workflow's steps, with the CI's variables set for one shard. */
  function commands(text: string, vars: Record<string, string>): string[] {
    const lines: string[] = [];
    const visit = (v: unknown): void => {
      if (typeof v === 'string') {
        for (const line of v.split('\n')) if (line.includes('cnn-check ') && line.includes('npx')) lines.push(line.trim());
      } else if (Array.isArray(v)) v.forEach(visit);
      else if (v && typeof v === 'object') Object.values(v).forEach(visit);
    };
    visit(parseYaml(text));
    return lines.map((l) => l.replace(/\$\{\{ *matrix\.shard *\}\}|\$\{CI_NODE_INDEX\}/g, vars.shard).replace(/\$\{CI_NODE_TOTAL\}/g, '3'));
  }

  /** Run a workflow command line as the CI would, with the built bin for `npx --no-install cnn-check`. */
  function sh(line: string, cwd: string) {
    const cmd = line.replace(/npx --no-install cnn-check/g, `${JSON.stringify(process.execPath)} ${JSON.stringify(bin)}`);
    return spawnSync('sh', ['-c', cmd], { cwd, encoding: 'utf8', env: { ...process.env, GITHUB_ACTIONS: 'false' }, timeout: 120_000 });
  }

  it('GitHub Actions: three shards, then merge-reports, exit 0 and both artifacts written', () => {
    const text = readFileSync(join(root, 'examples', 'github-actions.yml'), 'utf8');
    const repo = userRepo('gh');
    for (const shard of ['1', '2', '3']) {
      const [line] = commands(text, { shard }).filter((l) => l.includes(' suite '));
      const r = sh(line, repo);
      expect(r.status, r.stderr).toBe(0);
    }
    const [merge] = commands(text, { shard: '1' }).filter((l) => l.includes('merge-reports'));
    const r = sh(merge, repo);
    expect(r.status, r.stderr).toBe(0);
    expect(readJunit(join(repo, 'cnn-check.xml')).testsuites.failures).toBe('0');
    expect(readFileSync(join(repo, 'cnn-check.html'), 'utf8')).toContain('<!DOCTYPE html>');
  });

  it('GitLab CI: each parallel job writes its JUnit and HTML, exit 0', () => {
    const text = readFileSync(join(root, 'examples', 'gitlab-ci.yml'), 'utf8');
    const repo = userRepo('gl');
    let cases = 0;
    for (const shard of ['1', '2', '3']) {
      const [line] = commands(text, { shard });
      const r = sh(line, repo);
      expect(r.status, r.stderr).toBe(0);
      cases += Number(readJunit(join(repo, `cnn-check-${shard}.xml`)).testsuites.tests);
    }
    expect(cases).toBeGreaterThan(0);
  });
});
