/**
 * Statistics for the comparison report: intervals around mean scores, paired tests between the prompted
 * base model and the reference, and perplexity. All resampling draws from the seeded generator in
 * ../random, so a report is reproducible from its seed.
 */
import { seededRandom } from '../random';

export interface Interval {
  low: number;
  high: number;
}

export interface BootstrapOptions {
  /** Two-sided coverage of the interval, in (0, 1); 0.95 unless given. */
  confidence?: number;
  /** Number of bootstrap resamples; 1000 unless given. */
  resamples?: number;
  seed: number;
}

/** Same knobs as the one-sample bootstrap: confidence (0.95), resamples (1000), seed. */
export type PairedBootstrapOptions = BootstrapOptions;

export interface McNemarResult {
  /** Pairs where only `a` is true. */
  onlyA: number;
  /** Pairs where only `b` is true. */
  onlyB: number;
  /** Exact two-sided binomial p-value on the discordant pairs; 1 when there are none. */
  pValue: number;
}

export interface OneSidedMcNemarResult {
  /** Pairs that agree only before (at the smaller k) and only after (at the larger k). */
  onlyBefore: number;
  onlyAfter: number;
  /** Exact one-sided p-value for "after is better": P(X ≥ onlyAfter) for X ~ Binomial(onlyBefore + onlyAfter, ½); 1 with no discordant pair. */
  pValue: number;
}

export interface PairedBootstrapResult {
  /** Observed mean of b[i] − a[i]. */
  meanDifference: number;
  low: number;
  high: number;
  /** 2 × (share of resampled mean differences whose sign is not the observed one), capped at 1. */
  pValue: number;
}

/** Arithmetic mean Σ values / n; NaN for an empty list. */
export function mean(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  let sum = 0;
  for (const value of values) sum += value;
  return sum / values.length;
}

/**
 * Percentile bootstrap interval of the mean: `resamples` means of n values drawn with replacement, and their
 * (1−c)/2 and (1+c)/2 quantiles (linear interpolation between order statistics, numpy's default); n = 0 → NaN, NaN.
 */
export function bootstrapInterval(values: readonly number[], options: BootstrapOptions): Interval {
  const confidence = checkConfidence(options.confidence ?? 0.95);
  const resamples = checkResamples(options.resamples ?? 1000);
  requireFinite(values, 'bootstrapInterval');
  if (values.length === 0) return { low: Number.NaN, high: Number.NaN };
  const means = resampledMeans(Float64Array.from(values), resamples, options.seed);
  return percentileInterval(means, confidence);
}

/** Hoeffding half-width sqrt(ln(2/δ) / (2n)) for the mean of n values in [0, 1]; Infinity when n = 0. */
export function hoeffdingHalfWidth(n: number, delta: number): number {
  if (!Number.isFinite(n) || n < 0) throw new RangeError(`hoeffdingHalfWidth: n must be a non-negative number, got ${n}.`);
  if (!(delta > 0 && delta < 1)) throw new RangeError(`hoeffdingHalfWidth: delta must be in (0, 1), got ${delta}.`);
  if (n === 0) return Number.POSITIVE_INFINITY;
  return Math.sqrt(Math.log(2 / delta) / (2 * n));
}

/**
 * Wilson score interval for a proportion: with p̂ = s/n and z the normal (1+c)/2 quantile,
 * (p̂ + z²/2n ± z·sqrt(p̂(1−p̂)/n + z²/4n²)) / (1 + z²/n), clamped to [0, 1]; n = 0 → NaN, NaN.
 */
export function wilsonInterval(successes: number, n: number, confidence = 0.95): Interval {
  if (!Number.isInteger(n) || n < 0) throw new RangeError(`wilsonInterval: n must be a non-negative integer, got ${n}.`);
  if (!Number.isInteger(successes) || successes < 0 || successes > n) {
    throw new RangeError(`wilsonInterval: successes must be an integer from 0 to n = ${n}, got ${successes}.`);
  }
  checkConfidence(confidence);
  if (n === 0) return { low: Number.NaN, high: Number.NaN };
  const z = normalQuantile((1 + confidence) / 2);
  const z2 = z * z;
  const p = successes / n;
  const denominator = 1 + z2 / n;
  const center = (p + z2 / (2 * n)) / denominator;
  const halfWidth = (z / denominator) * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n));
  // At s = 0 and s = n the bound is exactly 0 or 1; rounding would otherwise leave a 1e-17 residue.
  const low = successes === 0 ? 0 : Math.max(0, center - halfWidth);
  const high = successes === n ? 1 : Math.min(1, center + halfWidth);
  return { low, high };
}

