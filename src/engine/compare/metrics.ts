/**
 * Per-item text metrics (prediction against one reference) and label metrics for classification
 * datasets. Every per-item score is in [0, 1]; the report multiplies by 100 where it shows percentages.
 * Metrics with a standard name compute exactly the standard thing on the raw text: BLEU is sacreBLEU 2.x's
 * `sentence_bleu` (13a tokens, mixed case, exp smoothing, effective order), chrF is sacreBLEU's `CHRF()` defaults,
 * ROUGE-L is rouge-score's `RougeScorer(['rougeL'])` F-measure. Exact match and token F1 use SQuAD's formulas on a
 * normalization widened to Unicode (text.ts), so they are not named SQuAD's: they differ where a text holds non-ASCII
 * punctuation or symbols, or is written without spaces.
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
 * SQuAD's token F1 formula on `wordTokens`: overlap = Σ min(count in prediction, count in reference),
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
 * ROUGE-L F-measure as Google's rouge-score computes it (`RougeScorer(['rougeL'])`, no stemmer): tokens of
 * `rougeTokens`, L = longest common subsequence, P = L/|prediction|, R = L/|reference|, F = 2PR/(P + R); 0 when either
 * side has no token or L = 0 (so two empty strings score 0, as there).
 */
export function rougeL(prediction: string, reference: string): number {
  const predicted = rougeTokens(prediction);
  const expected = rougeTokens(reference);
  if (predicted.length === 0 || expected.length === 0) return 0;
  const lcs = longestCommonSubsequence(predicted, expected);
  if (lcs === 0) return 0;
  const precision = lcs / predicted.length;
  const recall = lcs / expected.length;
  return (2 * precision * recall) / (precision + recall);
}

/**
 * rouge-score's default tokenizer: lower-case, every run of characters outside [a-z0-9] becomes a space, split on
 * white space. Letters outside ASCII are dropped, as there ("café" → ["caf"]; Chinese text has no tokens).
 */
export function rougeTokens(text: string): string[] {
  return text.toLowerCase().replace(/[^a-z0-9]+/g, ' ').split(' ').filter((token) => token !== '');
}

/**
 * sacreBLEU 2.x chrF with its defaults (`CHRF()`: char_order 6, word_order 0, β 2, whitespace removed, case kept,
 * no eps smoothing), divided by 100: on the text with all white space removed (Python's str.split() set), for each
 * character n-gram order 1..order compute P_n and R_n from clipped n-gram counts; average P_n and R_n over the
 * "effective" orders where both strings have n-grams; score = (1+β²)·P·R/(β²·P + R), or 0 when P + R = 0 or no
 * order is effective (two empty strings score 0, as there). No Unicode normalization, as there.
 */
