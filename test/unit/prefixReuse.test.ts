/**
 * Prefix reuse in the experiment (src/engine/experiment/prefixPlan.ts): prompts that share their
 * instruction and examples get one key/value cache of that text, references are scored after their
 * prompts' cache, and every output and score stays what transformers.js' own `generate` and a whole-prompt
 * scoring pass give. Outputs are compared exactly (token ids included, through the cache keys' outputs);
 * reference log-probabilities within 1e-5 per token (float rounding of a padded row's attention over more,
 * masked keys: observed ≤ 4.1e-6 per token in batchedScoring.test.ts).
 *
 * Run: node --import tsx --test test/unit/prefixReuse.test.ts
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';

import { runExperiment } from '../../src/engine/experiment/experiment';
import { sharedPrefix } from '../../src/engine/experiment/prefixPlan';
import type { ExperimentReport } from '../../src/engine/experiment/report';
import type { LanguageModel, PrefixState, PromptInput } from '../../src/engine/model/languageModel';
import { loadLanguageModel } from '../../src/engine/model/transformers/transformersModel';
import { DEFAULT_SETTINGS, type CheckSettings } from '../../src/engine/settings';
import { loadBuiltModel } from '../support/builtModel';
import { realDataset, sharedMissing, STORIES_260K, temporaryFolder } from '../support/paths';

const TOLERANCE_PER_TOKEN = 1e-5;

const folder = temporaryFolder('pof-prefix-');
let built: LanguageModel;
let dataset: string;

before(async () => {
  built = await loadBuiltModel(folder.path, 5);
  const lines = readFileSync(realDataset('03-prompt-completion-mandarin-cantonese.jsonl'), 'utf8').split('\n').slice(0, 30);
  dataset = join(folder.path, 'small.jsonl');
  writeFileSync(dataset, lines.join('\n') + '\n');
});

after(async () => {
  await built?.dispose();
  folder.remove();
});

/** The model with its `prefill` counted (the text of each prefix computed, and of the prefix it extended). */
function counting(model: LanguageModel): { model: LanguageModel; prefixes: string[]; extended: (string | null)[] } {
  const prefixes: string[] = [];
  const extended: (string | null)[] = [];
  const wrapped = Object.create(model) as LanguageModel;
  wrapped.prefill = async (prefix: PromptInput, options?: { extending?: PrefixState }): Promise<PrefixState> => {
    prefixes.push(prefix.text);
    extended.push(options?.extending?.text ?? null);
    return model.prefill!(prefix, options);
  };
  return { model: wrapped, prefixes, extended };
}

/**
 * The same model without `prefill` and `generateBatch`: the experiment then generates each prompt whole with
 * transformers.js' own `generate`, and scores each reference in a pass over its whole prompt.
 */
function plainModel(model: LanguageModel): LanguageModel {
  const wrapped = Object.create(model) as LanguageModel;
  Object.defineProperty(wrapped, 'prefill', { value: undefined });
  Object.defineProperty(wrapped, 'generateBatch', { value: undefined });
  return wrapped;
}

function assertSameResults(actual: ExperimentReport, expected: ExperimentReport): void {
  assert.equal(actual.items.length, expected.items.length);
  actual.items.forEach((row, i) => {
    const plain = expected.items[i]!;
    assert.deepEqual([row.k, row.line, row.prompt, row.output, row.finishReason], [plain.k, plain.line, plain.prompt, plain.output, plain.finishReason], `item ${i}`);
    assert.equal(row.referenceTokens, plain.referenceTokens);
    if (plain.referenceLogProb === null) assert.equal(row.referenceLogProb, null);
    else {
      const difference = Math.abs(row.referenceLogProb! - plain.referenceLogProb);
      assert.ok(difference <= TOLERANCE_PER_TOKEN * Math.max(1, plain.referenceTokens ?? 1), `item ${i}: log-probability Δ ${difference}`);
    }
  });
  assert.deepEqual(actual.curve.map((point) => point.k), expected.curve.map((point) => point.k));
}

async function compareRuns(model: LanguageModel, settings: CheckSettings): Promise<{ prefixes: string[]; extended: (string | null)[]; report: ExperimentReport }> {
  const counted = counting(model);
  const report = await runExperiment({ file: dataset, settings, model: counted.model, cacheFolder: null });
  const plain = await runExperiment({ file: dataset, settings, model: plainModel(model), cacheFolder: null });
  assertSameResults(report, plain);
  return { prefixes: counted.prefixes, extended: counted.extended, report };
}

/** Each prefix after the first extends the one before (the fixed prompt's examples nest across shot counts). */
function assertNested(prefixes: readonly string[], extended: readonly (string | null)[]): void {
  prefixes.forEach((prefix, i) => {
    if (i === 0) return;
    assert.ok(prefix.startsWith(prefixes[i - 1]!), `prefix ${i} begins with prefix ${i - 1}`);
    assert.equal(extended[i], prefixes[i - 1], `prefix ${i} computed after prefix ${i - 1}'s cache`);
  });
}

const FIRST: CheckSettings = { ...DEFAULT_SETTINGS, shots: [0, 1, 2, 4], heldOut: 10, seed: 3, maxNewTokens: 8, selection: 'first' };

