/**
 * The bin's entry: answers `--help`, `--version`, `list` and commander's own usage errors from
 * the manifest (manifest.ts) without loading the layers, kernels and renderers, and hands every
 * other command line to the full program (main.ts), which parses it again and runs it. Without
 * a readable manifest of this format (a build that did not write one) everything goes to main.
 * Imports only light modules: commander and text helpers.
 */
import { readFileSync } from 'node:fs';
import { CommanderError } from './commander.js';
import { EXIT, commanderExit, finishProgram } from './configure.js';
import { processIO, terminalWidth, wantColor, type CliIO } from './io.js';
import { MANIFEST_FORMAT, layerExamplesOf, programFromManifest, type CliManifest } from './manifest.js';

/** The manifest next to this file, or null when missing, unreadable or of another format. */
export function readManifest(): CliManifest | null {
  try {
    const m = JSON.parse(readFileSync(new URL('./manifest.json', import.meta.url), 'utf8')) as CliManifest;
    return m.format === MANIFEST_FORMAT ? m : null;
  } catch {
    return null;
  }
}

/** Run the CLI on `argv` (without node and script); returns the exit code. */
export async function start(argv: string[], io: CliIO = processIO(), manifest: CliManifest | null = readManifest()): Promise<number> {
  const full = async () => (await import('./main.js')).main(argv, io);
  if (!manifest) return full();
  let handOver = false;
  let list: Record<string, unknown> | undefined;
  const program = programFromManifest(
    manifest,
    (path, o) => {
      if (path.length === 1 && path[0] === 'list') list = o;
      else handOver = true;
    },
    argv,
  );
  finishProgram(program, io, layerExamplesOf(manifest));
  if (argv.length === 0) {
    program.outputHelp();
    return EXIT.usage;
  }
  try {
    await program.parseAsync(argv, { from: 'user' });
  } catch (err) {
    if (err instanceof CommanderError) return commanderExit(err);
    throw err;
  }
  if (list) {
    const { renderLayerListOutput } = await import('../report/layer-list.js');
    io.stdout.write(renderLayerListOutput(manifest.list, list.json === true, wantColor(io, list), terminalWidth(io)));
  }
  return handOver ? full() : EXIT.ok;
}
