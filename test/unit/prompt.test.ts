/** The prompt builder and example selection: templates, the token budget and the no-leak guarantee. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Example } from '../../src/engine/dataset/schema';
import type { ChatMessage, Tokenizer } from '../../src/engine/model/languageModel';
import { buildPrompt, type PromptSettings } from '../../src/engine/prompt/builder';
import { createSelector, isFixedPrompt, SELECTION_STRATEGIES } from '../../src/engine/prompt/selection';
import { DEFAULT_TEMPLATES, fill, parseTemplate, templateFor } from '../../src/engine/prompt/template';

/** A real, if simple, tokenizer: one token per white-space separated word, plus BOS. */
const wordTokenizer: Tokenizer = {
  encode: (text, options) => [...(options?.addSpecialTokens === false ? [] : [1]), ...text.split(/\s+/).filter(Boolean).map((word) => word.length)],
  decode: (ids) => ids.join(' '),
  countTokens: (text) => text.split(/\s+/).filter(Boolean).length,
  hasChatTemplate: false,
  applyChatTemplate: () => { throw new Error('no chat template'); },
};

const chatTokenizer: Tokenizer = {
  ...wordTokenizer,
  hasChatTemplate: true,
  applyChatTemplate: (messages: readonly ChatMessage[], options) =>
    messages.map((message) => `<${message.role}>${message.content}</${message.role}>`).join('') + (options.addGenerationPrompt ? '<assistant>' : ''),
};

const example = (line: number, input: string, reference: string, extra: Partial<Example> = {}): Example => ({ line, input, context: '', reference, ...extra });

const settings = (overrides: Partial<PromptSettings> = {}): PromptSettings => ({
  schema: 'input-output', template: DEFAULT_TEMPLATES['input-output'], chatTemplate: 'auto', contextLength: 1000, reservedOutputTokens: 10, labels: [], ...overrides,
});

test('optional template sections drop when their placeholder is empty', () => {
  const template = DEFAULT_TEMPLATES.instruction.example;
  assert.equal(fill(template, { input: 'Add', context: '2, 3', reference: '5' }), '### Instruction:\nAdd\n\n### Input:\n2, 3\n\n### Response:\n5');
  assert.equal(fill(template, { input: 'Say hi', context: '', reference: 'hi' }), '### Instruction:\nSay hi\n\n### Response:\nhi');
});

test('a text prompt puts the most relevant example nearest the query', () => {
  const query = example(9, 'q', 'gold');
  const result = buildPrompt(query, [example(1, 'a', 'A'), example(2, 'b', 'B')], wordTokenizer, settings());
  assert.ok(result.ok);
  assert.equal(result.built.prompt.text, 'Input: b\nOutput: B\n\nInput: a\nOutput: A\n\nInput: q\nOutput:');
  assert.equal(result.built.answerLead, ' ');
  assert.equal(result.built.answerEnd, '\n\nInput:');
  assert.deepEqual(result.built.exampleLines, [2, 1]);
  assert.equal(result.built.promptTokens, 12); // BOS + 11 words
  assert.deepEqual(result.built.stopSequences, ['\nInput:', '\n\n\n']);
});

test('the budget drops the least relevant examples, never the query', () => {
  const query = example(9, 'the query has five words', 'x');
  const pool = [1, 2, 3, 4, 5].map((line) => example(line, 'one two three four five six', 'seven'));
  // Each example is 9 words; query 7 words + BOS; budget 40 − 10 = 30 → two examples fit (8 + 18 = 26).
  const result = buildPrompt(query, pool, wordTokenizer, settings({ contextLength: 40 }));
  assert.ok(result.ok);
  assert.equal(result.built.shots, 2);
  assert.equal(result.built.droppedForBudget, 3);
  assert.deepEqual(result.built.exampleLines, [2, 1]);
  const tooLong = buildPrompt(example(9, 'w '.repeat(50), 'x'), [], wordTokenizer, settings({ contextLength: 40 }));
  assert.deepEqual(tooLong, { ok: false, reason: 'the query alone takes 53 tokens, more than the 30 left after reserving 10 for the answer', promptTokens: 53 });
});

