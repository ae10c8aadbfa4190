/**
 * The battery as data: a battery for every registered layer, unique case names, valid shapes,
 * the notebook cases and an edge case under --quick; the reference itself passes every case when
 * graded as a user's implementation would be (so a failing case is the user's code, never the
 * battery's); docs/grade.md lists every case. And the max-pool tie judgement on hand-made dx.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { BATTERY, casesOf } from '../../src/grade/battery.js';
import { caseMode } from '../../src/grade/grade.js';
import { materialize } from '../../src/grade/inputs.js';
import { runCase } from '../../src/grade/run-case.js';
import { judgeTies } from '../../src/grade/ties.js';
import type { Implementation } from '../../src/impls/types.js';
import { getLayer, LAYERS } from '../../src/layers/registry.js';
import type { Tensor } from '../../src/tensor/tensor.js';

const docs = readFileSync(fileURLToPath(new URL('../../docs/grade.md', import.meta.url)), 'utf8');

describe('the battery', () => {
  it('has a battery for every registered layer, with unique case names, a notebook case and an edge case under --quick', () => {
    expect(BATTERY.map((b) => b.layer).sort()).toEqual(LAYERS.map((l) => l.name).sort());
    for (const b of BATTERY) {
      const names = b.cases.map((c) => c.name);
      expect(new Set(names).size, b.layer).toBe(names.length);
      const quick = casesOf(b.layer, true);
      expect(
        quick.some((c) => c.notebook),
        b.layer,
      ).toBe(true);
      expect(
        quick.some((c) => !c.notebook),
        b.layer,
      ).toBe(true);
      expect(
        b.cases.some((c) => c.dtype === 'float32'),
        b.layer,
      ).toBe(true);
    }
  });

  it('the reference passes every case as a user module would be graded (the cases are right, and so is the judging)', () => {
    for (const b of BATTERY) {
      const spec = getLayer(b.layer);
      const im: Implementation = { name: 'fast', kind: 'builtin', impl: spec.impls.fast ?? spec.impls.naive, external: true, ownsError: () => false };
      for (const c of b.cases) {
        const mc = materialize(spec, c);
        const r = runCase(spec, im, mc, { gradcheck: true, mode: caseMode(spec, c, mc.shapes), ties: c.ties, deadline: performance.now() + 1000 });
        expect(`${r.status} ${r.message}`, `${b.layer} ${c.name}`).toBe('pass ');
      }
    }
  });

  it('docs/grade.md lists every case with what it is for', () => {
    for (const b of BATTERY) {
      expect(docs, b.layer).toContain(`### ${b.layer}\n`);
      for (const c of b.cases) {
        expect(docs, `${b.layer} ${c.name}`).toContain(`| \`${c.name}\` |`);
        expect(docs, `${b.layer} ${c.name}`).toContain(c.about);
      }
    }
  });
});

/** A (1, 1, H, W) tensor. */
const t4 = (rows: number[][]): Tensor => ({ data: Float64Array.from(rows.flat()), shape: [1, 1, rows.length, rows[0].length] });
const pool = { pool_height: 2, pool_width: 2, stride: 2 };

describe('max-pool ties as subgradients', () => {
  // One 2x2 window whose maximum 3 is tied at (0, 0) and (1, 1), and one window without a tie.
  const x = t4([
    [3, 1, 5, 0],
    [0, 3, 2, 1],
  ]);
  const dout: Tensor = { data: Float64Array.of(2, -1), shape: [1, 1, 1, 2] };

  it.each([
    [
      'the first maximum (np.argmax)',
      [
        [2, 0, -1, 0],
        [0, 0, 0, 0],
      ],
      'first maximum',
    ],
    [
      'the last maximum',
      [
        [0, 0, -1, 0],
        [0, 2, 0, 0],
      ],
      'last maximum',
    ],
    [
      'equal shares',
      [
        [1, 0, -1, 0],
        [0, 1, 0, 0],
      ],
      'equal shares',
    ],
    [
      'another split',
      [
        [1.5, 0, -1, 0],
        [0, 0.5, 0, 0],
      ],
      'another split',
    ],
  ])('%s: a valid split', (_name, dx, convention) => {
    expect(judgeTies(x, dout, t4(dx as number[][]), pool, 1e-6)).toEqual({ tiedWindows: 1, valid: true, mask: false, convention });
  });

  it('the whole dout to every tied maximum (mask = (window == max)): not valid, the mask convention', () => {
    expect(
      judgeTies(
        x,
        dout,
        t4([
          [2, 0, -1, 0],
          [0, 2, 0, 0],
        ]),
        pool,
        1e-6,
      ),
    ).toEqual({ tiedWindows: 1, valid: false, mask: true, convention: 'whole dout to every tied maximum' });
  });

  it('dout at an element that is no maximum, or a split that does not sum to dout: invalid, and where', () => {
    const off = judgeTies(
      x,
      dout,
      t4([
        [2, 0, 0, -1],
        [0, 0, 0, 0],
      ]),
      pool,
      1e-6,
    )!;
    expect(off.valid).toBe(false);
    expect(off.mask).toBe(false);
    expect(off.message).toMatch(/^dx at \(0, 0, 0, 3\) is -1, not a maximum of its window \(0, 0, 0, 1\): expected 0$/);
    const short = judgeTies(
      x,
      dout,
      t4([
        [1, 0, -1, 0],
        [0, 0.5, 0, 0],
      ]),
      pool,
      1e-6,
    )!;
    expect(short.message).toBe('window (0, 0, 0, 0) has 2 tied maxima whose dx sum to 1.5, expected a split of its dout 2');
  });

  it('overlapping windows: no judgement', () => {
    expect(judgeTies(x, dout, x, { pool_height: 2, pool_width: 2, stride: 1 }, 1e-6)).toBeNull();
  });
});
