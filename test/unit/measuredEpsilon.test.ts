/** Measured ε's arithmetic: the answer as scored, the label distribution, the Hoeffding mean and the per-k fields. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { answerText, epsilonAtK, hoeffdingMean, labelDistributionFromScores } from '../../src/engine/experiment/measuredEpsilon';
import type { ItemRow } from '../../src/engine/experiment/report';

test('the answer is lead, text and end; an end the reference already has is not doubled', () => {
  assert.equal(answerText(' ', 'positive', '\n'), ' positive\n');
  assert.equal(answerText('', ' 你好\n', '\n'), ' 你好\n');
  assert.equal(answerText('', 'Hola.', '<|im_end|>'), 'Hola.<|im_end|>');
  assert.equal(answerText(' ', 'x', ''), ' x');
});

test('label log-probabilities normalize over the labels; TV to the reference is 1 − its share', () => {
  const shares = labelDistributionFromScores(new Map([['pos', Math.log(0.3)], ['neg', Math.log(0.1)]]));
  assert.ok(Math.abs(shares.pos! - 0.75) < 1e-12);
  assert.ok(Math.abs(shares.neg! - 0.25) < 1e-12);
  // Very unlikely labels (log-probabilities of −800) still normalize, by log-sum-exp.
  const tiny = labelDistributionFromScores(new Map([['a', -800], ['b', -800 + Math.log(3)]]));
  assert.ok(Math.abs(tiny.b! - 0.75) < 1e-12);
});

test('the mean of 1 − p has a Hoeffding interval at 1 − δ, clipped to [0, 1]', () => {
  const half = Math.sqrt(Math.log(2 / 0.05) / (2 * 4));
  assert.deepEqual(hoeffdingMean([0.1, 0.2, 0.3, 0.4], 0.05), { mean: 0.25, low: 0, high: 0.25 + half, n: 4, interval: 'hoeffding', confidence: 0.95 });
  assert.equal(hoeffdingMean([], 0.05), null);
});

test('per k: ε over the scored references, the unscored counted by reason, and the conditional label TV', () => {
  const row = (probability: number | null, extra: Partial<ItemRow> = {}): ItemRow => ({
    k: 1, line: 1, prompt: '', promptTokens: 1, shotsUsed: 1, exampleLines: [], output: '', finishReason: 'stop-sequence', reference: 'a',
    predictedLabel: null, scores: {}, referenceLogProb: null, referenceTokens: null, referenceProbability: probability,
    unscoredReason: probability === null ? 'prompt and reference are longer than the context' : null, labelProbabilities: null, conditionalLabelTV: null,
    cached: false, milliseconds: 0, ...extra,
  });
  const fields = epsilonAtK([row(0.9, { conditionalLabelTV: 0.05 }), row(0.5, { conditionalLabelTV: 0.25 }), row(null)], 0.1);
  const half = Math.sqrt(Math.log(2 / 0.1) / 4);
  assert.ok(Math.abs(fields.measuredEpsilon!.mean - 0.3) < 1e-12);
  assert.ok(half > 0.7);
  assert.deepEqual([fields.measuredEpsilon!.low, fields.measuredEpsilon!.high], [0, 1]); // 0.3 ± 0.87, clipped
  assert.equal(fields.measuredEpsilon!.n, 2);
  assert.equal(fields.measuredEpsilon!.unscored, 1);
  assert.deepEqual(fields.measuredEpsilon!.unscoredReasons, { 'prompt and reference are longer than the context': 1 });
  assert.ok(Math.abs(fields.conditionalLabelTV!.mean - 0.15) < 1e-12);
  assert.equal(epsilonAtK([], 0.1).measuredEpsilon, null);
});
