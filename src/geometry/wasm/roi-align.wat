;; RoIAlign's pooling loop (src/geometry/roi-align.ts), four channels per f32x4 lane group.
;;
;; Every lane does exactly the float32 operations of torchvision's CPU kernel, in its order, for one
;; channel: per sample ((w1·v1 + w2·v2) + w3·v3) + w4·v4 added to the bin's float accumulator, then
;; the accumulator divided by the sample count. WebAssembly's f32 arithmetic is IEEE-754 binary32
;; with round-to-nearest and no flush-to-zero, so each lane equals the scalar kernel bit for bit.
;;
;; Compiled with wabt 1.0.39 (`npm run build:wasm`) into roi-align-wasm.ts; the layouts below are
;; written by roi-align.ts. All addresses are byte offsets into the exported memory.
;;
;;   hwc      the RoI's image, channels last: pixel p's channel c at hwc + 4·(p·cp + c);
;;            cp = channels rounded up to a multiple of 4 (padding lanes hold 0)
;;   ys       oh·gh row terms of 16 bytes, sample row (ph, iy) at index ph·gh + iy:
;;            [yLow·W: i32, yHigh·W: i32, ly: f32, hy: f32]; yLow·W = -1 marks a row outside the map
;;   xs       ow·gw column terms, sample column (pw, ix) at index pw·gw + ix: [xLow, xHigh, lx, hx]
;;   samples  scratch for one bin's gh·gw samples of 32 bytes: [w1, w2, w3, w4: f32, p1..p4: i32]
;;   out      the RoI's pooled block, cp × (oh·ow), channel-major: (c, bin) at out + 4·(c·oh·ow + bin)
(module
  (memory (export "memory") 1)

  ;; One bin's samples into `samples` (torchvision's pre_calc for that bin); returns the end address.
  ;; A sample outside the map gets weights 0 and positions 0 (the first pixel), as in the kernel.
  (func $samples (param $hwc i32) (param $cpBytes i32) (param $yRow i32) (param $xCol i32)
    (param $gh i32) (param $gw i32) (param $s i32) (result i32)
    (local $iy i32) (local $ix i32) (local $y i32) (local $x i32)
    (local $yLow i32) (local $yHigh i32) (local $xLow i32) (local $xHigh i32)
    (local $ly f32) (local $hy f32) (local $lx f32) (local $hx f32)
    (local.set $iy (i32.const 0))
    (block $rowsDone
      (loop $rows
        (br_if $rowsDone (i32.ge_s (local.get $iy) (local.get $gh)))
        (local.set $y (i32.add (local.get $yRow) (i32.shl (local.get $iy) (i32.const 4))))
        (local.set $yLow (i32.load (local.get $y)))
        (local.set $yHigh (i32.load offset=4 (local.get $y)))
        (local.set $ly (f32.load offset=8 (local.get $y)))
        (local.set $hy (f32.load offset=12 (local.get $y)))
        (local.set $ix (i32.const 0))
        (block $colsDone
          (loop $cols
            (br_if $colsDone (i32.ge_s (local.get $ix) (local.get $gw)))
            (local.set $x (i32.add (local.get $xCol) (i32.shl (local.get $ix) (i32.const 4))))
            (local.set $xLow (i32.load (local.get $x)))
            (if (i32.or (i32.lt_s (local.get $yLow) (i32.const 0)) (i32.lt_s (local.get $xLow) (i32.const 0)))
              (then
                (v128.store (local.get $s) (v128.const i32x4 0 0 0 0))
                (v128.store offset=16 (local.get $s) (i32x4.splat (local.get $hwc))))
              (else
                (local.set $xHigh (i32.load offset=4 (local.get $x)))
                (local.set $lx (f32.load offset=8 (local.get $x)))
                (local.set $hx (f32.load offset=12 (local.get $x)))
                (f32.store (local.get $s) (f32.mul (local.get $hy) (local.get $hx)))
                (f32.store offset=4 (local.get $s) (f32.mul (local.get $hy) (local.get $lx)))
                (f32.store offset=8 (local.get $s) (f32.mul (local.get $ly) (local.get $hx)))
                (f32.store offset=12 (local.get $s) (f32.mul (local.get $ly) (local.get $lx)))
                (i32.store offset=16 (local.get $s)
                  (i32.add (local.get $hwc) (i32.mul (i32.add (local.get $yLow) (local.get $xLow)) (local.get $cpBytes))))
                (i32.store offset=20 (local.get $s)
                  (i32.add (local.get $hwc) (i32.mul (i32.add (local.get $yLow) (local.get $xHigh)) (local.get $cpBytes))))
                (i32.store offset=24 (local.get $s)
                  (i32.add (local.get $hwc) (i32.mul (i32.add (local.get $yHigh) (local.get $xLow)) (local.get $cpBytes))))
                (i32.store offset=28 (local.get $s)
                  (i32.add (local.get $hwc) (i32.mul (i32.add (local.get $yHigh) (local.get $xHigh)) (local.get $cpBytes))))))
            (local.set $s (i32.add (local.get $s) (i32.const 32)))
            (local.set $ix (i32.add (local.get $ix) (i32.const 1)))
            (br $cols)))
        (local.set $iy (i32.add (local.get $iy) (i32.const 1)))
        (br $rows)))
    (local.get $s))

  ;; Pools one RoI: every bin (ph, pw), every channel.
  (func (export "pool")
    (param $hwc i32) (param $cp i32) (param $ys i32) (param $xs i32)
    (param $oh i32) (param $ow i32) (param $gh i32) (param $gw i32)
    (param $count f32) (param $samples i32) (param $out i32)
    (local $ph i32) (local $pw i32) (local $bins i32) (local $binBytes i32) (local $cpBytes i32)
    (local $end i32) (local $s i32) (local $c i32) (local $o i32)
    (local $w1 v128) (local $w2 v128) (local $w3 v128) (local $w4 v128)
    (local $p1 i32) (local $p2 i32) (local $p3 i32) (local $p4 i32)
    (local $a0 v128) (local $a1 v128) (local $a2 v128) (local $a3 v128) (local $n v128) (local $v v128)
    (local $binBytes2 i32) (local $binBytes3 i32)
    (local.set $bins (i32.mul (local.get $oh) (local.get $ow)))
    (local.set $binBytes (i32.shl (local.get $bins) (i32.const 2)))
    ;; A vector's 4 channels go to o, o + binBytes, o + 2·binBytes, o + 3·binBytes (the stores are
    ;; written out where they happen: a call would spill the live vectors).
    (local.set $binBytes2 (i32.shl (local.get $binBytes) (i32.const 1)))
    (local.set $binBytes3 (i32.mul (local.get $binBytes) (i32.const 3)))
    (local.set $cpBytes (i32.shl (local.get $cp) (i32.const 2)))
    (local.set $n (f32x4.splat (local.get $count)))
    (local.set $ph (i32.const 0))
    (block $phDone
      (loop $phLoop
        (br_if $phDone (i32.ge_s (local.get $ph) (local.get $oh)))
        (local.set $pw (i32.const 0))
        (block $pwDone
          (loop $pwLoop
            (br_if $pwDone (i32.ge_s (local.get $pw) (local.get $ow)))
            (local.set $end
              (call $samples (local.get $hwc) (local.get $cpBytes)
                (i32.add (local.get $ys) (i32.shl (i32.mul (local.get $ph) (local.get $gh)) (i32.const 4)))
                (i32.add (local.get $xs) (i32.shl (i32.mul (local.get $pw) (local.get $gw)) (i32.const 4)))
                (local.get $gh) (local.get $gw) (local.get $samples)))
            ;; o: (channel 0, this bin)
            (local.set $o (i32.add (local.get $out)
              (i32.shl (i32.add (i32.mul (local.get $ph) (local.get $ow)) (local.get $pw)) (i32.const 2))))
            (local.set $c (i32.const 0))
            ;; 16 channels at a time: each sample's weights and positions loaded once for 4 vectors.
            (block $wideDone
              (loop $wide
                (br_if $wideDone (i32.gt_s (i32.add (local.get $c) (i32.const 64)) (local.get $cpBytes)))
                (local.set $a0 (v128.const i32x4 0 0 0 0))
                (local.set $a1 (v128.const i32x4 0 0 0 0))
                (local.set $a2 (v128.const i32x4 0 0 0 0))
                (local.set $a3 (v128.const i32x4 0 0 0 0))
                (local.set $s (local.get $samples))
                (block $sDone
                  (loop $sLoop
                    (br_if $sDone (i32.ge_u (local.get $s) (local.get $end)))
                    (local.set $w1 (v128.load32_splat (local.get $s)))
                    (local.set $w2 (v128.load32_splat offset=4 (local.get $s)))
                    (local.set $w3 (v128.load32_splat offset=8 (local.get $s)))
                    (local.set $w4 (v128.load32_splat offset=12 (local.get $s)))
                    (local.set $p1 (i32.add (i32.load offset=16 (local.get $s)) (local.get $c)))
                    (local.set $p2 (i32.add (i32.load offset=20 (local.get $s)) (local.get $c)))
                    (local.set $p3 (i32.add (i32.load offset=24 (local.get $s)) (local.get $c)))
                    (local.set $p4 (i32.add (i32.load offset=28 (local.get $s)) (local.get $c)))
                    (local.set $a0 (f32x4.add (local.get $a0)
                      (f32x4.add (f32x4.add (f32x4.add
                        (f32x4.mul (local.get $w1) (v128.load (local.get $p1)))
                        (f32x4.mul (local.get $w2) (v128.load (local.get $p2))))
                        (f32x4.mul (local.get $w3) (v128.load (local.get $p3))))
                        (f32x4.mul (local.get $w4) (v128.load (local.get $p4))))))
                    (local.set $a1 (f32x4.add (local.get $a1)
                      (f32x4.add (f32x4.add (f32x4.add
                        (f32x4.mul (local.get $w1) (v128.load offset=16 (local.get $p1)))
                        (f32x4.mul (local.get $w2) (v128.load offset=16 (local.get $p2))))
                        (f32x4.mul (local.get $w3) (v128.load offset=16 (local.get $p3))))
                        (f32x4.mul (local.get $w4) (v128.load offset=16 (local.get $p4))))))
                    (local.set $a2 (f32x4.add (local.get $a2)
                      (f32x4.add (f32x4.add (f32x4.add
                        (f32x4.mul (local.get $w1) (v128.load offset=32 (local.get $p1)))
                        (f32x4.mul (local.get $w2) (v128.load offset=32 (local.get $p2))))
                        (f32x4.mul (local.get $w3) (v128.load offset=32 (local.get $p3))))
                        (f32x4.mul (local.get $w4) (v128.load offset=32 (local.get $p4))))))
                    (local.set $a3 (f32x4.add (local.get $a3)
                      (f32x4.add (f32x4.add (f32x4.add
                        (f32x4.mul (local.get $w1) (v128.load offset=48 (local.get $p1)))
                        (f32x4.mul (local.get $w2) (v128.load offset=48 (local.get $p2))))
                        (f32x4.mul (local.get $w3) (v128.load offset=48 (local.get $p3))))
                        (f32x4.mul (local.get $w4) (v128.load offset=48 (local.get $p4))))))
                    (local.set $s (i32.add (local.get $s) (i32.const 32)))
                    (br $sLoop)))
                (local.set $v (f32x4.div (local.get $a0) (local.get $n)))
                (f32.store (local.get $o) (f32x4.extract_lane 0 (local.get $v)))
                (f32.store (i32.add (local.get $o) (local.get $binBytes)) (f32x4.extract_lane 1 (local.get $v)))
                (f32.store (i32.add (local.get $o) (local.get $binBytes2)) (f32x4.extract_lane 2 (local.get $v)))
                (f32.store (i32.add (local.get $o) (local.get $binBytes3)) (f32x4.extract_lane 3 (local.get $v)))
                (local.set $o (i32.add (local.get $o) (i32.shl (local.get $binBytes) (i32.const 2))))
                (local.set $v (f32x4.div (local.get $a1) (local.get $n)))
                (f32.store (local.get $o) (f32x4.extract_lane 0 (local.get $v)))
                (f32.store (i32.add (local.get $o) (local.get $binBytes)) (f32x4.extract_lane 1 (local.get $v)))
                (f32.store (i32.add (local.get $o) (local.get $binBytes2)) (f32x4.extract_lane 2 (local.get $v)))
                (f32.store (i32.add (local.get $o) (local.get $binBytes3)) (f32x4.extract_lane 3 (local.get $v)))
                (local.set $o (i32.add (local.get $o) (i32.shl (local.get $binBytes) (i32.const 2))))
                (local.set $v (f32x4.div (local.get $a2) (local.get $n)))
                (f32.store (local.get $o) (f32x4.extract_lane 0 (local.get $v)))
                (f32.store (i32.add (local.get $o) (local.get $binBytes)) (f32x4.extract_lane 1 (local.get $v)))
                (f32.store (i32.add (local.get $o) (local.get $binBytes2)) (f32x4.extract_lane 2 (local.get $v)))
                (f32.store (i32.add (local.get $o) (local.get $binBytes3)) (f32x4.extract_lane 3 (local.get $v)))
                (local.set $o (i32.add (local.get $o) (i32.shl (local.get $binBytes) (i32.const 2))))
                (local.set $v (f32x4.div (local.get $a3) (local.get $n)))
                (f32.store (local.get $o) (f32x4.extract_lane 0 (local.get $v)))
                (f32.store (i32.add (local.get $o) (local.get $binBytes)) (f32x4.extract_lane 1 (local.get $v)))
                (f32.store (i32.add (local.get $o) (local.get $binBytes2)) (f32x4.extract_lane 2 (local.get $v)))
                (f32.store (i32.add (local.get $o) (local.get $binBytes3)) (f32x4.extract_lane 3 (local.get $v)))
                (local.set $o (i32.add (local.get $o) (i32.shl (local.get $binBytes) (i32.const 2))))
                (local.set $c (i32.add (local.get $c) (i32.const 64)))
                (br $wide)))
            ;; The remaining channels, 4 at a time.
            (block $narrowDone
              (loop $narrow
                (br_if $narrowDone (i32.ge_s (local.get $c) (local.get $cpBytes)))
                (local.set $a0 (v128.const i32x4 0 0 0 0))
                (local.set $s (local.get $samples))
                (block $tDone
                  (loop $tLoop
                    (br_if $tDone (i32.ge_u (local.get $s) (local.get $end)))
                    (local.set $a0 (f32x4.add (local.get $a0)
                      (f32x4.add (f32x4.add (f32x4.add
                        (f32x4.mul (v128.load32_splat (local.get $s))
                          (v128.load (i32.add (i32.load offset=16 (local.get $s)) (local.get $c))))
                        (f32x4.mul (v128.load32_splat offset=4 (local.get $s))
                          (v128.load (i32.add (i32.load offset=20 (local.get $s)) (local.get $c)))))
                        (f32x4.mul (v128.load32_splat offset=8 (local.get $s))
                          (v128.load (i32.add (i32.load offset=24 (local.get $s)) (local.get $c)))))
                        (f32x4.mul (v128.load32_splat offset=12 (local.get $s))
                          (v128.load (i32.add (i32.load offset=28 (local.get $s)) (local.get $c)))))))
                    (local.set $s (i32.add (local.get $s) (i32.const 32)))
                    (br $tLoop)))
                (local.set $v (f32x4.div (local.get $a0) (local.get $n)))
                (f32.store (local.get $o) (f32x4.extract_lane 0 (local.get $v)))
                (f32.store (i32.add (local.get $o) (local.get $binBytes)) (f32x4.extract_lane 1 (local.get $v)))
                (f32.store (i32.add (local.get $o) (local.get $binBytes2)) (f32x4.extract_lane 2 (local.get $v)))
                (f32.store (i32.add (local.get $o) (local.get $binBytes3)) (f32x4.extract_lane 3 (local.get $v)))
                (local.set $o (i32.add (local.get $o) (i32.shl (local.get $binBytes) (i32.const 2))))
                (local.set $c (i32.add (local.get $c) (i32.const 16)))
                (br $narrow)))
            (local.set $pw (i32.add (local.get $pw) (i32.const 1)))
            (br $pwLoop)))
        (local.set $ph (i32.add (local.get $ph) (i32.const 1)))
        (br $phLoop))))
)
