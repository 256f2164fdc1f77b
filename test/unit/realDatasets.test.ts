/** The reader gives the record counts, schemas and field mappings stated in ../shared/datasets/real/SOURCES.md. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { inspectDataset } from '../../src/engine/dataset/inspect';
import { realDataset, sharedMissing } from '../support/paths';

const skip = sharedMissing;

test('01 OpenAI toy chat: 5 chat records, the one without a user turn is reported', { skip }, async () => {
  const result = await inspectDataset(realDataset('01-openai-toy-chat.jsonl'));
  assert.equal(result.records, 5);
  assert.equal(result.invalid, 0);
  assert.equal(result.schema, 'chat');
  assert.deepEqual(result.fields, { input: 'messages', context: null, reference: 'messages[last assistant]', label: null });
  assert.deepEqual(result.schemaProblems, [{ line: 4, column: 1, message: 'no user message before the last assistant message' }]);
  assert.equal(result.usable, 4);
  assert.equal(result.characters.reference.max, 26000);
});

test('03 Mandarin–Cantonese: 2000 prompt-completion records with duplicates and conflicts counted', { skip }, async () => {
  const result = await inspectDataset(realDataset('03-prompt-completion-mandarin-cantonese.jsonl'));
  assert.equal(result.records, 2000);
  assert.equal(result.schema, 'prompt-completion');
  assert.deepEqual([result.fields.input, result.fields.reference], ['prompt', 'completion']);
  assert.equal(result.duplicateInputs, 110);
  assert.equal(result.conflictingInputs, 98);
  assert.equal(result.distinctInputs, 1890);
});

test('04 Alpaca: 774 instruction records without a final newline', { skip }, async () => {
  const result = await inspectDataset(realDataset('04-alpaca-instruction-input-output.jsonl'));
  assert.equal(result.records, 774);
  assert.equal(result.schema, 'instruction');
  assert.deepEqual(result.fields, { input: 'instruction', context: 'input', reference: 'output', label: null });
  assert.equal(result.scan.endsWithNewline, false);
  assert.equal(result.invalid, 0);
});

test('05 emotion: 2000 classification records with the exact label counts', { skip }, async () => {
  const result = await inspectDataset(realDataset('05-classify-emotion-text-label-str.jsonl'));
  assert.equal(result.records, 2000);
  assert.equal(result.schema, 'classification');
  assert.deepEqual(result.labels, { joy: 695, sadness: 581, anger: 275, fear: 224, love: 159, surprise: 66 });
  assert.deepEqual([result.fields.input, result.fields.label], ['text', 'label']);
});

test('07 self-instruct: the fine-tuned response is the default reference, the gold target is offered', { skip }, async () => {
  const result = await inspectDataset(realDataset('07-gold-vs-finetuned-self-instruct.jsonl'));
  assert.equal(result.records, 252);
  assert.equal(result.schema, 'instruction');
  assert.equal(result.fields.reference, 'response');
  assert.deepEqual(result.referenceCandidates, [{ path: 'response', kind: 'model-output' }, { path: 'target', kind: 'gold' }]);
  const gold = await inspectDataset(realDataset('07-gold-vs-finetuned-self-instruct.jsonl'), { fields: { reference: 'target' } });
  assert.equal(gold.fields.reference, 'target');
  assert.equal(gold.usable, 252);
});

test('11 BOM + CRLF + no final newline: 5 question/answer records', { skip }, async () => {
  const result = await inspectDataset(realDataset('11-messy-bom-crlf-rag-answers.jsonl'));
  assert.equal(result.records, 5);
  assert.equal(result.schema, 'input-output');
  assert.deepEqual([result.fields.input, result.fields.reference], ['question', 'answer']);
  assert.equal(result.scan.hasByteOrderMark, true);
  assert.equal(result.scan.crlfLines, 4); // the fifth line has no line end at all
  assert.equal(result.scan.endsWithNewline, false);
  assert.ok(result.examples[0]!.input.startsWith("What's Azure"));
});

test('13 pretty-printed chat: 24 records read across 96 lines, with a warning', { skip }, async () => {
  const result = await inspectDataset(realDataset('13-messy-pretty-printed-chat-es.jsonl'));
  assert.equal(result.records, 24);
  assert.equal(result.invalid, 0);
  assert.equal(result.schema, 'chat');
  assert.equal(result.scan.lines, 96);
  assert.equal(result.scan.multiLineRecords, 24);
  assert.match(result.warnings[0]!.message, /^24 records span several lines \(pretty-printed JSON\)/);
  assert.deepEqual(result.examples.slice(0, 2).map((example) => example.line), [1, 5]);
});

test('14 blank lines between records: 10 prompt-completion records', { skip }, async () => {
  const result = await inspectDataset(realDataset('14-messy-blank-lines-prompt-completion-pt.jsonl'));
  assert.equal(result.records, 10);
  assert.equal(result.scan.blankLines, 10);
  assert.equal(result.invalid, 0);
  assert.equal(result.schema, 'prompt-completion');
});
