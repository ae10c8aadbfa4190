#!/usr/bin/env node
/**
 * Write dist/cli/manifest.json from the built program (dist/cli/main.js cliManifest): the
 * commands, options, help groups and the layer list, which the bin's fast entry
 * (dist/cli/start.js) answers --help, --version, list and usage errors from. Run by `npm run build`.
 */
import { writeFileSync } from 'node:fs';
import { cliManifest } from '../dist/cli/main.js';

const out = new URL('../dist/cli/manifest.json', import.meta.url);
writeFileSync(out, `${JSON.stringify(cliManifest())}\n`);
console.log(`build-manifest: wrote ${out.pathname}`);
