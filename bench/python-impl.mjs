#!/usr/bin/env node
/**
 * What checking a numpy module through `--impl layers.py` costs, against the same checks run
 * inside one Python process the way the cs231n notebook runs them.
 *
 *   npm run build && node bench/python-impl.mjs [--rounds K] [--module PATH] [--json]
 *
 * The case: conv at the cs231n shapes (x 4,3,5,5, w 2,3,3,3, stride 1, pad 1), full check, the
 * user's naive loops (test/impls/python/cs231n/layers.py, or --module).
 *
 * - python: one python3 process imports the module and times, with time.perf_counter, exactly
 *   what the notebook does: conv_forward_naive and conv_backward_naive once, then
 *   eval_numerical_gradient_array (cs231n's gradient_check.py, copied below) for x, w and b:
 *   712 forward calls.
 * - cnn-check: this process opens the module (one Python process, as the CLI does) and times
 *   checkLayer with the module's implementation alone, in full mode: its comparison with the
 *   reference (one forward and backward of the module, the reference's own), then the gradient
 *   check (the module's backward once, 712 forward calls), localization and notes included.
 *   Starting Python and importing numpy is reported apart (the notebook pays it once too).
 * - the whole command: `node bin/cnn-check.js conv --impl ... --impls fast --repeat 0`, wall
 *   clock, Node and Python startup included, against the Python process's wall clock.
 * - the exchange: per call, the round trip minus the time of the user's function measured in
 *   Python, for relu_forward on x 3,4,5 (nothing to compute) and conv_forward_naive.
 *
 * Rounds alternate python and cnn-check, and each side reports the median over the rounds, so
 * load from other processes that comes and goes hits both.
 */
import { spawnSync } from 'node:child_process';
import { cpus, loadavg } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const dist = (p) => import(join(root, 'dist', p));
const { loadPythonModule } = await dist('impls/python/load.js');
const { getLayer } = await dist('layers/registry.js');
const { checkLayer } = await dist('gradcheck/check-layer.js');
const { generateInputs, resolveShapes } = await dist('layers/params.js');
const { XoshiroRng } = await dist('tensor/rng.js');

const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : dflt;
};
const rounds = Number(opt('rounds', 5));
const modulePath = resolve(opt('module', join(root, 'test/impls/python/cs231n/layers.py')));
const asJson = args.includes('--json');

const PYTHON_CHECK = `
import sys, time, importlib.util, numpy as np
spec = importlib.util.spec_from_file_location("layers", sys.argv[1]); m = importlib.util.module_from_spec(spec); spec.loader.exec_module(m)

def eval_numerical_gradient_array(f, x, df, h=1e-5):
    grad = np.zeros_like(x)
    it = np.nditer(x, flags=["multi_index"], op_flags=["readwrite"])
    while not it.finished:
        ix = it.multi_index
        oldval = x[ix]
        x[ix] = oldval + h
        pos = f(x).copy()
        x[ix] = oldval - h
        neg = f(x).copy()
        x[ix] = oldval
        grad[ix] = np.sum((pos - neg) * df) / (2 * h)
        it.iternext()
    return grad

def rel_error(x, y):
    return np.max(np.abs(x - y) / (np.maximum(1e-8, np.abs(x) + np.abs(y))))

np.random.seed(231)
x = np.random.randn(4, 3, 5, 5); w = np.random.randn(2, 3, 3, 3); b = np.random.randn(2,)
dout = np.random.randn(4, 2, 5, 5)
conv_param = {"stride": 1, "pad": 1}
t0 = time.perf_counter()
out, cache = m.conv_forward_naive(x, w, b, conv_param)
dx, dw, db = m.conv_backward_naive(dout, cache)
dx_num = eval_numerical_gradient_array(lambda x: m.conv_forward_naive(x, w, b, conv_param)[0], x, dout)
dw_num = eval_numerical_gradient_array(lambda w: m.conv_forward_naive(x, w, b, conv_param)[0], w, dout)
db_num = eval_numerical_gradient_array(lambda b: m.conv_forward_naive(x, w, b, conv_param)[0], b, dout)
errors = [rel_error(dx, dx_num), rel_error(dw, dw_num), rel_error(db, db_num)]
print(time.perf_counter() - t0, max(errors))
`;

