/**
 * Fixture commands: `compare` (judge a Python implementation's saved results against the
 * reference), `export` (write a reference fixture), `inspect` (list what a file holds).
 */
import type { Command } from 'commander';
import { isUserError, UsageError } from '../../errors.js';
import { checkOutputPath } from '../../fs/write.js';
import { escapeText } from '../../text/escape.js';
import { loadMembers } from '../../fixtures/load.js';
import { parseFixture } from '../../fixtures/contract.js';
import { compareFixture, type FixtureReport } from '../../fixtures/compare.js';
import { exportFixture } from '../../fixtures/export.js';
import { randomDout } from '../../gradcheck/gradcheck.js';
import { DEFAULT_SEED } from '../../gradcheck/check-layer.js';
import { generateInput } from '../../layers/params.js';
import { LAYERS, kebabName } from '../../layers/registry.js';
import { wantColor, type CliIO } from '../io.js';
import { parseNumberFlag } from '../options.js';
import { renderCompareReports, renderInspect, type InspectRow } from '../render.js';
import { addInputSourceOptions, addLayerOptions, jsonReplacer, layerCaseFromOptions } from './layer.js';
import { checkReportOptions, generatedLine, REPORT_OPTION_HELP, writeHtmlOption } from './suite.js';

function maxBytesFlag(o: Record<string, unknown>): number | undefined {
  return o.maxBytes === undefined ? undefined : parseNumberFlag('max-bytes', o.maxBytes, { integer: true, min: 1, max: Number.MAX_SAFE_INTEGER, what: 'a positive integer number of bytes, at most 2**53-1' });
}

/** A fixture that could not be read or is invalid, in `compare --json`. */
interface InvalidFixture {
  path: string;
  pass: false;
  error: string;
}

export function registerFixtureCommands(program: Command, io: CliIO, exit: { code: number }): void {
  program
    .command('compare')
    .description('recompute fixtures saved from Python with the reference and compare every expected array')
    .argument('<path...>', 'fixtures: .npz files or directories of .npy files with meta')
    .option('--max-error <e>', 'threshold on the relative error (default: 1e-6 for float64 arrays, 1e-4 for float32)')
    .option('--max-bytes <n>', 'largest total array data accepted per fixture, in bytes (default 1 GiB)')
    .option('--json', 'print one JSON document instead of tables')
    .option('--no-color', 'never colour the output')
    .option('--report <file>', REPORT_OPTION_HELP)
    .action((paths: string[], o: Record<string, unknown>) => {
      const maxError = o.maxError === undefined ? undefined : parseNumberFlag('max-error', o.maxError, { min: 0, minExclusive: true, what: 'a positive number such as 1e-6' });
      const maxBytes = maxBytesFlag(o);
      checkReportOptions(o);
      const reports: (FixtureReport | InvalidFixture)[] = [];
      let invalid = 0;
      for (const path of paths) {
        try {
          reports.push(compareFixture(parseFixture(path, loadMembers(path, { maxBytes })), { maxError }));
        } catch (err) {
          if (!isUserError(err)) throw err;
          invalid++;
          reports.push({ path, pass: false, error: err.message });
          io.stderr.write(`cnn-check: ${escapeText(err.message)}\n`);
        }
      }
      const valid = reports.filter((r): r is FixtureReport => !('error' in r));
      const pass = invalid === 0 && valid.every((r) => r.pass);
      if (o.json) io.stdout.write(JSON.stringify({ pass, fixtures: reports }, jsonReplacer, 2) + '\n');
      else if (valid.length) io.stdout.write(renderCompareReports(valid, wantColor(io, o)));
      writeHtmlOption(o, {
        title: 'cnn-check compare', pass, meta: [generatedLine()],
        sections: [{ kind: 'compare', title: 'fixtures against the reference', fixtures: valid, invalid: reports.filter((r): r is InvalidFixture => 'error' in r) }],
      });
      exit.code = invalid ? 2 : pass ? 0 : 1;
    });

  const exportCmd = program
    .command('export')
    .description('write a reference fixture (inputs, dout, out, every gradient) that np.load reads');
  for (const spec of LAYERS) {
    const name = kebabName(spec.name);
    const cmd = exportCmd.command(name).description(`export a ${spec.name} fixture`);
    if (name !== spec.name) cmd.alias(spec.name);
    addLayerOptions(cmd, spec);
    addInputSourceOptions(cmd);
    cmd
      .requiredOption('--out <path>', 'the .npz file to write')
      .option('--seed <n>', `seed of the generated inputs and dout (default ${DEFAULT_SEED})`)
      .option('--force', 'overwrite an existing file')
      .option('--compress', 'deflate the members, like np.savez_compressed')
      .option('--json', 'print what was written as JSON')
      .action((o: Record<string, unknown>) => {
        const seed = o.seed === undefined ? DEFAULT_SEED : parseNumberFlag('seed', o.seed, { integer: true, min: 0, max: 4294967295, what: 'an integer in [0, 4294967295]' });
        const out = String(o.out);
        if (!out.endsWith('.npz')) throw new UsageError(`--out: expected a path ending in .npz, got '${out}'`);
        // Before the computation: a taken name or a missing or read-only directory fails now, not after it.
        checkOutputPath(out, { replace: o.force === true, flag: '--out' });
        const c = layerCaseFromOptions(spec, o, seed);
        spec.check(c.shapes, c.params);
        const inputs = { ...c.inputs };
        for (const input of spec.inputs) inputs[input.name] ??= generateInput(input, c.shapes[input.name], c.rng);
        const dout = c.dout ?? randomDout(c.rng, spec.impls.naive.forward(inputs, c.params).out.shape);
        const members = exportFixture(out, spec, inputs, c.params, dout, { force: o.force === true, compress: o.compress === true });
        if (o.json) io.stdout.write(JSON.stringify({ path: out, layer: spec.name, params: c.params, seed, members }, null, 2) + '\n');
        else io.stdout.write(`wrote ${out}: ${spec.name} ${members.join(', ')} (seed ${seed})\n`);
        exit.code = 0;
      });
  }

  program
    .command('inspect')
    .description('list the members of a .npy, .npz or directory with dtype, shape, order and statistics')
    .argument('<path>', 'a .npy file, a .npz file or a directory of .npy files')
    .option('--max-bytes <n>', 'largest total array data accepted, in bytes (default 1 GiB)')
    .option('--json', 'print one JSON document instead of a table')
    .option('--no-color', 'never colour the output')
    .action((path: string, o: Record<string, unknown>) => {
      const members = loadMembers(path, { maxBytes: maxBytesFlag(o) });
      const rows: InspectRow[] = [];
      for (const [name, m] of members) {
        if (m.kind === 'string') {
          rows.push({ name, dtype: m.dtype, shape: [], order: '-', value: m.value });
          continue;
        }
        let min = Infinity, max = -Infinity, sum = 0, nan = 0, finite = 0;
        for (const v of m.data) {
          if (Number.isNaN(v)) { nan++; continue; }
          if (v < min) min = v;
          if (v > max) max = v;
          if (Number.isFinite(v)) { sum += v; finite++; }
        }
        rows.push({
          name, dtype: m.dtype, shape: m.shape, order: m.fortranOrder ? 'F' : 'C',
          min: m.data.length - nan ? min : null, max: m.data.length - nan ? max : null,
          mean: finite ? sum / finite : null, nanCount: nan,
        });
      }
      if (o.json) io.stdout.write(JSON.stringify({ path, members: rows }, jsonReplacer, 2) + '\n');
      else io.stdout.write(renderInspect(path, rows, wantColor(io, o)));
      exit.code = 0;
    });
}
