/**
 * One conditioning: the prompt generation sees is, token for token, the prefix of what scoring sees (prompt,
 * answer and end tokenized together), for every default template, on the real stories260K tokenizer. The query no
 * longer ends in a lone space token ("Label: "); the answer brings its space (" old").
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Example, SchemaName } from '../../src/engine/dataset/schema';
import { answerText } from '../../src/engine/experiment/measuredEpsilon';
import type { LanguageModel } from '../../src/engine/model/languageModel';
import { loadLanguageModel } from '../../src/engine/model/transformers/transformersModel';
import { buildPrompt, chatAnswerEnd } from '../../src/engine/prompt/builder';
import { answerEnd, DEFAULT_TEMPLATES, renderQuery } from '../../src/engine/prompt/template';
import { loadBuiltModel } from '../support/builtModel';
import { sharedMissing, STORIES_260K, temporaryFolder } from '../support/paths';

let model: LanguageModel;
before(async () => {
  if (!sharedMissing) model = await loadLanguageModel({ model: STORIES_260K, allowDownload: false, threads: 1 });
});
after(async () => model?.dispose());

const records: Record<SchemaName, Example> = {
  'prompt-completion': { line: 2, input: 'Once upon a time ->', context: '', reference: ' there was a cat.' },
  instruction: { line: 2, input: 'Name a color.', context: 'The sky', reference: 'Blue is the color of the sky.' },
  classification: { line: 2, input: 'The dog was happy.', context: '', reference: 'happy', label: 'happy' },
  'input-output': { line: 2, input: 'What did Lily see?', context: '', reference: 'A big red ball.' },
  chat: { line: 2, input: 'user: Hi Tim!', context: '', reference: 'Hello Lily.', messages: [{ role: 'user', content: 'Hi Tim!' }] },
  unknown: { line: 2, input: 'The sun', context: '', reference: 'was hot.' },
};
const shot = (query: Example): Example => ({ ...query, line: 1, input: `${query.input} Again`, messages: query.messages?.map((m) => ({ ...m, content: `${m.content} Again` })) });

test('no default template ends its query with a space; the answer brings it', () => {
  assert.equal(renderQuery(DEFAULT_TEMPLATES.classification, records.classification), 'Text: The dog was happy.\nLabel:');
  assert.equal(renderQuery(DEFAULT_TEMPLATES['input-output'], records['input-output']), 'Input: What did Lily see?\nOutput:');
  assert.equal(renderQuery(DEFAULT_TEMPLATES.instruction, records.instruction), '### Instruction:\nName a color.\n\n### Input:\nThe sky\n\n### Response:\n');
  for (const schema of Object.keys(DEFAULT_TEMPLATES) as SchemaName[]) {
    assert.doesNotMatch(renderQuery(DEFAULT_TEMPLATES[schema], records[schema]), /[ \t]$/, schema);
  }
  // The end of an answer as the demonstrations show it, up to the stop sequence that ends generation there.
  assert.equal(answerEnd(DEFAULT_TEMPLATES.classification, records.classification), '\n');
  assert.equal(answerEnd(DEFAULT_TEMPLATES['prompt-completion'], records['prompt-completion']), '\n');
  assert.equal(answerEnd(DEFAULT_TEMPLATES.instruction, records.instruction), '\n\n### Instruction:');
  assert.equal(answerEnd(DEFAULT_TEMPLATES['input-output'], records['input-output']), '\n\nInput:');
  assert.equal(answerEnd(DEFAULT_TEMPLATES.chat, records.chat), '\n\nuser:');
});

test('generation\'s prompt tokens are the prefix of scoring\'s prompt + answer tokens, for every default template (stories260K)', { skip: sharedMissing }, async () => {
  for (const schema of Object.keys(DEFAULT_TEMPLATES) as SchemaName[]) {
    const query = records[schema];
    const result = buildPrompt(query, [shot(query)], model.tokenizer, {
      schema, template: DEFAULT_TEMPLATES[schema], chatTemplate: 'auto', contextLength: 512, reservedOutputTokens: 16, labels: ['happy', 'sad'],
    });
    assert.ok(result.ok, schema);
    const { prompt, answerLead, answerEnd: end } = result.built;
    const generationIds = model.tokenizer.encode(prompt.text, { addSpecialTokens: prompt.addSpecialTokens });
    const scoringIds = model.tokenizer.encode(prompt.text + answerText(answerLead, query.reference, end), { addSpecialTokens: prompt.addSpecialTokens });
    assert.deepEqual(scoringIds.slice(0, generationIds.length), generationIds, schema);
    assert.ok(scoringIds.length > generationIds.length, schema);
    // The model's own generation conditions on exactly those ids.
    const generation = await model.generate(prompt, { maxNewTokens: 1 });
    assert.equal(generation.promptTokenCount, generationIds.length, schema);
  }
});

test('the old trailing space did split them: "Label: " is a lone space token that scoring merges into the answer', { skip: sharedMissing }, () => {
  const old = 'Text: The dog was happy.\nLabel: ';
  const generationIds = model.tokenizer.encode(old);
  const scoringIds = model.tokenizer.encode(old + 'happy\n');
  assert.notDeepEqual(scoringIds.slice(0, generationIds.length), generationIds);
  // Now: "Label:" then " happy" — the same ids up to the answer.
  const now = model.tokenizer.encode('Text: The dog was happy.\nLabel:');
  assert.deepEqual(model.tokenizer.encode('Text: The dog was happy.\nLabel: happy\n').slice(0, now.length), now);
});

test("with a chat template the answer ends with the template's end of turn, one special token, after the same prompt tokens", async () => {
  const folder = temporaryFolder('pof-chat-end-');
  const chatModel = await loadBuiltModel(folder.path, 3);
  try {
    assert.equal(chatAnswerEnd(chatModel.tokenizer), '<|im_end|>');
    assert.deepEqual(chatModel.tokenizer.encode('<|im_end|>', { addSpecialTokens: false }), [4]);
    const result = buildPrompt(records.chat, [shot(records.chat)], chatModel.tokenizer, {
      schema: 'chat', template: DEFAULT_TEMPLATES.chat, chatTemplate: 'auto', contextLength: 512, reservedOutputTokens: 16, labels: [],
    });
    assert.ok(result.ok);
    const { prompt, answerLead, answerEnd: end } = result.built;
    assert.deepEqual([answerLead, end], ['', '<|im_end|>']);
    const generationIds = chatModel.tokenizer.encode(prompt.text, { addSpecialTokens: false });
    const scoringIds = chatModel.tokenizer.encode(prompt.text + answerText(answerLead, records.chat.reference, end), { addSpecialTokens: false });
    assert.deepEqual(scoringIds.slice(0, generationIds.length), generationIds);
    assert.equal(scoringIds[scoringIds.length - 1], 4);
  } finally {
    await chatModel.dispose();
    folder.remove();
  }
});
