import type { CliIO } from '../../src/cli/io.js';
import { cliManifest } from '../../src/cli/main.js';
import type { CliManifest } from '../../src/cli/manifest.js';
import { start } from '../../src/cli/start.js';

let manifest: CliManifest | undefined;

/** Result of an in-process CLI run. */
export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Run the CLI in-process with captured streams, through the bin's entry (start.ts: help, list
 * and usage errors from the manifest, everything else handed to main.ts). Output is fitted to
 * COLUMNS: 200 unless the test sets it (the tests of narrow terminals do), so tables keep every
 * column.
 */
export async function run(argv: string[], opts: { isTTY?: boolean; env?: Record<string, string> } = {}): Promise<RunResult> {
  let stdout = '';
  let stderr = '';
  const io: CliIO = {
    stdout: { write: (s: string) => (stdout += s), isTTY: opts.isTTY ?? false },
    stderr: { write: (s: string) => (stderr += s), isTTY: false },
    env: { COLUMNS: '200', ...(opts.env ?? {}) },
  };
  manifest ??= cliManifest();
  const code = await start(argv, io, manifest);
  return { code, stdout, stderr };
}
