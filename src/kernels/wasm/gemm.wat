;; Packed matrix multiply kernels for cnn-check in WebAssembly SIMD (128-bit): a fragment of the kernels
;; module (scripts/build-wasm.mjs wraps the fragments in one module with one shared memory).
;;
;; The JS driver (src/kernels/gemm.ts) blocks C = op(A) * op(B) into KC x NC panels of B and MC x KC
;; blocks of A, packs each block with pack_a_* / pack_b_* into contiguous micro-panels, and calls
;; kernel_* on them. A micro-panel of A is MR = 4 rows stored k-major (4 values per k); a micro-panel of
;; B is NR columns stored k-major, NR = 4 for f64 and 8 for f32: two vectors either way. The packers
;; zero-pad the panels to full MR / NR, so the kernels need no bounds checks inside the k loop.
;;
;; Multiply-adds are written (fNxM.add (local.get $acc) (fNxM.mul (local.get $a) (local.get $b))): the
;; build assembles this source twice, as is (kernels.wasm, SIMD128) and with every such expression
;; rewritten to fNxM.relaxed_madd (kernels-relaxed.wasm, fused multiply-add where the engine has it).
;;
;; Bytes [0, 256) of the memory are the kernels' scratch for edge tiles. Strides (rs, cs) are in
;; elements; addresses are byte addresses.

;; pack_a_64(src, rs, cs, mc, kc, dst): A[i, k] = src[i*rs + k*cs] (8-byte elements), i < mc,
;; k < kc, into panels of 4 rows stored k-major (32 bytes per k), zero-padded to a multiple of 4 rows.
;; PERF: a full panel of a transposed A (rs = 1) is 32 contiguous bytes per k: v128 copies.
(func (export "pack_a_64") (param $src i32) (param $rs i32) (param $cs i32) (param $mc i32) (param $kc i32) (param $dst i32)
  (local $ir i32) (local $k i32) (local $i i32) (local $p i32) (local $rsb i32) (local $csb i32) (local $rows i32)
  (local.set $rsb (i32.shl (local.get $rs) (i32.const 3)))
  (local.set $csb (i32.shl (local.get $cs) (i32.const 3)))
  (local.set $ir (i32.const 0))
  (block $ir_done (loop $ir_loop
    (br_if $ir_done (i32.ge_s (local.get $ir) (local.get $mc)))
    (local.set $rows (i32.sub (local.get $mc) (local.get $ir)))
    (local.set $p (i32.add (local.get $src) (i32.mul (local.get $ir) (local.get $rsb))))
    (local.set $k (i32.const 0))
    (block $k_done (loop $k_loop
      (br_if $k_done (i32.ge_s (local.get $k) (local.get $kc)))
      (if (i32.ge_s (local.get $rows) (i32.const 4))
        (then
          (if (i32.eq (local.get $rs) (i32.const 1))
            (then (v128.store offset=0 (local.get $dst) (v128.load offset=0 (local.get $p)))
            (v128.store offset=16 (local.get $dst) (v128.load offset=16 (local.get $p))))
            (else
              (i64.store offset=0 (local.get $dst) (i64.load (local.get $p)))
              (i64.store offset=8 (local.get $dst) (i64.load (i32.add (local.get $p) (local.get $rsb))))
              (i64.store offset=16 (local.get $dst) (i64.load (i32.add (local.get $p) (i32.shl (local.get $rsb) (i32.const 1)))))
              (i64.store offset=24 (local.get $dst) (i64.load (i32.add (local.get $p) (i32.mul (local.get $rsb) (i32.const 3))))))))
        (else
          (local.set $i (i32.const 0))
          (block $i_done (loop $i_loop
            (br_if $i_done (i32.ge_s (local.get $i) (i32.const 4)))
            (i64.store (i32.add (local.get $dst) (i32.shl (local.get $i) (i32.const 3)))
              (if (result i64) (i32.lt_s (local.get $i) (local.get $rows))
                (then (i64.load (i32.add (local.get $p) (i32.mul (local.get $i) (local.get $rsb)))))
                (else (i64.const 0))))
            (local.set $i (i32.add (local.get $i) (i32.const 1)))
            (br $i_loop)))))
      (local.set $p (i32.add (local.get $p) (local.get $csb)))
      (local.set $dst (i32.add (local.get $dst) (i32.const 32)))
      (local.set $k (i32.add (local.get $k) (i32.const 1)))
      (br $k_loop)))
    (local.set $ir (i32.add (local.get $ir) (i32.const 4)))
    (br $ir_loop)))
)

