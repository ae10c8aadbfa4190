/**
 * What each layer declares its passes allocate (LayerSpec.memory) against the arrays the passes
 * really return: everything a forward pass returns or keeps in its cache (its inputs aside), and
 * every gradient, walked and counted by buffer. The declaration must cover them (an upper bound)
 * and not be far above (the declared temporaries that become garbage are the difference).
 */
import { describe, expect, it } from 'vitest';
import { LAYERS } from '../../src/layers/registry.js';
import { defaultParams, generateInputs, resolveShapes } from '../../src/layers/params.js';
import { implNames, type LayerSpec, type Params, type Shapes } from '../../src/layers/types.js';
import { getThreads } from '../../src/kernels/parallel/pool.js';
import { totalOf } from '../../src/memory/estimate.js';
import { XoshiroRng, randn } from '../../src/tensor/rng.js';
import { inDType, size, type DType } from '../../src/tensor/tensor.js';

/** Bytes of the distinct (non-shared) buffers reachable from `root`, less those in `skip`; functions and shared memory are not followed. */
function reachableBytes(root: unknown, skip: Set<ArrayBufferLike>): number {
  const seen = new Set<unknown>();
  const buffers = new Set<ArrayBufferLike>();
  const stack = [root];
  while (stack.length) {
    const v = stack.pop();
    if (v === null || typeof v !== 'object' || seen.has(v)) continue;
    seen.add(v);
    if (ArrayBuffer.isView(v)) {
      if (!(v.buffer instanceof SharedArrayBuffer) && !skip.has(v.buffer)) buffers.add(v.buffer);
      continue;
    }
    for (const child of Object.values(v)) if (typeof child !== 'function') stack.push(child);
  }
  let bytes = 0;
  for (const b of buffers) bytes += b.byteLength;
  return bytes;
}

/** Declared bytes may exceed what is returned by the temporaries they count, but not by more than this factor (and a few KiB). */
const MAX_OVER = 3;
const SLACK_BYTES = 4096;

/** Every layer at its defaults, and the conv family at another stride and pad. */
const CASES: { spec: LayerSpec; params: Params; shapes: Shapes }[] = LAYERS.flatMap((spec) => {
  const base = { spec, params: defaultParams(spec), shapes: {} as Shapes };
  return spec.params.some((p) => p.name === 'pad') ? [base, { ...base, params: { ...base.params, stride: 2, pad: 3 } }] : [base];
});

describe('each layer declares the memory of its passes (LayerSpec.memory)', () => {
  for (const { spec, params, shapes: given } of CASES) {
    for (const dtype of ['float64', 'float32'] as DType[]) {
      it(`${spec.name} ${JSON.stringify(params)} ${dtype}: every implementation's arrays are covered`, () => {
        const shapes = resolveShapes(spec, given, params);
        const mem = spec.memory(shapes, params, { dtype, threads: getThreads() });
        expect(Object.keys(mem.impls).sort()).toEqual(implNames(spec).sort());
        const inputs = Object.fromEntries(Object.entries(generateInputs(spec, shapes, new XoshiroRng(3))).map(([k, t]) => [k, inDType(t, dtype)]));
        const own = new Set(Object.values(inputs).map((t) => t.data.buffer));
        for (const name of implNames(spec)) {
          const declared = mem.impls[name];
          for (const part of [declared.forward, declared.backward, declared.workspace ?? {}]) {
            for (const [k, v] of Object.entries(part)) expect(Number.isFinite(v) && v >= 0, `${name} ${k} = ${v}`).toBe(true);
          }
          const fwd = spec.impls[name].forward(inputs, params);
          expect(size(fwd.out.shape), `${name}: out elements`).toBe(mem.out);
          const forwardBytes = reachableBytes({ out: fwd.out, cache: fwd.cache, switches: fwd.switches, state: fwd.state }, own);
          const grads = spec.impls[name].backward(inDType(randn(new XoshiroRng(4), fwd.out.shape), dtype), fwd.cache);
          const backwardBytes = reachableBytes(grads, new Set([...own, ...[fwd.out, ...Object.values(fwd.state ?? {})].map((t) => t.data.buffer)]));
          const f = totalOf(declared.forward);
          const b = totalOf(declared.backward);
          expect(f, `${name} forward declares ${f} bytes, returns ${forwardBytes}`).toBeGreaterThanOrEqual(forwardBytes);
          expect(b, `${name} backward declares ${b} bytes, returns ${backwardBytes}`).toBeGreaterThanOrEqual(backwardBytes);
          expect(f, `${name} forward declares ${f} bytes, returns ${forwardBytes}`).toBeLessThanOrEqual(MAX_OVER * forwardBytes + SLACK_BYTES);
          expect(b, `${name} backward declares ${b} bytes, returns ${backwardBytes}`).toBeLessThanOrEqual(MAX_OVER * backwardBytes + SLACK_BYTES);
        }
      });
    }
  }
});
