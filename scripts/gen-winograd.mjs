#!/usr/bin/env node
/**
 * Generate src/kernels/wasm/winograd.wat, the Winograd transforms of the 3x3 stride-1 convolution
 * (src/kernels/conv-winograd.ts), from the transform matrices. The output is committed; run this
 * script again after changing the matrices or the code shapes below (`node scripts/gen-winograd.mjs`).
 *
 * F(m x m, 3 x 3) with alpha = m + 2 (Lavin & Gray 2016): for a 3x3 filter g and an alpha x alpha
 * input tile d, the m x m output tile is Y = A^T [(G g G^T) . (B^T d B)] A. Generated here, for
 * F(2x2, 3x3) in float64 and float32 (and F(4x4, 3x3) on request, see VARIANTS):
 *  - wino_in_*:  V = B^T d B of every tile of every channel of one image (forward and the flipped
 *                backward-data pass transform x or dout with it; backward-filter transforms x).
 *  - wino_out_*: Y = A^T M A + bias, scattered into one image (forward and backward data).
 *  - wino_dy_*:  A dy A^T of every m x m tile of dout (backward filter: dW = G^T [(A dy A^T) . V] G).
 * Each works on L tiles at once (the lanes of a vector: 2 in f64, 4 in f32), which are consecutive
 * tiles of one tile row. Every linear combination is expanded from the matrix, zero entries
 * skipped, coefficients +-1 as add/sub and the rest as `acc + k * v` on locals, which the relaxed
 * build fuses (scripts/build-wasm.mjs).
 */
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

/** B^T (alpha x alpha) and A^T (m x alpha) of the two algorithms; G lives in conv-winograd.ts (used in JS only). */
const TRANSFORMS = {
  2: {
    BT: [
      [1, 0, -1, 0],
      [0, 1, 1, 0],
      [0, -1, 1, 0],
      [0, 1, 0, -1],
    ],
    AT: [
      [1, 1, 1, 0],
      [0, 1, -1, -1],
    ],
  },
  4: {
    BT: [
      [4, 0, -5, 0, 1, 0],
      [0, -4, -4, 1, 1, 0],
      [0, 4, -4, -1, 1, 0],
      [0, -2, -1, 2, 1, 0],
      [0, 2, -1, -2, 1, 0],
      [0, 4, 0, -5, 0, 1],
    ],
    AT: [
      [1, 1, 1, 1, 1, 0],
      [0, 1, -1, 2, -2, 0],
      [0, 1, 1, 4, 4, 0],
      [0, 1, -1, 8, -8, 1],
    ],
  },
};

/** The generated functions: (dtype, m). */
/**
 * The generated functions: (dtype, m). F(2x2, 3x3) in both dtypes (src/kernels/conv-winograd.ts says
 * why not F(4x4, 3x3) in float64); add `{ bits: 64, m: 4 }` to generate the larger tile as well.
 */
const VARIANTS = [
  { bits: 64, m: 2 },
  { bits: 32, m: 2 },
];

function types(bits) {
  const E = bits / 8;
  return {
    E,
    L: 16 / E,
    V: bits === 64 ? 'f64x2' : 'f32x4',
    S: bits === 64 ? 'f64' : 'f32',
    splat: bits === 64 ? 'v128.load64_splat' : 'v128.load32_splat',
    loadLane: bits === 64 ? 'v128.load64_lane' : 'v128.load32_lane',
    storeLane: bits === 64 ? 'v128.store64_lane' : 'v128.store32_lane',
  };
}

const constName = (k) => `$k${k < 0 ? 'm' : ''}${Math.abs(k)}`;

/** Statements computing out[o] = sum_k M[o][k] * in[k] into locals `${outPrefix}${o}` (vector type V). */
function combine(V, M, inName, outName) {
  const lines = [];
  M.forEach((row, o) => {
    let first = true;
    row.forEach((k, j) => {
      if (k === 0) return;
      const x = `(local.get ${inName(j)})`;
      const acc = `(local.get ${outName(o)})`;
      let expr;
      if (first) expr = k === 1 ? x : k === -1 ? `(${V}.neg ${x})` : `(${V}.mul (local.get ${constName(k)}) ${x})`;
      else if (k === 1) expr = `(${V}.add ${acc} ${x})`;
      else if (k === -1) expr = `(${V}.sub ${acc} ${x})`;
      // NOTE: written `acc + k * x` on locals so the relaxed build turns it into one fused multiply-add.
      else expr = `(${V}.add ${acc} (${V}.mul (local.get ${constName(k)}) ${x}))`;
      lines.push(`(local.set ${outName(o)} ${expr})`);
      first = false;
    });
    if (first) lines.push(`(local.set ${outName(o)} (v128.const i64x2 0 0))`);
  });
  return lines;
}

