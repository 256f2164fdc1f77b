/**
 * Batched teacher-forced scoring (`scoreBatch`): (prompt, continuation) pairs left-padded into one forward
 * pass per sub-batch must give, pair for pair, what `score` gives alone: the same token count exactly, the
 * same log-probabilities up to float rounding. On a model the test builds (always) and on the shared
 * stories260K (when present).
 *
 * Why a tolerance and not equality: a row as long as the padded width comes out bit-identical, but a padded
 * row's attention reduces over more (masked, zero-weight) keys than it does alone, and float32 rounds that
 * differently. Observed per token: ≤ 3.6e-6 (built model), ≤ 4.1e-6 (stories260K); the sums over a
 * continuation add up those roundings (1.3e-5 over 54 tokens), so a sum is held to 1e-5 per token.
 *
 * Run: node --import tsx --test test/unit/batchedScoring.test.ts
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';

import type { ContinuationScore, LanguageModel, PromptInput } from '../../src/engine/model/languageModel';
import { scoreSubBatches } from '../../src/engine/model/transformers/batchSizing';
import { loadLanguageModel } from '../../src/engine/model/transformers/transformersModel';
import { STORIES_260K, temporaryFolder } from '../support/paths';
import { loadBuiltModel } from '../support/builtModel';

const storiesPresent = fs.existsSync(join(STORIES_260K, 'onnx', 'model.onnx'));
const needsStories = { skip: !storiesPresent && `the shared test model is missing: ${STORIES_260K}` };

type Pair = { prompt: PromptInput; continuation: string };

const TOLERANCE = 1e-5;
const MERGING = 1; // "Once upon a time " + "there": the prompt's lone "▁" token merges into "▁there"
const EMPTY = 3;

/** Prompts of 1 to ~55 tokens, continuations of 0 to ~55; with and without BOS added by the tokenizer. */
const PAIRS: readonly Pair[] = [
  { prompt: { text: 'Once upon a time', addSpecialTokens: true }, continuation: ', there was a little girl' },
  { prompt: { text: 'Once upon a time ', addSpecialTokens: true }, continuation: 'there was' },
  { prompt: { text: 'The', addSpecialTokens: false }, continuation: ' dog ran to the park' },
  { prompt: { text: 'Hello world', addSpecialTokens: true }, continuation: '' },
  { prompt: { text: '<s>One day, a little bird', addSpecialTokens: false }, continuation: ' flew over the big tree and sang a song.' },
  {
    prompt: {
      text: 'Tom had a dog. The dog liked to run. One day the dog ran away and Tom was sad. He looked everywhere for',
      addSpecialTokens: true,
    },
    continuation: ' his dog.',
  },
  {
    prompt: { text: 'Hi', addSpecialTokens: true },
    continuation: ' Lily and Max went to the park. They saw a big red ball under a tree and they played with it all day.',
  },
];

async function oneAtATime(model: LanguageModel, pairs: readonly Pair[]): Promise<ContinuationScore[]> {
  const results: ContinuationScore[] = [];
  for (const pair of pairs) results.push(await model.score(pair.prompt, pair.continuation));
  return results;
}

function batch(model: LanguageModel, pairs: readonly Pair[], signal?: AbortSignal): Promise<ContinuationScore[]> {
  assert.ok(model.scoreBatch, 'the transformers runner offers scoreBatch');
  return model.scoreBatch(pairs, signal ? { signal } : undefined);
}

/**
 * Each batch result is the lone score: token count exactly, each log-probability within TOLERANCE, the
 * sum within TOLERANCE per token (and exactly the sum of its own tokens). Returns the largest difference.
 */
