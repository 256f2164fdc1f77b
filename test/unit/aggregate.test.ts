/** From rows to a curve point and from the curve to the measured verdict, on hand-checked cases. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { wilsonInterval } from '../../src/engine/compare/statistics';
import { agreementSamples, curvePoint, measuredVerdict, withAdjustedPairedTests, type AgreementSample } from '../../src/engine/experiment/aggregate';
import { seededRandom } from '../../src/engine/random';
import type { ItemRow } from '../../src/engine/experiment/report';

const row = (line: number, reference: string, predicted: string | null, k = 0): ItemRow => ({
  k, line, prompt: '', promptTokens: 1, shotsUsed: k, exampleLines: [], output: predicted ?? 'zzz', finishReason: 'stop-sequence',
  reference, predictedLabel: predicted, scores: { label_accuracy: predicted === reference ? 1 : 0 }, referenceLogProb: -2, referenceTokens: 2,
  cached: false, milliseconds: 1,
});

test('a classification point: accuracy, label shares of predictions and references, their TV distance', () => {
  const rows = [row(1, 'pos', 'pos'), row(2, 'pos', 'neg'), row(3, 'neg', 'neg'), row(4, 'neg', null)];
  const point = curvePoint(0, rows, { metrics: ['label_accuracy'], primary: 'label_accuracy', delta: 0.05, seed: 1 });
  assert.equal(point.disagreement.rate, 0.5);
  assert.deepEqual(point.predictedLabels, { pos: 0.25, neg: 0.5, '(none)': 0.25 });
  assert.deepEqual(point.referenceLabels, { pos: 0.5, neg: 0.5 });
  // ½ (|0.25 − 0.5| + |0.5 − 0.5| + |0.25 − 0|) = 0.25
  assert.equal(point.labelTotalVariation, 0.25);
  // Mean log-probability per token: 4 rows × −2 over 4 × 2 tokens = −1; perplexity e.
  assert.equal(point.referenceLogProbPerToken, -1);
  assert.ok(Math.abs(point.referencePerplexity! - Math.E) < 1e-12);
});

test("metric intervals: Wilson's for 0/1 scores (not [100%, 100%] when every item is right), one bootstrap draw for every metric of a k", () => {
  const rows = Array.from({ length: 20 }, (_, i) => ({ ...row(i + 1, 'a', 'a'), scores: { label_accuracy: 1, exact_match: 1, token_f1: (i % 4) / 4, rouge_l: (i % 4) / 4 } }));
  const point = curvePoint(0, rows, { metrics: ['label_accuracy', 'exact_match', 'token_f1', 'rouge_l'], primary: 'label_accuracy', delta: 0.05, seed: 1 });
  const wilson = wilsonInterval(20, 20, 0.95);
  assert.deepEqual(point.metrics.exact_match, { mean: 1, low: wilson.low, high: 1, interval: 'wilson' });
  assert.ok(wilson.low > 0.83 && wilson.low < 0.84, `${wilson.low}`); // 20/20: Wilson's 95% lower end is 0.8389
  // token F1 and ROUGE-L equal item by item: the same resampled items, the same interval.
  assert.equal(point.metrics.token_f1!.interval, 'bootstrap');
  assert.deepEqual(point.metrics.token_f1, point.metrics.rouge_l);
  assert.ok(point.metrics.token_f1!.low < 0.375 && point.metrics.token_f1!.high > 0.375);
});

/** One shot count's outcomes: '1' agrees, '0' disagrees, item i on line i + 1. */
const sample = (k: number, outcomes: string): AgreementSample => ({ k, agreed: new Map([...outcomes].map((c, i) => [i + 1, c === '1'])) });
/** n items of which the first `disagree` disagree: curves built from these are nested (an item that agrees at a
 * smaller k agrees at every larger one), so every paired change goes one way. */
