/**
 * The answer cap fits the references: by default p95 of their token lengths plus a margin, capped by the context;
 * an explicit setting wins; a run warns with how many held-out references exceed the cap, and counts, with the
 * reason, the references too long to score.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { answerCap } from '../../src/engine/bounds/estimate';
import { runExperiment } from '../../src/engine/experiment/experiment';
import type { LanguageModel } from '../../src/engine/model/languageModel';
import { DEFAULT_SETTINGS } from '../../src/engine/settings';
import { loadBuiltModel } from '../support/builtModel';
import { temporaryFolder } from '../support/paths';

const folder = temporaryFolder('pof-answer-length-');
let model: LanguageModel;
before(async () => {
  model = await loadBuiltModel(folder.path, 5);
});
after(async () => {
  await model?.dispose();
  folder.remove();
});

test('the default cap is p95 plus a quarter (at least 8), capped by the room the context leaves; a setting wins', () => {
  assert.deepEqual(answerCap(null, 4, { contextLength: 2048, afterQuery: 1000 }), { maxNewTokens: 12, source: 'p95 of the references (4 tokens) plus a margin' });
  assert.deepEqual(answerCap(null, 2000, { contextLength: 131_072, afterQuery: 100_000 }), { maxNewTokens: 2500, source: 'p95 of the references (2000 tokens) plus a margin' });
  assert.deepEqual(answerCap(null, 2000, { contextLength: 2048, afterQuery: 1500 }), { maxNewTokens: 1500, source: 'p95 of the references plus a margin (2500 tokens), capped by the 1500 the context leaves after the query' });
  // Queries longer than the context do not cut the cap below a quarter of it.
  assert.deepEqual(answerCap(null, 300, { contextLength: 512, afterQuery: -200 }), { maxNewTokens: 128, source: 'p95 of the references plus a margin (375 tokens), capped at a quarter of the context (long queries leave less)' });
  assert.deepEqual(answerCap(null, 20, { contextLength: 512, afterQuery: -200 }).maxNewTokens, 28);
  assert.deepEqual(answerCap(64, 2000, { contextLength: 2048, afterQuery: 1500 }), { maxNewTokens: 64, source: 'setting' });
});

test('a run sizes its answers from the references, warns about the ones over the cap, and counts the unscorable', async () => {
  const file = join(folder.path, 'long.jsonl');
  // References of 3 to 40 words (the built model's vocabulary makes words of several tokens); one of 900 words, too long for its 512-token context.
  const rows = Array.from({ length: 24 }, (_, i) => JSON.stringify({ question: `question ${i}`, answer: i === 0 ? 'word '.repeat(900).trim() : `answer ${'x '.repeat(3 + (i % 3) * 18).trim()}` }));
  writeFileSync(file, rows.join('\n') + '\n');
  const settings = { ...DEFAULT_SETTINGS, shots: [0], heldOut: 12, seed: 1 };
  const report = await runExperiment({ file, settings, model, cacheFolder: null });
  assert.equal(report.estimate.answer.source.startsWith('p95 of the references'), true, report.estimate.answer.source);
  assert.equal(report.settings.maxNewTokens, report.estimate.answer.maxNewTokens);
  const lines = new Set(report.items.map((row) => row.line));
  assert.ok(lines.has(1), 'the 900-word reference is held out with seed 1');
  const point = report.curve[0]!;
  assert.equal(point.measuredEpsilon?.unscored, 1);
  assert.deepEqual(point.measuredEpsilon?.unscoredReasons, { 'prompt and reference are longer than the context': 1 });
  assert.equal(point.measuredEpsilon?.n, 11);
  assert.equal(report.items.find((row) => row.line === 1)?.unscoredReason, 'prompt and reference are longer than the context');
  assert.match(report.warnings?.[0] ?? '', /^1 of 12 held-out references are longer than the answer cap of \d+ tokens \(p95 of the references/);
  assert.equal(report.warnings?.[1], '1 item run (at k = 0) could not be scored for measured ε: prompt and reference are longer than the context; ε is over the others.');

  // An explicit cap wins, and every reference over it is counted.
  const explicit = await runExperiment({ file, settings: { ...settings, maxNewTokens: 2 }, model, cacheFolder: null });
  assert.equal(explicit.settings.maxNewTokens, 2);
  assert.deepEqual(explicit.estimate.answer, { maxNewTokens: 2, source: 'setting' });
  assert.deepEqual(explicit.warnings, [
    '12 of 12 held-out references are longer than the answer cap of 2 tokens (setting): their outputs are cut, so they cannot match exactly; set maxNewTokens (--max-new-tokens) higher to let them finish.',
    '1 item run (at k = 0) could not be scored for measured ε: prompt and reference are longer than the context; ε is over the others.',
  ]);
});

test('a template with no stop sequence gives no end to score, and the report says what measured ε then measures', async () => {
  const file = join(folder.path, 'short.jsonl');
  writeFileSync(file, Array.from({ length: 8 }, (_, i) => JSON.stringify({ question: `q ${i}`, answer: `a ${i}` })).join('\n') + '\n');
  const report = await runExperiment({ file, settings: { ...DEFAULT_SETTINGS, shots: [0, 1], heldOut: 2, chatTemplate: 'never', template: { stopSequences: [] } }, model, cacheFolder: null });
  assert.equal(report.answerEnd, '');
  assert.deepEqual(report.warnings, ['No end of answer was found (no stop sequence follows a reference in the template, or the chat template\'s end of turn could not be read): measured ε scores the reference alone, so it measures "the answer starts with the reference".']);
  assert.ok(report.items.every((row) => typeof row.referenceProbability === 'number'));
});
