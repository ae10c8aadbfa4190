/**
 * The CLI's view of its process: output streams, environment and terminal state.
 * Tests pass their own to run the CLI in-process.
 */
export interface OutStream {
  write(chunk: string): unknown;
  isTTY?: boolean;
}

export interface CliIO {
  stdout: OutStream;
  stderr: OutStream;
  env: Record<string, string | undefined>;
}

/** The real process's streams and environment. */
export function processIO(): CliIO {
  return { stdout: process.stdout, stderr: process.stderr, env: process.env };
}

/**
 * Colour only for a terminal, never with NO_COLOR set (any non-empty value, see
 * no-color.org), --no-color, or machine-readable output.
 */
export function wantColor(io: CliIO, opts: { color?: boolean; json?: boolean }): boolean {
  if (opts.json || opts.color === false) return false;
  const noColor = io.env.NO_COLOR;
  if (noColor !== undefined && noColor !== '') return false;
  return io.stdout.isTTY === true;
}

/**
 * Where a user module's own output goes: stderr, each line marked with the module's file name
 * (`[conv.mjs] ...`), so stdout stays the report (one JSON document with --json). A progress
 * line being drawn is erased first; it is redrawn at the next update.
 */
export function moduleLog(io: CliIO, progress?: { done(): void }): (module: string, line: string) => void {
  return (module, line) => {
    progress?.done();
    io.stderr.write(`[${module}] ${line}\n`);
  };
}