const nested = (k: number, disagree: number, n = 50): AgreementSample => sample(k, '0'.repeat(disagree) + '1'.repeat(n - disagree));

function assertClose(actual: number, expected: number, tolerance: number): void {
  assert.ok(Math.abs(actual - expected) <= tolerance, `expected ${expected} ± ${tolerance}, got ${actual}`);
}

test('prompting suffices: Holm over the grid, the matching upper bound, and the evidence in the sentence', () => {
  const verdict = measuredVerdict([nested(0, 25), nested(4, 0)], 0.1, 0.05, 'exact match');
  assert.equal(verdict.kind, 'prompting-suffices');
  assert.equal(verdict.k, 4);
  // Raw p at k = 4: P(X ≤ 0 | 50, 0.1) = 0.9^50 = 0.0051538; Holm's first of two steps doubles it: 0.0103076.
  // Its bound: the one-sided Clopper–Pearson upper bound for 0/50 at 1 − 0.05/2 is 1 − 0.025^(1/50) = 0.0711217.
  const evidence = verdict.evidence!;
  assertClose(evidence.pValue, 2 * 0.9 ** 50, 1e-15);
  assert.deepEqual({ n: evidence.n, rate: evidence.rate, side: evidence.bound!.side, confidence: evidence.bound!.confidence }, { n: 50, rate: 0, side: 'upper', confidence: 0.975 });
  assertClose(evidence.bound!.value, 1 - 0.025 ** (1 / 50), 1e-12);
  assert.equal(evidence.test, 'one-sided exact binomial test, Holm over 2 shot counts');
  assert.equal(verdict.sentence, 'Prompting suffices at k = 4: disagreement 0.0% (n = 50, upper 97.5% bound 7.1% ≤ ε = 10%, Holm-adjusted p = 0.01).');
});

test('one k alone would suffice at 1/50, but not as one of two shot counts: the grid is paid for', () => {
  // P(X ≤ 1 | 50, 0.1) = 5.9 · 0.9^49 = 0.0338 ≤ 0.05 alone; Holm's first step needs ≤ 0.025.
  assert.equal(measuredVerdict([nested(4, 1)], 0.1, 0.05, 'exact match').kind, 'prompting-suffices');
  const two = measuredVerdict([nested(0, 3), nested(4, 1)], 0.1, 0.05, 'exact match');
  assert.equal(two.kind, 'undecided');
  assertClose(two.evidence!.shotTests[1]!.sufficesPValue, 5.9 * 0.9 ** 49, 1e-15);
  assertClose(two.evidence!.shotTests[1]!.sufficesAdjustedPValue, 2 * 5.9 * 0.9 ** 49, 1e-15);
  assert.ok(two.evidence!.shotTests[1]!.upperBound > 0.1);
});

test('still improving: disagreement fell into the largest k, one-sided exact McNemar with Holm over the last two steps', () => {
  const verdict = measuredVerdict([nested(0, 40), nested(1, 35), nested(2, 25)], 0.1, 0.05, 'exact match');
  assert.equal(verdict.kind, 'still-improving');
  assert.equal(verdict.k, 2);
  const falls = verdict.evidence!.trend!.falls;
  // k = 1 → 2: 10 items agree only at 2, none only at 1: p = 2^−10; k = 0 → 2: 15 such items: p = 2^−15.
  // Holm: 2 · 2^−15 for the smaller, max(that, 2^−10) for the other.
  assert.deepEqual(falls.map((test) => [test.from, test.to, test.onlyFrom, test.onlyTo]), [[1, 2, 0, 10], [0, 2, 0, 15]]);
  // (The binomial tail is summed in log space: exact to a few units in the last place.)
  [[2 ** -10, 2 ** -10], [2 ** -15, 2 ** -14]].forEach(([raw, adjusted], i) => {
    assertClose(falls[i]!.pValue, raw!, 1e-18);
    assertClose(falls[i]!.adjustedPValue, adjusted!, 1e-18);
  });
  assertClose(verdict.evidence!.pValue, 2 ** -14, 1e-18);
  assert.equal(verdict.sentence, 'Still improving at k = 2: disagreement 50.0% fell from 80.0% at k = 0 (n = 50 paired items, one-sided exact McNemar test, Holm over 2 steps: p = 6.1e-5), ' +
    'above ε = 10%; more shots, retrieval of similar examples or a longer context may close the gap, otherwise fine-tune.');
});

