/**
 * What a gradient check, an export, a benchmark run and a fixture comparison allocate around the
 * layer's own passes (LayerSpec `memory`), as estimate.ts adds it up: every array each of them
 * makes, phase by phase, from the shapes and params alone. The numbers follow the code they model
 * (gradcheck/check-layer.ts, gradcheck.ts, modes.ts, numeric.ts and hints.ts; fixtures/export.ts
 * and compare.ts; bench/run.ts), and the constants that size them are exported from there.
 */
import { autoIsFull, DIRECTION_COPIES, ELEMENT_STATE_BYTES, planInput, prefetchElements, REMEASURED_OUTPUTS } from '../gradcheck/modes.js';
import { diagnosisMemory } from '../gradcheck/hints.js';
import { getThreads } from '../kernels/parallel/pool.js';
import { implNames, REFERENCE_IMPL, type LayerMemory, type LayerSpec, type MemoryParts, type Params, type PassMemory, type Shapes } from '../layers/types.js';
import { AUTO_DIRECTIONS, DEFAULT_DIRECTIONS, type CheckMode } from '../settings/schema.js';
import { size, type DType } from '../tensor/tensor.js';
import { bytesOf, largestWorkspace, MemoryTally, requireMemory, totalOf, type MemoryEstimate } from './estimate.js';
import { memoryLimit } from './limit.js';
import { clip } from '../text/escape.js';

/**
 * The JS heap's own growth during a piece of work, beyond its arrays: the objects every pass and
 * evaluation makes and the young generation's garbage between scavenges. Measured at 25-30 MB for a
 * full check of a small conv (876 elements, 1,752 forward passes of kilobytes each).
 */
export const HEAP_ALLOWANCE = 64 * 2 ** 20;

/** What a check's estimate needs to know: a CheckRequest (request/request.ts) is one. */
export interface CheckMemoryRequest {
  spec: LayerSpec;
  /** Every input's shape, derived ones included. */
  shapes: Shapes;
  params: Params;
  settings: {
    dtype: DType;
    checkMode: CheckMode;
    directions?: number;
    hSweep: boolean;
    /** The layer's own implementations to check (default: all; auto mode at large shapes: fast only). */
    impls?: string[];
    /** A user's module, compared with the reference and checked too. */
    impl?: string;
  };
}

export interface CheckMemoryOptions {
  /** Whether a user's implementation is checked too (default: when `settings.impl` names one). */
  external?: boolean;
  /** The thread setting of the fast passes (default: the current one). */
  threads?: number;
}

/** Elements of every input, of the gradient inputs, and each gradient input's. */
function sizes(spec: LayerSpec, shapes: Shapes) {
  const all = spec.inputs.reduce((s, i) => s + size(shapes[i.name]), 0);
  const grads = spec.inputs.filter((i) => i.grad).map((i) => ({ name: i.name, n: size(shapes[i.name]) }));
  const state = (spec.stateOutputs ?? []).reduce((s, n) => s + size(shapes[n] ?? []), 0);
  return { all, grads, grad: grads.reduce((s, g) => s + g.n, 0), state };
}

/** Elements of the largest gradient input. */
function largestGradOf(n: { grads: { n: number }[] }): number {
  return Math.max(0, ...n.grads.map((g) => g.n));
}

/** A pass's forward and backward parts together (names that meet add up). */
function passParts(p: PassMemory): MemoryParts {
  const out: MemoryParts = { ...p.forward };
  for (const [k, v] of Object.entries(p.backward)) out[k] = (out[k] ?? 0) + v;
  return out;
}

/** The implementation of `mem` whose forward and backward allocate the most, among `names`. */
function largestPass(mem: LayerMemory, names: string[]): PassMemory | undefined {
  let best: PassMemory | undefined;
  for (const n of names) {
    const p = mem.impls[n];
    if (p && (!best || totalOf(passParts(p)) > totalOf(passParts(best)))) best = p;
  }
  return best;
}

/** The layer's own implementations a check runs (check-layer.ts: auto mode at shapes it cannot check in full leaves naive out). */
function checkedImpls(req: CheckMemoryRequest): string[] {
  const { spec, shapes, params, settings } = req;
  const names = settings.impls ?? implNames(spec);
  if (settings.checkMode === 'auto' && !settings.impls && spec.impls.fast && !autoIsFull(spec, shapes, params))
    return names.filter((n) => n !== REFERENCE_IMPL);
  return names;
}

/**
 * The bytes a gradient check (check-layer.ts) allocates: its inputs and dout (with float32's
 * copies), the largest checked implementation's forward and backward results, the numeric side
 * (two forward passes at a time in float64, its perturbed copies, per-element results, kept
 * directions, the outputs a re-measurement holds), and, for a user's module, the comparison with
 * the reference (the module's results, the reference's pass, the diagnosis of differences). The
 * kernels' workspace counts once, at its largest.
 */
