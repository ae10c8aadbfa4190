/**
 * Localizing errors: for each planted mistake the failing gradient says where it is wrong, and
 * the hint names the mistake: a padding offset shows as a bright frame once aligned, padding
 * taps sent to real elements as a frame outright, an averaged db as a factor N*Hout*Wout, a
 * flipped kernel and a sign flip as themselves.
 */
import { describe, expect, it } from 'vitest';
import { conv, convBackwardNaive, convForwardNaive, type ConvCache } from '../../src/layers/conv.js';
import type { LayerImpl, Params, Shapes } from '../../src/layers/types.js';
import { gradCheck, type GradientRow } from '../../src/gradcheck/gradcheck.js';
import { localize } from '../../src/gradcheck/localize.js';
import type { CheckMode } from '../../src/settings/schema.js';
import { generateInputs, resolveShapes } from '../../src/layers/params.js';
import { XoshiroRng } from '../../src/tensor/rng.js';
import { zeros, type Tensor } from '../../src/tensor/tensor.js';
import { HEAT_CHARS, renderHeatmap, renderLocalization } from '../../src/report/terminal.js';

type Backward = LayerImpl['backward'];
const scaled = (t: Tensor, f: (v: number, i: number) => number): Tensor => ({ data: t.data.map(f), shape: t.shape });

/** dx from the padded gradient, cropped at `offset` (pad is right, 0 is the bug). */
function cropped(offset: (pad: number) => number): Backward {
  return (dout, cache) => {
    const { x, w, geom } = cache as ConvCache;
    const { N, C, H, W, stride, pad } = geom;
    const Hp = H + 2 * pad;
    const Wp = W + 2 * pad;
    const xpad = zeros([N, C, Hp, Wp]);
    for (let p = 0; p < N * C; p++)
      for (let h = 0; h < H; h++) for (let j = 0; j < W; j++) xpad.data[(p * Hp + h + pad) * Wp + j + pad] = x.data[(p * H + h) * W + j];
    const g = convBackwardNaive(dout, cache as ConvCache);
    const dxpad = convBackwardNaive(dout, convForwardNaive({ x: xpad, w, b: g.db }, { stride, pad: 0 }).cache).dx;
    const o = offset(pad);
    const dx = zeros(x.shape);
    for (let p = 0; p < N * C; p++)
      for (let h = 0; h < H; h++) for (let j = 0; j < W; j++) dx.data[(p * H + h) * W + j] = dxpad.data[(p * Hp + h + o) * Wp + j + o];
    return { ...g, dx };
  };
}

/** Taps that fall in the zero padding wrap around to the opposite edge (a modulo instead of a bounds check). */
const wrapped: Backward = (dout, cache) => {
  const { x, w, geom } = cache as ConvCache;
  const { N, C, H, W, F, HH, WW, stride, pad, Hout, Wout } = geom;
  const dx = zeros(x.shape);
  for (let n = 0; n < N; n++)
    for (let f = 0; f < F; f++)
      for (let i = 0; i < Hout; i++)
        for (let j = 0; j < Wout; j++) {
          const g = dout.data[((n * F + f) * Hout + i) * Wout + j];
          for (let c = 0; c < C; c++)
            for (let di = 0; di < HH; di++)
              for (let dj = 0; dj < WW; dj++) {
                const h = (i * stride + di - pad + H) % H;
                const ww = (j * stride + dj - pad + W) % W;
                dx.data[((n * C + c) * H + h) * W + ww] += g * w.data[((f * C + c) * HH + di) * WW + dj];
              }
        }
  return { ...convBackwardNaive(dout, cache as ConvCache), dx };
};

