/**
 * The checker must catch real bugs: each deliberately broken backward pass below is a
 * mistake people make in the cs231n assignment, and each must fail the gradient check.
 */
import { describe, expect, it } from 'vitest';
import { conv, convBackwardNaive, convForwardNaive, type ConvCache, type ConvParams } from '../../src/layers/conv.js';
import { maxpool, maxpoolBackwardNaive, maxpoolForwardNaive, type MaxpoolCache } from '../../src/layers/maxpool.js';
import type { LayerImpl, LayerSpec, Params } from '../../src/layers/types.js';
import { gradCheck } from '../../src/gradcheck/gradcheck.js';
import { generateInputs, resolveShapes } from '../../src/layers/params.js';
import { XoshiroRng } from '../../src/tensor/rng.js';
import { zeros, type Tensor } from '../../src/tensor/tensor.js';

/** A conv backward through an explicitly padded dx, with a choice of crop offset. */
function convBackwardPadded(dout: Tensor, cache: unknown, cropOffset: (pad: number) => number) {
  const { x, w, geom } = cache as ConvCache;
  const { N, C, H, W, F, HH, WW, stride, pad, Hout, Wout } = geom;
  const Hp = H + 2 * pad;
  const Wp = W + 2 * pad;
  const dxpad = new Float64Array(N * C * Hp * Wp);
  for (let n = 0; n < N; n++)
    for (let f = 0; f < F; f++)
      for (let i = 0; i < Hout; i++)
        for (let j = 0; j < Wout; j++) {
          const g = dout.data[((n * F + f) * Hout + i) * Wout + j];
          for (let c = 0; c < C; c++)
            for (let di = 0; di < HH; di++)
              for (let dj = 0; dj < WW; dj++)
                dxpad[((n * C + c) * Hp + i * stride + di) * Wp + j * stride + dj] += g * w.data[((f * C + c) * HH + di) * WW + dj];
        }
  const dx = zeros(x.shape);
  const o = cropOffset(pad);
  for (let n = 0; n < N; n++)
    for (let c = 0; c < C; c++)
      for (let h = 0; h < H; h++) for (let ww = 0; ww < W; ww++) dx.data[((n * C + c) * H + h) * W + ww] = dxpad[((n * C + c) * Hp + h + o) * Wp + ww + o];
  const { dw, db } = convBackwardNaive(dout, cache as ConvCache);
  return { dx, dw, db };
}

const convBroken: Record<string, LayerImpl['backward']> = {
  'dx cropped without the pad offset': (dout, cache) => convBackwardPadded(dout, cache, () => 0),
  'db averaged instead of summed': (dout, cache) => {
    const g = convBackwardNaive(dout, cache as ConvCache);
    const { N, Hout, Wout } = (cache as ConvCache).geom;
    return { ...g, db: { data: g.db.data.map((v) => v / (N * Hout * Wout)), shape: g.db.shape } };
  },
  'dw missing the last output row': (dout, cache) => {
    const { geom } = cache as ConvCache;
    const cut = { data: dout.data.slice(), shape: dout.shape };
    for (let n = 0; n < geom.N; n++)
      for (let f = 0; f < geom.F; f++) for (let j = 0; j < geom.Wout; j++) cut.data[((n * geom.F + f) * geom.Hout + geom.Hout - 1) * geom.Wout + j] = 0;
    return { ...convBackwardNaive(dout, cache as ConvCache), dw: convBackwardNaive(cut, cache as ConvCache).dw };
  },
  'dw with the kernel flipped': (dout, cache) => {
    const g = convBackwardNaive(dout, cache as ConvCache);
    const [F, C, HH, WW] = g.dw.shape;
    const dw = zeros(g.dw.shape);
    for (let f = 0; f < F; f++)
      for (let c = 0; c < C; c++)
        for (let i = 0; i < HH; i++)
          for (let j = 0; j < WW; j++) dw.data[((f * C + c) * HH + i) * WW + j] = g.dw.data[((f * C + c) * HH + HH - 1 - i) * WW + WW - 1 - j];
    return { ...g, dw };
  },
  'dx with the wrong sign': (dout, cache) => {
    const g = convBackwardNaive(dout, cache as ConvCache);
    return { ...g, dx: { data: g.dx.data.map((v) => -v), shape: g.dx.shape } };
  },
};

interface PoolCache {
  xShape: number[];
  argmax: Int32Array;
}
const poolBroken: Record<string, LayerImpl['backward']> = {
  'gradient sent to the next element of the window': (dout, cache) => {
    const { xShape, argmax } = cache as PoolCache;
    const shifted = argmax.map((i) => (i % xShape[3] === xShape[3] - 1 ? i - 1 : i + 1));
    return maxpoolBackwardNaive(dout, { xShape, argmax: shifted });
  },
  'gradient sent to the window top-left corner': (dout, cache) => {
    const { xShape, argmax } = cache as PoolCache;
    const W = xShape[3];
    const corner = argmax.map((i, o) => {
      // recompute the window origin from the output index (2x2 stride 2, no padding)
      const Wout = Math.floor((W - 2) / 2) + 1;
      const Hout = Math.floor((xShape[2] - 2) / 2) + 1;
      const j = o % Wout;
      const r = Math.floor(o / Wout) % Hout;
      const plane = i - (i % (xShape[2] * W));
      return plane + 2 * r * W + 2 * j;
    });
    return maxpoolBackwardNaive(dout, { xShape, argmax: corner });
  },
  'gradient averaged over the window': (dout, cache) => {
    const g = maxpoolBackwardNaive(dout, cache as MaxpoolCache);
    return { dx: { data: g.dx.data.map((v) => v / 4), shape: g.dx.shape } };
  },
};

