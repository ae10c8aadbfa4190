/**
 * Hostile files given to every reading command (hardening items 5 to 8): devices and FIFOs where
 * a regular file is expected, sparse files far larger than --max-bytes, fixture directories whose
 * members link out of the directory, a meta.json that is a directory, two metas. Each must end
 * in exit 2 with one line naming what was wrong and what was expected, promptly, with bounded
 * memory, and without reading (or quoting) what it must not.
 */
import { closeSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { writeNpy, writeNpyString } from '../../src/npy/index.js';
import { canMkfifo, corpusDir, fifo, fixtureDir, link, sparseNpy, sparseNpz, sparseZeros } from './corpus.js';
import { built, refusedLine } from './run.js';
import { cliServer } from '../helpers/cli-server.js';

const dir = corpusDir('files');
afterAll(() => rmSync(dir, { recursive: true, force: true }));
// Every command line of this file in one process with run.ts's heap limit, timeout and peak RSS per run (cli-server.ts).
const server = cliServer();
afterAll(() => server.close());
const cli = server.cli;
const at = (name: string) => join(dir, name);
const hasDevZero = process.platform !== 'win32';

describe.skipIf(!built || !hasDevZero)('devices are refused before they are read (item 5)', () => {
  const suite = at('suite.json');
  writeFileSync(suite, '[{"layer": "relu"}]');
  const cases: [string, string[], string][] = [
    ['suite /dev/zero', ['suite', '/dev/zero'], 'cnn-check: /dev/zero: expected a JSON suite file, got a character device'],
    [
      'inspect /dev/zero',
      ['inspect', '/dev/zero'],
      'cnn-check: /dev/zero: expected a .npy file, a .npz file or a directory of .npy files, got a character device',
    ],
    [
      'compare /dev/zero',
      ['compare', '/dev/zero'],
      'cnn-check: /dev/zero: expected a .npy file, a .npz file or a directory of .npy files, got a character device',
    ],
    ['--input x=/dev/zero', ['conv', '--input', 'x=/dev/zero'], 'cnn-check: /dev/zero: expected a .npy file, got a character device'],
    [
      '--inputs /dev/zero',
      ['conv', '--inputs', '/dev/zero'],
      'cnn-check: /dev/zero: expected a .npy file, a .npz file or a directory of .npy files, got a character device',
    ],
    [
      '--baseline /dev/zero',
      ['bench', 'relu', '--repeat', '1', '--baseline', '/dev/zero'],
      'cnn-check: /dev/zero: expected a JSON report from cnn-check bench --json, got a character device',
    ],
    ['--impl /dev/zero', ['conv', '--impl', '/dev/zero'], 'cnn-check: --impl /dev/zero: expected a module file, got a character device'],
  ];
  for (const [name, argv, line] of cases) {
    it(name, async () => {
      expect(refusedLine(await cli(argv))).toBe(line);
    });
  }

  it('an .npz symlinked to /dev/zero', async () => {
    const npz = link(at('zero.npz'), '/dev/zero');
    const line = `cnn-check: ${npz}: expected a .npy file, a .npz file or a directory of .npy files, got a character device`;
    expect(refusedLine(await cli(['compare', npz]))).toBe(line);
    expect(refusedLine(await cli(['inspect', npz]))).toBe(line);
  });

  it('a fixture directory whose meta.json is a symlink to /dev/zero (it grew to 16.8 GB)', async () => {
    const fx = fixtureDir(at('fx-devzero'));
    rmSync(join(fx, 'meta.json'));
    link(join(fx, 'meta.json'), '/dev/zero');
    expect(refusedLine(await cli(['compare', fx]))).toBe(
      `cnn-check: ${fx}/meta.json: expected a regular file inside the fixture directory ${fx}, got a link to a file outside it`,
    );
  });
});

describe.skipIf(!built || !canMkfifo)('FIFOs never block (item 5)', () => {
  it('--input dout=fifo.npy: refused, not a hang', async () => {
    const f = fifo(at('dout.npy'));
    expect(refusedLine(await cli(['conv', '--input', `dout=${f}`]))).toBe(`cnn-check: ${f}: expected a .npy file, got a FIFO`);
  });

  it('a FIFO as suite, baseline, fixture, --impl and as a member of a fixture directory', async () => {
    const s = fifo(at('suite-fifo.json'));
    expect(refusedLine(await cli(['suite', s]))).toBe(`cnn-check: ${s}: expected a JSON suite file, got a FIFO`);
    expect(refusedLine(await cli(['bench', 'relu', '--repeat', '1', '--baseline', s]))).toBe(
      `cnn-check: ${s}: expected a JSON report from cnn-check bench --json, got a FIFO`,
    );
    const n = fifo(at('fifo.npz'));
    expect(refusedLine(await cli(['compare', n]))).toBe(`cnn-check: ${n}: expected a .npy file, a .npz file or a directory of .npy files, got a FIFO`);
    const m = fifo(at('fifo.mjs'));
    expect(refusedLine(await cli(['conv', '--impl', m]))).toBe(`cnn-check: --impl ${m}: expected a module file, got a FIFO`);
    const fx = fixtureDir(at('fx-fifo'));
    rmSync(join(fx, 'dout.npy'));
    fifo(join(fx, 'dout.npy'));
    expect(refusedLine(await cli(['compare', fx]))).toBe(`cnn-check: ${fx}/dout.npy: expected a .npy file, got a FIFO`);
  });
});

describe.skipIf(!built)('sizes are checked from headers before data is read (item 6)', () => {
  it('a 1.5 GB sparse .npz with --max-bytes 1000 is refused from its central directory', async () => {
    const npz = sparseNpz(at('sparse.npz'), 187_500_000);
    const r = await cli(['inspect', npz, '--max-bytes', '1000']);
    expect(refusedLine(r)).toBe(
      `cnn-check: ${npz}[x.npy]: declared uncompressed size too large: expected at most 1000 bytes (maxBytes; raise it with --max-bytes) in total, got 1500000128 so far (this member declares 1500000128)`,
    );
    // It reached 3.1 GB RSS and 7 s; the probe says how much it takes now.
    expect(r.maxRssMB).toBeLessThan(300);
    expect(refusedLine(await cli(['compare', npz]))).toMatch(/declared uncompressed size too large: expected at most 1073741824 bytes/);
  });

  it('1.5 GB of zeros named .npz: no end record in the last 64 KiB, nothing else read', async () => {
    const npz = sparseZeros(at('zeros.npz'), 1_500_000_000);
    expect(refusedLine(await cli(['inspect', npz]))).toBe(
      `cnn-check: ${npz}: not a zip archive: expected an .npz (zip) file, got no end-of-central-directory record`,
    );
  });

  it('a 1.5 GB sparse .npy, as a file, an --input and a member of a fixture directory', async () => {
    const npy = sparseNpy(at('sparse.npy'), 187_500_000);
    const tooLarge = `data too large: expected at most 1000 bytes (maxBytes; raise it with --max-bytes), got 1500000000 for shape (187500000,) float64`;
    expect(refusedLine(await cli(['inspect', npy, '--max-bytes', '1000']))).toBe(`cnn-check: ${npy}: ${tooLarge}`);
    expect(refusedLine(await cli(['conv', '--input', `x=${npy}`, '--max-bytes', '1000']))).toBe(`cnn-check: ${npy}: ${tooLarge}`);
    const fx = fixtureDir(at('fx-sparse'));
    rmSync(join(fx, 'dx.npy'));
    sparseNpy(join(fx, 'dx.npy'), 187_500_000);
    expect(refusedLine(await cli(['compare', fx]))).toMatch(
      /dx\.npy: data too large: expected at most \d+ bytes \(maxBytes; raise it with --max-bytes\), got 1500000000/,
    );
  });

  it('a header that declares less than the file holds is refused after the preamble alone', async () => {
    const npy = at('trailing.npy');
    sparseNpy(npy, 187_500_000);
    // Rewrite the header (128 bytes either way) to declare 3 elements: the file stays 1.5 GB.
    const fd = openSync(npy, 'r+');
    const pre = writeNpy({ data: new Float64Array(3), shape: [3] }).subarray(0, 128);
    writeSync(fd, pre, 0, pre.length, 0);
    closeSync(fd);
    expect(refusedLine(await cli(['inspect', npy]))).toBe(
      `cnn-check: ${npy}: trailing bytes after data: expected 24 bytes for shape (3,) float64, got 1500000000 (1499999976 extra)`,
    );
  });
});

describe.skipIf(!built)('fixture directories keep to themselves (item 7)', () => {
  it('dout.npy -> /etc/passwd is refused without reading it, and nothing of it is quoted', async () => {
    const fx = fixtureDir(at('fx-passwd'));
    rmSync(join(fx, 'dout.npy'));
    link(join(fx, 'dout.npy'), '/etc/passwd');
    const line = refusedLine(await cli(['compare', fx]));
    expect(line).toBe(`cnn-check: ${fx}/dout.npy: expected a regular file inside the fixture directory ${fx}, got a link to a file outside it`);
    expect(line).not.toMatch(/root|:x:/);
  });

  it('meta.json -> a secrets file: not a character of it in stderr, --json or the HTML report', async () => {
    const secret = at('secrets.env');
    writeFileSync(secret, 'API_TOKEN=s3cr3t-t0k3n-value\n');
    const fx = fixtureDir(at('fx-secret'));
    rmSync(join(fx, 'meta.json'));
    link(join(fx, 'meta.json'), secret);
    const html = at('report.html');
    const r = await cli(['compare', fx, '--json', '--report', html]);
    expect(r.status).toBe(2);
    const doc = JSON.parse(r.stdout);
    expect(doc.fixtures[0].error).toBe(`${fx}/meta.json: expected a regular file inside the fixture directory ${fx}, got a link to a file outside it`);
    for (const text of [r.stdout, r.stderr, readFileSync(html, 'utf8')]) {
      expect(text).not.toMatch(/API_TOKEN|s3cr3t|t0k3n/);
    }
  });

  it('a symlink to a file inside the directory is a member like any other', async () => {
    const fx = fixtureDir(at('fx-inside'));
    mkdirSync(join(fx, 'arrays'));
    renameSync(join(fx, 'x.npy'), join(fx, 'arrays', 'x.npy'));
    link(join(fx, 'x.npy'), 'arrays/x.npy');
    const r = await cli(['compare', fx]);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
  });

  it('a dangling symlink and a symlink loop are named as such', async () => {
    const fx = fixtureDir(at('fx-dangling'));
    link(join(fx, 'gamma.npy'), 'nowhere.npy');
    expect(refusedLine(await cli(['compare', fx]))).toBe(
      `cnn-check: ${fx}/gamma.npy: expected a regular file inside the fixture directory ${fx}, got a symlink to nothing`,
    );
    const fy = fixtureDir(at('fx-loop'));
    link(join(fy, 'beta.npy'), 'beta.npy');
    expect(refusedLine(await cli(['compare', fy]))).toBe(
      `cnn-check: ${fy}/beta.npy: expected a regular file inside the fixture directory ${fy}, got a symlink loop`,
    );
  });
});

describe.skipIf(!built)('meta.json that is a directory, and two metas (item 8)', () => {
  it('meta.json as a directory: exit 2 with one line (was exit 3, EISDIR and a stack)', async () => {
    const fx = fixtureDir(at('fx-metadir'));
    rmSync(join(fx, 'meta.json'));
    mkdirSync(join(fx, 'meta.json'));
    expect(refusedLine(await cli(['compare', fx]))).toBe(`cnn-check: ${fx}/meta.json: expected a meta.json file, got a directory`);
    expect(refusedLine(await cli(['conv', '--inputs', fx]))).toBe(`cnn-check: ${fx}/meta.json: expected a meta.json file, got a directory`);
  });

  it('meta.json and meta.npy both present: refused, neither silently wins', async () => {
    const fx = fixtureDir(at('fx-twometas'));
    writeFileSync(join(fx, 'meta.npy'), writeNpyString(JSON.stringify({ layer: 'relu' })));
    expect(refusedLine(await cli(['compare', fx]))).toBe(`cnn-check: ${fx}: expected one meta, got both meta.json and meta.npy`);
  });
});
