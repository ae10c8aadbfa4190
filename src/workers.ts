/**
 * Where a worker thread's code comes from.
 *
 * The package runs compiled JavaScript (dist/), and a worker starts from the compiled entry beside
 * the module that starts it. Running from the TypeScript sources (the tests, tsx scripts), the
 * worker starts from the same entry's compiled twin in dist/ when dist/ is current, that is, no
 * file under src/ is newer than the build: starting it through tsx instead registers a loader
 * thread in the worker and transforms every file it imports, ~110 ms a worker (measured here: a
 * user module's worker starts in 160 ms through tsx, 50 ms compiled), and the tests start about
 * ninety module workers. With dist/ missing or older than src/, the worker registers tsx and loads
 * the .ts entry, so an edit is never run as yesterday's code.
 *
 * The shared worker pool (kernels/parallel/pool.ts) does not go through here: its workers import
 * the modules tasks live in by the caller's URL, which from the sources is a .ts file.
 */
import { createRequire } from 'node:module';
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

/** The package's root: this file is src/workers.ts or dist/workers.js. */
const ROOT = fileURLToPath(new URL('..', import.meta.url));

/**
 * The file whose modification time stands for the build: its last step writes it every time
 * (scripts/build-manifest.mjs), while tsc, incremental, rewrites only the outputs that change.
 */
export const BUILD_STAMP = join('dist', 'cli', 'manifest.json');

/** How to start a worker: a file: URL, or (eval) code for `new Worker(code, { eval: true })`. */
export interface WorkerEntry {
  entry: string;
  eval: boolean;
}

/** The newest modification time under `dir` among files `keep` accepts, and that file. */
function newest(dir: string, keep: (name: string) => boolean): { ms: number; file: string } {
  let best = { ms: 0, file: '' };
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    const found = entry.isDirectory() ? newest(path, keep) : keep(entry.name) ? { ms: statSync(path).mtimeMs, file: path } : best;
    if (found.ms > best.ms) best = found;
  }
  return best;
}

/**
 * Why dist/ under `root` does not hold what it is built from: missing, or older than a file of
 * `sources` (directories or files relative to `root`; by default src/), named relative to `root`;
 * undefined when it is current.
 */
export function staleDist(root: string = ROOT, sources: readonly string[] = ['src']): string | undefined {
  let built: number;
  try {
    built = statSync(join(root, BUILD_STAMP)).mtimeMs;
  } catch {
    return 'dist/ is missing';
  }
  const keep = (n: string) => /\.(ts|wat|mjs|json)$/.test(n);
  let src = { ms: 0, file: '' };
  for (const s of sources) {
    const path = join(root, s);
    const found = statSync(path).isDirectory() ? newest(path, keep) : { ms: statSync(path).mtimeMs, file: path };
    if (found.ms > src.ms) src = found;
  }
  return src.ms > built ? `dist/ is older than ${relative(root, src.file)}` : undefined;
}

/** Whether this process may start workers from dist/ while running from src/ (decided once). */
let distCurrent: boolean | undefined;

/**
 * The entry of the worker `name` (e.g. './worker.js') beside the module at `from` (its
 * import.meta.url): compiled, from dist/ also when `from` is a source file and dist/ is current,
 * else the .ts source behind tsx.
 */
export function workerEntry(from: string, name: string): WorkerEntry {
  const compiled = new URL(name, from);
  if (!from.endsWith('.ts')) return { entry: compiled.href, eval: false };
  distCurrent ??= staleDist() === undefined;
  if (distCurrent) {
    const twin = join(ROOT, 'dist', relative(join(ROOT, 'src'), fileURLToPath(compiled)));
    return { entry: pathToFileURL(twin).href, eval: false };
  }
  const api = resolveTsxApi(from);
  if (!api) throw new Error(`running from the TypeScript sources with ${BUILD_STAMP} out of date needs tsx to start a worker`);
  const source = new URL(name.replace(/\.js$/, '.ts'), from).href;
  return { entry: `import(${JSON.stringify(api)}).then((m) => { m.register(); return import(${JSON.stringify(source)}); });`, eval: true };
}

/** The resolved file: URL of `tsx/esm/api` as seen from `from` (a file: URL or path), or undefined. */
export function resolveTsxApi(from: string): string | undefined {
  try {
    return pathToFileURL(createRequire(from).resolve('tsx/esm/api')).href.replace(/\.cjs$/, '.mjs');
  } catch {
    return undefined;
  }
}