function assertScoresMatch(actual: readonly ContinuationScore[], expected: readonly ContinuationScore[]): { token: number; sum: number } {
  assert.equal(actual.length, expected.length);
  let token = 0;
  let sum = 0;
  actual.forEach((score, i) => {
    const lone = expected[i]!;
    assert.equal(score.tokenCount, lone.tokenCount, `pair ${i}: token count`);
    assert.equal(score.tokenLogProbs.length, lone.tokenLogProbs.length, `pair ${i}: log-probabilities`);
    score.tokenLogProbs.forEach((value, t) => {
      const difference = Math.abs(value - lone.tokenLogProbs[t]!);
      token = Math.max(token, difference);
      assert.ok(difference <= TOLERANCE, `pair ${i}, token ${t}: ${value} vs ${lone.tokenLogProbs[t]} (Δ ${difference})`);
    });
    const difference = Math.abs(score.logProb - lone.logProb);
    sum = Math.max(sum, difference);
    assert.ok(difference <= TOLERANCE * Math.max(1, lone.tokenCount), `pair ${i}: logProb ${score.logProb} vs ${lone.logProb}`);
    assert.ok(Math.abs(score.logProb - score.tokenLogProbs.reduce((a, b) => a + b, 0)) < 1e-9);
  });
  return { token, sum };
}

function jointIds(model: LanguageModel, pair: Pair): number[] {
  return model.tokenizer.encode(pair.prompt.text + pair.continuation, { addSpecialTokens: pair.prompt.addSpecialTokens });
}

interface ForwardCall {
  dims: number[];
  inputIds: number[];
  mask: number[];
  /** As the ONNX session received them (transformers derives them from the mask). */
  positions: number[];
  logitsDims: number[];
}

/**
 * Records the runner's forward passes: the inputs it gives transformers' `forward` (the private `inner`
 * model), the position ids the ONNX session then receives, and the logits' shape.
 */
async function recordingForwards<T>(
  model: LanguageModel,
  body: () => Promise<T>,
  onForward?: (count: number) => void,
): Promise<{ value: T; calls: ForwardCall[] }> {
  type Feed = Record<string, { dims: readonly number[]; data: ArrayLike<bigint | number> } | undefined>;
  type Session = { run(feeds: Feed, ...rest: unknown[]): Promise<unknown> };
  type Inner = {
    forward(inputs: Record<string, unknown>): Promise<Record<string, { dims: number[] }>>;
    sessions: { model: Session };
  };
  await (model as unknown as { loadWeights(): Promise<void> }).loadWeights(); // the session opens on first use
  const inner = (model as unknown as { inner: Inner }).inner;
  const session = inner.sessions.model;
  const originalForward = inner.forward;
  const originalRun = session.run;
  const calls: ForwardCall[] = [];
  let positions: number[] = [];
  session.run = function (this: Session, feeds, ...rest) {
    const ids = feeds.position_ids;
    positions = ids ? Array.from(ids.data, Number) : [];
    return originalRun.call(this, feeds, ...rest);
  };
  inner.forward = async function (this: Inner, inputs) {
    const ids = inputs.input_ids as { dims: number[]; data: BigInt64Array };
    const mask = inputs.attention_mask as { data: BigInt64Array };
    const outputs = await originalForward.call(this, inputs);
    calls.push({
      dims: [...ids.dims],
      inputIds: Array.from(ids.data, Number),
      mask: Array.from(mask.data, Number),
      positions,
      logitsDims: [...outputs.logits!.dims],
    });
    onForward?.(calls.length);
    return outputs;
  };
  try {
    return { value: await body(), calls };
  } finally {
    inner.forward = originalForward;
    session.run = originalRun;
  }
}

/** Errors as `score` gives them, to compare messages with. */
async function scoreError(model: LanguageModel, pair: Pair): Promise<string> {
  try {
    await model.score(pair.prompt, pair.continuation);
  } catch (error) {
    return (error as Error).message;
  }
  assert.fail('score did not reject');
}

