/** cnn-check's library API: reference layers, gradient checks, fixtures and timing as plain data. */
export * from './errors.js';
export * from './tensor/tensor.js';
export { XoshiroRng, randn, type Rng } from './tensor/rng.js';
export { NumpyRng } from './tensor/numpy-rng.js';
export { linspace } from './tensor/init.js';
export { compareArrays, relErrorOf, REL_ERROR_FLOOR, type ArrayComparison } from './tensor/compare.js';
export type * from './layers/types.js';
export { defineImpl, defineLayer, implNames, REFERENCE_IMPL } from './layers/types.js';
export { LAYERS, getLayer, canonicalLayerName } from './layers/registry.js';
export { convGeometry, poolGeometry, windowOutputSize, MAX_STRIDE_PAD, type ConvGeometry, type PoolGeometry } from './layers/geometry.js';
export { resolveParams, validateParams, defaultParams, resolveShapes, generateInputs, parseShape, type ParamSource } from './layers/params.js';
export { describeDomain, parseValue, INT_LIMIT, type Domain } from './settings/domain.js';
export {
  SETTINGS,
  CHECK_MODES,
  DEFAULT_SEED,
  DEFAULT_H,
  DEFAULT_SAMPLES,
  DEFAULT_DIRECTIONS,
  AUTO_DIRECTIONS,
  DEFAULT_BUDGET_SECONDS,
  DEFAULT_IMPL_TIMEOUT_SECONDS,
  defaultSettings,
  parseSettings,
  settingList,
  type CheckMode,
  type CheckSettings,
  type SettingSpec,
  type RngName,
  type InitName,
} from './settings/schema.js';
export { gradCheck, type GradCheckResult, type GradientRow, type GradCheckOptions } from './gradcheck/gradcheck.js';
export {
  checkLayer,
  compareWithReference,
  type LayerCheckReport,
  type CheckLayerOptions,
  type CheckProgress,
  type ImplGradientRow,
  type TimingRow,
  type ReferenceComparison,
  type ReferenceComparisonResult,
} from './gradcheck/check-layer.js';
export { judgeArray, COMPARE_TOLERANCE, type ArrayReport } from './gradcheck/reference.js';
export type { Implementation, ImplKind, ImplModule, OpenOptions, FunctionSelection, DefinedFunctions } from './impls/types.js';
export { builtinImplementations } from './impls/builtin.js';
export { IMPL_KINDS, openModule, parseImplRef, ModuleSet } from './impls/registry.js';
export { loadUserImpl, UserImplError, USER_IMPL_NAME, type UserImpl, type UserImplOptions } from './impls/js-module/load.js';
export { loadPythonModule, PythonModule, pythonModuleKind, type PythonModuleOptions } from './impls/python/load.js';
export { CS231N, PY_PREFIX, definedPairs, selectPairs, type Cs231nConvention, type FunctionPair, type PyArg } from './impls/python/cs231n.js';
export { NamedJsModule, JS_PREFIX } from './impls/js-module/named.js';
export {
  gradeModule,
  discoverLayers,
  caseMode,
  type GradeReport,
  type GradeLayerReport,
  type GradeCaseReport,
  type GradeFunctionReport,
  type GradeTiming,
  type GradeOptions,
  type GradeProgress,
} from './grade/grade.js';
export { BATTERY, batteryOf, casesOf, type GradeCase, type LayerBattery, type Fill } from './grade/battery.js';
export { materialize, type MaterializedCase } from './grade/inputs.js';
export { runCase, type CaseRun, type CaseStatus } from './grade/run-case.js';
export { shrinkFailure, SHRINK_SECONDS, type ShrunkCase } from './grade/shrink.js';
export { judgeTies, type TieJudgement, type TieConvention } from './grade/ties.js';
export { PYTHON_MEMORY_LIMIT_MB } from './impls/python/protocol.js';
export { MODULE_MEMORY_LIMIT_MB } from './impls/js-module/protocol.js';
export { buildCheckRequest, runCheckRequest, type CheckRequest, type RawCase, type RequestMemory } from './request/request.js';
export { requireMemory, formatBytes, type MemoryEstimate, type MemoryPart, type MemoryLimit } from './memory/estimate.js';
export { availableMemory, defaultMaxMemory, memoryLimit, MAX_MEMORY_FRACTION } from './memory/limit.js';
export {
  estimateCheckMemory,
  estimateExportMemory,
  estimateCompareMemory,
  estimateBenchMemory,
  requireCheckMemory,
  describeCase,
  inSequence,
  type CheckMemoryRequest,
  type CheckMemoryOptions,
} from './memory/work.js';
export {
  AUTO_FULL_MAX_WORK,
  SWEEP_HS,
  planInput,
  autoIsFull,
  forwardWork,
  type RowMode,
  type DirectionalPart,
  type SweepCurve,
  type GradientProgress,
} from './gradcheck/modes.js';
export { diagnoseArrays, comparisonWording, type ComparisonContext, type NumpyHintKind } from './gradcheck/hints.js';
export {
  localize,
  type Localization,
  type Hint,
  type HintKind,
  type Heatmap,
  type ElementError,
  type ErrorStats,
  type GroupStats,
} from './gradcheck/localize.js';
export { float32Tolerance, FLOAT32_UNIT_ROUNDOFF, FLOAT32_SAFETY } from './gradcheck/precision.js';
export { stratifiedSample, axisLayout, type AxisLayout } from './gradcheck/strata.js';
export { NumericSide, roundingNoise, type NumericValue } from './gradcheck/numeric.js';
export { readNpy, readNpyMember, writeNpy, writeNpyString, readNpz, writeNpz, type NpyArray, type NpyMember } from './npy/index.js';
export { loadMembers, loadArray } from './fixtures/load.js';
export { parseFixture, type Fixture } from './fixtures/contract.js';
export { compareFixture, type FixtureReport } from './fixtures/compare.js';
export { exportFixture, referenceMembers } from './fixtures/export.js';
export { timePasses, summarize, collectGarbage, type TimingStats, type PassTimings } from './bench/timing.js';
export { parseSuite, readSuiteFile, resolveSuite, checkName, entryOf, SUITE_FIELDS, type SuiteEntry, type SuiteCheck } from './suite/schema.js';
export { defaultSuiteEntries } from './suite/default.js';
export { runSuite, runCheck, type SuiteReport, type SuiteCheckResult, type SuiteProgress, type WorstGradient } from './suite/run.js';
export type { ReportedCheck, RunReport } from './report/model.js';
export { FILE_FORMATS, STREAM_FORMATS, type FileFormat, type StreamFormat } from './report/formats.js';
export { renderJunit } from './report/junit.js';
export { failureAnnotations, workflowCommand, escapeData, escapeProperty } from './report/github.js';
export { renderHtmlReport } from './report/html.js';
export { runBench, defaultBenchCases, type BenchReport, type BenchResult, type BenchOptions, type BenchCaseSpec } from './bench/run.js';
export { compareToBaseline, readBenchReport, type BaselineComparison } from './bench/baseline.js';
export { setThreads, getThreads } from './kernels/parallel/pool.js';
export { gemm, gemmJs, setGemmBackend, gemmBackend } from './kernels/gemm.js';
