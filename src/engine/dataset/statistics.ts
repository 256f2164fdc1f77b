/**
 * Running statistics over a dataset, in memory bounded for any file size: counts and means are exact,
 * percentiles come from a reservoir sample; duplicate inputs are defined here (duplicateKey) and tracked by
 * hashes in duplicates.ts.
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