function sharedTests(getModel: () => LanguageModel, label: string): void {
  test('each pair scores what score gives alone: empty continuation, merging boundary, no added BOS', async (t) => {
    const model = getModel();
    // The pairs cover what they claim to.
    const merging = PAIRS[MERGING]!;
    const promptIds = model.tokenizer.encode(merging.prompt.text);
    assert.notDeepEqual(jointIds(model, merging).slice(0, promptIds.length), promptIds, 'the boundary merges');
    assert.equal(PAIRS[EMPTY]!.continuation, '');
    assert.ok(PAIRS.some((pair) => !pair.prompt.addSpecialTokens));
    const lengths = PAIRS.map((pair) => jointIds(model, pair).length);
    assert.ok(Math.max(...lengths) >= 4 * Math.min(...lengths), `joint lengths ${lengths.join(', ')}`);

    const expected = await oneAtATime(model, PAIRS);
    const actual = await batch(model, PAIRS);
    const { token, sum } = assertScoresMatch(actual, expected);
    t.diagnostic(`${label}: max |Δ| per token ${token.toExponential(2)}, per sum ${sum.toExponential(2)}`);
    assert.deepEqual(actual[EMPTY], { logProb: 0, tokenCount: 0, tokenLogProbs: [] });
    assert.equal(actual[MERGING]!.tokenCount, 2); // "▁there", "▁was": the merged token counts as continuation
    assert.ok(expected.every((score, i) => i === EMPTY || score.tokenCount > 0));
  });

  test('one padded forward pass: left padding, attention mask 0 on it, each row at positions 0..n-1', async () => {
    const model = getModel();
    const scored = PAIRS.filter((pair) => pair.continuation !== '');
    // sorted by joint length inside the batch (less padding when it is split)
    const rows = scored.map((pair) => jointIds(model, pair)).sort((a, b) => a.length - b.length);
    const width = Math.max(...rows.map((ids) => ids.length));
    const { calls } = await recordingForwards(model, () => batch(model, PAIRS));
    assert.equal(calls.length, 1, 'the empty continuation needs no pass; the other pairs share one');
    const [call] = calls;
    assert.deepEqual(call!.dims, [rows.length, width]);
    assert.deepEqual(call!.logitsDims, [rows.length, width, model.vocabularySize]);
    const padding = (ids: readonly number[]): number => width - ids.length;
    assert.deepEqual(
      call!.mask,
      rows.flatMap((ids) => [...Array<number>(padding(ids)).fill(0), ...Array<number>(ids.length).fill(1)]),
    );
    rows.forEach((ids, row) => {
      const cells = (values: readonly number[]): number[] => values.slice(row * width + padding(ids), (row + 1) * width);
      assert.deepEqual(cells(call!.inputIds), ids, `row ${row}: its own tokens, right-aligned`);
      assert.deepEqual(cells(call!.positions), ids.map((_, i) => i), `row ${row}: positions from 0`);
    });
    assert.ok(rows.some((ids) => padding(ids) > 0));
  });

  test('a prefix: pairs it fits compute only their tokens after its cache; every score equals score alone', async () => {
    const model = getModel();
    assert.ok(model.prefill && model.scoreBatch);
    const shared = 'Once upon a time, there was a little girl named Lily. She liked to play';
    const prefix = await model.prefill({ text: shared, addSpecialTokens: true });
    try {
      const pairs: Pair[] = [
        { prompt: { text: `${shared} with her`, addSpecialTokens: true }, continuation: ' dog in the park.' },
        PAIRS[0]!, // does not start with the prefix
        { prompt: { text: `${shared} outside. One day`, addSpecialTokens: true }, continuation: ', she saw a big red ball under a tree' },
        { prompt: { text: shared, addSpecialTokens: true }, continuation: ' with her friends.' }, // scored from the prefix's last position: runs without it
        { prompt: { text: `${shared} ball`, addSpecialTokens: true }, continuation: '' },
      ];
      const expected = await oneAtATime(model, pairs);
      const { value, calls } = await recordingForwards(model, () => model.scoreBatch!(pairs, { prefix }));
      assertScoresMatch(value, expected);
      const fitting = [pairs[0]!, pairs[2]!].map((pair) => jointIds(model, pair).length - prefix.tokenCount).sort((a, b) => a - b);
      // one pass for the two pairs after the prefix (only their own tokens), one for the two without it
      assert.deepEqual(calls.map((call) => call.dims), [[2, Math.max(...fitting)], [2, Math.max(jointIds(model, pairs[1]!).length, jointIds(model, pairs[3]!).length)]]);
      const width = Math.max(...fitting);
      fitting.forEach((length, row) => {
        const positions = calls[0]!.positions.slice(row * width + width - length, (row + 1) * width);
        assert.deepEqual(positions, Array.from({ length }, (_, i) => prefix.tokenCount + i), `row ${row}: positions after the prefix`);
      });
    } finally {
      prefix.dispose();
    }
  });

  test('scoring right after generateBatch of the same prompts: only the continuations are computed; scores unchanged', async () => {
    const model = getModel();
    assert.ok(model.generateBatch && model.scoreBatch);
    const pairs = PAIRS.filter((pair) => pair.continuation !== '');
    const expected = await oneAtATime(model, pairs);
    await model.generateBatch(pairs.map((pair) => pair.prompt), { maxNewTokens: 3 });
    const { value, calls } = await recordingForwards(model, () => model.scoreBatch!(pairs, {}));
    assertScoresMatch(value, expected);
    // one pass over the continuations (all but each one's last token) after the prompts' cache; a pair whose
    // boundary merges ("Once upon a time " + "there" on stories260K: its continuation takes the prompt's last
    // token) uses the row of the prompt that is exactly its tokens before the continuation ("Once upon a time")
    assert.deepEqual(calls.map((call) => call.dims), [[pairs.length, Math.max(...expected.map((score) => score.tokenCount)) - 1]]);
    // kept until the next batch: other continuations of the same prompts (labels, say) reuse it too
    const others = pairs.map((pair) => ({ prompt: pair.prompt, continuation: ' and the end.' }));
    const again = await recordingForwards(model, () => model.scoreBatch!(others, {}));
    assertScoresMatch(again.value, await oneAtATime(model, others));
    assert.equal(again.calls.length, 1);
    assert.equal(again.calls[0]!.dims[0], others.length);
    // a new batch replaces it: scoring the first pairs now computes their prompts again
    await model.generateBatch(others.slice(0, 2).map((pair) => pair.prompt), { maxNewTokens: 1 });
    const third = await recordingForwards(model, () => model.scoreBatch!(pairs.slice(2), {}));
    assert.equal(third.calls[0]!.dims[1], Math.max(...pairs.slice(2).map((pair) => jointIds(model, pair).length)));
    // leave a pass no later test's prompt matches, so their passes are what they expect
    await model.generateBatch([{ text: 'Zebras', addSpecialTokens: false }], { maxNewTokens: 1 });
  });

  test('a batch generated in two sub-batches: each one\'s prompt pass serves its references', async () => {
    const model = getModel();
    const pairs = [
      ...PAIRS.filter((pair) => pair.continuation !== ''),
      ...['The cat', 'A big dog', 'Lily and Tom', 'One morning'].map((text) => ({ prompt: { text, addSpecialTokens: true }, continuation: ' went to the park.' })),
    ];
    assert.equal(pairs.length, 10); // more than the 8 rows of one sub-batch: two, evened out
    const expected = await oneAtATime(model, pairs);
    await model.generateBatch!(pairs.map((pair) => pair.prompt), { maxNewTokens: 2 });
    const { value, calls } = await recordingForwards(model, () => model.scoreBatch!(pairs, {}));
    assertScoresMatch(value, expected);
    assert.equal(calls.length, 2);
    assert.equal(calls[0]!.dims[0]! + calls[1]!.dims[0]!, 10);
    await model.generateBatch!([{ text: 'Zebras', addSpecialTokens: false }], { maxNewTokens: 1 });
  });

  test('more pairs than one sub-batch, with repeats, come back in order', async () => {
    const model = getModel();
    const pairs = [...PAIRS, ...PAIRS.slice(0, 5).reverse(), PAIRS[2]!, PAIRS[6]!, PAIRS[0]!];
    const scoredCount = pairs.filter((pair) => pair.continuation !== '').length;
    assert.ok(scoredCount > 8);
    const expected = await oneAtATime(model, pairs);
    const { value, calls } = await recordingForwards(model, () => batch(model, pairs));
    assertScoresMatch(value, expected);
    assert.deepEqual(calls.map((call) => call.dims[0]), [8, scoredCount - 8]);
  });

  test('one pair is exactly score; an empty list is []; only empty continuations need no pass', async () => {
    const model = getModel();
    for (const pair of [PAIRS[0]!, PAIRS[MERGING]!, PAIRS[4]!]) {
      assert.deepEqual(await batch(model, [pair]), [await model.score(pair.prompt, pair.continuation)]);
    }
    assert.deepEqual(await batch(model, []), []);
    const empties = [PAIRS[EMPTY]!, { prompt: { text: 'Lily', addSpecialTokens: false }, continuation: '' }];
    const { value, calls } = await recordingForwards(model, () => batch(model, empties));
    assert.deepEqual(value, await oneAtATime(model, empties));
    assert.equal(calls.length, 0);
  });

  test('a pair that score rejects fails the whole call with its message, naming the pair, before any pass', async () => {
    const model = getModel();
    let text = 'Lily and Max played with the ball.';
    while (model.tokenizer.encode(text).length <= model.contextLength) text += ' Lily';
    const tooLong: Pair = { prompt: { text: 'Once upon a time', addSpecialTokens: true }, continuation: text };
    const nothingBefore: Pair = { prompt: { text: '', addSpecialTokens: false }, continuation: 'Lily' };
    const longMessage = await scoreError(model, tooLong);
    assert.match(longMessage, new RegExp(`^Prompt and continuation have \\d+ tokens; the model's context is ${model.contextLength}\\.$`));
    const emptyMessage = await scoreError(model, nothingBefore);

    const { calls } = await recordingForwards(model, async () => {
      await assert.rejects(batch(model, [PAIRS[0]!, tooLong, PAIRS[2]!]), { message: `Pair 2 of the batch: ${longMessage}` });
      await assert.rejects(batch(model, [PAIRS[0]!, PAIRS[2]!, nothingBefore, tooLong]), {
        message: `Pair 3 of the batch: ${emptyMessage}`,
      });
      // alone, the message is score's own
      await assert.rejects(batch(model, [tooLong]), { message: longMessage });
    });
    assert.equal(calls.length, 0);
    // a pair just within the context is scored
    const fitting: Pair = { prompt: PAIRS[0]!.prompt, continuation: tooLong.continuation };
    while (jointIds(model, fitting).length > model.contextLength) fitting.continuation = fitting.continuation.slice(0, -5);
    assert.ok(jointIds(model, fitting).length > model.contextLength - 8);
    assertScoresMatch(await batch(model, [PAIRS[0]!, fitting]), await oneAtATime(model, [PAIRS[0]!, fitting]));
  });

  test('abort: an aborted signal rejects; between sub-batches it stops the rest; the model works afterwards', async () => {
    const model = getModel();
    const aborted = new AbortController();
    aborted.abort();
    await assert.rejects(batch(model, PAIRS, aborted.signal), { name: 'AbortError' });
    await assert.rejects(batch(model, [], aborted.signal), { name: 'AbortError' });

    const pairs = [...PAIRS, ...PAIRS, ...PAIRS]; // 18 scored pairs: sub-batches of 8, 8, 2
    const reason = new Error('user cancelled');
    const midway = new AbortController();
    const { calls } = await recordingForwards(
      model,
      () => assert.rejects(batch(model, pairs, midway.signal), (error) => error === reason),
      () => midway.abort(reason), // during the first sub-batch's pass
    );
    assert.equal(calls.length, 1, 'no pass after the abort');
    assertScoresMatch(await batch(model, PAIRS.slice(0, 3)), await oneAtATime(model, PAIRS.slice(0, 3)));
  });

  test('batches queue with score and generate: concurrent calls give their lone results', async () => {
    const model = getModel();
    const expectedBatch = await batch(model, PAIRS);
    const expectedScore = await model.score(PAIRS[0]!.prompt, PAIRS[0]!.continuation);
    const expectedGeneration = await model.generate(PAIRS[2]!.prompt, { maxNewTokens: 6 });
    const [first, score, generation, second] = await Promise.all([
      batch(model, PAIRS),
      model.score(PAIRS[0]!.prompt, PAIRS[0]!.continuation),
      model.generate(PAIRS[2]!.prompt, { maxNewTokens: 6 }),
      batch(model, PAIRS),
    ]);
    assert.deepEqual(first, expectedBatch);
    assert.deepEqual(second, expectedBatch);
    assert.deepEqual(score, expectedScore);
    assert.deepEqual(generation, expectedGeneration);
  });
}

