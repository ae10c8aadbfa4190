/**
 * Deeply nested JSON (hardening item 9). A meta or suite field nested ~5000 deep ended the
 * process with "RangeError: Maximum call stack size exceeded" (JSON.stringify in an error
 * message), exit 3, and in a `compare` batch wiped out every fixture's result. Now the depth is
 * bounded when parsing (MAX_JSON_DEPTH), excerpts are formatted without recursion, and in a
 * batch the bad fixture is its own exit-2 result while the others still report.
 */
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FormatError } from '../../src/errors.js';
import { parseFixture } from '../../src/fixtures/contract.js';
import { loadMembers } from '../../src/fixtures/load.js';
import { readBenchReport } from '../../src/bench/baseline.js';
import { parseSuite } from '../../src/suite/schema.js';
import { showJson } from '../../src/text/escape.js';
import { jsonDepthViolation, jsonSyntaxReason, MAX_JSON_DEPTH, parseUntrustedJson } from '../../src/text/json.js';
import { convMembers, corpusDir, deepArray, fixtureDir, fixtureNpz } from './corpus.js';
import { built, cli, refusedLine } from './run.js';

const dir = corpusDir('json');
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const at = (name: string) => join(dir, name);
const META_PREFIX = '{"layer": "conv", "params": {"stride": ';
const deepMeta = (depth: number) => `${META_PREFIX}${deepArray(depth)}}}`;
/** Where text that reaches `depth` before `prefix` ends goes past 64 levels: the 65th open bracket. */
const tooDeepAt = (prefix: string, depth: number) => prefix.length + MAX_JSON_DEPTH - depth;
/** How messages show `[[...]]` nested `depth` deep: compact JSON cut at 60 characters. */
const shownDeep = (depth: number) => {
  const s = deepArray(depth);
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
};

describe('parseUntrustedJson and showJson', () => {
  const fail = (reason: string): never => {
    throw new FormatError(reason);
  };

  it('refuses nesting beyond MAX_JSON_DEPTH before parsing, at the offset where it goes too deep', () => {
    expect(MAX_JSON_DEPTH).toBe(64);
    expect(jsonDepthViolation(deepArray(64))).toBe(-1);
    expect(jsonDepthViolation(deepArray(65))).toBe(64);
    expect(() => parseUntrustedJson(deepArray(5000), fail)).toThrow('nested deeper than 64 levels of arrays and objects (at offset 64)');
    expect(parseUntrustedJson(deepArray(64), fail)).toBeInstanceOf(Array);
  });

  it('brackets inside strings do not count, escaped quotes do not end a string', () => {
    expect(jsonDepthViolation(`["${'['.repeat(1000)}\\"${'{'.repeat(1000)}"]`)).toBe(-1);
    expect(parseUntrustedJson(`{"a": "[[[\\"]]]"}`, fail)).toEqual({ a: '[[["]]]' });
  });

  it('syntax errors do not quote the text as V8 does; a position gets a short escaped excerpt', () => {
    expect(() => parseUntrustedJson('API_TOKEN=s3cr3t-t0k3n-value', fail)).toThrow(/^Unexpected token 'A'$/);
    try {
      JSON.parse('x'.repeat(40));
    } catch (err) {
      expect(jsonSyntaxReason(err, 'x'.repeat(40))).toBe("Unexpected token 'x'");
    }
    expect(() => parseUntrustedJson('{"a": 1,\n"b\u001b[2J": }', fail)).toThrow(
      /^Bad control character in string literal in JSON at position 11 \(at '\\x1b\[2J": }'\)$/,
    );
    expect(() => parseUntrustedJson('[1, 2', fail)).toThrow(/^Expected ',' or '\]' after array element in JSON at position 5$/);
  });

  it('showJson renders compact JSON, cut with ..., without recursion on 100000 levels', () => {
    expect(showJson({ a: [1, 'b', null, true], c: {} })).toBe('{"a":[1,"b",null,true],"c":{}}');
    expect(showJson([1, 2, 3], 5)).toBe('[1...');
    let deep: unknown = 0;
    for (let i = 0; i < 100_000; i++) deep = [deep];
    const shown = showJson(deep);
    expect(shown.length).toBeLessThanOrEqual(60);
    expect(shown.endsWith('...')).toBe(true);
    expect(showJson('a\u001b[2Jb\u202e')).toBe('"a\\u001b[2Jb\\u202e"');
    expect(showJson(new Array(1_000_000).fill(7)).length).toBe(60);
  });
});

