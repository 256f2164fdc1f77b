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
 * A 64-bit hash of a string as two 32-bit lanes with different multipliers and seeds, fed two UTF-16 code
 * units at a time (half the multiplications of a hash per code unit, and the lanes run side by side), each
 * lane mixed by a shift as it goes and finished by MurmurHash3's fmix32. Two million inputs collide with
 * odds of about 1 in 10^7. Returns [high, low] in `hashOut`, overwritten by the next call.
 */
const hashOut = new Uint32Array(2);
const SEED_HIGH = 0x9e3779b9 | 0;
const SEED_LOW = 0x811c9dc5 | 0;
const MULTIPLIER_HIGH = 0x5bd1e995;
const MULTIPLIER_LOW = 0xcc9e2d51;

function fmix32(h: number): number {
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/** The hash of `text.slice(start, end)`, without the slice. */
function hashRange(text: string, start: number, end: number): Uint32Array {
  let high = SEED_HIGH;
  let low = SEED_LOW;
  const pairsEnd = start + ((end - start) & ~1);
  for (let i = start; i < pairsEnd; i += 2) {
    const word = text.charCodeAt(i) | (text.charCodeAt(i + 1) << 16);
    high = Math.imul(high ^ word, MULTIPLIER_HIGH);
    high ^= high >>> 15;
    low = Math.imul(low ^ word, MULTIPLIER_LOW);
    low ^= low >>> 17;
  }
  if (pairsEnd < end) {
    const word = text.charCodeAt(pairsEnd);
    high = Math.imul(high ^ word, MULTIPLIER_HIGH);
    low = Math.imul(low ^ word, MULTIPLIER_LOW);
  }
  hashOut[0] = fmix32(high ^ (end - start));
  hashOut[1] = fmix32(low ^ (end - start));
  return hashOut;
}

/** The 64-bit hash of a string, as [high, low]. */
export function hash64(text: string): [number, number] {
  const out = hashRange(text, 0, text.length);
  return [out[0]!, out[1]!];
}

/** What a code unit (or astral code point) does in `duplicateKey`, once known: */
const UNKNOWN = 0;
/** it stays as it is (NFKC and lower case leave it, it composes with nothing); */
const KEPT = 1;
/** it is white space (collapsed, trimmed); */
const SPACE = 2;
/** it may change, or change its neighbours: the string takes the slow path. */
const CHANGES = 3;
const codeUnitKinds = new Uint8Array(0x10000);
const astralKinds = new Map<number, number>();

/**
 * Decided per character once: KEPT when NFKC and lower case leave it alone and nothing composes with it
 * (not a mark, not a Hangul jamo: those combine with what precedes them). A string of KEPT and SPACE
 * characters is its own NFKC form and lower case, so its key is itself with white space collapsed.
 */
function kindOf(character: string): number {
  if (/^\s$/.test(character)) return SPACE;
  if (character.normalize('NFKC') !== character || character.toLowerCase() !== character) return CHANGES;
  if (/\p{M}|[\u1100-\u11ff\u3130-\u318f\ua960-\ua97f\ud7b0-\ud7ff]/u.test(character)) return CHANGES;
  return KEPT;
}

const keyHash = new Uint32Array(2);

/**
 * `hash64(duplicateKey(text))`, without building the key where it need not be built: in one pass over the
 * text, ASCII capitals lowered and white space collapsed and trimmed on the fly; only a text holding a
 * character that NFKC or lower-casing could change (by the table above) goes through `duplicateKey`.
 * Returns `keyHash` ([high, low]), overwritten by the next call.
 */
export function duplicateKeyHash(text: string): Uint32Array {
  return fastPathAgrees ? fastKeyHash(text) : slowKeyHash(text);
}

function fastKeyHash(text: string): Uint32Array {
  let high = SEED_HIGH;
  let low = SEED_LOW;
  let length = 0; // code units of the key so far
  let half = -1; // a code unit waiting for its pair (the hash takes two at a time, as hashRange does)
  let pendingSpace = false;
  for (let i = 0; i < text.length; i++) {
    let code = text.charCodeAt(i);
    let kind: number;
    let second = -1;
    if (code < 0x80) {
      if (code === 32 || (code >= 9 && code <= 13)) kind = SPACE;
      else {
        kind = KEPT;
        if (code >= 65 && code <= 90) code += 32;
      }
    } else if (code >= 0xd800 && code <= 0xdbff && i + 1 < text.length) {
      const point = text.codePointAt(i)!;
      if (point > 0xffff) {
        second = text.charCodeAt(i + 1);
        kind = astralKinds.get(point) ?? UNKNOWN;
        if (kind === UNKNOWN) astralKinds.set(point, (kind = kindOf(String.fromCodePoint(point))));
      } else kind = CHANGES; // a lone surrogate
    } else {
      kind = codeUnitKinds[code]!;
      if (kind === UNKNOWN) codeUnitKinds[code] = kind = kindOf(String.fromCharCode(code));
    }
    if (kind === SPACE) {
      pendingSpace = length > 0;
      continue;
    }
    if (kind === CHANGES) return slowKeyHash(text);
    if (pendingSpace) {
      pendingSpace = false;
      length++;
      if (half < 0) half = 32;
      else {
        const word = half | (32 << 16);
        half = -1;
        high = Math.imul(high ^ word, MULTIPLIER_HIGH);
        high ^= high >>> 15;
        low = Math.imul(low ^ word, MULTIPLIER_LOW);
        low ^= low >>> 17;
      }
    }
    length++;
    if (half < 0) half = code;
    else {
      const word = half | (code << 16);
      half = -1;
      high = Math.imul(high ^ word, MULTIPLIER_HIGH);
      high ^= high >>> 15;
      low = Math.imul(low ^ word, MULTIPLIER_LOW);
      low ^= low >>> 17;
    }
    if (second >= 0) {
      i++;
      length++;
      if (half < 0) half = second;
      else {
        const word = half | (second << 16);
        half = -1;
        high = Math.imul(high ^ word, MULTIPLIER_HIGH);
        high ^= high >>> 15;
        low = Math.imul(low ^ word, MULTIPLIER_LOW);
        low ^= low >>> 17;
      }
    }
  }
  if (half >= 0) {
    high = Math.imul(high ^ half, MULTIPLIER_HIGH);
    low = Math.imul(low ^ half, MULTIPLIER_LOW);
  }
  keyHash[0] = fmix32(high ^ length);
  keyHash[1] = fmix32(low ^ length);
  return keyHash;
}

/**
 * The fast path assumes `duplicateKey` is NFKC, lower case and collapsed white space. Should that definition
 * change (say, to drop punctuation), these probes disagree and every text takes the slow path: slower, right.
 */
let fastPathAgrees = false;
fastPathAgrees = ['Hello,  World!', ' a\tB-c\n', 'Café 数据'].every((probe) => {
  const [high, low] = hash64(duplicateKey(probe));
  const fast = fastKeyHash(probe);
  return fast[0] === high && fast[1] === low;
});

function slowKeyHash(text: string): Uint32Array {
  const key = duplicateKey(text);
  return hashRange(key, 0, key.length);
}

/** The low half of `hash64(text.trim())`, without trim's copy. */
export function trimmedHash32(text: string): number {
  let start = 0;
  let end = text.length;
  while (start < end && isTrimmed(text.charCodeAt(start))) start++;
  while (end > start && isTrimmed(text.charCodeAt(end - 1))) end--;
  return hashRange(text, start, end)[1]!;
}

/** What `String.prototype.trim` removes: ASCII white space fast, the rest by the same regular expression. */
function isTrimmed(code: number): boolean {
  if (code < 0x80) return code === 32 || (code >= 9 && code <= 13);
  return code === 0xfeff || /\s/.test(String.fromCharCode(code));
}

const EMPTY = 0;
const SEEN = 1;
const CONFLICTING = 2;

/**
 * Counts inputs seen before, and inputs that come with more than one distinct reference.
 * An open-addressing table in typed arrays (13 bytes a slot) rather than a Map of strings or boxed numbers:
 * a 1 GB file of two million records costs about 55 MB here instead of several hundred.
 */
export class DuplicateTracker {
  private capacity = 1 << 12;
  private high = new Uint32Array(this.capacity);
  private low = new Uint32Array(this.capacity);
  private reference = new Uint32Array(this.capacity);
  private state = new Uint8Array(this.capacity);
  private size = 0;
  private conflicts = 0;
  duplicates = 0;

  add(input: string, reference: string): void {
    const key = duplicateKeyHash(input);
    const high = key[0]!;
    const low = key[1]!;
    const referenceHash = trimmedHash32(reference);
    const slot = this.find(high, low);
    if (this.state[slot] === EMPTY) {
      this.high[slot] = high;
      this.low[slot] = low;
      this.reference[slot] = referenceHash;
      this.state[slot] = SEEN;
      if (++this.size > this.capacity * 0.7) this.grow();
      return;
    }
    this.duplicates++;
    if (this.state[slot] === SEEN && this.reference[slot] !== referenceHash) {
      this.state[slot] = CONFLICTING;
      this.conflicts++;
    }
  }

  get distinctInputs(): number {
    return this.size;
  }

  get conflictingInputs(): number {
    return this.conflicts;
  }

  /** The slot holding this key, or the empty slot where it would go (linear probing). */
  private find(high: number, low: number): number {
    const mask = this.capacity - 1;
    let slot = (low ^ Math.imul(high, 0x9e3779b1)) & mask;
    while (this.state[slot] !== EMPTY && (this.high[slot] !== high || this.low[slot] !== low)) slot = (slot + 1) & mask;
    return slot;
  }

  private grow(): void {
    const { high, low, reference, state } = this;
    this.capacity *= 2;
    this.high = new Uint32Array(this.capacity);
    this.low = new Uint32Array(this.capacity);
    this.reference = new Uint32Array(this.capacity);
    this.state = new Uint8Array(this.capacity);
    for (let old = 0; old < state.length; old++) {
      if (state[old] === EMPTY) continue;
      const slot = this.find(high[old]!, low[old]!);
      this.high[slot] = high[old]!;
      this.low[slot] = low[old]!;
      this.reference[slot] = reference[old]!;
      this.state[slot] = state[old]!;
    }
  }
}