;; pack_b_64(src, rs, cs, kc, nc, dst): B[k, j] = src[k*rs + j*cs] (8-byte elements), k < kc,
;; j < nc, into panels of 4 columns stored k-major (32 bytes per k), zero-padded to a multiple of 4 columns.
;; PERF: a full panel of a row-major B (cs = 1) is 32 contiguous bytes per k: two v128 copies.
(func (export "pack_b_64") (param $src i32) (param $rs i32) (param $cs i32) (param $kc i32) (param $nc i32) (param $dst i32)
  (local $jr i32) (local $k i32) (local $j i32) (local $p i32) (local $q i32) (local $rsb i32) (local $csb i32) (local $cols i32)
  (local.set $rsb (i32.shl (local.get $rs) (i32.const 3)))
  (local.set $csb (i32.shl (local.get $cs) (i32.const 3)))
  (local.set $jr (i32.const 0))
  (block $jr_done (loop $jr_loop
    (br_if $jr_done (i32.ge_s (local.get $jr) (local.get $nc)))
    (local.set $cols (i32.sub (local.get $nc) (local.get $jr)))
    (local.set $p (i32.add (local.get $src) (i32.mul (local.get $jr) (local.get $csb))))
    (local.set $k (i32.const 0))
    (block $k_done (loop $k_loop
      (br_if $k_done (i32.ge_s (local.get $k) (local.get $kc)))
      (if (i32.and (i32.eq (local.get $cs) (i32.const 1)) (i32.ge_s (local.get $cols) (i32.const 4)))
        (then
          (v128.store offset=0 (local.get $dst) (v128.load offset=0 (local.get $p)))
          (v128.store offset=16 (local.get $dst) (v128.load offset=16 (local.get $p))))
        (else (if (i32.ge_s (local.get $cols) (i32.const 4))
          ;; PERF: a full panel of a transposed B (cs != 1): 4 strided loads without the per-element bounds
          ;; checks: 0.59 -> 0.34 ms for the direct conv's dout^T of 100 images at the cs231n shape.
          (then
            (local.set $q (local.get $p))
              (i64.store offset=0 (local.get $dst) (i64.load (local.get $q)))
              (local.set $q (i32.add (local.get $q) (local.get $csb)))
              (i64.store offset=8 (local.get $dst) (i64.load (local.get $q)))
              (local.set $q (i32.add (local.get $q) (local.get $csb)))
              (i64.store offset=16 (local.get $dst) (i64.load (local.get $q)))
              (local.set $q (i32.add (local.get $q) (local.get $csb)))
              (i64.store offset=24 (local.get $dst) (i64.load (local.get $q)))
              (local.set $q (i32.add (local.get $q) (local.get $csb))))
        (else
          (local.set $j (i32.const 0))
          (block $j_done (loop $j_loop
            (br_if $j_done (i32.ge_s (local.get $j) (i32.const 4)))
            (i64.store (i32.add (local.get $dst) (i32.shl (local.get $j) (i32.const 3)))
              (if (result i64) (i32.lt_s (local.get $j) (local.get $cols))
                (then (i64.load (i32.add (local.get $p) (i32.mul (local.get $j) (local.get $csb)))))
                (else (i64.const 0))))
            (local.set $j (i32.add (local.get $j) (i32.const 1)))
            (br $j_loop)))))))
      (local.set $p (i32.add (local.get $p) (local.get $rsb)))
      (local.set $dst (i32.add (local.get $dst) (i32.const 32)))
      (local.set $k (i32.add (local.get $k) (i32.const 1)))
      (br $k_loop)))
    (local.set $jr (i32.add (local.get $jr) (i32.const 4)))
    (br $jr_loop)))
)

