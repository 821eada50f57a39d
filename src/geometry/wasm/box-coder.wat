;; Box decoding (src/geometry/box-coder.ts), one box [dx, dy, dw, dh] per f32x4.
;;
;; Every float32 operation is the one the scalar port does, in its order (WebAssembly f32 arithmetic
;; is IEEE-754 binary32, round to nearest). exp(dw) and exp(dh) are computed in float64 (Cody–Waite
;; reduction by ln2/64, a 64-entry table of 2^(j/64), a degree-5 Taylor polynomial) to within 2^-50
;; (relative), then rounded to float32, as the scalar port rounds Math.exp; on every float32 argument
;; in [-104.5, 4.2] the two are equal (checked exhaustively by tools/check-wasm-exp.ts; dw and dh are
;; clamped to 4.135 first). So the result equals the scalar port's bit for bit.
;;
;; Compiled with wabt 1.0.39 (`npm run build:wasm`) into box-coder-wasm.ts. Layout (byte offsets into
;; the exported memory), written by box-coder.ts:
;;   0      exp's table (512 bytes, written by $init)
;;   refs   n reference boxes [x1, y1, x2, y2] (float32)
;;   rows   n rows of `stride` float32 (k boxes of [dx, dy, dw, dh] each); decoded in place into
;;          [x1, y1, x2, y2]
(module
  (memory (export "memory") 1)

  ;; 2^(j/64) for j = 0..63 (glibc's pow, rounded to nearest), at address 0: exp's table.
  (func $init
    (f64.store offset=0 (i32.const 0) (f64.const 0x1.0000000000000p+0))
    (f64.store offset=8 (i32.const 0) (f64.const 0x1.02c9a3e778061p+0))
    (f64.store offset=16 (i32.const 0) (f64.const 0x1.059b0d3158574p+0))
    (f64.store offset=24 (i32.const 0) (f64.const 0x1.0874518759bc8p+0))
    (f64.store offset=32 (i32.const 0) (f64.const 0x1.0b5586cf9890fp+0))
    (f64.store offset=40 (i32.const 0) (f64.const 0x1.0e3ec32d3d1a2p+0))
    (f64.store offset=48 (i32.const 0) (f64.const 0x1.11301d0125b51p+0))
    (f64.store offset=56 (i32.const 0) (f64.const 0x1.1429aaea92de0p+0))
    (f64.store offset=64 (i32.const 0) (f64.const 0x1.172b83c7d517bp+0))
    (f64.store offset=72 (i32.const 0) (f64.const 0x1.1a35beb6fcb75p+0))
    (f64.store offset=80 (i32.const 0) (f64.const 0x1.1d4873168b9aap+0))
    (f64.store offset=88 (i32.const 0) (f64.const 0x1.2063b88628cd6p+0))
    (f64.store offset=96 (i32.const 0) (f64.const 0x1.2387a6e756238p+0))
    (f64.store offset=104 (i32.const 0) (f64.const 0x1.26b4565e27cddp+0))
    (f64.store offset=112 (i32.const 0) (f64.const 0x1.29e9df51fdee1p+0))
    (f64.store offset=120 (i32.const 0) (f64.const 0x1.2d285a6e4030bp+0))
    (f64.store offset=128 (i32.const 0) (f64.const 0x1.306fe0a31b715p+0))
    (f64.store offset=136 (i32.const 0) (f64.const 0x1.33c08b26416ffp+0))
    (f64.store offset=144 (i32.const 0) (f64.const 0x1.371a7373aa9cbp+0))
    (f64.store offset=152 (i32.const 0) (f64.const 0x1.3a7db34e59ff7p+0))
    (f64.store offset=160 (i32.const 0) (f64.const 0x1.3dea64c123422p+0))
    (f64.store offset=168 (i32.const 0) (f64.const 0x1.4160a21f72e2ap+0))
    (f64.store offset=176 (i32.const 0) (f64.const 0x1.44e086061892dp+0))
    (f64.store offset=184 (i32.const 0) (f64.const 0x1.486a2b5c13cd0p+0))
    (f64.store offset=192 (i32.const 0) (f64.const 0x1.4bfdad5362a27p+0))
    (f64.store offset=200 (i32.const 0) (f64.const 0x1.4f9b2769d2ca7p+0))
    (f64.store offset=208 (i32.const 0) (f64.const 0x1.5342b569d4f82p+0))
    (f64.store offset=216 (i32.const 0) (f64.const 0x1.56f4736b527dap+0))
    (f64.store offset=224 (i32.const 0) (f64.const 0x1.5ab07dd485429p+0))
    (f64.store offset=232 (i32.const 0) (f64.const 0x1.5e76f15ad2148p+0))
    (f64.store offset=240 (i32.const 0) (f64.const 0x1.6247eb03a5585p+0))
    (f64.store offset=248 (i32.const 0) (f64.const 0x1.6623882552225p+0))
    (f64.store offset=256 (i32.const 0) (f64.const 0x1.6a09e667f3bcdp+0))
    (f64.store offset=264 (i32.const 0) (f64.const 0x1.6dfb23c651a2fp+0))
    (f64.store offset=272 (i32.const 0) (f64.const 0x1.71f75e8ec5f74p+0))
    (f64.store offset=280 (i32.const 0) (f64.const 0x1.75feb564267c9p+0))
    (f64.store offset=288 (i32.const 0) (f64.const 0x1.7a11473eb0187p+0))
    (f64.store offset=296 (i32.const 0) (f64.const 0x1.7e2f336cf4e62p+0))
    (f64.store offset=304 (i32.const 0) (f64.const 0x1.82589994cce13p+0))
    (f64.store offset=312 (i32.const 0) (f64.const 0x1.868d99b4492edp+0))
    (f64.store offset=320 (i32.const 0) (f64.const 0x1.8ace5422aa0dbp+0))
    (f64.store offset=328 (i32.const 0) (f64.const 0x1.8f1ae99157736p+0))
    (f64.store offset=336 (i32.const 0) (f64.const 0x1.93737b0cdc5e5p+0))
    (f64.store offset=344 (i32.const 0) (f64.const 0x1.97d829fde4e50p+0))
    (f64.store offset=352 (i32.const 0) (f64.const 0x1.9c49182a3f090p+0))
    (f64.store offset=360 (i32.const 0) (f64.const 0x1.a0c667b5de565p+0))
    (f64.store offset=368 (i32.const 0) (f64.const 0x1.a5503b23e255dp+0))
    (f64.store offset=376 (i32.const 0) (f64.const 0x1.a9e6b5579fdbfp+0))
    (f64.store offset=384 (i32.const 0) (f64.const 0x1.ae89f995ad3adp+0))
    (f64.store offset=392 (i32.const 0) (f64.const 0x1.b33a2b84f15fbp+0))
    (f64.store offset=400 (i32.const 0) (f64.const 0x1.b7f76f2fb5e47p+0))
    (f64.store offset=408 (i32.const 0) (f64.const 0x1.bcc1e904bc1d2p+0))
    (f64.store offset=416 (i32.const 0) (f64.const 0x1.c199bdd85529cp+0))
    (f64.store offset=424 (i32.const 0) (f64.const 0x1.c67f12e57d14bp+0))
    (f64.store offset=432 (i32.const 0) (f64.const 0x1.cb720dcef9069p+0))
    (f64.store offset=440 (i32.const 0) (f64.const 0x1.d072d4a07897cp+0))
    (f64.store offset=448 (i32.const 0) (f64.const 0x1.d5818dcfba487p+0))
    (f64.store offset=456 (i32.const 0) (f64.const 0x1.da9e603db3285p+0))
    (f64.store offset=464 (i32.const 0) (f64.const 0x1.dfc97337b9b5fp+0))
    (f64.store offset=472 (i32.const 0) (f64.const 0x1.e502ee78b3ff6p+0))
    (f64.store offset=480 (i32.const 0) (f64.const 0x1.ea4afa2a490dap+0))
    (f64.store offset=488 (i32.const 0) (f64.const 0x1.efa1bee615a27p+0))
    (f64.store offset=496 (i32.const 0) (f64.const 0x1.f50765b6e4540p+0))
    (f64.store offset=504 (i32.const 0) (f64.const 0x1.fa7c1819e90d8p+0)))
  (start $init)

  ;; Decodes n rows of stride/4 boxes each against their reference box, in place.
  (func (export "decode")
    (param $refs i32) (param $rows i32) (param $n i32) (param $stride i32)
    (param $wx f32) (param $wy f32) (param $ww f32) (param $wh f32) (param $clip f32)
    (local $i i32) (local $o i32) (local $end i32) (local $rowBytes i32)
    (local $weights v128) (local $limit v128) (local $ref v128) (local $size v128) (local $centre v128)
    (local $q v128) (local $x v128) (local $s v128) (local $k v128) (local $ki v128) (local $r v128) (local $p v128) (local $t v128)
    (local $pc v128) (local $half v128)
    (local $floor v128) (local $shifter v128) (local $invLn2 v128) (local $ln2Hi v128) (local $ln2Lo v128)
    (local $c5 v128) (local $c4 v128) (local $c3 v128) (local $c2 v128) (local $one v128) (local $bias v128)
    (local.set $weights (f32x4.replace_lane 3 (f32x4.replace_lane 2 (f32x4.replace_lane 1
      (f32x4.splat (local.get $wx)) (local.get $wy)) (local.get $ww)) (local.get $wh)))
    ;; [dx, dy] pass through; [dw, dh] are clamped to [-104, clip]. Below -104, exp is under half the
    ;; smallest float32 and rounds to 0 either way; -104 keeps 2^m a normal float64 below.
    (local.set $limit (f32x4.replace_lane 3 (f32x4.replace_lane 2
      (f32x4.splat (f32.const inf)) (local.get $clip)) (local.get $clip)))
    (local.set $floor (f32x4.replace_lane 3 (f32x4.replace_lane 2
      (f32x4.splat (f32.const -inf)) (f32.const -104)) (f32.const -104)))
    ;; exp's constants (see below)
    (local.set $invLn2 (f64x2.splat (f64.const 0x1.71547652b82fep+6)))
    (local.set $shifter (f64x2.splat (f64.const 0x1.8p+52)))
    (local.set $ln2Hi (f64x2.splat (f64.const 0x1.62e42feep-7)))
    (local.set $ln2Lo (f64x2.splat (f64.const 0x1.a39ef35793c76p-39)))
    (local.set $c5 (f64x2.splat (f64.const 0x1.1111111111111p-7)))
    (local.set $c4 (f64x2.splat (f64.const 0x1.5555555555555p-5)))
    (local.set $c3 (f64x2.splat (f64.const 0x1.5555555555555p-3)))
    (local.set $c2 (f64x2.splat (f64.const 0x1p-1)))
    (local.set $one (f64x2.splat (f64.const 1)))
    (local.set $bias (i64x2.splat (i64.const 1023)))
    (local.set $rowBytes (i32.shl (local.get $stride) (i32.const 2)))
    (local.set $o (local.get $rows))
    (local.set $i (i32.const 0))
    (block $done
      (loop $boxes
        (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
        ;; size [w, h, w, h] = [x2 - x1, y2 - y1, ...]; centre [cx, cy, ...] = [x1 + 0.5·w, y1 + 0.5·h, ...]
        (local.set $ref (v128.load (i32.add (local.get $refs) (i32.shl (local.get $i) (i32.const 4)))))
        (local.set $size (f32x4.sub
          (i8x16.shuffle 8 9 10 11 12 13 14 15 8 9 10 11 12 13 14 15 (local.get $ref) (local.get $ref))
          (i8x16.shuffle 0 1 2 3 4 5 6 7 0 1 2 3 4 5 6 7 (local.get $ref) (local.get $ref))))
        (local.set $centre (f32x4.add
          (i8x16.shuffle 0 1 2 3 4 5 6 7 0 1 2 3 4 5 6 7 (local.get $ref) (local.get $ref))
          (f32x4.mul (f32x4.splat (f32.const 0.5)) (local.get $size))))
        (local.set $end (i32.add (local.get $o) (local.get $rowBytes)))
        (block $rowDone
          (loop $row
            (br_if $rowDone (i32.ge_u (local.get $o) (local.get $end)))
            ;; [dx / wx, dy / wy, max(min(dw / ww, clip), -104), max(min(dh / wh, clip), -104)]. pmin and pmax
            ;; (one instruction each) equal min and max here: a NaN quotient is their first operand, so
            ;; it stays NaN, and the bounds are never zero.
            (local.set $q (f32x4.pmax
              (f32x4.pmin (f32x4.div (v128.load (local.get $o)) (local.get $weights)) (local.get $limit))
              (local.get $floor)))
            ;; exp of [dw, dh] in float64: x = (64·m + j)·ln2/64 + r with |r| <= ln2/128, so
            ;; exp(x) = 2^m · 2^(j/64) · e^r.
            (local.set $x (f64x2.promote_low_f32x4
              (i8x16.shuffle 8 9 10 11 12 13 14 15 8 9 10 11 12 13 14 15 (local.get $q) (local.get $q))))
            ;; k = x·64/ln2 rounded to the nearest integer, ties to even (as f64x2.nearest): adding
            ;; 1.5·2^52 rounds it there (|k| < 2^51), and the sum's low bits hold k as an integer.
            (local.set $s (f64x2.add (f64x2.mul (local.get $x) (local.get $invLn2)) (local.get $shifter)))
            (local.set $k (f64x2.sub (local.get $s) (local.get $shifter)))
            (local.set $ki (i64x2.sub (local.get $s) (local.get $shifter)))
            ;; r = x - k·ln2/64, ln2/64 split so that k·hi is exact (fdlibm's ln2_hi and ln2_lo, / 64)
            (local.set $r (f64x2.sub (f64x2.sub (local.get $x) (f64x2.mul (local.get $k) (local.get $ln2Hi)))
              (f64x2.mul (local.get $k) (local.get $ln2Lo))))
            ;; e^r: the sum of r^i / i! for i <= 5 (the rest is under 2^-54)
            (local.set $p (f64x2.add (f64x2.mul (local.get $c5) (local.get $r)) (local.get $c4)))
            (local.set $p (f64x2.add (f64x2.mul (local.get $p) (local.get $r)) (local.get $c3)))
            (local.set $p (f64x2.add (f64x2.mul (local.get $p) (local.get $r)) (local.get $c2)))
            (local.set $p (f64x2.add (f64x2.mul (local.get $p) (local.get $r)) (local.get $one)))
            (local.set $p (f64x2.add (f64x2.mul (local.get $p) (local.get $r)) (local.get $one)))
            ;; 2^(j/64) from the table, j = k & 63 (a NaN argument gives some j and m, and a NaN result)
            (local.set $t (f64x2.replace_lane 1
              (f64x2.splat (f64.load (i32.shl (i32.and (i32.wrap_i64 (i64x2.extract_lane 0 (local.get $ki))) (i32.const 63)) (i32.const 3))))
              (f64.load (i32.shl (i32.and (i32.wrap_i64 (i64x2.extract_lane 1 (local.get $ki))) (i32.const 63)) (i32.const 3)))))
            ;; · 2^m, m = k >> 6 (floor), as m + 1023 in the exponent field (x >= -104 gives m >= -151: a normal float64);
            ;; then rounded to float32: [exp(dw), exp(dh), 0, 0]
            (local.set $p (f32x4.demote_f64x2_zero (f64x2.mul (f64x2.mul (local.get $p) (local.get $t))
              (i64x2.shl (i64x2.add (i64x2.shr_s (local.get $ki) (i32.const 6)) (local.get $bias))
                (i32.const 52)))))
            ;; [pcx, pcy] = [dx·w + cx, dy·h + cy]; [halfW, halfH] = 0.5·(exp·[w, h])
            (local.set $pc (f32x4.add (f32x4.mul (local.get $q) (local.get $size)) (local.get $centre)))
            (local.set $half (f32x4.mul (f32x4.splat (f32.const 0.5)) (f32x4.mul (local.get $p) (local.get $size))))
            ;; [pcx - halfW, pcy - halfH, pcx + halfW, pcy + halfH] (adding the negation is subtracting)
            (v128.store (local.get $o) (f32x4.add
              (i8x16.shuffle 0 1 2 3 4 5 6 7 0 1 2 3 4 5 6 7 (local.get $pc) (local.get $pc))
              (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (f32x4.neg (local.get $half)) (local.get $half))))
            (local.set $o (i32.add (local.get $o) (i32.const 16)))
            (br $row)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $boxes))))
)
