/**
 * Running statistics over a dataset, in memory bounded for any file size: counts and means are exact,
 * percentiles come from a reservoir sample, and duplicate inputs are tracked by 52-bit hashes, not strings.
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

/** Two independent 32-bit FNV-1a hashes of a string: 64 bits, so two million inputs collide with odds of 1 in 10^7. */
export function hash64(text: string): [number, number] {
  let low = 0x811c9dc5;
  let high = 0x050c5d1f;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    low = Math.imul(low ^ code, 0x01000193) >>> 0;
    high = Math.imul(high ^ code ^ (low >>> 24), 0x01000193) >>> 0;
  }
  return [high >>> 0, low >>> 0];
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
    const [high, low] = hash64(duplicateKey(input));
    const referenceHash = hash64(reference.trim())[1];
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
