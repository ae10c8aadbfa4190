/**
 * The layer commands (`cnn-check conv`, `cnn-check maxpool`, ...), generated from the
 * registry: each param becomes a flag, each user-settable input a `--<name>-shape` flag.
 */
import type { Command } from 'commander';
import { LAYERS, kebabName } from '../../layers/registry.js';
import type { LayerSpec, Shapes } from '../../layers/types.js';
import { describeDomain, isSettable, parseShape, resolveParams, resolveShapes } from '../../layers/params.js';
import { checkLayer, DEFAULT_SEED } from '../../gradcheck/check-layer.js';
import { INIT_NAMES, RNG_NAMES, linspaceInput, loadCase, makeRng, shapesOf, type InitName, type RngName } from '../../fixtures/inputs.js';
import { UsageError } from '../../errors.js';
import type { Tensor } from '../../tensor/tensor.js';
import type { Rng } from '../../tensor/rng.js';
import { optionKey, parseCommonFlags, parseNumberFlag, parseScaleFlags } from '../options.js';
import { createProgressLine, renderLayerReport } from '../render.js';
import { CHECK_MODES, DEFAULT_BUDGET_SECONDS, DEFAULT_DIRECTIONS, DEFAULT_SAMPLES, AUTO_DIRECTIONS } from '../../gradcheck/modes.js';
import { wantColor, type CliIO } from '../io.js';
import { addReportOptions, checkReportOptions, emitCheckOutputs } from './suite.js';
import { DEFAULT_IMPL_TIMEOUT_SECONDS, USER_IMPL_NAME, loadUserImpl, type UserImpl } from '../../user/load.js';

/** Add the flags every checking command shares. */
export function addCommonCheckOptions(cmd: Command): Command {
  return cmd
    .option('--seed <n>', `seed of the generated inputs and dout (default ${DEFAULT_SEED})`)
    .option('--h <h>', 'centred-difference step (default 1e-5)')
    .option('--max-error <e>', 'threshold on the relative error (default: the layer\'s tolerance)')
    .option('--strict-kinks', 'count elements at kinks (relu at 0, max-pool ties) in pass/fail')
    .option('--repeat <n>', 'timing runs per implementation, 0 to skip timing (default 5)')
    .option('--json', 'print one JSON document instead of tables')
    .option('--no-color', 'never colour the output');
}

/**
 * Add the flags of checks at scale. NOTE: `--check-mode`, not `--mode`: `--mode` is the
 * batchnorm and spatial-batchnorm param (train|test) on those commands.
 */
export function addScaleCheckOptions(cmd: Command): Command {
  return cmd
    .option('--check-mode <mode>', `how much of each gradient to evaluate: ${CHECK_MODES.join(', ')} (default auto: full when small, else directions + sampled elements within --budget)`)
    .option('--samples <k>', `elements per input of a sampled check (default ${DEFAULT_SAMPLES})`)
    .option('--directions <k>', `random directions per input of a directional check (default ${DEFAULT_DIRECTIONS}; auto: ${AUTO_DIRECTIONS})`)
    .option('--budget <seconds>', `time budget for auto mode's samples, locating errors and timing (default ${DEFAULT_BUDGET_SECONDS})`)
    .option('--dtype <dtype>', 'run the layer in float64 or float32 (the numeric side is always float64) (default float64)')
    .option('--h-sweep', 'also show each gradient\'s error over h = 1e-2 ... 1e-9 and the best h');
}

/** Add a layer's own flags: one per param, `--<input>-shape` per settable input. */
export function addLayerOptions(cmd: Command, spec: LayerSpec): Command {
  for (const p of spec.params) {
    cmd.option(`--${p.flag} <${p.kind === 'enum' ? 'value' : 'n'}>`, `${p.help}: ${describeDomain(p)} (default ${p.default})`);
  }
  for (const input of spec.inputs) {
    if (isSettable(input)) {
      cmd.option(`--${input.name}-shape <dims>`, `shape of ${input.help} (default ${(input.shape as number[]).join(',')})`);
    }
  }
  return cmd;
}

