/**
 * `cnn-check grade`: a whole module of cs231n layer functions (a numpy layers.py, or a JS/TS
 * module with the same names) graded against the battery (battery.ts). The module is opened
 * once (one Python process for the run); every layer it defines is found by the functions'
 * names (impls/python/cs231n.ts), and every pair it defines runs every case of its layer
 * (run-case.ts): the comparison with the reference, the gradient check of its own forward and
 * backward. A failing case is shrunk to the smallest case that fails the same way (shrink.ts),
 * written as a fixture when asked (fixture.ts), and every pair is timed at a mid shape beside
 * the reference's naive and fast forms. Returns plain data (GradeReport, also the `--json`
 * document); never prints.
 */
import { FormatError, UsageError } from '../errors.js';
import type { Implementation, ImplModule, DefinedFunctions } from '../impls/types.js';
import { CS231N, knownAmong } from '../impls/python/cs231n.js';
import { generateInputs, resolveShapes, validateParams } from '../layers/params.js';
import { getLayer, LAYERS } from '../layers/registry.js';
import type { LayerImpl, LayerSpec, Params, Shapes } from '../layers/types.js';
import { summarize, timePasses, type PassTimings } from '../bench/timing.js';
import { XoshiroRng, randn } from '../tensor/rng.js';
import type { DType } from '../tensor/tensor.js';
import { batteryOf, casesOf, FULL_CALLS, type GradeCase, type TimingCase } from './battery.js';
import { materialize, recipeText } from './inputs.js';
import { isTestMode, runCase, UNSHRINKABLE, type CaseStatus } from './run-case.js';
import { SHRINK_SECONDS, shrinkFailure, type ShrunkCase } from './shrink.js';
import { writeShrunkFixture } from './fixture.js';

/** Seconds of timing runs per function (and as much for the reference's naive and fast). */
export const TIMING_SECONDS = 1.5;
/** Timed runs per function at most. */
export const TIMING_RUNS = 3;
/** Seconds of shrinking per run at most (past it, failures are reported unshrunk). */
export const SHRINK_TOTAL_SECONDS = 30;
/** Seconds of localization probes per case. */
const CASE_BUDGET_SECONDS = 1;

/** One case of one function, as reported. */
export interface GradeCaseReport {
  /** The implementation (a forward/backward pair): `py:naive`, `py`, `js:alt`. */
  function: string;
  name: string;
  about: string;
  notebook?: string;
  params: Params;
  /** Every input's shape. */
  shapes: Shapes;
  seed: number;
  dtype: DType;
  /** How the arrays were made: `seed 231: x randn, w randn, b randn, dout randn`. */
  inputs: string;
  /** The gradient check's mode: `full`, `sampled`; `forward only` (batchnorm test mode), `none` (not run). */
  mode: string;
  status: CaseStatus;
  /** True for pass and warn. */
  pass: boolean;
  message: string;
  hint: string | null;
  hintKind?: string;
  info: string[];
  warnings: string[];
  /** Max-pool tie cases: how the backward splits dout at tied maxima. */
  convention?: string;
  seconds: number;
  /** The smallest failing case, for a failure (or the case with the same failure it was shrunk in). */
  shrunk?: Omit<ShrunkCase, 'materialized' | 'run'> | { sameAs: string };
}

/** Median forward and backward milliseconds (backward NaN for a loss, which is one function). */
export interface TimingRow {
  forwardMs: number;
  backwardMs: number;
  runs: number;
}

/** A function's timing at its layer's mid shape, beside the reference's. */
export interface GradeTiming {
  shapes: Shapes;
  params: Params;
  yours?: TimingRow;
  naive: TimingRow;
  fast?: TimingRow;
  /** Why yours is missing, or how it was measured. */
  note?: string;
}

/** A forward/backward pair the module defines for a layer. */
export interface GradeFunctionReport {
  name: string;
  forward: string | null;
  backward: string | null;
  source?: string;
  pass: boolean;
  timing?: GradeTiming;
}

export interface GradeLayerReport {
  layer: string;
  /** The module's functions graded for the layer: `conv_forward_naive`, `conv_backward_naive`. */
  functions: string[];
  implementations: GradeFunctionReport[];
  pass: boolean;
  /** `conv: 11/12 cases — fails at pad=0: dx has shape (4, 3, 0, 0), expected (4, 3, 5, 5)`. */
  summary: string;
  cases: GradeCaseReport[];
}

/** The report of `cnn-check grade` (also its `--json` document). */
export interface GradeReport {
  pass: boolean;
  /** The module as given. */
  module: string;
  /** `python` or `js`. */
  kind: string;
  quick: boolean;
  seconds: number;
  /** The bound on each failure's shrinking, seconds. */
  shrinkSeconds: number;
  counts: { cases: number; passed: number; failed: number; errors: number; warnings: number };
  layers: GradeLayerReport[];
  notes: string[];
}

