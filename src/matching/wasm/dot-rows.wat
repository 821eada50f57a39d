;; The dot products of src/matching/dot-rows.ts: out[r][p] = Σ_i a[r][i]·b[p][i], every sum in float64
;; in order of i, rounded once to float32 when stored.
;;
;; The inputs are float32 values held as float64 (an exact widening), so a product of two is exact and
;; each f64x2 lane does what the scalar loop does for one (r, p): `sum += a·b` from sum = +0, then
;; f32.demote (round to nearest, as a Float32Array store of a double). Lanes run over different
;; phrases, never over i, so the order of every sum is the scalar loop's and the bits are its bits.
;;
;; A register block is 4 rows × 4 phrases (8 f64x2 sums); the last rows (R mod 4) go one at a time.
;; Compiled with wabt 1.0.39 (`npm run build:wasm`) into dot-rows-wasm.ts; the layouts below are
;; written by dot-rows.ts. All addresses are byte offsets into the exported memory.
;;
;;   a      `rows` rows of `dim` float64, row-major: a[r][i] at a + 8·(r·dim + i)
;;   b      ceil(cols / 4) panels of dim × 4 float64: phrase 4g + k at dim i at b + 32·(g·dim + i) + 8·k
;;          (the lanes past `cols` in the last panel hold anything: they are never stored)
;;   out    float32 results, row r's phrase 4g + k at out + r·stride + 16·g + 4·k
(module
  (memory (export "memory") 1)

  ;; Stores [lo0, lo1, hi0, hi1] rounded to float32 at `at`, only the first `n` of them (n >= 1).
  (func $store (param $at i32) (param $lo v128) (param $hi v128) (param $n i32)
    (if (i32.ge_u (local.get $n) (i32.const 4))
      (then
        (v128.store (local.get $at) (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23
          (f32x4.demote_f64x2_zero (local.get $lo)) (f32x4.demote_f64x2_zero (local.get $hi))))
        (return)))
    (f32.store (local.get $at) (f32.demote_f64 (f64x2.extract_lane 0 (local.get $lo))))
    (if (i32.ge_u (local.get $n) (i32.const 2))
      (then (f32.store offset=4 (local.get $at) (f32.demote_f64 (f64x2.extract_lane 1 (local.get $lo))))))
    (if (i32.ge_u (local.get $n) (i32.const 3))
      (then (f32.store offset=8 (local.get $at) (f32.demote_f64 (f64x2.extract_lane 0 (local.get $hi)))))))

  (func (export "dot")
    (param $a i32) (param $rows i32) (param $b i32) (param $cols i32) (param $dim i32)
    (param $out i32) (param $stride i32)
    (local $r i32) (local $g i32) (local $rowBytes2 i32) (local $rowBytes3 i32) (local $left i32) (local $rowBytes i32) (local $panelBytes i32)
    (local $pa i32) (local $pb i32) (local $pbEnd i32) (local $o i32)
    (local $b0 v128) (local $b1 v128) (local $x v128)
    (local $s00 v128) (local $s01 v128) (local $s10 v128) (local $s11 v128)
    (local $s20 v128) (local $s21 v128) (local $s30 v128) (local $s31 v128)
    (local.set $rowBytes (i32.shl (local.get $dim) (i32.const 3)))
    (local.set $rowBytes2 (i32.shl (local.get $dim) (i32.const 4)))
    (local.set $rowBytes3 (i32.mul (local.get $dim) (i32.const 24)))
    (local.set $panelBytes (i32.shl (local.get $dim) (i32.const 5)))
    (local.set $r (i32.const 0))
    ;; 4 rows at a time
    (block $quadsDone
      (loop $quads
        (br_if $quadsDone (i32.gt_u (i32.add (local.get $r) (i32.const 4)) (local.get $rows)))
        (local.set $g (i32.const 0))
        (local.set $pb (local.get $b))
        (block $panelsDone
          (loop $panels
            (local.set $left (i32.sub (local.get $cols) (i32.shl (local.get $g) (i32.const 2))))
            (br_if $panelsDone (i32.le_s (local.get $left) (i32.const 0)))
            (local.set $pa (i32.add (local.get $a) (i32.mul (local.get $r) (local.get $rowBytes))))
            (local.set $pbEnd (i32.add (local.get $pb) (local.get $panelBytes)))
            (local.set $s00 (v128.const i64x2 0 0)) (local.set $s01 (v128.const i64x2 0 0))
            (local.set $s10 (v128.const i64x2 0 0)) (local.set $s11 (v128.const i64x2 0 0))
            (local.set $s20 (v128.const i64x2 0 0)) (local.set $s21 (v128.const i64x2 0 0))
            (local.set $s30 (v128.const i64x2 0 0)) (local.set $s31 (v128.const i64x2 0 0))
            (loop $dims
              (local.set $b0 (v128.load (local.get $pb)))
              (local.set $b1 (v128.load offset=16 (local.get $pb)))
              (local.set $x (v128.load64_splat (local.get $pa)))
              (local.set $s00 (f64x2.add (local.get $s00) (f64x2.mul (local.get $x) (local.get $b0))))
              (local.set $s01 (f64x2.add (local.get $s01) (f64x2.mul (local.get $x) (local.get $b1))))
              (local.set $x (v128.load64_splat (i32.add (local.get $pa) (local.get $rowBytes))))
              (local.set $s10 (f64x2.add (local.get $s10) (f64x2.mul (local.get $x) (local.get $b0))))
              (local.set $s11 (f64x2.add (local.get $s11) (f64x2.mul (local.get $x) (local.get $b1))))
              (local.set $x (v128.load64_splat (i32.add (local.get $pa) (local.get $rowBytes2))))
              (local.set $s20 (f64x2.add (local.get $s20) (f64x2.mul (local.get $x) (local.get $b0))))
              (local.set $s21 (f64x2.add (local.get $s21) (f64x2.mul (local.get $x) (local.get $b1))))
              (local.set $x (v128.load64_splat (i32.add (local.get $pa) (local.get $rowBytes3))))
              (local.set $s30 (f64x2.add (local.get $s30) (f64x2.mul (local.get $x) (local.get $b0))))
              (local.set $s31 (f64x2.add (local.get $s31) (f64x2.mul (local.get $x) (local.get $b1))))
              (local.set $pa (i32.add (local.get $pa) (i32.const 8)))
              (local.set $pb (i32.add (local.get $pb) (i32.const 32)))
              (br_if $dims (i32.lt_u (local.get $pb) (local.get $pbEnd))))
            (local.set $o (i32.add (i32.add (local.get $out) (i32.mul (local.get $r) (local.get $stride)))
              (i32.shl (local.get $g) (i32.const 4))))
            (call $store (local.get $o) (local.get $s00) (local.get $s01) (local.get $left))
            (local.set $o (i32.add (local.get $o) (local.get $stride)))
            (call $store (local.get $o) (local.get $s10) (local.get $s11) (local.get $left))
            (local.set $o (i32.add (local.get $o) (local.get $stride)))
            (call $store (local.get $o) (local.get $s20) (local.get $s21) (local.get $left))
            (local.set $o (i32.add (local.get $o) (local.get $stride)))
            (call $store (local.get $o) (local.get $s30) (local.get $s31) (local.get $left))
            (local.set $g (i32.add (local.get $g) (i32.const 1)))
            (br $panels)))
        (local.set $r (i32.add (local.get $r) (i32.const 4)))
        (br $quads)))
    ;; the last rows, one at a time
    (block $rowsDone
      (loop $rest
        (br_if $rowsDone (i32.ge_u (local.get $r) (local.get $rows)))
        (local.set $g (i32.const 0))
        (local.set $pb (local.get $b))
        (block $panelsDone
          (loop $panels
            (local.set $left (i32.sub (local.get $cols) (i32.shl (local.get $g) (i32.const 2))))
            (br_if $panelsDone (i32.le_s (local.get $left) (i32.const 0)))
            (local.set $pa (i32.add (local.get $a) (i32.mul (local.get $r) (local.get $rowBytes))))
            (local.set $pbEnd (i32.add (local.get $pb) (local.get $panelBytes)))
            (local.set $s00 (v128.const i64x2 0 0)) (local.set $s01 (v128.const i64x2 0 0))
            (loop $dims
              (local.set $x (v128.load64_splat (local.get $pa)))
              (local.set $s00 (f64x2.add (local.get $s00) (f64x2.mul (local.get $x) (v128.load (local.get $pb)))))
              (local.set $s01 (f64x2.add (local.get $s01) (f64x2.mul (local.get $x) (v128.load offset=16 (local.get $pb)))))
              (local.set $pa (i32.add (local.get $pa) (i32.const 8)))
              (local.set $pb (i32.add (local.get $pb) (i32.const 32)))
              (br_if $dims (i32.lt_u (local.get $pb) (local.get $pbEnd))))
            (call $store (i32.add (i32.add (local.get $out) (i32.mul (local.get $r) (local.get $stride)))
              (i32.shl (local.get $g) (i32.const 4))) (local.get $s00) (local.get $s01) (local.get $left))
            (local.set $g (i32.add (local.get $g) (i32.const 1)))
            (br $panels)))
        (local.set $r (i32.add (local.get $r) (i32.const 1)))
        (br $rest)))
  )
)
