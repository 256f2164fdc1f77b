/**
 * Per-item text metrics (prediction against one reference) and label metrics for classification
 * datasets. Every per-item score is in [0, 1]; the report multiplies by 100 where it shows percentages.
 */
import { normalizeLightly, normalizeText, wordTokens } from './text';

export type TextMetricId = 'exact_match' | 'token_f1' | 'rouge_l' | 'chrf' | 'bleu';

export interface TextMetric {
  id: TextMetricId;
  title: string;
  /** Score of one prediction against its reference, in [0, 1]. */
  score(prediction: string, reference: string): number;
}

export interface ChrFOptions {
  /** Largest character n-gram order; sacreBLEU's default is 6. */
  order?: number;
  /** Recall is weighted beta times as much as precision; sacreBLEU's default is 2. */
  beta?: number;
}

/**
 * 1 when `normalizeText(prediction) === normalizeText(reference)`, else 0. Where either side normalizes to ""
 * (a reference "A", "The" or "?"), `normalizeLightly` decides instead, so an empty output never matches them.
 */
export function exactMatch(prediction: string, reference: string): number {
  const strictPrediction = normalizeText(prediction);
  const strictReference = normalizeText(reference);
  if (strictPrediction === '' || strictReference === '') return normalizeLightly(prediction) === normalizeLightly(reference) ? 1 : 0;
  return strictPrediction === strictReference ? 1 : 0;
}

/**
 * SQuAD token F1 on `wordTokens`: overlap = Σ min(count in prediction, count in reference),
 * P = overlap/|prediction|, R = overlap/|reference|, F1 = 2PR/(P+R); both empty → 1, one empty → 0.
 */
export function tokenF1(prediction: string, reference: string): number {
  const predicted = wordTokens(prediction);
  const expected = wordTokens(reference);
  if (predicted.length === 0 || expected.length === 0) return predicted.length === expected.length ? 1 : 0;
  const overlap = overlapCount(countItems(predicted), countItems(expected));
  if (overlap === 0) return 0;
  const precision = overlap / predicted.length;
  const recall = overlap / expected.length;
  return (2 * precision * recall) / (precision + recall);
}

/**
 * ROUGE-L F-measure (beta = 1) on `wordTokens`: with L = longest common subsequence length,
 * P = L/|prediction|, R = L/|reference|, F = 2PR/(P+R); both empty → 1, one empty or L = 0 → 0.
 */
export function rougeL(prediction: string, reference: string): number {
  const predicted = wordTokens(prediction);
  const expected = wordTokens(reference);
  if (predicted.length === 0 || expected.length === 0) return predicted.length === expected.length ? 1 : 0;
  const lcs = longestCommonSubsequence(predicted, expected);
  if (lcs === 0) return 0;
  const precision = lcs / predicted.length;
  const recall = lcs / expected.length;
  return (2 * precision * recall) / (precision + recall);
}

/**
 * sacreBLEU chrF (2.x defaults, divided by 100): on NFC text with all whitespace removed, for each character
 * n-gram order 1..order (6) compute P_n and R_n from clipped n-gram counts; average P_n and R_n over the
 * "effective" orders where both strings have n-grams; score = (1+β²)·P·R/(β²·P + R) with β = 2, or 0 when
 * P + R = 0. Deviation from sacreBLEU: two strings that are both empty after whitespace removal score 1, not 0.
 */
