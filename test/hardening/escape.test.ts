/**
 * Raw control characters from files and paths (hardening item 10): an npy `descr`, npz member
 * names and meta strings reached the terminal (`\x1b[2J` cleared the screen), and a suite path
 * with a newline injected a `::warning` line into a GitHub Actions log. One helper,
 * `escapeText`, is applied to untrusted strings on every output channel; JSON escapes by itself.
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { escapeData, escapeProperty, workflowCommand } from '../../src/report/github.js';
import { clip, escapeText, excerpt, excerptBytes, MAX_ECHO_CHARS, MAX_EXCERPT_CHARS } from '../../src/text/escape.js';
import { SUITE_FIELDS } from '../../src/suite/schema.js';
import { corpusDir, escapeDescrNpy, escapeNamesNpz } from './corpus.js';
import { built, refusedLine } from './run.js';
import { cliServer } from '../helpers/cli-server.js';

const dir = corpusDir('escape');
afterAll(() => rmSync(dir, { recursive: true, force: true }));
// Every command line of this file in one process with run.ts's heap limit, timeout and peak RSS per run (cli-server.ts).
const server = cliServer();
afterAll(() => server.close());
const cli = server.cli;
const at = (name: string) => join(dir, name);
// eslint-disable-next-line no-control-regex
const RAW_CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/;

describe('escapeText, clip, excerpt', () => {
  it('writes every control character as an escape and leaves printable text alone', () => {
    expect(escapeText('a\u001b[2Jb')).toBe('a\\x1b[2Jb');
    expect(escapeText('line\nnext\r\tend')).toBe('line\\nnext\\r\\tend');
    expect(escapeText('\u0000\u007f\u009b')).toBe('\\x00\\x7f\\x9b');
    expect(escapeText('abc\u202edcba\u2066x\u2028')).toBe('abc\\u202edcba\\u2066x\\u2028');
    expect(escapeText('lone \ud800 surrogate, pair 😀')).toBe('lone \\ud800 surrogate, pair 😀');
    expect(escapeText('C:\\path\\ünïcödé 名前 √')).toBe('C:\\path\\ünïcödé 名前 √');
    const once = escapeText('x\u001by\nz');
    expect(escapeText(once)).toBe(once);
  });

  it('clip caps an echoed value and says how long it was', () => {
    expect(MAX_ECHO_CHARS).toBe(60);
    expect(clip('short')).toBe('short');
    expect(clip('9'.repeat(9900))).toBe(`${'9'.repeat(60)}...(9900 characters)`);
    expect(clip('a\u001bb', 2)).toBe('a\\x1b...(3 characters)');
  });

  it('excerpt and excerptBytes quote at most MAX_EXCERPT_CHARS of untrusted content', () => {
    expect(MAX_EXCERPT_CHARS).toBe(16);
    expect(excerpt('API_TOKEN=s3cr3t-t0k3n-value')).toBe("'API_TOKEN=s3cr3t...'");
    expect(excerpt('\u001b[2J')).toBe("'\\x1b[2J'");
    expect(excerptBytes(Uint8Array.from([0x50, 0x4b, 3, 4, 0x27, 0x5c]))).toBe("'PK\\x03\\x04\\x27\\x5c'");
    expect(excerptBytes(new TextEncoder().encode('root:x:0:0:root:/root:/bin/bash'))).toBe("'root:x:0:0:root:...'");
  });

  it('GitHub workflow commands: the runner escapes for CR, LF, %, and escapeText for the rest', () => {
    expect(escapeData('a\u001b[2Jb\nc%')).toBe('a\\x1b[2Jb%0Ac%25');
    expect(escapeProperty('s/a\n::warning::x.json')).toBe('s/a%0A%3A%3Awarning%3A%3Ax.json');
    const line = workflowCommand('error', 'bad\u001b[31m\n::warning::x', { title: 't\u202e', file: 'a\nb' });
    expect(line).toBe('::error title=t\\u202e,file=a%0Ab::bad\\x1b[31m%0A::warning::x');
    expect(line.split('\n')).toHaveLength(1);
  });
});

describe.skipIf(!built)('untrusted strings reach the terminal escaped', () => {
  it("an npy descr with '\\x1b[2J' (inspect, --input): the message shows it escaped", async () => {
    const npy = escapeDescrNpy(at('descr.npy'));
    const expected = `cnn-check: ${npy}: unsupported descr: expected one of <f8 >f8 <f4 >f4 |b1, [<>|]i1/u1, [<>]i2/i4/i8/u2/u4/u8 or a 0-d <U/>U string, got '\\x1b[2J<f8'`;
    expect(refusedLine(await cli(['inspect', npy]))).toBe(expected);
    expect(refusedLine(await cli(['conv', '--input', `x=${npy}`]))).toBe(expected);
  });

  it('npz member names and a meta string with ESC and a newline: inspect prints them escaped, --json keeps them', async () => {
    const npz = escapeNamesNpz(at('names.npz'));
    const text = await cli(['inspect', npz]);
    expect(text.status).toBe(0);
    expect(text.stdout).not.toMatch(RAW_CONTROL);
    expect(text.stdout).toContain('meta (str, 29 chars): conv\\x1b[31m\\n::warning::injected');
    expect(text.stdout).toMatch(/│ a\\x1b\[2Jb │ float64 /);
    expect(text.stdout.split('\n').some((l) => l.startsWith('::'))).toBe(false);
    const json = await cli(['inspect', npz, '--json']);
    const doc = JSON.parse(json.stdout);
    expect(doc.members.map((m: { name: string }) => m.name)).toEqual(['a\u001b[2Jb', 'meta']);
    expect(doc.members[1].value).toBe('conv\u001b[31m\n::warning::injected');
  });

  it('compare of that npz: one escaped line, no excerpt longer than allowed', async () => {
    const npz = escapeNamesNpz(at('names2.npz'));
    const line = refusedLine(await cli(['compare', npz]));
    expect(line).toBe(`cnn-check: ${npz}: member 'meta': expected a JSON string {"layer": "<name>", "params": {...}}, got invalid JSON (Unexpected token 'c')`);
  });

  it('a suite path with a newline cannot inject a workflow command into a GitHub Actions log', async () => {
    mkdirSync(at('s'));
    const suite = at('s/a\n::warning::pwned.json');
    writeFileSync(suite, JSON.stringify([{ name: 'batchnorm, h too large', layer: 'batchnorm', h: 0.5, impls: ['fast'] }]));
    const r = await cli(['suite', suite], { env: { GITHUB_ACTIONS: 'true', COLUMNS: '400' } });
    expect(r.status).toBe(1);
    const lines = (r.stdout + r.stderr).split('\n');
    expect(lines.filter((l) => l.startsWith('::warning'))).toEqual([]);
    expect(lines[0]).toBe(`cnn-check suite  ${dir}/s/a\\n::warning::pwned.json: 1 check`);
    const annotations = lines.filter((l) => l.startsWith('::error'));
    expect(annotations.length).toBeGreaterThan(0);
    for (const a of annotations) expect(a).toContain(`file=${dir.replace(/:/g, '%3A').replace(/,/g, '%2C')}/s/a%0A%3A%3Awarning%3A%3Apwned.json::`);
    expect(r.stdout + r.stderr).not.toMatch(RAW_CONTROL);
  });

  it('an invalid suite at such a path: the error line is one line', async () => {
    const suite = at('s/b\n::warning::bad.json');
    writeFileSync(suite, '[{"layer": "conv", "bogus": 1}]');
    expect(refusedLine(await cli(['suite', suite], { env: { GITHUB_ACTIONS: 'true' } }))).toBe(
      `cnn-check: ${dir}/s/b\\n::warning::bad.json[0]: unknown field 'bogus': expected ${SUITE_FIELDS.join(', ')}`,
    );
  });
});
