/**
 * `cnn-check bench [LAYER...]`: time naive and fast passes of the registered layers at
 * realistic shapes, print a table (or JSON), save reports and compare against a baseline.
 * Shape and param flags are generated from the registry, like the layer commands'.
 */
import type { Command } from 'commander';
import { UsageError } from '../../errors.js';
import { LAYERS, getLayer } from '../../layers/registry.js';
import type { ImplName, LayerSpec, Params, Shapes } from '../../layers/types.js';
import { isSettable, parseShape, resolveParams } from '../../layers/params.js';
import { defaultBenchCases, runBench, type BenchCaseSpec, type BenchProgress } from '../../bench/run.js';
import { compareToBaseline, readBenchReport, refuseOverwrite, saveReport, type BaselineComparison } from '../../bench/baseline.js';
import { MAX_THREADS, defaultThreads } from '../../parallel/pool.js';
import type { DType } from '../../tensor/tensor.js';
import { optionKey, parseNumberFlag } from '../options.js';
import { renderBenchReport } from '../render.js';
import { wantColor, type CliIO } from '../io.js';
import { jsonReplacer } from './layer.js';
import { checkReportOptions, generatedLine, REPORT_OPTION_HELP, writeHtmlOption } from './suite.js';

/** Defaults of the bench flags. */
export const BENCH_DEFAULTS = { warmup: 1, repeat: 5, naiveBudgetSec: 10, maxSlowdown: 1.5 } as const;

/** The command's own flags; layer flags with these names are not offered (none collide today). */
const OWN_FLAGS = new Set(['dtype', 'impl', 'threads', 'warmup', 'repeat', 'naive-budget', 'seed', 'json', 'save', 'force', 'baseline', 'max-slowdown', 'color', 'report']);

interface LayerFlag {
  flag: string;
  /** Layers that have this param or input, by name. */
  layers: string[];
  kind: 'param' | 'shape';
  help: string;
}

/** Every param flag and `--<input>-shape` flag of the registry, once each. */
function layerFlags(): LayerFlag[] {
  const flags = new Map<string, LayerFlag>();
  const add = (flag: string, layer: string, kind: LayerFlag['kind'], help: string) => {
    if (OWN_FLAGS.has(flag)) return;
    const f = flags.get(flag);
    if (f) {
      if (!f.layers.includes(layer)) f.layers.push(layer);
    } else flags.set(flag, { flag, layers: [layer], kind, help });
  };
  for (const spec of LAYERS) {
    for (const p of spec.params) add(p.flag, spec.name, 'param', p.help);
    for (const input of spec.inputs) if (isSettable(input)) add(`${input.name}-shape`, spec.name, 'shape', `shape of ${input.name}, comma-separated`);
  }
  return [...flags.values()];
}

function parseDtypes(raw: unknown): DType[] {
  const v = raw === undefined ? 'float64' : String(raw);
  if (v === 'both') return ['float64', 'float32'];
  if (v === 'float64' || v === 'float32') return [v];
  throw new UsageError(`--dtype: expected float32, float64 or both, got '${v}'`);
}

function parseImpls(raw: unknown): ImplName[] {
  if (raw === undefined) return ['naive', 'fast'];
  const parts = String(raw).split(',').map((s) => s.trim());
  if (parts.length === 0 || parts.some((p) => p !== 'naive' && p !== 'fast')) {
    throw new UsageError(`--impl: expected a comma-separated list of naive and fast, got '${String(raw)}'`);
  }
  return [...new Set(parts)] as ImplName[];
}

/**
 * The cases to run. A layer the shape/param flags apply to runs once at its check-command
 * defaults overridden by the flags (as `cnn-check <layer>` would); others run their benchmark
 * cases. A flag no selected layer has is a usage error.
 */
function casesFromOptions(layers: LayerSpec[], o: Record<string, unknown>): BenchCaseSpec[] {
  const given = layerFlags().filter((f) => o[optionKey(f.flag)] !== undefined);
  for (const f of given) {
    if (!layers.some((l) => f.layers.includes(l.name))) {
      throw new UsageError(`--${f.flag}: not a ${f.kind === 'param' ? 'param' : 'input'} of ${layers.map((l) => l.name).join(', ')} (it belongs to ${f.layers.join(', ')})`);
    }
  }
  const cases: BenchCaseSpec[] = [];
  for (const layer of layers) {
    const mine = given.filter((f) => f.layers.includes(layer.name));
    if (mine.length === 0) {
      cases.push(...defaultBenchCases(layer));
      continue;
    }
    const raw: Record<string, unknown> = {};
    for (const p of layer.params) {
      const v = o[optionKey(p.flag)];
      if (v !== undefined) raw[p.name] = v;
    }
    const params: Params = resolveParams(layer, raw, (p) => `--${p.flag}`);
    const shapes: Shapes = {};
    for (const input of layer.inputs) {
      if (!isSettable(input)) continue;
      const v = o[optionKey(`${input.name}-shape`)];
      shapes[input.name] = v !== undefined ? parseShape(`--${input.name}-shape`, String(v)) : [...(input.shape as number[])];
    }
    cases.push({ layer, shapes, params });
  }
  return cases;
}

function progressLine(p: BenchProgress): string {
  const x = Object.entries(p.shapes)[0];
  return `[${p.index}/${p.total}] ${p.layer} ${p.impl} ${p.dtype} ${x ? `${x[0]} ${x[1].join(',')}` : ''}${p.phase === 'probe' ? ' (probing batch 1)' : ''}`;
}

