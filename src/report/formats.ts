/**
 * The output formats a run can be written in besides the terminal and `--json`: each is one
 * file in report/ registered here. File formats are asked for by a flag (`--junit FILE.xml`,
 * `--report FILE.html`); stream formats switch on from the environment (GitHub Actions
 * annotations). Commands offer every registered format and write them with one function
 * (cli/outputs.ts), so a new format is its file plus one entry below.
 */
import { renderJunit } from './junit.js';
import { renderHtmlReport } from './html.js';
import { failureAnnotations, inGithubActions } from './github.js';
import type { RunReport } from './model.js';

/** A format written to a file named by a flag. */
export interface FileFormat {
  /** The flag without dashes: `junit`. */
  flag: string;
  /** Accepted extensions, lower case: a typo cannot replace a fixture or a baseline (see files.ts). */
  extensions: readonly string[];
  help: string;
  render(run: RunReport): string;
}

/** A format written as lines to the command's output when the environment asks for it. */
export interface StreamFormat {
  name: string;
  enabled(env: Record<string, string | undefined>): boolean;
  render(run: RunReport): string[];
}

export const FILE_FORMATS: readonly FileFormat[] = [
  {
    flag: 'junit',
    extensions: ['.xml'],
    help: 'also write JUnit XML: one testcase per check and gradient (.xml; replaced if it exists)',
    render: (run) => renderJunit(run),
  },
  {
    flag: 'report',
    extensions: ['.html', '.htm'],
    help: 'also write a self-contained HTML report: tables, heatmaps of errors, charts (.html; replaced if it exists)',
    render: renderHtmlReport,
  },
];

export const STREAM_FORMATS: readonly StreamFormat[] = [{ name: 'github', enabled: inGithubActions, render: failureAnnotations }];

/** The file format behind `--<flag>`. */
export function fileFormat(flag: string): FileFormat {
  const f = FILE_FORMATS.find((x) => x.flag === flag);
  if (!f) throw new Error(`no file format --${flag}`);
  return f;
}
