/**
 * A shrunk failure as a fixture (`--fixtures DIR`): a `.npz` of the fixture contract
 * (fixtures/contract.ts) that `cnn_check.load_fixture` reads in the notebook and `cnn-check
 * compare` judges again: `meta` (the layer, its params, and under `grade` the case, the function
 * and what the results are), the inputs, `dout`, and what your functions returned for it (`out`,
 * the gradients, `running_*_after`). When your call raised, there is nothing of yours to store:
 * the results are the reference's, and `meta.grade.results` says `reference`. Written atomically
 * and never over an existing file unless `force` (fs/write.ts).
 */
import { join } from 'node:path';
import { FileError } from '../errors.js';
import { writeFileAtomic } from '../fs/write.js';
import type { LayerSpec } from '../layers/types.js';
import { writeNpz } from '../npy/npz.js';
import { resultNames } from '../fixtures/contract.js';
import { inDType, type Tensor } from '../tensor/tensor.js';
import type { ShrunkCase } from './shrink.js';

/** The file name of a case's fixture: `conv.py-naive.pad-0.npz` (letters, digits, `.`, `-`, `_` only). */
export function fixtureName(layer: string, impl: string, caseName: string): string {
  const clean = (s: string) => s.replace(/[^A-Za-z0-9_]+/g, '-').replace(/^-+|-+$/g, '');
  return `${clean(layer)}.${clean(impl)}.${clean(caseName)}.npz`;
}

/**
 * Write `shrunk` as a fixture in `dir`; returns the path. Throws FileError when the name exists
 * and `force` is not set, or the file cannot be written.
 */
export function writeShrunkFixture(
  dir: string,
  spec: LayerSpec,
  shrunk: ShrunkCase,
  where: { impl: string; functions: string; caseName: string },
  force: boolean,
): string {
  const mc = shrunk.materialized;
  const run = shrunk.run;
  if (!mc || !run) throw new Error('writeShrunkFixture: the shrunk case was not kept');
  const path = join(dir, fixtureName(spec.name, where.impl, where.caseName));
  const results = new Set(resultNames(spec));
  const mine = [...run.yours].filter(([k]) => results.has(k));
  const fromYours = mine.length > 0;
  const members: Record<string, Tensor | string> = {};
  members.meta = JSON.stringify({
    layer: spec.name,
    params: shrunk.params,
    grade: {
      case: where.caseName,
      function: where.impl,
      functions: where.functions,
      results: fromYours ? 'yours' : 'reference',
      message: shrunk.message,
      ...(shrunk.hint ? { hint: shrunk.hint } : {}),
    },
  });
  for (const input of spec.inputs) members[input.name] = inDType(run.used[input.name], mc.dtype);
  members.dout = inDType(mc.dout, mc.dtype);
  for (const [k, t] of fromYours ? mine : [...run.reference].filter(([k]) => results.has(k))) members[k] = t;
  try {
    writeFileAtomic(path, writeNpz(members), { replace: force, flag: '--fixtures' });
  } catch (err) {
    if (err instanceof FileError) throw err;
    throw new FileError(`--fixtures ${path}: ${(err as Error).message}`);
  }
  return path;
}
