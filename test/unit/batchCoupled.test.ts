/**
 * A graph that couples the rows of a batch (dynamic quantization, as transformers.js' `q8` files: one activation
 * scale for the whole input) gives a prompt a result that depends on the prompts, prefix or draft run beside it.
 * The load finds such operators in the ONNX file (onnxSummary.ts, batchCoupledOps) and the runner then runs every
 * prompt and scored pair alone: batched calls must equal one-at-a-time calls exactly, each forward pass one row.
 * On the built tiny Llama, quantized here (test/support/graphVariants.ts).
 *
 * Run: node --import tsx --test test/unit/batchCoupled.test.ts
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, test } from 'node:test';

import type { Generation, LanguageModel, PromptInput } from '../../src/engine/model/languageModel';
import { batchCoupledOps, readOnnxSummary } from '../../src/engine/model/onnxSummary';
import { loadLanguageModel } from '../../src/engine/model/transformers/transformersModel';
import { quantizeDynamically } from '../support/graphVariants';
import { recordingCalls } from '../support/forwardCalls';
import { temporaryFolder } from '../support/paths';
import { buildTinyLlama, TINY_SHAPE } from '../support/tinyLlama';

const folder = temporaryFolder('pof-coupled-');
const plainFolder = join(folder.path, 'plain');
const quantizedFolder = join(folder.path, 'q8');
let model: LanguageModel;

const shared = 'Lily and Max went to the park with a ball.\n';
const prompts: PromptInput[] = ['Once upon a time', 'The dog ran', 'They saw a big red tree and a bird', 'Hello', 'Tom had a cat. The cat', 'A'].map((tail) => ({ text: shared + tail, addSpecialTokens: true }));

before(async () => {
  await buildTinyLlama(plainFolder, { seed: 3 });
  await buildTinyLlama(quantizedFolder, { seed: 3 });
  assert.equal(quantizeDynamically(quantizedFolder), 7 * TINY_SHAPE.layers + 1); // q, k, v, o, gate, up, down per layer; the head
  model = await loadLanguageModel({ model: quantizedFolder, allowDownload: false, threads: 1 });
});

after(async () => {
  await model?.dispose();
  folder.remove();
});

test('the load finds the batch-coupled operators in the graph, and the report is told', () => {
  assert.deepEqual(batchCoupledOps(readOnnxSummary(join(quantizedFolder, 'onnx', 'model.onnx'))), ['DynamicQuantizeLinear']);
  assert.deepEqual(batchCoupledOps(readOnnxSummary(join(plainFolder, 'onnx', 'model.onnx'))), []);
  assert.match(model.capabilities?.batching ?? '', /^none: .*\(DynamicQuantizeLinear\).*each prompt runs alone$/);
});

test('batched generation with a prefix and drafts equals generate, prompt by prompt, one row a pass', async () => {
  const options = { maxNewTokens: 12, stopSequences: ['.'] };
  const expected: Generation[] = [];
  for (const prompt of prompts) expected.push(await model.generate(prompt, options));
  const prefix = await model.prefill!({ text: shared, addSpecialTokens: true });
  const drafts = expected.map((generation, i) => (i % 2 ? generation.text : ' a draft that is not the answer'));
  const { value, calls } = await recordingCalls(model, () => model.generateBatch!(prompts, { ...options, prefix, drafts }));
  prefix.dispose();
  assert.deepEqual(value, expected);
  assert.ok(calls.length > prompts.length && calls.every((call) => call.dims[0] === 1), `rows per pass: ${calls.map((call) => call.dims[0]).join(',')}`);
});

test('batched scoring equals score, pair by pair', async () => {
  const pairs = prompts.map((prompt, i) => ({ prompt, continuation: i % 2 ? ' and then they went home.' : ' a' }));
  await model.generateBatch!(prompts, { maxNewTokens: 4 }); // a kept prompt pass would be used if rows were batched
  const scores = await model.scoreBatch!([...pairs, { prompt: prompts[0]!, continuation: '' }]);
  for (const [i, pair] of pairs.entries()) assert.deepEqual(scores[i], await model.score(pair.prompt, pair.continuation), `pair ${i}`);
  assert.deepEqual(scores.at(-1), { logProb: 0, tokenCount: 0, tokenLogProbs: [] });
});
