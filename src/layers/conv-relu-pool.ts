/**
 * The cs231n sandwich layer conv -> relu -> max-pool: x (N,C,H,W), w (F,C,HH,WW), b (F,) ->
 * out (N,F,Hp,Wp), composed from the registered conv, relu and maxpool specs' impls (forward
 * and backward through the composition; no math of its own). `fast` uses each stage's fast
 * impl where the stage has one, looked up at call time so new fast paths are picked up.
 */
import { ShapeError } from '../errors.js';
import type { Tensor } from '../tensor/tensor.js';
import {
  defineImpl,
  defineLayer,
  type ForwardResult,
  type Gradients,
  type Inputs,
  type LayerImpl,
  type LayerMemory,
  type MemoryContext,
  type MemoryParts,
  type ParamSpec,
  type PassMemory,
  type Shapes,
} from './types.js';
import { convGeometry, poolGeometry, requireShape, STRIDE_PAD_CAP } from './geometry.js';
import { conv, convMemory } from './conv.js';
import { relu } from './relu.js';
import { maxpool, maxpoolMemory } from './maxpool.js';
import { INT32_BYTES, largestWorkspace } from '../memory/estimate.js';

const PARAMS: ParamSpec[] = [
  { name: 'stride', flag: 'stride', help: 'conv step between windows', kind: 'int', default: 1, min: 1, ...STRIDE_PAD_CAP },
  { name: 'pad', flag: 'pad', help: 'conv zero padding on each side', kind: 'int', default: 1, min: 0, ...STRIDE_PAD_CAP },
  { name: 'pool_height', flag: 'pool-height', help: 'pool window height', kind: 'int', default: 2, min: 1 },
  { name: 'pool_width', flag: 'pool-width', help: 'pool window width', kind: 'int', default: 2, min: 1 },
  { name: 'pool_stride', flag: 'pool-stride', help: 'pool step between windows', kind: 'int', default: 2, min: 1, ...STRIDE_PAD_CAP },
];

/** The params of conv_relu_pool: conv's, then the pool's with its stride renamed. */
export type ConvReluPoolParams = { stride: number; pad: number; pool_height: number; pool_width: number; pool_stride: number };

/** The three stage impls one pass uses (their caches are theirs: opaque here). */
interface Stages {
  conv: LayerImpl;
  relu: LayerImpl;
  pool: LayerImpl;
}

export interface ConvReluPoolCache {
  stages: Stages;
  convCache: unknown;
  reluCache: unknown;
  poolCache: unknown;
}

/** Forward through `stages`; switches = relu's active mask followed by max-pool's argmax. */
function forwardThrough(stages: Stages, inputs: Inputs, params: ConvReluPoolParams): ForwardResult<ConvReluPoolCache> {
  const { x, w, b } = inputs;
  const c = stages.conv.forward({ x, w, b }, { stride: params.stride, pad: params.pad });
  const r = stages.relu.forward({ x: c.out }, {});
  const p = stages.pool.forward({ x: r.out }, { pool_height: params.pool_height, pool_width: params.pool_width, stride: params.pool_stride });
  const rs = r.switches ?? new Int32Array(0);
  const ps = p.switches ?? new Int32Array(0);
  const switches = new Int32Array(rs.length + ps.length);
  switches.set(rs, 0);
  switches.set(ps, rs.length);
  // The backward pass uses the same stage impls as this forward pass, whatever the specs hold later.
  const cache: ConvReluPoolCache = { stages, convCache: c.cache, reluCache: r.cache, poolCache: p.cache };
  return { out: p.out, cache, switches };
}

/** Backward: dout (N,F,Hp,Wp) -> max-pool -> relu -> conv: dx, dw, db. */
function backwardThrough(dout: Tensor, cache: ConvReluPoolCache): Gradients {
  const { stages, convCache, reluCache, poolCache } = cache;
  const dpool = stages.pool.backward(dout, poolCache).dx;
  const drelu = stages.relu.backward(dpool, reluCache).dx;
  const { dx, dw, db } = stages.conv.backward(drelu, convCache);
  return { dx, dw, db };
}

/** Naive forward: every stage's naive impl. */
export function convReluPoolForwardNaive(inputs: Inputs, params: ConvReluPoolParams): ForwardResult<ConvReluPoolCache> {
  return forwardThrough({ conv: conv.impls.naive, relu: relu.impls.naive, pool: maxpool.impls.naive }, inputs, params);
}