test('score sub-batches: ≤ 8 rows, ≤ 1024 padded tokens, ≤ 256 MiB of float32 logits; order kept', () => {
  const rows = (count: number, tokens: number, logitColumns = tokens): { tokens: number; logitColumns: number }[] =>
    Array.from({ length: count }, () => ({ tokens, logitColumns }));
  assert.deepEqual(scoreSubBatches([], 512), []);
  assert.deepEqual(scoreSubBatches(rows(10, 100), 512), [[0, 1, 2, 3, 4, 5, 6, 7], [8, 9]]);
  // 5 × 201 = 1005 padded tokens fit, 6 × 201 do not; 2 × 500 fit, a row over 512 tokens runs alone
  assert.deepEqual(scoreSubBatches(rows(8, 201), 512), [[0, 1, 2, 3, 4], [5, 6, 7]]);
  assert.deepEqual(scoreSubBatches(rows(5, 500), 512), [[0, 1], [2, 3], [4]]);
  assert.deepEqual(scoreSubBatches([...rows(2, 10), ...rows(2, 600)], 512), [[0, 1], [2], [3]]);
  // a Llama 3 sized vocabulary: 120 columns × 131,072 × 4 bytes = 62.9 MB a row, so 4 rows (252 MB) and not 5 (315 MB)
  assert.deepEqual(scoreSubBatches(rows(8, 120), 131_072), [[0, 1, 2, 3], [4, 5, 6, 7]]);
  // with num_logits_to_keep only the continuation's columns count: 8 × 60 columns fit
  assert.deepEqual(scoreSubBatches(rows(8, 120, 60), 131_072), [[0, 1, 2, 3, 4, 5, 6, 7]]);
  // the widest row of a sub-batch sets its columns; a row over the bound on its own runs alone
  assert.deepEqual(
    scoreSubBatches([{ tokens: 10, logitColumns: 300 }, { tokens: 20, logitColumns: 5 }, { tokens: 30, logitColumns: 5 }], 262_144),
    [[0], [1, 2]],
  );
  assert.deepEqual(scoreSubBatches(rows(2, 300), 262_144), [[0], [1]]);
  // and ≤ 288 MiB of key/value cache (a shared prefix counts in every row): 46,080 bytes a token on the
  // SmolLM2-135M shape, 1,500 tokens a row, so 4 rows and not 5
  assert.deepEqual(scoreSubBatches(rows(5, 40), 512, Array<number>(5).fill(1500), 46_080), [[0, 1, 2, 3], [4]]);
});

