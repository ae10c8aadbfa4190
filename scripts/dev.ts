/**
 * The CLI from the TypeScript sources, without a build: `npm run dev -- conv --stride 2`.
 * Runs the full program (src/cli/main.ts); the bin's fast entry needs the built manifest.
 */
import { main } from '../src/cli/main.js';

process.exitCode = await main(process.argv.slice(2));
