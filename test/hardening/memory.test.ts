/**
 * Memory and time bounded by what the user can give (hardening items 1-3), through the built CLI
 * with a heap limit, a timeout and the RSS probe (run.ts): every example of the issue ends in exit
 * 2 with one line, promptly and within MAX_RSS_MB, where it used to grow to 21 GB, print a
 * RangeError's stack, trap the WASM kernel or hang.
 * - item 1: sizes whose check, export, comparison or benchmark would need more than --max-memory
 *   are refused with the estimate, from flags, suite entries and a fixture's meta alike;
 * - item 2: dimensions and params beyond their domains (2^53 - 1 dimensions, a pad of 2^53 + 1,
 *   strides of 2^31 - 1 and 2^32) are refused by name, never rounded;
 * - item 3: every count (directions, samples, repeats, warm-ups, threads, shards, times) has a bound.
 */
import { rmSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { convMembers, corpusDir, fixtureNpz } from './corpus.js';
import { built, refusedLine } from './run.js';
import { cliServer } from '../helpers/cli-server.js';
import { parseSuite, type LayerSuiteCheck } from '../../src/suite/schema.js';
import { estimateCheckMemory } from '../../src/memory/work.js';

const dir = corpusDir('memory');
afterAll(() => rmSync(dir, { recursive: true, force: true }));
// Every command line of this file in one process with run.ts's heap limit, timeout and peak RSS per run (cli-server.ts).
const server = cliServer();
afterAll(() => server.close());
const cli = server.cli;
const at = (name: string) => join(dir, name);

/** A conv fixture whose meta says `params` (its arrays are the small reference's). */
function fixtureWithParams(name: string, params: string): string {
  return fixtureNpz(at(name), { ...convMembers(), meta: `{"layer": "conv", "params": ${params}}` });
}

function suiteFile(name: string, entries: unknown[]): string {
  const path = at(name);
  writeFileSync(path, JSON.stringify(entries));
  return path;
}

/** The refusal of a check too large for the memory allowed. */
const TOO_LARGE =
  /^cnn-check: .*needs ~\d+\.\d [KMGTPE]iB of memory \(.+\), above (--max-memory|maxMemory) \d+\.\d [KMGT]iB( \(.*\))?: expected at most that; use smaller shapes or raise (--max-memory|maxMemory)$/;

describe.skipIf(!built)('item 1: work larger than --max-memory is refused with its estimate, before it allocates', () => {
  it('conv --pad 3000 and --pad 1000 (21 GB and 6.9 GB before), relu --x-shape 300000000 (> 6 GB)', async () => {
    expect(refusedLine(await cli(['conv', '--pad', '3000', '--repeat', '0']))).toMatch(
      /^cnn-check: conv with pad 3000: its check needs ~\d+\.\d GiB of memory \(re-measured outputs/,
    );
    expect(refusedLine(await cli(['conv', '--pad', '1000', '--repeat', '0']))).toMatch(TOO_LARGE);
    expect(refusedLine(await cli(['relu', '--x-shape', '300000000']))).toMatch(/^cnn-check: relu with x 300000000: its check needs/);
    // linspace inputs are filled only after the estimate passed.
    expect(refusedLine(await cli(['relu', '--x-shape', '300000000', '--init', 'linspace']))).toMatch(TOO_LARGE);
  });

  it('--max-memory lowers the limit, and names itself', async () => {
    expect(refusedLine(await cli(['conv', '--max-memory', '1e6']))).toMatch(
      /^cnn-check: conv: its check needs ~\d+\.\d MiB of memory .*above --max-memory 976\.6 KiB: /,
    );
  });

  it('a suite entry, when the suite is read, before any check runs', async () => {
    const file = suiteFile('suite.json', [{ layer: 'relu' }, { layer: 'conv', params: { pad: 3000 } }]);
    expect(refusedLine(await cli(['suite', file]))).toMatch(
      new RegExp(
        `^cnn-check: ${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\[1\\] \\(conv\\): conv with pad 3000: its check needs .*, above maxMemory .*; use smaller shapes or raise maxMemory$`,
      ),
    );
  });

  it("a suite held in sequence (the kernels keep earlier entries' workspace) and with suite --impl, in one line before its first", async () => {
    const entries = [{ layer: 'conv', shapes: { x: [16, 16, 32, 32], w: [16, 16, 3, 3] } }, { layer: 'relu' }];
    const [, relu] = parseSuite(JSON.stringify(entries), 'probe') as LayerSuiteCheck[];
    const alone = estimateCheckMemory(relu.request).total;
    const file = suiteFile('sequence.json', [entries[0], { ...entries[1], maxMemory: alone }]);
    expect(refusedLine(await cli(['suite', file]))).toMatch(/\[1\] \(relu maxMemory=[\d.e+]+\): relu: its check needs .*, above maxMemory /);
    const withModule = suiteFile('impl.json', [{ ...entries[1], maxMemory: alone }]);
    expect(refusedLine(await cli(['suite', withModule, '--impl', at('module.mjs')]))).toMatch(
      /\[0\] \(relu maxMemory=[\d.e+]+\): relu: its check with suite --impl .*module\.mjs needs /,
    );
  });

  it("a fixture whose meta asks for it: compare, and a layer command's --inputs", async () => {
    const fx = fixtureWithParams('pad.npz', '{"stride": 1, "pad": 100000}');
    expect(refusedLine(await cli(['compare', fx]))).toMatch(/pad\.npz: comparing it needs ~\d+\.\d TiB of memory/);
    expect(refusedLine(await cli(['conv', '--inputs', fx]))).toMatch(/^cnn-check: conv with x 2,3,5,5, pad 100000: its check needs/);
  });

  it('export conv --pad 100000 writes nothing; bench conv --pad 100000 times nothing', async () => {
    const out = at('big.npz');
    expect(refusedLine(await cli(['export', 'conv', '--pad', '100000', '--out', out]))).toMatch(
      /^cnn-check: conv with pad 100000: its export needs ~\d+\.\d TiB of memory \(archive/,
    );
    expect(existsSync(out)).toBe(false);
    expect(refusedLine(await cli(['bench', 'conv', '--pad', '100000']))).toMatch(/^cnn-check: bench conv with pad 100000 float64 naive needs/);
  });
});

describe.skipIf(!built)('item 2: every integer param and dimension has a domain, checked at the boundary', () => {
  it('dimensions of 2^53 - 1 and 2^32 (a RangeError and its stack before)', async () => {
    expect(refusedLine(await cli(['conv', '--x-shape', '9007199254740991,3,5,5']))).toBe(
      "cnn-check: --x-shape: expected dimensions of at most 2147483647, got '9007199254740991,3,5,5'",
    );
    expect(refusedLine(await cli(['relu', '--x-shape', '4294967296,4294967296']))).toBe(
      "cnn-check: --x-shape: expected dimensions of at most 2147483647, got '4294967296,4294967296'",
    );
  });

  it('40 dimensions of 2^31 - 1: more elements than a number holds, refused with the shape cut short', async () => {
    expect(refusedLine(await cli(['relu', '--x-shape', Array(40).fill('2147483647').join(',')]))).toMatch(
      /^cnn-check: relu with x (2147483647,){5}21474\.\.\.\(439 characters\): its check needs more memory than a number can count, above --max-memory /,
    );
  });

  it('a pad of 2^53 + 1 is refused as written, not rounded to 2^53', async () => {
    expect(refusedLine(await cli(['conv', '--pad', '9007199254740993']))).toBe(
      "cnn-check: --pad: expected an integer >= 0 and at most 536870912 (the largest stride or pad: the kernels index in 32 bits), got '9007199254740993'",
    );
  });

  it('strides of 2^32 (the WASM kernel trapped) and 2^31 - 1 (the fast conv was wrong) never reach the kernels', async () => {
    for (const stride of ['4294967296', '2147483647']) {
      expect(refusedLine(await cli(['conv', '--stride', stride]))).toBe(
        `cnn-check: --stride: expected an integer >= 1 and at most 536870912 (the largest stride or pad: the kernels index in 32 bits), got '${stride}'`,
      );
    }
    expect(refusedLine(await cli(['maxpool', '--stride', '4294967296']))).toMatch(/^cnn-check: --stride: expected an integer >= 1 and at most 536870912/);
    expect(refusedLine(await cli(['conv-relu-pool', '--pool-stride', '4294967296']))).toMatch(
      /^cnn-check: --pool-stride: expected an integer >= 1 and at most 536870912/,
    );
  });

  it("a meta pad of 1e300, export's and bench's flags, and a suite entry's stride", async () => {
    expect(refusedLine(await cli(['compare', fixtureWithParams('huge.npz', '{"pad": 1e300}')]))).toMatch(
      /huge\.npz: member 'meta': params\.pad: expected an integer >= 0 and at most 536870912 \(.*\), got 1e\+300$/,
    );
    expect(refusedLine(await cli(['export', 'conv', '--stride', '4294967296', '--out', at('x.npz')]))).toMatch(
      /^cnn-check: --stride: expected an integer >= 1 and at most 536870912/,
    );
    expect(refusedLine(await cli(['bench', 'conv', '--pad', '9007199254740993']))).toMatch(/^cnn-check: --pad: expected an integer >= 0 and at most 536870912/);
    const file = suiteFile('stride.json', [{ layer: 'conv', params: { stride: 2 ** 32 } }]);
    expect(refusedLine(await cli(['suite', file]))).toMatch(
      /\[0\] \(conv\): params\.stride: expected an integer >= 1 and at most 536870912 .*, got 4294967296$/,
    );
  });
});

describe.skipIf(!built)('item 3: every count is bounded', () => {
  it('--directions 1000000000 on the command line and in a suite (it hung)', async () => {
    expect(refusedLine(await cli(['conv', '--directions', '1000000000']))).toBe("cnn-check: --directions: expected an integer in [1, 10000], got '1000000000'");
    const file = suiteFile('directions.json', [{ layer: 'conv', directions: 1e9 }]);
    expect(refusedLine(await cli(['suite', file]))).toMatch(/\[0\] \(conv\): directions: expected an integer in \[1, 10000\], got 1000000000$/);
  });

  it.each([
    [['conv', '--samples', '1e7'], "--samples: expected an integer in [1, 1000000], got '1e7'"],
    [['conv', '--repeat', '1e6'], "--repeat: expected an integer in [0, 10000], got '1e6'"],
    [['conv', '--budget', '1e9'], "--budget: expected a number in (0, 86400], got '1e9'"],
    [['bench', 'relu', '--warmup', '1e6'], "--warmup: expected an integer in [0, 1000], got '1e6'"],
    [['bench', 'relu', '--repeat', '1e6'], "--repeat: expected an integer in [1, 10000], got '1e6'"],
    [['bench', 'relu', '--threads', '1000'], "--threads: expected an integer in [1, 64], got '1000'"],
    [['bench', 'relu', '--naive-budget', '1e9'], "--naive-budget: expected a number in (0, 86400], got '1e9'"],
    [['suite', '--shard', '1/1000000000'], "--shard: expected i/n with 1 <= i <= n <= 1000, such as 2/3, got '1/1000000000'"],
    [['suite', '--max-time', '1e9'], "--max-time: expected a number in (0, 86400], got '1e9'"],
  ])('%j', async (argv, message) => {
    expect(refusedLine(await cli(argv))).toBe(`cnn-check: ${message}`);
  });
});
