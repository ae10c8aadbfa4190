;; im2col / col2im for one image (see src/kernels/im2col.ts, whose JS loops these mirror): the windowing
;; the im2col + GEMM convolution feeds the packed GEMM with. A fragment of the kernels module (see
;; scripts/build-wasm.mjs).
;;
;; x: the image (C,H,W); cols: row 0 of its block in a columns matrix with ld columns;
;; es: element size in bytes (8 or 4). Rows of the columns matrix are (c, di, dj) in order.

;; valid_j0 / valid_j1: output columns j in [j0, j1) whose tap j*stride + off lies in [0, len).
(func $valid_j0 (param $off i32) (param $stride i32) (param $outLen i32) (result i32)
  (local $j i32)
  (local.set $j (if (result i32) (i32.ge_s (local.get $off) (i32.const 0))
    (then (i32.const 0))
    (else (i32.div_s (i32.sub (i32.add (i32.sub (i32.const 0) (local.get $off)) (local.get $stride)) (i32.const 1)) (local.get $stride)))))
  (select (local.get $outLen) (local.get $j) (i32.gt_s (local.get $j) (local.get $outLen)))
)
(func $valid_j1 (param $off i32) (param $stride i32) (param $len i32) (param $outLen i32) (param $j0 i32) (result i32)
  (local $j i32)
  (local.set $j (if (result i32) (i32.gt_s (local.get $off) (i32.sub (local.get $len) (i32.const 1)))
    (then (i32.const 0))
    (else (i32.add (i32.div_s (i32.sub (i32.sub (local.get $len) (i32.const 1)) (local.get $off)) (local.get $stride)) (i32.const 1)))))
  (if (i32.gt_s (local.get $j) (local.get $outLen)) (then (local.set $j (local.get $outLen))))
  (select (local.get $j0) (local.get $j) (i32.lt_s (local.get $j) (local.get $j0)))
)

;; Copy n bytes (a multiple of 4) from src to dst, 16 at a time. PERF: rows are short (Wout
;; elements), where a loop of v128 moves beats memory.copy's call.
(func $copy_bytes (param $dst i32) (param $src i32) (param $n i32)
  (block $v_done (loop $v_loop
    (br_if $v_done (i32.lt_s (local.get $n) (i32.const 16)))
    (v128.store (local.get $dst) (v128.load (local.get $src)))
    (local.set $dst (i32.add (local.get $dst) (i32.const 16)))
    (local.set $src (i32.add (local.get $src) (i32.const 16)))
    (local.set $n (i32.sub (local.get $n) (i32.const 16)))
    (br $v_loop)))
  (block $s_done (loop $s_loop
    (br_if $s_done (i32.lt_s (local.get $n) (i32.const 4)))
    (i32.store (local.get $dst) (i32.load (local.get $src)))
    (local.set $dst (i32.add (local.get $dst) (i32.const 4)))
    (local.set $src (i32.add (local.get $src) (i32.const 4)))
    (local.set $n (i32.sub (local.get $n) (i32.const 4)))
    (br $s_loop)))
)

