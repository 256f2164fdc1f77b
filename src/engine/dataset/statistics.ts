/**
 * Running statistics over a dataset, in memory bounded for any file size: counts and means are exact,
 * percentiles come from a reservoir sample, and duplicate inputs are tracked by 64-bit hashes, not strings.
 */
import { seededRandom, type Random } from '../random';

export interface Distribution {
  count: number;
  min: number;
  max: number;
  mean: number;
  p50: number;
  p95: number;
}

const RESERVOIR_SIZE = 200_000;

export class DistributionAccumulator {
  private count = 0;
  private sum = 0;
  private min = Infinity;
  private max = -Infinity;
  private readonly reservoir: number[] = [];
  private readonly random: Random = seededRandom(17);

  add(value: number): void {
    this.count++;
    this.sum += value;
    if (value < this.min) this.min = value;
    if (value > this.max) this.max = value;
    if (this.reservoir.length < RESERVOIR_SIZE) this.reservoir.push(value);
    else {
      const slot = Math.floor(this.random() * this.count);
      if (slot < RESERVOIR_SIZE) this.reservoir[slot] = value;
    }
  }

  result(): Distribution {
    if (this.count === 0) return { count: 0, min: 0, max: 0, mean: 0, p50: 0, p95: 0 };
    const sorted = Float64Array.from(this.reservoir).sort();
    return { count: this.count, min: this.min, max: this.max, mean: this.sum / this.count, p50: percentile(sorted, 0.5), p95: percentile(sorted, 0.95) };
  }
}

/** Nearest-rank percentile of sorted values. */
export function percentile(sorted: ArrayLike<number>, fraction: number): number {
  if (sorted.length === 0) return 0;
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil(fraction * sorted.length)));
  return sorted[rank - 1]!;
}

/** The form under which two inputs count as duplicates: NFKC, lower case, white space collapsed. */
export function duplicateKey(text: string): string {
  // NFKC is the slow part of a scan; ASCII text is already in normal form.
  const normalized = /[^\x00-\x7f]/.test(text) ? text.normalize('NFKC') : text;
  return normalized.toLowerCase().replace(/\s+/g, ' ').trim();
}

/**
 * Duplicate tracking hashes memory, not characters: Node copies a text's UTF-16 code units into a scratch
 * buffer (native code, a fraction of a nanosecond a character, where a `charCodeAt` loop costs several) and
 * the hash reads them two at a time as 32-bit words. UTF-16 rather than UTF-8 because it is the strings' own
 * form: writing it is a copy for any text (encoding non-ASCII text as UTF-8 costs more than hashing it), and
 * a lone surrogate is hashed as itself.
 *
 * The hash is 64 bits: two 32-bit lanes with different multipliers, each fed every word and mixed by a
 * shift as it goes, and each lane kept twice (even words, odd words) so that four multiplications run side
 * by side; the halves are joined and finished by MurmurHash3's fmix32 with the length. Nothing is verified
 * after it (the tracker keeps no text, to stay small on a 1 GB file): two different keys count as one when
 * all 64 bits agree, which for two million distinct inputs happens with odds of about 1 in 10^7 (n²/2^65),
 * and would then count one duplicate too many.
 */
const hashOut = new Uint32Array(2);
const SEED_HIGH = 0x9e3779b9 | 0;
const SEED_LOW = 0x811c9dc5 | 0;
const SEED_HIGH_ODD = 0x7f4a7c15 | 0;
const SEED_LOW_ODD = 0x2545f491 | 0;
const MULTIPLIER_HIGH = 0x5bd1e995;
const MULTIPLIER_LOW = 0xcc9e2d51;
const JOIN_HIGH = 0x27d4eb2f;
const JOIN_LOW = 0x165667b1;
/** hash32's seed: not the 64-bit hash's, so that a reference's UTF-8 and UTF-16 hashes are not alike by design. */
const SEED_LOW_UTF8 = 0x3c6ef372 | 0;