describe('sharedPrefix', () => {
  const encode = (text: string, addSpecialTokens: boolean): number[] => built.tokenizer.encode(text, { addSpecialTokens });

  test('the longest shared text cut before a line break, whose tokens begin every prompt', () => {
    const head = 'Translate to French.\nsea: mer\nsky: ciel\nsun: soleil\n';
    const prompts = [`${head}moon:`, `${head}star:`, `${head}mountain:`].map((text) => ({ text, addSpecialTokens: true }));
    const found = sharedPrefix(prompts, encode, 4);
    assert.deepEqual(found, { text: head.slice(0, -1), tokenCount: encode(head.slice(0, -1), true).length });
    for (const prompt of prompts) assert.deepEqual(encode(prompt.text, true).slice(0, found!.tokenCount), encode(found!.text, true));
  });

  test('none: one prompt, prompts that differ in special tokens, too short a shared text, no line break', () => {
    const text = 'Translate to French.\nsea: mer\nmoon:';
    assert.equal(sharedPrefix([{ text, addSpecialTokens: true }], encode, 1), null);
    assert.equal(sharedPrefix([{ text, addSpecialTokens: true }, { text: `${text} x`, addSpecialTokens: false }], encode, 1), null);
    assert.equal(sharedPrefix([{ text, addSpecialTokens: true }, { text: `${text} x`, addSpecialTokens: true }], encode, 1000), null);
    assert.equal(sharedPrefix([{ text: 'abc def', addSpecialTokens: true }, { text: 'abc deg', addSpecialTokens: true }], encode, 1), null);
  });
});

describe('the experiment with prefix reuse (built random Llama)', () => {
  for (const selection of ['first', 'random'] as const) {
    test(`${selection} selection: one prefix per shot count, shared by every held-out item and its scoring, each extending the last; results unchanged`, async () => {
      const { prefixes, extended, report } = await compareRuns(built, { ...FIRST, selection });
      // k = 0 shares no examples (and the template has no instruction long enough); k = 1, 2, 4 one prefix each,
      // computed once for both batches of items and for their scoring, k = 2's after k = 1's and so on
      assert.equal(prefixes.length, 3, prefixes.join('\n---\n'));
      assertNested(prefixes, extended);
      for (const prefix of prefixes) {
        const rows = report.items.filter((row) => row.prompt.startsWith(prefix));
        assert.ok(rows.length >= 9, `${rows.length} items share ${JSON.stringify(prefix.slice(0, 40))}`);
      }
    });
  }

  test('similar selection: results unchanged whatever is shared', async () => {
    await compareRuns(built, { ...FIRST, selection: 'similar' });
  });

  test('a prefix computed after an earlier one holds the cache computed from scratch', async () => {
    const head = 'Translate to French.\nsea: mer\nsky: ciel\n';
    const whole = `${head}sun: soleil\nmoon: lune\nstar: étoile`;
    const earlier = await built.prefill!({ text: head.slice(0, -1), addSpecialTokens: true });
    const extended = await built.prefill!({ text: whole, addSpecialTokens: true }, { extending: earlier });
    const fresh = await built.prefill!({ text: whole, addSpecialTokens: true });
    type Cached = { cacheEntries(): Record<string, { dims: number[]; data: Float32Array }> };
    const [mine, theirs, before] = [extended, fresh, earlier].map((prefix) => (prefix as unknown as Cached).cacheEntries()) as [ReturnType<Cached["cacheEntries"]>, ReturnType<Cached["cacheEntries"]>, ReturnType<Cached["cacheEntries"]>];
    assert.equal(extended.tokenCount, fresh.tokenCount);
    for (const [name, tensor] of Object.entries(theirs)) {
      assert.deepEqual(mine[name]!.dims, tensor.dims, name);
      let largest = 0;
      tensor.data.forEach((value, i) => (largest = Math.max(largest, Math.abs(value - mine[name]!.data[i]!))));
      assert.ok(largest <= 1e-5, `${name}: |Δ| ${largest}`);
      // The earlier prefix's columns are carried over unchanged.
      const [, heads, length, dim] = tensor.dims as [number, number, number, number];
      const earlierLength = before[name]!.dims[2]!;
      for (let head = 0; head < heads; head++) {
        const carried = mine[name]!.data.subarray(head * length * dim, (head * length + earlierLength) * dim);
        assert.deepEqual(carried, before[name]!.data.subarray(head * earlierLength * dim, (head + 1) * earlierLength * dim), `${name} head ${head}`);
      }
    }
    for (const prefix of [earlier, extended, fresh]) prefix.dispose();
  });
});

describe('the experiment with prefix reuse (stories260K)', { skip: sharedMissing }, () => {
  let stories: LanguageModel;
  before(async () => {
    stories = await loadLanguageModel({ model: STORIES_260K, allowDownload: false });
  });
  after(async () => {
    await stories?.dispose();
  });

  test('first selection: results unchanged, one prefix per shot count with examples, each extending the last', async () => {
    const { prefixes, extended } = await compareRuns(stories, FIRST);
    assert.equal(prefixes.length, 3);
    assertNested(prefixes, extended);
  });
});
