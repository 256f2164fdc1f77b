/** The model folder's checks: each damaged file named, with what is wrong and what to do; tokenizer against embeddings. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { checkTokenizerMatchesModel, readJsonFile, readModelConfig } from '../../src/engine/model/modelFolder';
import { ModelLoadError } from '../../src/engine/model/languageModel';
import { temporaryFolder } from '../support/paths';

function messageFor(body: () => unknown): string {
  try {
    body();
  } catch (error) {
    assert.ok(error instanceof ModelLoadError, String(error));
    return error.message;
  }
  assert.fail('no error');
}

test('a damaged JSON file is named with what is wrong, never echoing its bytes', () => {
  const folder = temporaryFolder();
  try {
    const file = join(folder.path, 'config.json');
    const cases: [string | Buffer, string][] = [
      ['', `${file} is empty: replace it with the model's original config.json.`],
      [' \n\t', `${file} is empty: replace it with the model's original config.json.`],
      [Buffer.from([0x1f, 0x8b, 0x08, 0x00, 0xff, 0xfe]), `${file} is binary data, not JSON: replace it with the model's original config.json.`],
      ['version https://git-lfs.github.com/spec/v1\noid sha256:ab\nsize 9\n', `${file} is a Git LFS pointer, not the file itself. Fetch the real file (git lfs pull) or download the folder again.`],
      ['{\n  "a": 1,\n  "b": 2', `${file} is not valid JSON (it ends early, at line 3: a } is missing); replace it with the model's original config.json.`],
      ['{\n  "a": 1\n  "b": 2\n}', `${file} is not valid JSON (line 3, column 3: a comma is missing); replace it with the model's original config.json.`],
      ['{"a": \u0007}', `${file} is not valid JSON (line 1, column 7: an unexpected character (U+0007)); replace it with the model's original config.json.`],
      ['{"a": 1} x', `${file} is not valid JSON (line 1, column 10: an unexpected character "x"); replace it with the model's original config.json.`],
      ['[1, 2]', `${file} holds a JSON array, not a JSON object: replace it with the model's original config.json.`],
      ['"text"', `${file} holds a JSON string, not a JSON object: replace it with the model's original config.json.`],
    ];
    for (const [content, expected] of cases) {
      writeFileSync(file, content);
      assert.equal(messageFor(() => readJsonFile(file)), expected, JSON.stringify(String(content)));
    }
    assert.equal(messageFor(() => readJsonFile(join(folder.path, 'absent.json'))), `${join(folder.path, 'absent.json')} is missing.`);
  } finally {
    folder.remove();
  }
});

test('config.json needs a model_type and positive whole counts', () => {
  const folder = temporaryFolder();
  try {
    const file = join(folder.path, 'config.json');
    writeFileSync(file, '{"vocab_size": 512}');
    assert.match(messageFor(() => readModelConfig(folder.path)), /config\.json has no "model_type", which transformers\.js needs to pick the architecture/);
    writeFileSync(file, '{"model_type": "llama", "max_position_embeddings": -1}');
    assert.equal(messageFor(() => readModelConfig(folder.path)), `${file}: "max_position_embeddings" is -1, not a positive whole number: replace it with the model's original config.json.`);
    writeFileSync(file, '{"model_type": "gemma3", "text_config": {"vocab_size": 2.5}}');
    assert.match(messageFor(() => readModelConfig(folder.path)), /: "text_config\.vocab_size" is 2\.5, not a positive whole number/);
    writeFileSync(file, '{"model_type": "llama", "vocab_size": 512, "max_position_embeddings": 512}');
    assert.deepEqual(readModelConfig(folder.path), { model_type: 'llama', vocab_size: 512, max_position_embeddings: 512 });
  } finally {
    folder.remove();
  }
});

const range = (from: number, to: number): number[] => Array.from({ length: to - from }, (_, i) => from + i);
const rows = (size: number): { size: number; source: string } => ({ size, source: `/m/config.json gives the model ${size} token embeddings (vocab_size)` });

test('the tokenizer must fit the embeddings: padded embeddings pass, a cut or larger vocabulary does not', () => {
  const none = new Set<number>();
  // Qwen2.5: 151,665 tokens over 151,936 embedding rows; Pythia: 50,277 over 50,304
  assert.doesNotThrow(() => checkTokenizerMatchesModel('/m', { ids: range(0, 151_665), specialIds: none }, rows(151_936)));
  assert.doesNotThrow(() => checkTokenizerMatchesModel('/m', { ids: range(0, 50_277), specialIds: none }, rows(50_304)));
  // no vocab_size in config.json: nothing to compare with
  assert.doesNotThrow(() => checkTokenizerMatchesModel('/m', { ids: range(0, 10), specialIds: none }, undefined));
  // a special token beyond the rows only fails where a text spells it out
  assert.doesNotThrow(() => checkTokenizerMatchesModel('/m', { ids: [...range(0, 512), 600], specialIds: new Set([600]) }, rows(512)));
  assert.equal(
    messageFor(() => checkTokenizerMatchesModel('/m', { ids: range(0, 100), specialIds: none }, rows(512))),
    'The tokenizer does not match the model: /m/tokenizer.json has 100 tokens (ids up to 99), but /m/config.json gives the model 512 ' +
      'token embeddings (vocab_size), so most tokens the model predicts could not be written out. Use the tokenizer.json and ' +
      'tokenizer_config.json that came with these weights.',
  );
  assert.equal(
    messageFor(() => checkTokenizerMatchesModel('/m', { ids: range(0, 513), specialIds: none }, rows(512))),
    'The tokenizer does not match the model: /m/tokenizer.json has token ids up to 512 (513 tokens), but /m/config.json gives the model ' +
      '512 token embeddings (vocab_size), so ids from 512 on cannot be run. Use the tokenizer.json and tokenizer_config.json that came with these weights.',
  );
});
