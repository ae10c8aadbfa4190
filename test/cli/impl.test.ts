/**
 * `--impl PATH` and `--timeout SECONDS` on the layer commands: the example module passes; broken,
 * throwing, hanging and misshapen ones fail with their message (exit 1); a module that cannot be
 * used at all is a one-line input error (exit 2). In-process runs of main(), and a few of the
 * built bin (npm test builds dist/ first): the tests of the bin and the in-process tests of the same
 * command line assert on the one run of the bin (binRun).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { run } from '../helpers/io.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
/** Paths as a user types them: relative to the repository (the tests' working directory). */
const rel = (p: string) => relative(process.cwd(), join(root, p));
const example = rel('examples/conv-impl.mjs');
const fixture = (name: string) => rel(`test/impls/fixtures/${name}`);

interface Row {
  impl: string;
  name: string;
  pass: boolean;
  relError: number | string;
  message?: string;
}
interface ArrayRow {
  name: string;
  pass: boolean;
  relError: number | string;
  message?: string;
}

async function json(argv: string[]) {
  const r = await run([...argv, '--json']);
  return { ...r, doc: JSON.parse(r.stdout) };
}

const WORKER_TEST_MS = 60_000;

const bin = join(root, 'bin/cnn-check.js');

interface BinRun {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}
const binRuns = new Map<string, BinRun>();
/**
 * `cnn-check ...args` run by the built bin in the repository, once per command line: the tests of the
 * bin (the process ends, tsx from dist/) and the in-process tests of the same command line (what it
 * prints) inspect the same run. COLUMNS 200, as run() sets it, so tables keep every column.
 */
function binRun(args: string[]): BinRun {
  const key = args.join('\0');
  let r = binRuns.get(key);
  if (!r) {
    const p = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', cwd: root, timeout: 60_000, env: { ...process.env, COLUMNS: '200' } });
    r = { status: p.status, signal: p.signal, stdout: p.stdout, stderr: p.stderr };
    binRuns.set(key, r);
  }
  return r;
}
/** The example, passing, with a timing row (--repeat 1: one timing run shows the row as well as two). */
const binExample = () => binRun(['conv', '--impl', 'examples/conv-impl.mjs', '--repeat', '1']);
/** The TypeScript example, through tsx. */
const binTsExample = () => binRun(['conv', '--impl', 'examples/conv-impl.ts', '--repeat', '0', '--json']);
/** A module whose forward never returns: --timeout 0.1 stops it as surely as any longer limit, and its busy loop burns less. */
const HANG_TIMEOUT = '0.1';
const binHang = () => binRun(['conv', '--impl', 'test/impls/fixtures/conv-hangs.mjs', '--timeout', HANG_TIMEOUT, '--json']);

describe('--impl: the example module', () => {
  it(
    'passes: gradient rows, the comparison with the reference and a timing row for user',
    () => {
      const r = binExample();
      expect(r.status).toBe(0);
      expect(r.stderr).toBe('');
      for (const g of ['dx', 'dw', 'db']) expect(r.stdout).toMatch(new RegExp(`│ user +│ ${g} .*│ pass`));
      expect(r.stdout).toContain('user (examples/conv-impl.mjs) against the reference (naive, float64), same inputs and dout:');
      for (const a of ['out', 'dx', 'dw', 'db']) expect(r.stdout).toMatch(new RegExp(`│ ${a} +│ float64 │ 0 +│ 0 +│ .*│ 1\\.00e-6 +│ pass`));
      expect(r.stdout).toMatch(/│ user +│ +[\d.]+ +│ +[\d.]+ +│/);
      expect(r.stdout).toMatch(/PASS: 9 gradient checks within threshold, 4 arrays match the reference/);
    },
    WORKER_TEST_MS,
  );

  it(
    '--json: the comparison rows, user gradient rows and timing',
    async () => {
      const { code, doc } = await json(['conv', '--impl', example, '--stride', '2', '--repeat', '1']);
      expect(code).toBe(0);
      expect(doc.pass).toBe(true);
      expect(doc.comparisons).toHaveLength(1);
      expect(doc.comparisons[0]).toMatchObject({ impl: 'user', source: example, reference: 'naive', pass: true });
      expect(doc.comparisons[0].arrays.map((a: ArrayRow) => [a.name, a.relError, a.pass])).toEqual([
        ['out', 0, true],
        ['dx', 0, true],
        ['dw', 0, true],
        ['db', 0, true],
      ]);
      expect(doc.comparisons[0].arrays[0]).toMatchObject({ dtype: 'float64', threshold: 1e-6, maxAbsError: 0, worst: { index: [0, 0, 0, 0] } });
      const user = doc.gradients.filter((g: Row) => g.impl === 'user');
      expect(user.map((g: Row) => [g.name, g.pass])).toEqual([
        ['dx', true],
        ['dw', true],
        ['db', true],
      ]);
      for (const g of user) expect(g.relError).toBeLessThan(1e-7);
      expect(doc.timing.map((t: { impl: string }) => t.impl)).toEqual(['naive', 'fast', 'user']);
      expect(doc.timing[2].forwardMs.samples).toBe(1);
    },
    WORKER_TEST_MS,
  );

  it(
    'the TypeScript example passes too',
    () => {
      const r = binTsExample();
      expect(r.status).toBe(0);
      expect(JSON.parse(r.stdout).comparisons[0].pass).toBe(true);
    },
    WORKER_TEST_MS,
  );

  it(
    'console output of the module goes to stderr, so stdout stays one JSON document',
    async () => {
      const r = await json(['conv', '--impl', fixture('conv-default-export.cjs'), '--repeat', '0']);
      expect(r.code).toBe(0);
      expect(r.doc.pass).toBe(true);
      const lines = r.stderr.trimEnd().split('\n');
      expect(lines[0]).toBe('[conv-default-export.cjs] forward called with x of shape 4x3x5x5');
      // Hundreds of forward passes each log a line: the first 50 are shown, then one line says the rest was dropped.
      expect(lines).toHaveLength(51);
      expect(lines[50]).toBe('[conv-default-export.cjs] (further output of conv-default-export.cjs dropped after 50 lines)');
    },
    WORKER_TEST_MS,
  );
});

