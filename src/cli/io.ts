/**
 * The CLI's view of its process: output streams, environment and terminal state.
 * Tests pass their own to run the CLI in-process.
 */
export interface OutStream {
  write(chunk: string): unknown;
  isTTY?: boolean;
  /** The terminal's width, when the stream is one. */
  columns?: number;
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

/** Width output is fitted to when neither the terminal nor COLUMNS says (CI logs, pipes). */
export const FALLBACK_COLUMNS = 80;

/** The width to fit output to: the terminal's, else COLUMNS, else 80. */
export function terminalWidth(io: CliIO, stream: OutStream = io.stdout): number {
  if (stream.isTTY && stream.columns && stream.columns > 0) return stream.columns;
  const env = Number(io.env.COLUMNS);
  return Number.isInteger(env) && env > 0 ? env : FALLBACK_COLUMNS;
}

/** True when an environment variable is set to something other than empty, `0` or `false`. */
function enabled(v: string | undefined): boolean {
  return v !== undefined && v !== '' && v !== '0' && v.toLowerCase() !== 'false';
}

/**
 * Colour: never with --no-color or machine-readable output; always with FORCE_COLOR (a
 * non-empty value other than 0/false, see force-color.org); never with NO_COLOR (any non-empty
 * value, see no-color.org); otherwise only for a terminal.
 */
export function wantColor(io: CliIO, opts: { color?: boolean; json?: boolean }): boolean {
  if (opts.json || opts.color === false) return false;
  if (enabled(io.env.FORCE_COLOR)) return true;
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