/**
 * Exact McNemar test: with d = onlyA + onlyB discordant pairs and k = min(onlyA, onlyB),
 * p = min(1, 2·P(X ≤ k)) for X ~ Binomial(d, ½); exact products up to d = 1000, log space beyond (≈1e-11 relative at 10^5).
 */
export function mcnemar(a: readonly boolean[], b: readonly boolean[]): McNemarResult {
  requireSameLength(a, b, 'mcnemar');
  let onlyA = 0;
  let onlyB = 0;
  for (let i = 0; i < a.length; i++) {
    if (a[i] && !b[i]) onlyA++;
    else if (!a[i] && b[i]) onlyB++;
  }
  const discordant = onlyA + onlyB;
  if (discordant === 0) return { onlyA, onlyB, pValue: 1 };
  const pValue = Math.min(1, 2 * binomialHalfLowerTail(Math.min(onlyA, onlyB), discordant));
  return { onlyA, onlyB, pValue };
}

/**
 * Paired bootstrap of d[i] = b[i] − a[i] (indices resampled jointly): meanDifference = mean(d); low/high are the
 * percentile interval of resampled means; pValue = min(1, 2·share of resampled means that are ≤ 0 when
 * mean(d) > 0, ≥ 0 when mean(d) < 0), and 1 when mean(d) = 0. n = 0 → all NaN.
 */
export function pairedBootstrap(
  a: readonly number[],
  b: readonly number[],
  options: PairedBootstrapOptions,
): PairedBootstrapResult {
  requireSameLength(a, b, 'pairedBootstrap');
  requireFinite(a, 'pairedBootstrap');
  requireFinite(b, 'pairedBootstrap');
  const confidence = checkConfidence(options.confidence ?? 0.95);
  const resamples = checkResamples(options.resamples ?? 1000);
  if (a.length === 0) return { meanDifference: Number.NaN, low: Number.NaN, high: Number.NaN, pValue: Number.NaN };

  const differences = new Float64Array(a.length);
  for (let i = 0; i < a.length; i++) differences[i] = (b[i] ?? 0) - (a[i] ?? 0);
  const meanDifference = mean(Array.from(differences));
  const means = resampledMeans(differences, resamples, options.seed);
  const { low, high } = percentileInterval(means, confidence);

  let pValue = 1;
  if (meanDifference !== 0) {
    let opposite = 0;
    for (const value of means) if (meanDifference > 0 ? value <= 0 : value >= 0) opposite++;
    pValue = Math.min(1, (2 * opposite) / resamples);
  }
  return { meanDifference, low, high, pValue };
}

const RESCALE = 2 ** 800;

/**
 * P(X ≤ x) for X ~ Binomial(n, p): the terms by the ratio recurrence from (1 − p)^n, summed relative to the first
 * with the scale kept as a logarithm, so nothing underflows for large n; x < 0 → 0, x ≥ n → 1.
 */
export function binomialCdf(x: number, n: number, p: number): number {
  if (!Number.isInteger(n) || n < 0) throw new RangeError(`binomialCdf: n must be a non-negative integer, got ${n}.`);
  if (!(p >= 0 && p <= 1)) throw new RangeError(`binomialCdf: p must be in [0, 1], got ${p}.`);
  if (!Number.isInteger(x)) throw new RangeError(`binomialCdf: x must be an integer, got ${x}.`);
  if (x < 0) return 0;
  if (x >= n) return 1;
  if (p === 0) return 1;
  if (p === 1) return 0;
  const odds = p / (1 - p);
  // term_i / term_0 = C(n, i)·odds^i, divided by 2^800 (exactly, a power of two) whenever the sum grows past it.
  let term = 1;
  let sum = 1;
  let logScale = n * Math.log1p(-p);
  for (let i = 1; i <= x; i++) {
    term *= ((n - i + 1) / i) * odds;
    sum += term;
    if (sum > RESCALE) {
      term /= RESCALE;
      sum /= RESCALE;
      logScale += 800 * Math.LN2;
    }
  }
  return Math.min(1, Math.exp(logScale + Math.log(sum)));
}

