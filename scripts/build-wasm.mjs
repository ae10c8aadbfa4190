#!/usr/bin/env node
/**
 * Assemble src/kernels/wasm/*.wat into dist/kernels/wasm/*.wasm with wabt's JS build (no native binary).
 * Run by `npm run build`; the loader (src/kernels/wasm/load.ts) falls back to the JS kernels when the
 * .wasm file is missing, so a failed assembly is reported here rather than at run time.
 */
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import wabtInit from 'wabt';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const srcDir = join(root, 'src', 'kernels', 'wasm');
const outDir = join(root, 'dist', 'kernels', 'wasm');
/** Post-MVP features the kernels use: 128-bit SIMD, shared memory (threads), memory.fill (bulk memory). */
const FEATURES = { simd: true, threads: true, bulk_memory: true };

const wabt = await wabtInit();
mkdirSync(outDir, { recursive: true });
for (const file of readdirSync(srcDir).filter((f) => f.endsWith('.wat'))) {
  let mod;
  try {
    mod = wabt.parseWat(file, readFileSync(join(srcDir, file), 'utf8'), FEATURES);
    mod.resolveNames();
    mod.validate(FEATURES);
    const { buffer } = mod.toBinary({ log: false, write_debug_names: false });
    const out = join(outDir, file.replace(/\.wat$/, '.wasm'));
    writeFileSync(out, buffer);
    console.log(`build-wasm: ${file} -> ${out.slice(root.length + 1)} (${buffer.length} bytes)`);
  } catch (err) {
    // wabt's errors carry the assembler's own message; its stack is the minified emscripten build.
    console.error(`build-wasm: ${file}: ${err instanceof Error ? err.message : String(err)}`);
    process.exitCode = 1;
  } finally {
    mod?.destroy();
  }
}
