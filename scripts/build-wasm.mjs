#!/usr/bin/env node
/**
 * Assemble the WebAssembly kernels with wabt's JS build (no native binary), run by `npm run build`.
 *
 * The fragments src/kernels/wasm/*.wat (functions only, in file-name order) are wrapped in one
 * module with one shared memory, `(module (memory (export "memory") 1 16384 shared) ...)`, and
 * assembled twice:
 *
 *  - dist/kernels/wasm/kernels.wasm: as written, 128-bit SIMD only (every engine with WebAssembly
 *    SIMD: Node >= 16.4).
 *  - dist/kernels/wasm/kernels-relaxed.wasm: every multiply-add written as
 *    `(fNxM.add (local.get $acc) (fNxM.mul X Y))`, X and Y each a `(local.get $v)`, rewritten to
 *    `(fNxM.relaxed_madd X Y (local.get $acc))` from the relaxed-SIMD proposal, which the engine
 *    may lower to a fused multiply-add (V8 on x64 with FMA3 emits vfmadd231pd / vfmadd231ps).
 *    Node 20 validates it only after `--experimental-wasm-relaxed-simd` (src/kernels/wasm/load.ts
 *    sets it); Node >= 22 has relaxed SIMD on by default.
 *
 * wabt 1.0.39's JS build assembles relaxed-SIMD opcodes when its `relaxed_simd` feature is on (the
 * opcode of f64x2.relaxed_madd is 0xfd 0x87 0x02, i.e. 0x107, as in the final proposal), so no bytes
 * are emitted by hand. Were a wabt without that feature installed, the relaxed build would fail and be
 * skipped with a message; the loader then uses kernels.wasm.
 *
 * The loader falls back to the JS kernels when kernels.wasm is missing, so a failed assembly is
 * reported here (exit code 1) rather than at run time.
 */
import { mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import wabtInit from 'wabt';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const srcDir = join(root, 'src', 'kernels', 'wasm');
const outDir = join(root, 'dist', 'kernels', 'wasm');
/** Post-MVP features the kernels use: 128-bit SIMD, shared memory (threads), memory.fill (bulk memory). */
const FEATURES = { simd: true, threads: true, bulk_memory: true };
/** The same plus relaxed SIMD, for the FMA build. */
const RELAXED_FEATURES = { ...FEATURES, relaxed_simd: true };
/** The memory every fragment shares: 1 page to start, at most 16384 pages (1 GiB), shared so growing never detaches views. */
const MEMORY = '(memory (export "memory") 1 16384 shared)';

/** `(fNxM.add (local.get $acc) (fNxM.mul (local.get $x) (local.get $y)))` and nothing else. */
const MULTIPLY_ADD = /\((f64x2|f32x4)\.add \(local\.get (\$[\w.]+)\) \(\1\.mul (\(local\.get \$[\w.]+\)) (\(local\.get \$[\w.]+\))\)\)/g;

/** The relaxed source: every multiply-add of the form above fused; returns the source and the count. */
function relaxedSource(source) {
  let count = 0;
  const out = source.replace(MULTIPLY_ADD, (_, type, acc, x, y) => {
    count++;
    return `(${type}.relaxed_madd ${x} ${y} (local.get ${acc}))`;
  });
  return { source: out, count };
}

function assemble(wabt, name, source, features) {
  let mod;
  try {
    mod = wabt.parseWat(name, source, features);
    mod.resolveNames();
    mod.validate(features);
    return mod.toBinary({ log: false, write_debug_names: false }).buffer;
  } finally {
    mod?.destroy();
  }
}

const fragments = readdirSync(srcDir).filter((f) => f.endsWith('.wat')).sort();
const body = fragments.map((f) => `;; ---- ${f}\n${readFileSync(join(srcDir, f), 'utf8')}`).join('\n');
const source = `(module\n${MEMORY}\n${body}\n)\n`;
const relaxed = relaxedSource(source);

const wabt = await wabtInit();
mkdirSync(outDir, { recursive: true });
rmSync(join(outDir, 'gemm.wasm'), { force: true }); // the single-file module of earlier builds
for (const [file, src, features, note] of [
  ['kernels.wasm', source, FEATURES, 'SIMD128'],
  ['kernels-relaxed.wasm', relaxed.source, RELAXED_FEATURES, `relaxed SIMD, ${relaxed.count} multiply-adds fused`],
]) {
  const out = join(outDir, file);
  try {
    const buffer = assemble(wabt, file.replace(/\.wasm$/, '.wat'), src, features);
    writeFileSync(out, buffer);
    console.log(`build-wasm: ${fragments.join(' + ')} -> ${out.slice(root.length + 1)} (${buffer.length} bytes, ${note})`);
  } catch (err) {
    // wabt's errors carry the assembler's own message; its stack is the minified emscripten build.
    console.error(`build-wasm: ${file}: ${err instanceof Error ? err.message : String(err)}`);
    rmSync(out, { force: true });
    if (file === 'kernels.wasm') process.exitCode = 1;
  }
}