function median(v) {
  const s = [...v].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

function pythonRound() {
  const t0 = performance.now();
  const r = spawnSync('python3', ['-c', PYTHON_CHECK, modulePath], { encoding: 'utf8' });
  const wall = (performance.now() - t0) / 1000;
  if (r.status !== 0) throw new Error(r.stderr);
  const [seconds, maxError] = r.stdout.trim().split(' ').map(Number);
  return { seconds, wall, maxError };
}

const conv = getLayer('conv');
const params = { stride: 1, pad: 1 };

function cnnCheckRound() {
  const t0 = performance.now();
  const mod = loadPythonModule(modulePath);
  const startup = (performance.now() - t0) / 1000;
  try {
    const t1 = performance.now();
    const r = checkLayer(conv, { params, mode: 'full', repeat: 0, impls: [], external: mod.implementationsFor(conv) });
    const seconds = (performance.now() - t1) / 1000;
    if (!r.pass) throw new Error(`the module failed its check: ${JSON.stringify(r.problems)}`);
    return { seconds, startup, maxError: Math.max(...r.gradients.map((g) => g.relError)) };
  } finally {
    mod.close();
  }
}

function commandRound() {
  const t0 = performance.now();
  const r = spawnSync(process.execPath, [join(root, 'bin/cnn-check.js'), 'conv', '--impl', modulePath, '--impls', 'fast', '--repeat', '0'], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(r.stdout + r.stderr);
  return (performance.now() - t0) / 1000;
}

/** Per call: the round trip and the user's function as Python timed it. */
function exchange(layerName, inputs, n) {
  const spec = getLayer(layerName);
  const mod = loadPythonModule(modulePath);
  try {
    const [im] = mod.implementationsFor(spec);
    const p = layerName === 'conv' ? params : {};
    for (let i = 0; i < 20; i++) im.impl.forward(inputs, p);
    let inPython = 0;
    const t0 = performance.now();
    for (let i = 0; i < n; i++) {
      im.impl.forward(inputs, p);
      inPython += im.lastCallMs();
    }
    const perCall = (performance.now() - t0) / n;
    return { perCallMs: perCall, functionMs: inPython / n, overheadMs: perCall - inPython / n };
  } finally {
    mod.close();
  }
}

const py = [];
const cc = [];
const cmd = [];
for (let k = 0; k < rounds; k++) {
  py.push(pythonRound());
  cc.push(cnnCheckRound());
  cmd.push(commandRound());
}
const rng = new XoshiroRng(1);
const convInputs = generateInputs(conv, resolveShapes(conv, {}, params), rng);
const relu = getLayer('relu');
const reluInputs = generateInputs(relu, resolveShapes(relu, {}, {}), rng);
const result = {
  machine: { cpu: cpus()[0]?.model ?? 'unknown', cores: cpus().length, node: process.version, loadavg: loadavg().map((v) => Number(v.toFixed(2))) },
  module: modulePath.startsWith(root) ? modulePath.slice(root.length + 1) : modulePath,
  rounds,
  pythonChecksSeconds: median(py.map((r) => r.seconds)),
  cnnCheckChecksSeconds: median(cc.map((r) => r.seconds)),
  ratio: median(cc.map((r) => r.seconds)) / median(py.map((r) => r.seconds)),
  pythonStartupSeconds: median(cc.map((r) => r.startup)),
  pythonProcessWallSeconds: median(py.map((r) => r.wall)),
  commandWallSeconds: median(cmd),
  commandRatio: median(cmd) / median(py.map((r) => r.wall)),
  maxRelError: { python: Math.max(...py.map((r) => r.maxError)), cnnCheck: Math.max(...cc.map((r) => r.maxError)) },
  exchange: {
    relu: exchange('relu', reluInputs, 2000),
    conv: exchange('conv', convInputs, 300),
  },
};
if (asJson) {
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
} else {
  const f = (s) => `${s.toFixed(3)} s`;
  const ms = (v) => `${(v * 1000).toFixed(1)} us`;
  console.log(`machine: ${result.machine.cpu}, ${result.machine.cores} cores, node ${result.machine.node}, load ${result.machine.loadavg.join(' ')}`);
  console.log(`module ${result.module}; conv x 4,3,5,5 w 2,3,3,3 stride 1 pad 1, full check; median of ${rounds} alternating rounds`);
  console.log(`the checks inside python (notebook loop):  ${f(result.pythonChecksSeconds)}`);
  console.log(`the checks through cnn-check --impl:        ${f(result.cnnCheckChecksSeconds)}   ratio ${result.ratio.toFixed(2)}`);
  console.log(`  starting python + importing numpy + the module: ${f(result.pythonStartupSeconds)}`);
  console.log(`whole command vs whole python process:     ${f(result.commandWallSeconds)} vs ${f(result.pythonProcessWallSeconds)}   ratio ${result.commandRatio.toFixed(2)}`);
  console.log(`max rel error: python ${result.maxRelError.python.toExponential(2)}, cnn-check ${result.maxRelError.cnnCheck.toExponential(2)}`);
  for (const [name, e] of Object.entries(result.exchange)) {
    console.log(`exchange, ${name}_forward: ${ms(e.perCallMs)} a call, of which the function ${ms(e.functionMs)}: overhead ${ms(e.overheadMs)}`);
  }
}