function constants(V, S, mats) {
  const ks = new Set();
  for (const M of mats) for (const row of M) for (const k of row) if (k !== 0 && k !== 1 && k !== -1) ks.add(k);
  const decl = [...ks].map((k) => `(local ${constName(k)} v128)`).join(' ');
  const init = [...ks].map((k) => `(local.set ${constName(k)} (${V}.splat (${S}.const ${k})))`).join('\n    ');
  return { decl, init };
}

const transpose = (M) => M[0].map((_, j) => M.map((row) => row[j]));
const vecLocals = (prefix, n) => Array.from({ length: n }, (_, i) => `(local ${prefix}${i} v128)`).join(' ');

/**
 * The store of `n` vectors (locals $v0..) to base + xi(i)*sxi: one v128 store when the lanes are
 * contiguous ($vecst), else one store per lane, lane l at + l*st.
 */
function storeVectors(t, xiOf, n) {
  const vec = [];
  const lanes = [];
  for (let i = 0; i < n; i++) {
    const addr = `(i32.add (local.get $base) (i32.mul (local.get $sxi) (i32.const ${xiOf(i)})))`;
    vec.push(`(v128.store ${addr} (local.get $v${i}))`);
    for (let l = 0; l < t.L; l++) {
      const la = l === 0 ? addr : `(i32.add ${addr} (i32.mul (local.get $st) (i32.const ${l})))`;
      lanes.push(`(${t.storeLane} ${l} ${la} (local.get $v${i}))`);
    }
  }
  return `(if (local.get $vecst)
          (then ${vec.join('\n            ')})
          (else ${lanes.join('\n            ')}))`;
}

