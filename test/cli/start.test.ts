/**
 * The fast entry (cli/start.ts) answers --help, --version, list and commander's usage errors
 * from the build's manifest, exactly as the full program (cli/main.ts) would, and hands every
 * other command line to it. Checked three ways: the two programs' output for every command's
 * help and for usage errors at two widths; the manifest the build wrote is the program's
 * current one; and the built bin answers help, list and errors with the layers' modules absent.
 */
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import type { CliIO } from '../../src/cli/io.js';
import { cliManifest, main } from '../../src/cli/main.js';
import type { CommandRecord } from '../../src/cli/manifest.js';
import { start } from '../../src/cli/start.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const manifest = cliManifest();

type Out = { code: number; stdout: string; stderr: string };

function io(columns: number, env: Record<string, string> = {}): { io: CliIO; out: () => Omit<Out, 'code'> } {
  let stdout = '';
  let stderr = '';
  return {
    io: { stdout: { write: (s: string) => (stdout += s) }, stderr: { write: (s: string) => (stderr += s) }, env: { COLUMNS: String(columns), ...env } },
    out: () => ({ stdout, stderr }),
  };
}

async function both(argv: string[], columns = 80, env: Record<string, string> = {}): Promise<[Out, Out]> {
  const a = io(columns, env);
  const fast = { code: await start(argv, a.io, manifest), ...a.out() };
  const b = io(columns, env);
  const full = { code: await main(argv, b.io), ...b.out() };
  return [fast, full];
}

/** Every command path: ['conv'], ['export', 'conv'], ... */
function paths(r: CommandRecord, prefix: string[] = []): string[][] {
  return r.commands.flatMap((c) => [[...prefix, c.name], ...paths(c, [...prefix, c.name])]);
}

describe('the fast entry answers as the full program does', () => {
  const all = paths(manifest.program);

  it('the manifest lists every command, with the layer commands and export subcommands', () => {
    const names = all.map((p) => p.join(' '));
    expect(names).toContain('conv');
    expect(names).toContain('spatial-groupnorm');
    expect(names).toContain('export softmax-loss');
    expect(names).toContain('merge-reports');
    expect(all.length).toBeGreaterThan(25);
  });

  for (const columns of [80, 60]) {
    it(`every command's help at ${columns} columns, and the top-level help`, async () => {
      for (const p of [[], ...all]) {
        const [fast, full] = await both([...p, '--help'], columns);
        expect(fast, p.join(' ') || '(program)').toEqual(full);
        expect(fast.code).toBe(0);
        expect(fast.stdout).toMatch(/^Usage: cnn-check/);
        // The doc page a help names is there (the help wraps long paths: take the line's path).
        const doc = /Docs: (\S+\.md)/.exec(fast.stdout.replace(/\n\s+/g, ' '))?.[1];
        if (p.length) expect(doc && existsSync(doc), `${p.join(' ')}: ${doc}`).toBe(true);
      }
    });
  }

  const cases: [string, string[]][] = [
    ['no arguments', []],
    ['--version', ['--version']],
    ['help with a command', ['help', 'conv']],
    ['list', ['list']],
    ['list --json', ['list', '--json']],
    ['an unknown option', ['conv', '--bogus']],
    ['an unknown command, with a suggestion', ['cnv']],
    ['a missing argument', ['compare']],
    ['a missing mandatory option', ['export', 'conv']],
    ['an option without its value', ['conv', '--stride']],
    ['an unknown option of a subcommand', ['export', 'relu', '--out', 'x.npz', '--bogus']],
    ['export without a subcommand', ['export']],
  ];
  for (const [what, argv] of cases) {
    it(what, async () => {
      const [fast, full] = await both(argv);
      expect(fast).toEqual(full);
    });
  }

  it('list in colour (FORCE_COLOR) bolds the names as chalk does', async () => {
    const [fast, full] = await both(['list'], 80, { FORCE_COLOR: '1' });
    expect(fast).toEqual(full);
    expect(fast.stdout).toContain('\u001b[1mconv\u001b[22m  convolution');
  });

  it('the usage errors are one line each, exit 2', async () => {
    const [fast] = await both(['conv', '--bogus']);
    expect(fast).toEqual({ code: 2, stdout: '', stderr: "cnn-check: unknown option '--bogus' (see cnn-check conv --help)\n" });
    const [missing] = await both(['export', 'conv']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toBe("cnn-check: required option '--out <path>' not specified (see cnn-check export conv --help)\n");
  });

  it('hands a command that runs to the full program', async () => {
    const [fast, full] = await both(['relu', '--repeat', '0', '--json']);
    expect(fast.code).toBe(0);
    expect(JSON.parse(fast.stdout).gradients.map((g: { name: string }) => g.name)).toEqual(
      JSON.parse(full.stdout).gradients.map((g: { name: string }) => g.name),
    );
    const [bad] = await both(['conv', '--stride', '0']);
    expect(bad).toMatchObject({ code: 2, stdout: '' });
    expect(bad.stderr).toBe("cnn-check: --stride: expected an integer >= 1, got '0'\n");
  });

  it('without a manifest, everything goes to the full program', async () => {
    const a = io(80);
    expect(await start(['list', '--json'], a.io, null)).toBe(0);
    expect(JSON.parse(a.out().stdout).layers).toEqual(manifest.list.json);
  });
});

describe('the built bin', () => {
  it('runs from the manifest the build wrote, which is the program as it is now', () => {
    const written = JSON.parse(readFileSync(join(root, 'dist', 'cli', 'manifest.json'), 'utf8'));
    expect(written).toEqual(JSON.parse(JSON.stringify(manifest)));
  });

  const dir = mkdtempSync(join(tmpdir(), 'cnn-check-start-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('answers help, list and usage errors without the layers, kernels and renderers, and needs them for a check', () => {
    // A copy of the package whose full program cannot load: only the fast entry's modules are left.
    cpSync(join(root, 'bin'), join(dir, 'bin'), { recursive: true });
    cpSync(join(root, 'package.json'), join(dir, 'package.json'));
    cpSync(join(root, 'dist'), join(dir, 'dist'), { recursive: true });
    symlinkSync(join(root, 'node_modules'), join(dir, 'node_modules'));
    for (const gone of ['layers', 'kernels', 'gradcheck', 'cli/main.js', 'report/terminal.js'])
      rmSync(join(dir, 'dist', gone), { recursive: true, force: true });
    const bin = (...args: string[]) =>
      spawnSync(process.execPath, [join(dir, 'bin', 'cnn-check.js'), ...args], { encoding: 'utf8', env: { ...process.env, COLUMNS: '80' } });
    const help = bin('conv', '--help');
    expect(help.status).toBe(0);
    expect(help.stdout).toMatch(/^Usage: cnn-check conv \[options\]/);
    expect(help.stdout).toContain('--stride <n>');
    const list = bin('list');
    expect(list.status).toBe(0);
    expect(list.stdout).toMatch(/^conv {2}convolution/);
    expect(bin('--version').stdout).toBe(`${JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).version}\n`);
    expect(bin('conv', '--bogus')).toMatchObject({ status: 2, stderr: "cnn-check: unknown option '--bogus' (see cnn-check conv --help)\n" });
    // A check is the full program's, which is not there.
    expect(bin('relu', '--repeat', '0').status).not.toBe(0);
  });
});