/** Add the flags that check a user's own implementation of the layer. */
export function addImplOptions(cmd: Command): Command {
  return cmd
    .option('--impl <path>', 'also check your own implementation: a module (.mjs, .js, .cjs; .ts with tsx) exporting forward and backward, compared with the reference and timed')
    .option('--timeout <seconds>', `seconds each forward or backward call of --impl may take before it counts as hanging (default ${DEFAULT_IMPL_TIMEOUT_SECONDS})`);
}

/** Load `--impl` (after every other flag is validated); undefined without it. */
export function loadImplFromOptions(o: Record<string, unknown>, io: CliIO): UserImpl | undefined {
  if (o.impl === undefined) {
    if (o.timeout !== undefined) throw new UsageError('--timeout: applies to --impl only; add --impl PATH');
    return undefined;
  }
  const timeout = o.timeout === undefined
    ? DEFAULT_IMPL_TIMEOUT_SECONDS
    : parseNumberFlag('timeout', o.timeout, { min: 0, minExclusive: true, what: 'a positive number of seconds' });
  const path = String(o.impl);
  // The module's console output goes to stderr, so stdout stays one JSON document with --json.
  const tag = path.replace(/^.*[\\/]/, '');
  return loadUserImpl(path, { timeout, label: `--impl ${path}`, log: (line) => io.stderr.write(`[${tag}] ${line}\n`) });
}

/** Add the flags that choose where inputs come from. */
export function addInputSourceOptions(cmd: Command): Command {
  return cmd
    .option('--inputs <path>', 'load inputs (and dout, and params from meta) from a fixture: .npz or a directory of .npy')
    .option('--input <name=path>', 'load one input (or dout) from a .npy file; repeatable', (v: string, acc: string[]) => [...acc, v], [] as string[])
    .option('--rng <name>', `generator of random inputs: ${RNG_NAMES.join(' or ')} (numpy: identical to np.random.seed(seed); np.random.randn(...))`)
    .option('--init <kind>', `fill generated inputs with: ${INIT_NAMES.join(' or ')} (linspace as the cs231n notebooks do)`)
    .option('--max-bytes <n>', 'largest array data accepted from a file, in bytes (default 1 GiB)');
}

/** A fully resolved case of a layer: params, shapes, inputs (some may still be generated), dout, generator. */
export interface LayerCase {
  params: Record<string, number | string>;
  shapes: Shapes;
  inputs: Record<string, Tensor>;
  dout?: Tensor;
  rng: Rng;
  seed: number;
}

/** Resolve a layer's case from parsed commander options: flags, then files, then generated values. */
export function layerCaseFromOptions(spec: LayerSpec, o: Record<string, unknown>, seed: number): LayerCase {
  const rngName = (o.rng ?? 'default') as string;
  if (!(RNG_NAMES as readonly string[]).includes(rngName)) {
    throw new UsageError(`--rng: expected ${RNG_NAMES.join(' or ')}, got '${rngName}'`);
  }
  const init = (o.init ?? 'randn') as string;
  if (!(INIT_NAMES as readonly string[]).includes(init)) {
    throw new UsageError(`--init: expected ${INIT_NAMES.join(' or ')}, got '${init}'`);
  }
  const maxBytes = o.maxBytes === undefined ? undefined : parseNumberFlag('max-bytes', o.maxBytes, { integer: true, min: 1, max: Number.MAX_SAFE_INTEGER, what: 'a positive integer number of bytes, at most 2**53-1' });
  const inputFiles = (o.input as string[] | undefined) ?? [];
  const loaded = o.inputs !== undefined || inputFiles.length
    ? loadCase(spec, o.inputs as string | undefined, inputFiles, maxBytes)
    : { inputs: {}, dout: undefined, metaParams: undefined };

  const raw: Record<string, unknown> = { ...(loaded.metaParams ?? {}) };
  const fromFlag = new Set<string>();
  for (const p of spec.params) {
    const v = o[optionKey(p.flag)];
    if (v !== undefined) {
      raw[p.name] = v;
      fromFlag.add(p.name);
    }
  }
  const params = resolveParams(spec, raw, (p) => (fromFlag.has(p.name) ? `--${p.flag}` : `${String(o.inputs)}: meta.params.${p.name}`));

  const given: Shapes = shapesOf(loaded.inputs);
  for (const input of spec.inputs) {
    if (!isSettable(input)) continue;
    const flag = `${input.name}-shape`;
    const v = o[optionKey(flag)];
    if (v === undefined) continue;
    if (given[input.name]) throw new UsageError(`--${flag}: ${input.name} is loaded from a file, so its shape comes from the file; drop --${flag}`);
    given[input.name] = parseShape(`--${flag}`, String(v));
  }
  const shapes = resolveShapes(spec, given, params);
  const inputs = { ...loaded.inputs };
  if ((init as InitName) === 'linspace') {
    for (const input of spec.inputs) {
      if (inputs[input.name]) continue;
      const t = linspaceInput(input, shapes[input.name]);
      if (t) inputs[input.name] = t;
    }
  }
  return { params, shapes, inputs, dout: loaded.dout, rng: makeRng(rngName as RngName, seed), seed };
}