;; pack_a_32(src, rs, cs, mc, kc, dst): A[i, k] = src[i*rs + k*cs] (4-byte elements), i < mc,
;; k < kc, into panels of 4 rows stored k-major (16 bytes per k), zero-padded to a multiple of 4 rows.
;; PERF: a full panel of a transposed A (rs = 1) is 16 contiguous bytes per k: v128 copies.
(func (export "pack_a_32") (param $src i32) (param $rs i32) (param $cs i32) (param $mc i32) (param $kc i32) (param $dst i32)
  (local $ir i32) (local $k i32) (local $i i32) (local $p i32) (local $rsb i32) (local $csb i32) (local $rows i32)
  (local.set $rsb (i32.shl (local.get $rs) (i32.const 2)))
  (local.set $csb (i32.shl (local.get $cs) (i32.const 2)))
  (local.set $ir (i32.const 0))
  (block $ir_done (loop $ir_loop
    (br_if $ir_done (i32.ge_s (local.get $ir) (local.get $mc)))
    (local.set $rows (i32.sub (local.get $mc) (local.get $ir)))
    (local.set $p (i32.add (local.get $src) (i32.mul (local.get $ir) (local.get $rsb))))
    (local.set $k (i32.const 0))
    (block $k_done (loop $k_loop
      (br_if $k_done (i32.ge_s (local.get $k) (local.get $kc)))
      (if (i32.ge_s (local.get $rows) (i32.const 4))
        (then
          (if (i32.eq (local.get $rs) (i32.const 1))
            (then (v128.store offset=0 (local.get $dst) (v128.load offset=0 (local.get $p))))
            (else
              (i32.store offset=0 (local.get $dst) (i32.load (local.get $p)))
              (i32.store offset=4 (local.get $dst) (i32.load (i32.add (local.get $p) (local.get $rsb))))
              (i32.store offset=8 (local.get $dst) (i32.load (i32.add (local.get $p) (i32.shl (local.get $rsb) (i32.const 1)))))
              (i32.store offset=12 (local.get $dst) (i32.load (i32.add (local.get $p) (i32.mul (local.get $rsb) (i32.const 3))))))))
        (else
          (local.set $i (i32.const 0))
          (block $i_done (loop $i_loop
            (br_if $i_done (i32.ge_s (local.get $i) (i32.const 4)))
            (i32.store (i32.add (local.get $dst) (i32.shl (local.get $i) (i32.const 2)))
              (if (result i32) (i32.lt_s (local.get $i) (local.get $rows))
                (then (i32.load (i32.add (local.get $p) (i32.mul (local.get $i) (local.get $rsb)))))
                (else (i32.const 0))))
            (local.set $i (i32.add (local.get $i) (i32.const 1)))
            (br $i_loop)))))
      (local.set $p (i32.add (local.get $p) (local.get $csb)))
      (local.set $dst (i32.add (local.get $dst) (i32.const 16)))
      (local.set $k (i32.add (local.get $k) (i32.const 1)))
      (br $k_loop)))
    (local.set $ir (i32.add (local.get $ir) (i32.const 4)))
    (br $ir_loop)))
)

