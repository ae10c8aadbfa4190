/**
 * `cnn-check list`: the layers with their inputs, params and defaults, as text or JSON. The data
 * comes from the registry here and, at build time, goes into the CLI's manifest, so the fast
 * entry (cli/start.ts) prints the same list without loading the layers.
 */
import type { Command } from 'commander';
import { LAYERS, kebabName } from '../../layers/registry.js';
import { isSettable } from '../../layers/params.js';
import { implNames } from '../../layers/types.js';
import { describeDomain } from '../../settings/domain.js';
import { fmtNum } from '../../text/numbers.js';
import { renderLayerListOutput, type LayerListData } from '../../report/layer-list.js';
import { addOutputOptions } from '../options.js';
import { terminalWidth, wantColor, type CliIO } from '../io.js';

/** The list's data from the registry. */
export function layerListData(): LayerListData {
  const rows = LAYERS.map((l) => ({
    name: kebabName(l.name),
    summary: l.summary,
    inputs: l.inputs.map((i) => (isSettable(i) ? `${i.name} ${(i.shape as number[]).join(',')}` : i.name)).join('  '),
    params: l.params.length
      ? l.params.map((p) => `--${p.flag} ${typeof p.default === 'number' ? fmtNum(p.default) : p.default} (${describeDomain(p)})`).join('; ')
      : '-',
  }));
  const json = LAYERS.map((l) => ({
    name: l.name,
    summary: l.summary,
    inputs: l.inputs.map((i) => ({ name: i.name, grad: i.grad, defaultShape: Array.isArray(i.shape) ? i.shape : null })),
    params: l.params.map((p) => ({
      name: p.name,
      flag: p.flag,
      ...(p.aliases ? { aliases: p.aliases } : {}),
      kind: p.kind,
      default: p.default,
      choices: p.choices,
    })),
    impls: implNames(l),
    tolerance: l.tolerance,
  }));
  return { rows, json };
}

/** Register `list`. */
export function registerListCommand(program: Command, io: CliIO, exit: { code: number }): void {
  const list = program.command('list').description('list the layers with their inputs, params and defaults');
  addOutputOptions(list, { formats: [] });
  list.action((o: { json?: boolean; color?: boolean }) => {
    io.stdout.write(renderLayerListOutput(layerListData(), o.json === true, wantColor(io, o), terminalWidth(io)));
    exit.code = 0;
  });
}
