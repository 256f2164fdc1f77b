/**
 * The generated test model (test/support/tinyLlama.ts) is a genuine Llama decoder: it loads in
 * @huggingface/transformers, tokenizes any text, generates deterministically from its seed, and its
 * KV cache and left-padding behave exactly like a plain forward pass. The exact ids below pin the
 * weights and tokenizer: if they change, every test that records model output changes too.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  AutoModelForCausalLM,
  AutoTokenizer,
  Tensor,
  env,
  type PreTrainedModel,
  type PreTrainedTokenizer,
} from '@huggingface/transformers';
import { buildTinyLlama, CHAT_TEMPLATE, TINY_SHAPE } from '../support/tinyLlama';

env.allowRemoteModels = false;

type Outputs = Record<string, Tensor>;

async function load(folder: string): Promise<{ tokenizer: PreTrainedTokenizer; model: PreTrainedModel }> {
  const tokenizer = await AutoTokenizer.from_pretrained(folder, { local_files_only: true });
  const model = await AutoModelForCausalLM.from_pretrained(folder, { dtype: 'fp32', local_files_only: true });
  return { tokenizer, model };
}

function int64(rows: number[][]): Tensor {
  const width = rows[0]?.length ?? 0;
  return new Tensor('int64', BigInt64Array.from(rows.flat(), (v) => BigInt(v)), [rows.length, width]);
}

async function greedy(model: PreTrainedModel, ids: number[], maxNewTokens: number): Promise<number[]> {
  const output = (await model.generate({
    input_ids: int64([ids]),
    attention_mask: int64([ids.map(() => 1)]),
    max_new_tokens: maxNewTokens,
    do_sample: false,
  })) as Tensor;
  return (output.tolist() as bigint[][])[0]!.map(Number);
}

/** Logits of one row's position, as a plain array. */
function logitsAt(logits: Tensor, row: number, position: number): number[] {
  const [, length, vocabulary] = logits.dims as [number, number, number];
  const start = (row * length + position) * vocabulary;
  return Array.from((logits.data as Float32Array).subarray(start, start + vocabulary));
}

function maxDifference(a: number[], b: number[]): number {
  assert.equal(a.length, b.length);
  return Math.max(...a.map((x, i) => Math.abs(x - (b[i] as number))));
}

function argmax(values: number[]): number {
  return values.reduce((best, x, i) => (x > (values[best] as number) ? i : best), 0);
}