/** Where grading is. */
export interface GradeProgress {
  layer: string;
  impl: string;
  caseName: string;
  /** 1-based index of the case among all the run's, and their count. */
  index: number;
  total: number;
}

export interface GradeOptions {
  /** Layers to grade (any spelling `getLayer` takes); default every layer the module defines. */
  layers?: string[];
  /** The notebook cases and one edge case per layer; no timing. */
  quick?: boolean;
  /** Write each shrunk failure as a fixture in `dir`. */
  fixtures?: { dir: string; force: boolean };
  /** Seconds per failure's shrinking (default SHRINK_SECONDS). */
  shrinkSeconds?: number;
  /** Time each function (default: unless quick). */
  timing?: boolean;
  /** How reports name the module (default its path). */
  label?: string;
  onProgress?: (p: GradeProgress) => void;
}

/** The layers to grade and the pairs the module defines for each (registry order). */
export function discoverLayers(mod: ImplModule, label: string, wanted?: string[]): { spec: LayerSpec; defined: DefinedFunctions[] }[] {
  const defined = mod.listFunctions?.() ?? (mod.layers?.() ?? []).map((layer) => ({ layer, name: 'user', forward: 'forward', backward: 'backward' }));
  const functions = (mod as { functions?: string[] }).functions;
  if (!defined.length) {
    if (!functions) {
      // A JS module of forward and backward that does not say its layer.
      throw new FormatError(
        `${label}: the module exports forward and backward without saying their layer: add export const layer = 'conv' (or name its functions as cs231n does, conv_forward_naive ...)`,
      );
    }
    const seen = functions.length
      ? `the module defines ${functions.slice(0, 20).join(', ')}${functions.length > 20 ? ', ...' : ''}`
      : 'the module defines no functions';
    throw new FormatError(`${label}: expected cs231n layer functions such as conv_forward_naive and conv_backward_naive, relu_forward, svm_loss; ${seen}`);
  }
  const byLayer = new Map<string, DefinedFunctions[]>();
  for (const d of defined) byLayer.set(d.layer, [...(byLayer.get(d.layer) ?? []), d]);
  let specs = LAYERS.filter((l) => byLayer.has(l.name));
  if (wanted?.length) {
    const asked = wanted.map((w) => getLayer(w));
    for (const s of asked) {
      if (!byLayer.has(s.name)) {
        const first = CS231N[s.name]?.pairs[0];
        const names = first ? ` (${first.forward === first.backward ? first.forward : `${first.forward} and ${first.backward}`})` : '';
        throw new UsageError(`--layers ${s.name}: the module defines no ${s.name} functions${names}; it defines ${[...byLayer.keys()].join(', ')}`);
      }
    }
    specs = specs.filter((l) => asked.some((a) => a.name === l.name));
  }
  return specs.map((spec) => ({ spec, defined: byLayer.get(spec.name)! }));
}

/** The gradient check's mode of a case: its own, else full while two forward calls per element stay under FULL_CALLS. */
export function caseMode(spec: LayerSpec, c: GradeCase, shapes: Shapes): 'full' | 'sampled' {
  if (c.mode) return c.mode;
  let elements = 0;
  for (const input of spec.inputs) if (input.grad) elements += shapes[input.name].reduce((a, b) => a * b, 1);
  return 2 * elements <= FULL_CALLS ? 'full' : 'sampled';
}

/** The message of a pair the module defines half of. */
function incompleteMessage(spec: LayerSpec, d: DefinedFunctions): string {
  const conv = CS231N[spec.name];
  const grads = conv ? (conv.grads.length === 1 ? conv.grads[0] : `(${conv.grads.join(', ')})`) : 'the gradients';
  const pair = conv?.pairs.find((p) => p.forward === d.forward || p.backward === d.backward);
  if (d.forward && !d.backward) return `${d.forward} has no backward: expected ${pair?.backward ?? 'its backward'}(dout, cache) returning ${grads}`;
  return `${d.backward} has no forward: expected ${pair?.forward ?? 'its forward'}, whose cache ${d.backward} takes`;
}