function fmix32(h: number): number {
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/** A text's UTF-16 code units (little-endian), the same memory as units and as 32-bit words of two units. */
interface Scratch {
  bytes: Buffer;
  units: Uint16Array;
  words: Int32Array;
}

/** Texts up to this many code units are written to the shared scratch (as UTF-16, or as UTF-8: 3 bytes a unit at most). */
const SCRATCH_UNITS = 1 << 18;
/** What fills the second half of the last word after a text of odd length. */
const PAD = 0x7f;
let shared: Scratch | undefined;

function newScratch(units: number): Scratch {
  // Room for the text as UTF-8 or UTF-16, the padding after it, and a whole number of words.
  const memory = new ArrayBuffer(4 * (((3 * units) >> 2) + 4));
  return { bytes: Buffer.from(memory), units: new Uint16Array(memory), words: new Int32Array(memory) };
}

/** A scratch for a text of `units` code units: the shared one, or a one-off for a text too long for it. */
function scratchFor(units: number): Scratch {
  if (units > SCRATCH_UNITS) return newScratch(units);
  return (shared ??= newScratch(SCRATCH_UNITS));
}

/** Writes `text`'s code units from unit `offset` on; returns the units written. */
function writeUnits(scratch: Scratch, text: string, offset: number): number {
  return scratch.bytes.write(text, 2 * offset, 'utf16le') >> 1;
}

/** The hash of the first `length` code units of the scratch (set in `out`, which is returned). */
function hashWords(scratch: Scratch, length: number, out: Uint32Array): Uint32Array {
  const { units, words } = scratch;
  units[length] = PAD;
  const end = (length + 1) >> 1;
  let high = SEED_HIGH;
  let low = SEED_LOW;
  let highOdd = SEED_HIGH_ODD;
  let lowOdd = SEED_LOW_ODD;
  let i = 0;
  for (; i + 1 < end; i += 2) {
    const even = words[i]!;
    const odd = words[i + 1]!;
    high = Math.imul(high ^ even, MULTIPLIER_HIGH);
    high ^= high >>> 15;
    low = Math.imul(low ^ even, MULTIPLIER_LOW);
    low ^= low >>> 17;
    highOdd = Math.imul(highOdd ^ odd, MULTIPLIER_HIGH);
    highOdd ^= highOdd >>> 15;
    lowOdd = Math.imul(lowOdd ^ odd, MULTIPLIER_LOW);
    lowOdd ^= lowOdd >>> 17;
  }
  if (i < end) {
    const even = words[i]!;
    high = Math.imul(high ^ even, MULTIPLIER_HIGH);
    high ^= high >>> 15;
    low = Math.imul(low ^ even, MULTIPLIER_LOW);
    low ^= low >>> 17;
  }
  out[0] = fmix32(high ^ Math.imul(highOdd, JOIN_HIGH) ^ length);
  out[1] = fmix32(low ^ Math.imul(lowOdd, JOIN_LOW) ^ length);
  return out;
}

/** The hash of a text into `out`. */
function hashInto(text: string, out: Uint32Array): Uint32Array {
  const scratch = scratchFor(text.length);
  return hashWords(scratch, writeUnits(scratch, text, 0), out);
}

/** The 64-bit hash of a string, as [high, low]. */
export function hash64(text: string): [number, number] {
  const out = hashInto(text, hashOut);
  return [out[0]!, out[1]!];
}

/**
 * What each UTF-16 code unit does in `duplicateKey`, decided once per unit: the low 16 bits are the unit as
 * the key has it (ASCII capitals lowered), the bits above say what else it is. A character is KEPT when NFKC
 * and lower case leave it alone and nothing composes with it (not a mark, not a Hangul jamo: those combine
 * with what precedes them); a text of KEPT characters and ASCII white space is its own NFKC form and lower
 * case, so its key is itself with capitals lowered and white space collapsed.
 */
const UNIT = 0xffff;
/** Not ASCII and not KEPT (or not white space that stays): the key must be built. */
const CHANGES = 1 << 16;
/** An ASCII control character, \t to \r among them: white space to collapse, or (the others) a rare slower path. */
const CONTROL = 1 << 17;
/** Not decided yet: decided for the text's units, then the text is read again. */
const UNDECIDED = 1 << 18;
/** Half of a surrogate pair: the pair's character is decided apart. */
const SURROGATE = 1 << 19;
/** The space; its bit is the top one, so that `entry >>> 20` is 1 for a space and 0 for the rest. */
const SPACE = 1 << 20;
/** Two spaces side by side (from the pairs of SPACE bits, in the loop). */
const SPACES = 1 << 21;

// Filled natively where it can be (a loop over every unit would cost each scan tens of milliseconds to
// start): an undecided entry needs no unit, since its text is hashed again once decided.
const unitEntries = new Uint32Array(0x10000).fill(UNDECIDED, 0x80);
for (let unit = 0; unit < 0x80; unit++) {
  if (unit === 0x20) unitEntries[unit] = unit | SPACE;
  else if (unit < 0x20) unitEntries[unit] = unit | CONTROL;
  else if (unit >= 0x41 && unit <= 0x5a) unitEntries[unit] = unit + 0x20;
  else unitEntries[unit] = unit;
}
for (let unit = 0xd800; unit <= 0xdfff; unit++) unitEntries[unit] = unit | SURROGATE;
/** Characters beyond U+FFFF by high surrogate, then low: 0 not decided yet, 1 KEPT, 2 not (an array: a pair costs two indexings). */
const astralKinds: (Uint8Array | undefined)[] = [];

function isKept(character: string): boolean {
  if (/\s/.test(character)) return false;
  if (character.normalize('NFKC') !== character || character.toLowerCase() !== character) return false;
  return !/\p{M}|[\u1100-\u11ff\u3130-\u318f\ua960-\ua97f\ud7b0-\ud7ff]/u.test(character);
}

/** Decides the text's undecided units. */
function decideUnits(units: Uint16Array, length: number): void {
  for (let i = 0; i < length; i++) {
    const unit = units[i]!;
    if (unitEntries[unit]! & UNDECIDED) unitEntries[unit] = unit | (isKept(String.fromCharCode(unit)) ? 0 : CHANGES);
  }
}

/** Bits 15 and 31 as `&` gives them: a signed 32-bit integer. */
const BOTH_TOP_BITS = 0x80008000 | 0;

/** True when every surrogate in the text pairs up into a KEPT character (a lone one is left to duplicateKey). */
function surrogatesKept(scratch: Scratch, length: number): boolean {
  const { units, words } = scratch;
  const wholeWords = length >> 1;
  for (let i = 0; i < length; i++) {
    // Words without a surrogate are skipped: `t` has a zero half exactly where a unit is one (0xd800–0xdfff),
    // and `(t & 0x7fff) + 0x7fff | t` has bit 15 set exactly where a half is not zero.
    if ((i & 1) === 0) {
      let word = i >> 1;
      for (; word < wholeWords; word++) {
        const t = (words[word]! & 0xf800f800) ^ 0xd800d800;
        if (((((t & 0x7fff7fff) + 0x7fff7fff) | t) & 0x80008000) !== BOTH_TOP_BITS) break;
      }
      i = word << 1;
      if (i >= length) break;
    }
    const unit = units[i]!;
    if (unit < 0xd800 || unit > 0xdfff) continue;
    const next = i + 1 < length ? units[i + 1]! : 0;
    if (unit > 0xdbff || next < 0xdc00 || next > 0xdfff) return false;
    const block = (astralKinds[unit - 0xd800] ??= new Uint8Array(0x400));
    let kind = block[next - 0xdc00]!;
    if (kind === 0) block[next - 0xdc00] = kind = isKept(String.fromCharCode(unit, next)) ? 1 : 2;
    if (kind !== 1) return false;
    i++;
  }
  return true;
}

/** The fast path composes words from units as the little-endian memory `hashWords` reads does. */
const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/**
 * `hashWords` of the key's units, as the units' entries give them (ASCII capitals lowered), four units at a
 * time; returns the entries' bits above the unit, or'ed, with SPACES where two spaces stand side by side.
 * `out` holds the hash only when nothing but SPACE came back. The four lanes' mixing is written out here as in
 * `hashWords` rather than shared through a function, since this loop runs over every code unit of every input
 * (the scan's hottest); the two must give the same hash, which scanHotPath.test.ts checks.
 */
function hashKeyUnits(scratch: Scratch, length: number, out: Uint32Array): number {
  const units = scratch.units;
  units[length] = PAD;
  units[length + 1] = PAD;
  units[length + 2] = PAD;
  let high = SEED_HIGH;
  let low = SEED_LOW;
  let highOdd = SEED_HIGH_ODD;
  let lowOdd = SEED_LOW_ODD;
  let flags = 0;
  let previousSpace = 0;
  // Whole groups of four units; then the last one to three, padded, whose second word hashWords only mixes
  // when the text reaches into it.
  const whole = length & ~3;
  for (let i = 0; i <= whole; i += 4) {
    const a = unitEntries[units[i]!]!;
    const b = unitEntries[units[i + 1]!]!;
    const c = unitEntries[units[i + 2]!]!;
    const d = unitEntries[units[i + 3]!]!;
    const spaceA = a >>> 20;
    const spaceB = b >>> 20;
    const spaceC = c >>> 20;
    const spaceD = d >>> 20;
    flags |= a | b | c | d | (((previousSpace & spaceA) | (spaceA & spaceB) | (spaceB & spaceC) | (spaceC & spaceD)) << 21);
    previousSpace = spaceD;
    if (i === whole) {
      if (i === length) break;
      const even = (a & UNIT) | (b << 16);
      high = Math.imul(high ^ even, MULTIPLIER_HIGH);
      high ^= high >>> 15;
      low = Math.imul(low ^ even, MULTIPLIER_LOW);
      low ^= low >>> 17;
      if (length - i > 2) {
        const odd = (c & UNIT) | (d << 16);
        highOdd = Math.imul(highOdd ^ odd, MULTIPLIER_HIGH);
        highOdd ^= highOdd >>> 15;
        lowOdd = Math.imul(lowOdd ^ odd, MULTIPLIER_LOW);
        lowOdd ^= lowOdd >>> 17;
      }
      break;
    }
    const even = (a & UNIT) | (b << 16);
    const odd = (c & UNIT) | (d << 16);
    high = Math.imul(high ^ even, MULTIPLIER_HIGH);
    high ^= high >>> 15;
    low = Math.imul(low ^ even, MULTIPLIER_LOW);
    low ^= low >>> 17;
    highOdd = Math.imul(highOdd ^ odd, MULTIPLIER_HIGH);
    highOdd ^= highOdd >>> 15;
    lowOdd = Math.imul(lowOdd ^ odd, MULTIPLIER_LOW);
    lowOdd ^= lowOdd >>> 17;
  }
  out[0] = fmix32(high ^ Math.imul(highOdd, JOIN_HIGH) ^ length);
  out[1] = fmix32(low ^ Math.imul(lowOdd, JOIN_LOW) ^ length);
  return flags & ~UNIT;
}

const keyHash = new Uint32Array(2);

/**
 * `hash64(duplicateKey(context ? `${input}\n${context}` : input))`, without building the key where it need
 * not be built: the text is copied to the scratch (an input and its context one after the other with a
 * space between) and hashed through the units' entries, which lower ASCII capitals and say whether any
 * character could be changed by NFKC or lower-casing, or the white space collapsed. Only text holding such a
 * character builds the key; text with uncollapsed white space only collapses it (natively). Returns `keyHash`
 * ([high, low]), overwritten by the next call.
 */
export function duplicateKeyHash(input: string, context = ''): Uint32Array {
  return (fastPathAgrees && fastKeyHash(input, context)) || hashInto(duplicateKey(context ? `${input}\n${context}` : input), keyHash);
}

/** The key's hash by the fast path, or undefined where the key must be built. */
function fastKeyHash(input: string, context: string): Uint32Array | undefined {
  const length = context ? input.length + 1 + context.length : input.length;
  if (length > SCRATCH_UNITS || !LITTLE_ENDIAN) return undefined;
  const scratch = scratchFor(length);
  writeUnits(scratch, input, 0);
  if (context) {
    scratch.units[input.length] = 0x20;
    writeUnits(scratch, context, input.length + 1);
  }
  let flags = hashKeyUnits(scratch, length, keyHash);
  if (flags & UNDECIDED) {
    decideUnits(scratch.units, length);
    flags = hashKeyUnits(scratch, length, keyHash);
  }
  if (flags & (CHANGES | SURROGATE) && (flags & CHANGES || !surrogatesKept(scratch, length))) return undefined;
  const units = scratch.units;
  if (!(flags & (CONTROL | SPACES)) && units[0] !== 0x20 && units[length - 1] !== 0x20) return keyHash;
  // Only ASCII white space is left (the rest is not KEPT), so collapsing it natively is duplicateKey's own step.
  const collapsed = (context ? `${input}\n${context}` : input).replace(/\s+/g, ' ').trim();
  hashKeyUnits(scratch, writeUnits(scratch, collapsed, 0), keyHash);
  return keyHash;
}

/**
 * The fast path assumes `duplicateKey` is NFKC, lower case and collapsed white space. Should that definition
 * change (say, to drop punctuation), these probes disagree and every text takes the slow path: slower, right.
 */
let fastPathAgrees = false;
fastPathAgrees = ['Hello,  World!', ' a\tB-c\n', 'Café 数据', 'Mixed CASE 🙂', 'AB  C'].every((probe) => {
  const [high, low] = hash64(duplicateKey(probe));
  const fast = fastKeyHash(probe, '');
  return fast !== undefined && fast[0] === high && fast[1] === low;
});

/**
 * A 32-bit hash of a reference, which the tracker only compares with the first reference of the same input
 * (a different one is a conflict; two that differ hash alike with odds of 1 in 4 billion, and the conflict
 * would go uncounted). References are most of a long record, so they are hashed as UTF-8, four bytes a
 * word where ASCII text is, by one lane kept four times (by word position modulo 4). A text with a lone
 * surrogate, which UTF-8 writes as U+FFFD like a real one, is hashed by its UTF-16 code units instead.
 */
export function hash32(text: string): number {
  const scratch = scratchFor(text.length);
  const length = scratch.bytes.write(text, 0, 'utf8');
  // ASCII text (one byte a unit) cannot hold a surrogate.
  if (length !== text.length && !(text as string & { isWellFormed(): boolean }).isWellFormed()) {
    return hashInto(text, hashOut)[1]!;
  }
  const { bytes, words } = scratch;
  bytes[length] = PAD;
  bytes[length + 1] = PAD;
  bytes[length + 2] = PAD;
  const end = (length + 3) >> 2;
  // Four accumulators, one for each word position modulo 4, so that four multiplications run side by side.
  let first = SEED_LOW_UTF8;
  let second = SEED_LOW_ODD;
  let third = SEED_HIGH;
  let fourth = SEED_HIGH_ODD;
  let i = 0;
  for (; i + 3 < end; i += 4) {
    first = Math.imul(first ^ words[i]!, MULTIPLIER_LOW);
    first ^= first >>> 17;
    second = Math.imul(second ^ words[i + 1]!, MULTIPLIER_LOW);
    second ^= second >>> 17;
    third = Math.imul(third ^ words[i + 2]!, MULTIPLIER_LOW);
    third ^= third >>> 17;
    fourth = Math.imul(fourth ^ words[i + 3]!, MULTIPLIER_LOW);
    fourth ^= fourth >>> 17;
  }
  for (; i < end; i++) {
    first = Math.imul(first ^ words[i]!, MULTIPLIER_LOW);
    first ^= first >>> 17;
  }
  return fmix32(first ^ Math.imul(second, JOIN_LOW) ^ Math.imul(third, JOIN_HIGH) ^ Math.imul(fourth, MULTIPLIER_HIGH) ^ length);
}

/** `hash32(text.trim())`. */
export function trimmedHash32(text: string): number {
  return hash32(text.trim());
}

const EMPTY = 0;
const SEEN = 1;
const CONFLICTING = 2;
/** A slot's four 32-bit fields, side by side so that a probe touches one cache line. */
const HIGH = 0;
const LOW = 1;
const REFERENCE = 2;
const STATE = 3;
const SLOT = 4;

/**
 * Counts inputs seen before, and inputs that come with more than one distinct reference.
 * An open-addressing table in one typed array (16 bytes a slot: the key's hash, the reference's, a state)
 * rather than a Map of strings or boxed numbers: a 1 GB file of two and a half million records costs 64 MB
 * here instead of several hundred.
 */
/** The most slots `reserve` makes on an estimate (64 MB); more inputs than those fit grow the table as they come. */
const MAX_RESERVED_SLOTS = 1 << 22;

export class DuplicateTracker {
  private capacity = 1 << 12;
  private slots = new Uint32Array(this.capacity * SLOT);
  private size = 0;
  private conflicts = 0;
  duplicates = 0;

  /** An input (with its context, joined as `${input}\n${context}`: see duplicateKeyHash) and its reference. */
  add(input: string, reference: string, context = ''): void {
    const key = duplicateKeyHash(input, context);
    const high = key[0]!;
    const low = key[1]!;
    const referenceHash = trimmedHash32(reference);
    const slots = this.slots;
    const at = this.find(high, low);
    if (slots[at + STATE] === EMPTY) {
      slots[at + HIGH] = high;
      slots[at + LOW] = low;
      slots[at + REFERENCE] = referenceHash;
      slots[at + STATE] = SEEN;
      if (++this.size > this.capacity * 0.7) this.grow();
      return;
    }
    this.duplicates++;
    if (slots[at + STATE] === SEEN && slots[at + REFERENCE] !== referenceHash) {
      slots[at + STATE] = CONFLICTING;
      this.conflicts++;
    }
  }

  /** Makes room for about `inputs` distinct inputs at once, instead of doubling the table (and rehashing) on the way. */
  reserve(inputs: number): void {
    const capacity = Math.min(MAX_RESERVED_SLOTS, 2 ** Math.ceil(Math.log2(Math.max(1, inputs) / 0.7)));
    if (capacity > this.capacity) this.grow(capacity);
  }

  get distinctInputs(): number {
    return this.size;
  }

  get conflictingInputs(): number {
    return this.conflicts;
  }

  /** The index of the slot holding this key, or of the empty slot where it would go (linear probing). */
  private find(high: number, low: number): number {
    const slots = this.slots;
    const mask = this.capacity - 1;
    let slot = (low ^ Math.imul(high, 0x9e3779b1)) & mask;
    for (;;) {
      const at = slot * SLOT;
      if (slots[at + STATE] === EMPTY || (slots[at + HIGH] === high && slots[at + LOW] === low)) return at;
      slot = (slot + 1) & mask;
    }
  }

  private grow(capacity = 2 * this.capacity): void {
    const old = this.slots;
    this.capacity = capacity;
    const slots = (this.slots = new Uint32Array(this.capacity * SLOT));
    for (let from = 0; from < old.length; from += SLOT) {
      if (old[from + STATE] === EMPTY) continue;
      const at = this.find(old[from + HIGH]!, old[from + LOW]!);
      for (let field = 0; field < SLOT; field++) slots[at + field] = old[from + field]!;
    }
  }
}