/** wino_in: V = B^T d B for every tile of every channel of one image. */
function winoIn({ bits, m }) {
  const t = types(bits);
  const { BT } = TRANSFORMS[m];
  const a = m + 2;
  const { decl, init } = constants(t.V, t.S, [BT]);
  const name = `wino_in_f${bits}_m${m}`;
  const phase1 = [];
  for (let r = 0; r < a; r++) {
    // gather row r of the L patches: lane l of d_s is P[row r, column (tx + l)*m + s]
    for (let s = 0; s < a; s++) {
      let e = `(${t.splat} offset=${s * t.E} (local.get $ra))`;
      for (let l = 1; l < t.L; l++) e = `(${t.loadLane} offset=${(s + l * m) * t.E} ${l} (local.get $ra) ${e})`;
      phase1.push(`(local.set $d${s} ${e})`);
    }
    phase1.push(
      ...combine(
        t.V,
        BT,
        (s) => `$d${s}`,
        (j) => `$q${j}`,
      ),
    );
    for (let j = 0; j < a; j++) phase1.push(`(v128.store offset=${(r * a + j) * 16} (local.get $tmp) (local.get $q${j}))`);
    phase1.push(`(local.set $ra (i32.add (local.get $ra) (local.get $rowb)))`);
  }
  const phase2 = [];
  for (let j = 0; j < a; j++) {
    for (let r = 0; r < a; r++) phase2.push(`(local.set $d${r} (v128.load offset=${(r * a + j) * 16} (local.get $tmp)))`);
    phase2.push(
      ...combine(
        t.V,
        BT,
        (r) => `$d${r}`,
        (i) => `$v${i}`,
      ),
    );
    phase2.push(storeVectors(t, (i) => i * a + j, a));
  }
  return `;; ${name}(x, C, H, W, oh, ow, th, twp, P, tmp, dst, sxi, pc, spc, sc, t0, pt, spt, st):
;; V = B^T d B (F(${m}x${m}, 3x3), alpha = ${a}) of every tile of every channel of the image x (C, H, W).
;; Tile (ty, tx), ty < th, tx < twp (twp a multiple of ${t.L}), reads input rows ty*${m} + oh + [0, ${a}) and
;; columns tx*${m} + ow + [0, ${a}), zero outside the image. Its value at xi = i*${a} + j for channel c
;; goes to dst + xi*sxi + chan(c) + tile(t0 + ty*twp + tx), with chan(c) = (c / pc)*spc + (c % pc)*sc
;; and tile(t) = (t / pt)*spt + (t % pt)*st (bytes): the caller's packed GEMM layout.
;; P: C x (th*${m} + 2) x (twp*${m} + 2) elements of staging; tmp: ${a * a * 16} bytes.
(func (export "${name}") (param $x i32) (param $C i32) (param $H i32) (param $W i32) (param $oh i32) (param $ow i32)
    (param $th i32) (param $twp i32) (param $P i32) (param $tmp i32) (param $dst i32) (param $sxi i32)
    (param $pc i32) (param $spc i32) (param $sc i32) (param $t0 i32) (param $pt i32) (param $spt i32) (param $st i32)
    (local $c i32) (local $ty i32) (local $tx i32) (local $t i32) (local $Hp i32) (local $Wp i32) (local $rowb i32)
    (local $ra i32) (local $ra0 i32) (local $base i32) (local $tile i32) (local $vecst i32) (local $tq i32) (local $tr i32)
    (local $cq i32) (local $cr i32) (local $planeb i32) (local $NC i32)
    ${vecLocals('$d', a)} ${vecLocals('$q', a)} ${vecLocals('$v', a)} ${decl}
    ${init}
    (local.set $Hp (i32.add (i32.mul (local.get $th) (i32.const ${m})) (i32.const 2)))
    (local.set $Wp (i32.add (i32.mul (local.get $twp) (i32.const ${m})) (i32.const 2)))
    (local.set $rowb (i32.mul (local.get $Wp) (i32.const ${t.E})))
    (local.set $vecst (i32.eq (local.get $st) (i32.const ${t.E})))
    (local.set $NC (local.get $C))
    (local.set $planeb (i32.mul (i32.mul (local.get $Hp) (local.get $Wp)) (i32.const ${t.E})))
    ;; every channel staged first, so the tile loop can run channels innermost
    (local.set $c (i32.const 0))
    (block $s_done (loop $s_loop
      (br_if $s_done (i32.ge_s (local.get $c) (local.get $C)))
      (call $stage_plane (i32.add (local.get $x) (i32.mul (i32.mul (local.get $c) (i32.mul (local.get $H) (local.get $W))) (i32.const ${t.E})))
        (local.get $H) (local.get $W) (local.get $oh) (local.get $ow) (i32.add (local.get $P) (i32.mul (local.get $c) (local.get $planeb))) (local.get $Hp) (local.get $Wp) (i32.const ${t.E}))
      (local.set $c (i32.add (local.get $c) (i32.const 1)))
      (br $s_loop)))
    ;; PERF: tiles outer, channels inner, so the stores of one tile group land next to each other in every
    ;; xi's packed block; channels outer rewrote half of each cache line of the whole block per channel
    ;; (2 MiB in float64 at x 32,64,32,32, twice L2). Layout offsets are kept by counters (tq, tr for
    ;; tiles; cq, cr for channels), not by divisions.
    (local.set $tq (i32.div_u (local.get $t0) (local.get $pt)))
    (local.set $tr (i32.rem_u (local.get $t0) (local.get $pt)))
    (local.set $ty (i32.const 0))
      (block $ty_done (loop $ty_loop
        (br_if $ty_done (i32.ge_s (local.get $ty) (local.get $th)))
        (local.set $tx (i32.const 0))
        (block $tx_done (loop $tx_loop
          (br_if $tx_done (i32.ge_s (local.get $tx) (local.get $twp)))
          (local.set $tile (i32.add (local.get $dst) (i32.add (i32.mul (local.get $tq) (local.get $spt)) (i32.mul (local.get $tr) (local.get $st)))))
          (local.set $ra0 (i32.add (local.get $P) (i32.mul (i32.add (i32.mul (i32.mul (local.get $ty) (i32.const ${m})) (local.get $Wp))
            (i32.mul (local.get $tx) (i32.const ${m}))) (i32.const ${t.E}))))
          (local.set $cq (i32.const 0))
          (local.set $cr (i32.const 0))
          (local.set $c (i32.const 0))
          (block $c_done (loop $c_loop
            (br_if $c_done (i32.ge_s (local.get $c) (local.get $NC)))
            (local.set $base (i32.add (local.get $tile) (i32.add (i32.mul (local.get $cq) (local.get $spc)) (i32.mul (local.get $cr) (local.get $sc)))))
            (local.set $ra (i32.add (local.get $ra0) (i32.mul (local.get $c) (local.get $planeb))))
            ${phase1.join('\n            ')}
            ${phase2.join('\n            ')}
            (local.set $cr (i32.add (local.get $cr) (i32.const 1)))
            (if (i32.eq (local.get $cr) (local.get $pc)) (then
              (local.set $cr (i32.const 0))
              (local.set $cq (i32.add (local.get $cq) (i32.const 1)))))
            (local.set $c (i32.add (local.get $c) (i32.const 1)))
            (br $c_loop)))
          ;; the next L tiles: t advances by L across rows too (t = t0 + ty*twp + tx), tq/tr = t / pt, t % pt
          (local.set $tr (i32.add (local.get $tr) (i32.const ${t.L})))
          (if (i32.ge_u (local.get $tr) (local.get $pt)) (then
            (local.set $tr (i32.sub (local.get $tr) (local.get $pt)))
            (local.set $tq (i32.add (local.get $tq) (i32.const 1)))))
          (local.set $tx (i32.add (local.get $tx) (i32.const ${t.L})))
          (br $tx_loop)))
        (local.set $ty (i32.add (local.get $ty) (i32.const 1)))
        (br $ty_loop)))
)
`;
}