describe('scoreBatch on a built random Llama', () => {
  const folder = temporaryFolder('pof-batched-scoring-');
  let model: LanguageModel;

  before(async () => {
    model = await loadBuiltModel(folder.path, 1);
  });

  after(async () => {
    await model?.dispose();
    folder.remove();
  });

  sharedTests(() => model, 'built random Llama');
});

describe('scoreBatch on stories260K', needsStories, () => {
  let model: LanguageModel;

  before(async () => {
    model = await loadLanguageModel({ model: STORIES_260K, allowDownload: false });
  });

  after(async () => {
    await model?.dispose();
  });

  sharedTests(() => model, 'stories260K');

  test('the batch gives the pinned scores of score', async () => {
    const [first, merged] = await batch(model, [PAIRS[0]!, PAIRS[MERGING]!, PAIRS[6]!]);
    // As test/unit/transformersModel.test.ts pins for score.
    assert.equal(first!.tokenCount, 8);
    assert.ok(Math.abs(first!.logProb - -1.062260734919879) < 1e-4, `logProb ${first!.logProb}`);
    assert.equal(merged!.tokenCount, 2);
    assert.ok(Math.abs(merged!.logProb - -3.7003632544278453) < 1e-4, `logProb ${merged!.logProb}`);
  });
});
