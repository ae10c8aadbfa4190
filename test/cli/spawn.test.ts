/** A few end-to-end runs of the built bin (npm test builds dist/ first). */
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const bin = fileURLToPath(new URL('../../bin/cnn-check.js', import.meta.url));

function cli(args: string[], env: Record<string, string> = {}) {
  return spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', env: { ...process.env, ...env }, timeout: 60_000 });
}

describe('bin/cnn-check.js', () => {
  it('runs the README example and exits 0', () => {
    const r = cli(['conv', '--stride', '2', '--pad', '1']);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/dx .* pass/);
    expect(r.stdout).toMatch(/dw .* pass/);
    expect(r.stdout).toMatch(/db .* pass/);
    expect(r.stdout).toMatch(/forward ms/);
    expect(r.stdout).not.toContain('\u001b['); // piped: no colour
  });

  it('--json is parseable and exit code follows pass/fail', () => {
    const ok = cli(['maxpool', '--json']);
    expect(ok.status).toBe(0);
    expect(JSON.parse(ok.stdout).pass).toBe(true);
    const fail = cli(['batchnorm', '--json', '--h', '0.5', '--repeat', '0']);
    expect(fail.status).toBe(1);
    expect(JSON.parse(fail.stdout).pass).toBe(false);
  });

  it('bad input exits 2 with one line and no stack trace', () => {
    const r = cli(['conv', '--stride', '0']);
    expect(r.status).toBe(2);
    expect(r.stderr.trim().split('\n')).toEqual(["cnn-check: --stride: expected an integer >= 1, got '0'"]);
  });

  it('--version prints the package version', () => {
    const r = cli(['--version']);
    expect(r.status).toBe(0);
    expect(r.stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
  });
});

describe('bin/cnn-check.js before the build', () => {
  it('says in one line that dist/ is missing and how to build it (exit 2), not a stack trace', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cnn-check-unbuilt-'));
    mkdirSync(join(dir, 'bin'));
    copyFileSync(bin, join(dir, 'bin', 'cnn-check.js'));
    const r = spawnSync(process.execPath, [join(dir, 'bin', 'cnn-check.js'), 'conv'], { encoding: 'utf8' });
    rmSync(dir, { recursive: true, force: true });
    expect(r.status).toBe(2);
    expect(r.stderr).toBe(`cnn-check: ${dir}/dist/ is missing: expected a built package: run \`npm install\` (or \`npm run build\`) in ${dir}/\n`);
  });
});