export function chrF(prediction: string, reference: string, options?: ChrFOptions): number {
  const order = options?.order ?? 6;
  const beta = options?.beta ?? 2;
  if (!Number.isInteger(order) || order < 1) throw new RangeError(`chrF order must be a positive integer, got ${order}.`);
  if (!(beta > 0) || !Number.isFinite(beta)) throw new RangeError(`chrF beta must be a positive number, got ${beta}.`);
  // Code points, not UTF-16 units, so an astral character (emoji, rare ideograph) is one character as in Python.
  const predicted = Array.from(withoutWhitespace(prediction.normalize('NFC')));
  const expected = Array.from(withoutWhitespace(reference.normalize('NFC')));
  if (predicted.length === 0 && expected.length === 0) return 1;

  let precisionSum = 0;
  let recallSum = 0;
  let effectiveOrder = 0;
  for (let n = 1; n <= order; n++) {
    const predictedTotal = predicted.length - n + 1;
    const expectedTotal = expected.length - n + 1;
    // sacreBLEU (since its 1.x behaviour) averages only over orders that both strings are long enough for.
    if (predictedTotal <= 0 || expectedTotal <= 0) continue;
    const matches = overlapCount(characterNgrams(predicted, n), characterNgrams(expected, n));
    precisionSum += matches / predictedTotal;
    recallSum += matches / expectedTotal;
    effectiveOrder++;
  }
  if (effectiveOrder === 0) return 0;
  const precision = precisionSum / effectiveOrder;
  const recall = recallSum / effectiveOrder;
  if (precision + recall === 0) return 0;
  const factor = beta * beta;
  return ((1 + factor) * precision * recall) / (factor * precision + recall);
}

/**
 * Sentence BLEU-4 on `wordTokens`, as sacreBLEU's `sentence_bleu` (smooth_method="exp", effective order):
 * p_n = clipped matches/total n-grams; the k-th order with zero matches gets p_n = 1/(2^k·total_n);
 * orders the prediction is too short for are left out of the geometric mean; BP = exp(1 − |ref|/|pred|)
 * when |pred| < |ref|, else 1; no matches at any order → 0; both empty → 1.
 */
export function sentenceBleu(prediction: string, reference: string): number {
  const maxOrder = 4;
  const predicted = wordTokens(prediction);
  const expected = wordTokens(reference);
  if (predicted.length === 0 || expected.length === 0) return predicted.length === expected.length ? 1 : 0;

  const logPrecisions: number[] = [];
  let anyMatch = false;
  let smoothing = 1;
  for (let n = 1; n <= maxOrder; n++) {
    const total = predicted.length - n + 1;
    // sacreBLEU stops at the first order the hypothesis has no n-grams for; effective order keeps the rest.
    if (total <= 0) break;
    const matches = expected.length - n + 1 > 0 ? overlapCount(tokenNgrams(predicted, n), tokenNgrams(expected, n)) : 0;
    if (matches > 0) {
      anyMatch = true;
      logPrecisions.push(Math.log(matches / total));
    } else {
      smoothing *= 2;
      logPrecisions.push(Math.log(1 / (smoothing * total)));
    }
  }
  if (!anyMatch) return 0;
  const brevityPenalty = predicted.length < expected.length ? Math.exp(1 - expected.length / predicted.length) : 1;
  const meanLog = logPrecisions.reduce((sum, value) => sum + value, 0) / logPrecisions.length;
  return Math.min(1, brevityPenalty * Math.exp(meanLog));
}

/** Fraction of positions where `predicted[i] === reference[i]` (exact string equality); NaN when empty. */
export function labelAccuracy(predicted: readonly string[], reference: readonly string[]): number {
  requireSameLength(predicted, reference, 'labelAccuracy');
  if (predicted.length === 0) return Number.NaN;
  let correct = 0;
  for (let i = 0; i < predicted.length; i++) if (predicted[i] === reference[i]) correct++;
  return correct / predicted.length;
}

/** Proportion of each distinct label (count / total), in order of first appearance; empty input → empty map. */
export function labelDistribution(labels: readonly string[]): Map<string, number> {
  const counts = countItems(labels);
  const distribution = new Map<string, number>();
  for (const [label, count] of counts) distribution.set(label, count / labels.length);
  return distribution;
}

/**
 * Total variation distance ½ Σ_label |p(label) − q(label)| between the label distributions of the two lists,
 * over the union of their labels; in [0, 1]. The lists may differ in length; NaN when either is empty.
 */
export function totalVariationDistance(predicted: readonly string[], reference: readonly string[]): number {
  if (predicted.length === 0 || reference.length === 0) return Number.NaN;
  const p = labelDistribution(predicted);
  const q = labelDistribution(reference);
  let sum = 0;
  for (const [label, share] of p) sum += Math.abs(share - (q.get(label) ?? 0));
  for (const [label, share] of q) if (!p.has(label)) sum += share;
  return sum / 2;
}

