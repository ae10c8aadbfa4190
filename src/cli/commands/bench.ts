/**
 * `cnn-check bench [LAYER...]`: time naive and fast passes of the registered layers at
 * realistic shapes, print a table (or JSON), save reports and compare against a baseline.
 * Shape and param flags are generated from the registry, like the layer commands'.
 */
import { Option, type Command } from 'commander';
import { UsageError } from '../../errors.js';
import { LAYERS, getLayer } from '../../layers/registry.js';
import { implNames, type LayerSpec, type Params, type Shapes } from '../../layers/types.js';
import { isSettable, parseShape, resolveParams } from '../../layers/params.js';
import { defaultBenchCases, runBench, type BenchCaseSpec, type BenchProgress } from '../../bench/run.js';
import { compareToBaseline, readBenchReport, refuseOverwrite, saveReport, type BaselineComparison } from '../../bench/baseline.js';
import { MAX_THREADS, defaultThreads } from '../../kernels/parallel/pool.js';
import { MAX_REPEAT, MAX_SEED, MAX_SECONDS, MAX_WARMUP, SETTINGS } from '../../settings/schema.js';
import type { Domain } from '../../settings/domain.js';
import type { DType } from '../../tensor/tensor.js';
import { generatedLine } from '../../report/format.js';
import { renderJson } from '../../report/json.js';
import { renderBenchReport } from '../../report/terminal.js';
import { addOutputOptions, flagValue, HELP_GROUPS, optionKey, paramFlags, requireWith } from '../options.js';
import { checkOutputPaths, emitRun } from '../outputs.js';
import { ModuleSet } from '../../impls/registry.js';
import { DEFAULT_IMPL_TIMEOUT_SECONDS } from '../../settings/schema.js';
import { resolve } from 'node:path';
import { cut } from '../progress.js';
import { moduleLog, terminalWidth, wantColor, type CliIO } from '../io.js';

/** `--help` headings of bench's own option groups (the layer flags and --impl share the layer commands'). */
const BENCH_GROUPS = { timing: 'Timing:', baselines: 'Records and baselines:' } as const;

/** Defaults of the bench flags. */
export const BENCH_DEFAULTS = { warmup: 1, repeat: 5, naiveBudgetSec: 10, maxSlowdown: 1.5 } as const;

/** The command's own flags; layer flags with these names are not offered (none collide today). */
const OWN_FLAGS = new Set([
  'dtype',
  'impls',
  'impl',
  'threads',
  'warmup',
  'repeat',
  'naive-budget',
  'seed',
  'json',
  'save',
  'force',
  'baseline',
  'max-slowdown',
  'max-memory',
  'color',
  'report',
]);

interface LayerFlag {
  flag: string;
  /** Layers that have this param or input, by name. */
  layers: string[];
  kind: 'param' | 'shape';
  help: string;
  /** An enum param's choices, over every layer that has it (`train`, `test`). */
  choices?: string[];
  /** The param's main flag when this is another spelling of it (`--G` for `--groups`). */
  aliasOf?: string;
}

