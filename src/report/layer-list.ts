/**
 * `cnn-check list` as text: one block per layer (name and summary, then its inputs with their
 * default shapes, then its params with defaults and domains), wrapped to the terminal. The rows
 * are plain data, built from the registry by the list command and stored in the CLI's manifest
 * at build time, so the fast entry (cli/start.ts) prints the list without loading the layers.
 * Light on purpose: no chalk (its bold is the two escape codes below).
 */
import { wrapText } from '../text/wrap.js';
import { renderJson } from './json.js';

/** One layer of the list, as text. */
export interface LayerListRow {
  /** The command name: `spatial-batchnorm`. */
  name: string;
  summary: string;
  /** `x 4,3,5,5  w 2,3,3,3  b 2`. */
  inputs: string;
  /** `--stride 1 (an integer >= 1); --pad 0 (...)`, or `-`. */
  params: string;
}

/** What `list` prints: the text rows and the `--json` document's layers. */
export interface LayerListData {
  rows: LayerListRow[];
  json: unknown[];
}

/** Bold as chalk writes it at level 1 (SGR 1 on, 22 off). */
function bold(s: string, color: boolean): string {
  return color ? `\x1b[1m${s}\x1b[22m` : s;
}

/** The list: a block of up to three wrapped lines per layer. */
export function renderLayerList(rows: readonly LayerListRow[], color: boolean, width: number): string {
  const blocks = rows.map((r) =>
    [
      wrapText(`${bold(r.name, color)}  ${r.summary}`, width, '    '),
      wrapText(`  inputs: ${r.inputs}`, width, '          '),
      wrapText(`  params: ${r.params}`, width, '          '),
    ].join('\n'),
  );
  return `${blocks.join('\n')}\n`;
}

/** `list`'s output: the `--json` document, or the text. */
export function renderLayerListOutput(data: LayerListData, json: boolean, color: boolean, width: number): string {
  return json ? renderJson({ layers: data.json }) : renderLayerList(data.rows, color, width);
}