describe('--impl: a module that computes in float32 whatever it is given', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cnn-check-impl-f32-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const broken = join(dir, 'conv-float32-db-doubled.mjs');
  const DTYPES = ['float32', 'float64'];
  const modules: [string, string][] = [
    ['conv-float32.mjs', join(root, 'test/impls/fixtures/conv-float32.mjs')],
    ['conv-float32-as-float64.mjs', join(root, 'test/impls/fixtures/conv-float32-as-float64.mjs')],
    ['db doubled', broken],
  ];
  /**
   * Every module here in both dtypes, as the entries of one suite: an entry is a layer command as data
   * (the check request of `conv --impl <module> --dtype <dtype> --repeat 0`), and a suite starts each
   * module's worker once for both of its dtypes. The report of each check is asserted on as the layer
   * command's would be (exit 0 is a passing report, exit 1 a failing one).
   */
  let suiteRun: Promise<Map<string, { pass: boolean; gradients: Row[]; comparisons: { arrays: ArrayRow[] }[]; notes: string[] }>> | undefined;
  function reportOf(module: string, dtype: string) {
    suiteRun ??= (async () => {
      writeFileSync(
        broken,
        [
          `import { forward, backward as correct } from ${JSON.stringify(join(root, 'test/impls/fixtures/conv-float32.mjs'))};`,
          'export { forward };',
          'export function backward(dout, cache) {',
          '  const g = correct(dout, cache);',
          '  return { ...g, db: { data: g.db.data.map((v) => 2 * v), shape: g.db.shape } };',
          '}',
        ].join('\n'),
      );
      const file = join(dir, 'float32.json');
      writeFileSync(
        file,
        JSON.stringify(modules.flatMap(([name, impl]) => DTYPES.map((dtype) => ({ name: `${name} ${dtype}`, layer: 'conv', impl, dtype, repeat: 0 })))),
      );
      const r = await run(['suite', file, '--json']);
      expect(r.code, r.stderr).toBe(1); // db doubled fails
      const doc = JSON.parse(r.stdout);
      return new Map(doc.checks.map((c: { name: string; report: unknown }) => [c.name, c.report]));
    })();
    return suiteRun.then((reports) => reports.get(`${module} ${dtype}`)!);
  }

  for (const [f] of modules.slice(0, 2)) {
    for (const dtype of DTYPES) {
      it(
        `${f}, --dtype ${dtype}: passes, judged as a float32 layer and differentiated in float64`,
        async () => {
          const doc = await reportOf(f, dtype);
          expect(doc.pass).toBe(true);
          const user = doc.gradients.filter((g: Row) => g.impl === 'user');
          expect(user.map((g: Row & { dtype?: string }) => [g.name, g.dtype, g.pass])).toEqual([
            ['dx', 'float32', true],
            ['dw', 'float32', true],
            ['db', 'float32', true],
          ]);
          for (const g of user) expect(g.relError).toBeLessThan(1e-6);
          for (const a of doc.comparisons[0].arrays) expect(a).toMatchObject({ dtype: 'float32', threshold: 1e-4, pass: true });
          expect(doc.notes.join(' ')).toMatch(
            /user: the numeric side runs conv's fast forward in float64: the checked forward computes in float32 even on float64 inputs/,
          );
        },
        WORKER_TEST_MS,
      );
    }
  }

  it(
    'the same module with db doubled fails in db only, in both dtypes',
    async () => {
      for (const dtype of DTYPES) {
        const doc = await reportOf('db doubled', dtype);
        expect(doc.pass).toBe(false);
        expect(doc.gradients.filter((g: Row) => !g.pass).map((g: Row) => `${g.impl} ${g.name}`)).toEqual(['user db']);
      }
    },
    WORKER_TEST_MS,
  );
});