function checkBroken(spec: LayerSpec, forward: LayerImpl['forward'], backward: LayerImpl['backward'], params: Params, shapes = {}, seed = 3) {
  const rng = new XoshiroRng(seed);
  const inputs = generateInputs(spec, resolveShapes(spec, shapes, params), rng);
  return gradCheck(spec, { forward, backward }, inputs, params, { rng });
}

describe('broken conv backward passes fail', () => {
  for (const [name, backward] of Object.entries(convBroken)) {
    for (const params of [
      { stride: 1, pad: 1 },
      { stride: 2, pad: 1 },
      { stride: 2, pad: 2 },
    ]) {
      it(`${name} (stride ${params.stride}, pad ${params.pad})`, () => {
        const r = checkBroken(conv, convForwardNaive, backward, params);
        expect(r.pass).toBe(false);
        expect(Math.max(...r.gradients.map((g) => g.relError))).toBeGreaterThan(1e-3);
      });
    }
  }

  it('the same harness passes the correct backward (so failures above are the bugs)', () => {
    for (const params of [
      { stride: 1, pad: 1 },
      { stride: 2, pad: 1 },
      { stride: 2, pad: 2 },
    ]) {
      expect(checkBroken(conv, convForwardNaive, convBackwardNaive, params).pass).toBe(true);
      expect(checkBroken(conv, convForwardNaive, (d, c) => convBackwardPadded(d, c, (pad) => pad), params).pass).toBe(true);
    }
  });

  it('names the failing gradient and its worst element', () => {
    const r = checkBroken(conv, convForwardNaive, convBroken['db averaged instead of summed'], { stride: 1, pad: 1 });
    const byName = Object.fromEntries(r.gradients.map((g) => [g.name, g]));
    expect(byName.dx.pass).toBe(true);
    expect(byName.dw.pass).toBe(true);
    expect(byName.db.pass).toBe(false);
    expect(byName.db.worst.index).toHaveLength(1);
    // analytic = numeric / (N * Hout * Wout) = numeric / 100 at the default shapes
    expect(byName.db.worst.analytic * 100).toBeCloseTo(byName.db.worst.numeric, 8);
  });
});

describe('broken max-pool backward passes fail', () => {
  for (const [name, backward] of Object.entries(poolBroken)) {
    it(name, () => {
      const r = checkBroken(maxpool, maxpoolForwardNaive, backward, { pool_height: 2, pool_width: 2, stride: 2 });
      expect(r.pass).toBe(false);
    });
  }
});

describe('NaN and Inf never pass', () => {
  const params = { stride: 1, pad: 1 };
  it('in an input', () => {
    const rng = new XoshiroRng(1);
    const inputs = generateInputs(conv, resolveShapes(conv, {}, params), rng);
    inputs.w.data[5] = NaN;
    const r = gradCheck(conv, conv.impls.naive, inputs, params, { rng });
    expect(r.pass).toBe(false);
    expect(r.problems[0]).toMatch(/input w contains NaN at index \(0, 0, 1, 2\)/);
  });
  it('in the forward output', () => {
    const r = checkBroken(
      conv,
      (i, p) => {
        const res = convForwardNaive(i, p as ConvParams);
        res.out.data[3] = Infinity;
        return res;
      },
      convBackwardNaive,
      params,
    );
    expect(r.pass).toBe(false);
    expect(r.problems[0]).toMatch(/forward output contains Infinity/);
  });
  it('in an analytic gradient', () => {
    const r = checkBroken(
      conv,
      convForwardNaive,
      (d, c) => {
        const g = convBackwardNaive(d, c as ConvCache);
        g.dw.data[0] = NaN;
        return g;
      },
      params,
    );
    expect(r.pass).toBe(false);
    const dw = r.gradients.find((g) => g.name === 'dw')!;
    expect(dw.pass).toBe(false);
    expect(dw.relError).toBe(Infinity);
    expect(dw.message).toMatch(/analytic dw contains NaN at index \(0, 0, 0, 0\)/);
  });
  it('a missing or mis-shaped gradient fails with a message', () => {
    const r = checkBroken(
      conv,
      convForwardNaive,
      (d, c) => {
        const g = convBackwardNaive(d, c as ConvCache);
        return { dx: g.dx, dw: zeros([1, 2]) };
      },
      params,
    );
    expect(r.pass).toBe(false);
    expect(r.gradients.find((g) => g.name === 'dw')!.message).toMatch(/dw must have the shape of w \(2, 3, 3, 3\), got \(1, 2\)/);
    expect(r.gradients.find((g) => g.name === 'db')!.message).toMatch(/backward returned no db/);
  });
});