/** Register one command per layer. Sets `exit.code` to 0 (pass) or 1 (a check failed). */
export function registerLayerCommands(program: Command, io: CliIO, exit: { code: number }): void {
  for (const spec of LAYERS) {
    const name = kebabName(spec.name);
    const cmd = program.command(name).description(`check ${spec.summary}`);
    if (name !== spec.name) cmd.alias(spec.name);
    addLayerOptions(cmd, spec);
    addInputSourceOptions(cmd);
    addCommonCheckOptions(cmd);
    addScaleCheckOptions(cmd);
    addReportOptions(cmd, { junit: true });
    addImplOptions(cmd);
    cmd.action((o: Record<string, unknown>) => {
      const common = parseCommonFlags(o, DEFAULT_SEED);
      const scale = parseScaleFlags(o);
      const c = layerCaseFromOptions(spec, o, common.seed);
      checkReportOptions(o);
      const user = loadImplFromOptions(o, io);
      // Progress goes to stderr, only for a terminal, and only once a check has run for a second.
      const progress = io.stderr.isTTY ? createProgressLine(io.stderr, wantColor({ ...io, stdout: io.stderr }, common)) : undefined;
      const started = performance.now();
      let report;
      try {
        report = checkLayer(spec, {
          params: c.params, shapes: c.shapes, inputs: c.inputs, dout: c.dout, rng: c.rng, seed: c.seed,
          h: common.h, maxError: common.maxError, strictKinks: common.strictKinks, repeat: common.repeat,
          mode: scale.checkMode, samples: scale.samples, directions: scale.directions, budget: scale.budget,
          dtype: scale.dtype, hSweep: scale.hSweep, onProgress: progress?.update,
          extraImpls: user ? [{ name: USER_IMPL_NAME, impl: user.impl, source: String(o.impl), lastCallMs: user.lastCallMs }] : undefined,
        });
      } finally {
        progress?.done();
        user?.close();
      }
      if (common.json) io.stdout.write(JSON.stringify(report, jsonReplacer, 2) + '\n');
      else io.stdout.write(renderLayerReport(report, wantColor(io, common)));
      const checkName = [spec.name, ...Object.entries(report.params).map(([k, v]) => `${k}=${v}`)].join(' ');
      emitCheckOutputs(io, o, [{ name: checkName, report, seconds: (performance.now() - started) / 1000 }], {
        title: `cnn-check ${checkName}`, runName: `cnn-check ${name}`, summary: false,
      });
      exit.code = report.pass ? 0 : 1;
    });
  }
}

/** JSON has no Infinity/NaN: write them as the strings "Infinity"/"NaN" so the document stays valid. */
export function jsonReplacer(_key: string, value: unknown): unknown {
  if (typeof value === 'number' && !Number.isFinite(value)) return String(value);
  return value;
}