test('still improving below ε but not shown within it says so, not "above ε"', () => {
  // 30/50 → 4/50 nested: the fall is certain, but P(X ≤ 4 | 50, 0.1) = 0.431 is no evidence that r ≤ ε.
  const verdict = measuredVerdict([nested(0, 30), nested(4, 4)], 0.1, 0.05, 'exact match');
  assert.equal(verdict.kind, 'still-improving');
  assert.match(verdict.sentence, /disagreement 8\.0% fell from 60\.0% at k = 0 .*\), not yet shown within ε = 10%;/);
});

test('still improving over a flat last step, at a rate within ε: the sentence says so and asks for items, not shots', () => {
  // 7/10 → 0/10 → 0/10: the fall from k = 0 is shown (p = 2 · 2^−7 after Holm), the last step is flat, and 0/10 is
  // no evidence of r ≤ ε (P(X ≤ 0 | 10, 0.1) = 0.35); 39 = ⌈ln(0.05/3) / ln(0.9)⌉ items would decide an all-right k.
  const verdict = measuredVerdict([nested(0, 7, 10), nested(1, 0, 10), nested(4, 0, 10)], 0.1, 0.05, 'exact match');
  assert.equal(verdict.kind, 'still-improving');
  assert.equal(verdict.itemsNeeded, 39);
  assert.equal(verdict.sentence, 'Still improving at k = 4: disagreement 0.0% fell from 70.0% at k = 0 (n = 10 paired items, one-sided exact McNemar test, Holm over 2 steps: p = 0.016), ' +
    'flat since k = 1 (0.0%), not yet shown within ε = 10%; the rate is within ε but too few items show it: about 39 held-out items per shot count would decide at this rate.');
});

test('still improving with a last step that rose says so, not "flat"', () => {
  // 8/10 → 1/10 → 2/10: the fall from k = 0 is shown (6 items agree only at 4: p = 2 · 2^−6), the last step rose.
  const verdict = measuredVerdict([nested(0, 8, 10), nested(1, 1, 10), nested(4, 2, 10)], 0.1, 0.05, 'exact match');
  assert.equal(verdict.kind, 'still-improving');
  assert.match(verdict.sentence, /^Still improving at k = 4: disagreement 20\.0% fell from 80\.0% at k = 0 \(.*p = 0\.031\), up from 10\.0% at k = 1, above ε = 10%;/);
});

test('a flat curve above ε is fine-tune, by an exact test at every k, and the sentence says the end did not fall', () => {
  const verdict = measuredVerdict([nested(0, 30), nested(1, 30), nested(2, 30)], 0.1, 0.05, 'exact match');
  assert.equal(verdict.kind, 'fine-tune');
  // P(X ≥ 30 | 50, 0.1) = 6.17e−18 at every k; lower 95% Clopper–Pearson bound for 30/50 = 0.47388 (scipy 1.17 binomtest).
  const evidence = verdict.evidence!;
  assertClose(evidence.pValue, 6.169386905412893e-18, 1e-27);
  assertClose(evidence.bound!.value, 0.4738802511300644, 1e-9);
  assert.equal(evidence.test, 'one-sided exact binomial test at every k (intersection–union)');
  assert.equal(verdict.sentence, 'Fine-tune: disagreement is above ε = 10% at every k measured, lowest 60.0% at k = 0 (n = 50, lower 95% bound at k = 0 47.4% > ε, exact binomial p = 6.2e-18); ' +
    'no fall into k = 2 was shown (k = 1 → 2: 60.0% → 60.0%, one-sided McNemar p = 1; k = 0 → 2: 60.0% → 60.0%, one-sided McNemar p = 1 (Holm over both steps)). ' +
    'A slower fall than these items can show is not excluded.');
});

