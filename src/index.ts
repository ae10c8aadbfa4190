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
export {
  checkLayer, compareWithReference, DEFAULT_SEED,
  type LayerCheckReport, type CheckLayerOptions, type CheckProgress, type ImplGradientRow, type TimingRow,
  type ExtraImpl, type ReferenceComparison, type ReferenceComparisonResult,
} from './gradcheck/check-layer.js';
export { loadUserImpl, UserImplError, USER_IMPL_NAME, DEFAULT_IMPL_TIMEOUT_SECONDS, type UserImpl, type UserImplOptions } from './user/load.js';
export {
  CHECK_MODES, DEFAULT_SAMPLES, DEFAULT_DIRECTIONS, AUTO_DIRECTIONS, DEFAULT_BUDGET_SECONDS, AUTO_FULL_MAX_WORK, SWEEP_HS,
  planInput, autoIsFull, forwardWork,
  type CheckMode, type RowMode, type DirectionalPart, type SweepCurve, type GradientProgress,
} from './gradcheck/modes.js';
export { localize, type Localization, type Hint, type HintKind, type Heatmap, type ElementError, type ErrorStats, type GroupStats } from './gradcheck/localize.js';
export { float32Tolerance, FLOAT32_UNIT_ROUNDOFF, FLOAT32_SAFETY } from './gradcheck/precision.js';
export { stratifiedSample, axisLayout, type AxisLayout } from './gradcheck/strata.js';
export { NumericSide, roundingNoise, type NumericValue } from './gradcheck/numeric.js';
export { readNpy, readNpyMember, writeNpy, writeNpyString, readNpz, writeNpz, type NpyArray, type NpyMember } from './npy/index.js';
export { loadMembers, loadArray } from './fixtures/load.js';
export { parseFixture, type Fixture } from './fixtures/contract.js';
export { compareFixture, COMPARE_TOLERANCE, type FixtureReport, type ArrayReport } from './fixtures/compare.js';
export { exportFixture, referenceMembers } from './fixtures/export.js';
export { timePasses, summarize, type TimingStats } from './bench/timing.js';
export { parseSuite, readSuiteFile, resolveSuite, checkName, entryOf, SUITE_FIELDS, type SuiteEntry, type SuiteCheck } from './suite/schema.js';
export { defaultSuiteEntries } from './suite/default.js';
export { runSuite, runCheck, type SuiteReport, type SuiteCheckResult, type SuiteProgress, type WorstGradient } from './suite/run.js';
export type { ReportedCheck } from './report/checks.js';
export { renderJunit } from './report/junit.js';
export { failureAnnotations, workflowCommand, escapeData, escapeProperty } from './report/github.js';
export { renderHtmlReport, type HtmlReport, type ReportSection } from './report/html.js';
export { runBench, defaultBenchCases, type BenchReport, type BenchResult, type BenchOptions, type BenchCaseSpec } from './bench/run.js';
export { compareToBaseline, readBenchReport, type BaselineComparison } from './bench/baseline.js';
export { setThreads, getThreads } from './parallel/pool.js';
export { gemm, gemmJs, setGemmBackend, gemmBackend } from './layers/gemm.js';
