/**
 * A JS/TS module runs under a memory limit (hardening item 4: a module allocating in a loop
 * reached 6 GB before the 60 s timeout). Typed arrays live outside the JS heap, so the worker's
 * resourceLimits alone do not bound them: the supervisor (src/impls/js-module/supervisor.ts)
 * counts the process's growth while a call runs. Either way the call fails as "exceeded the memory
 * limit of N MB", the module's failure (a failed row, exit 1), promptly and near the limit, and
 * cnn-check goes on. The limits here are small (MB) so nothing large is allocated.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { getLayer } from '../../src/layers/registry.js';
import { generateInputs, resolveShapes } from '../../src/layers/params.js';
import { XoshiroRng } from '../../src/tensor/rng.js';
import { FormatError } from '../../src/errors.js';
import { checkLayer } from '../../src/gradcheck/check-layer.js';
import { loadUserImpl, UserImplError, type UserImpl } from '../../src/impls/js-module/load.js';
import { MODULE_MEMORY_LIMIT_MB } from '../../src/impls/js-module/protocol.js';
import { rethrow, thrown } from '../helpers/thrown.js';

const example = fileURLToPath(new URL('../../examples/conv-impl.mjs', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'cnn-check-module-memory-'));
const opened: UserImpl[] = [];
afterAll(() => {
  for (const u of opened) u.close();
  rmSync(dir, { recursive: true, force: true });
});

/** The limit of these tests, MB: far above a worker's own ~10 MB, far below what the loops would take. */
const LIMIT_MB = 96;
/** How far past the limit a call may get before it is stopped: a tick of the supervisor at a few GB/s, and the heap's own growth. */
const OVERSHOOT_MB = 160;

const conv = getLayer('conv');
const params = { stride: 1, pad: 1 };
const inputs = generateInputs(conv, resolveShapes(conv, {}, params), new XoshiroRng(7));

/** A module at `name` whose forward runs `body` first, then delegates to the example conv. */
function module(name: string, body: string, top = ''): string {
  const path = join(dir, name);
  writeFileSync(
    path,
    `import * as good from ${JSON.stringify(example)};\n${top}\nexport function forward(inputs, params) {\n${body}\nreturn good.forward(inputs, params);\n}\nexport const backward = good.backward;\n`,
  );
  return path;
}

function load(path: string, memoryMb = LIMIT_MB): UserImpl {
  const u = loadUserImpl(path, { memoryMb, timeout: 60 });
  opened.push(u);
  return u;
}

/**
 * A module within the limit: the example's conv, its forward printing its worker's resourceLimits first.
 * Loaded once: the test of the limits its worker runs with and the test that it computes undisturbed share it.
 */
let withinLimit: { u: UserImpl; lines: string[] } | undefined;
function loadWithinLimit(): { u: UserImpl; lines: string[] } {
  if (!withinLimit) {
    const lines: string[] = [];
    const path = join(dir, 'limits.mjs');
    writeFileSync(
      path,
      `import { resourceLimits } from 'node:worker_threads';\nimport * as good from ${JSON.stringify(example)};\nexport function forward(i, p) { console.log(JSON.stringify(resourceLimits)); return good.forward(i, p); }\nexport const backward = good.backward;\n`,
    );
    const u = loadUserImpl(path, { memoryMb: LIMIT_MB, log: (line) => lines.push(line) });
    opened.push(u);
    withinLimit = { u, lines };
  }
  return withinLimit;
}

/** The process's resident MB. */
const rssMb = () => process.memoryUsage.rss() / 2 ** 20;