test('a curve that rose after its best k: fine-tune, and the sentence says it rose, with its test', () => {
  const verdict = measuredVerdict([nested(0, 20), nested(4, 35)], 0.1, 0.05, 'exact match');
  assert.equal(verdict.kind, 'fine-tune');
  // 15 items agree at k = 0 and not at 4, none the other way: one-sided p = 2^−15, Bonferroni over 1 candidate.
  const rise = verdict.evidence!.trend!.riseAfterBest!;
  assert.deepEqual([rise.from, rise.to, rise.onlyFrom, rise.onlyTo, rise.difference], [0, 4, 15, 0, 0.3]);
  assertClose(rise.adjustedPValue, 2 ** -15, 1e-18);
  assert.match(verdict.sentence, /; disagreement rose after k = 0 \(McNemar p = 3\.1e-5, Bonferroni over 1 candidates\)\./);
});

test('a curve lowest at its largest k, falling too little to show, is undecided, not fine-tune, with the items that would show it', () => {
  const verdict = measuredVerdict([nested(0, 40), nested(1, 38), nested(2, 36)], 0.1, 0.05, 'exact match');
  assert.equal(verdict.kind, 'undecided');
  assert.equal(verdict.k, 2);
  // k = 1 → 2: 2 items agree only at 2 (p = 1/4); k = 0 → 2: 4 (p = 1/16); Holm: 2/16 = 0.125, then max(0.125, 0.25).
  assert.deepEqual(verdict.evidence!.trend!.falls.map((test) => test.adjustedPValue), [0.25, 0.125]);
  // Last step: 2 of 50 pairs discordant (d = 0.04), fall Δ = 0.04, Holm's first level δ/2:
  // (z(0.975) + z(0.8))²·d/Δ² = (1.959964 + 0.841621)² · 25 = 196.2 → 197.
  assert.equal(verdict.itemsNeeded, 197);
  // 36/50: lower 95% Clopper–Pearson bound 0.59738, P(X ≥ 36 | 50, 0.1) = 2.24e−25 (scipy 1.17).
  assert.match(verdict.sentence, /^Not decided: disagreement is above ε = 10% at every k measured \(lower 95% bound at k = 2 59\.7%, exact binomial p = 2\.2e-25\) and lowest at the largest, 72\.0% at k = 2, but the fall is not significant \(k = 1 → 2: 76\.0% → 72\.0%, one-sided McNemar p = 0\.25; k = 0 → 2: 80\.0% → 72\.0%, one-sided McNemar p = 0\.125 \(Holm over both steps\)\): whether more shots would close the gap is not decided; about 197 paired items would show a fall of this size \(80% power\)\.$/);
});

