// The extension host reads a model's tokenizer and config only; its shot estimate must be the one a run makes
// with the whole model (same k_fit, same token counts), and its errors must say what is missing.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { join } from 'node:path';
import { checkDataset } from '../../src/engine/datasetCheck';
import { ModelLoadError } from '../../src/engine/model/languageModel';
import { loadTokenizerOnly } from '../../src/engine/model/tokenizerOnly';
import { loadLanguageModel } from '../../src/engine/model/transformers/transformersModel';
import { DEFAULT_SETTINGS } from '../../src/engine/settings';
import { FIXTURES, sharedMissing, STORIES_260K, temporaryFolder } from '../support/paths';

const CAPITALS = join(FIXTURES, 'workspace', 'capitals.jsonl');

test('tokenizer only: the same context, vocabulary, token counts and k_fit as the whole model', { skip: sharedMissing }, async () => {
  const facts = await loadTokenizerOnly({ model: STORIES_260K, allowDownload: false });
  const model = await loadLanguageModel({ model: STORIES_260K, allowDownload: false });
  try {
    assert.deepEqual([facts.contextLength, facts.vocabularySize], [model.contextLength, model.vocabularySize]);
    assert.deepEqual([facts.contextLength, facts.vocabularySize], [512, 512]);
    for (const text of ['What is the capital of Italy?', 'Rome', ' héllo  wörld\n']) {
      assert.equal(facts.tokenizer.countTokens(text), model.tokenizer.countTokens(text), text);
      assert.deepEqual(facts.tokenizer.encode(text), model.tokenizer.encode(text), text);
    }
    assert.equal(facts.tokenizer.hasChatTemplate, model.tokenizer.hasChatTemplate);
    const settings = { ...DEFAULT_SETTINGS, maxNewTokens: 8 };
    const withFacts = await checkDataset(CAPITALS, settings, { model: facts, collectExamples: true });
    const withModel = await checkDataset(CAPITALS, settings, { model: { ...model, id: model.id }, collectExamples: true });
    assert.equal(withFacts.estimate!.fit.estimated, false);
    assert.deepEqual(withFacts.estimate!.fit, withModel.estimate!.fit);
  } finally {
    await model.dispose();
  }
});

test('tokenizer only: a folder without tokenizer files is named with what it lacks', async () => {
  const folder = temporaryFolder();
  try {
    await assert.rejects(loadTokenizerOnly({ model: folder.path }), (error: Error) => {
      assert.ok(error instanceof ModelLoadError);
      assert.equal(error.message, `The model folder ${folder.path} is missing config.json, tokenizer.json, tokenizer_config.json (transformers.js layout: config.json, tokenizer.json, tokenizer_config.json, onnx/model.onnx).`);
      return true;
    });
  } finally {
    folder.remove();
  }
});

test('tokenizer only: a Hub id not in the cache with downloads off says so', async () => {
  const cache = temporaryFolder();
  try {
    await assert.rejects(loadTokenizerOnly({ model: 'someone/some-model', cacheDir: cache.path, allowDownload: false }),
      { message: `someone/some-model is not in the model cache (${cache.path}) and downloads are disabled. Allow downloads, or point the model setting at a local folder.` });
  } finally {
    cache.remove();
  }
});
