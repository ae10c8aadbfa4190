/**
 * Fixture commands: `compare` (judge a Python implementation's saved results against the
 * reference), `export` (write a reference fixture), `inspect` (list what a file holds).
 */
import { Option, type Command } from 'commander';
import { isUserError, UsageError } from '../../errors.js';
import { checkOutputPath } from '../../fs/write.js';
import { escapeText } from '../../text/escape.js';
import { loadMembers } from '../../fixtures/load.js';
import { dtypeDisplayName } from '../../npy/format.js';
import { parseFixture } from '../../fixtures/contract.js';
import { compareFixture, type FixtureReport } from '../../fixtures/compare.js';
import { exportFixture } from '../../fixtures/export.js';
import { makeRng } from '../../fixtures/inputs.js';
import { generateInput } from '../../layers/params.js';
import { LAYERS, kebabName } from '../../layers/registry.js';
import { buildCheckRequest, FLAG_LABELS } from '../../request/request.js';
import { estimateExportMemory } from '../../memory/work.js';
import { generatedLine } from '../../report/format.js';
import { renderJson } from '../../report/json.js';
import type { InvalidFixture } from '../../report/model.js';
import { renderCompareReports, renderInspect, type InspectRow } from '../../report/terminal.js';
import { randn } from '../../tensor/rng.js';
import { terminalWidth, wantColor, type CliIO } from '../io.js';
import { addLayerOptions, addOutputOptions, addSettingOptions, HELP_GROUPS, layerRawCase, settingsFromOptions } from '../options.js';
import { checkOutputPaths, emitRun } from '../outputs.js';

