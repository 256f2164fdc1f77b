// The hover's plain-text Markdown and the degenerate-run sentences, on real inputs with exact outputs.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { degenerateNotes } from '../../src/engine/experiment/degenerate';
import type { ExperimentReport, ItemRow } from '../../src/engine/experiment/report';
import { plainMarkdown } from '../../src/extension/markdownText';

test('plain text in a hover keeps ordinary spaces and escapes every markup character', () => {
  assert.equal(plainMarkdown('The 185 examples needed'), 'The 185 examples needed');
  assert.equal(plainMarkdown('<img src=x> & *b* [l](command:x) $(play) `c`'), '&lt;img src\\=x\\> &amp; \\*b\\* \\[l\\]\\(command\\:x\\) \\$\\(play\\) \\`c\\`');
  assert.equal(plainMarkdown('https://example.com\nnext'), 'https\\:\\/\\/example\\.com next');
  assert.ok(!plainMarkdown('a b c').includes('&nbsp;'));
});

function report(overrides: { kFit: number; instruction?: number; query: number; reserved?: number; context?: number; items?: Partial<ItemRow>[]; skippedAtZero?: number; primary?: 'exact_match' | 'label_accuracy' }): Parameters<typeof degenerateNotes>[0] {
  const context = overrides.context ?? 512;
  return {
    estimate: { fit: { contextLength: context, instructionTokens: overrides.instruction ?? 10, queryTokens: overrides.query, reservedOutputTokens: overrides.reserved ?? 64, meanTokensPerExample: 100, percentile: 'p95', estimated: false, kFit: overrides.kFit } } as ExperimentReport['estimate'],
    curve: [],
    items: (overrides.items ?? []).map((item) => ({ k: 0, predictedLabel: null, ...item }) as ItemRow),
    skippedItems: Array.from({ length: overrides.skippedAtZero ?? 0 }, (_, index) => ({ k: 0, line: index + 1, reason: 'too long' })),
    model: { id: 'm', fingerprint: 'f', contextLength: context, vocabularySize: 512 },
    primaryMetric: overrides.primary ?? 'exact_match',
  };
}

test('no degenerate note for an ordinary run', () => {
  assert.deepEqual(degenerateNotes(report({ kFit: 4, query: 50, items: [{ predictedLabel: null }] })), []);
});

test('no shot fits: its own sentence, not a levelling-off', () => {
  assert.deepEqual(degenerateNotes(report({ kFit: 0, query: 400, items: [{}] })), [
    'No example fits in the context (512 tokens): only k = 0 could be measured, so this run says nothing about prompting with examples. Choose a model with a longer context, or shorten the examples.',
  ]);
});

test('the query alone exceeds the context: a longer-context model, never retrieval', () => {
  const notes = degenerateNotes(report({ kFit: 0, query: 600, skippedAtZero: 4 }));
  assert.deepEqual(notes, [
    "The query alone does not fit: the instruction, a p95 query and the space reserved for the answer take 674 tokens, more than the model's context of 512. Choose a model with a longer context; selecting fewer or more relevant examples cannot help.",
  ]);
});

test('a classifier that never produced a valid label says so', () => {
  const notes = degenerateNotes(report({ kFit: 3, query: 50, primary: 'label_accuracy', items: [{ predictedLabel: null }, { predictedLabel: null, k: 1 }] }));
  assert.deepEqual(notes, ["The model produced no valid label in any of its 2 answers: none matched one of the dataset's labels, so the disagreement is 100% by construction. Check the prompt template, or try a model that follows the format."]);
  assert.deepEqual(degenerateNotes(report({ kFit: 3, query: 50, primary: 'label_accuracy', items: [{ predictedLabel: null }, { predictedLabel: 'yes' }] })), []);
});