(func (export "im2col") (param $x i32) (param $C i32) (param $H i32) (param $W i32) (param $HH i32) (param $WW i32)
      (param $stride i32) (param $pad i32) (param $Hout i32) (param $Wout i32) (param $cols i32) (param $ld i32) (param $es i32)
  (local $c i32) (local $di i32) (local $dj i32) (local $i i32) (local $j i32) (local $j0 i32) (local $j1 i32) (local $h i32)
  (local $row i32) (local $dst i32) (local $src i32) (local $rowBytes i32) (local $ldBytes i32) (local $step i32)
  (local.set $rowBytes (i32.mul (local.get $Wout) (local.get $es)))
  (local.set $ldBytes (i32.mul (local.get $ld) (local.get $es)))
  (local.set $step (i32.mul (local.get $stride) (local.get $es)))
  (local.set $row (local.get $cols))
  (local.set $c (i32.const 0))
  (block $c_done (loop $c_loop
    (br_if $c_done (i32.ge_s (local.get $c) (local.get $C)))
    (local.set $di (i32.const 0))
    (block $di_done (loop $di_loop
      (br_if $di_done (i32.ge_s (local.get $di) (local.get $HH)))
      (local.set $dj (i32.const 0))
      (block $dj_done (loop $dj_loop
        (br_if $dj_done (i32.ge_s (local.get $dj) (local.get $WW)))
        (local.set $j0 (call $valid_j0 (i32.sub (local.get $dj) (local.get $pad)) (local.get $stride) (local.get $Wout)))
        (local.set $j1 (call $valid_j1 (i32.sub (local.get $dj) (local.get $pad)) (local.get $stride) (local.get $W) (local.get $Wout) (local.get $j0)))
        (local.set $dst (local.get $row))
        (local.set $i (i32.const 0))
        (block $i_done (loop $i_loop
          (br_if $i_done (i32.ge_s (local.get $i) (local.get $Hout)))
          (local.set $h (i32.sub (i32.add (i32.mul (local.get $i) (local.get $stride)) (local.get $di)) (local.get $pad)))
          (if (i32.or (i32.lt_s (local.get $h) (i32.const 0)) (i32.ge_s (local.get $h) (local.get $H)))
            (then (memory.fill (local.get $dst) (i32.const 0) (local.get $rowBytes)))
            (else
              ;; src: element (c, h, dj - pad) of x; tap j is at src + j*stride*es
              (local.set $src (i32.add (local.get $x) (i32.mul (i32.add (i32.mul (i32.add (i32.mul (local.get $c) (local.get $H)) (local.get $h)) (local.get $W))
                (i32.sub (local.get $dj) (local.get $pad))) (local.get $es))))
              (memory.fill (local.get $dst) (i32.const 0) (i32.mul (local.get $j0) (local.get $es)))
              (if (i32.eq (local.get $stride) (i32.const 1))
                (then (call $copy_bytes
                  (i32.add (local.get $dst) (i32.mul (local.get $j0) (local.get $es)))
                  (i32.add (local.get $src) (i32.mul (local.get $j0) (local.get $es)))
                  (i32.mul (i32.sub (local.get $j1) (local.get $j0)) (local.get $es))))
                (else
                  (local.set $j (local.get $j0))
                  (if (i32.eq (local.get $es) (i32.const 8))
                    (then (block $g8_done (loop $g8_loop
                      (br_if $g8_done (i32.ge_s (local.get $j) (local.get $j1)))
                      (i64.store (i32.add (local.get $dst) (i32.shl (local.get $j) (i32.const 3)))
                        (i64.load (i32.add (local.get $src) (i32.mul (local.get $j) (local.get $step)))))
                      (local.set $j (i32.add (local.get $j) (i32.const 1)))
                      (br $g8_loop))))
                    (else (block $g4_done (loop $g4_loop
                      (br_if $g4_done (i32.ge_s (local.get $j) (local.get $j1)))
                      (i32.store (i32.add (local.get $dst) (i32.shl (local.get $j) (i32.const 2)))
                        (i32.load (i32.add (local.get $src) (i32.mul (local.get $j) (local.get $step)))))
                      (local.set $j (i32.add (local.get $j) (i32.const 1)))
                      (br $g4_loop)))))))
              (memory.fill (i32.add (local.get $dst) (i32.mul (local.get $j1) (local.get $es))) (i32.const 0)
                (i32.mul (i32.sub (local.get $Wout) (local.get $j1)) (local.get $es)))))
          (local.set $dst (i32.add (local.get $dst) (local.get $rowBytes)))
          (local.set $i (i32.add (local.get $i) (i32.const 1)))
          (br $i_loop)))
        (local.set $row (i32.add (local.get $row) (local.get $ldBytes)))
        (local.set $dj (i32.add (local.get $dj) (i32.const 1)))
        (br $dj_loop)))
      (local.set $di (i32.add (local.get $di) (i32.const 1)))
      (br $di_loop)))
    (local.set $c (i32.add (local.get $c) (i32.const 1)))
    (br $c_loop)))
)