/** wino_out: Y = A^T M A + bias of every tile of every output channel, into one image. */
function winoOut({ bits, m }) {
  const t = types(bits);
  const { AT } = TRANSFORMS[m];
  const a = m + 2;
  const { decl, init } = constants(t.V, t.S, [AT]);
  const name = `wino_out_f${bits}_m${m}`;
  const phase1 = [];
  for (let i = 0; i < a; i++) {
    for (let j = 0; j < a; j++) {
      phase1.push(`(local.set $d${j} (v128.load (local.get $ra)))`);
      phase1.push(`(local.set $ra (i32.add (local.get $ra) (local.get $sxi)))`);
    }
    phase1.push(
      ...combine(
        t.V,
        AT,
        (j) => `$d${j}`,
        (jj) => `$q${jj}`,
      ),
    );
    for (let jj = 0; jj < m; jj++) phase1.push(`(v128.store offset=${(i * m + jj) * 16} (local.get $tmp) (local.get $q${jj}))`);
  }
  const phase2 = [];
  for (let jj = 0; jj < m; jj++) {
    for (let i = 0; i < a; i++) phase2.push(`(local.set $d${i} (v128.load offset=${(i * m + jj) * 16} (local.get $tmp)))`);
    phase2.push(
      ...combine(
        t.V,
        AT,
        (i) => `$d${i}`,
        (ii) => `$q${ii}`,
      ),
    );
    for (let ii = 0; ii < m; ii++) {
      phase2.push(`(v128.store offset=${(a * m + ii * m + jj) * 16} (local.get $tmp) (${t.V}.add (local.get $q${ii}) (local.get $bf)))`);
    }
  }
  // Scatter of lane l: full tiles unrolled, edge tiles bounded.
  const full = [];
  for (let ii = 0; ii < m; ii++) {
    for (let jj = 0; jj < m; jj++) {
      full.push(`(${t.S}.store offset=${jj * t.E} (local.get $o) (${t.S}.load offset=${(a * m + ii * m + jj) * 16} (local.get $lane)))`);
    }
    if (ii < m - 1) full.push(`(local.set $o (i32.add (local.get $o) (local.get $outRowb)))`);
  }
  return `;; ${name}(M, F, T, t0, th, tw, twp, out, Hout, Wout, bias, tmp): the output transform of
;; F(${m}x${m}, 3x3): for every channel f < F and tile (ty, tx), ty < th, tx < tw, of one image, with M the
;; alpha^2 = ${a * a} matrices (F, T) row-major one after the other and the tile's column t0 + ty*twp + tx,
;; out[f, ty*${m} + ii, tx*${m} + jj] = (A^T M A)[ii, jj] + bias[f] for the rows and columns inside out
;; (F, Hout, Wout). bias: byte address of F values, or -1 for none. tmp: ${(a * m + m * m) * 16} bytes.
(func (export "${name}") (param $M i32) (param $F i32) (param $T i32) (param $t0 i32) (param $th i32) (param $tw i32)
    (param $twp i32) (param $out i32) (param $Hout i32) (param $Wout i32) (param $bias i32) (param $tmp i32)
    (local $f i32) (local $ty i32) (local $tx i32) (local $l i32) (local $sxi i32) (local $ra i32) (local $src i32)
    (local $outF i32) (local $outRowb i32) (local $rows i32) (local $cols i32) (local $o i32) (local $lane i32)
    (local $ii i32) (local $jj i32) (local $bf v128)
    ${vecLocals('$d', a)} ${vecLocals('$q', a)} ${decl}
    ${init}
    (local.set $sxi (i32.mul (i32.mul (local.get $F) (local.get $T)) (i32.const ${t.E})))
    (local.set $outRowb (i32.mul (local.get $Wout) (i32.const ${t.E})))
    (local.set $f (i32.const 0))
    (block $f_done (loop $f_loop
      (br_if $f_done (i32.ge_s (local.get $f) (local.get $F)))
      (local.set $bf (if (result v128) (i32.ge_s (local.get $bias) (i32.const 0))
        (then (${t.splat} (i32.add (local.get $bias) (i32.mul (local.get $f) (i32.const ${t.E})))))
        (else (v128.const i64x2 0 0))))
      (local.set $outF (i32.add (local.get $out) (i32.mul (i32.mul (local.get $f) (i32.mul (local.get $Hout) (local.get $Wout))) (i32.const ${t.E}))))
      (local.set $ty (i32.const 0))
      (block $ty_done (loop $ty_loop
        (br_if $ty_done (i32.ge_s (local.get $ty) (local.get $th)))
        (local.set $rows (i32.sub (local.get $Hout) (i32.mul (local.get $ty) (i32.const ${m}))))
        (if (i32.gt_s (local.get $rows) (i32.const ${m})) (then (local.set $rows (i32.const ${m}))))
        (local.set $tx (i32.const 0))
        (block $tx_done (loop $tx_loop
          (br_if $tx_done (i32.ge_s (local.get $tx) (local.get $tw)))
          (local.set $src (i32.add (local.get $M) (i32.mul (i32.add (i32.mul (local.get $f) (local.get $T))
            (i32.add (local.get $t0) (i32.add (i32.mul (local.get $ty) (local.get $twp)) (local.get $tx)))) (i32.const ${t.E}))))
          (local.set $ra (local.get $src))
          ${phase1.join('\n          ')}
          ${phase2.join('\n          ')}
          (local.set $l (i32.const 0))
          (block $l_done (loop $l_loop
            (br_if $l_done (i32.ge_s (local.get $l) (i32.const ${t.L})))
            (br_if $l_done (i32.ge_s (i32.add (local.get $tx) (local.get $l)) (local.get $tw)))
            (local.set $cols (i32.sub (local.get $Wout) (i32.mul (i32.add (local.get $tx) (local.get $l)) (i32.const ${m}))))
            (if (i32.gt_s (local.get $cols) (i32.const ${m})) (then (local.set $cols (i32.const ${m}))))
            (local.set $o (i32.add (local.get $outF) (i32.add (i32.mul (i32.mul (local.get $ty) (i32.const ${m})) (local.get $outRowb))
              (i32.mul (i32.mul (i32.add (local.get $tx) (local.get $l)) (i32.const ${m})) (i32.const ${t.E})))))
            (local.set $lane (i32.add (local.get $tmp) (i32.mul (local.get $l) (i32.const ${t.E}))))
            (if (i32.and (i32.eq (local.get $rows) (i32.const ${m})) (i32.eq (local.get $cols) (i32.const ${m})))
              (then
                ${full.join('\n                ')})
              (else
                (local.set $ii (i32.const 0))
                (block $ii_done (loop $ii_loop
                  (br_if $ii_done (i32.ge_s (local.get $ii) (local.get $rows)))
                  (local.set $jj (i32.const 0))
                  (block $jj_done (loop $jj_loop
                    (br_if $jj_done (i32.ge_s (local.get $jj) (local.get $cols)))
                    (${t.S}.store (i32.add (local.get $o) (i32.mul (local.get $jj) (i32.const ${t.E})))
                      (${t.S}.load offset=${a * m * 16} (i32.add (local.get $lane) (i32.mul (i32.add (i32.mul (local.get $ii) (i32.const ${m})) (local.get $jj)) (i32.const 16)))))
                    (local.set $jj (i32.add (local.get $jj) (i32.const 1)))
                    (br $jj_loop)))
                  (local.set $o (i32.add (local.get $o) (local.get $outRowb)))
                  (local.set $ii (i32.add (local.get $ii) (i32.const 1)))
                  (br $ii_loop)))))
            (local.set $l (i32.add (local.get $l) (i32.const 1)))
            (br $l_loop)))
          (local.set $tx (i32.add (local.get $tx) (i32.const ${t.L})))
          (br $tx_loop)))
        (local.set $ty (i32.add (local.get $ty) (i32.const 1)))
        (br $ty_loop)))
      (local.set $f (i32.add (local.get $f) (i32.const 1)))
      (br $f_loop)))
)
`;
}