test('one long example at the end does not push out the short, more relevant ones before it', () => {
  const query = example(99, 'q', 'x');
  const short = [1, 2, 3, 4, 5, 6, 7, 8, 9].map((line) => example(line, 'a', 'b'));
  const long = example(10, 'w '.repeat(1000), 'z');
  // Each short example is 4 words; query 3 words + BOS; budget 200 − 10 = 190: all nine fit, the long one does not.
  const result = buildPrompt(query, [...short, long], wordTokenizer, settings({ contextLength: 200 }));
  assert.ok(result.ok);
  assert.equal(result.built.shots, 9);
  assert.equal(result.built.droppedForBudget, 1);
  assert.equal(result.built.promptTokens, 40);
});

test('with a chat template, examples become turns and the query system message stays first', () => {
  const system: ChatMessage = { role: 'system', content: 'Be kind.' };
  const query = example(5, 'q', 'r', { messages: [system, { role: 'user', content: 'How?' }] });
  const shot = example(2, 'x', 'Fine.', { messages: [system, { role: 'user', content: 'Hi?' }] });
  const result = buildPrompt(query, [shot], chatTokenizer, settings({ schema: 'chat' }));
  assert.ok(result.ok);
  assert.equal(result.built.prompt.text, '<system>Be kind.</system><user>Hi?</user><assistant>Fine.</assistant><user>How?</user><assistant>');
  assert.equal(result.built.prompt.addSpecialTokens, false);
  assert.equal(result.built.usesChatTemplate, true);
});

test('an evaluated item offered as its own example is refused', () => {
  const query = example(3, 'q', 'r');
  assert.throws(() => buildPrompt(query, [query], wordTokenizer, settings()), /line 3 was offered as its own example/);
});

test('no selector ever returns the query, a duplicate of its input, or a conversation that continues into its answer', async () => {
  const query = example(1, 'What is 2+2?', '4', { label: 'math', messages: [{ role: 'user', content: 'What is 2+2?' }] });
  const pool: Example[] = [
    query,
    example(2, '  what IS 2+2? ', '5', { label: 'math' }), // a duplicate after case and space folding
    example(3, 'user: What is 2+2?\nassistant: 4\nuser: And 3+3?', '6', {
      label: 'math', messages: [{ role: 'user', content: 'What is 2+2?' }, { role: 'assistant', content: '4' }, { role: 'user', content: 'And 3+3?' }],
    }),
    example(4, 'Capital of France?', 'Paris', { label: 'geo' }),
    example(5, 'What is 2+3?', '5', { label: 'math' }),
  ];
  for (const strategy of SELECTION_STRATEGIES) {
    const selector = await createSelector(pool, { strategy, seed: 4 });
    const chosen = await selector.select(query, 10);
    assert.deepEqual(chosen.map((e) => e.line).sort(), [4, 5], strategy);
  }
});

test('a conversation holding the query and its answer is never a shot, whatever the system messages', async () => {
  const system: ChatMessage = { role: 'system', content: 'You are a vault.' };
  const query = example(1, 'user: What is the secret code?', 'XK-42', { messages: [{ role: 'user', content: 'What is the secret code?' }] });
  const leaking = example(2, 'x', 'You are welcome.', {
    messages: [system, { role: 'user', content: 'Hello' }, { role: 'assistant', content: 'Hi.' }, { role: 'user', content: 'what is the secret code?' }, { role: 'assistant', content: 'XK-42' }, { role: 'user', content: 'Thanks' }],
  });
  const harmless = example(3, 'y', 'Hi.', { messages: [system, { role: 'user', content: 'What is the secret code?' }, { role: 'assistant', content: 'I cannot say.' }, { role: 'user', content: 'Please' }] });
  for (const strategy of SELECTION_STRATEGIES) {
    const selector = await createSelector([query, leaking, harmless], { strategy, seed: 1 });
    assert.deepEqual((await selector.select(query, 5)).map((e) => e.line), [3], strategy);
  }
});