;; pack_b_32(src, rs, cs, kc, nc, dst): B[k, j] = src[k*rs + j*cs] (4-byte elements), k < kc,
;; j < nc, into panels of 8 columns stored k-major (32 bytes per k), zero-padded to a multiple of 8 columns.
;; PERF: a full panel of a row-major B (cs = 1) is 32 contiguous bytes per k: two v128 copies.
(func (export "pack_b_32") (param $src i32) (param $rs i32) (param $cs i32) (param $kc i32) (param $nc i32) (param $dst i32)
  (local $jr i32) (local $k i32) (local $j i32) (local $p i32) (local $q i32) (local $rsb i32) (local $csb i32) (local $cols i32)
  (local.set $rsb (i32.shl (local.get $rs) (i32.const 2)))
  (local.set $csb (i32.shl (local.get $cs) (i32.const 2)))
  (local.set $jr (i32.const 0))
  (block $jr_done (loop $jr_loop
    (br_if $jr_done (i32.ge_s (local.get $jr) (local.get $nc)))
    (local.set $cols (i32.sub (local.get $nc) (local.get $jr)))
    (local.set $p (i32.add (local.get $src) (i32.mul (local.get $jr) (local.get $csb))))
    (local.set $k (i32.const 0))
    (block $k_done (loop $k_loop
      (br_if $k_done (i32.ge_s (local.get $k) (local.get $kc)))
      (if (i32.and (i32.eq (local.get $cs) (i32.const 1)) (i32.ge_s (local.get $cols) (i32.const 8)))
        (then
          (v128.store offset=0 (local.get $dst) (v128.load offset=0 (local.get $p)))
          (v128.store offset=16 (local.get $dst) (v128.load offset=16 (local.get $p))))
        (else (if (i32.ge_s (local.get $cols) (i32.const 8))
          ;; PERF: a full panel of a transposed B (cs != 1): 8 strided loads without the per-element bounds
          ;; checks: 0.59 -> 0.34 ms for the direct conv's dout^T of 100 images at the cs231n shape.
          (then
            (local.set $q (local.get $p))
              (i32.store offset=0 (local.get $dst) (i32.load (local.get $q)))
              (local.set $q (i32.add (local.get $q) (local.get $csb)))
              (i32.store offset=4 (local.get $dst) (i32.load (local.get $q)))
              (local.set $q (i32.add (local.get $q) (local.get $csb)))
              (i32.store offset=8 (local.get $dst) (i32.load (local.get $q)))
              (local.set $q (i32.add (local.get $q) (local.get $csb)))
              (i32.store offset=12 (local.get $dst) (i32.load (local.get $q)))
              (local.set $q (i32.add (local.get $q) (local.get $csb)))
              (i32.store offset=16 (local.get $dst) (i32.load (local.get $q)))
              (local.set $q (i32.add (local.get $q) (local.get $csb)))
              (i32.store offset=20 (local.get $dst) (i32.load (local.get $q)))
              (local.set $q (i32.add (local.get $q) (local.get $csb)))
              (i32.store offset=24 (local.get $dst) (i32.load (local.get $q)))
              (local.set $q (i32.add (local.get $q) (local.get $csb)))
              (i32.store offset=28 (local.get $dst) (i32.load (local.get $q)))
              (local.set $q (i32.add (local.get $q) (local.get $csb))))
        (else
          (local.set $j (i32.const 0))
          (block $j_done (loop $j_loop
            (br_if $j_done (i32.ge_s (local.get $j) (i32.const 8)))
            (i32.store (i32.add (local.get $dst) (i32.shl (local.get $j) (i32.const 2)))
              (if (result i32) (i32.lt_s (local.get $j) (local.get $cols))
                (then (i32.load (i32.add (local.get $p) (i32.mul (local.get $j) (local.get $csb)))))
                (else (i32.const 0))))
            (local.set $j (i32.add (local.get $j) (i32.const 1)))
            (br $j_loop)))))))
      (local.set $p (i32.add (local.get $p) (local.get $rsb)))
      (local.set $dst (i32.add (local.get $dst) (i32.const 32)))
      (local.set $k (i32.add (local.get $k) (i32.const 1)))
      (br $k_loop)))
    (local.set $jr (i32.add (local.get $jr) (i32.const 8)))
    (br $jr_loop)))
)