/** wino_dy: A dy A^T of every m x m tile of every channel of one image of dout (backward filter). */
function winoDy({ bits, m }) {
  const t = types(bits);
  const A = transpose(TRANSFORMS[m].AT); // alpha x m
  const a = m + 2;
  const { decl, init } = constants(t.V, t.S, [A]);
  const name = `wino_dy_f${bits}_m${m}`;
  const phase1 = [];
  for (let r = 0; r < m; r++) {
    for (let s = 0; s < m; s++) {
      let e = `(${t.splat} offset=${s * t.E} (local.get $ra))`;
      for (let l = 1; l < t.L; l++) e = `(${t.loadLane} offset=${(s + l * m) * t.E} ${l} (local.get $ra) ${e})`;
      phase1.push(`(local.set $d${s} ${e})`);
    }
    phase1.push(
      ...combine(
        t.V,
        A,
        (s) => `$d${s}`,
        (j) => `$q${j}`,
      ),
    );
    for (let j = 0; j < a; j++) phase1.push(`(v128.store offset=${(r * a + j) * 16} (local.get $tmp) (local.get $q${j}))`);
    phase1.push(`(local.set $ra (i32.add (local.get $ra) (local.get $rowb)))`);
  }
  const phase2 = [];
  for (let j = 0; j < a; j++) {
    for (let r = 0; r < m; r++) phase2.push(`(local.set $d${r} (v128.load offset=${(r * a + j) * 16} (local.get $tmp)))`);
    phase2.push(
      ...combine(
        t.V,
        A,
        (r) => `$d${r}`,
        (i) => `$v${i}`,
      ),
    );
    phase2.push(storeVectors(t, (i) => i * a + j, a));
  }
  return `;; ${name}(dy, F, Hout, Wout, th, twp, P, tmp, dst, sxi, pc, spc, sc, t0, pt, spt, st): the
;; transform A dy A^T (alpha = ${a}) of every ${m}x${m} tile (ty, tx), ty < th, tx < twp, of every channel of the
;; image dy (F, Hout, Wout), zero outside it; stored as wino_in stores (dst, sxi, chan, tile layout).
;; P: F x th*${m} x twp*${m} elements of staging; tmp: ${m * a * 16} bytes.
(func (export "${name}") (param $dy i32) (param $F i32) (param $Hout i32) (param $Wout i32) (param $th i32) (param $twp i32)
    (param $P i32) (param $tmp i32) (param $dst i32) (param $sxi i32)
    (param $pc i32) (param $spc i32) (param $sc i32) (param $t0 i32) (param $pt i32) (param $spt i32) (param $st i32)
    (local $c i32) (local $ty i32) (local $tx i32) (local $t i32) (local $Hp i32) (local $Wp i32) (local $rowb i32)
    (local $ra i32) (local $ra0 i32) (local $base i32) (local $tile i32) (local $vecst i32) (local $tq i32) (local $tr i32)
    (local $cq i32) (local $cr i32) (local $planeb i32) (local $NC i32)
    ${vecLocals('$d', m)} ${vecLocals('$q', a)} ${vecLocals('$v', a)} ${decl}
    ${init}
    (local.set $Hp (i32.mul (local.get $th) (i32.const ${m})))
    (local.set $Wp (i32.mul (local.get $twp) (i32.const ${m})))
    (local.set $rowb (i32.mul (local.get $Wp) (i32.const ${t.E})))
    (local.set $vecst (i32.eq (local.get $st) (i32.const ${t.E})))
    (local.set $NC (local.get $F))
    (local.set $planeb (i32.mul (i32.mul (local.get $Hp) (local.get $Wp)) (i32.const ${t.E})))
    ;; every channel staged first, so the tile loop can run channels innermost
    (local.set $c (i32.const 0))
    (block $s_done (loop $s_loop
      (br_if $s_done (i32.ge_s (local.get $c) (local.get $F)))
      (call $stage_plane (i32.add (local.get $dy) (i32.mul (i32.mul (local.get $c) (i32.mul (local.get $Hout) (local.get $Wout))) (i32.const ${t.E})))
        (local.get $Hout) (local.get $Wout) (i32.const 0) (i32.const 0) (i32.add (local.get $P) (i32.mul (local.get $c) (local.get $planeb))) (local.get $Hp) (local.get $Wp) (i32.const ${t.E}))
      (local.set $c (i32.add (local.get $c) (i32.const 1)))
      (br $s_loop)))
    ;; PERF: tiles outer, channels inner, so the stores of one tile group land next to each other in every
    ;; xi's packed block; channels outer rewrote half of each cache line of the whole block per channel
    ;; (2 MiB in float64 at x 32,64,32,32, twice L2). Layout offsets are kept by counters (tq, tr for
    ;; tiles; cq, cr for channels), not by divisions.
    (local.set $tq (i32.div_u (local.get $t0) (local.get $pt)))
    (local.set $tr (i32.rem_u (local.get $t0) (local.get $pt)))
    (local.set $ty (i32.const 0))
      (block $ty_done (loop $ty_loop
        (br_if $ty_done (i32.ge_s (local.get $ty) (local.get $th)))
        (local.set $tx (i32.const 0))
        (block $tx_done (loop $tx_loop
          (br_if $tx_done (i32.ge_s (local.get $tx) (local.get $twp)))
          (local.set $tile (i32.add (local.get $dst) (i32.add (i32.mul (local.get $tq) (local.get $spt)) (i32.mul (local.get $tr) (local.get $st)))))
          (local.set $ra0 (i32.add (local.get $P) (i32.mul (i32.add (i32.mul (i32.mul (local.get $ty) (i32.const ${m})) (local.get $Wp))
            (i32.mul (local.get $tx) (i32.const ${m}))) (i32.const ${t.E}))))
          (local.set $cq (i32.const 0))
          (local.set $cr (i32.const 0))
          (local.set $c (i32.const 0))
          (block $c_done (loop $c_loop
            (br_if $c_done (i32.ge_s (local.get $c) (local.get $NC)))
            (local.set $base (i32.add (local.get $tile) (i32.add (i32.mul (local.get $cq) (local.get $spc)) (i32.mul (local.get $cr) (local.get $sc)))))
            (local.set $ra (i32.add (local.get $ra0) (i32.mul (local.get $c) (local.get $planeb))))
            ${phase1.join('\n            ')}
            ${phase2.join('\n            ')}
            (local.set $cr (i32.add (local.get $cr) (i32.const 1)))
            (if (i32.eq (local.get $cr) (local.get $pc)) (then
              (local.set $cr (i32.const 0))
              (local.set $cq (i32.add (local.get $cq) (i32.const 1)))))
            (local.set $c (i32.add (local.get $c) (i32.const 1)))
            (br $c_loop)))
          ;; the next L tiles: t advances by L across rows too (t = t0 + ty*twp + tx), tq/tr = t / pt, t % pt
          (local.set $tr (i32.add (local.get $tr) (i32.const ${t.L})))
          (if (i32.ge_u (local.get $tr) (local.get $pt)) (then
            (local.set $tr (i32.sub (local.get $tr) (local.get $pt)))
            (local.set $tq (i32.add (local.get $tq) (i32.const 1)))))
          (local.set $tx (i32.add (local.get $tx) (i32.const ${t.L})))
          (br $tx_loop)))
        (local.set $ty (i32.add (local.get $ty) (i32.const 1)))
        (br $ty_loop)))
)
`;
}

