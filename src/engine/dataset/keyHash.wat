;; The duplicate tracker's hash, in WebAssembly: one pass over a text's UTF-16 code units, eight at a time
;; (SIMD), that hashes them with ASCII capitals lowered and says whether the text is its own duplicate key
;; (see duplicates.ts, which writes the text into memory, reads the results and decides new characters).
;; On the benchmark's short non-ASCII records, JavaScript did this work at 3.5–4 ns a code unit, this at about 1
;; (both with the copy of the text into memory, about a third of it).
;;
;; Compiled by scripts/build-wasm.mjs (wabt) into keyHashModule.ts; a unit test checks that the two agree.
;;
;; Memory:
;;   [0, 0x10000)          one byte for each code unit 0x80–0xffff: what it does to the key (below)
;;   [0x10000, 0x110000)   one byte for each character beyond U+FFFF, by code point − 0x10000: the same
;;   [0x110000, +8)        the last hash, 64 bits, little-endian
;;   [0x110100, …)         the texts, as UTF-16LE code units (or UTF-8 bytes); the 14 bytes after a text are read
;;                         (and left as they are: the last block of a text is padded in registers)
;;
;; Flags, in the tables and in the result (or'ed over the text):
;;   1 CHANGES     NFKC or lower case could change the character, or it composes with its neighbour, or it is
;;                 white space other than ASCII, or a lone surrogate: the key must be built
;;   2 CONTROL     an ASCII control character (\t, \n … among them): white space to collapse, perhaps
;;   4 UNDECIDED   a character not classified yet: classify the text's characters and hash it again
;;   8 SURROGATE   (tables only) half of a surrogate pair: the pair's character is looked up
;;  16 SPACES      two spaces side by side, or a space at either end: white space to collapse
;; ASCII is classified by arithmetic, not by the table.
(module
  (memory (export "memory") 26)

  ;; Hashes the `length` code units at `text` (lowering ASCII capitals when `lower` is not 0), stores the
  ;; 64-bit hash at 0x110000 and returns the flags. The hash: two SIMD accumulators of two 64-bit lanes
  ;; each, taking eight code units (the last eight padded with 0x7f) in turn, each step a xor, a 64-bit
  ;; multiplication and a shift; the four lanes are joined and finished (MurmurHash3's fmix64) with the length.
  (func (export "hash") (param $text i32) (param $length i32) (param $lower i32) (result i32)
    (local $at i32) (local $end i32) (local $block v128) (local $even v128) (local $odd v128) (local $swap v128)
    (local $lowerBits v128) (local $flags i32) (local $spaces i32) (local $previousSpace i32)
    (local $wide i32) (local $unit i32) (local $unitAt i32) (local $kind i32) (local $next i32) (local $hash i64)
    (local $textEnd i32)
    (local.set $textEnd (i32.add (local.get $text) (i32.shl (local.get $length) (i32.const 1))))
    (local.set $lowerBits (select (result v128) (i16x8.splat (i32.const 0x20)) (v128.const i64x2 0 0) (local.get $lower)))
    (local.set $even (v128.const i64x2 0x9e3779b97f4a7c15 0xc2b2ae3d27d4eb4f))
    (local.set $odd (v128.const i64x2 0x27d4eb2f165667b1 0x85ebca6bc2b2ae35))
    (local.set $end (i32.add (local.get $text)
      (i32.shl (i32.and (i32.add (local.get $length) (i32.const 7)) (i32.const -8)) (i32.const 1))))
    (local.set $at (local.get $text))
    (block $done
      (loop $blocks
        (br_if $done (i32.ge_u (local.get $at) (local.get $end)))
        (local.set $block (v128.load (local.get $at)))
        ;; The last block: the units past the text read as 0x7f.
        (if (i32.gt_u (i32.add (local.get $at) (i32.const 16)) (local.get $textEnd))
          (then (local.set $block (v128.bitselect (local.get $block) (i16x8.splat (i32.const 0x7f))
            (i16x8.gt_u (i16x8.splat (i32.shr_u (i32.sub (local.get $textEnd) (local.get $at)) (i32.const 1)))
                        (v128.const i16x8 0 1 2 3 4 5 6 7))))))

        ;; Units above ASCII: each looked up in the tables (most blocks of most texts have none).
        (if (v128.any_true (v128.and (local.get $block) (i16x8.splat (i32.const 0xff80))))
          (then
            (local.set $wide (i16x8.bitmask (i16x8.gt_u (local.get $block) (i16x8.splat (i32.const 0x7f)))))
            (loop $units
              (local.set $unitAt (i32.add (local.get $at) (i32.shl (i32.ctz (local.get $wide)) (i32.const 1))))
              (local.set $unit (i32.load16_u (local.get $unitAt)))
              (local.set $kind (i32.load8_u (local.get $unit)))
              (if (i32.and (local.get $kind) (i32.const 8))
                (then
                  (if (i32.lt_u (local.get $unit) (i32.const 0xdc00))
                    (then
                      ;; A high surrogate: its character, when a low one follows in the text, else a lone one.
                      (local.set $next (i32.sub
                        (select (i32.load16_u offset=2 (local.get $unitAt)) (i32.const 0)
                          (i32.lt_u (i32.add (local.get $unitAt) (i32.const 2)) (local.get $textEnd)))
                        (i32.const 0xdc00)))
                      (local.set $kind
                        (if (result i32) (i32.ge_u (local.get $next) (i32.const 0x400))
                          (then (i32.const 1))
                          (else (i32.load8_u offset=0x10000
                            (i32.or (i32.shl (i32.sub (local.get $unit) (i32.const 0xd800)) (i32.const 10)) (local.get $next)))))))
                    (else
                      ;; A low surrogate: its pair was looked up from the high one before it; alone, it changes.
                      (local.set $kind
                        (select (i32.const 1) (i32.const 0)
                          (i32.or (i32.eq (local.get $unitAt) (local.get $text))
                            (i32.ne (i32.and (i32.load16_u (i32.sub (local.get $unitAt) (i32.const 2))) (i32.const 0xfc00))
                              (i32.const 0xd800)))))))))
              (local.set $flags (i32.or (local.get $flags) (local.get $kind)))
              (local.set $wide (i32.and (local.get $wide) (i32.sub (local.get $wide) (i32.const 1))))
              (br_if $units (local.get $wide)))))

        ;; ASCII capitals lowered.
        (local.set $block (v128.or (local.get $block)
          (v128.and (local.get $lowerBits)
            (v128.and (i16x8.gt_u (local.get $block) (i16x8.splat (i32.const 0x40)))
                      (i16x8.lt_u (local.get $block) (i16x8.splat (i32.const 0x5b)))))))

        ;; Spaces side by side (also across blocks) and control characters.
        (if (v128.any_true (i16x8.lt_u (local.get $block) (i16x8.splat (i32.const 0x21))))
          (then
            (local.set $spaces (i16x8.bitmask (i16x8.eq (local.get $block) (i16x8.splat (i32.const 0x20)))))
            (if (v128.any_true (i16x8.lt_u (local.get $block) (i16x8.splat (i32.const 0x20))))
              (then (local.set $flags (i32.or (local.get $flags) (i32.const 2)))))
            (if (i32.and (local.get $spaces) (i32.or (i32.shl (local.get $spaces) (i32.const 1)) (local.get $previousSpace)))
              (then (local.set $flags (i32.or (local.get $flags) (i32.const 16)))))
            (local.set $previousSpace (i32.shr_u (local.get $spaces) (i32.const 7))))
          (else (local.set $previousSpace (i32.const 0))))

        ;; The block into the even accumulator; the two then trade places, so that two multiplications
        ;; are in flight at once.
        (local.set $even (i64x2.mul (v128.xor (local.get $even) (local.get $block))
          (v128.const i64x2 0x9fb21c651e98df25 0xff51afd7ed558ccd)))
        (local.set $even (v128.xor (local.get $even) (i64x2.shr_u (local.get $even) (i32.const 29))))
        (local.set $swap (local.get $even))
        (local.set $even (local.get $odd))
        (local.set $odd (local.get $swap))
        (local.set $at (i32.add (local.get $at) (i32.const 16)))
        (br $blocks)))

    ;; A space at either end is collapsed away by the key.
    (if (local.get $length)
      (then
        (if (i32.or
              (i32.eq (i32.load16_u (local.get $text)) (i32.const 0x20))
              (i32.eq (i32.load16_u (i32.add (local.get $text) (i32.shl (i32.sub (local.get $length) (i32.const 1)) (i32.const 1)))) (i32.const 0x20)))
          (then (local.set $flags (i32.or (local.get $flags) (i32.const 16)))))))

    (local.set $even (v128.xor (local.get $even)
      (i64x2.mul (local.get $odd) (v128.const i64x2 0xc2b2ae3d27d4eb4f 0x165667b19e3779f9))))
    (local.set $hash (i64.xor
      (i64.xor (i64x2.extract_lane 0 (local.get $even))
        (i64.rotl (i64.mul (i64x2.extract_lane 1 (local.get $even)) (i64.const 0x94d049bb133111eb)) (i64.const 31)))
      (i64.extend_i32_u (local.get $length))))
    (local.set $hash (i64.mul (i64.xor (local.get $hash) (i64.shr_u (local.get $hash) (i64.const 33))) (i64.const 0xff51afd7ed558ccd)))
    (local.set $hash (i64.mul (i64.xor (local.get $hash) (i64.shr_u (local.get $hash) (i64.const 33))) (i64.const 0xc4ceb9fe1a85ec53)))
    (i64.store (i32.const 0x110000) (i64.xor (local.get $hash) (i64.shr_u (local.get $hash) (i64.const 33))))
    (local.get $flags))

  ;; Hashes the `length` bytes at `text` (a reference's code units) like `hash`, sixteen bytes a block,
  ;; without looking at what they are; stores the 64-bit hash at 0x110000.
  (func (export "hashBytes") (param $text i32) (param $length i32)
    (local $at i32) (local $end i32) (local $even v128) (local $odd v128) (local $swap v128) (local $hash i64)
    (local $block v128) (local $textEnd i32)
    (local.set $textEnd (i32.add (local.get $text) (local.get $length)))
    (local.set $even (v128.const i64x2 0x9e3779b97f4a7c15 0xc2b2ae3d27d4eb4f))
    (local.set $odd (v128.const i64x2 0x27d4eb2f165667b1 0x85ebca6bc2b2ae35))
    (local.set $end (i32.add (local.get $text) (i32.and (i32.add (local.get $length) (i32.const 15)) (i32.const -16))))
    (local.set $at (local.get $text))
    (block $done
      (loop $blocks
        (br_if $done (i32.ge_u (local.get $at) (local.get $end)))
        (local.set $block (v128.load (local.get $at)))
        (if (i32.gt_u (i32.add (local.get $at) (i32.const 16)) (local.get $textEnd))
          (then (local.set $block (v128.bitselect (local.get $block) (i8x16.splat (i32.const 0x7f))
            (i8x16.gt_u (i8x16.splat (i32.sub (local.get $textEnd) (local.get $at)))
                        (v128.const i8x16 0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15))))))
        (local.set $even (i64x2.mul (v128.xor (local.get $even) (local.get $block))
          (v128.const i64x2 0x9fb21c651e98df25 0xff51afd7ed558ccd)))
        (local.set $even (v128.xor (local.get $even) (i64x2.shr_u (local.get $even) (i32.const 29))))
        (local.set $swap (local.get $even))
        (local.set $even (local.get $odd))
        (local.set $odd (local.get $swap))
        (local.set $at (i32.add (local.get $at) (i32.const 16)))
        (br $blocks)))
    (local.set $even (v128.xor (local.get $even)
      (i64x2.mul (local.get $odd) (v128.const i64x2 0xc2b2ae3d27d4eb4f 0x165667b19e3779f9))))
    (local.set $hash (i64.xor
      (i64.xor (i64x2.extract_lane 0 (local.get $even))
        (i64.rotl (i64.mul (i64x2.extract_lane 1 (local.get $even)) (i64.const 0x94d049bb133111eb)) (i64.const 31)))
      (i64.extend_i32_u (local.get $length))))
    (local.set $hash (i64.mul (i64.xor (local.get $hash) (i64.shr_u (local.get $hash) (i64.const 33))) (i64.const 0xff51afd7ed558ccd)))
    (local.set $hash (i64.mul (i64.xor (local.get $hash) (i64.shr_u (local.get $hash) (i64.const 33))) (i64.const 0xc4ceb9fe1a85ec53)))
    (i64.store (i32.const 0x110000) (i64.xor (local.get $hash) (i64.shr_u (local.get $hash) (i64.const 33)))))
)
