#!/usr/bin/env node
/**
 * The build `npm test` runs first: `npm run build` when dist/ is missing or older than anything
 * it is made from (src/, scripts/, package.json, tsconfig.json), and nothing when it is current:
 * tsc alone takes ~2 s to find that nothing changed. `npm run build` always builds.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
let why = 'dist/ is missing';
try {
  const { staleDist } = await import('../dist/workers.js');
  why = staleDist(root, ['src', 'scripts', 'package.json', 'tsconfig.json']);
} catch {
  // No dist/workers.js: nothing was built yet.
}
if (why) {
  console.log(`build-if-stale: ${why}: npm run build`);
  const r = spawnSync('npm', ['run', 'build'], { cwd: root, stdio: 'inherit', shell: process.platform === 'win32' });
  process.exit(r.status ?? 1);
}