/** A function's timing at the layer's mid shape, beside the reference's naive and fast (see TIMING_SECONDS). */
function timeFunction(spec: LayerSpec, im: Implementation, t: TimingCase): GradeTiming {
  const params = validateParams(spec, t.params ?? {});
  const shapes = resolveShapes(spec, t.shapes, params);
  const rng = new XoshiroRng(0);
  const inputs = generateInputs(spec, shapes, rng);
  const dout = randn(rng, spec.impls.naive.forward(inputs, params).out.shape);
  const measure = (impl: LayerImpl, lastCallMs?: () => number): TimingRow => {
    const t0 = performance.now();
    const first = { forward: 0, backward: 0 };
    const f0 = performance.now();
    const fwd = impl.forward(inputs, params);
    first.forward = lastCallMs?.() ?? performance.now() - f0;
    const b0 = performance.now();
    impl.backward(dout, fwd.cache);
    first.backward = lastCallMs?.() ?? performance.now() - b0;
    const passMs = performance.now() - t0;
    const runs = Math.max(0, Math.min(TIMING_RUNS - 1, Math.floor((TIMING_SECONDS * 1000 - passMs) / Math.max(passMs, 1e-3))));
    let more: PassTimings | undefined;
    if (runs > 0) {
      more = timePasses(impl, inputs, params, {
        warmup: 0,
        repeat: runs,
        dout,
        ...(lastCallMs ? { lastCallMs: () => lastCallMs() } : {}),
      });
    }
    const fw = summarize([first.forward, ...(more ? [more.forwardMs.median] : [])]);
    const bw = summarize([first.backward, ...(more ? [more.backwardMs.median] : [])]);
    return { forwardMs: more ? more.forwardMs.median : fw.median, backwardMs: more ? more.backwardMs.median : bw.median, runs: 1 + runs };
  };
  const timing: GradeTiming = { shapes, params, naive: measure(spec.impls.naive), ...(spec.impls.fast ? { fast: measure(spec.impls.fast) } : {}) };
  try {
    timing.yours = measure(im.impl, im.lastCallMs);
    // A loss is one function: its "backward" is the dx it returned times dout, no call of yours.
    if (CS231N[spec.name]?.loss) timing.yours = { ...timing.yours, backwardMs: NaN };
  } catch (err) {
    if (!(im.ownsError ?? (() => true))(err)) throw err;
    timing.note = `not timed: ${(err as Error).message}`;
  }
  return timing;
}

/** The summary line of a layer. */
function layerSummary(layer: string, impls: string[], cases: GradeCaseReport[]): string {
  const passed = cases.filter((c) => c.pass).length;
  const bad = cases.filter((c) => !c.pass);
  const warned = cases.filter((c) => c.status === 'warn').length;
  const who = impls.length > 1 ? ` (${impls.join(', ')})` : '';
  const head = `${layer}: ${passed}/${cases.length} cases${who}`;
  if (!bad.length) return `${head} pass${warned ? `, ${warned} with a warning` : ''}`;
  const f = bad[0];
  const more = bad.length > 1 ? ` (and ${bad.length - 1} more)` : '';
  return `${head} — ${impls.length > 1 ? `${f.function} ` : ''}fails at ${f.name}${more}: ${f.message}`;
}