/** Naive backward: dx (N,C,H,W), dw (F,C,HH,WW), db (F,). */
export const convReluPoolBackwardNaive = backwardThrough;

/** Fast forward: each stage's fast impl, its naive one where it has none. */
export function convReluPoolForwardFast(inputs: Inputs, params: ConvReluPoolParams): ForwardResult<ConvReluPoolCache> {
  const stages: Stages = {
    conv: conv.impls.fast ?? conv.impls.naive,
    relu: relu.impls.fast ?? relu.impls.naive,
    pool: maxpool.impls.fast ?? maxpool.impls.naive,
  };
  return forwardThrough(stages, inputs, params);
}

/** Fast backward: dx, dw, db through the stages the forward pass used. */
export const convReluPoolBackwardFast = backwardThrough;

/** `parts` with every name prefixed by the stage: `conv out`, `pool argmax`. */
function staged(stage: string, parts: MemoryParts): MemoryParts {
  return Object.fromEntries(Object.entries(parts).map(([k, v]) => [`${stage} ${k}`, v]));
}

/**
 * Bytes of the composed passes (LayerSpec.memory): every stage's forward results kept for backward,
 * the concatenated switches, then every stage's gradients; the stages' workspaces are the kernels'
 * own buffers, shared.
 */
export function convReluPoolMemory(shapes: Shapes, params: ConvReluPoolParams, ctx: MemoryContext): LayerMemory {
  const g = convGeometry(shapes.x, shapes.w, params.stride, params.pad);
  const y = [g.N, g.F, g.Hout, g.Wout];
  const c = convMemory(g, ctx);
  const r = relu.memory({ x: y }, {}, ctx);
  const p = maxpoolMemory(poolGeometry(y, params.pool_height, params.pool_width, params.pool_stride), ctx);
  const switches = INT32_BYTES * (r.out + p.out);
  const compose = (name: string): PassMemory => ({
    forward: { ...staged('conv', c.impls[name].forward), ...staged('relu', r.impls[name].forward), ...staged('pool', p.impls[name].forward), switches },
    backward: { ...staged('pool', p.impls[name].backward), ...staged('relu', r.impls[name].backward), ...staged('conv', c.impls[name].backward) },
    workspace: largestWorkspace(c.impls[name].workspace, r.impls[name].workspace, p.impls[name].workspace),
  });
  return { out: p.out, impls: { naive: compose('naive'), fast: compose('fast') } };
}

export const convReluPool = defineLayer<ConvReluPoolParams>({
  name: 'conv_relu_pool',
  summary: 'conv -> relu -> max-pool, composed from the conv, relu and maxpool layers',
  inputs: [
    { name: 'x', help: 'input (N,C,H,W)', grad: true, shape: [2, 3, 16, 16] },
    { name: 'w', help: 'filters (F,C,HH,WW)', grad: true, shape: [3, 3, 3, 3] },
    { name: 'b', help: 'biases (F,)', grad: true, shape: (s) => [s.w[0]] },
  ],
  params: PARAMS,
  // conv's mid-size benchmark case followed by relu and a 2x2 pool.
  benchCases: [{ shapes: { x: [32, 64, 32, 32], w: [64, 64, 3, 3] }, params: { stride: 1, pad: 1, pool_height: 2, pool_width: 2, pool_stride: 2 } }],
  // The conv dominates: relu and max-pool compare rather than compute.
  flops: (shapes, params) => conv.flops!(shapes, params),
  memory: convReluPoolMemory,
  check(shapes, params) {
    const where = 'conv_relu_pool';
    const g = convGeometry(shapes.x, shapes.w, params.stride, params.pad);
    requireShape(where, 'b', shapes.b, [g.F]);
    const { pool_height: ph, pool_width: pw } = params;
    if (ph > g.Hout || pw > g.Wout) {
      throw new ShapeError(`${where}: pool window must fit the conv output ${g.Hout}x${g.Wout}, got ${ph}x${pw}`);
    }
  },
  impls: {
    naive: defineImpl(convReluPoolForwardNaive, convReluPoolBackwardNaive),
    fast: defineImpl(convReluPoolForwardFast, convReluPoolBackwardFast),
  },
  // Piecewise linear (conv is linear; relu and max-pool kinks are detected through switches and
  // left out), so rounding is all that is left. With the rounding-noise floor of the checker,
  // 500 seeds x naive, fast at the defaults measure median 2e-8, max 7.3e-7; a wrong backward
  // through any stage measures ~1.
  tolerance: { grad: 1e-5 },
});