;; kernel_f64(mc, nc, kc, pa, pb, c, ldc, acc): C[0:mc, 0:nc] = (acc ? C : 0) + Apacked * Bpacked, where Apacked holds
;; panels of 4 rows and Bpacked panels of 4 columns (two f64x2 vectors), both k-major (pack_a_64,
;; pack_b_64). C is row-major with leading dimension ldc (elements); addresses are byte addresses.
;; PERF: a 4 x 4 tile of C in 8 f64x2 accumulators, one k step per iteration. Larger tiles (4 x 4
;; vectors, 6 x 2, 4 x 3) or a k loop unrolled by two need more than the 15 xmm registers V8 allocates
;; and spill inside the loop (seen in --print-wasm-code): kernel-only, packed operands in L1/L2, one
;; core, 4 x 2 vectors ran 26.7 (f64) / 54.9 (f32) GFLOP/s with FMA and 21.8 / 45.0 with mul + add,
;; against 14 / 29 for the former 4 x 4-vector tile unrolled by two (the machine's 128-bit FMA peak,
;; measured the same way: 28 / 57).
(func (export "kernel_f64") (param $mc i32) (param $nc i32) (param $kc i32) (param $pa i32) (param $pb i32) (param $c i32) (param $ldc i32) (param $acc i32)
  (local $ir i32) (local $jr i32) (local $a i32) (local $b i32) (local $k i32) (local $cp i32) (local $ldcb i32) (local $kcb i32)
  (local $mr i32) (local $nr i32) (local $i i32) (local $j i32) (local $av v128) (local $b0 v128) (local $b1 v128)
  (local $c00 v128) (local $c01 v128) (local $c10 v128) (local $c11 v128)
  (local $c20 v128) (local $c21 v128) (local $c30 v128) (local $c31 v128)
  (local.set $ldcb (i32.mul (local.get $ldc) (i32.const 8)))
  (local.set $kcb (i32.mul (local.get $kc) (i32.const 8)))
  ;; PERF: jr outer, ir inner: one 4-column panel of B stays in L1 while the A panels stream from L2.
  (local.set $jr (i32.const 0))
  (block $jr_done (loop $jr_loop
    (br_if $jr_done (i32.ge_s (local.get $jr) (local.get $nc)))
    (local.set $ir (i32.const 0))
    (block $ir_done (loop $ir_loop
      (br_if $ir_done (i32.ge_s (local.get $ir) (local.get $mc)))
      (local.set $a (i32.add (local.get $pa) (i32.mul (local.get $ir) (local.get $kcb))))
      (local.set $b (i32.add (local.get $pb) (i32.mul (local.get $jr) (local.get $kcb))))
      (local.set $c00 (v128.const i64x2 0 0)) (local.set $c01 (v128.const i64x2 0 0))
      (local.set $c10 (v128.const i64x2 0 0)) (local.set $c11 (v128.const i64x2 0 0))
      (local.set $c20 (v128.const i64x2 0 0)) (local.set $c21 (v128.const i64x2 0 0))
      (local.set $c30 (v128.const i64x2 0 0)) (local.set $c31 (v128.const i64x2 0 0))
      (local.set $k (local.get $kc))
      (block $k_done (loop $k_loop
        (br_if $k_done (i32.eqz (local.get $k)))
        (local.set $b0 (v128.load offset=0 (local.get $b)))
        (local.set $b1 (v128.load offset=16 (local.get $b)))
        (local.set $av (v128.load64_splat offset=0 (local.get $a)))
        (local.set $c00 (f64x2.add (local.get $c00) (f64x2.mul (local.get $av) (local.get $b0))))
        (local.set $c01 (f64x2.add (local.get $c01) (f64x2.mul (local.get $av) (local.get $b1))))
        (local.set $av (v128.load64_splat offset=8 (local.get $a)))
        (local.set $c10 (f64x2.add (local.get $c10) (f64x2.mul (local.get $av) (local.get $b0))))
        (local.set $c11 (f64x2.add (local.get $c11) (f64x2.mul (local.get $av) (local.get $b1))))
        (local.set $av (v128.load64_splat offset=16 (local.get $a)))
        (local.set $c20 (f64x2.add (local.get $c20) (f64x2.mul (local.get $av) (local.get $b0))))
        (local.set $c21 (f64x2.add (local.get $c21) (f64x2.mul (local.get $av) (local.get $b1))))
        (local.set $av (v128.load64_splat offset=24 (local.get $a)))
        (local.set $c30 (f64x2.add (local.get $c30) (f64x2.mul (local.get $av) (local.get $b0))))
        (local.set $c31 (f64x2.add (local.get $c31) (f64x2.mul (local.get $av) (local.get $b1))))
        (local.set $a (i32.add (local.get $a) (i32.const 32)))
        (local.set $b (i32.add (local.get $b) (i32.const 32)))
        (local.set $k (i32.sub (local.get $k) (i32.const 1)))
        (br $k_loop)))
      (local.set $cp (i32.add (local.get $c) (i32.add (i32.mul (local.get $ir) (local.get $ldcb)) (i32.mul (local.get $jr) (i32.const 8)))))
      (local.set $mr (i32.sub (local.get $mc) (local.get $ir)))
      (local.set $nr (i32.sub (local.get $nc) (local.get $jr)))
      (if (i32.and (i32.ge_s (local.get $mr) (i32.const 4)) (i32.ge_s (local.get $nr) (i32.const 4)))
        (then
          ;; a full 4 x 4 tile: add the accumulators into C row by row
          (v128.store offset=0 (local.get $cp) (f64x2.add (select (result v128) (v128.load offset=0 (local.get $cp)) (v128.const i64x2 0 0) (local.get $acc)) (local.get $c00)))
          (v128.store offset=16 (local.get $cp) (f64x2.add (select (result v128) (v128.load offset=16 (local.get $cp)) (v128.const i64x2 0 0) (local.get $acc)) (local.get $c01)))
          (local.set $cp (i32.add (local.get $cp) (local.get $ldcb)))
          (v128.store offset=0 (local.get $cp) (f64x2.add (select (result v128) (v128.load offset=0 (local.get $cp)) (v128.const i64x2 0 0) (local.get $acc)) (local.get $c10)))
          (v128.store offset=16 (local.get $cp) (f64x2.add (select (result v128) (v128.load offset=16 (local.get $cp)) (v128.const i64x2 0 0) (local.get $acc)) (local.get $c11)))
          (local.set $cp (i32.add (local.get $cp) (local.get $ldcb)))
          (v128.store offset=0 (local.get $cp) (f64x2.add (select (result v128) (v128.load offset=0 (local.get $cp)) (v128.const i64x2 0 0) (local.get $acc)) (local.get $c20)))
          (v128.store offset=16 (local.get $cp) (f64x2.add (select (result v128) (v128.load offset=16 (local.get $cp)) (v128.const i64x2 0 0) (local.get $acc)) (local.get $c21)))
          (local.set $cp (i32.add (local.get $cp) (local.get $ldcb)))
          (v128.store offset=0 (local.get $cp) (f64x2.add (select (result v128) (v128.load offset=0 (local.get $cp)) (v128.const i64x2 0 0) (local.get $acc)) (local.get $c30)))
          (v128.store offset=16 (local.get $cp) (f64x2.add (select (result v128) (v128.load offset=16 (local.get $cp)) (v128.const i64x2 0 0) (local.get $acc)) (local.get $c31)))
        )
        (else
          ;; an edge tile: spill the accumulators to the tile scratch at address 0, add the part inside C
          (v128.store offset=0 (i32.const 0) (local.get $c00)) (v128.store offset=16 (i32.const 0) (local.get $c01))
          (v128.store offset=32 (i32.const 0) (local.get $c10)) (v128.store offset=48 (i32.const 0) (local.get $c11))
          (v128.store offset=64 (i32.const 0) (local.get $c20)) (v128.store offset=80 (i32.const 0) (local.get $c21))
          (v128.store offset=96 (i32.const 0) (local.get $c30)) (v128.store offset=112 (i32.const 0) (local.get $c31))
          (if (i32.gt_s (local.get $mr) (i32.const 4)) (then (local.set $mr (i32.const 4))))
          (if (i32.gt_s (local.get $nr) (i32.const 4)) (then (local.set $nr (i32.const 4))))
          (local.set $i (i32.const 0))
          (block $ei_done (loop $ei_loop
            (br_if $ei_done (i32.ge_s (local.get $i) (local.get $mr)))
            (local.set $j (i32.const 0))
            (block $ej_done (loop $ej_loop
              (br_if $ej_done (i32.ge_s (local.get $j) (local.get $nr)))
              (f64.store (i32.add (local.get $cp) (i32.mul (local.get $j) (i32.const 8)))
                (f64.add (select (result f64) (f64.load (i32.add (local.get $cp) (i32.mul (local.get $j) (i32.const 8)))) (f64.const 0) (local.get $acc))
                  (f64.load (i32.mul (i32.add (i32.mul (local.get $i) (i32.const 4)) (local.get $j)) (i32.const 8)))))
              (local.set $j (i32.add (local.get $j) (i32.const 1)))
              (br $ej_loop)))
            (local.set $cp (i32.add (local.get $cp) (local.get $ldcb)))
            (local.set $i (i32.add (local.get $i) (i32.const 1)))
            (br $ei_loop)))))
      (local.set $ir (i32.add (local.get $ir) (i32.const 4)))
      (br $ir_loop)))
    (local.set $jr (i32.add (local.get $jr) (i32.const 4)))
    (br $jr_loop)))
)