/** P(X ≥ x) for X ~ Binomial(n, p), as P(n − X ≤ n − x) so a small upper tail keeps its precision. */
export function binomialUpperTail(x: number, n: number, p: number): number {
  return binomialCdf(n - x, n, 1 - p);
}

/**
 * One-sided Clopper–Pearson bounds for a proportion of `successes` out of `n`, at `confidence`:
 * upper = the p with P(X ≤ successes | p) = 1 − confidence (1 when successes = n), lower = the p with
 * P(X ≥ successes | p) = 1 − confidence (0 when successes = 0); found to about 1e-15. Dual to the exact
 * binomial test: upper ≤ p0 exactly when P(X ≤ successes | p0) ≤ 1 − confidence. n = 0 → 0 and 1.
 */
export function clopperPearsonBounds(successes: number, n: number, confidence: number): Interval {
  if (!Number.isInteger(n) || n < 0) throw new RangeError(`clopperPearsonBounds: n must be a non-negative integer, got ${n}.`);
  if (!Number.isInteger(successes) || successes < 0 || successes > n) {
    throw new RangeError(`clopperPearsonBounds: successes must be an integer from 0 to n = ${n}, got ${successes}.`);
  }
  checkConfidence(confidence);
  if (n === 0) return { low: 0, high: 1 };
  const alpha = 1 - confidence;
  // Brackets [0, 1] hold a sign change at any confidence: the cdf falls from 1 to 0 and the upper tail rises from 0 to 1.
  const high = successes === n ? 1 : findRoot((p) => binomialCdf(successes, n, p) - alpha, 0, 1);
  const low = successes === 0 ? 0 : findRoot((p) => binomialUpperTail(successes, n, p) - alpha, 0, 1);
  return { low, high };
}

/**
 * Holm's step-down adjustment: with the m p-values sorted ascending p(1) ≤ … ≤ p(m), adjusted p(j) =
 * max over i ≤ j of min(1, (m − i + 1)·p(i)); returned in the input order. Rejecting where the adjusted p ≤ α
 * keeps the family-wise error ≤ α under any dependence between the tests (Holm 1979).
 */
export function holmAdjust(pValues: readonly number[]): number[] {
  for (const p of pValues) if (!(p >= 0 && p <= 1)) throw new RangeError(`holmAdjust: p-values must be in [0, 1], got ${p}.`);
  const m = pValues.length;
  const order = pValues.map((p, index) => ({ p, index })).sort((a, b) => a.p - b.p || a.index - b.index);
  const adjusted = new Array<number>(m).fill(1);
  let running = 0;
  order.forEach(({ p, index }, rank) => {
    running = Math.max(running, Math.min(1, (m - rank) * p));
    adjusted[index] = running;
  });
  return adjusted;
}

/**
 * Exact one-sided McNemar test that `after` is true more often than `before` on the same items: with
 * onlyBefore and onlyAfter the discordant pairs, p = P(X ≥ onlyAfter) for X ~ Binomial(onlyBefore + onlyAfter, ½).
 */
export function mcnemarOneSided(before: readonly boolean[], after: readonly boolean[]): OneSidedMcNemarResult {
  requireSameLength(before, after, 'mcnemarOneSided');
  let onlyBefore = 0;
  let onlyAfter = 0;
  for (let i = 0; i < before.length; i++) {
    if (before[i] && !after[i]) onlyBefore++;
    else if (!before[i] && after[i]) onlyAfter++;
  }
  const discordant = onlyBefore + onlyAfter;
  const pValue = discordant === 0 ? 1 : binomialUpperTail(onlyAfter, discordant, 0.5);
  return { onlyBefore, onlyAfter, pValue };
}