test('similar selection ranks by BM25, Chinese characters as words', async () => {
  const pool = [example(1, '今天天氣很好', 'a'), example(2, '我喜歡吃蘋果', 'b'), example(3, '天氣預報說明天下雨', 'c')];
  const selector = await createSelector(pool, { strategy: 'similar', seed: 1 });
  const chosen = await selector.select(example(9, '明天天氣', 'x'), 3);
  assert.deepEqual(chosen.map((e) => e.line), [3, 1, 2]);
});

test('stratified selection alternates labels, most frequent first', async () => {
  const pool = [example(1, 'a', 'pos', { label: 'pos' }), example(2, 'b', 'pos', { label: 'pos' }), example(3, 'c', 'pos', { label: 'pos' }), example(4, 'd', 'neg', { label: 'neg' })];
  const selector = await createSelector(pool, { strategy: 'stratified', seed: 2 });
  const chosen = await selector.select(example(9, 'z', 'neg', { label: 'neg' }), 3);
  assert.deepEqual(chosen.map((e) => e.label), ['pos', 'neg', 'pos']);
});

test('a user template overrides the schema default field by field, and a broken one is named', () => {
  const template = templateFor('input-output', parseTemplate({ example: 'Q: {input}\nA: {reference}', stopSequences: ['\nQ:'] }, 'my.json'));
  assert.deepEqual(template, { instruction: '', example: 'Q: {input}\nA: {reference}', separator: '\n\n', stopSequences: ['\nQ:'] });
  const result = buildPrompt(example(2, 'two', 'x'), [example(1, 'one', 'uno')], wordTokenizer, settings({ template }));
  assert.ok(result.ok);
  assert.equal(result.built.prompt.text, 'Q: one\nA: uno\n\nQ: two\nA:');
  assert.throws(() => parseTemplate({ example: 'Q: {input}' }, 'my.json'), /must contain \{reference\}/);
  assert.throws(() => parseTemplate({ exemple: 'x' }, 'my.json'), /^RangeError: my\.json: unknown template field "exemple"/);
  assert.throws(() => parseTemplate({ stopSequences: 'x' }, 'my.json'), /"stopSequences" must be a list of strings/);
  assert.throws(() => parseTemplate({ example: '{reference} <- {input}' }, 'my.json'), /must contain \{input\} before \{reference\}/);
  assert.throws(() => parseTemplate({ example: 'Q: {input}[[\nA: {reference}]]' }, 'my.json'), /must not stand inside an optional/);
  assert.throws(() => parseTemplate({ example: 'Q: {input} {reference} {reference}' }, 'my.json'), /\{reference\} once/);
});

