#!/usr/bin/env node
// Thin: the CLI is the compiled dist/cli/start.js (built by `npm install`, or `npm run build`).
let start;
try {
  ({ start } = await import('../dist/cli/start.js'));
} catch (err) {
  if (err?.code !== 'ERR_MODULE_NOT_FOUND' || !String(err.message).includes('/dist/')) throw err;
  const root = new URL('..', import.meta.url).pathname;
  process.stderr.write(`cnn-check: ${root}dist/ is missing: expected a built package: run \`npm install\` (or \`npm run build\`) in ${root}\n`);
  process.exit(2);
}
// A reader that stops early (`cnn-check list | head`) closes the pipe: stop quietly, as cat does.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (err) => {
    if (err.code !== 'EPIPE') throw err;
    process.exit(process.exitCode ?? 0);
  });
}
process.exitCode = await start(process.argv.slice(2));
