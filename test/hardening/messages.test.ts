/**
 * Messages (hardening item 20): `--max-bytes 1e300` named the internal option `maxBytes`;
 * `--input x=` printed `cnn-check: : no such file`; `--input x=f.npz` suggested a library
 * function; `--impl /dev/zero` said "a directory"; a 9,900-digit dimension made a 10 KB error
 * line. Each is now one line naming the flag or file, what was expected and (cut short) what
 * was given. And `inspect` of 10,000 members (item 21) takes about as long as `--json`.
 */
import { copyFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { LAYERS } from '../../src/layers/registry.js';
import { corpusDir, fixtureNpz, hugeDimensionNpy, manyMembersNpz, sparseNpy } from './corpus.js';
import { built, refusedLine } from './run.js';
import { cliServer } from '../helpers/cli-server.js';

const dir = corpusDir('messages');
afterAll(() => rmSync(dir, { recursive: true, force: true }));
// Every command line of this file in one process with run.ts's heap limit, timeout and peak RSS per run (cli-server.ts).
const server = cliServer();
afterAll(() => server.close());
const cli = server.cli;
const at = (name: string) => join(dir, name);

describe.skipIf(!built)('one line naming the flag, what was expected and what was given', () => {
  it('--max-bytes beyond 2**53-1 is a flag error, not the internal maxBytes', async () => {
    const npy = sparseNpy(at('small.npy'), 3);
    for (const argv of [
      ['inspect', npy],
      ['compare', npy],
      ['conv', '--input', `x=${npy}`],
    ]) {
      expect(refusedLine(await cli([...argv, '--max-bytes', '1e300']))).toBe(
        "cnn-check: --max-bytes: expected an integer in [1, 9007199254740991], got '1e300'",
      );
    }
  });

  it('--input x= (an empty path)', async () => {
    expect(refusedLine(await cli(['conv', '--input', 'x=']))).toBe('cnn-check: --input x=: expected NAME=PATH with a path, got an empty path');
  });

  it('--input x=f.npz points to --inputs, not to a library function', async () => {
    const npz = fixtureNpz(at('f.npz'));
    const line = refusedLine(await cli(['conv', '--input', `x=${npz}`]));
    expect(line).toBe(`cnn-check: --input x=${npz}: expected a .npy file, got an .npz archive (load a fixture's inputs with --inputs ${npz})`);
    expect(line).not.toMatch(/readNpz/);
  });

  it('--input x=archive.npy (a zip under another name): the reader says what it found', async () => {
    const npy = at('archive.npy');
    copyFileSync(fixtureNpz(at('archive.npz')), npy);
    expect(refusedLine(await cli(['conv', '--input', `x=${npy}`]))).toBe(
      `cnn-check: ${npy}: not a .npy file: expected magic '\\x93NUMPY', got 'PK\\x03\\x04\\x14\\x00' (a zip archive, such as an .npz)`,
    );
  });

  it('--impl /dev/zero and --impl of a directory say what they are', async () => {
    if (process.platform !== 'win32')
      expect(refusedLine(await cli(['conv', '--impl', '/dev/zero']))).toBe('cnn-check: --impl /dev/zero: expected a module file, got a character device');
    expect(refusedLine(await cli(['conv', '--impl', dir]))).toBe(`cnn-check: --impl ${dir}: expected a module file, got a directory`);
  });

  it('a 9,900-digit dimension in an npy header or a flag is echoed cut to a few dozen characters', async () => {
    const npy = hugeDimensionNpy(at('dim.npy'), 9900);
    const header = refusedLine(await cli(['inspect', npy]));
    expect(header).toBe(`cnn-check: ${npy}: shape: dimension too large: expected at most 2**53-1, got ${'9'.repeat(60)}...(9900 characters) at index 0`);
    const flag = refusedLine(await cli(['conv', '--x-shape', '9'.repeat(9900)]));
    expect(flag).toBe(`cnn-check: --x-shape: expected positive integer dimensions, got '${'9'.repeat(60)}...(9900 characters)'`);
    const number = refusedLine(await cli(['conv', '--stride', '1'.repeat(9900)]));
    expect(number).toBe(`cnn-check: --stride: expected an integer >= 1, got '${'1'.repeat(60)}...(9900 characters)'`);
    for (const line of [header, flag, number]) expect(line.length).toBeLessThan(300);
  });

  it("an unknown layer name from a fixture's meta is cut too", async () => {
    const npz = fixtureNpz(at('layer.npz'), { meta: JSON.stringify({ layer: 'x'.repeat(5000) }), x: { data: new Float64Array(1), shape: [1] } });
    const line = refusedLine(await cli(['compare', npz]));
    expect(line).toBe(
      `cnn-check: ${npz}: member 'meta': unknown layer '${'x'.repeat(60)}...(5000 characters)': expected one of ${LAYERS.map((l) => l.name).join(', ')}`,
    );
  });
});

describe.skipIf(!built)('inspect of 10,000 members (item 21)', () => {
  it('renders every row of the text table (drawn in one pass above 200 rows: cli-table3 took 22 s here)', async () => {
    const npz = manyMembersNpz(at('many.npz'), 10_000);
    const json = await cli(['inspect', npz, '--json']);
    expect(json.status).toBe(0);
    expect(JSON.parse(json.stdout).members).toHaveLength(10_000);
    const text = await cli(['inspect', npz]);
    expect(text.status).toBe(0);
    const lines = text.stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(1 + 1 + 1 + 10_000 + 1);
    expect(lines.slice(1, 4)).toEqual([
      '┌────────┬─────────┬───────┬───────┬───────┬──────┬────────────┬─────┐',
      '│ member │ dtype   │ shape │ order │   min │  max │       mean │ NaN │',
      '│ a0     │ float64 │ (3,)  │ C     │     0 │  0.5 │ 0.16666667 │   0 │',
    ]);
    expect(lines.slice(-2)).toEqual([
      '│ a9999  │ float64 │ (3,)  │ C     │ -9999 │ 9999 │ 0.16666667 │   0 │',
      '└────────┴─────────┴───────┴───────┴───────┴──────┴────────────┴─────┘',
    ]);
  });
});
