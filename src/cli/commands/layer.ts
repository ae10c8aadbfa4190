/**
 * The layer commands (`cnn-check conv`, `cnn-check maxpool`, ...), generated from the
 * registry: each param becomes a flag, each user-settable input a `--<name>-shape` flag.
 */
import type { Command } from 'commander';
import { LAYERS, kebabName } from '../../layers/registry.js';
import type { LayerSpec, Shapes } from '../../layers/types.js';
import { describeDomain, isSettable, parseShape, resolveParams } from '../../layers/params.js';
import { checkLayer, DEFAULT_SEED } from '../../gradcheck/check-layer.js';
import { optionKey, parseCommonFlags } from '../options.js';
import { renderLayerReport } from '../render.js';
import { wantColor, type CliIO } from '../io.js';

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

/** Params and shapes of `spec` from parsed commander options. */
export function layerArgsFromOptions(spec: LayerSpec, o: Record<string, unknown>): { params: Record<string, number | string>; shapes: Shapes } {
  const raw: Record<string, unknown> = {};
  for (const p of spec.params) {
    const v = o[optionKey(p.flag)];
    if (v !== undefined) raw[p.name] = v;
  }
  const params = resolveParams(spec, raw, (p) => `--${p.flag}`);
  const shapes: Shapes = {};
  for (const input of spec.inputs) {
    if (!isSettable(input)) continue;
    const flag = `${input.name}-shape`;
    const v = o[optionKey(flag)];
    if (v !== undefined) shapes[input.name] = parseShape(`--${flag}`, String(v));
  }
  return { params, shapes };
}

/** Register one command per layer. Sets `exit.code` to 0 (pass) or 1 (a check failed). */
export function registerLayerCommands(program: Command, io: CliIO, exit: { code: number }): void {
  for (const spec of LAYERS) {
    const name = kebabName(spec.name);
    const cmd = program.command(name).description(`check ${spec.summary}`);
    if (name !== spec.name) cmd.alias(spec.name);
    for (const p of spec.params) {
      cmd.option(`--${p.flag} <${p.kind === 'enum' ? 'value' : 'n'}>`, `${p.help}: ${describeDomain(p)} (default ${p.default})`);
    }
    for (const input of spec.inputs) {
      if (isSettable(input)) {
        cmd.option(`--${input.name}-shape <dims>`, `shape of ${input.help} (default ${(input.shape as number[]).join(',')})`);
      }
    }
    addCommonCheckOptions(cmd);
    cmd.action((o: Record<string, unknown>) => {
      const common = parseCommonFlags(o, DEFAULT_SEED);
      const { params, shapes } = layerArgsFromOptions(spec, o);
      const report = checkLayer(spec, {
        params, shapes, seed: common.seed, h: common.h, maxError: common.maxError,
        strictKinks: common.strictKinks, repeat: common.repeat,
      });
      if (common.json) io.stdout.write(JSON.stringify(report, jsonReplacer, 2) + '\n');
      else io.stdout.write(renderLayerReport(report, wantColor(io, common)));
      exit.code = report.pass ? 0 : 1;
    });
  }
}

/** JSON has no Infinity/NaN: write them as the strings "Infinity"/"NaN" so the document stays valid. */
export function jsonReplacer(_key: string, value: unknown): unknown {
  if (typeof value === 'number' && !Number.isFinite(value)) return String(value);
  return value;
}