describe('--impl: broken modules fail with their message (exit 1)', () => {
  it(
    'dw missing the last output row: the dw rows fail, the rest pass',
    async () => {
      const { code, doc } = await json(['conv', '--impl', fixture('conv-dw-missing-row.mjs'), '--repeat', '0']);
      expect(code).toBe(1);
      expect(doc.pass).toBe(false);
      expect(doc.problems).toEqual([]);
      const failed = doc.comparisons[0].arrays.filter((a: ArrayRow) => !a.pass);
      expect(failed.map((a: ArrayRow) => a.name)).toEqual(['dw']);
      expect(failed[0].relError).toBeGreaterThan(0.1);
      expect(doc.gradients.filter((g: Row) => !g.pass).map((g: Row) => `${g.impl} ${g.name}`)).toEqual(['user dw']);
    },
    WORKER_TEST_MS,
  );

  it(
    'db averaged: found by both checks, with the hint',
    async () => {
      const r = await run(['conv', '--impl', fixture('conv-db-averaged.mjs'), '--repeat', '0']);
      expect(r.code).toBe(1);
      expect(r.stdout).toMatch(/│ db +│ float64 │ 9\.80e-1 .*│ FAIL/);
      expect(r.stdout).toMatch(/hint: analytic db = numeric \/ 100 .*averaged over N\*Hout\*Wout instead of summed\?/);
      expect(r.stdout).toMatch(/FAIL: 1 of 9 gradient checks failed, 1 of 4 arrays differ from the reference/);
    },
    WORKER_TEST_MS,
  );

  it(
    'a throwing backward: a problem naming the error and where it was thrown',
    async () => {
      const { code, doc, stdout } = await json(['conv', '--impl', fixture('conv-throws.mjs')]);
      expect(code).toBe(1);
      const message = 'backward threw Error: conv backward: not implemented yet (conv-throws.mjs:5:9)';
      expect(doc.problems).toEqual([`user: ${message}`]);
      expect(doc.comparisons[0].arrays.map((a: ArrayRow) => [a.name, a.pass, a.message ?? null])).toEqual([
        ['out', true, null],
        ['dx', false, message],
        ['dw', false, 'not compared: backward failed'],
        ['db', false, 'not compared: backward failed'],
      ]);
      expect(doc.gradients.some((g: Row) => g.impl === 'user')).toBe(false);
      expect(doc.timing.map((t: { impl: string }) => t.impl)).toEqual(['naive', 'fast']);
      expect(stdout).not.toContain('at backward');
      const text = await run(['conv', '--impl', fixture('conv-throws.mjs'), '--repeat', '0']);
      expect(text.stdout).toContain(`FAIL: user: ${message}`);
    },
    WORKER_TEST_MS,
  );

  it(
    'a hanging forward is stopped after --timeout',
    () => {
      const r = binHang();
      const doc = JSON.parse(r.stdout);
      expect(r.status).toBe(1);
      expect(doc.problems).toEqual([`user: forward did not finish within the timeout of ${HANG_TIMEOUT} s; its worker was stopped`]);
      expect(doc.comparisons[0].arrays[0]).toMatchObject({
        name: 'out',
        pass: false,
        message: `forward did not finish within the timeout of ${HANG_TIMEOUT} s; its worker was stopped`,
      });
    },
    WORKER_TEST_MS,
  );

  it(
    'out of the wrong shape, and out that is not a tensor',
    async () => {
      const shape = await json(['conv', '--impl', fixture('conv-wrong-shape.mjs'), '--repeat', '0']);
      expect(shape.code).toBe(1);
      expect(shape.doc.problems).toEqual(["user: forward's out has shape (4, 2, 3, 3), expected the reference's (4, 2, 5, 5)"]);
      expect(shape.doc.comparisons[0].arrays[0].message).toBe("out has shape (4, 2, 3, 3), expected the reference's (4, 2, 5, 5)");
      const notTensor = await json(['conv', '--impl', fixture('conv-not-tensor.mjs'), '--repeat', '0']);
      expect(notTensor.code).toBe(1);
      expect(notTensor.doc.problems).toEqual([
        "user: forward's out has data of type Array: expected a Tensor {data: Float64Array | Float32Array, shape: number[]}",
      ]);
    },
    WORKER_TEST_MS,
  );
});

