#!/usr/bin/env node
/**
 * Assemble the WebAssembly kernels with wabt's JS build (no native binary), run by `npm run build`.
 *
 * Two modules, each from fragments (functions only, in file-name order):
 *  - kernels: src/kernels/wasm/*.wat, wrapped as `(module (memory (export "memory") 1 16384 shared) ...)`:
 *    each thread instantiates it with a memory of its own (GEMM, im2col, Winograd, direct conv).
 *  - shared-kernels: src/kernels/wasm/shared/*.wat, wrapped as
 *    `(module (import "env" "memory" (memory 1 16384 shared)) ...)`: instantiated on the shared arena
 *    (src/kernels/parallel/shared.ts), so every thread works in place on the same data (norms, pooling).
 * Each is assembled twice:
 *
 *  - NAME.wasm: as written, 128-bit SIMD only (every engine with WebAssembly SIMD: Node >= 16.4).
 *  - NAME-relaxed.wasm: every multiply-add written as
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
/** The kernels module's own memory: 1 page to start, at most 16384 pages (1 GiB), shared so growing never detaches views. */
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

const MODULES = [
  { name: 'kernels', dir: srcDir, memory: MEMORY },
  { name: 'shared-kernels', dir: join(srcDir, 'shared'), memory: '(import "env" "memory" (memory 1 16384 shared))' },
];

const wabt = await wabtInit();
mkdirSync(outDir, { recursive: true });
rmSync(join(outDir, 'gemm.wasm'), { force: true }); // the single-file module of earlier builds
for (const { name, dir, memory } of MODULES) {
  const fragments = readdirSync(dir)
    .filter((f) => f.endsWith('.wat'))
    .sort();
  const body = fragments.map((f) => `;; ---- ${f}\n${readFileSync(join(dir, f), 'utf8')}`).join('\n');
  const source = `(module\n${memory}\n${body}\n)\n`;
  const relaxed = relaxedSource(source);
  for (const [file, src, features, note] of [
    [`${name}.wasm`, source, FEATURES, 'SIMD128'],
    [`${name}-relaxed.wasm`, relaxed.source, RELAXED_FEATURES, `relaxed SIMD, ${relaxed.count} multiply-adds fused`],
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
      if (!file.includes('-relaxed')) process.exitCode = 1;
    }
  }
}
