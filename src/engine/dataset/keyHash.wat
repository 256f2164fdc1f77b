;; The duplicate tracker's hash, in WebAssembly: one pass over a text's UTF-8 bytes, sixteen at a time (SIMD),
;; that hashes them with ASCII capitals lowered and says whether the text is its own duplicate key (see
;; keyHash.ts, which puts the texts into memory, reads the results and decides new characters).
;;
;; Texts come two ways, and are hashed as the same bytes either way:
;; - a record's line, as the file holds it (`hashLine`): a string value with no escape stands between its
;;   quotes as its UTF-8 bytes, so the input and reference are found (a walk over the object's top level)
;;   and hashed where they are, without their strings being copied into memory (Node's `Buffer.write`, about 100 ns a
;;   call) and without a trimmed copy of the reference: on the benchmark's short non-ASCII records, about
;;   280 ns a record where the strings took 430–550;
;; - a JavaScript string, written into memory as UTF-16 by Node and turned into UTF-8 here (`toUtf8`): a lone
;;   surrogate becomes its three-byte form (WTF-8), which no valid UTF-8 holds, so the bytes stay one-to-one
;;   with the strings.
;;
;; Compiled by scripts/build-wasm.mjs (wabt) into keyHashModule.ts; a unit test checks that the two agree.
;;
;; Memory:
;;   [0, 0x110000)         one byte for each code point from 0x80 on: what it does to the key (below)
;;   [0x110000, +16)       the last hash, 64 bits, little-endian; then a line's reference hash, 64 bits
;;   [0x110010, +12)       the byte lengths of the line's field names (input, context, reference; -1: none)
;;   [0x110100, +0x300)    the field names, 256 bytes each
;;   [0x110400, +0x100010) a part of a chunk of the file, whose lines `hashLine` reads
;;   [0x210800, …)         the texts; the 15 bytes after a text are read (and left as they are: the last
;;                         block of a text is padded in registers)
;;
;; Flags, in the table and in the result (or'ed over the text):
;;   1 CHANGES     NFKC or lower case could change the character, or it composes with its neighbour, or it is
;;                 white space other than ASCII, or a lone surrogate: the key must be built
;;   2 CONTROL     an ASCII control character (\t, \n … among them): white space to collapse, perhaps
;;   4 UNDECIDED   a character not classified yet: classify the text's characters and hash it again
;;  16 SPACES      two spaces side by side, or a space at either end: white space to collapse
;;  32 UNREAD      (`hashLine` only) the reference's value holds an escape or is not a string: not hashed
;; ASCII is classified by arithmetic, not by the table.
(module
  (memory (export "memory") 50)

  ;; Hashes the `length` bytes at `text` (lowering ASCII capitals when `lower` is not 0), stores the 64-bit
  ;; hash at 0x110000 and returns the flags. The hash: two SIMD accumulators of two 64-bit lanes each,
  ;; taking sixteen bytes (the last ones padded with 0x7f) in turn, each step a xor, a 64-bit multiplication
  ;; and a shift; the four lanes are joined and finished (MurmurHash3's fmix64) with the length.
  (func $hash (export "hash") (param $text i32) (param $length i32) (param $lower i32) (result i32)
    (local $at i32) (local $end i32) (local $block v128) (local $even v128) (local $odd v128) (local $swap v128)
    (local $lowerBits v128) (local $flags i32) (local $spaces i32) (local $previousSpace i32)
    (local $leads i32) (local $word i32) (local $point i32) (local $textEnd i32)
    (local.set $textEnd (i32.add (local.get $text) (local.get $length)))
    (local.set $lowerBits (select (result v128) (i8x16.splat (i32.const 0x20)) (v128.const i64x2 0 0) (local.get $lower)))
    (local.set $even (v128.const i64x2 0x9e3779b97f4a7c15 0xc2b2ae3d27d4eb4f))
    (local.set $odd (v128.const i64x2 0x27d4eb2f165667b1 0x85ebca6bc2b2ae35))
    (local.set $end (i32.add (local.get $text) (i32.and (i32.add (local.get $length) (i32.const 15)) (i32.const -16))))
    (local.set $at (local.get $text))
    (block $done
      (loop $blocks
        (br_if $done (i32.ge_u (local.get $at) (local.get $end)))
        (local.set $block (v128.load (local.get $at)))
        ;; The last block: the bytes past the text read as 0x7f.
        (if (i32.gt_u (i32.add (local.get $at) (i32.const 16)) (local.get $textEnd))
          (then (local.set $block (v128.bitselect (local.get $block) (i8x16.splat (i32.const 0x7f))
            (i8x16.gt_u (i8x16.splat (i32.sub (local.get $textEnd) (local.get $at)))
                        (v128.const i8x16 0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15))))))

        ;; Characters beyond ASCII: each looked up by its first byte (most blocks of most texts have none).
        (if (v128.any_true (v128.and (local.get $block) (i8x16.splat (i32.const 0x80))))
          (then
            (local.set $leads (i8x16.bitmask (i8x16.ge_u (local.get $block) (i8x16.splat (i32.const 0xc0)))))
            (block $noLeads
              (loop $characters
                (br_if $noLeads (i32.eqz (local.get $leads)))
                ;; The character's code point, from its bytes read at once as one little-endian word (inline:
                ;; this runs for every character beyond ASCII).
                (local.set $word (i32.load (i32.add (local.get $at) (i32.ctz (local.get $leads)))))
                (local.set $point
                  (if (result i32) (i32.lt_u (i32.and (local.get $word) (i32.const 0xff)) (i32.const 0xe0))
                    (then (i32.or (i32.shl (i32.and (local.get $word) (i32.const 0x1f)) (i32.const 6))
                            (i32.and (i32.shr_u (local.get $word) (i32.const 8)) (i32.const 0x3f))))
                    (else (if (result i32) (i32.lt_u (i32.and (local.get $word) (i32.const 0xff)) (i32.const 0xf0))
                      (then (i32.or (i32.or (i32.shl (i32.and (local.get $word) (i32.const 0x0f)) (i32.const 12))
                                      (i32.and (i32.shr_u (local.get $word) (i32.const 2)) (i32.const 0xfc0)))
                              (i32.and (i32.shr_u (local.get $word) (i32.const 16)) (i32.const 0x3f))))
                      (else (i32.or (i32.or (i32.shl (i32.and (local.get $word) (i32.const 0x07)) (i32.const 18))
                                      (i32.and (i32.shl (local.get $word) (i32.const 4)) (i32.const 0x3f000)))
                              (i32.or (i32.and (i32.shr_u (local.get $word) (i32.const 10)) (i32.const 0xfc0))
                                      (i32.and (i32.shr_u (local.get $word) (i32.const 24)) (i32.const 0x3f)))))))))
                (local.set $flags (i32.or (local.get $flags) (i32.load8_u (local.get $point))))
                (local.set $leads (i32.and (local.get $leads) (i32.sub (local.get $leads) (i32.const 1))))
                (br $characters)))))

        ;; ASCII capitals lowered.
        (local.set $block (v128.or (local.get $block)
          (v128.and (local.get $lowerBits)
            (v128.and (i8x16.gt_u (local.get $block) (i8x16.splat (i32.const 0x40)))
                      (i8x16.lt_u (local.get $block) (i8x16.splat (i32.const 0x5b)))))))

        ;; Spaces side by side (also across blocks) and control characters.
        (if (v128.any_true (i8x16.lt_u (local.get $block) (i8x16.splat (i32.const 0x21))))
          (then
            (local.set $spaces (i8x16.bitmask (i8x16.eq (local.get $block) (i8x16.splat (i32.const 0x20)))))
            (if (v128.any_true (i8x16.lt_u (local.get $block) (i8x16.splat (i32.const 0x20))))
              (then (local.set $flags (i32.or (local.get $flags) (i32.const 2)))))
            (if (i32.and (local.get $spaces) (i32.or (i32.shl (local.get $spaces) (i32.const 1)) (local.get $previousSpace)))
              (then (local.set $flags (i32.or (local.get $flags) (i32.const 16)))))
            (local.set $previousSpace (i32.shr_u (local.get $spaces) (i32.const 15))))
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
              (i32.eq (i32.load8_u (local.get $text)) (i32.const 0x20))
              (i32.eq (i32.load8_u (i32.sub (local.get $textEnd) (i32.const 1))) (i32.const 0x20)))
          (then (local.set $flags (i32.or (local.get $flags) (i32.const 16)))))))
    (call $finish (local.get $even) (local.get $odd) (local.get $length))
    (local.get $flags))

  ;; Joins the accumulators and the length into the 64-bit hash, stored at 0x110000.
  (func $finish (param $even v128) (param $odd v128) (param $length i32)
    (local $hash i64)
    (local.set $even (v128.xor (local.get $even)
      (i64x2.mul (local.get $odd) (v128.const i64x2 0xc2b2ae3d27d4eb4f 0x165667b19e3779f9))))
    (local.set $hash (i64.xor
      (i64.xor (i64x2.extract_lane 0 (local.get $even))
        (i64.rotl (i64.mul (i64x2.extract_lane 1 (local.get $even)) (i64.const 0x94d049bb133111eb)) (i64.const 31)))
      (i64.extend_i32_u (local.get $length))))
    (local.set $hash (i64.mul (i64.xor (local.get $hash) (i64.shr_u (local.get $hash) (i64.const 33))) (i64.const 0xff51afd7ed558ccd)))
    (local.set $hash (i64.mul (i64.xor (local.get $hash) (i64.shr_u (local.get $hash) (i64.const 33))) (i64.const 0xc4ceb9fe1a85ec53)))
    (i64.store (i32.const 0x110000) (i64.xor (local.get $hash) (i64.shr_u (local.get $hash) (i64.const 33)))))

  ;; Hashes the `length` bytes at `text` (a reference) like `hash`, without looking at what they are; stores
  ;; the 64-bit hash at 0x110000.
  (func $hashBytes (export "hashBytes") (param $text i32) (param $length i32)
    (local $at i32) (local $end i32) (local $even v128) (local $odd v128) (local $swap v128)
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
    (call $finish (local.get $even) (local.get $odd) (local.get $length)))

;; Writes the `units` UTF-16 code units at `from` as UTF-8 at `to` (a lone surrogate as its three bytes)
  ;; and returns the bytes written: sixteen or eight units at a time where they are ASCII, else one by one
  ;; through the eight. Writes up to 8 bytes past the end.
  (func (export "toUtf8") (param $from i32) (param $units i32) (param $to i32) (result i32)
    (local $at i32) (local $end i32) (local $blockEnd i32) (local $out i32) (local $block v128) (local $second v128) (local $unit i32) (local $next i32)
    (local.set $at (local.get $from))
    (local.set $end (i32.add (local.get $from) (i32.shl (local.get $units) (i32.const 1))))
    (local.set $out (local.get $to))
    (block $done
      (loop $blocks
        (br_if $done (i32.ge_u (local.get $at) (local.get $end)))
        (local.set $blockEnd (local.get $end))
        ;; Sixteen ASCII units: sixteen bytes.
        (if (i32.le_u (i32.add (local.get $at) (i32.const 32)) (local.get $end))
          (then
            (local.set $block (v128.load (local.get $at)))
            (local.set $second (v128.load offset=16 (local.get $at)))
            (if (i32.eqz (v128.any_true (v128.and (v128.or (local.get $block) (local.get $second)) (i16x8.splat (i32.const 0xff80)))))
              (then
                (v128.store (local.get $out) (i8x16.narrow_i16x8_u (local.get $block) (local.get $second)))
                (local.set $at (i32.add (local.get $at) (i32.const 32)))
                (local.set $out (i32.add (local.get $out) (i32.const 16)))
                (br $blocks)))))
        (if (i32.le_u (i32.add (local.get $at) (i32.const 16)) (local.get $end))
          (then
            (local.set $block (v128.load (local.get $at)))
            (if (i32.eqz (v128.any_true (v128.and (local.get $block) (i16x8.splat (i32.const 0xff80)))))
              (then
                (i64.store (local.get $out) (i64x2.extract_lane 0 (i8x16.narrow_i16x8_u (local.get $block) (local.get $block))))
                (local.set $at (i32.add (local.get $at) (i32.const 16)))
                (local.set $out (i32.add (local.get $out) (i32.const 8)))
                (br $blocks)))
            (local.set $blockEnd (i32.add (local.get $at) (i32.const 16)))))
        (loop $inBlock
          (local.set $unit (i32.load16_u (local.get $at)))
          (local.set $at (i32.add (local.get $at) (i32.const 2)))
          (block $written
            (if (i32.lt_u (local.get $unit) (i32.const 0x80))
              (then
                (i32.store8 (local.get $out) (local.get $unit))
                (local.set $out (i32.add (local.get $out) (i32.const 1)))
                (br $written)))
            (if (i32.lt_u (local.get $unit) (i32.const 0x800))
              (then
                (i32.store8 (local.get $out) (i32.or (i32.const 0xc0) (i32.shr_u (local.get $unit) (i32.const 6))))
                (i32.store8 offset=1 (local.get $out) (i32.or (i32.const 0x80) (i32.and (local.get $unit) (i32.const 0x3f))))
                (local.set $out (i32.add (local.get $out) (i32.const 2)))
                (br $written)))
            ;; A high surrogate with a low one after it: one character beyond U+FFFF, four bytes.
            (if (i32.and (i32.eq (i32.and (local.get $unit) (i32.const 0xfc00)) (i32.const 0xd800))
                         (i32.lt_u (local.get $at) (local.get $end)))
              (then
                (local.set $next (i32.load16_u (local.get $at)))
                (if (i32.eq (i32.and (local.get $next) (i32.const 0xfc00)) (i32.const 0xdc00))
                  (then
                    (local.set $unit (i32.add (i32.const 0x10000)
                      (i32.or (i32.shl (i32.and (local.get $unit) (i32.const 0x3ff)) (i32.const 10)) (i32.and (local.get $next) (i32.const 0x3ff)))))
                    (i32.store8 (local.get $out) (i32.or (i32.const 0xf0) (i32.shr_u (local.get $unit) (i32.const 18))))
                    (i32.store8 offset=1 (local.get $out) (i32.or (i32.const 0x80) (i32.and (i32.shr_u (local.get $unit) (i32.const 12)) (i32.const 0x3f))))
                    (i32.store8 offset=2 (local.get $out) (i32.or (i32.const 0x80) (i32.and (i32.shr_u (local.get $unit) (i32.const 6)) (i32.const 0x3f))))
                    (i32.store8 offset=3 (local.get $out) (i32.or (i32.const 0x80) (i32.and (local.get $unit) (i32.const 0x3f))))
                    (local.set $at (i32.add (local.get $at) (i32.const 2)))
                    (local.set $out (i32.add (local.get $out) (i32.const 4)))
                    (br $written)))))
            (i32.store8 (local.get $out) (i32.or (i32.const 0xe0) (i32.shr_u (local.get $unit) (i32.const 12))))
            (i32.store8 offset=1 (local.get $out) (i32.or (i32.const 0x80) (i32.and (i32.shr_u (local.get $unit) (i32.const 6)) (i32.const 0x3f))))
            (i32.store8 offset=2 (local.get $out) (i32.or (i32.const 0x80) (i32.and (local.get $unit) (i32.const 0x3f))))
            (local.set $out (i32.add (local.get $out) (i32.const 3))))
          (br_if $inBlock (i32.lt_u (local.get $at) (local.get $blockEnd))))
        (br $blocks)))
    (i32.sub (local.get $out) (local.get $to)))

    ;; Which of the field names (bit 1 input, 2 context, 4 reference) the `length` bytes at `key` spell.
  (func $field (param $key i32) (param $length i32) (result i32)
    (i32.or (i32.or
      (call $named (local.get $key) (local.get $length) (i32.const 0))
      (i32.shl (call $named (local.get $key) (local.get $length) (i32.const 1)) (i32.const 1)))
      (i32.shl (call $named (local.get $key) (local.get $length) (i32.const 2)) (i32.const 2))))

  ;; 1 when the key is field name number `index`, else 0.
  (func $named (param $key i32) (param $length i32) (param $index i32) (result i32)
    (local $name i32) (local $i i32)
    (if (i32.ne (i32.load offset=0x110010 (i32.shl (local.get $index) (i32.const 2))) (local.get $length))
      (then (return (i32.const 0))))
    (local.set $name (i32.add (i32.const 0x110100) (i32.shl (local.get $index) (i32.const 8))))
    (block $differ
      (loop $bytes
        (if (i32.ge_u (local.get $i) (local.get $length)) (then (return (i32.const 1))))
        (br_if $differ (i32.ne (i32.load8_u (i32.add (local.get $key) (local.get $i)))
                               (i32.load8_u (i32.add (local.get $name) (local.get $i)))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $bytes)))
    (i32.const 0))

;; The position of the quote that ends the JSON string whose text starts at `at`, sixteen bytes a step; sets
  ;; $escaped when the string holds an escape (its bytes are then not its text).
  (global $escaped (mut i32) (i32.const 0))
  (func $stringEnd (param $at i32) (result i32)
    (local $found i32)
    (global.set $escaped (i32.const 0))
    (loop $blocks
      (local.set $found (i8x16.bitmask (v128.or
        (i8x16.eq (v128.load (local.get $at)) (i8x16.splat (i32.const 0x22)))
        (i8x16.eq (v128.load (local.get $at)) (i8x16.splat (i32.const 0x5c))))))
      (if (i32.eqz (local.get $found))
        (then
          (local.set $at (i32.add (local.get $at) (i32.const 16)))
          (br $blocks)))
      (local.set $at (i32.add (local.get $at) (i32.ctz (local.get $found))))
      (if (i32.eq (i32.load8_u (local.get $at)) (i32.const 0x5c))
        (then
          (global.set $escaped (i32.const 1))
          (local.set $at (i32.add (local.get $at) (i32.const 2)))
          (br $blocks))))
    (local.get $at))

  ;; The position after JSON white space from `at` on.
  (func $skipSpace (param $at i32) (result i32)
    (local $byte i32)
    (loop $bytes
      (local.set $byte (i32.load8_u (local.get $at)))
      (if (i32.or (i32.or (i32.eq (local.get $byte) (i32.const 0x20)) (i32.eq (local.get $byte) (i32.const 0x09)))
                  (i32.or (i32.eq (local.get $byte) (i32.const 0x0d)) (i32.eq (local.get $byte) (i32.const 0x0a))))
        (then
          (local.set $at (i32.add (local.get $at) (i32.const 1)))
          (br $bytes))))
    (local.get $at))

  ;; The position of the ',' or '}' after the value (not a string) that starts at `at`: a number, a literal, or
  ;; an array or object with whatever it holds.
  (func $skipValue (param $at i32) (result i32)
    (local $depth i32) (local $byte i32)
    (loop $bytes
      (local.set $byte (i32.load8_u (local.get $at)))
      (if (i32.eq (local.get $byte) (i32.const 0x22))
        (then
          (local.set $at (i32.add (call $stringEnd (i32.add (local.get $at) (i32.const 1))) (i32.const 1)))
          (br $bytes)))
      (if (i32.or (i32.eq (local.get $byte) (i32.const 0x7b)) (i32.eq (local.get $byte) (i32.const 0x5b)))
        (then (local.set $depth (i32.add (local.get $depth) (i32.const 1)))))
      (if (i32.or (i32.eq (local.get $byte) (i32.const 0x7d)) (i32.eq (local.get $byte) (i32.const 0x5d)))
        (then
          (if (i32.eqz (local.get $depth)) (then (return (local.get $at))))
          (local.set $depth (i32.sub (local.get $depth) (i32.const 1)))))
      (if (i32.and (i32.eq (local.get $byte) (i32.const 0x2c)) (i32.eqz (local.get $depth)))
        (then (return (local.get $at))))
      (local.set $at (i32.add (local.get $at) (i32.const 1)))
      (br $bytes))
    (local.get $at))

  ;; A record's line of `length` bytes at `line`: a JSON object (JSON.parse read it, so it is valid JSON) as
  ;; valid UTF-8. Finds the named fields' values at its top level (the last of a key written twice, as
  ;; JSON.parse keeps), hashes the reference without its `lead` and `trail` bytes of white space (stored at
  ;; 0x110008; UNREAD where its bytes are not its text) and the input's key, the input alone or the input, a
  ;; space and a non-empty context (joined at `text`), as `hash` does (stored at 0x110000); returns the key's
  ;; flags, or -1 where the key's bytes are not its text or the line lacks a field: the line lacks the input or
  ;; the reference, a key holds an escape (it could spell a field's name), or the input's or the context's
  ;; value is not a string or holds an escape.
  (func (export "hashLine") (param $line i32) (param $length i32) (param $text i32) (param $lead i32) (param $trail i32) (result i32)
    (local $at i32) (local $keyStart i32) (local $valueStart i32) (local $field i32) (local $usable i32)
    (local $inputStart i32) (local $inputEnd i32) (local $contextStart i32) (local $contextEnd i32)
    (local $referenceStart i32) (local $referenceEnd i32) (local $inputLength i32) (local $contextLength i32) (local $unread i32)
    ;; -1: not in the line; -2: there, but not usable as bytes.
    (local.set $inputStart (i32.const -1))
    (local.set $contextStart (i32.const -1))
    (local.set $referenceStart (i32.const -1))
    ;; White space that trim removed may stand before the object's brace.
    (local.set $at (local.get $line))
    (block $opened
      (loop $bytes
        (br_if $opened (i32.eq (i32.load8_u (local.get $at)) (i32.const 0x7b)))
        (local.set $at (i32.add (local.get $at) (i32.const 1)))
        (br_if $bytes (i32.lt_u (local.get $at) (i32.add (local.get $line) (local.get $length))))
        (return (i32.const -1))))
    (local.set $at (call $skipSpace (i32.add (local.get $at) (i32.const 1))))
    (block $closed
      (loop $members
        (br_if $closed (i32.ne (i32.load8_u (local.get $at)) (i32.const 0x22)))
        (local.set $keyStart (i32.add (local.get $at) (i32.const 1)))
        (local.set $at (call $stringEnd (local.get $keyStart)))
        (if (global.get $escaped) (then (return (i32.const -1))))
        (local.set $field (call $field (local.get $keyStart) (i32.sub (local.get $at) (local.get $keyStart))))
        ;; Past the key's quote, the colon and the white space around it.
        (local.set $at (call $skipSpace (i32.add (call $skipSpace (i32.add (local.get $at) (i32.const 1))) (i32.const 1))))
        (if (i32.eq (i32.load8_u (local.get $at)) (i32.const 0x22))
          (then
            (local.set $valueStart (i32.add (local.get $at) (i32.const 1)))
            (local.set $at (call $stringEnd (local.get $valueStart)))
            (local.set $usable (i32.eqz (global.get $escaped)))
            (local.set $at (i32.add (local.get $at) (i32.const 1))))
          (else
            (local.set $usable (i32.const 0))
            (local.set $at (call $skipValue (local.get $at)))))
        (if (local.get $field)
          (then
            (if (i32.eqz (local.get $usable)) (then (local.set $valueStart (i32.const -2))))
            (if (i32.and (local.get $field) (i32.const 1))
              (then (local.set $inputStart (local.get $valueStart)) (local.set $inputEnd (i32.sub (local.get $at) (i32.const 1)))))
            (if (i32.and (local.get $field) (i32.const 2))
              (then (local.set $contextStart (local.get $valueStart)) (local.set $contextEnd (i32.sub (local.get $at) (i32.const 1)))))
            (if (i32.and (local.get $field) (i32.const 4))
              (then (local.set $referenceStart (local.get $valueStart)) (local.set $referenceEnd (i32.sub (local.get $at) (i32.const 1)))))))
        (local.set $at (call $skipSpace (local.get $at)))
        (br_if $closed (i32.ne (i32.load8_u (local.get $at)) (i32.const 0x2c)))
        (local.set $at (call $skipSpace (i32.add (local.get $at) (i32.const 1))))
        (br $members)))
    (if (i32.or (i32.or (i32.lt_s (local.get $inputStart) (i32.const 0)) (i32.eq (local.get $referenceStart) (i32.const -1)))
                (i32.eq (local.get $contextStart) (i32.const -2)))
      (then (return (i32.const -1))))

    ;; A reference with an escape (a completion that ends with \n, say) is hashed from its string instead.
    (if (i32.lt_s (local.get $referenceStart) (i32.const 0))
      (then (local.set $unread (i32.const 32)))
      (else
        (call $hashBytes (i32.add (local.get $referenceStart) (local.get $lead))
          (i32.sub (i32.sub (i32.sub (local.get $referenceEnd) (local.get $referenceStart)) (local.get $lead)) (local.get $trail)))
        (i64.store (i32.const 0x110008) (i64.load (i32.const 0x110000)))))

    (local.set $inputLength (i32.sub (local.get $inputEnd) (local.get $inputStart)))
    (local.set $contextLength (i32.sub (local.get $contextEnd) (local.get $contextStart)))
    (if (i32.and (i32.ge_s (local.get $contextStart) (i32.const 0)) (i32.gt_s (local.get $contextLength) (i32.const 0)))
      (then
        (memory.copy (local.get $text) (local.get $inputStart) (local.get $inputLength))
        (i32.store8 (i32.add (local.get $text) (local.get $inputLength)) (i32.const 0x20))
        (memory.copy (i32.add (i32.add (local.get $text) (local.get $inputLength)) (i32.const 1))
          (local.get $contextStart) (local.get $contextLength))
        (return (i32.or (local.get $unread)
          (call $hash (local.get $text) (i32.add (i32.add (local.get $inputLength) (i32.const 1)) (local.get $contextLength)) (i32.const 1))))))
    (i32.or (local.get $unread) (call $hash (local.get $inputStart) (local.get $inputLength) (i32.const 1))))
)