describe('a deep meta is a FormatError naming the file', () => {
  it('in meta.json of a directory fixture', () => {
    const fx = fixtureDir(at('fx-deep'));
    writeFileSync(join(fx, 'meta.json'), deepMeta(5000));
    expect(() => parseFixture(fx, loadMembers(fx))).toThrow(
      `${fx}: member 'meta': expected a JSON string {"layer": "<name>", "params": {...}}, got invalid JSON (nested deeper than 64 levels of arrays and objects (at offset ${tooDeepAt(META_PREFIX, 2)}))`,
    );
  });

  it('in the meta string of an .npz', () => {
    const npz = fixtureNpz(at('deep.npz'), { ...convMembers(), meta: deepMeta(5000) });
    expect(() => parseFixture(npz, loadMembers(npz))).toThrow(/member 'meta': .*nested deeper than 64 levels/);
  });

  it('a value nested 60 deep (within the limit) is echoed cut short', () => {
    const fx = fixtureDir(at('fx-60'));
    writeFileSync(join(fx, 'meta.json'), deepMeta(60));
    expect(() => parseFixture(fx, loadMembers(fx))).toThrow(`${fx}: member 'meta': params.stride: expected an integer >= 1, got ${shownDeep(60)}`);
  });
});

describe('a deep suite entry or baseline is a FormatError', () => {
  it('suite', () => {
    const prefix = '[{"layer": "conv", "shapes": {"x": ';
    expect(() => parseSuite(`${prefix}${deepArray(5000)}}}]`, 'deep.json')).toThrow(
      `deep.json: not valid JSON: nested deeper than 64 levels of arrays and objects (at offset ${tooDeepAt(prefix, 3)})`,
    );
    expect(() => parseSuite(`${prefix}${deepArray(40)}}}]`, 'deep.json')).toThrow(
      `deep.json[0] (conv): shapes.x: expected positive integer dimensions, got ${shownDeep(40)}`,
    );
  });

  it('baseline', () => {
    const f = at('deep-baseline.json');
    writeFileSync(f, `{"results": [${deepArray(5000)}]}`);
    const offset = tooDeepAt('{"results": [', 2);
    expect(() => readBenchReport(f)).toThrow(
      `${f}: expected a JSON report from cnn-check bench --json, got text that is not JSON (nested deeper than 64 levels of arrays and objects (at offset ${offset}))`,
    );
  });
});

describe.skipIf(!built)('the CLI: exit 2, one line; a compare batch keeps the other results', () => {
  it('compare good deep good: the deep fixture is its own exit-2 result, the good ones still report', () => {
    const good1 = fixtureNpz(at('good1.npz'));
    const deep = fixtureDir(at('fx-batch-deep'));
    writeFileSync(join(deep, 'meta.json'), deepMeta(5000));
    const good2 = fixtureDir(at('fx-batch-good'));
    const r = cli(['compare', good1, deep, good2, '--json']);
    expect(r.status).toBe(2);
    const doc = JSON.parse(r.stdout);
    expect(doc.pass).toBe(false);
    expect(doc.fixtures.map((f: { path: string; pass: boolean }) => [f.path, f.pass])).toEqual([
      [good1, true],
      [deep, false],
      [good2, true],
    ]);
    expect(doc.fixtures[1].error).toMatch(/nested deeper than 64 levels/);
    expect(r.stderr.trim().split('\n')).toEqual([`cnn-check: ${doc.fixtures[1].error}`]);
    expect(r.stderr).not.toMatch(/RangeError|stack/);
    const text = cli(['compare', good1, deep, good2]);
    expect(text.status).toBe(2);
    expect(text.stdout).toMatch(/PASS: 2 fixture\(s\) match the reference/);
  });

  it('a suite file with a field nested 5000 deep', () => {
    const f = at('deep-suite.json');
    const prefix = '[{"layer": "conv", "params": {"stride": ';
    writeFileSync(f, `${prefix}${deepArray(5000)}}}]`);
    expect(refusedLine(cli(['suite', f]))).toBe(
      `cnn-check: ${f}: not valid JSON: nested deeper than 64 levels of arrays and objects (at offset ${tooDeepAt(prefix, 3)})`,
    );
  });

  it('--inputs with a deep meta', () => {
    const fx = fixtureDir(at('fx-inputs-deep'));
    writeFileSync(join(fx, 'meta.json'), deepMeta(5000));
    expect(refusedLine(cli(['conv', '--inputs', fx]))).toMatch(/member 'meta': .*nested deeper than 64 levels/);
    rmSync(fx, { recursive: true });
  });
});
