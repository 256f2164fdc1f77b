/** From rows to a curve point and from the curve to the measured verdict, on hand-checked cases. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { curvePoint, measuredVerdict } from '../../src/engine/experiment/aggregate';
import type { CurvePoint, ItemRow } from '../../src/engine/experiment/report';

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

const point = (k: number, rate: number, low: number, high: number): CurvePoint => ({
  k, n: 100, meanShotsUsed: k, metrics: {}, disagreement: { rate, low, high, hoeffdingHalfWidth: 0.136 },
  referenceLogProbPerToken: null, referencePerplexity: null, predictedLabels: null, referenceLabels: null, labelTotalVariation: null, paired: null,
});

test('the measured verdict follows bounds.md: suffices, still improving, fine-tune, undecided', () => {
  assert.equal(measuredVerdict([point(0, 0.5, 0.4, 0.6), point(4, 0.04, 0.01, 0.09)], 0.1, 0.05, 'exact match').kind, 'prompting-suffices');
  assert.equal(measuredVerdict([point(0, 0.5, 0.4, 0.6), point(4, 0.3, 0.22, 0.4)], 0.1, 0.05, 'exact match').kind, 'still-improving');
  assert.equal(measuredVerdict([point(0, 0.3, 0.22, 0.4), point(4, 0.35, 0.26, 0.45)], 0.1, 0.05, 'exact match').kind, 'fine-tune');
  const undecided = measuredVerdict([point(0, 0.2, 0.05, 0.5)], 0.1, 0.05, 'exact match');
  assert.equal(undecided.kind, 'undecided');
  // ln(40) / (2 · 0.1²) = 184.4 → 185 items for the interval to clear ε at the observed rate.
  assert.equal(undecided.itemsNeeded, 185);
});