describe('--impl on other layers', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cnn-check-impl-cli-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it(
    'a relu module passes; one with the mask on the wrong side fails',
    async () => {
      const relu = (cond: string) => `
      export function forward({ x }) {
        const out = x.data.map((v) => (v > 0 ? v : 0));
        return { out: { data: out, shape: [...x.shape] }, cache: x };
      }
      export function backward(dout, x) {
        return { dx: { data: dout.data.map((g, i) => (${cond} ? g : 0)), shape: [...x.shape] } };
      }`;
      writeFileSync(join(dir, 'relu.mjs'), relu('x.data[i] > 0'));
      writeFileSync(join(dir, 'relu-wrong.mjs'), relu('x.data[i] < 0'));
      const ok = await json(['relu', '--impl', join(dir, 'relu.mjs'), '--repeat', '0']);
      expect(ok.code).toBe(0);
      expect(ok.doc.comparisons[0].arrays.map((a: ArrayRow) => [a.name, a.pass])).toEqual([
        ['out', true],
        ['dx', true],
      ]);
      const bad = await json(['relu', '--impl', join(dir, 'relu-wrong.mjs'), '--repeat', '0']);
      expect(bad.code).toBe(1);
      expect(bad.doc.comparisons[0].arrays.map((a: ArrayRow) => [a.name, a.pass])).toEqual([
        ['out', true],
        ['dx', false],
      ]);
    },
    WORKER_TEST_MS,
  );
});

describe('--impl and --timeout: input errors are one line on stderr, exit 2', () => {
  const cases: [string, string[], string][] = [
    ['a missing file', ['conv', '--impl', 'no/such/conv.mjs'], 'cnn-check: --impl no/such/conv.mjs: no such file or directory: expected a module file'],
    [
      'a module without backward',
      ['conv', '--impl', fixture('conv-no-backward.mjs')],
      `cnn-check: --impl ${fixture('conv-no-backward.mjs')}: expected functions forward and backward (named exports or properties of the default export), no backward; got exports forward, helper`,
    ],
    [
      'a syntax error',
      ['conv', '--impl', fixture('conv-syntax-error.mjs')],
      `cnn-check: --impl ${fixture('conv-syntax-error.mjs')}: cannot load the module: SyntaxError: Unexpected token ';' (conv-syntax-error.mjs:2)`,
    ],
    [
      'a file that is not a module',
      ['conv', '--impl', 'README.md'],
      "cnn-check: --impl README.md: expected a JavaScript module (.mjs, .js, .cjs) or TypeScript (.ts, .mts, .cts), or a Python module (.py), got '.md'",
    ],
    ['a zero timeout', ['conv', '--impl', example, '--timeout', '0'], "cnn-check: --timeout: expected a number in (0, 86400], got '0'"],
    ['--timeout without --impl', ['conv', '--timeout', '5'], 'cnn-check: --timeout: applies to --impl only; add --impl <path>'],
  ];
  for (const [name, argv, message] of cases) {
    it(
      name,
      async () => {
        const r = await run(argv);
        expect(r.code).toBe(2);
        expect(r.stdout).toBe('');
        expect(r.stderr).toBe(`${message}\n`);
      },
      WORKER_TEST_MS,
    );
  }
});

describe('--impl through the built bin', () => {
  it('the example passes and a hanging module fails, and the process ends', () => {
    const ok = binExample();
    expect(ok.signal).toBeNull();
    expect(ok.status).toBe(0);
    expect(ok.stdout).toMatch(/│ user +│ dw .*│ pass/);
    expect(ok.stdout).toMatch(/4 arrays match the reference/);
    const hang = binHang();
    expect(hang.signal).toBeNull();
    expect(hang.status).toBe(1);
    expect(JSON.parse(hang.stdout).problems).toEqual([`user: forward did not finish within the timeout of ${HANG_TIMEOUT} s; its worker was stopped`]);
  });

  it('a TypeScript module loads through tsx from the built bin', () => {
    const r = binTsExample();
    expect(r.status).toBe(0);
    expect(JSON.parse(r.stdout).comparisons[0].pass).toBe(true);
  });
});
