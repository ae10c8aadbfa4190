/**
 * Global setup: some tests spawn the built CLI (bin/cnn-check.js -> dist/), so a dist/ older
 * than src/ would test yesterday's code. `npm test` builds first; a bare `vitest run` after an
 * edit stops here with what to do, instead of passing or failing on stale code.
 */
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));

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

export default function setup(): void {
  const src = newest(join(root, 'src'), (n) => n.endsWith('.ts') || n.endsWith('.wat'));
  let built: number;
  try {
    built = statSync(join(root, 'dist', 'cli', 'main.js')).mtimeMs;
  } catch {
    throw new Error('dist/ is missing: run `npm run build` first (`npm test` does it)');
  }
  if (src.ms > built) {
    throw new Error(`dist/ is older than ${src.file.slice(root.length)}: run \`npm run build\` first (\`npm test\` does it)`);
  }
}