const bugs: Record<string, Backward> = {
  averaged: (dout, cache) => {
    const g = convBackwardNaive(dout, cache as ConvCache);
    const { N, Hout, Wout } = (cache as ConvCache).geom;
    return { ...g, db: scaled(g.db, (v) => v / (N * Hout * Wout)) };
  },
  flipped: (dout, cache) => {
    const g = convBackwardNaive(dout, cache as ConvCache);
    const [F, C, HH, WW] = g.dw.shape;
    const dw = zeros(g.dw.shape);
    for (let p = 0; p < F * C; p++)
      for (let i = 0; i < HH; i++) for (let j = 0; j < WW; j++) dw.data[(p * HH + i) * WW + j] = g.dw.data[(p * HH + HH - 1 - i) * WW + WW - 1 - j];
    return { ...g, dw };
  },
  sign: (dout, cache) => {
    const g = convBackwardNaive(dout, cache as ConvCache);
    return { ...g, dx: scaled(g.dx, (v) => -v) };
  },
  'dw never written': (dout, cache) => ({ ...convBackwardNaive(dout, cache as ConvCache), dw: zeros([4, 3, 3, 3]) }),
  'dx doubled on channel 1': (dout, cache) => {
    const g = convBackwardNaive(dout, cache as ConvCache);
    const [, C, H, W] = g.dx.shape;
    return { ...g, dx: scaled(g.dx, (v, i) => (Math.floor(i / (H * W)) % C === 1 ? 2 * v : v)) };
  },
};

const NO_LIMIT = 1e6;
const SMALL = { x: [2, 3, 8, 8], w: [4, 3, 3, 3] };
const LARGER = { x: [4, 8, 16, 16], w: [8, 8, 3, 3] };

/** The crop at offset 0 (the bug), one function for every test of it, so they share its checks. */
const croppedAtZero = cropped(() => 0);

/**
 * Checks already run, by backward and arguments: the check is deterministic (seeded inputs, no
 * clock-bound work under NO_LIMIT), so tests that inspect the same failing check share one run.
 */
const runs = new Map<Backward, Map<string, GradientRow[]>>();

function failing(backward: Backward, mode: CheckMode, shapes: Shapes = SMALL, params: Params = { stride: 1, pad: 1 }, seed = 3): GradientRow[] {
  const key = JSON.stringify([mode, shapes, params, seed]);
  const done = runs.get(backward)?.get(key);
  if (done) return done;
  const rng = new XoshiroRng(seed);
  const inputs = generateInputs(conv, resolveShapes(conv, shapes, params), rng);
  const r = gradCheck(conv, { forward: convForwardNaive, backward }, inputs, params, { rng, mode, budget: NO_LIMIT });
  expect(r.pass).toBe(false);
  const rows = r.gradients.filter((g) => !g.pass);
  if (!runs.has(backward)) runs.set(backward, new Map());
  runs.get(backward)!.set(key, rows);
  return rows;
}

/** Cells of a map above `frac` of its largest value. */
function bright(values: (number | null)[][], frac: number): [number, number][] {
  const max = Math.max(...values.flat().map((v) => v ?? 0));
  const out: [number, number][] = [];
  values.forEach((row, r) => {
    row.forEach((v, c) => {
      if (v !== null && v > frac * max) out.push([r, c]);
    });
  });
  return out;
}