export function chrF(prediction: string, reference: string, options?: ChrFOptions): number {
  const order = options?.order ?? 6;
  const beta = options?.beta ?? 2;
  if (!Number.isInteger(order) || order < 1) throw new RangeError(`chrF order must be a positive integer, got ${order}.`);
  if (!(beta > 0) || !Number.isFinite(beta)) throw new RangeError(`chrF beta must be a positive number, got ${beta}.`);
  // Code points, not UTF-16 units, so an astral character (emoji, rare ideograph) is one character as in Python.
  const predicted = Array.from(prediction.replace(PYTHON_WHITESPACE_RUN, ''));
  const expected = Array.from(reference.replace(PYTHON_WHITESPACE_RUN, ''));

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
 * sacreBLEU 2.x `sentence_bleu(prediction, [reference])` with its defaults, divided by 100: both sides trailing-
 * white-space-stripped and tokenized by `tokenize13a` (case kept); for n = 1..4, p_n = clipped matches / the
 * prediction's n-grams, stopping at the first order the prediction has no n-gram for (effective order); an order with
 * no match gets p_n = 1/(2^j·total_n) for the j-th such order ('exp' smoothing); no match at any order → 0;
 * BP = exp(1 − |ref|/|pred|) when |pred| < |ref| (0 for an empty prediction), else 1; BLEU = BP·exp(mean log p_n).
 */
export function sentenceBleu(prediction: string, reference: string): number {
  const maxOrder = 4;
  const predicted = tokenize13a(prediction);
  const expected = tokenize13a(reference);
  const correct: number[] = [];
  const totals: number[] = [];
  for (let n = 1; n <= maxOrder; n++) {
    totals.push(Math.max(0, predicted.length - n + 1));
    correct.push(overlapCount(tokenNgrams(predicted, n), tokenNgrams(expected, n)));
  }
  if (correct.every((count) => count === 0)) return 0;
  const brevityPenalty = predicted.length < expected.length ? Math.exp(1 - expected.length / predicted.length) : 1;
  let logSum = 0;
  let effectiveOrder = 0;
  let smoothing = 1;
  for (let n = 0; n < maxOrder; n++) {
    const total = totals[n]!;
    if (total === 0) break;
    effectiveOrder = n + 1;
    if (correct[n] === 0) {
      smoothing *= 2;
      logSum += Math.log(1 / (smoothing * total));
    } else {
      logSum += Math.log(correct[n]! / total);
    }
  }
  return brevityPenalty * Math.exp(logSum / effectiveOrder);
}

// mteval-v13a's punctuation: { | } ~, [ \ ] ^ _ `, space to &, ( ) * +, : to @, and / (not ' , - .).
const PUNCTUATION_13A = /([\x7B-\x7E\x5B-\x60\x20-\x26\x28-\x2B\x3A-\x40\x2F])/gu;

/**
 * sacreBLEU's default tokenizer (`Tokenizer13a`, mteval-v13a.pl): after rstrip, drop "<skipped>" and "-\n", newlines
 * to spaces, unescape &quot; &amp; &lt; &gt;; then pad the 13a punctuation with spaces, split "." and "," from a
 * neighbour that is not a digit (so "1,000" and "3.14" stay whole), split "-" after a digit, and split on white space.
 */
export function tokenize13a(text: string): string[] {
  let line = text.replace(PYTHON_TRAILING_WHITESPACE, '')
    .replaceAll('<skipped>', '').replaceAll('-\n', '').replaceAll('\n', ' ')
    .replaceAll('&quot;', '"').replaceAll('&amp;', '&').replaceAll('&lt;', '<').replaceAll('&gt;', '>');
  line = ` ${line} `
    .replace(PUNCTUATION_13A, ' $1 ')
    .replace(/([^0-9])([.,])/gu, '$1 $2 ')
    .replace(/([.,])([^0-9])/gu, ' $1 $2')
    .replace(/([0-9])(-)/gu, '$1 $2 ');
  return line.split(PYTHON_WHITESPACE_RUN).filter((token) => token !== '');
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
  { id: 'rouge_l', title: 'ROUGE-L (rouge-score)', score: rougeL },
  { id: 'chrf', title: 'chrF (sacreBLEU)', score: (prediction: string, reference: string): number => chrF(prediction, reference) },
  { id: 'bleu', title: 'Sentence BLEU (sacreBLEU, 13a)', score: sentenceBleu },
];

function requireSameLength(a: readonly unknown[], b: readonly unknown[], name: string): void {
  if (a.length !== b.length) {
    throw new RangeError(`${name}: the two lists must be paired item by item, but have lengths ${a.length} and ${b.length}.`);
  }
}

// Python's str.isspace() set, on which sacreBLEU splits and strips: it has U+001C–U+001F and U+0085, which \s lacks,
// and not U+FEFF, which \s has.
const PYTHON_WHITESPACE = '\\t\\n\\v\\f\\r\\u001c-\\u0020\\u0085\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000';
const PYTHON_WHITESPACE_RUN = new RegExp(`[${PYTHON_WHITESPACE}]+`, 'gu');
const PYTHON_TRAILING_WHITESPACE = new RegExp(`[${PYTHON_WHITESPACE}]+$`, 'u');

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
