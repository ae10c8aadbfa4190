#!/usr/bin/env node
/**
 * cnn-check's side of bench/gradcheck.py: whole gradient checks of conv, timed in-process (the
 * library from dist/, no CLI start-up), for a correct backward and for each injected bug.
 *
 * Usage: node bench/gradcheck.mjs CASE MODE [--repeat R] [--threads N]
 *   CASE: cs231n (x 4,3,5,5, w 2,3,3,3, stride 1, pad 1: the assignment's check) or
 *         mid (x 32,64,32,32, w 64,64,3,3, stride 1, pad 1)
 *   MODE: full | sampled | directional | auto
 * Prints one JSON document: {case, mode, threads, correct: {seconds, pass, ...}, bugs: [{name, seconds, caught}]}.
 * The checked implementation is the fast one (what a user's layer would be compared against);
 * the bugs are wrong backward passes on top of it, the same five as bench/gradcheck.py injects into
 * PyTorch and numpy.
 */
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const lib = await import(join(root, 'dist', 'index.js'));
const { conv } = await import(join(root, 'dist', 'layers', 'conv.js'));
const { setThreads } = await import(join(root, 'dist', 'kernels', 'parallel', 'pool.js'));

const CASES = {
  cs231n: { x: [4, 3, 5, 5], w: [2, 3, 3, 3], stride: 1, pad: 1 },
  mid: { x: [32, 64, 32, 32], w: [64, 64, 3, 3], stride: 1, pad: 1 },
};

const [caseName = 'cs231n', mode = 'full', ...rest] = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = rest.indexOf(`--${name}`);
  return i >= 0 ? Number(rest[i + 1]) : dflt;
};
const repeat = opt('repeat', 3);
const threads = opt('threads', 2);
setThreads(threads);
const c = CASES[caseName];
if (!c) throw new Error(`unknown case ${caseName}`);
const params = { stride: c.stride, pad: c.pad };

function inputs(seed) {
  const rng = new lib.XoshiroRng(seed);
  return { x: lib.randn(rng, c.x), w: lib.randn(rng, c.w), b: lib.randn(rng, [c.w[0]]) };
}

const fast = conv.impls.fast;
const map = (t, f) => ({ data: t.data.map(f), shape: t.shape });

/** The injected bugs: each a wrong backward on top of the fast one (see bench/gradcheck.py for the same in torch and numpy). */
const BUGS = {
  'db averaged instead of summed': (dout, cache) => {
    const g = fast.backward(dout, cache);
    const { N, Hout, Wout } = cache.geom;
    return { ...g, db: map(g.db, (v) => v / (N * Hout * Wout)) };
  },
  'dx with the wrong sign': (dout, cache) => {
    const g = fast.backward(dout, cache);
    return { ...g, dx: map(g.dx, (v) => -v) };
  },
  'dw with the kernel flipped': (dout, cache) => {
    const g = fast.backward(dout, cache);
    const [F, C, HH, WW] = g.dw.shape;
    const dw = { data: g.dw.data.slice(), shape: g.dw.shape };
    for (let p = 0; p < F * C; p++) for (let i = 0; i < HH; i++) for (let j = 0; j < WW; j++) dw.data[(p * HH + i) * WW + j] = g.dw.data[(p * HH + HH - 1 - i) * WW + WW - 1 - j];
    return { ...g, dw };
  },
  'dw missing the last output row': (dout, cache) => {
    const { N, F, Hout, Wout } = cache.geom;
    const cut = { data: dout.data.slice(), shape: dout.shape };
    for (let n = 0; n < N; n++) for (let f = 0; f < F; f++) cut.data.fill(0, ((n * F + f) * Hout + Hout - 1) * Wout, ((n * F + f) * Hout + Hout) * Wout);
    return { ...fast.backward(dout, cache), dw: fast.backward(cut, cache).dw };
  },
  'dx off by 1e-3 relative in one element': (dout, cache) => {
    const g = fast.backward(dout, cache);
    const dx = { data: g.dx.data.slice(), shape: g.dx.shape };
    const i = Math.floor(dx.data.length / 2) + 1;
    dx.data[i] *= 1 + 1e-3;
    return { ...g, dx };
  },
};

function check(impl, seed) {
  const t0 = performance.now();
  const res = lib.gradCheck(conv, impl, inputs(seed), params, { rng: new lib.XoshiroRng(seed + 1), mode });
  return { seconds: (performance.now() - t0) / 1000, res };
}

// warm-up (JIT, WASM compile, worker start, prefault helper) outside the timings
check(fast, 1);
const times = [];
let last;
for (let r = 0; r < repeat; r++) {
  last = check(fast, 231 + r);
  times.push(last.seconds);
}
times.sort((a, b) => a - b);
const correct = {
  seconds: times[times.length >> 1],
  min: times[0],
  max: times[times.length - 1],
  pass: last.res.pass,
  rows: last.res.gradients.map((g) => ({ name: g.name, mode: g.mode, checked: g.checked, total: g.total, relError: g.relError })),
};
const bugs = Object.entries(BUGS).map(([name, backward]) => {
  const { seconds, res } = check({ forward: fast.forward, backward }, 231);
  return { name, seconds, caught: !res.pass };
});
console.log(JSON.stringify({ case: caseName, shapes: c, mode, threads, repeat, correct, bugs }, null, 2));
process.exit(0);
