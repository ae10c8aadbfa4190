#!/usr/bin/env node
// Thin: the CLI is the compiled dist/cli/main.js (built by `npm install`, or `npm run build`).
let main;
try {
  ({ main } = await import('../dist/cli/main.js'));
} catch (err) {
  if (err?.code !== 'ERR_MODULE_NOT_FOUND' || !String(err.message).includes('/dist/')) throw err;
  const root = new URL('..', import.meta.url).pathname;
  process.stderr.write(`cnn-check: ${root}dist/ is missing: expected a built package: run \`npm install\` (or \`npm run build\`) in ${root}\n`);
  process.exit(2);
}
process.exitCode = await main(process.argv.slice(2));