/** Register `cnn-check bench`. Sets `exit.code` to 1 when a median is slower than the baseline allows. */
export function registerBenchCommand(program: Command, io: CliIO, exit: { code: number }): void {
  const cmd = program
    .command('bench')
    .description('time naive and fast forward/backward passes (GFLOP/s, speedups, baselines)')
    .argument('[layers...]', `layers to time (default: all of ${LAYERS.map((l) => l.name).join(', ')})`);
  for (const f of layerFlags()) {
    cmd.option(`--${f.flag} <${f.kind === 'shape' ? 'dims' : 'value'}>`, `${f.help} (${f.layers.join(', ')})`);
  }
  cmd
    .option('--dtype <dtype>', 'float32, float64 or both (default float64)')
    .option('--impl <list>', 'implementations to time: naive,fast (default both)')
    .option('--threads <n>', `threads for fast passes (default ${defaultThreads()}, the machine's cores; 1 = no workers)`)
    .option('--warmup <n>', `untimed runs before timing (default ${BENCH_DEFAULTS.warmup})`)
    .option('--repeat <n>', `timed runs (default ${BENCH_DEFAULTS.repeat})`)
    .option('--naive-budget <seconds>', `estimate a naive run from a smaller batch when it would take longer (default ${BENCH_DEFAULTS.naiveBudgetSec})`)
    .option('--seed <n>', 'seed of the generated inputs (default 231)')
    .option('--json', 'print the report as JSON instead of a table')
    .option('--save <file>', 'also write the JSON report to FILE (never overwrites without --force)')
    .option('--force', 'let --save overwrite an existing file')
    .option('--baseline <file>', 'compare medians with a saved report; exit 1 when one is too slow')
    .option('--max-slowdown <f>', `allowed current/baseline ratio of a median (default ${BENCH_DEFAULTS.maxSlowdown})`)
    .option('--report <file>', REPORT_OPTION_HELP)
    .option('--no-color', 'never colour the output');
  cmd.action((names: string[], o: Record<string, unknown>) => {
    const layers = names.length ? [...new Set(names.map((n) => getLayer(n)))] : [...LAYERS];
    const dtypes = parseDtypes(o.dtype);
    const impls = parseImpls(o.impl);
    const threads = o.threads === undefined ? defaultThreads() : parseNumberFlag('threads', o.threads, { integer: true, min: 1, max: MAX_THREADS, what: `an integer in [1, ${MAX_THREADS}]` });
    const warmup = o.warmup === undefined ? BENCH_DEFAULTS.warmup : parseNumberFlag('warmup', o.warmup, { integer: true, min: 0, max: 1000, what: 'an integer in [0, 1000]' });
    const repeat = o.repeat === undefined ? BENCH_DEFAULTS.repeat : parseNumberFlag('repeat', o.repeat, { integer: true, min: 1, max: 10000, what: 'an integer in [1, 10000]' });
    const naiveBudgetSec = o.naiveBudget === undefined ? BENCH_DEFAULTS.naiveBudgetSec : parseNumberFlag('naive-budget', o.naiveBudget, { min: 0, minExclusive: true, what: 'a positive number of seconds' });
    const seed = o.seed === undefined ? undefined : parseNumberFlag('seed', o.seed, { integer: true, min: 0, max: 4294967295, what: 'an integer in [0, 4294967295]' });
    if (o.maxSlowdown !== undefined && o.baseline === undefined) throw new UsageError('--max-slowdown: only meaningful with --baseline FILE');
    if (o.force && o.save === undefined) throw new UsageError('--force: only meaningful with --save FILE');
    const maxSlowdown = o.maxSlowdown === undefined ? BENCH_DEFAULTS.maxSlowdown : parseNumberFlag('max-slowdown', o.maxSlowdown, { min: 0, minExclusive: true, what: 'a positive ratio such as 1.25' });
    const cases = casesFromOptions(layers, o);
    // Fail fast, before a long run: a --save target that exists, a baseline that does not parse.
    if (o.save !== undefined) refuseOverwrite(String(o.save), o.force === true);
    checkReportOptions(o);
    const baseline = o.baseline !== undefined ? readBenchReport(String(o.baseline)) : undefined;

    const tty = io.stderr.isTTY === true;
    const report = runBench(cases, {
      dtypes, impls, threads, warmup, repeat, naiveBudgetSec, seed,
      onProgress: tty ? (p) => io.stderr.write(`\r\x1b[K${progressLine(p)}`) : undefined,
    });
    if (tty) io.stderr.write('\r\x1b[K');

    let comparison: BaselineComparison | undefined;
    if (baseline) comparison = compareToBaseline(report.results, baseline, maxSlowdown, String(o.baseline));
    const doc = { ...report, ...(comparison ? { baseline: comparison } : {}) };
    const json = JSON.stringify(doc, jsonReplacer, 2) + '\n';
    if (o.save !== undefined) saveReport(String(o.save), json, o.force === true);
    if (o.json) io.stdout.write(json);
    else io.stdout.write(renderBenchReport(report, wantColor(io, { color: o.color as boolean | undefined }), comparison));
    writeHtmlOption(o, {
      title: 'cnn-check bench', pass: comparison ? comparison.ok : null, meta: [generatedLine()],
      sections: [{ kind: 'bench', title: 'benchmark', report, comparison }],
    });
    exit.code = comparison && !comparison.ok ? 1 : 0;
  });
}