describe('tiny Llama test model', () => {
  let root: string;
  let folder: string;
  let tokenizer: PreTrainedTokenizer;
  let model: PreTrainedModel;

  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'tiny-llama-'));
    folder = join(root, 'seed1');
    await buildTinyLlama(folder, { seed: 1 });
    ({ tokenizer, model } = await load(folder));
  });

  after(async () => {
    await model?.dispose();
    await rm(root, { recursive: true, force: true });
  });

  test('writes the transformers.js folder layout with the shape in config.json', async () => {
    const config = JSON.parse(await readFile(join(folder, 'config.json'), 'utf8'));
    assert.equal(config.model_type, 'llama');
    assert.equal(config.vocab_size, TINY_SHAPE.vocabularySize);
    assert.equal(config.num_hidden_layers, TINY_SHAPE.layers);
    assert.equal(config.num_key_value_heads, TINY_SHAPE.keyValueHeads);
    assert.equal(config.head_dim, TINY_SHAPE.hiddenSize / TINY_SHAPE.heads);
    assert.equal(tokenizer.get_vocab().size, TINY_SHAPE.vocabularySize);
    assert.deepEqual([tokenizer.bos_token_id, tokenizer.eos_token_id, tokenizer.pad_token_id], [1, 2, 0]);
  });

  test('tokenizer round-trips ASCII, Chinese and emoji', () => {
    // <s> is prepended; byte-level BPE, so CJK and emoji become their UTF-8 bytes (id = 5 + byte).
    const cases: [string, number[]][] = [
      ['Hello world', [1, 301, 319]],
      ['你好 🙂', [1, 233, 194, 165, 234, 170, 194, 37, 245, 164, 158, 135]],
      ['', [1]],
    ];
    for (const [text, ids] of cases) {
      assert.deepEqual(tokenizer.encode(text), ids, text);
      assert.equal(tokenizer.decode(ids, { skip_special_tokens: true }), text);
    }
    assert.deepEqual(tokenizer.encode('Hello world', { add_special_tokens: false }), [301, 319]);
    assert.deepEqual(tokenizer.encode('<|im_start|>user<|im_end|>', { add_special_tokens: false }), [3, 384, 4]);
  });

  test('applies the ChatML chat template', () => {
    const rendered = tokenizer.apply_chat_template(
      [
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: 'Hi' },
      ],
      { tokenize: false, add_generation_prompt: true },
    );
    assert.equal(rendered, '<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n');
  });

  test('greedy generation is fixed by the seed', async () => {
    const prompt = tokenizer.encode('Hello world');
    const expected = [1, 301, 319, 161, 112, 68, 247, 174, 276, 186, 209];
    assert.deepEqual(await greedy(model, prompt, 8), expected);

    // A second build with the same seed is byte-identical and generates the same ids.
    const again = join(root, 'seed1-again');
    await buildTinyLlama(again, { seed: 1 });
    assert.deepEqual(await readFile(join(again, 'onnx', 'model.onnx')), await readFile(join(folder, 'onnx', 'model.onnx')));
    const same = await load(again);
    try {
      assert.deepEqual(await greedy(same.model, prompt, 8), expected);
    } finally {
      await same.model.dispose();
    }

    const other = join(root, 'seed2');
    await buildTinyLlama(other, { seed: 2 });
    const different = await load(other);
    try {
      assert.deepEqual(await greedy(different.model, prompt, 8), [1, 301, 319, 69, 402, 432, 217, 251, 37, 464, 145]);
    } finally {
      await different.model.dispose();
    }
  });

  test('the KV cache gives the logits of a full forward pass', async () => {
    const ids = tokenizer.encode('The quick brown fox jumps');
    const full = (await model({ input_ids: int64([ids]), attention_mask: int64([ids.map(() => 1)]) })) as Outputs;

    const prefix = ids.slice(0, -1);
    const first = (await model({ input_ids: int64([prefix]), attention_mask: int64([prefix.map(() => 1)]) })) as Outputs;
    const past: Outputs = {};
    for (let layer = 0; layer < TINY_SHAPE.layers; layer++) {
      for (const kind of ['key', 'value']) past[`past_key_values.${layer}.${kind}`] = first[`present.${layer}.${kind}`]!;
    }
    const step = (await model({
      input_ids: int64([ids.slice(-1)]),
      attention_mask: int64([ids.map(() => 1)]),
      past_key_values: past,
    })) as Outputs;

    assert.deepEqual(step['present.0.key']!.dims, [1, TINY_SHAPE.keyValueHeads, ids.length, TINY_SHAPE.hiddenSize / TINY_SHAPE.heads]);
    assert.ok(maxDifference(logitsAt(step.logits!, 0, 0), logitsAt(full.logits!, 0, ids.length - 1)) < 1e-4);
    // The prefix's own logits do not depend on what follows (causal).
    assert.ok(maxDifference(logitsAt(first.logits!, 0, prefix.length - 1), logitsAt(full.logits!, 0, prefix.length - 1)) < 1e-4);
  });

  test('generate() with its cache equals a greedy loop without a cache', async () => {
    const ids = tokenizer.encode('Once upon a time');
    const manual = ids.slice();
    for (let i = 0; i < 5; i++) {
      const out = (await model({ input_ids: int64([manual]), attention_mask: int64([manual.map(() => 1)]) })) as Outputs;
      manual.push(argmax(logitsAt(out.logits!, 0, manual.length - 1)));
    }
    assert.deepEqual(await greedy(model, ids, 5), manual);
  });

  test('left padding does not change a shorter prompt', async () => {
    const long = tokenizer.encode('The answer to the question is');
    const short = tokenizer.encode('Hello world');
    const padding = long.length - short.length;
    assert.ok(padding > 0);
    const batch = (await model({
      input_ids: int64([long, [...Array<number>(padding).fill(0), ...short]]),
      attention_mask: int64([long.map(() => 1), [...Array<number>(padding).fill(0), ...short.map(() => 1)]]),
    })) as Outputs;
    const alone = (await model({ input_ids: int64([short]), attention_mask: int64([short.map(() => 1)]) })) as Outputs;
    const longAlone = (await model({ input_ids: int64([long]), attention_mask: int64([long.map(() => 1)]) })) as Outputs;
    assert.ok(maxDifference(logitsAt(batch.logits!, 1, long.length - 1), logitsAt(alone.logits!, 0, short.length - 1)) < 1e-4);
    assert.ok(maxDifference(logitsAt(batch.logits!, 0, long.length - 1), logitsAt(longAlone.logits!, 0, long.length - 1)) < 1e-4);

    // The tokenizer pads on the left itself, and batched generation matches generating alone.
    const encoded = tokenizer(['The answer to the question is', 'Hello world'], { padding: true });
    assert.deepEqual((encoded.attention_mask.tolist() as bigint[][])[1]!.map(Number).slice(0, padding), Array(padding).fill(0));
    const generated = (await model.generate({ ...encoded, max_new_tokens: 6, do_sample: false })) as Tensor;
    const rows = (generated.tolist() as bigint[][]).map((row) => row.map(Number));
    assert.deepEqual(rows[1]!.slice(padding), await greedy(model, short, 6));
    assert.deepEqual(rows[0], await greedy(model, long, 6));
  });

  test('chatTemplate: false leaves the template out', async () => {
    const plain = join(root, 'plain');
    await buildTinyLlama(plain, { chatTemplate: false });
    const config = JSON.parse(await readFile(join(plain, 'tokenizer_config.json'), 'utf8'));
    assert.equal(config.chat_template, undefined);
    const withTemplate = JSON.parse(await readFile(join(folder, 'tokenizer_config.json'), 'utf8'));
    assert.equal(withTemplate.chat_template, CHAT_TEMPLATE);
  });
});
