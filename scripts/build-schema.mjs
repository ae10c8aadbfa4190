#!/usr/bin/env node
/**
 * Write schema/suite.schema.json from the built code (dist/suite/json-schema.js), so the
 * published JSON Schema of suite files follows the settings schema. `npm run schema` runs it;
 * a test fails when the committed file is not what this writes.
 */
import { writeFileSync } from 'node:fs';
import { suiteJsonSchema } from '../dist/suite/json-schema.js';

const out = new URL('../schema/suite.schema.json', import.meta.url);
writeFileSync(out, `${JSON.stringify(suiteJsonSchema(), null, 2)}\n`);
console.log(`build-schema: wrote ${out.pathname}`);
