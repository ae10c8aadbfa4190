/** cnn-check's library API: reference layers, gradient checks, fixtures and timing as plain data. */
export * from './errors.js';
export * from './tensor/tensor.js';
export { XoshiroRng, randn, type Rng } from './tensor/rng.js';
export { NumpyRng } from './tensor/numpy-rng.js';
export { linspace } from './tensor/init.js';
export { compareArrays, relErrorOf, REL_ERROR_FLOOR, type ArrayComparison } from './tensor/compare.js';
export type * from './layers/types.js';
export { LAYERS, getLayer, canonicalLayerName } from './layers/registry.js';
export { convGeometry, poolGeometry, windowOutputSize, type ConvGeometry, type PoolGeometry } from './layers/geometry.js';
export { resolveParams, resolveShapes, generateInputs, parseShape } from './layers/params.js';
export { gradCheck, DEFAULT_H, type GradCheckResult, type GradientRow, type GradCheckOptions } from './gradcheck/gradcheck.js';
export { checkLayer, DEFAULT_SEED, type LayerCheckReport, type CheckLayerOptions } from './gradcheck/check-layer.js';
export { readNpy, readNpyMember, writeNpy, writeNpyString, readNpz, writeNpz, type NpyArray, type NpyMember } from './npy/index.js';
export { loadMembers, loadArray } from './fixtures/load.js';
export { parseFixture, type Fixture } from './fixtures/contract.js';
export { compareFixture, COMPARE_TOLERANCE, type FixtureReport, type ArrayReport } from './fixtures/compare.js';
export { exportFixture, referenceMembers } from './fixtures/export.js';
export { timePasses, summarize, type TimingStats } from './bench/timing.js';