export function registerFixtureCommands(program: Command, io: CliIO, exit: { code: number }): void {
  const compare = program
    .command('compare')
    .description('recompute fixtures saved from Python with the reference and compare every expected array')
    .argument('<path...>', 'fixtures: .npz files or directories of .npy files with meta');
  addSettingOptions(compare, (x) => x.key === 'maxError' || x.key === 'maxBytes' || x.key === 'maxMemory');
  addOutputOptions(compare);
  compare.action((paths: string[], o: Record<string, unknown>) => {
    const settings = settingsFromOptions(o);
    checkOutputPaths(o);
    const reports: (FixtureReport | InvalidFixture)[] = [];
    let invalid = 0;
    for (const path of paths) {
      try {
        reports.push(
          compareFixture(parseFixture(path, loadMembers(path, { maxBytes: settings.maxBytes })), {
            maxError: settings.maxError,
            maxMemory: settings.maxMemory,
            memoryLabel: '--max-memory',
          }),
        );
      } catch (err) {
        if (!isUserError(err)) throw err;
        invalid++;
        reports.push({ path, pass: false, error: err.message });
        io.stderr.write(`cnn-check: ${escapeText(err.message)}\n`);
      }
    }
    const valid = reports.filter((r): r is FixtureReport => !('error' in r));
    const pass = invalid === 0 && valid.every((r) => r.pass);
    emitRun(
      io,
      o,
      {
        title: 'cnn-check compare',
        runName: 'cnn-check compare',
        pass,
        meta: [generatedLine()],
        fixtures: { title: 'fixtures against the reference', items: valid, invalid: reports.filter((r): r is InvalidFixture => 'error' in r) },
      },
      { doc: { pass, fixtures: reports }, text: () => (valid.length ? renderCompareReports(valid, wantColor(io, o), terminalWidth(io)) : '') },
    );
    exit.code = invalid ? 2 : pass ? 0 : 1;
  });

  const exportCmd = program.command('export').description('write a reference fixture (inputs, dout, out, every gradient) that np.load reads');
  for (const spec of LAYERS) {
    const name = kebabName(spec.name);
    const cmd = exportCmd.command(name).description(`export ${/^[aeiou]/.test(spec.name) ? 'an' : 'a'} ${spec.name} fixture`);
    if (name !== spec.name) cmd.alias(spec.name);
    cmd.addOption(new Option('--out <path>', 'the .npz file to write').helpGroup(HELP_GROUPS.output).makeOptionMandatory());
    addLayerOptions(cmd, spec);
    addSettingOptions(cmd, (x) => x.group === 'inputs' || x.key === 'maxMemory');
    cmd.addOption(new Option('--force', 'overwrite an existing file').helpGroup(HELP_GROUPS.output));
    cmd.addOption(new Option('--compress', 'deflate the members, like np.savez_compressed').helpGroup(HELP_GROUPS.output));
    cmd.addOption(new Option('--json', 'print what was written as JSON').helpGroup(HELP_GROUPS.output));
    cmd.action((o: Record<string, unknown>) => {
      const out = String(o.out);
      if (!out.endsWith('.npz')) throw new UsageError(`--out: expected a path ending in .npz, got '${escapeText(out)}'`);
      // Before the computation: a taken name or a missing or read-only directory fails now, not after it.
      checkOutputPath(out, { replace: o.force === true, flag: '--out' });
      const settings = settingsFromOptions(o);
      const compress = o.compress === true;
      const req = buildCheckRequest(spec, layerRawCase(spec, o), settings, FLAG_LABELS, process.cwd(), {
        what: 'its export',
        estimate: (shapes, params) => estimateExportMemory(spec, shapes, params, { compress }),
      });
      const rng = makeRng(settings.rng, settings.seed);
      const inputs = { ...req.inputs };
      for (const input of spec.inputs) inputs[input.name] ??= generateInput(input, req.shapes[input.name], rng, req.shapes);
      const dout = req.dout ?? randn(rng, spec.impls.naive.forward(inputs, req.params).out.shape);
      const members = exportFixture(out, spec, inputs, req.params, dout, { force: o.force === true, compress });
      if (o.json) io.stdout.write(renderJson({ path: out, layer: spec.name, params: req.params, seed: settings.seed, members }));
      else io.stdout.write(`wrote ${out}: ${spec.name} ${members.join(', ')} (seed ${settings.seed})\n`);
      exit.code = 0;
    });
  }

  const inspect = program
    .command('inspect')
    .description('list the members of a .npy, .npz or directory with dtype, shape, order and statistics')
    .argument('<path>', 'a .npy file, a .npz file or a directory of .npy files');
  addSettingOptions(inspect, (x) => x.key === 'maxBytes');
  addOutputOptions(inspect, { formats: [] });
  inspect.action((path: string, o: Record<string, unknown>) => {
    const members = loadMembers(path, { maxBytes: settingsFromOptions(o).maxBytes });
    const rows: InspectRow[] = [];
    for (const [name, m] of members) {
      if (m.kind === 'string') {
        rows.push({ name, dtype: dtypeDisplayName(m.dtype), descr: m.dtype, shape: [], order: '-', value: m.value });
        continue;
      }
      let min = Infinity,
        max = -Infinity,
        sum = 0,
        nan = 0,
        finite = 0;
      for (const v of m.data) {
        if (Number.isNaN(v)) {
          nan++;
          continue;
        }
        if (v < min) min = v;
        if (v > max) max = v;
        if (Number.isFinite(v)) {
          sum += v;
          finite++;
        }
      }
      rows.push({
        name,
        dtype: dtypeDisplayName(m.dtype),
        descr: m.dtype,
        shape: m.shape,
        order: m.fortranOrder ? 'F' : 'C',
        min: m.data.length - nan ? min : null,
        max: m.data.length - nan ? max : null,
        mean: finite ? sum / finite : null,
        nanCount: nan,
      });
    }
    if (o.json) io.stdout.write(renderJson({ path, members: rows }));
    else io.stdout.write(renderInspect(path, rows, wantColor(io, o), terminalWidth(io)));
    exit.code = 0;
  });
}
