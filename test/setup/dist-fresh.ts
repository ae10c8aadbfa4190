/**
 * Global setup: some tests spawn the built CLI (bin/cnn-check.js -> dist/), and workers started
 * from the sources run their compiled twins (src/workers.ts), so a dist/ older than src/ would
 * test yesterday's code. `npm test` builds first; a bare `vitest run` after an edit stops here
 * with what to do, instead of passing or failing on stale code.
 */
import { staleDist } from '../../src/workers.js';

export default function setup(): void {
  const why = staleDist();
  if (why) throw new Error(`${why}: run \`npm run build\` first (\`npm test\` does it)`);
}
