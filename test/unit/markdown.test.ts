/**
 * The Markdown export with hostile names and texts: every value escaped for where it goes (heading, code span,
 * table cell), so nothing from a dataset or a model folder becomes markup, HTML or a new table row.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ExperimentReport, ItemRow } from '../../src/engine/experiment/report';
import { codeSpan, escapeMarkdown, renderReportMarkdown, summaryParagraph } from '../../src/engine/report/markdown';

function item(output: string, reference: string): ItemRow {
  return {
    k: 0, line: 7, prompt: 'p', promptTokens: 3, shotsUsed: 0, exampleLines: [], output, finishReason: 'end-of-sequence', reference,
    predictedLabel: null, scores: { exact_match: 0 }, referenceLogProb: null, referenceTokens: null, cached: false, milliseconds: 1,
  };
}

/** A small report as a run yields it, with the given names and items. */
function report(datasetName: string, modelId: string, items: ItemRow[], warnings?: string[]): ExperimentReport {
  const summary = { mean: 0, low: 0, high: 0, interval: 'wilson' as const };
  return {
    version: 1, createdAt: '2026-01-01T00:00:00.000Z', complete: true,
    dataset: { file: `/data/${datasetName}`, name: datasetName, schema: 'input-output', fields: { input: 'q', reference: 'a', context: null, label: null }, records: 10, usable: 10, invalid: 0 },
    model: { id: modelId, fingerprint: 'f', contextLength: 512, vocabularySize: 100 },
    settings: { epsilon: 0.1, delta: 0.05, seed: 1, selection: 'random', maxNewTokens: 8, requestedShots: [0], heldOut: 1, chatTemplate: false },
    split: { heldOut: items.length, pool: 9 }, shots: [0], leftOutShots: [], primaryMetric: 'exact_match',
    estimate: {
      task: 'generation', inputs: {} as ExperimentReport['estimate']['inputs'], sources: {} as ExperimentReport['estimate']['sources'],
      bounds: [{ task: 'generation', context: 'bounded', paperForm: 'O( 1/ε² · log(1/δ) )', withUnitConstant: 10, standardInequality: 'Hoeffding: ln(2/δ) / (2ε²)', standardValue: 185 } as ExperimentReport['estimate']['bounds'][number]],
      fit: { contextLength: 512, instructionTokens: 0, queryTokens: 10, reservedOutputTokens: 8, meanTokensPerExample: 20, percentile: 'p95', estimated: false, kFit: 24 },
      verdict: { kind: 'prompting-suffices', bound: 'x', needed: 1, kFit: 24, available: 9, sentence: 'In theory prompting suffices.' } as unknown as ExperimentReport['estimate']['verdict'],
      answer: { maxNewTokens: 8, source: 'setting' },
    },
    verdict: {
      theory: { sentence: 'In theory prompting suffices.' } as ExperimentReport['verdict']['theory'],
      measured: { kind: 'fine-tune', k: 0, sentence: 'Fine-tune.', itemsNeeded: null, evidence: null },
    },
    curve: [{
      k: 0, n: items.length, meanShotsUsed: 0, metrics: { exact_match: summary }, disagreement: { rate: 1, low: 0.5, high: 1, hoeffdingHalfWidth: 0.5 },
      referenceLogProbPerToken: null, referencePerplexity: null, predictedLabels: null, referenceLabels: null, labelTotalVariation: null, paired: null,
    }],
    items, skippedItems: [],
    timing: { seconds: 1, modelCalls: 1, cachedCalls: 0, generatedTokens: 1, scoredTokens: 0, generatedTokensPerSecond: null, scoredTokensPerSecond: null },
    ...(warnings ? { warnings } : {}),
  };
}

test('a model folder named with a backtick and an <img onerror> stays inside its code span', () => {
  const id = '/models/x`<img src=x onerror=alert(1)>`';
  assert.equal(codeSpan(id), '`` /models/x`<img src=x onerror=alert(1)>` ``');
  assert.equal(codeSpan('a``b'), '```a``b```');
  assert.equal(codeSpan('line\r\nbreak\rand\nmore'), '`line break and more`');
  const markdown = renderReportMarkdown(report('data.jsonl', id, [item('a', 'b')]));
  assert.ok(markdown.includes('Model `` /models/x`<img src=x onerror=alert(1)>` `` (context 512)'), markdown);
});

test('a lone CR, a pipe or HTML in any text never ends a table row or becomes markup', () => {
  assert.equal(escapeMarkdown('x\ry|z<b>&amp;\n[link](javascript:alert(1))'), 'x ⏎ y\\|z\\<b\\>\\&amp; ⏎ \\[link\\]\\(javascript\\:alert\\(1\\)\\)');
  assert.equal(escapeMarkdown('a\u2028b\u0000c\u001bd'), 'a ⏎ b\uFFFDc\uFFFDd');
  const items = [item('one\rtwo', 'ref|erence'), item('<img src=x onerror=alert(1)>', 'ok\r\n\r\nstill the same row')];
  const markdown = renderReportMarkdown(report('data\r# not a heading.jsonl', 'model', items));
  assert.ok(!/[\r\u2028\u2029]/.test(markdown));
  const lines = markdown.split('\n');
  assert.equal(lines[0], '# Prompt or Fine-Tune: data ⏎ \\# not a heading\\.jsonl');
  const itemRows = lines.slice(lines.indexOf('## Items') + 2).filter(Boolean);
  assert.deepEqual(itemRows, [
    '| k | line | output | reference | Exact match |',
    '|---|---|---|---|---|',
    '| 0 | 7 | one ⏎ two | ref\\|erence | 0 |',
    '| 0 | 7 | \\<img src\\=x onerror\\=alert\\(1\\)\\> | ok ⏎  ⏎ still the same row | 0 |',
  ]);
});

test('warnings of the run are in the export once, escaped', () => {
  const markdown = renderReportMarkdown(report('d.jsonl', 'm', [item('a', 'b')], ['The output cache folder /tmp/<x> could not be written.']));
  assert.ok(markdown.includes('**Warning:** The output cache folder /tmp/\\<x\\> could not be written\\.\n'), markdown);
  // Once, under the verdict: never again unescaped further down.
  assert.equal(markdown.split('could not be written').length - 1, 1, markdown);
  // The terminal summary carries no control characters from a file name.
  assert.ok(!summaryParagraph(report('evil\u001b[2J.jsonl', 'm', [item('a', 'b')])).includes('\u001b'));
});

test("the export says what the curve lacks (left-out shot counts, skipped item runs) and each metric's interval", () => {
  const base = report('d.jsonl', 'm', [item('a', 'b')]);
  const markdown = renderReportMarkdown({
    ...base,
    leftOutShots: [{ k: 32, reason: '23 shots fit in 512 tokens' }],
    skippedItems: [{ k: 1, line: 572, reason: 'the prompt <is> too long' }],
    curve: [{ ...base.curve[0]!, metrics: { exact_match: { mean: 0.25, low: 0.1, high: 0.5, interval: 'wilson' } } }],
  });
  assert.ok(markdown.includes('**Shot counts left out:**\n\n- k = 32: 23 shots fit in 512 tokens\n'), markdown);
  assert.ok(markdown.includes('**Item runs skipped (1):**\n\n- line 572 at k = 1: the prompt \\<is\\> too long\n'), markdown);
  assert.ok(markdown.includes('| Exact match (95% interval) |'), markdown);
  assert.ok(markdown.includes('| 100.0% [50.0%, 100.0%] | 25.0% [10.0%, 50.0%] |'), markdown);
});
