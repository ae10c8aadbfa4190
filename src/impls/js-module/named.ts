/**
 * A JavaScript or TypeScript module of cs231n-named functions, the numpy layers.py written in JS:
 *
 *   export function conv_forward_naive(x, w, b, conv_param) { ...; return [out, cache]; }
 *   export function conv_backward_naive(dout, cache) { ...; return [dx, dw, db]; }
 *   export function svm_loss(x, y) { ...; return [loss, dx]; }
 *
 * Arrays are tensors `{data: Float64Array | Float32Array, shape}` in C order, dicts plain objects
 * (`conv_param` `{stride, pad}`, `bn_param` `{mode, eps, momentum, running_mean, running_var}`,
 * which a train-mode forward updates in place as cs231n's does). The names, the arguments and the
 * results are those of the numpy conventions (impls/python/cs231n.ts), which hold them once for
 * both languages; the worker (worker.ts) only executes them, as the Python bridge does. Each call
 * gets fresh copies of the arrays (they cross threads), so a forward that changes its inputs in
 * place cannot change cnn-check's. Implementations are named `js:naive`, `js`, `js:alt`, ...
 */
import { UsageError } from '../../errors.js';
import type { ForwardResult, Gradients, Inputs, LayerImpl, LayerSpec, Params } from '../../layers/types.js';
import type { Tensor } from '../../tensor/tensor.js';
import { CS231N, completeLayers, definedPairs, selectPairs, type Cs231nConvention, type FunctionPair } from '../python/cs231n.js';
import type { DefinedFunctions, FunctionSelection, ImplModule, Implementation } from '../types.js';
import type { Outcome } from './bridge.js';
import { asTensor, fmtSeconds, startModule, UserImplError, type StartedModule, type UserImplOptions } from './load.js';
import type { NamedForwardReply } from './protocol.js';

/** Name prefix of the implementations of a JS/TS module with cs231n names. */
export const JS_PREFIX = 'js';

/** An opened JS/TS module of cs231n-named functions (see the module comment). */
export class NamedJsModule implements ImplModule {
  readonly kind = 'js';
  readonly path: string;
  /** Its exported functions. */
  readonly functions: string[];
  private started: StartedModule;
  private closed = false;

  /** `opts`: how it was started, to start it again after a call stopped its worker (a timeout). */
  constructor(
    started: StartedModule,
    private readonly opts: UserImplOptions = {},
  ) {
    this.started = started;
    this.path = started.path;
    this.functions = started.mod.functions;
  }

  listFunctions(): DefinedFunctions[] {
    return definedPairs(this.functions, JS_PREFIX);
  }

  layers(): string[] {
    return completeLayers(this.listFunctions());
  }

  implementationsFor(spec: LayerSpec, select?: FunctionSelection): Implementation[] {
    const conv = CS231N[spec.name];
    if (!conv) throw new UsageError(`${this.started.label}: cnn-check knows no cs231n convention for ${spec.name}`);
    // A module whose worker an earlier call stopped (a timeout) is imported again in a fresh one.
    if (this.started.bridge.stopped && !this.closed) this.started = startModule(this.path, this.opts);
    return selectPairs(spec, this.functions, this.started.label, select, JS_PREFIX).map((pair) => this.implementation(spec, conv, pair));
  }

  private implementation(spec: LayerSpec, conv: Cs231nConvention, pair: FunctionPair): Implementation {
    const { bridge, timeout } = this.started;
    const path = this.path;
    let lastMs = NaN;
    // Kinks (relu at 0, a max-pool winner change) come from the reference's switches at the same inputs.
    const kinkSource = spec.impls.fast ?? spec.impls.naive;
    const call = (fn: string, run: () => Outcome): unknown => {
      if (bridge.stopped) throw new UserImplError(`${fn} not run: the module's worker was stopped after an earlier failure (${bridge.stopped})`);
      const r = run();
      if (r === 'timeout') {
        const why = `${fn} did not finish within the timeout of ${fmtSeconds(timeout)}`;
        bridge.stop(why);
        throw new UserImplError(`${why}; its worker was stopped`);
      }
      if (r === 'memory') {
        const why = `${fn} ${bridge.memoryFailure()}`;
        bridge.stop(why);
        throw new UserImplError(`${why}; its worker was stopped`);
      }
      if (r === 'dead') {
        const why = `the module ended its worker thread during ${fn} (process.exit?)`;
        bridge.stop(why);
        throw new UserImplError(why);
      }
      if (!r.ok) throw new UserImplError(r.error ?? `${fn} failed`);
      lastMs = r.ms ?? NaN;
      return r.value;
    };
    const impl: LayerImpl = {
      forward: (inputs: Inputs, params: Params): ForwardResult => {
        const names = spec.inputs.map((i) => i.name).filter((n) => inputs[n]);
        const sent: Record<string, Tensor> = {};
        for (const n of names) sent[n] = inputs[n];
        const v = call(pair.forward, () =>
          bridge.call(
            {
              op: 'named-forward',
              inputs: sent,
              call: { fn: pair.forward, args: conv.args(params), ...(conv.state ? { state: conv.state } : {}), ...(conv.loss ? { loss: true } : {}) },
            },
            timeout * 1000,
          ),
        ) as NamedForwardReply;
        let out = asTensor(v.out, `${pair.forward}'s ${conv.loss ? 'loss' : 'out'}`);
        // With float32 inputs, a float64 out was computed from float32 values: a float32 layer's (as for numpy modules).
        if (out.data instanceof Float64Array && names.some((n) => inputs[n].data instanceof Float32Array))
          out = { data: Float32Array.from(out.data), shape: out.shape };
        const res: ForwardResult = { out, cache: { jsCache: v.cache } };
        if (conv.state) {
          res.state = {};
          for (const k of conv.state.keys) res.state[k] = asTensor(v.state?.[k], `${conv.state.name}.${k} after ${pair.forward}`);
        }
        if (conv.kinks) res.switches = kinkSource.forward(inputs, params).switches;
        return res;
      },
      backward: (dout: Tensor, cache: unknown): Gradients => {
        const id = (cache as { jsCache?: number } | undefined)?.jsCache;
        if (typeof id !== 'number') throw new UserImplError(`${pair.backward} needs the cache of this module's forward`);
        const v = call(pair.backward, () =>
          bridge.call(
            {
              op: 'named-backward',
              dout,
              cache: id,
              call: { fn: pair.backward, grads: conv.grads, ...(conv.loss ? { loss: true } : {}) },
            },
            timeout * 1000,
          ),
        ) as Record<string, unknown>;
        const grads: Gradients = {};
        for (const g of conv.grads) grads[g] = asTensor(v[g], `${pair.backward}'s ${g}`);
        return grads;
      },
    };
    return {
      name: pair.name,
      kind: 'js',
      impl,
      external: true,
      source: conv.loss ? `${path}:${pair.forward}` : `${path}:${pair.forward},${pair.backward}`,
      lastCallMs: () => lastMs,
      ownsError: (err) => err instanceof UserImplError,
    };
  }

  close(): void {
    this.closed = true;
    this.started.bridge.stop('closed');
  }
}
