import type { CliIO } from '../../src/cli/io.js';
import { main } from '../../src/cli/main.js';

/** Result of an in-process CLI run. */
export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Run the CLI in-process with captured streams. Output is fitted to COLUMNS: 200 unless the
 * test sets it (the tests of narrow terminals do), so tables keep every column.
 */
export async function run(argv: string[], opts: { isTTY?: boolean; env?: Record<string, string> } = {}): Promise<RunResult> {
  let stdout = '';
  let stderr = '';
  const io: CliIO = {
    stdout: { write: (s: string) => (stdout += s), isTTY: opts.isTTY ?? false },
    stderr: { write: (s: string) => (stderr += s), isTTY: false },
    env: { COLUMNS: '200', ...(opts.env ?? {}) },
  };
  const code = await main(argv, io);
  return { code, stdout, stderr };
}
