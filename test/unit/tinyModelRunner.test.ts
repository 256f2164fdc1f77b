/**
 * The real runner on a model the tests build themselves, so these run where ../shared is absent:
 * exact greedy ids, teacher-forced scores, and the model's chat template through the prompt builder.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import type { LanguageModel } from '../../src/engine/model/languageModel';
import { buildPrompt } from '../../src/engine/prompt/builder';
import { DEFAULT_TEMPLATES } from '../../src/engine/prompt/template';
import { checkDataset } from '../../src/engine/datasetCheck';
import { DEFAULT_SETTINGS } from '../../src/engine/settings';
import { REPO_ROOT, temporaryFolder } from '../support/paths';
import { loadBuiltModel } from '../support/builtModel';

const folder = temporaryFolder('pof-tiny-runner-');
let model: LanguageModel;

before(async () => {
  model = await loadBuiltModel(folder.path, 1);
});

after(async () => {
  await model?.dispose();
  folder.remove();
});

test('the built model loads with its context length, vocabulary and chat template', () => {
  assert.equal(model.contextLength, 512);
  assert.equal(model.vocabularySize, 512);
  assert.equal(model.tokenizer.hasChatTemplate, true);
  assert.deepEqual(model.tokenizer.encode('Hello world'), [1, 301, 319]);
});

test('greedy generation gives the exact ids that transformers.js gives for the same weights', async () => {
  const generation = await model.generate({ text: 'Hello world', addSpecialTokens: true }, { maxNewTokens: 8 });
  // The same ids as test/unit/tinyLlama.test.ts observes through AutoModelForCausalLM.generate directly.
  assert.deepEqual(generation.tokenIds, [161, 112, 68, 247, 174, 276, 186, 209]);
  assert.equal(generation.finishReason, 'max-new-tokens');
  assert.equal(generation.promptTokenCount, 3);
  // Random weights emit byte tokens that are not valid UTF-8 on their own: replacement characters, as decoded.
  assert.equal(generation.text, '\ufffdk?\ufffdmp\ufffd\ufffd');
});

test('a score is the sum of its per-token log-probabilities, and deterministic', async () => {
  const prompt = { text: 'Hello', addSpecialTokens: true };
  const first = await model.score(prompt, ' world');
  const again = await model.score(prompt, ' world');
  assert.deepEqual(again, first);
  // " world" merges into one token of the tiny vocabulary; its log-probability after "Hello", observed once.
  assert.equal(first.tokenCount, 1);
  assert.ok(Math.abs(first.logProb - -16.952686) < 1e-4, String(first.logProb));
  assert.ok(Math.abs(first.tokenLogProbs.reduce((a, b) => a + b, 0) - first.logProb) < 1e-9);
});

test("the prompt builder renders examples through the model's chat template", () => {
  const result = buildPrompt(
    { line: 3, input: 'Capital of Peru?', context: '', reference: 'Lima' },
    [{ line: 1, input: 'Capital of Chile?', context: '', reference: 'Santiago' }],
    model.tokenizer,
    { schema: 'input-output', template: DEFAULT_TEMPLATES['input-output'], chatTemplate: 'auto', contextLength: 512, reservedOutputTokens: 16, labels: [] },
  );
  assert.ok(result.ok);
  assert.equal(result.built.prompt.text,
    '<|im_start|>user\nInput: Capital of Chile?\nOutput:<|im_end|>\n<|im_start|>assistant\nSantiago<|im_end|>\n' +
    '<|im_start|>user\nInput: Capital of Peru?\nOutput:<|im_end|>\n<|im_start|>assistant\n');
  assert.equal(result.built.prompt.addSpecialTokens, false);
  assert.deepEqual(result.built.stopSequences, []);
});

test("k_fit is measured in the prompt a run sends: the chat template's per-turn tokens count", async () => {
  const facts = { tokenizer: model.tokenizer, contextLength: model.contextLength, vocabularySize: model.vocabularySize, id: model.id };
  const file = join(REPO_ROOT, 'examples', 'capitals.jsonl');
  const chat = await checkDataset(file, { ...DEFAULT_SETTINGS, chatTemplate: 'auto' }, { model: facts });
  const text = await checkDataset(file, { ...DEFAULT_SETTINGS, chatTemplate: 'never' }, { model: facts });
  const chatFit = chat.estimate!.fit;
  const textFit = text.estimate!.fit;
  // ChatML wraps each example in two turns: <|im_start|>user\n…<|im_end|>\n<|im_start|>assistant\n…<|im_end|>\n.
  assert.ok(chatFit.meanTokensPerExample > textFit.meanTokensPerExample, `${chatFit.meanTokensPerExample} vs ${textFit.meanTokensPerExample}`);
  assert.ok(chatFit.kFit < textFit.kFit);
  // And k_fit holds for the prompt a run builds: the longest query with k_fit shots fits, nothing dropped.
  const examples = chat.inspection.examples;
  const longest = examples.reduce((a, b) => (b.input.length > a.input.length ? b : a));
  const shots = examples.filter((example) => example !== longest).slice(0, chatFit.kFit);
  const built = buildPrompt(longest, shots, model.tokenizer, {
    schema: 'input-output', template: DEFAULT_TEMPLATES['input-output'], chatTemplate: 'auto', contextLength: 512,
    reservedOutputTokens: chatFit.reservedOutputTokens, labels: [],
  });
  assert.ok(built.ok);
  assert.equal(built.built.shots, chatFit.kFit);
  assert.equal(built.built.droppedForBudget, 0);
});
