// Runs one piece of work of the built library (dist/) in this process and prints, as JSON, its
// memory estimate and the peak resident memory it added: VmHWM of /proc/self/status after the
// work, less VmRSS before it, with the high-water mark reset in between (clear_refs 5, Linux).
// Before measuring, the same work runs once at the layer's default shapes and params, so the
// modules and the WASM kernels are loaded: what is measured is the work's own allocation.
// Usage: node --expose-gc peak.mjs '{"kind": "check", "layer": "conv", "shapes": {...}, ...}'
import { readFileSync, writeFileSync } from 'node:fs';

const dist = new URL('../../dist/', import.meta.url);
const lib = await import(new URL('index.js', dist).href);
const { estimateCheckMemory, estimateExportMemory, estimateBenchMemory } = await import(new URL('memory/work.js', dist).href);
const { referenceMembers } = await import(new URL('fixtures/export.js', dist).href);
const { writeNpz } = await import(new URL('npy/npz.js', dist).href);
const { runBench } = await import(new URL('bench/run.js', dist).href);
const { resolveShapes, generateInputs } = await import(new URL('layers/params.js', dist).href);
const { XoshiroRng, randn } = await import(new URL('tensor/rng.js', dist).href);
const { setThreads } = await import(new URL('kernels/parallel/pool.js', dist).href);

const job = JSON.parse(process.argv[2]);
const spec = lib.getLayer(job.layer);
const params = lib.validateParams(spec, job.params ?? {});
const defaults = lib.validateParams(spec, {});
const dtype = job.dtype ?? 'float64';
const mode = job.mode ?? 'auto';
if (job.threads) setThreads(job.threads);

function status() {
  const s = readFileSync('/proc/self/status', 'utf8');
  return { rss: Number(/^VmRSS:\s+(\d+)/m.exec(s)[1]) * 1024, hwm: Number(/^VmHWM:\s+(\d+)/m.exec(s)[1]) * 1024 };
}

/** The work at `given` shapes and `params`; returns its estimate (computed before running it). */
function work(given, params) {
  const shapes = resolveShapes(spec, given, params);
  if (job.kind === 'check') {
    const impls = job.broken ? ['fast'] : job.impls;
    const settings = { dtype, checkMode: mode, directions: job.directions, hSweep: false, impls };
    const estimate = estimateCheckMemory({ spec, shapes, params, settings }, { external: job.broken === true });
    const impl = job.broken ? { forward: spec.impls.fast.forward, backward: (d, c) => scaled(spec.impls.fast.backward(d, c)) } : undefined;
    const report = lib.checkLayer(spec, {
      params,
      shapes: given,
      dtype,
      mode,
      directions: job.directions,
      impls,
      repeat: 0,
      budget: job.budget ?? 0.5,
      maxMemory: Number.MAX_SAFE_INTEGER,
      ...(impl ? { external: [{ name: 'broken', kind: 'js', impl, external: true }] } : {}),
    });
    return { estimate, pass: report.pass };
  }
  if (job.kind === 'export') {
    const estimate = estimateExportMemory(spec, shapes, params, { compress: job.compress });
    const rng = new XoshiroRng(1);
    const inputs = generateInputs(spec, shapes, rng);
    const dout = randn(rng, spec.impls.naive.forward(inputs, params).out.shape);
    const bytes = writeNpz(referenceMembers(spec, inputs, params, dout), { compress: job.compress });
    return { estimate, bytes: bytes.length };
  }
  if (job.kind === 'bench') {
    const impl = job.impls?.[0] ?? 'fast';
    const estimate = estimateBenchMemory(spec, shapes, params, { dtype, impl, threads: job.threads ?? 1 });
    runBench([{ layer: spec, shapes: given, params }], {
      dtypes: [dtype],
      impls: [impl],
      threads: job.threads ?? 1,
      warmup: 1,
      repeat: 2,
      naiveBudgetSec: Infinity,
      maxMemory: Number.MAX_SAFE_INTEGER,
    });
    return { estimate };
  }
  throw new Error(`unknown kind ${job.kind}`);
}

/** Gradients off by 10% (a backward whose check fails, so failures are re-measured). */
function scaled(grads) {
  const out = {};
  for (const [k, t] of Object.entries(grads)) out[k] = { data: t.data.map((v) => v * 1.1), shape: t.shape };
  return out;
}

// The warm-up: the same work at the layer's default shapes and params (small).
work({}, defaults);
globalThis.gc();
const before = status();
writeFileSync('/proc/self/clear_refs', '5');
const r = work(job.shapes, params);
const after = status();
console.log(JSON.stringify({ ...r, estimate: r.estimate.total, parts: r.estimate.parts, peak: after.hwm - before.rss, base: before.rss }));
