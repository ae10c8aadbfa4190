import { describe, expect, it } from 'vitest';
import { convReluPool } from '../../src/layers/conv-relu-pool.js';
import { conv } from '../../src/layers/conv.js';
import { relu } from '../../src/layers/relu.js';
import { maxpool } from '../../src/layers/maxpool.js';
import { checkLayer } from '../../src/gradcheck/check-layer.js';
import { gradCheck } from '../../src/gradcheck/gradcheck.js';
import { validateParams } from '../../src/layers/params.js';
import type { LayerImpl, Params } from '../../src/layers/types.js';
import { XoshiroRng, randn } from '../../src/tensor/rng.js';
import { clone, type Tensor } from '../../src/tensor/tensor.js';
import { ParamError, ShapeError } from '../../src/errors.js';
import { t as T } from '../helpers/tensors.js';

const paramsOf = (over: Record<string, unknown> = {}): Params => validateParams(convReluPool, over);
const H = 1e-5;

const CASES: { name: string; x: number[]; w: number[]; params: Record<string, unknown> }[] = [
  { name: 'defaults x (2,3,16,16), w (3,3,3,3)', x: [2, 3, 16, 16], w: [3, 3, 3, 3], params: {} },
  { name: 'conv stride 2 pad 0, overlapping 2x2 pool stride 1', x: [2, 3, 9, 9], w: [4, 3, 3, 3], params: { stride: 2, pad: 0, pool_stride: 1 } },
  { name: 'odd sizes, 3x2 pool stride 2, 3x2 kernel', x: [1, 2, 7, 5], w: [2, 2, 3, 2], params: { pool_height: 3, pool_width: 2 } },
  { name: '1x1 pool (no pooling)', x: [2, 2, 5, 5], w: [3, 2, 3, 3], params: { pool_height: 1, pool_width: 1, pool_stride: 1 } },
];

describe('conv_relu_pool gradient check', () => {
  for (const c of CASES) {
    // hundreds of forward passes per gradient: give a loaded machine time
    it(`${c.name}: naive and fast pass`, { timeout: 60_000 }, () => {
      const report = checkLayer(convReluPool, { params: paramsOf(c.params), shapes: { x: c.x, w: c.w }, repeat: 0 });
      expect(report.gradients.map((g) => `${g.impl}.${g.name}`)).toEqual(['naive.dx', 'naive.dw', 'naive.db', 'fast.dx', 'fast.dw', 'fast.db']);
      for (const g of report.gradients) expect(g.relError, `${g.impl}.${g.name}`).toBeLessThan(convReluPool.tolerance.grad);
      expect(report.pass).toBe(true);
    });
  }
});

/** maxpool(relu(conv(x))) written out directly, independent of the stage implementations. */
function direct(x: Tensor, w: Tensor, b: Tensor, p: Params): Tensor {
  const [N, C, Hx, Wx] = x.shape;
  const [F, , HH, WW] = w.shape;
  const { stride, pad, pool_height: ph, pool_width: pw, pool_stride: ps } = p as Record<string, number>;
  const Ho = Math.floor((Hx + 2 * pad - HH) / stride) + 1;
  const Wo = Math.floor((Wx + 2 * pad - WW) / stride) + 1;
  const Hp = Math.floor((Ho - ph) / ps) + 1;
  const Wp = Math.floor((Wo - pw) / ps) + 1;
  const act = (n: number, f: number, i: number, j: number): number => {
    let s = b.data[f];
    for (let c = 0; c < C; c++) {
      for (let di = 0; di < HH; di++) {
        for (let dj = 0; dj < WW; dj++) {
          const r = i * stride + di - pad;
          const q = j * stride + dj - pad;
          if (r >= 0 && r < Hx && q >= 0 && q < Wx) s += x.data[((n * C + c) * Hx + r) * Wx + q] * w.data[((f * C + c) * HH + di) * WW + dj];
        }
      }
    }
    return Math.max(0, s);
  };
  const out = new Float64Array(N * F * Hp * Wp);
  for (let n = 0; n < N; n++) {
    for (let f = 0; f < F; f++) {
      for (let i = 0; i < Hp; i++) {
        for (let j = 0; j < Wp; j++) {
          let m = -Infinity;
          for (let a = 0; a < ph; a++) for (let bb = 0; bb < pw; bb++) m = Math.max(m, act(n, f, i * ps + a, j * ps + bb));
          out[((n * F + f) * Hp + i) * Wp + j] = m;
        }
      }
    }
  }
  return { data: out, shape: [N, F, Hp, Wp] };
}

