/**
 * Writing a run's outputs: the document on stdout (`--json`) or the terminal text, every
 * registered file format the command was asked for, and the stream formats the environment
 * switches on (GitHub annotations go to stdout, or to stderr with `--json` so that stdout stays
 * one document). Output paths are checked before the run.
 */
import { FILE_FORMATS, STREAM_FORMATS } from '../report/formats.js';
import { checkReportPath, writeReportFile } from '../report/files.js';
import { renderJson } from '../report/json.js';
import type { RunReport } from '../report/model.js';
import { optionKey } from './options.js';
import type { CliIO } from './io.js';

/** Check every file-format path a command was given, before anything runs. */
export function checkOutputPaths(o: Record<string, unknown>): void {
  for (const f of FILE_FORMATS) {
    const path = o[optionKey(f.flag)];
    if (path !== undefined) checkReportPath(f.flag, String(path));
  }
}

/** Write a run: `doc` as JSON or `text` on stdout, then the file and stream formats. */
export function emitRun(io: CliIO, o: Record<string, unknown>, run: RunReport, out: { doc: unknown; text: () => string }): void {
  io.stdout.write(o.json ? renderJson(out.doc) : out.text());
  for (const f of FILE_FORMATS) {
    const path = o[optionKey(f.flag)];
    if (path !== undefined) writeReportFile(f.flag, String(path), f.render(run));
  }
  for (const s of STREAM_FORMATS) {
    if (o.annotations === false || !s.enabled(io.env)) continue;
    const lines = s.render(run);
    if (lines.length) (o.json ? io.stderr : io.stdout).write(`${lines.join('\n')}\n`);
  }
}