/**
 * Maps a generated output to a known label: (1) the label equal to the trimmed output, else (2) the first label
 * whose `normalizeText` equals the output's, else (3) the label whose `wordTokens` are a prefix of the output's
 * (the longest such label; ties go to the earlier label), else null. Labels that normalize to "" only match in (1).
 */
export function matchLabel(output: string, labels: readonly string[]): string | null {
  const trimmed = output.trim();
  for (const label of labels) if (label.trim() === trimmed) return label;
  // Labels such as "A" or "The" normalize to nothing: compare them lightly (" a." is "A").
  const lightOutput = normalizeLightly(output);
  for (const label of labels) if (normalizeText(label) === '' && normalizeLightly(label) === lightOutput) return label;

  const normalizedOutput = normalizeText(output);
  for (const label of labels) {
    const normalizedLabel = normalizeText(label);
    if (normalizedLabel !== '' && normalizedLabel === normalizedOutput) return label;
  }

  // Token prefixes rather than string prefixes: "positive" must not match "positively", while a Chinese label
  // such as 正面 must match "正面。这条评论…", which has no space after the label.
  const outputTokens = wordTokens(output);
  let best: string | null = null;
  let bestLength = 0;
  for (const label of labels) {
    const labelTokens = wordTokens(label);
    if (labelTokens.length <= bestLength || labelTokens.length > outputTokens.length) continue;
    if (labelTokens.every((token, i) => token === outputTokens[i])) {
      best = label;
      bestLength = labelTokens.length;
    }
  }
  return best;
}

/** The text metrics in the order the report shows them. */
export const METRICS: readonly TextMetric[] = [
  { id: 'exact_match', title: 'Exact match (normalized)', score: exactMatch },
  { id: 'token_f1', title: 'Token F1', score: tokenF1 },
  { id: 'rouge_l', title: 'ROUGE-L', score: rougeL },
  { id: 'chrf', title: 'chrF', score: (prediction: string, reference: string): number => chrF(prediction, reference) },
  { id: 'bleu', title: 'Sentence BLEU', score: sentenceBleu },
];

function requireSameLength(a: readonly unknown[], b: readonly unknown[], name: string): void {
  if (a.length !== b.length) {
    throw new RangeError(`${name}: the two lists must be paired item by item, but have lengths ${a.length} and ${b.length}.`);
  }
}

// Python's str.split() also treats the information separators U+001C–U+001F as whitespace; \s does not.
function withoutWhitespace(s: string): string {
  return s.replace(/[\s\u001c-\u001f]+/gu, '');
}

function countItems(items: readonly string[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const item of items) counts.set(item, (counts.get(item) ?? 0) + 1);
  return counts;
}

function overlapCount(a: ReadonlyMap<string, number>, b: ReadonlyMap<string, number>): number {
  let overlap = 0;
  for (const [item, count] of a) overlap += Math.min(count, b.get(item) ?? 0);
  return overlap;
}

function characterNgrams(characters: readonly string[], n: number): Map<string, number> {
  const grams: string[] = [];
  for (let i = 0; i + n <= characters.length; i++) grams.push(characters.slice(i, i + n).join(''));
  return countItems(grams);
}

// Tokens never contain whitespace, so joining them with a space cannot make two different n-grams collide.
function tokenNgrams(tokens: readonly string[], n: number): Map<string, number> {
  const grams: string[] = [];
  for (let i = 0; i + n <= tokens.length; i++) grams.push(tokens.slice(i, i + n).join(' '));
  return countItems(grams);
}

// Two-row dynamic programme: O(|a|·|b|) time, O(|b|) memory.
function longestCommonSubsequence(a: readonly string[], b: readonly string[]): number {
  let previous = new Uint32Array(b.length + 1);
  let current = new Uint32Array(b.length + 1);
  for (let i = 1; i <= a.length; i++) {
    const item = a[i - 1];
    for (let j = 1; j <= b.length; j++) {
      current[j] = item === b[j - 1] ? (previous[j - 1] ?? 0) + 1 : Math.max(previous[j] ?? 0, current[j - 1] ?? 0);
    }
    [previous, current] = [current, previous];
  }
  return previous[b.length] ?? 0;
}
