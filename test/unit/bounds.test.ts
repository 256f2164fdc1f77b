/** The four bounds reproduce bounds.md's worked example; k_fit and the verdict rule. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { computeBounds, shotsThatFit, theoryVerdict } from '../../src/engine/bounds/bounds';
import { checkDataset } from '../../src/engine/datasetCheck';
import { DEFAULT_SETTINGS } from '../../src/engine/settings';

const worked = computeBounds({ epsilon: 0.1, delta: 0.05, vocabularySize: 32_000, contexts: 100, outputLength: 256, inputDimension: 768 });
const byId = Object.fromEntries(worked.map((bound) => [bound.id, bound]));

test("worked example with C = 1: generation unbounded ≈ 2.4 × 10^9, uses log(m/δ)", () => {
  // 100 · 32000 / 0.01 · ln(2000) = 3.2e8 · 7.600902 = 2.4323e9
  assert.equal(Math.round(byId['generation-unbounded']!.withUnitConstant), 2_432_288_787);
});

test('worked example with C = 1: generation with bounded context ≈ 7.96 × 10^5', () => {
  // 256 · ln(32000) / 0.01 · ln(20) = 265,561.4 · 2.995732 = 795,551
  assert.equal(Math.round(byId['generation-bounded']!.withUnitConstant), 795_551);
});

test('worked example with C = 1: classification 7,680 unbounded, ≈ 300 with fixed context, Hoeffding 185', () => {
  assert.equal(byId['classification-unbounded']!.withUnitConstant, 7680);
  assert.equal(Math.round(byId['classification-fixed']!.withUnitConstant), 300);
  // ln(40) / 0.02 = 184.44
  assert.equal(Math.ceil(byId['classification-fixed']!.standardValue), 185);
});

test('standard inequalities of the same form', () => {
  // m · (2/ε²)(V ln 2 + ln(m/δ)) = 100 · 200 · (22180.71 + 7.6009)
  assert.equal(Math.round(byId['generation-unbounded']!.standardValue), 443_766_214);
  // (256 ln 32000 + ln 40) / 0.02
  assert.equal(Math.round(byId['generation-bounded']!.standardValue), 132_965);
  // max(40 · log2 40, 8 · 769 / 0.1 · log2 130) = max(212.9, 432,016)
  assert.equal(Math.round(byId['classification-unbounded']!.standardValue), 432_016);
});

test('bounds reject ε and δ outside (0, 1)', () => {
  assert.throws(() => computeBounds({ epsilon: 0, delta: 0.05, vocabularySize: 10, contexts: 1, outputLength: 1, inputDimension: 1 }), /ε must be between 0 and 1/);
  assert.throws(() => computeBounds({ epsilon: 0.1, delta: 1, vocabularySize: 10, contexts: 1, outputLength: 1, inputDimension: 1 }), /δ must be between 0 and 1/);
});

test('k_fit = floor((context − instruction − query − output) / tokens per example), never negative', () => {
  const base = { instructionTokens: 20, queryTokens: 50, reservedOutputTokens: 30, meanTokensPerExample: 45, percentile: 'p95', estimated: false };
  assert.equal(shotsThatFit({ ...base, contextLength: 2048 }).kFit, 43); // 1948 / 45 = 43.3
  assert.equal(shotsThatFit({ ...base, contextLength: 64 }).kFit, 0);
});

test('verdict: prompting suffices, retrieval, or no guarantee', () => {
  assert.equal(theoryVerdict(worked, 'classification', 200, 1000).kind, 'prompting-suffices');
  assert.equal(theoryVerdict(worked, 'classification', 50, 1000).kind, 'retrieval');
  const none = theoryVerdict(worked, 'generation', 50, 1000);
  assert.equal(none.kind, 'no-guarantee');
  assert.equal(none.needed, 132_966);
  assert.equal(none.sentence, 'No guarantee from theory: 132,966 examples are needed and only 1,000 distinct examples are available; decide from the measured curve, and consider fine-tuning.');
});

test('examples available are distinct inputs: a file of repeated records claims no more examples than it holds', async () => {
  const folder = mkdtempSync(join(tmpdir(), 'pof-available-'));
  try {
    // 40 distinct sentences, each written 5 times: 200 records, 40 examples.
    const lines = Array.from({ length: 200 }, (_, i) => JSON.stringify({ text: `sentence number ${i % 40} about the weather`, label: i % 2 ? 'yes' : 'no' }));
    const file = join(folder, 'repeated.jsonl');
    writeFileSync(file, `${lines.join('\n')}\n`);
    const { inspection, estimate } = await checkDataset(file, { ...DEFAULT_SETTINGS, epsilon: 0.3 });
    assert.equal(inspection.usable, 200);
    assert.equal(inspection.distinctInputs, 40);
    // Hoeffding at ε = 0.3, δ = 0.05: ceil(ln(40) / 0.18) = 21 ≤ 40 available.
    assert.equal(estimate!.verdict.available, 40);
    assert.equal(estimate!.verdict.needed, 21);
    const strict = await checkDataset(file, { ...DEFAULT_SETTINGS, epsilon: 0.2 });
    // ceil(ln(40) / 0.08) = 47 > 40 distinct examples, though 200 records: no guarantee.
    assert.equal(strict.estimate!.verdict.needed, 47);
    assert.equal(strict.estimate!.verdict.kind, 'no-guarantee');
    // k_fit keeps room for the whole answer cap (labels of 1 token: p95 + 8 = 9), so a full prompt never cuts an answer.
    assert.equal(estimate!.answer.maxNewTokens, 9);
    assert.equal(estimate!.fit.reservedOutputTokens, 9);
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }
});