describe('padding offset: dx cropped without the pad offset', () => {
  for (const [mode, shapes] of [
    ['full', SMALL],
    ['sampled', LARGER],
    ['auto', LARGER],
  ] as [CheckMode, Shapes][]) {
    for (const pad of [1, 2]) {
      it(`${mode}, pad ${pad}: the aligned error is a frame of width pad on the top and left, and the hint says so`, () => {
        const [dx] = failing(croppedAtZero, mode, shapes, { stride: 1, pad });
        expect(dx.name).toBe('dx');
        const loc = dx.localization!;
        expect(loc.hint!.kind).toBe('padding-offset');
        expect(loc.hint!.shift).toEqual([pad, pad]);
        expect(loc.hint!.message).toMatch(new RegExp(`analytic dx\\[h, w\\] = numeric dx\\[h - ${pad}, w - ${pad}\\]`));
        expect(loc.hint!.message).toMatch(/cropped from the padded gradient without the pad offset/);
        // Raw, the shifted gradient is wrong everywhere ...
        expect(loc.interior!.failing).toBeGreaterThan(0);
        // ... aligned, only the band the shift leaves over is.
        expect(loc.aligned!.shift).toEqual([pad, pad]);
        expect(loc.aligned!.interior.maxRelError).toBeLessThan(1e-7);
        expect(loc.aligned!.interior.count).toBeGreaterThan(10);
        expect(loc.aligned!.border.maxRelError).toBeGreaterThan(0.1);
        const h = loc.heatmap!;
        const cells = bright(h.aligned!, 0.02);
        expect(cells.length).toBeGreaterThan(0);
        for (const [r, c] of cells) expect(r < pad || c < pad, `(${r}, ${c})`).toBe(true);
        // The whole band is lit: the top rows and the left columns.
        expect(cells.some(([r]) => r === 0)).toBe(true);
        expect(cells.some(([, c]) => c === 0)).toBe(true);
        // The raw map is lit inside too.
        expect(bright(h.values, 0.02).some(([r, c]) => r >= pad && c >= pad)).toBe(true);
      });
    }
  }

  it('the correct crop passes (the harness is not the bug)', () => {
    const rng = new XoshiroRng(3);
    const params = { stride: 1, pad: 2 };
    const inputs = generateInputs(conv, resolveShapes(conv, SMALL, params), rng);
    expect(gradCheck(conv, { forward: convForwardNaive, backward: cropped((p) => p) }, inputs, params, { rng }).pass).toBe(true);
  });
});

describe('padding taps sent to real elements: error only on the border', () => {
  for (const [mode, shapes] of [
    ['full', SMALL],
    ['sampled', LARGER],
    ['directional', LARGER],
  ] as [CheckMode, Shapes][]) {
    it(`${mode}: a bright frame on all four sides, a dark interior, and the border hint`, () => {
      const [dx] = failing(wrapped, mode, shapes);
      expect(dx.name).toBe('dx');
      const loc = dx.localization!;
      expect(loc.hint!.kind).toBe('border');
      expect(loc.hint!.message).toMatch(/only on the border/);
      expect(loc.border!.failing).toBeGreaterThan(0);
      expect(loc.border!.maxRelError).toBeGreaterThan(0.1);
      expect(loc.interior!.failing).toBe(0);
      expect(loc.interior!.maxRelError).toBeLessThan(1e-7);
      const v = loc.heatmap!.values;
      const H = v.length;
      const W = v[0].length;
      const cells = bright(v, 0.02);
      for (const [r, c] of cells) expect(r === 0 || r === H - 1 || c === 0 || c === W - 1, `(${r}, ${c})`).toBe(true);
      expect(cells.some(([r]) => r === 0) && cells.some(([r]) => r === H - 1)).toBe(true);
      expect(cells.some(([, c]) => c === 0) && cells.some(([, c]) => c === W - 1)).toBe(true);
      expect(loc.aligned).toBeUndefined();
    });
  }
});

