/**
 * A user's `--impl` module (hardening items 18 and 19): output it writes to process.stdout
 * directly was dropped (only console output reached the user); arrays it returns on a
 * SharedArrayBuffer stayed shared with it, so it could change results after returning them.
 */
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { getLayer } from '../../src/layers/registry.js';
import { generateInputs, resolveShapes } from '../../src/layers/params.js';
import { XoshiroRng } from '../../src/tensor/rng.js';
import { loadUserImpl, type UserImpl } from '../../src/impls/js-module/load.js';
import { run } from '../helpers/io.js';
import { convModule, corpusDir } from './corpus.js';
import { built, cli } from './run.js';

const WORKER_TEST_MS = 60_000;
const dir = corpusDir('impl');
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const module = (name: string, source: string) => {
  const p = join(dir, name);
  writeFileSync(p, source);
  return p;
};

const opened: UserImpl[] = [];
afterAll(() => {
  for (const u of opened) u.close();
});

describe('output a module writes to process.stdout / process.stderr (item 18)', () => {
  const chatty = module(
    'chatty.mjs',
    convModule(`if (globalThis.calls === undefined) globalThis.calls = 0;
  if (globalThis.calls++ < 2) {
    process.stdout.write('direct stdout ' + globalThis.calls + '\\n');
    process.stderr.write('partial ');
    process.stderr.write(Buffer.from('line\\n'));
    process.stdout.write('no newline at the end');
  }`),
  );

  it(
    'is passed on line by line with the replies, partial lines joined',
    () => {
      const lines: string[] = [];
      const u = loadUserImpl(chatty, { log: (l) => lines.push(l) });
      opened.push(u);
      const conv = getLayer('conv');
      const params = { stride: 1, pad: 1 };
      const inputs = generateInputs(conv, resolveShapes(conv, {}, params), new XoshiroRng(1));
      u.impl.forward(inputs, params);
      expect(lines).toEqual(['direct stdout 1', 'partial line', 'no newline at the end']);
      u.impl.forward(inputs, params);
      u.impl.forward(inputs, params);
      expect(lines).toEqual(['direct stdout 1', 'partial line', 'no newline at the end', 'direct stdout 2', 'partial line', 'no newline at the end']);
    },
    WORKER_TEST_MS,
  );

  it.skipIf(!built)(
    "the CLI shows it on stderr, tagged as the module's, and stdout stays one JSON document",
    () => {
      const r = cli(['conv', '--impl', chatty, '--repeat', '0', '--json']);
      expect(r.status).toBe(0);
      expect(JSON.parse(r.stdout).pass).toBe(true);
      expect(r.stderr.split('\n').slice(0, 3)).toEqual(['[chatty.mjs] direct stdout 1', '[chatty.mjs] partial line', '[chatty.mjs] no newline at the end']);
    },
    WORKER_TEST_MS,
  );
});

describe('arrays a module returns on a SharedArrayBuffer (item 19)', () => {
  // forward returns out on shared memory and keeps it, and scribbles on it once it has returned
  // (a timer in the module's thread, running while cnn-check uses the result), and again when
  // backward is called.
  const sneaky = module(
    'sneaky.mjs',
    convModule('', 'let last;')
      .replace('export function forward(', 'function forward0(')
      .replace(
        'export function backward(dout, { x, w, stride, pad }) {',
        `export function forward(inputs, params) {
  const r = forward0(inputs, params);
  const shared = new Float64Array(new SharedArrayBuffer(r.out.data.byteLength));
  shared.set(r.out.data);
  last = shared;
  setTimeout(() => shared.fill(NaN), 0);
  return { out: { data: shared, shape: r.out.shape }, cache: r.cache };
}
export function backward(dout, { x, w, stride, pad }) {
  if (last) last.fill(NaN);`,
      ),
  );

  it(
    'are copied when they arrive: what the module does to its memory later changes nothing',
    () => {
      const u = loadUserImpl(sneaky);
      opened.push(u);
      const conv = getLayer('conv');
      const params = { stride: 1, pad: 1 };
      const inputs = generateInputs(conv, resolveShapes(conv, {}, params), new XoshiroRng(2));
      const reference = conv.impls.naive.forward(inputs, params).out;
      const fwd = u.impl.forward(inputs, params);
      expect(fwd.out.data.buffer).not.toBeInstanceOf(SharedArrayBuffer);
      expect(Array.from(fwd.out.data)).toEqual(Array.from(reference.data));
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 100); // the module's timer fires meanwhile
      expect(Array.from(fwd.out.data)).toEqual(Array.from(reference.data));
      u.impl.backward(reference, fwd.cache);
      expect(Array.from(fwd.out.data)).toEqual(Array.from(reference.data));
    },
    WORKER_TEST_MS,
  );

  // In-process: what is checked is the comparison, not the process.
  it(
    'so the check of such a module still compares what it returned',
    async () => {
      const r = await run(['conv', '--impl', sneaky, '--repeat', '0', '--json']);
      expect(r.stderr).toBe('');
      const doc = JSON.parse(r.stdout);
      expect(doc.comparisons[0].arrays.find((a: { name: string }) => a.name === 'out').pass).toBe(true);
    },
    WORKER_TEST_MS,
  );
});