describe('conv_relu_pool known answers', () => {
  it('a hand example: 1x1 conv, relu, one 2x2 window', () => {
    // conv: 2*x - 1 = [[1, -5], [5, 7]]; relu: [[1, 0], [5, 7]]; max 7 at (1, 1)
    const inputs = { x: T([1, -2, 3, 4], [1, 1, 2, 2]), w: T([2], [1, 1, 1, 1]), b: T([-1], [1]) };
    const params = paramsOf({ stride: 1, pad: 0 });
    for (const impl of [convReluPool.impls.naive, convReluPool.impls.fast!]) {
      const res = impl.forward(inputs, params);
      expect(res.out.shape).toEqual([1, 1, 1, 1]);
      expect(Array.from(res.out.data)).toEqual([7]);
      // relu mask [1, 0, 1, 1], then max-pool's winner: flat index 3 of the conv output
      expect(Array.from(res.switches!)).toEqual([1, 0, 1, 1, 3]);
      const g = impl.backward(T([1], [1, 1, 1, 1]), res.cache);
      expect(Array.from(g.dx.data)).toEqual([0, 0, 0, 2]);
      expect(Array.from(g.dw.data)).toEqual([4]);
      expect(Array.from(g.db.data)).toEqual([1]);
    }
  });

  for (const c of CASES.slice(1)) {
    it(`forward equals the direct definition: ${c.name}`, () => {
      const rng = new XoshiroRng(12);
      const inputs = { x: randn(rng, c.x), w: randn(rng, c.w), b: randn(rng, [c.w[0]]) };
      const params = paramsOf(c.params);
      const expected = direct(inputs.x, inputs.w, inputs.b, params);
      for (const impl of [convReluPool.impls.naive, convReluPool.impls.fast!]) {
        const res = impl.forward(inputs, params);
        expect(res.out.shape).toEqual(expected.shape);
        res.out.data.forEach((v, i) => {
          expect(v).toBeCloseTo(expected.data[i], 12);
        });
      }
    });
  }

  it("switches are relu's mask followed by max-pool's argmax; inputs untouched; fast equals naive", () => {
    const rng = new XoshiroRng(13);
    const inputs = { x: randn(rng, [2, 3, 8, 8]), w: randn(rng, [4, 3, 3, 3]), b: randn(rng, [4]) };
    const before = Object.fromEntries(Object.entries(inputs).map(([k, t]) => [k, clone(t)]));
    const params = paramsOf();
    const c = conv.impls.naive.forward(inputs, { stride: 1, pad: 1 });
    const r = relu.impls.naive.forward({ x: c.out }, {});
    const p = maxpool.impls.naive.forward({ x: r.out }, { pool_height: 2, pool_width: 2, stride: 2 });
    const n = convReluPool.impls.naive.forward(inputs, params);
    const f = convReluPool.impls.fast!.forward(inputs, params);
    expect(Array.from(n.switches!)).toEqual([...r.switches!, ...p.switches!]);
    expect(n.switches!.length).toBe(2 * 4 * 8 * 8 + 2 * 4 * 4 * 4);
    // fast stages may sum in another order (a GEMM conv): values agree to rounding, and with
    // random inputs no conv output lies within rounding of 0 or of a window's runner-up, so the
    // switches (which the kink detection relies on) agree exactly
    expect(Array.from(f.switches!)).toEqual(Array.from(n.switches!));
    f.out.data.forEach((v, i) => {
      expect(v).toBeCloseTo(n.out.data[i], 12);
    });
    const dout = randn(rng, n.out.shape);
    const gn = convReluPool.impls.naive.backward(dout, n.cache);
    const gf = convReluPool.impls.fast!.backward(dout, f.cache);
    for (const k of ['dx', 'dw', 'db'])
      gf[k].data.forEach((v, i) => {
        expect(v).toBeCloseTo(gn[k].data[i], 12);
      });
    for (const k of Object.keys(inputs)) expect(inputs[k as keyof typeof inputs].data).toEqual(before[k].data);
  });
});

describe('conv_relu_pool composes the registered stages at call time', () => {
  it("fast uses a stage's fast impl as soon as the spec has one; naive never does", () => {
    const saved = conv.impls.fast;
    let calls = 0;
    const spy: LayerImpl = {
      forward: (i, p) => {
        calls++;
        return conv.impls.naive.forward(i, p);
      },
      backward: (d, c) => {
        calls++;
        return conv.impls.naive.backward(d, c);
      },
    };
    try {
      conv.impls.fast = spy;
      const rng = new XoshiroRng(2);
      const inputs = { x: randn(rng, [1, 2, 6, 6]), w: randn(rng, [2, 2, 3, 3]), b: randn(rng, [2]) };
      const res = convReluPool.impls.fast!.forward(inputs, paramsOf());
      convReluPool.impls.fast!.backward(randn(rng, res.out.shape), res.cache);
      expect(calls).toBe(2);
      const resN = convReluPool.impls.naive.forward(inputs, paramsOf());
      convReluPool.impls.naive.backward(randn(rng, resN.out.shape), resN.cache);
      expect(calls).toBe(2);
    } finally {
      conv.impls.fast = saved;
    }
  });
});