export function estimateCheckMemory(req: CheckMemoryRequest, opts: CheckMemoryOptions = {}): MemoryEstimate {
  const { spec, shapes, params, settings } = req;
  const { dtype } = settings;
  const threads = opts.threads ?? getThreads();
  const external = opts.external ?? settings.impl !== undefined;
  const mem = spec.memory(shapes, params, { dtype, threads });
  const mem64 = dtype === 'float64' ? mem : spec.memory(shapes, params, { dtype: 'float64', threads });
  const O = mem.out;
  const n = sizes(spec, shapes);
  const f32 = dtype === 'float32';
  const t = new MemoryTally();

  // Drawn or loaded in float64; a float32 check converts them, and the numeric side converts back.
  t.add('inputs', bytesOf('float64', n.all) + (f32 ? bytesOf('float32', n.all) + bytesOf('float64', n.all) : 0));
  t.add('dout', bytesOf('float64', O) + (f32 ? bytesOf('float32', O) + bytesOf('float64', O) : 0));

  // Implementations are checked one after another: the largest one's results are held while its gradients are checked.
  const checked = checkedImpls(req);
  const pass = largestPass(mem, checked);
  if (pass) t.addAll(passParts(pass));
  for (const name of checked) t.workspaceAtLeast(mem.impls[name]?.workspace);

  // The numeric side: forward passes in float64 (fast outside a full check, the checked one in it), two alive at a time.
  const forwards = Object.values(mem64.impls).map((p) => totalOf(p.forward));
  t.add("numeric side's forward passes", 2 * Math.max(...forwards) + bytesOf('float64', O));
  // V8 frees an evaluation's arrays only at a collection, which their growth past a limit (~64 MB)
  // since the last one triggers: the arrays of about one more evaluation (its two passes, a direction's two copies) wait for it.
  t.add('garbage awaiting collection', 2 * Math.max(...forwards) + 2 * bytesOf('float64', largestGradOf(n)));
  t.add('JS heap', HEAP_ALLOWANCE);
  for (const p of Object.values(mem64.impls)) t.workspaceAtLeast(p.workspace);
  t.add('perturbed copies', bytesOf('float64', n.grad));
  const largestGrad = largestGradOf(n);
  t.add('per-element results', ELEMENT_STATE_BYTES * n.grad + (settings.hSweep ? (ELEMENT_STATE_BYTES + 8) * largestGrad : 0));
  const directions = settings.directions ?? (settings.checkMode === 'auto' ? AUTO_DIRECTIONS : DEFAULT_DIRECTIONS);
  let directional = 0;
  for (const g of n.grads) {
    const plan = planInput(settings.checkMode, spec, shapes, params, g.name);
    if (plan !== 'full' && plan !== 'sampled') directional = Math.max(directional, bytesOf('float64', (directions + DIRECTION_COPIES) * g.n));
  }
  t.add('kept directions', directional);
  t.add('re-measured outputs', REMEASURED_OUTPUTS * bytesOf('float64', O));

  if (external) {
    // The module's results arrive as copies; the reference runs on the same inputs in float64.
    t.add("module's results", bytesOf('float64', O + n.grad + n.state));
    const ref = largestPass(mem64, Object.keys(mem64.impls));
    if (ref) t.add('reference pass', totalOf(passParts(ref)));
    t.add('diagnosis', diagnosisMemory(spec, shapes, params, { dtype: 'float64', threads }));
    if (f32) t.add('inputs', bytesOf('float64', n.all));
    // A Python module's elements go several to a request (numeric.ts prefetch; counted for any module): per element two
    // perturbed copies, every input of both calls in the request, and both outputs twice (the
    // reply's bytes, then the arrays).
    const k = prefetchElements(bytesOf('float64', n.all));
    t.add('elements evaluated ahead', 2 * k * (bytesOf('float64', largestGradOf(n)) + bytesOf('float64', n.all) + 2 * bytesOf('float64', O)));
  }
  return t.estimate();
}

/**
 * The bytes `export` (fixtures/export.ts) allocates: the inputs and dout, the naive forward (run
 * once more to size dout) and backward in float64, and the archive (every member as .npy bytes,
 * then the zip of them; compressed, also the deflated copies).
 */
