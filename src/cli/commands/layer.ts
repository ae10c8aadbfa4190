/**
 * The layer commands (`cnn-check conv`, `cnn-check maxpool`, ...), generated from the registry:
 * each param becomes a flag, each user-settable input a `--<name>-shape` flag, and every check
 * setting of the settings schema a flag. The action parses its options once into a request,
 * runs it and returns its exit code.
 */
import type { Command } from 'commander';
import { LAYERS, kebabName } from '../../layers/registry.js';
import type { LayerSpec } from '../../layers/types.js';
import { buildCheckRequest, FLAG_LABELS, runCheckRequest } from '../../request/request.js';
import { generatedLine, paramsText } from '../../report/format.js';
import { renderLayerReport } from '../../report/terminal.js';
import { addLayerOptions, addOutputOptions, addSettingOptions, layerRawCase, settingsFromOptions } from '../options.js';
import { checkOutputPaths, emitRun } from '../outputs.js';
import { createProgressLine } from '../progress.js';
import { moduleLog, terminalWidth, wantColor, type CliIO } from '../io.js';

/** Run one layer command: parse, check, write the outputs; the exit code (0 pass, 1 a check failed). */
export function runLayerCommand(spec: LayerSpec, o: Record<string, unknown>, io: CliIO): number {
  const settings = settingsFromOptions(o);
  const request = buildCheckRequest(spec, layerRawCase(spec, o), settings, FLAG_LABELS);
  checkOutputPaths(o);
  const color = { color: o.color as boolean | undefined, json: o.json === true };
  // Progress goes to stderr, only for a terminal, and only once a check has run for a second.
  const progress = io.stderr.isTTY
    ? createProgressLine(io.stderr, wantColor({ ...io, stdout: io.stderr }, color), { width: terminalWidth(io, io.stderr) })
    : undefined;
  const started = performance.now();
  let report: ReturnType<typeof runCheckRequest>;
  try {
    report = runCheckRequest(request, { onProgress: progress?.update, log: moduleLog(io, progress) });
  } finally {
    progress?.done();
  }
  const name = spec.params.length ? `${spec.name} ${paramsText(report.params)}` : spec.name;
  emitRun(
    io,
    o,
    {
      title: `cnn-check ${name}`,
      runName: `cnn-check ${kebabName(spec.name)}`,
      pass: report.pass,
      meta: [generatedLine()],
      checks: { title: 'gradient check', items: [{ name, report, seconds: (performance.now() - started) / 1000 }], summary: false },
    },
    { doc: report, text: () => renderLayerReport(report, wantColor(io, color), terminalWidth(io)) },
  );
  return report.pass ? 0 : 1;
}

/** Register one command per layer; each sets `exit.code`. */
export function registerLayerCommands(program: Command, io: CliIO, exit: { code: number }): void {
  for (const spec of LAYERS) {
    const name = kebabName(spec.name);
    const cmd = program.command(name).description(`check ${spec.summary}`);
    if (name !== spec.name) cmd.alias(spec.name);
    addLayerOptions(cmd, spec);
    addSettingOptions(cmd, () => true);
    addOutputOptions(cmd);
    cmd.action((o: Record<string, unknown>) => {
      exit.code = runLayerCommand(spec, o, io);
    });
  }
}