/** Grade `mod` (see the module comment). Throws UsageError / FormatError for a module with nothing to grade. */
export function gradeModule(mod: ImplModule, opts: GradeOptions = {}): GradeReport {
  const t0 = performance.now();
  const label = opts.label ?? mod.path;
  const quick = opts.quick === true;
  const timing = opts.timing ?? !quick;
  const shrinkSeconds = opts.shrinkSeconds ?? SHRINK_SECONDS;
  const found = discoverLayers(mod, label, opts.layers);
  const notes: string[] = [];
  const plan = found.map(({ spec, defined: all }) => {
    const complete = all.filter((d) => d.forward && d.backward);
    // A forward whose backward is missing is incomplete unless another pair completes it (batchnorm_backward_alt is an
    // alternative to batchnorm_backward, not a second requirement).
    const defined = all.filter((d) => (d.forward && d.backward) || !d.forward || !complete.some((x) => x.forward === d.forward));
    return { spec, defined, complete, cases: casesOf(spec.name, quick) };
  });
  const total = plan.reduce((n, p) => n + p.complete.length * p.cases.length, 0);
  let index = 0;
  let shrinkLeft = SHRINK_TOTAL_SECONDS;
  const layers: GradeLayerReport[] = [];
  for (const { spec, defined, complete, cases } of plan) {
    // NOTE: asked for layer by layer: a Python process stopped by a timeout in an earlier layer is started afresh.
    const impls: Implementation[] = complete.length ? mod.implementationsFor(spec) : [];
    const reports: GradeCaseReport[] = [];
    const functions: GradeFunctionReport[] = [];
    for (const d of defined.filter((x) => !x.forward || !x.backward)) {
      const message = incompleteMessage(spec, d);
      functions.push({ name: d.name, forward: d.forward, backward: d.backward, pass: false });
      reports.push({
        function: d.name,
        name: 'pair',
        about: 'the forward and the backward are both defined',
        params: {},
        shapes: {},
        seed: 0,
        dtype: 'float64',
        inputs: '-',
        mode: 'none',
        status: 'error',
        pass: false,
        message,
        hint: null,
        info: [],
        warnings: [],
        seconds: 0,
      });
    }
    for (let im of impls) {
      const d = defined.find((x) => x.name === im.name);
      const mine: GradeCaseReport[] = [];
      const shrunkBy = new Map<string, string>();
      for (const c of cases) {
        // After a failed call (a timeout stops the Python process), the module is asked again: it starts afresh.
        if (mine.at(-1)?.status === 'error') im = mod.implementationsFor(spec).find((x) => x.name === im.name) ?? im;
        index++;
        opts.onProgress?.({ layer: spec.name, impl: im.name, caseName: c.name, index, total });
        const c0 = performance.now();
        const mc = materialize(spec, c);
        const mode = caseMode(spec, c, mc.shapes);
        const run = runCase(spec, im, mc, { gradcheck: true, mode, ties: c.ties, deadline: performance.now() + CASE_BUDGET_SECONDS * 1000 });
        const report: GradeCaseReport = {
          function: im.name,
          name: c.name,
          about: c.about,
          ...(c.notebook ? { notebook: c.notebook } : {}),
          params: mc.params,
          shapes: mc.shapes,
          seed: mc.seed,
          dtype: mc.dtype,
          inputs: recipeText(spec, c),
          mode: isTestMode(spec, mc.params) ? 'forward only' : mode,
          status: run.status,
          pass: run.status === 'pass' || run.status === 'warn',
          message: run.message,
          hint: run.hint?.message ?? null,
          ...(run.hint ? { hintKind: run.hint.kind } : {}),
          info: run.info,
          warnings: run.warnings,
          ...(run.convention ? { convention: run.convention } : {}),
          seconds: 0,
        };
        if (!report.pass) {
          const same = shrunkBy.get(run.signature);
          if (same !== undefined) report.shrunk = { sameAs: same };
          else if (UNSHRINKABLE.has(run.signature)) {
            report.info.push('not shrunk: every smaller try would wait for the timeout or restart the process');
          } else if (shrinkLeft > 0) {
            const s = shrinkFailure(spec, im, c, mc, run, { seconds: Math.min(shrinkSeconds, shrinkLeft), mode });
            shrinkLeft -= s.seconds;
            if (opts.fixtures) {
              try {
                s.fixture = writeShrunkFixture(
                  opts.fixtures.dir,
                  spec,
                  s,
                  { impl: im.name, functions: `${d?.forward ?? ''},${d?.backward ?? ''}`, caseName: c.name },
                  opts.fixtures.force,
                );
              } catch (err) {
                s.fixtureNote = `not written: ${(err as Error).message}`;
              }
            }
            const { materialized: _m, run: _r, ...kept } = s;
            report.shrunk = kept;
            shrunkBy.set(run.signature, c.name);
          } else if (!notes.some((n) => n.startsWith('shrinking stopped'))) {
            notes.push(`shrinking stopped: the run's ${SHRINK_TOTAL_SECONDS} s for shrinking are spent; later failures are shown as they are`);
          }
        }
        report.seconds = (performance.now() - c0) / 1000;
        mine.push(report);
      }
      const fr: GradeFunctionReport = {
        name: im.name,
        forward: d?.forward ?? null,
        backward: d?.backward ?? null,
        ...(im.source ? { source: im.source } : {}),
        pass: mine.every((r) => r.pass),
      };
      const tc = batteryOf(spec.name)?.timing;
      if (timing && tc) fr.timing = timeFunction(spec, im, tc);
      functions.push(fr);
      reports.push(...mine);
    }
    const names = [...new Set(defined.flatMap((x) => [x.forward, x.backward]).filter((x): x is string => !!x))];
    const implNames = [...new Set(defined.map((x) => x.name))];
    layers.push({
      layer: spec.name,
      functions: names,
      implementations: functions,
      pass: reports.every((r) => r.pass),
      summary: layerSummary(spec.name, implNames, reports),
      cases: reports,
    });
  }
  const all = layers.flatMap((l) => l.cases);
  const functions = (mod as { functions?: string[] }).functions;
  // A misnamed function (conv_forward instead of conv_forward_naive) is named, so the student sees why it was not graded.
  const others = (functions ?? []).filter((f) => !knownAmong([f]).length && /forward|backward|loss/.test(f));
  if (others.length) notes.push(`not graded (not a cs231n name): ${others.slice(0, 20).join(', ')}${others.length > 20 ? ', ...' : ''}`);
  return {
    pass: layers.every((l) => l.pass),
    module: label,
    kind: mod.kind,
    quick,
    seconds: (performance.now() - t0) / 1000,
    shrinkSeconds,
    counts: {
      cases: all.length,
      passed: all.filter((c) => c.status === 'pass').length,
      failed: all.filter((c) => c.status === 'fail').length,
      errors: all.filter((c) => c.status === 'error').length,
      warnings: all.filter((c) => c.status === 'warn').length,
    },
    layers,
    notes,
  };
}
