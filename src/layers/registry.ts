/**
 * The layer registry: every layer the CLI, gradient checker, benchmarks, fixtures, suites and
 * tests know; they iterate over LAYERS and need no edit for a new layer. Adding a layer:
 *
 * 1. `src/layers/<name>.ts`: naive and fast forward/backward, ending in `defineLayer({...})`
 *    (inputs, params with domains, check, impls, tolerance derived from its numerics, and
 *    `memory`: the bytes its passes allocate, which test/memory/layers.test.ts holds to the
 *    arrays they really return);
 * 2. add it to LAYERS below;
 * 3. tests: `test/layers/<name>.test.ts` (known answers, naive against fast, broken backwards fail);
 * 4. outside src/, which test/layers/registry.test.ts checks against this list: its entry in the
 *    Python helper's table (`python/`), an independent numpy implementation in
 *    `fixtures/make_fixtures.py` and at least one committed good fixture it made.
 */
import { UsageError } from '../errors.js';
import type { LayerSpec } from './types.js';
import { conv } from './conv.js';
import { maxpool } from './maxpool.js';
import { relu } from './relu.js';
import { affine } from './affine.js';
import { batchnorm } from './batchnorm.js';
import { layernorm } from './layernorm.js';
import { spatialBatchnorm } from './spatial-batchnorm.js';
import { spatialGroupnorm } from './spatial-groupnorm.js';
import { convReluPool } from './conv-relu-pool.js';
import { dropout } from './dropout.js';
import { svmLoss } from './svm-loss.js';
import { softmaxLoss } from './softmax-loss.js';
import { clip } from '../text/escape.js';

/** All registered layers, in the order `cnn-check list` shows them. */
export const LAYERS: readonly LayerSpec[] = [
  conv,
  maxpool,
  relu,
  affine,
  batchnorm,
  layernorm,
  spatialBatchnorm,
  spatialGroupnorm,
  convReluPool,
  dropout,
  svmLoss,
  softmaxLoss,
];

/** `spatial-batchnorm` -> `spatial_batchnorm`. */
export function canonicalLayerName(name: string): string {
  return name.trim().toLowerCase().replace(/-/g, '_');
}

/** The CLI spelling of a layer name: `spatial_batchnorm` -> `spatial-batchnorm`. */
export function kebabName(name: string): string {
  return name.replace(/_/g, '-');
}

/** Look a layer up by snake_case or kebab-case name; throws UsageError naming the known ones. */
export function getLayer(name: string): LayerSpec {
  const key = canonicalLayerName(name);
  const spec = LAYERS.find((l) => l.name === key);
  if (!spec) {
    throw new UsageError(`unknown layer '${clip(name)}': expected one of ${LAYERS.map((l) => l.name).join(', ')}`);
  }
  return spec;
}