const stagePlane = `;; stage_plane(src, H, W, oh, ow, dst, Hp, Wp, es): dst[r, s] = src[r + oh, s + ow] for r < Hp, s < Wp,
;; 0 outside the H x W plane src (es-byte elements): the zero-padded copy the transforms gather from.
(func $stage_plane (param $src i32) (param $H i32) (param $W i32) (param $oh i32) (param $ow i32) (param $dst i32)
    (param $Hp i32) (param $Wp i32) (param $es i32)
  (local $r i32) (local $h i32) (local $s0 i32) (local $s1 i32) (local $rowb i32)
  (local.set $rowb (i32.mul (local.get $Wp) (local.get $es)))
  ;; valid columns s in [s0, s1): 0 <= s + ow < W
  (local.set $s0 (select (i32.sub (i32.const 0) (local.get $ow)) (i32.const 0) (i32.lt_s (local.get $ow) (i32.const 0))))
  (if (i32.gt_s (local.get $s0) (local.get $Wp)) (then (local.set $s0 (local.get $Wp))))
  (local.set $s1 (i32.sub (local.get $W) (local.get $ow)))
  (if (i32.gt_s (local.get $s1) (local.get $Wp)) (then (local.set $s1 (local.get $Wp))))
  (if (i32.lt_s (local.get $s1) (local.get $s0)) (then (local.set $s1 (local.get $s0))))
  (local.set $r (i32.const 0))
  (block $r_done (loop $r_loop
    (br_if $r_done (i32.ge_s (local.get $r) (local.get $Hp)))
    (local.set $h (i32.add (local.get $r) (local.get $oh)))
    (if (i32.or (i32.lt_s (local.get $h) (i32.const 0)) (i32.ge_s (local.get $h) (local.get $H)))
      (then (memory.fill (local.get $dst) (i32.const 0) (local.get $rowb)))
      (else
        (memory.fill (local.get $dst) (i32.const 0) (i32.mul (local.get $s0) (local.get $es)))
        (memory.copy (i32.add (local.get $dst) (i32.mul (local.get $s0) (local.get $es)))
          (i32.add (local.get $src) (i32.mul (i32.add (i32.mul (local.get $h) (local.get $W)) (i32.add (local.get $s0) (local.get $ow))) (local.get $es)))
          (i32.mul (i32.sub (local.get $s1) (local.get $s0)) (local.get $es)))
        (memory.fill (i32.add (local.get $dst) (i32.mul (local.get $s1) (local.get $es))) (i32.const 0)
          (i32.mul (i32.sub (local.get $Wp) (local.get $s1)) (local.get $es)))))
    (local.set $dst (i32.add (local.get $dst) (local.get $rowb)))
    (local.set $r (i32.add (local.get $r) (i32.const 1)))
    (br $r_loop)))
)
`;

const head = `;; GENERATED by scripts/gen-winograd.mjs from its transform matrices: edit that script, not this file.
;;
;; The Winograd transforms of the 3x3 stride-1 convolution (src/kernels/conv-winograd.ts), a fragment of
;; the kernels module (scripts/build-wasm.mjs). F(m x m, 3 x 3), alpha = m + 2: Y = A^T [(G g G^T) . (B^T d B)] A
;; per m x m output tile; the alpha^2 elementwise products summed over channels are the caller's GEMMs.
;; Vectors hold L consecutive tiles of one tile row (L = 2 in f64, 4 in f32); addresses are byte addresses.

`;
const body = [stagePlane, ...VARIANTS.flatMap((v) => [winoIn(v), winoOut(v), winoDy(v)])].join('\n');
writeFileSync(join(root, 'src', 'kernels', 'wasm', 'winograd.wat'), head + body);
console.log('gen-winograd: wrote src/kernels/wasm/winograd.wat');