test('undecided: one shot count never says fine-tune, and an interval across ε says how many items would decide', () => {
  const single = measuredVerdict([nested(0, 30)], 0.1, 0.05, 'exact match');
  assert.equal(single.kind, 'undecided');
  assert.match(single.sentence, /^Not decided: at k = 0, the only shot count measured, disagreement is 60\.0% \(n = 50, lower 95% bound 47\.4% > ε = 10%\); whether more examples help is not measured/);

  // 8/50 = 16%: upper 95% bound 27.0%, lower 8.2% (scipy 1.17 binomtest, exact); z(0.95)²·0.16·0.84/0.06² = 101.007 → 102.
  const straddle = measuredVerdict([nested(0, 8)], 0.1, 0.05, 'exact match');
  assert.equal(straddle.kind, 'undecided');
  assert.equal(straddle.itemsNeeded, 102);
  assertClose(straddle.evidence!.shotTests[0]!.upperBound, 0.27022007752641286, 1e-9);
  assertClose(straddle.evidence!.shotTests[0]!.lowerBound, 0.08218506173861308, 1e-9);
  assert.equal(straddle.sentence, 'Not decided: at k = 0 (n = 50) disagreement on exact match is 16.0%, but its upper 95% bound 27.0% is above ε = 10% (p = 0.942) ' +
    'and its lower 95% bound 8.2% is not; about 102 held-out items per shot count would decide at this rate.');

  // With unequal n the k to name is the one whose interval crosses ε, not the lowest rate: 15/50 is above ε
  // (lower 95% bound 0.19), 2/5 is not (lower bound 0.0764, scipy 1.17 binomtest).
  const unequal = measuredVerdict([nested(0, 15), nested(4, 2, 5)], 0.1, 0.05, 'exact match');
  assert.equal(unequal.kind, 'undecided');
  assert.equal(unequal.k, 4);
  assert.match(unequal.sentence, /^Not decided: at k = 4 \(n = 5\) disagreement on exact match is 40\.0%, but its upper 97\.5% bound .* and its lower 95% bound 7\.6% is not;/);

  assert.deepEqual(measuredVerdict([], 0.1, 0.05, 'exact match'), { kind: 'not-run', k: null, sentence: 'Nothing was measured yet.', itemsNeeded: null, evidence: null });
});

test('the bounds shown match the tests: upper ≤ ε exactly where Holm rejects, lower > ε exactly where the exact test does', () => {
  const random = seededRandom(7);
  let rejections = 0;
  for (let replication = 0; replication < 300; replication++) {
    const samples = [0, 1, 2, 4, 8, 16, 32].map((k) => {
      const rate = 0.02 + random() * 0.3;
      return sample(k, Array.from({ length: 30 + Math.floor(random() * 40) }, () => (random() < rate ? '0' : '1')).join(''));
    });
    for (const test of measuredVerdict(samples, 0.1, 0.05, 'exact match').evidence!.shotTests) {
      assert.equal(test.upperBound <= 0.1, test.sufficesAdjustedPValue <= 0.05, `k = ${test.k}: ${test.disagreements}/${test.n}`);
      assert.equal(test.lowerBound > 0.1, test.aboveEpsilonPValue <= 0.05, `k = ${test.k}: ${test.disagreements}/${test.n}`);
      if (test.sufficesAdjustedPValue <= 0.05) rejections++;
    }
  }
  assert.ok(rejections > 20, `only ${rejections} rejections: the check above would be vacuous`);
});

test('agreementSamples groups rows by k; the curve\'s paired p-values are Holm-adjusted over the grid, raw kept', () => {
  const rows = [row(1, 'a', 'a', 0), row(2, 'a', 'b', 0), row(1, 'a', 'a', 4), row(2, 'a', 'a', 4)];
  const samples = agreementSamples(rows, [0, 4], 'label_accuracy');
  assert.deepEqual(samples.map((s) => [s.k, [...s.agreed]]), [[0, [[1, true], [2, false]]], [4, [[1, true], [2, true]]]]);
  const base = curvePoint(0, rows.slice(0, 2), { metrics: ['label_accuracy'], primary: 'label_accuracy', delta: 0.05, seed: 1 });
  const points = [base, 0.2, 0.03].map((p, i) => (typeof p === 'number'
    ? { ...base, k: i, paired: { baseline: 0, test: 'mcnemar' as const, metric: 'label_accuracy' as const, difference: 0.1, pValue: p, adjustedPValue: p } }
    : p));
  // Holm over two: 0.03 · 2 = 0.06, then max(0.06, 0.2 · 1) = 0.2.
  assert.deepEqual(withAdjustedPairedTests(points).map((point) => point.paired && [point.paired.pValue, point.paired.adjustedPValue]), [null, [0.2, 0.2], [0.03, 0.06]]);
});