/** Every param flag and `--<input>-shape` flag of the registry, once each. */
function layerFlags(): LayerFlag[] {
  const flags = new Map<string, LayerFlag>();
  const add = (flag: string, layer: string, kind: LayerFlag['kind'], help: string, extra: Partial<LayerFlag> = {}) => {
    if (OWN_FLAGS.has(flag)) return;
    const f = flags.get(flag);
    if (f) {
      if (!f.layers.includes(layer)) f.layers.push(layer);
      for (const c of extra.choices ?? []) if (!f.choices?.includes(c)) f.choices = [...(f.choices ?? []), c];
    } else flags.set(flag, { flag, layers: [layer], kind, help, ...extra });
  };
  for (const spec of LAYERS) {
    for (const p of spec.params) {
      const [main, ...others] = paramFlags(p);
      add(main, spec.name, 'param', p.help, p.kind === 'enum' ? { choices: [...(p.choices ?? [])] } : {});
      for (const k of others) add(k, spec.name, 'param', p.help, { aliasOf: main });
    }
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

/** `--impls naive,fast`: names of the selected layers' own implementations. */
function parseImpls(raw: unknown, layers: LayerSpec[]): string[] {
  const known = [...new Set(layers.flatMap(implNames))];
  if (raw === undefined) return known;
  const parts = String(raw)
    .split(',')
    .map((s) => s.trim());
  if (parts.length === 0 || parts.some((p) => !known.includes(p))) {
    throw new UsageError(`--impls: expected a comma-separated list of ${known.join(', ')}, got '${String(raw)}'`);
  }
  return [...new Set(parts)];
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
      throw new UsageError(
        `--${f.flag}: not a ${f.kind === 'param' ? 'param' : 'input'} of ${layers.map((l) => l.name).join(', ')} (it belongs to ${f.layers.join(', ')})`,
      );
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
      for (const k of paramFlags(p).filter((f) => !OWN_FLAGS.has(f))) {
        const v = o[optionKey(k)];
        if (v !== undefined) raw[k] = v;
      }
    }
    const params: Params = resolveParams(layer, { values: raw, text: true, label: (_p, key) => `--${key}` });
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
  const opt = (flags: string, help: string, group: string) => cmd.addOption(new Option(flags, help).helpGroup(group));
  // Layer flags apply to the layers that have them; each runs once at its defaults overridden by them.
  for (const f of layerFlags()) {
    const value = f.kind === 'shape' ? '<dims>' : f.choices ? '<value>' : '<n>';
    const help = f.aliasOf ? `the same as --${f.aliasOf}` : `${f.help}${f.choices ? `: one of ${f.choices.join(', ')}` : ''}`;
    opt(`--${f.flag} ${value}`, `${help} (${f.layers.join(', ')})`, HELP_GROUPS.layer);
  }
  opt('--dtype <dtype>', 'float32, float64 or both (default float64)', BENCH_GROUPS.timing);
  opt('--impls <list>', "the layers' implementations to time, comma-separated: naive,fast (default all)", BENCH_GROUPS.timing);
  opt('--threads <n>', `threads for fast passes (default ${defaultThreads()}, the machine's cores; 1 = no workers)`, BENCH_GROUPS.timing);
  opt('--warmup <n>', `untimed runs before timing (default ${BENCH_DEFAULTS.warmup})`, BENCH_GROUPS.timing);
  opt('--repeat <n>', `timed runs (default ${BENCH_DEFAULTS.repeat})`, BENCH_GROUPS.timing);
  opt(
    '--naive-budget <seconds>',
    `estimate a naive run from a smaller batch when it would take longer (default ${BENCH_DEFAULTS.naiveBudgetSec})`,
    BENCH_GROUPS.timing,
  );
  opt('--seed <n>', 'seed of the generated inputs (default 231)', BENCH_GROUPS.timing);
  opt(
    `--${SETTINGS.maxMemory.flag} ${SETTINGS.maxMemory.value}`,
    `${SETTINGS.maxMemory.help} (default ${SETTINGS.maxMemory.defaultText})`,
    BENCH_GROUPS.timing,
  );
  opt(
    '--impl <path>',
    'also time your own implementation (a numpy layers.py with cs231n function names, or a JS/TS module) beside them; --save/--baseline apply to it too',
    HELP_GROUPS.implementation,
  );
  opt('--timeout <seconds>', `seconds each call of --impl may take (default ${DEFAULT_IMPL_TIMEOUT_SECONDS})`, HELP_GROUPS.implementation);
  opt('--save <file>', 'also write the JSON report to FILE (never overwrites without --force)', BENCH_GROUPS.baselines);
  opt('--force', 'let --save overwrite an existing file', BENCH_GROUPS.baselines);
  opt('--baseline <file>', 'compare medians with a saved report; exit 1 when one is too slow', BENCH_GROUPS.baselines);
  opt('--max-slowdown <f>', `allowed current/baseline ratio of a median (default ${BENCH_DEFAULTS.maxSlowdown})`, BENCH_GROUPS.baselines);
  addOutputOptions(cmd, { formats: ['report'] });
  cmd.action((names: string[], o: Record<string, unknown>) => {
    requireWith(o, 'timeout', 'impl', 'applies to --impl only; add --impl <path>');
    const timeout =
      (flagValue(o, 'timeout', { kind: 'float', min: 0, minExclusive: true, max: MAX_SECONDS }) as number | undefined) ?? DEFAULT_IMPL_TIMEOUT_SECONDS;
    const implArg = o.impl === undefined ? undefined : String(o.impl);
    const dtypes = parseDtypes(o.dtype);
    const threads = (flagValue(o, 'threads', { kind: 'int', min: 1, max: MAX_THREADS }) as number | undefined) ?? defaultThreads();
    const warmup = (flagValue(o, 'warmup', { kind: 'int', min: 0, max: MAX_WARMUP }) as number | undefined) ?? BENCH_DEFAULTS.warmup;
    const repeat = (flagValue(o, 'repeat', { kind: 'int', min: 1, max: MAX_REPEAT }) as number | undefined) ?? BENCH_DEFAULTS.repeat;
    const naiveBudgetSec =
      (flagValue(o, 'naive-budget', { kind: 'float', min: 0, minExclusive: true, max: MAX_SECONDS }) as number | undefined) ?? BENCH_DEFAULTS.naiveBudgetSec;
    const seed = flagValue(o, 'seed', { kind: 'int', min: 0, max: MAX_SEED }) as number | undefined;
    requireWith(o, 'max-slowdown', 'baseline', 'only meaningful with --baseline FILE');
    requireWith(o, 'force', 'save', 'only meaningful with --save FILE');
    const maxSlowdown = (flagValue(o, 'max-slowdown', { kind: 'float', min: 0, minExclusive: true }) as number | undefined) ?? BENCH_DEFAULTS.maxSlowdown;
    const maxMemory = flagValue(o, SETTINGS.maxMemory.flag, SETTINGS.maxMemory.domain as Domain) as number | undefined;
    // Fail fast, before a long run: a --save target that exists, a baseline that does not parse.
    if (o.save !== undefined) refuseOverwrite(String(o.save), o.force === true);
    checkOutputPaths(o);
    const baseline = o.baseline !== undefined ? readBenchReport(String(o.baseline)) : undefined;

    const modules = new ModuleSet();
    const tty = io.stderr.isTTY === true;
    let report: ReturnType<typeof runBench>;
    try {
      const openOpts = { timeout, label: `--impl ${implArg}`, log: (line: string) => moduleLog(io)(String(implArg).replace(/^.*[\\/]/, ''), line) };
      let named = names;
      if (implArg !== undefined && !names.length) {
        // Without layer arguments, the layer the module says it implements.
        const declared = modules.module(resolve(implArg), openOpts).layers?.();
        if (!declared)
          throw new UsageError(
            `--impl ${implArg}: name the layer it implements: cnn-check bench <layer> --impl ${implArg} (or export const layer = '<layer>' from it)`,
          );
        named = declared;
      }
      const layers = named.length ? [...new Set(named.map((n) => getLayer(n)))] : [...LAYERS];
      const impls = parseImpls(o.impls, layers);
      const cases = casesFromOptions(layers, o);
      report = runBench(cases, {
        dtypes,
        impls,
        threads,
        warmup,
        repeat,
        naiveBudgetSec,
        seed,
        maxMemory,
        memoryLabel: `--${SETTINGS.maxMemory.flag}`,
        ...(implArg !== undefined ? { external: (layer: LayerSpec) => modules.implementations(resolve(implArg), layer, openOpts) } : {}),
        onProgress: tty ? (p) => io.stderr.write(`\r\x1b[K${cut(progressLine(p), terminalWidth(io, io.stderr) - 1)}`) : undefined,
      });
    } finally {
      modules.closeAll();
      if (tty) io.stderr.write('\r\x1b[K');
    }

    let comparison: BaselineComparison | undefined;
    if (baseline) comparison = compareToBaseline(report.results, baseline, maxSlowdown, String(o.baseline));
    const doc = { ...report, ...(comparison ? { baseline: comparison } : {}) };
    if (o.save !== undefined) saveReport(String(o.save), renderJson(doc), o.force === true);
    emitRun(
      io,
      o,
      {
        title: 'cnn-check bench',
        runName: 'cnn-check bench',
        pass: comparison ? comparison.ok : null,
        meta: [generatedLine()],
        bench: { title: 'benchmark', report, comparison },
      },
      { doc, text: () => renderBenchReport(report, wantColor(io, { color: o.color as boolean | undefined }), comparison, terminalWidth(io)) },
    );
    exit.code = comparison && !comparison.ok ? 1 : 0;
  });
}