describe('a module over its memory limit fails its call, not cnn-check', () => {
  it('typed arrays allocated in a loop (outside the JS heap, which resourceLimits do not bound)', () => {
    const u = load(module('arrays.mjs', 'const keep = []; for (;;) { const a = new Float64Array(1 << 20); a.fill(1); keep.push(a); }'));
    const before = rssMb();
    let err: unknown;
    try {
      u.impl.forward(inputs, params);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(UserImplError);
    expect((err as Error).message).toMatch(
      new RegExp(`^forward exceeded the memory limit of ${LIMIT_MB} MB \\(it held \\d+ MB, its typed arrays and Buffers counted\\); its worker was stopped$`),
    );
    const held = Number(/held (\d+) MB/.exec((err as Error).message)![1]);
    expect(held).toBeGreaterThan(LIMIT_MB);
    expect(held).toBeLessThan(LIMIT_MB + OVERSHOOT_MB);
    expect(rssMb() - before).toBeLessThan(LIMIT_MB + OVERSHOOT_MB);
    // Later calls fail at once, with the reason.
    expect(() => u.impl.forward(inputs, params)).toThrow(
      /not run: the module's worker was stopped after an earlier failure \(forward exceeded the memory limit/,
    );
  });

  it('objects allocated in a loop (the JS heap: the process grows as it does, and resourceLimits stop it too)', () => {
    const u = load(module('objects.mjs', 'const keep = []; for (let i = 0; ; i++) keep.push({ i, s: String(i) });'));
    expect(() => u.impl.forward(inputs, params)).toThrow(
      new RegExp(
        `^forward exceeded the memory limit of ${LIMIT_MB} MB \\((its JS heap reached it|it held \\d+ MB, its typed arrays and Buffers counted)\\); its worker was stopped$`,
      ),
    );
  });

  it("the module's worker runs with the limit as its heap's resourceLimits", () => {
    const { u, lines } = loadWithinLimit();
    u.impl.forward(inputs, params);
    expect(JSON.parse(lines[0]).maxOldGenerationSizeMb).toBe(LIMIT_MB);
  });

  it('memory held between calls counts: a module that keeps what it allocates fails once the total is over', () => {
    const u = load(module('leak.mjs', 'for (let k = 0; k < 8; k++) { const a = new Float64Array(1 << 20); a.fill(k); leak.push(a); }', 'const leak = [];'));
    let calls = 0;
    expect(() => {
      for (; calls < 100; calls++) u.impl.forward(inputs, params);
    }).toThrow(/^forward exceeded the memory limit/);
    // 64 MB a call: the first call fits, the total passes the limit by the second or third.
    expect(calls).toBeGreaterThanOrEqual(1);
    expect(calls).toBeLessThanOrEqual(3);
  });

  it('importing a module that allocates too much is a user error naming the limit', () => {
    const path = join(dir, 'import.mjs');
    writeFileSync(
      path,
      'const keep = []; for (let i = 0; ; i++) keep.push({ i, s: String(i) });\nexport function forward() {}\nexport function backward() {}\n',
    );
    const err = thrown(() => load(path));
    expect(rethrow(err)).toThrow(FormatError);
    expect(rethrow(err)).toThrow(/cannot load the module: importing it exceeded the memory limit of 96 MB \((its JS heap reached it|it held \d+ MB, .*)\)$/);
  });

  it("checked by checkLayer, the failure is the module's row and problem, and the layer's own rows still pass", () => {
    const u = load(
      module(
        'check.mjs',
        'if (globalThis.calls = (globalThis.calls ?? 0) + 1, globalThis.calls > 1) { const keep = []; for (;;) keep.push(new Float64Array(1 << 20).fill(1)); }',
      ),
    );
    const report = checkLayer(conv, {
      params,
      repeat: 0,
      impls: ['fast'],
      external: [{ name: 'user', kind: 'js', impl: u.impl, external: true, ownsError: (e) => e instanceof UserImplError }],
    });
    expect(report.pass).toBe(false);
    expect(report.gradients.filter((g) => g.impl === 'fast').every((g) => g.pass)).toBe(true);
    expect(report.problems.join('\n')).toMatch(/user: .*forward exceeded the memory limit of 96 MB/);
  });

  it('a module within the limit is not disturbed, and the default limit is that of numpy modules', () => {
    const { u } = loadWithinLimit();
    const a = u.impl.forward(inputs, params);
    const b = conv.impls.naive.forward(inputs, params);
    expect(Array.from(a.out.data)).toEqual(Array.from(b.out.data));
    expect(MODULE_MEMORY_LIMIT_MB).toBe(4096);
  });
});