;; col2im: x[c, h, w] += the columns folded back (the adjoint of im2col), float64 (es 8) or float32 (es 4).
(func (export "col2im") (param $x i32) (param $C i32) (param $H i32) (param $W i32) (param $HH i32) (param $WW i32)
      (param $stride i32) (param $pad i32) (param $Hout i32) (param $Wout i32) (param $cols i32) (param $ld i32) (param $es i32)
  (local $c i32) (local $di i32) (local $dj i32) (local $i i32) (local $j i32) (local $j0 i32) (local $j1 i32) (local $h i32)
  (local $row i32) (local $src i32) (local $dst i32) (local $rowBytes i32) (local $ldBytes i32) (local $step i32) (local $p i32) (local $q i32)
  (local.set $rowBytes (i32.mul (local.get $Wout) (local.get $es)))
  (local.set $ldBytes (i32.mul (local.get $ld) (local.get $es)))
  (local.set $step (i32.mul (local.get $stride) (local.get $es)))
  (local.set $row (local.get $cols))
  (local.set $c (i32.const 0))
  (block $c_done (loop $c_loop
    (br_if $c_done (i32.ge_s (local.get $c) (local.get $C)))
    (local.set $di (i32.const 0))
    (block $di_done (loop $di_loop
      (br_if $di_done (i32.ge_s (local.get $di) (local.get $HH)))
      (local.set $dj (i32.const 0))
      (block $dj_done (loop $dj_loop
        (br_if $dj_done (i32.ge_s (local.get $dj) (local.get $WW)))
        (local.set $j0 (call $valid_j0 (i32.sub (local.get $dj) (local.get $pad)) (local.get $stride) (local.get $Wout)))
        (local.set $j1 (call $valid_j1 (i32.sub (local.get $dj) (local.get $pad)) (local.get $stride) (local.get $W) (local.get $Wout) (local.get $j0)))
        (local.set $src (local.get $row))
        (local.set $i (i32.const 0))
        (block $i_done (loop $i_loop
          (br_if $i_done (i32.ge_s (local.get $i) (local.get $Hout)))
          (local.set $h (i32.sub (i32.add (i32.mul (local.get $i) (local.get $stride)) (local.get $di)) (local.get $pad)))
          (if (i32.and (i32.ge_s (local.get $h) (i32.const 0)) (i32.lt_s (local.get $h) (local.get $H)))
            (then
              (local.set $dst (i32.add (local.get $x) (i32.mul (i32.add (i32.mul (i32.add (i32.mul (local.get $c) (local.get $H)) (local.get $h)) (local.get $W))
                (i32.sub (local.get $dj) (local.get $pad))) (local.get $es))))
              (local.set $j (local.get $j0))
              (if (i32.eq (local.get $es) (i32.const 8))
                (then
                  (if (i32.eq (local.get $stride) (i32.const 1))
                    (then (block $v_done (loop $v_loop
                      (br_if $v_done (i32.gt_s (i32.add (local.get $j) (i32.const 2)) (local.get $j1)))
                      (local.set $p (i32.add (local.get $dst) (i32.shl (local.get $j) (i32.const 3))))
                      (v128.store (local.get $p) (f64x2.add (v128.load (local.get $p)) (v128.load (i32.add (local.get $src) (i32.shl (local.get $j) (i32.const 3))))))
                      (local.set $j (i32.add (local.get $j) (i32.const 2)))
                      (br $v_loop)))))
                  (block $s_done (loop $s_loop
                    (br_if $s_done (i32.ge_s (local.get $j) (local.get $j1)))
                    (local.set $p (i32.add (local.get $dst) (i32.mul (local.get $j) (local.get $step))))
                    (f64.store (local.get $p) (f64.add (f64.load (local.get $p)) (f64.load (i32.add (local.get $src) (i32.shl (local.get $j) (i32.const 3))))))
                    (local.set $j (i32.add (local.get $j) (i32.const 1)))
                    (br $s_loop))))
                (else
                  (if (i32.eq (local.get $stride) (i32.const 1))
                    (then (block $v4_done (loop $v4_loop
                      (br_if $v4_done (i32.gt_s (i32.add (local.get $j) (i32.const 4)) (local.get $j1)))
                      (local.set $p (i32.add (local.get $dst) (i32.shl (local.get $j) (i32.const 2))))
                      (v128.store (local.get $p) (f32x4.add (v128.load (local.get $p)) (v128.load (i32.add (local.get $src) (i32.shl (local.get $j) (i32.const 2))))))
                      (local.set $j (i32.add (local.get $j) (i32.const 4)))
                      (br $v4_loop)))))
                  (block $s4_done (loop $s4_loop
                    (br_if $s4_done (i32.ge_s (local.get $j) (local.get $j1)))
                    (local.set $p (i32.add (local.get $dst) (i32.mul (local.get $j) (local.get $step))))
                    (f32.store (local.get $p) (f32.add (f32.load (local.get $p)) (f32.load (i32.add (local.get $src) (i32.shl (local.get $j) (i32.const 2))))))
                    (local.set $j (i32.add (local.get $j) (i32.const 1)))
                    (br $s4_loop)))))))
          (local.set $src (i32.add (local.get $src) (local.get $rowBytes)))
          (local.set $i (i32.add (local.get $i) (i32.const 1)))
          (br $i_loop)))
        (local.set $row (i32.add (local.get $row) (local.get $ldBytes)))
        (local.set $dj (i32.add (local.get $dj) (i32.const 1)))
        (br $dj_loop)))
      (local.set $di (i32.add (local.get $di) (i32.const 1)))
      (br $di_loop)))
    (local.set $c (i32.add (local.get $c) (i32.const 1)))
    (br $c_loop)))
)