describe('hints for the other known mistakes', () => {
  for (const mode of ['full', 'sampled', 'directional', 'auto'] as CheckMode[]) {
    const shapes = mode === 'full' ? SMALL : LARGER;
    it(`${mode}: db averaged over N*Hout*Wout`, () => {
      const [db] = failing(bugs.averaged, mode, shapes);
      expect(db.name).toBe('db');
      const [N, , H, W] = shapes.x;
      expect(db.localization!.hint!.kind).toBe('factor');
      expect(db.localization!.hint!.factor! * N * H * W).toBeCloseTo(1, 9);
      expect(db.localization!.hint!.message).toContain(`numeric / ${N * H * W}`);
      expect(db.localization!.hint!.message).toMatch(/= N\*Hout\*Wout: averaged over N\*Hout\*Wout instead of summed/);
    });
    it(`${mode}: flipped kernel`, () => {
      const [dw] = failing(bugs.flipped, mode, shapes);
      expect(dw.name).toBe('dw');
      expect(dw.localization!.hint!.kind).toBe('kernel-flip');
      expect(dw.localization!.hint!.message).toMatch(/analytic dw equals the numeric with HH and WW reversed/);
    });
    it(`${mode}: sign flip`, () => {
      const [dx] = failing(bugs.sign, mode, shapes);
      expect(dx.localization!.hint).toMatchObject({ kind: 'sign', factor: -1 });
      expect(dx.localization!.hint!.message).toMatch(/analytic dx = -numeric for all \d+ checked elements: an exact sign flip/);
    });
  }

  it('a gradient never written', () => {
    const [dw] = failing(bugs['dw never written'], 'full');
    expect(dw.localization!.hint!.kind).toBe('zero');
  });

  it('no hint for an error with no known pattern, but the channel it lives in', () => {
    const [dx] = failing(bugs['dx doubled on channel 1'], 'full');
    const loc = dx.localization!;
    expect(loc.hint).toBeNull();
    expect(loc.perChannel.map((c) => [c.index, c.failing > 0])).toEqual([
      [0, false],
      [1, true],
      [2, false],
    ]);
    expect(loc.perSample.map((s) => s.failing > 0)).toEqual([true, true]);
    expect(loc.perChannel.map((c) => c.count)).toEqual([128, 128, 128]);
    // Doubled: analytic = 2 numeric, relative error 1/3 on channel 1.
    expect(loc.top[0].relError).toBeCloseTo(1 / 3, 7);
    expect(loc.top[0].index[1]).toBe(1);
    expect(loc.heatmap!.c).toBe(1);
  });
});

describe('localization data', () => {
  it('top elements are the worst, with consistent values', () => {
    const [dx] = failing(bugs.sign, 'full');
    const top = dx.localization!.top;
    expect(top).toHaveLength(5);
    for (let k = 1; k < top.length; k++) expect(top[k - 1].relError).toBeGreaterThanOrEqual(top[k].relError);
    for (const e of top) {
      expect(e.index).toHaveLength(4);
      expect(e.absError).toBeCloseTo(Math.abs(e.analytic - e.numeric), 12);
      expect(e.analytic).toBeCloseTo(-e.numeric, 6);
    }
    expect(dx.localization!.checked).toBe(384);
    expect(dx.localization!.total).toBe(384);
  });

  it('names a factor from the output dimensions, smallest product first', () => {
    const shape = [6];
    const numeric = Float64Array.from([1, -2, 3, 0.5, -4, 2]);
    const loc = localize({
      name: 'db',
      input: 'b',
      shape,
      analytic: numeric.map((v) => v * 12),
      numeric,
      kinks: new Uint8Array(6),
      skipKinks: true,
      floor: 1e-8,
      threshold: 1e-7,
      outShape: [2, 6, 3, 2],
      outNames: ['N', 'F', 'Hout', 'Wout'],
    });
    expect(loc.hint!.kind).toBe('factor');
    expect(loc.hint!.factor).toBeCloseTo(12, 12);
    expect(loc.hint!.message).toMatch(/numeric \* 12 .* 12 = N\*F: summed over N\*F where the forward averages/);
    expect(loc.perSample).toEqual([]);
    expect(loc.perChannel).toHaveLength(6);
    expect(loc.heatmap).toBeUndefined();
  });

  it('a tiny factor is a factor, not a zero: db averaged over 32768 in float32', () => {
    const numeric = Float64Array.from([3, -1, 2.5, 7]);
    const loc = localize({
      name: 'db',
      input: 'b',
      shape: [4],
      analytic: numeric.map((v) => Math.fround(v / 32768)),
      numeric,
      kinks: new Uint8Array(4),
      skipKinks: true,
      floor: 7 / 32768,
      threshold: 6.9e-4,
      outShape: [32, 4, 32, 32],
      outNames: ['N', 'F', 'Hout', 'Wout'],
    });
    expect(loc.hint!.kind).toBe('factor');
    expect(loc.hint!.message).toContain('numeric / 32768 for all 4 checked elements, and 32768 = N*Hout*Wout');
  });

  it('marks elements without a numeric value as unknown in the map', () => {
    const shape = [1, 1, 3, 4];
    const numeric = new Float64Array(12).fill(NaN);
    numeric[5] = 1;
    numeric[6] = 2;
    const loc = localize({
      name: 'dx',
      input: 'x',
      shape,
      analytic: new Float64Array(12).fill(3),
      numeric,
      kinks: new Uint8Array(12),
      skipKinks: true,
      floor: 1e-8,
      threshold: 1e-7,
      outShape: [1, 1, 3, 4],
      outNames: ['N', 'C', 'Hout', 'Wout'],
    });
    expect(loc.checked).toBe(2);
    expect(loc.heatmap!.values).toEqual([
      [null, null, null, null],
      [null, 2, 1, null],
      [null, null, null, null],
    ]);
  });
});