describe('max-pool ties are kinks', () => {
  // One 2x2 window with an exact tie (3 at flat 1 and 2), three windows with clear winners.
  const x = T([1, 3, 0.1, 0.2, 3, 0.5, 0.3, 2, 4, 0.6, 0.7, 0.8, 0.9, 1.1, 5, 1.2], [1, 1, 4, 4]);

  it('maxpool: perturbing either tied element by +-h changes the winner: 2 kinks, excluded by default', () => {
    const params = { pool_height: 2, pool_width: 2, stride: 2 };
    const res = gradCheck(maxpool, maxpool.impls.naive, { x }, params, { rng: new XoshiroRng(1), h: H });
    const [row] = res.gradients;
    expect(row.kinks).toBe(2);
    expect(row.checked).toBe(14);
    expect(res.pass).toBe(true);
    const strict = gradCheck(maxpool, maxpool.impls.naive, { x }, params, { rng: new XoshiroRng(1), h: H, strictKinks: true });
    expect(strict.gradients[0].kinks).toBe(2);
    expect(strict.gradients[0].checked).toBe(16);
    // the tie's centred difference splits dout in half: analytic (dout, 0) vs numeric (dout/2, dout/2)
    expect(strict.gradients[0].relError).toBeCloseTo(1, 6);
    expect(strict.pass).toBe(false);
  });

  it('conv_relu_pool with an identity 1x1 conv: the tie shows as 2 kinks on dx, none on dw and db', () => {
    const inputs = { x, w: T([1], [1, 1, 1, 1]), b: T([0], [1]) };
    const params = paramsOf({ stride: 1, pad: 0 });
    for (const impl of [convReluPool.impls.naive, convReluPool.impls.fast!]) {
      const res = gradCheck(convReluPool, impl, inputs, params, { rng: new XoshiroRng(1), h: H });
      const kinks = Object.fromEntries(res.gradients.map((g) => [g.name, g.kinks]));
      expect(kinks).toEqual({ dx: 2, dw: 0, db: 0 });
      expect(res.pass).toBe(true);
      const strict = gradCheck(convReluPool, impl, inputs, params, { rng: new XoshiroRng(1), h: H, strictKinks: true });
      expect(strict.gradients.find((g) => g.name === 'dx')!.pass).toBe(false);
      expect(strict.pass).toBe(false);
    }
  });

  it('a broken stage still FAILS with the tie present', () => {
    // backward routes pooled gradients past relu's mask
    const broken: LayerImpl = {
      forward: convReluPool.impls.naive.forward,
      backward(dout, cache) {
        const good = convReluPool.impls.naive.backward(dout, cache);
        return { ...good, dx: { data: good.dx.data.map((v) => v * 2), shape: good.dx.shape } };
      },
    };
    const inputs = { x, w: T([1], [1, 1, 1, 1]), b: T([0], [1]) };
    const res = gradCheck(convReluPool, broken, inputs, paramsOf({ stride: 1, pad: 0 }), { rng: new XoshiroRng(1), h: H });
    const dx = res.gradients.find((g) => g.name === 'dx')!;
    expect(dx.kinks).toBe(2);
    expect(dx.pass).toBe(false);
  });
});

describe('conv_relu_pool check()', () => {
  const cases: [string, Record<string, number[]>, Params, typeof ShapeError | typeof ParamError, string][] = [
    [
      'a pool window larger than the conv output',
      { x: [1, 3, 4, 4], w: [2, 3, 3, 3] },
      { pad: 0, pool_width: 3 },
      ShapeError,
      'conv_relu_pool: pool window must fit the conv output 2x2, got 2x3',
    ],
    ['w channels not matching x', { x: [2, 3, 8, 8], w: [2, 4, 3, 3] }, {}, ShapeError, 'conv: w channels must equal x channels (3)'],
    ['b of the wrong length', { b: [2] }, {}, ShapeError, 'conv_relu_pool: b must have shape (3,), got (2,)'],
    ['pool_stride 0', {}, { pool_stride: 0 }, ParamError, 'conv_relu_pool: pool_stride: expected an integer >= 1, got 0'],
  ];
  for (const [name, shapes, over, type, message] of cases) {
    it(`refuses ${name}`, () => {
      const params = { ...paramsOf(), ...over };
      const run = () => checkLayer(convReluPool, { params, shapes, repeat: 0 });
      expect(run).toThrow(type);
      expect(run).toThrow(message);
    });
  }
});