test('a fixed prompt (first, random, stratified): every query gets the same examples, k shots are the first k of 2k, the prompts nest', async () => {
  const pool = Array.from({ length: 12 }, (_, i) => example(i + 1, `question ${i + 1}`, i % 3 === 0 ? 'yes' : 'no', { label: i % 3 === 0 ? 'yes' : 'no' }));
  const queries = [example(20, 'question twenty', 'yes', { label: 'yes' }), example(21, 'question twenty-one', 'no', { label: 'no' })];
  for (const strategy of ['first', 'random', 'stratified'] as const) {
    const selector = await createSelector(pool, { strategy, seed: 7 });
    assert.equal(isFixedPrompt(selector.strategy), true, strategy);
    const lines = async (query: Example, k: number): Promise<number[]> => (await selector.select(query, k)).map((e) => e.line);
    const eight = await lines(queries[0]!, 8);
    assert.equal(eight.length, 8, strategy);
    assert.deepEqual(await lines(queries[1]!, 8), eight, `${strategy}: the same examples for every query`);
    for (const k of [1, 2, 4]) assert.deepEqual(await lines(queries[0]!, k), eight.slice(0, k), `${strategy}: ${k} shots begin the 8`);
    // In the prompt they keep their order, so the k-shot prompt without its query begins the 2k-shot one.
    const promptOf = async (k: number): Promise<string> => {
      const result = buildPrompt(queries[0]!, await selector.select(queries[0]!, k), wordTokenizer, settings({ exampleOrder: 'as-given' }));
      assert.ok(result.ok);
      assert.deepEqual(result.built.exampleLines, eight.slice(0, k));
      return result.built.prompt.text;
    };
    const query = 'Input: question twenty\nOutput:';
    for (const k of [1, 2, 4]) {
      const small = await promptOf(k);
      assert.ok(small.endsWith(query), small);
      assert.ok((await promptOf(2 * k)).startsWith(small.slice(0, -query.length)), `${strategy}: ${k} shots nest in ${2 * k}`);
    }
  }
  // Another seed, another draw.
  const other = await createSelector(pool, { strategy: 'random', seed: 8 });
  const drawn = await createSelector(pool, { strategy: 'random', seed: 7 });
  assert.notDeepEqual((await other.select(queries[0]!, 8)).map((e) => e.line), (await drawn.select(queries[0]!, 8)).map((e) => e.line));
});

test('a fixed prompt skips, for one query only, an example that is that query\'s item', async () => {
  const pool = [example(1, 'alpha', 'a'), example(2, 'beta', 'b'), example(3, 'gamma', 'c'), example(4, 'delta', 'd')];
  const selector = await createSelector(pool, { strategy: 'first', seed: 1 });
  assert.deepEqual((await selector.select(example(9, 'BETA ', 'b'), 2)).map((e) => e.line), [1, 3]);
  assert.deepEqual((await selector.select(example(10, 'epsilon', 'e'), 2)).map((e) => e.line), [1, 2]);
});

test('a fixed prompt leaves out of its draw an example that cannot fit beside the longest query, so no item loses its shots to it', async () => {
  const { planExperiment, previewPrompt } = await import('../../src/engine/experiment/experiment');
  const { mkdtempSync, writeFileSync, rmSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const { DEFAULT_SETTINGS } = await import('../../src/engine/settings');
  const folder = mkdtempSync(join(tmpdir(), 'pof-fits-'));
  try {
    // 40 short records and 4 of 120 words, first in the file: `first` would draw them first. A long one fits as a
    // query, but not beside another long one.
    const long = Array.from({ length: 4 }, (_, i) => ({ input: `long ${i} ${'word '.repeat(120)}`, output: `L${i}` }));
    const short = Array.from({ length: 40 }, (_, i) => ({ input: `short question ${i}`, output: `answer ${i}` }));
    const file = join(folder, 'mixed.jsonl');
    writeFileSync(file, [...long, ...short].map((record) => JSON.stringify(record)).join('\n') + '\n');
    const model = { tokenizer: wordTokenizer, contextLength: 200, vocabularySize: 1000, id: 'words' };
    for (const selection of ['first', 'random', 'stratified'] as const) {
      const plan = await planExperiment(file, { ...DEFAULT_SETTINGS, selection, shots: [0, 1, 3], heldOut: 10, seed: 2, maxNewTokens: 4 }, model);
      for (const item of plan.heldOut) {
        const { result } = await previewPrompt(plan, item.line, 3, wordTokenizer);
        assert.ok(result.ok, selection);
        assert.equal(result.built.shots, 3, `${selection}, line ${item.line}: ${result.built.exampleLines.join(', ')}`);
        assert.ok(result.built.exampleLines.every((line) => line > 4), `${selection}: a long record was drawn`);
      }
    }
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }
});