/** Perplexity exp(−totalLogProb / tokenCount), with totalLogProb the sum of natural-log token probabilities. */
export function perplexity(totalLogProb: number, tokenCount: number): number {
  if (Number.isNaN(totalLogProb) || totalLogProb === Number.POSITIVE_INFINITY) {
    throw new RangeError(`perplexity: totalLogProb must be a number or -Infinity, got ${totalLogProb}.`);
  }
  if (!Number.isFinite(tokenCount) || tokenCount <= 0) {
    throw new RangeError(`perplexity: tokenCount must be positive, got ${tokenCount}.`);
  }
  return Math.exp(-totalLogProb / tokenCount);
}

/**
 * Standard normal quantile Φ⁻¹(p) by Wichura's algorithm AS 241 (PPND16), accurate to about 1e-16;
 * ±Infinity at p = 0 or 1.
 */
export function normalQuantile(p: number): number {
  if (!(p >= 0 && p <= 1)) throw new RangeError(`normalQuantile: p must be in [0, 1], got ${p}.`);
  if (p === 0) return Number.NEGATIVE_INFINITY;
  if (p === 1) return Number.POSITIVE_INFINITY;
  const q = p - 0.5;
  if (Math.abs(q) <= 0.425) {
    const r = 0.180625 - q * q;
    return (
      (q *
        (((((((2509.0809287301226727 * r + 33430.575583588128105) * r + 67265.770927008700853) * r +
          45921.953931549871457) * r + 13731.693765509461125) * r + 1971.5909503065514427) * r +
          133.14166789178437745) * r + 3.387132872796366608)) /
      (((((((5226.495278852545561 * r + 28729.085735721942674) * r + 39307.89580009271061) * r +
        21213.794301586595867) * r + 5394.1960214247511077) * r + 687.1870074920579083) * r +
        42.313330701600911252) * r + 1)
    );
  }
  let r = Math.sqrt(-Math.log(q < 0 ? p : 1 - p));
  let value: number;
  if (r <= 5) {
    r -= 1.6;
    value =
      (((((((7.7454501427834140764e-4 * r + 0.0227238449892691845833) * r + 0.24178072517745061177) * r +
        1.27045825245236838258) * r + 3.64784832476320460504) * r + 5.7694972214606914055) * r +
        4.6303378461565452959) * r + 1.42343711074968357734) /
      (((((((1.05075007164441684324e-9 * r + 5.475938084995344946e-4) * r + 0.0151986665636164571966) * r +
        0.14810397642748007459) * r + 0.68976733498510000455) * r + 1.6763848301838038494) * r +
        2.05319162663775882187) * r + 1);
  } else {
    r -= 5;
    value =
      (((((((2.01033439929228813265e-7 * r + 2.71155556874348757815e-5) * r + 0.0012426609473880784386) * r +
        0.026532189526576123093) * r + 0.29656057182850489123) * r + 1.7848265399172913358) * r +
        5.4637849111641143699) * r + 6.6579046435011037772) /
      (((((((2.04426310338993978564e-15 * r + 1.4215117583164458887e-7) * r + 1.8463183175100546818e-5) * r +
        7.868691311456132591e-4) * r + 0.0148753612908506148525) * r + 0.13692988092273580531) * r +
        0.59983220655588793769) * r + 1);
  }
  return q < 0 ? -value : value;
}

function requireSameLength(a: readonly unknown[], b: readonly unknown[], name: string): void {
  if (a.length !== b.length) {
    throw new RangeError(`${name}: the two lists must be paired item by item, but have lengths ${a.length} and ${b.length}.`);
  }
}

// A NaN score would silently turn every mean and interval into NaN; failing here points at the cause.
function requireFinite(values: readonly number[], name: string): void {
  for (let i = 0; i < values.length; i++) {
    if (!Number.isFinite(values[i])) throw new RangeError(`${name}: value at index ${i} is not a finite number (${values[i]}).`);
  }
}

