/**
 * The package as people get it: `npm pack`, the tarball installed into a fresh project in a
 * temporary directory (nothing of this checkout's node_modules in reach: npm resolves the
 * dependencies from its cache or the registry), and the installed bin run from there: the
 * version, a layer check, a numpy module's check and the help's doc pages. So a file missing from
 * `files` cannot ship unnoticed. Also `npm install -g` of the tarball (into a scratch prefix).
 */
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { name: string; version: string; files: string[] };
const dir = mkdtempSync(join(tmpdir(), 'cnn-check-pack-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const hasPython = spawnSync('python3', ['-c', 'import numpy'], { encoding: 'utf8' }).status === 0;

function npm(args: string[], cwd: string): SpawnSyncReturns<string> {
  const r = spawnSync('npm', [...args, '--no-audit', '--no-fund', '--prefer-offline', '--loglevel=error'], {
    cwd,
    encoding: 'utf8',
    timeout: 120_000,
    env: { ...process.env, npm_config_update_notifier: 'false' },
  });
  if (r.status !== 0) throw new Error(`npm ${args.join(' ')}: ${r.stderr || r.error}`);
  return r;
}

let tarball = '';
let files: string[] = [];
const project = join(dir, 'project');

beforeAll(() => {
  // The tarball of the built package (no scripts: the tests run on a fresh build already).
  const packed = JSON.parse(npm(['pack', '--ignore-scripts', '--json', '--pack-destination', dir], root).stdout) as {
    filename: string;
    files: { path: string }[];
  }[];
  tarball = join(dir, packed[0].filename);
  files = packed[0].files.map((f) => f.path);
  mkdirSync(project);
  writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'trying-cnn-check', private: true }));
  npm(['install', tarball], project);
}, 240_000);

const bin = () => join(project, 'node_modules', '.bin', 'cnn-check');
const cli = (...args: string[]) =>
  spawnSync(bin(), args, { cwd: project, encoding: 'utf8', timeout: 120_000, env: { ...process.env, COLUMNS: '80', NO_COLOR: '1' } });

describe('the packed package', () => {
  it('ships what the bin, the library, the Python bridge and the docs need, and no sources or tests', () => {
    for (const f of [
      'bin/cnn-check.js',
      'dist/cli/start.js',
      'dist/cli/main.js',
      'dist/cli/manifest.json',
      'dist/index.js',
      'dist/index.d.ts',
      'dist/kernels/wasm/kernels.wasm',
      'dist/kernels/wasm/kernels-relaxed.wasm',
      'dist/kernels/wasm/shared-kernels.wasm',
      'python/cnn_check.py',
      'python/pyproject.toml',
      'schema/suite.schema.json',
      'docs/checking.md',
      'README.md',
      'LICENSE',
      'CHANGELOG.md',
    ]) {
      expect(files, f).toContain(f);
    }
    expect(files.filter((f) => /^(src|test|fixtures|scripts|bench)\//.test(f) || f.includes('__pycache__'))).toEqual([]);
  });

  it('installed into a fresh project: --version, a layer check, the docs its help names', () => {
    expect(existsSync(join(project, 'node_modules', 'cnn-check', 'src'))).toBe(false);
    expect(cli('--version').stdout).toBe(`${pkg.version}\n`);
    const check = cli('conv', '--stride', '2', '--pad', '1', '--repeat', '0');
    expect(check.status, check.stderr).toBe(0);
    expect(check.stdout).toMatch(/PASS: 6 gradient checks within threshold/);
    const help = cli('conv', '--help').stdout;
    const doc = /Docs: (\S+)/.exec(help)![1];
    expect(doc.startsWith(join(project, 'node_modules', 'cnn-check', 'docs'))).toBe(true);
    expect(existsSync(doc)).toBe(true);
  });

  it.skipIf(!hasPython)('installed into a fresh project: a numpy layers.py checked with --impl', () => {
    copyFileSync(join(root, 'test', 'impls', 'python', 'cs231n', 'layers.py'), join(project, 'layers.py'));
    const r = cli('relu', '--impl', 'layers.py', '--repeat', '0', '--json');
    expect(r.status, r.stderr).toBe(0);
    const doc = JSON.parse(r.stdout);
    expect(doc.pass).toBe(true);
    expect(doc.comparisons.map((c: { impl: string }) => c.impl)).toEqual(['py']);
  });

  it('installed globally from the tarball (npm install -g, into a scratch prefix)', () => {
    const prefix = join(dir, 'global');
    npm(['install', '-g', '--prefix', prefix, tarball], dir);
    const r = spawnSync(join(prefix, 'bin', 'cnn-check'), ['list'], { encoding: 'utf8', env: { ...process.env, COLUMNS: '80' } });
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^conv {2}convolution/);
  });
});
