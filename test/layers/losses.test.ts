/**
 * svm_loss and softmax_loss: hand-worked answers, fast equals naive, numpy's labels, labels that
 * are not class indices refused at the boundary, the gradient check passes the layers and fails
 * backwards that forget a term.
 */
import { describe, expect, it } from 'vitest';
import { svmLoss, svmLossForwardFast, svmLossForwardNaive, lossBackward } from '../../src/layers/svm-loss.js';
import { softmaxLoss, softmaxLossForwardFast, softmaxLossForwardNaive } from '../../src/layers/softmax-loss.js';
import { checkLayer } from '../../src/gradcheck/check-layer.js';
import type { LayerSpec } from '../../src/layers/types.js';
import { XoshiroRng, randn } from '../../src/tensor/rng.js';
import { ShapeError } from '../../src/errors.js';
import { run } from '../helpers/io.js';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { readNpz } from '../../src/npy/npz.js';

const t = (data: number[], shape: number[]) => ({ data: Float64Array.from(data), shape });

describe('svm_loss', () => {
  it('a hand example: x = [[1,2,3],[3,2,1]], y = [0,0]', () => {
    const r = svmLossForwardNaive({ x: t([1, 2, 3, 3, 2, 1], [2, 3]), y: t([0, 0], [2]) }, {});
    // Row 0: margins 2 and 3 (sum 5); row 1: 0 and -1 (none). Loss 5 / 2.
    expect(r.out.shape).toEqual([]);
    expect(r.out.data[0]).toBe(2.5);
    expect(Array.from(lossBackward(t([2], []), r.cache).dx.data)).toEqual([-2, 1, 1, 0, 0, 0]);
    expect(Array.from(r.switches!)).toEqual([0, 1, 1, 0, 0, 0]);
  });

  it('fast equals naive', () => {
    const x = randn(new XoshiroRng(5), [20, 7]);
    const y = t(
      Array.from({ length: 20 }, (_, i) => (i * 3) % 7),
      [20],
    );
    const a = svmLossForwardNaive({ x, y }, {});
    const b = svmLossForwardFast({ x, y }, {});
    expect(b.out.data[0]).toBeCloseTo(a.out.data[0], 12);
    const d = t([0.7], []);
    const da = lossBackward(d, a.cache).dx.data;
    const db = lossBackward(d, b.cache).dx.data;
    for (let i = 0; i < da.length; i++) expect(db[i]).toBeCloseTo(da[i], 14);
  });
});

describe('softmax_loss', () => {
  it('a hand example: equal scores give log C, dx = (1/C - onehot) / N', () => {
    const r = softmaxLossForwardNaive({ x: t([0, 0, 5, 5], [2, 2]), y: t([0, 1], [2]) }, {});
    expect(r.out.data[0]).toBeCloseTo(Math.log(2), 15);
    expect(Array.from(lossBackward(t([1], []), r.cache).dx.data)).toEqual([-0.25, 0.25, 0.25, -0.25]);
  });

  it('large scores do not overflow; fast equals naive', () => {
    const x = t([1000, 0, -1000, 999], [2, 2]);
    const y = t([1, 0], [2]);
    const a = softmaxLossForwardNaive({ x, y }, {});
    expect(Number.isFinite(a.out.data[0])).toBe(true);
    expect(a.out.data[0]).toBeCloseTo((1000 + 1999) / 2, 9);
    const b = softmaxLossForwardFast({ x, y }, {});
    expect(b.out.data[0]).toBeCloseTo(a.out.data[0], 9);
  });
});

describe('both losses', () => {
  for (const spec of [svmLoss, softmaxLoss]) {
    it(`${spec.name}: passes the gradient check (default and the notebook's 50 x 10 with numpy draws)`, () => {
      expect(checkLayer(spec, { params: {}, repeat: 0 }).pass).toBe(true);
      expect(checkLayer(spec, { params: {}, shapes: { x: [50, 10] }, repeat: 0, dtype: 'float32' }).pass).toBe(true);
    });

    it(`${spec.name}: a backward without the 1/N fails`, () => {
      const broken: LayerSpec = {
        ...spec,
        impls: {
          naive: {
            forward: spec.impls.naive.forward,
            backward: (dout, cache) => ({
              dx: { ...lossBackward(dout, cache as never).dx, data: lossBackward(dout, cache as never).dx.data.map((v) => v * 10) },
            }),
          },
        },
      };
      const r = checkLayer(broken, { params: {}, repeat: 0 });
      expect(r.pass).toBe(false);
      expect(r.gradients[0].localization?.hint?.kind).toBe('factor');
    });

    it(`${spec.name}: labels out of range or not integers are refused at the boundary`, () => {
      const x = randn(new XoshiroRng(1), [3, 4]);
      expect(() => checkLayer(spec, { params: {}, inputs: { x, y: t([0, 4, 1], [3]) }, repeat: 0 })).toThrow(ShapeError);
      expect(() => checkLayer(spec, { params: {}, inputs: { x, y: t([0, 1.5, 1], [3]) }, repeat: 0 })).toThrow(
        `${spec.name}: y must hold integer class indices in [0, 4), got 1.5 at (1)`,
      );
    });
  }

  it("with --rng numpy, x and y are the notebook's draws: np.random.seed(231); randn(50, 10); randint(10, size=50)", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cnn-check-losses-'));
    const out = join(dir, 'svm.npz');
    const r = await run(['export', 'svm-loss', '--x-shape', '50,10', '--rng', 'numpy', '--seed', '231', '--out', out]);
    expect(r.code, r.stderr).toBe(0);
    const members = readNpz(new Uint8Array(readFileSync(out)));
    const code =
      'import numpy as np, json; np.random.seed(231); x = np.random.randn(50, 10); print(json.dumps({"x": x.ravel().tolist(), "y": np.random.randint(10, size=50).tolist()}))';
    const py = spawnSync('python3', ['-c', code], { encoding: 'utf8' });
    const want = JSON.parse(py.stdout) as { x: number[]; y: number[] };
    const got = (name: string) => Array.from((members.get(name) as { data: Float64Array }).data);
    expect(got('x')).toEqual(want.x);
    expect(got('y')).toEqual(want.y);
    rmSync(dir, { recursive: true, force: true });
  });
});