;; kernel_f32(mc, nc, kc, pa, pb, c, ldc, acc): C[0:mc, 0:nc] = (acc ? C : 0) + Apacked * Bpacked, where Apacked holds
;; panels of 4 rows and Bpacked panels of 8 columns (two f32x4 vectors), both k-major (pack_a_32,
;; pack_b_32). C is row-major with leading dimension ldc (elements); addresses are byte addresses.
;; PERF: a 4 x 8 tile of C in 8 f32x4 accumulators, one k step per iteration. Larger tiles (4 x 4
;; vectors, 6 x 2, 4 x 3) or a k loop unrolled by two need more than the 15 xmm registers V8 allocates
;; and spill inside the loop (seen in --print-wasm-code): kernel-only, packed operands in L1/L2, one
;; core, 4 x 2 vectors ran 26.7 (f64) / 54.9 (f32) GFLOP/s with FMA and 21.8 / 45.0 with mul + add,
;; against 14 / 29 for the former 4 x 4-vector tile unrolled by two (the machine's 128-bit FMA peak,
;; measured the same way: 28 / 57).
(func (export "kernel_f32") (param $mc i32) (param $nc i32) (param $kc i32) (param $pa i32) (param $pb i32) (param $c i32) (param $ldc i32) (param $acc i32)
  (local $ir i32) (local $jr i32) (local $a i32) (local $b i32) (local $k i32) (local $cp i32) (local $ldcb i32) (local $kcb i32)
  (local $mr i32) (local $nr i32) (local $i i32) (local $j i32) (local $av v128) (local $b0 v128) (local $b1 v128)
  (local $c00 v128) (local $c01 v128) (local $c10 v128) (local $c11 v128)
  (local $c20 v128) (local $c21 v128) (local $c30 v128) (local $c31 v128)
  (local.set $ldcb (i32.mul (local.get $ldc) (i32.const 4)))
  (local.set $kcb (i32.mul (local.get $kc) (i32.const 4)))
  ;; PERF: jr outer, ir inner: one 8-column panel of B stays in L1 while the A panels stream from L2.
  (local.set $jr (i32.const 0))
  (block $jr_done (loop $jr_loop
    (br_if $jr_done (i32.ge_s (local.get $jr) (local.get $nc)))
    (local.set $ir (i32.const 0))
    (block $ir_done (loop $ir_loop
      (br_if $ir_done (i32.ge_s (local.get $ir) (local.get $mc)))
      (local.set $a (i32.add (local.get $pa) (i32.mul (local.get $ir) (local.get $kcb))))
      (local.set $b (i32.add (local.get $pb) (i32.mul (local.get $jr) (local.get $kcb))))
      (local.set $c00 (v128.const i64x2 0 0)) (local.set $c01 (v128.const i64x2 0 0))
      (local.set $c10 (v128.const i64x2 0 0)) (local.set $c11 (v128.const i64x2 0 0))
      (local.set $c20 (v128.const i64x2 0 0)) (local.set $c21 (v128.const i64x2 0 0))
      (local.set $c30 (v128.const i64x2 0 0)) (local.set $c31 (v128.const i64x2 0 0))
      (local.set $k (local.get $kc))
      (block $k_done (loop $k_loop
        (br_if $k_done (i32.eqz (local.get $k)))
        (local.set $b0 (v128.load offset=0 (local.get $b)))
        (local.set $b1 (v128.load offset=16 (local.get $b)))
        (local.set $av (v128.load32_splat offset=0 (local.get $a)))
        (local.set $c00 (f32x4.add (local.get $c00) (f32x4.mul (local.get $av) (local.get $b0))))
        (local.set $c01 (f32x4.add (local.get $c01) (f32x4.mul (local.get $av) (local.get $b1))))
        (local.set $av (v128.load32_splat offset=4 (local.get $a)))
        (local.set $c10 (f32x4.add (local.get $c10) (f32x4.mul (local.get $av) (local.get $b0))))
        (local.set $c11 (f32x4.add (local.get $c11) (f32x4.mul (local.get $av) (local.get $b1))))
        (local.set $av (v128.load32_splat offset=8 (local.get $a)))
        (local.set $c20 (f32x4.add (local.get $c20) (f32x4.mul (local.get $av) (local.get $b0))))
        (local.set $c21 (f32x4.add (local.get $c21) (f32x4.mul (local.get $av) (local.get $b1))))
        (local.set $av (v128.load32_splat offset=12 (local.get $a)))
        (local.set $c30 (f32x4.add (local.get $c30) (f32x4.mul (local.get $av) (local.get $b0))))
        (local.set $c31 (f32x4.add (local.get $c31) (f32x4.mul (local.get $av) (local.get $b1))))
        (local.set $a (i32.add (local.get $a) (i32.const 16)))
        (local.set $b (i32.add (local.get $b) (i32.const 32)))
        (local.set $k (i32.sub (local.get $k) (i32.const 1)))
        (br $k_loop)))
      (local.set $cp (i32.add (local.get $c) (i32.add (i32.mul (local.get $ir) (local.get $ldcb)) (i32.mul (local.get $jr) (i32.const 4)))))
      (local.set $mr (i32.sub (local.get $mc) (local.get $ir)))
      (local.set $nr (i32.sub (local.get $nc) (local.get $jr)))
      (if (i32.and (i32.ge_s (local.get $mr) (i32.const 4)) (i32.ge_s (local.get $nr) (i32.const 8)))
        (then
          ;; a full 4 x 8 tile: add the accumulators into C row by row
          (v128.store offset=0 (local.get $cp) (f32x4.add (select (result v128) (v128.load offset=0 (local.get $cp)) (v128.const i64x2 0 0) (local.get $acc)) (local.get $c00)))
          (v128.store offset=16 (local.get $cp) (f32x4.add (select (result v128) (v128.load offset=16 (local.get $cp)) (v128.const i64x2 0 0) (local.get $acc)) (local.get $c01)))
          (local.set $cp (i32.add (local.get $cp) (local.get $ldcb)))
          (v128.store offset=0 (local.get $cp) (f32x4.add (select (result v128) (v128.load offset=0 (local.get $cp)) (v128.const i64x2 0 0) (local.get $acc)) (local.get $c10)))
          (v128.store offset=16 (local.get $cp) (f32x4.add (select (result v128) (v128.load offset=16 (local.get $cp)) (v128.const i64x2 0 0) (local.get $acc)) (local.get $c11)))
          (local.set $cp (i32.add (local.get $cp) (local.get $ldcb)))
          (v128.store offset=0 (local.get $cp) (f32x4.add (select (result v128) (v128.load offset=0 (local.get $cp)) (v128.const i64x2 0 0) (local.get $acc)) (local.get $c20)))
          (v128.store offset=16 (local.get $cp) (f32x4.add (select (result v128) (v128.load offset=16 (local.get $cp)) (v128.const i64x2 0 0) (local.get $acc)) (local.get $c21)))
          (local.set $cp (i32.add (local.get $cp) (local.get $ldcb)))
          (v128.store offset=0 (local.get $cp) (f32x4.add (select (result v128) (v128.load offset=0 (local.get $cp)) (v128.const i64x2 0 0) (local.get $acc)) (local.get $c30)))
          (v128.store offset=16 (local.get $cp) (f32x4.add (select (result v128) (v128.load offset=16 (local.get $cp)) (v128.const i64x2 0 0) (local.get $acc)) (local.get $c31)))
        )
        (else
          ;; an edge tile: spill the accumulators to the tile scratch at address 0, add the part inside C
          (v128.store offset=0 (i32.const 0) (local.get $c00)) (v128.store offset=16 (i32.const 0) (local.get $c01))
          (v128.store offset=32 (i32.const 0) (local.get $c10)) (v128.store offset=48 (i32.const 0) (local.get $c11))
          (v128.store offset=64 (i32.const 0) (local.get $c20)) (v128.store offset=80 (i32.const 0) (local.get $c21))
          (v128.store offset=96 (i32.const 0) (local.get $c30)) (v128.store offset=112 (i32.const 0) (local.get $c31))
          (if (i32.gt_s (local.get $mr) (i32.const 4)) (then (local.set $mr (i32.const 4))))
          (if (i32.gt_s (local.get $nr) (i32.const 8)) (then (local.set $nr (i32.const 8))))
          (local.set $i (i32.const 0))
          (block $ei_done (loop $ei_loop
            (br_if $ei_done (i32.ge_s (local.get $i) (local.get $mr)))
            (local.set $j (i32.const 0))
            (block $ej_done (loop $ej_loop
              (br_if $ej_done (i32.ge_s (local.get $j) (local.get $nr)))
              (f32.store (i32.add (local.get $cp) (i32.mul (local.get $j) (i32.const 4)))
                (f32.add (select (result f32) (f32.load (i32.add (local.get $cp) (i32.mul (local.get $j) (i32.const 4)))) (f32.const 0) (local.get $acc))
                  (f32.load (i32.mul (i32.add (i32.mul (local.get $i) (i32.const 8)) (local.get $j)) (i32.const 4)))))
              (local.set $j (i32.add (local.get $j) (i32.const 1)))
              (br $ej_loop)))
            (local.set $cp (i32.add (local.get $cp) (local.get $ldcb)))
            (local.set $i (i32.add (local.get $i) (i32.const 1)))
            (br $ei_loop)))))
      (local.set $ir (i32.add (local.get $ir) (i32.const 4)))
      (br $ir_loop)))
    (local.set $jr (i32.add (local.get $jr) (i32.const 8)))
    (br $jr_loop)))
)