export function estimateExportMemory(spec: LayerSpec, shapes: Shapes, params: Params, opts: { compress?: boolean; threads?: number } = {}): MemoryEstimate {
  const mem = spec.memory(shapes, params, { dtype: 'float64', threads: opts.threads ?? getThreads() });
  const n = sizes(spec, shapes);
  const naive = mem.impls[REFERENCE_IMPL];
  const t = new MemoryTally();
  t.add('inputs', bytesOf('float64', n.all));
  t.add('dout', bytesOf('float64', mem.out));
  t.addAll(passParts(naive));
  t.add("forward for dout's shape", totalOf(naive.forward));
  const members = bytesOf('float64', n.all + 2 * mem.out + n.grad + n.state);
  t.add('archive', (opts.compress ? 3 : 2) * members);
  t.add('JS heap', HEAP_ALLOWANCE);
  return t.estimate();
}

/**
 * The bytes comparing a fixture (fixtures/compare.ts) allocates once it is loaded: its arrays (the
 * inputs in float64, the expected results as stored), the naive forward and backward, and the
 * diagnosis of the arrays that differ.
 */
export function estimateCompareMemory(spec: LayerSpec, shapes: Shapes, params: Params, loadedBytes: number, threads = getThreads()): MemoryEstimate {
  const mem = spec.memory(shapes, params, { dtype: 'float64', threads });
  const t = new MemoryTally();
  t.add('fixture arrays', loadedBytes);
  t.addAll(passParts(mem.impls[REFERENCE_IMPL]));
  t.add('diagnosis', diagnosisMemory(spec, shapes, params, { dtype: 'float64', threads }));
  t.add('JS heap', HEAP_ALLOWANCE);
  return t.estimate();
}

/**
 * The bytes one benchmark row (bench/run.ts) allocates: the inputs (and their dtype copies), dout,
 * the implementation's forward and backward (a user's module: its results' copies), and the
 * kernels' workspace at `threads`.
 */
export function estimateBenchMemory(
  spec: LayerSpec,
  shapes: Shapes,
  params: Params,
  o: { dtype: DType; impl: string; external?: boolean; threads: number },
): MemoryEstimate {
  const mem = spec.memory(shapes, params, { dtype: o.dtype, threads: o.threads });
  const n = sizes(spec, shapes);
  const f32 = o.dtype === 'float32';
  const t = new MemoryTally();
  t.add('inputs', bytesOf('float64', n.all) + (f32 ? bytesOf('float32', n.all) : 0));
  t.add('dout', bytesOf('float64', mem.out) + (f32 ? bytesOf('float32', mem.out) : 0));
  if (o.external) t.add("module's results", bytesOf('float64', mem.out + n.grad + n.state));
  else {
    const p = mem.impls[o.impl];
    if (p) {
      t.addAll(passParts(p));
      t.workspaceAtLeast(p.workspace);
    }
  }
  // The timing runs' passes become garbage one after another (bench/timing.ts collects between long ones).
  const p = mem.impls[o.impl];
  if (p) t.add('garbage awaiting collection', totalOf(passParts(p)));
  t.add('JS heap', HEAP_ALLOWANCE);
  return t.estimate();
}

/**
 * Estimates of work that runs in sequence in one process, each with the workspace the ones before
 * it left behind: a kernel buffer only grows, so work k holds every buffer at the largest size any
 * of works 1..k asked of it.
 */
export function inSequence(estimates: MemoryEstimate[]): MemoryEstimate[] {
  let held: MemoryParts = {};
  return estimates.map((e) => {
    held = largestWorkspace(held, e.workspace);
    const t = new MemoryTally();
    for (const p of e.parts) if (!(p.name in e.workspace)) t.add(p.name, p.bytes);
    return t.workspaceAtLeast(held).estimate();
  });
}

/** A case in a message: the layer and what differs from its defaults, `conv with x 8,3,32,32, pad 3000`. */
export function describeCase(spec: LayerSpec, params: Params, shapes: Shapes): string {
  const parts: string[] = [];
  for (const input of spec.inputs) {
    const s = shapes[input.name];
    if (s && Array.isArray(input.shape) && s.join(',') !== input.shape.join(',')) parts.push(`${input.name} ${clip(s.join(','))}`);
  }
  for (const p of spec.params) if (params[p.name] !== p.default) parts.push(`${p.name} ${params[p.name]}`);
  return parts.length ? `${spec.name} with ${parts.join(', ')}` : spec.name;
}

/**
 * Refuse a check (MemoryLimitError, exit 2) whose estimate exceeds `settings.maxMemory` (default:
 * half of the memory available, limit.ts); `label` names the limit in the message (`--max-memory`,
 * `maxMemory`). Returns the estimate.
 */
export function requireCheckMemory(
  req: CheckMemoryRequest & { settings: { maxMemory?: number } },
  opts: CheckMemoryOptions & { label?: string } = {},
): MemoryEstimate {
  const estimate = estimateCheckMemory(req, opts);
  requireMemory(`${describeCase(req.spec, req.params, req.shapes)}: its check`, estimate, memoryLimit(req.settings.maxMemory, opts.label ?? 'maxMemory'));
  return estimate;
}