describe('rendering', () => {
  it('draws the heatmap with block characters in a box, unknown cells as dots', () => {
    const lines = renderHeatmap(
      [
        [0, 1, null],
        [0.3, 0.6, 0.01],
      ],
      false,
    );
    expect(lines[0]).toBe('┌──────┐');
    expect(lines[1]).toBe(`│  ${HEAT_CHARS[4].repeat(2)} ·│`);
    expect(lines[2]).toBe(`│${HEAT_CHARS[2].repeat(2)}${HEAT_CHARS[3].repeat(2)}  │`);
    expect(lines[3]).toBe('└──────┘');
    expect(lines[4]).toMatch(/up to 1\.00e\+0.*· not evaluated/);
    expect(lines.join('')).not.toContain('\u001b[');
    expect(renderHeatmap([[0, 1]], true).join('')).toContain('\u001b[');
  });

  it('pools wide maps down to 48 columns', () => {
    const wide = [Array.from({ length: 100 }, (_, i) => (i === 99 ? 1 : 0))];
    const lines = renderHeatmap(wide, false);
    expect(lines[1]).toHaveLength(2 + 2 * 34);
    expect(lines[1].endsWith(`${HEAT_CHARS[4].repeat(2)}│`)).toBe(true);
    expect(lines).toContain('(each cell is the largest of 3x3 elements)');
  });

  it('renders the worst elements, the groups, the aligned frame and the hint', () => {
    const [dx] = failing(croppedAtZero, 'full');
    const text = renderLocalization({ impl: 'naive', ...dx }, false);
    expect(text).toMatch(/where naive dx is wrong \(384 of 384 elements evaluated\)/);
    expect(text).toMatch(/per sample n \(max rel error; 2 of 2 fail\)/);
    expect(text).toMatch(/per channel c \(max rel error; 3 of 3 fail\)/);
    expect(text).toMatch(/after aligning by the shift \(1, 1\)/);
    const aligned = text.slice(text.indexOf('the same after aligning by the shift (1, 1):'));
    expect(aligned).toMatch(/^the same after aligning by the shift \(1, 1\):\n┌────────────────┐\n│[░▒▓█ ]{16}│\n/);
    // Below the top row only the left column is lit: the frame the crop leaves.
    expect(
      aligned
        .split('\n')
        .slice(3, 10)
        .every((l) => /^│[░▒▓█]{2} {14}│$/.test(l) || /^│ {16}│$/.test(l)),
    ).toBe(true);
    expect(text).toMatch(/hint: away from the border, analytic dx\[h, w\] = numeric dx\[h - 1, w - 1\]/);
  });
});