function checkConfidence(confidence: number): number {
  if (!(confidence > 0 && confidence < 1)) throw new RangeError(`confidence must be in (0, 1), got ${confidence}.`);
  return confidence;
}

function checkResamples(resamples: number): number {
  if (!Number.isInteger(resamples) || resamples < 1) {
    throw new RangeError(`resamples must be a positive integer, got ${resamples}.`);
  }
  return resamples;
}

// One stream per call, seeded by the caller: resample r draws its n indices in order, so results are reproducible.
function resampledMeans(values: Float64Array, resamples: number, seed: number): Float64Array {
  const random = seededRandom(seed);
  const n = values.length;
  const means = new Float64Array(resamples);
  for (let r = 0; r < resamples; r++) {
    let sum = 0;
    for (let i = 0; i < n; i++) sum += values[Math.floor(random() * n)] ?? 0;
    means[r] = sum / n;
  }
  return means;
}

function percentileInterval(samples: Float64Array, confidence: number): Interval {
  const sorted = Float64Array.from(samples).sort();
  const alpha = 1 - confidence;
  return { low: quantileSorted(sorted, alpha / 2), high: quantileSorted(sorted, 1 - alpha / 2) };
}

// Hyndman–Fan type 7: position h = (m − 1)·q, interpolated linearly between its neighbours.
function quantileSorted(sorted: Float64Array, q: number): number {
  const position = (sorted.length - 1) * q;
  const below = Math.floor(position);
  const above = Math.min(below + 1, sorted.length - 1);
  const lower = sorted[below] ?? Number.NaN;
  const upper = sorted[above] ?? Number.NaN;
  return lower + (upper - lower) * (position - below);
}

// P(X ≤ k) for X ~ Binomial(n, ½) with k ≤ n/2. Up to n = 1000, 2^−n is a normal double and the terms
// C(n, i)/2^n are built exactly by products, so small counts give exact dyadic p-values (11/512 for 1 vs 9).
// Beyond that the largest term C(n, k)/2^n is taken in log space and the smaller ones are summed as ratios to it,
// so nothing underflows.
function binomialHalfLowerTail(k: number, n: number): number {
  if (n <= 1000) {
    let term = 2 ** -n;
    let sum = term;
    for (let i = 1; i <= k; i++) {
      term = (term * (n - i + 1)) / i;
      sum += term;
    }
    return sum;
  }
  // Neumaier-compensated sum of k logarithms, so rounding does not grow with k.
  let logChoose = 0;
  let compensation = 0;
  for (let j = 1; j <= k; j++) {
    const term = Math.log((n - k + j) / j);
    const total = logChoose + term;
    compensation += Math.abs(logChoose) >= Math.abs(term) ? logChoose - total + term : term - total + logChoose;
    logChoose = total;
  }
  logChoose += compensation;
  let ratio = 1;
  let sum = 1;
  for (let i = k; i > 0; i--) {
    ratio *= i / (n - i + 1);
    sum += ratio;
    if (ratio < sum * 1e-17) break;
  }
  return Math.exp(logChoose - n * Math.LN2) * sum;
}

// The root of a monotone f with a sign change on [low, high], by the Illinois variant of regula falsi (superlinear,
// and the bracket always holds the root) to a bracket of 1e-15; the bounds are computed for every k of every run.
function findRoot(f: (p: number) => number, low: number, high: number): number {
  let a = low;
  let b = high;
  let fa = f(a);
  let fb = f(b);
  if (fa === 0) return a;
  if (fb === 0) return b;
  let side = 0;
  for (let i = 0; i < 200 && b - a > 1e-15; i++) {
    const c = (a * fb - b * fa) / (fb - fa);
    // Guard against a secant step that lands on an end (flat tails): bisect instead.
    const x = c > a && c < b ? c : (a + b) / 2;
    const fx = f(x);
    if (fx === 0) return x;
    if (Math.sign(fx) === Math.sign(fa)) {
      a = x;
      fa = fx;
      if (side === -1) fb /= 2;
      side = -1;
    } else {
      b = x;
      fb = fx;
      if (side === 1) fa /= 2;
      side = 1;
    }
  }
  return (a + b) / 2;
}
