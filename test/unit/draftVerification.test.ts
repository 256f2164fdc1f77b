/**
 * Drafts (`GenerateOptions.drafts`): the expected answer runs after the prompt in the prompt pass and each of its
 * tokens is checked against the model's own greedy choice. Whatever the draft (the model's own answer, a wrong
 * one, one right for a word then wrong, one longer than the token limit, none), `generateBatch` must give exactly
 * what transformers.js' own `generate` gives, token ids included; a draft the model agrees with must save the
 * steps it covers (counted in forward passes), and the pass must score the draft as `score` does.
 *
 * On icl-tiny (examples/models/icl-tiny), which copies the answer of the matching demonstration, so its answers can
 * be drafted; and on a built random Llama with a shared prefix, where accepted counts differ from row to row.
 *
 * Run: node --import tsx --test test/unit/draftVerification.test.ts
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';

import type { GenerateOptions, Generation, LanguageModel, PromptInput } from '../../src/engine/model/languageModel';
import { type DecoderSession } from '../../src/engine/model/transformers/forward';
import { decodePadded } from '../../src/engine/model/transformers/generation';
import { type TransformersPrefix } from '../../src/engine/model/transformers/prefixCache';
import { loadLanguageModel } from '../../src/engine/model/transformers/transformersModel';
import { loadBuiltModel } from '../support/builtModel';
import { recordingCalls } from '../support/forwardCalls';
import { addLogitsToKeep } from '../support/graphVariants';
import { REPO_ROOT, temporaryFolder } from '../support/paths';
import { buildTinyLlama, TINY_SHAPE } from '../support/tinyLlama';

const ICL_TINY = join(REPO_ROOT, 'examples', 'models', 'icl-tiny');
/**
 * Per token: float rounding of kernel shapes (a pass over more columns), never a different computation; the
 * largest seen on icl-tiny between a padded pass and a lone one is 2.7e-5 (the hostile review's probes).
 */
const TOLERANCE_PER_TOKEN = 5e-5;

function assertTokenLogProbsClose(actual: readonly number[], expected: readonly number[], what: string): void {
  assert.equal(actual.length, expected.length, what);
  actual.forEach((value, i) => assert.ok(Math.abs(value - expected[i]!) <= TOLERANCE_PER_TOKEN, `${what}, token ${i}: ${value} vs ${expected[i]}`));
}

async function oneAtATime(model: LanguageModel, prompts: readonly PromptInput[], options: GenerateOptions): Promise<Generation[]> {
  const results: Generation[] = [];
  for (const prompt of prompts) results.push(await model.generate(prompt, options));
  return results;
}

/** Single-token passes: the decoding steps after the prompt pass. */
function steps(calls: readonly { dims: number[]; pastLength: number }[]): number {
  return calls.filter((call) => call.dims[1] === 1 && call.pastLength > 0).length;
}

/** Rows decoded in those steps, summed: one per row and step. */
function rowSteps(calls: readonly { dims: number[]; pastLength: number }[]): number {
  return calls.filter((call) => call.dims[1] === 1 && call.pastLength > 0).reduce((sum, call) => sum + call.dims[0]!, 0);
}

/** Prompt-completion demonstrations in icl-tiny's format; the query's key is among them. */
const DEMONSTRATIONS = [
  'my dot -> ink hot', 'one king -> ten oar happy dad ear', 'its lime -> for was car', 'its old -> pad saw ring',
  'this tot -> nest dam day', 'that wad -> tan lily dad herb', 'no day -> yes dam',
];
function phrasePrompt(query: string): PromptInput {
  return { text: `${DEMONSTRATIONS.join('\n')}\n${query} ->`, addSpecialTokens: true };
}
const ICL_PROMPTS = ['her dot', 'the king', 'my lime', 'a old', 'his tot', 'her wad'].map(phrasePrompt);
const OPTIONS: GenerateOptions = { maxNewTokens: 12, stopSequences: ['\n'] };

describe('drafts on icl-tiny (answers it gives by copying a demonstration)', () => {
  let model: LanguageModel;
  let expected: Generation[];

  before(async () => {
    model = await loadLanguageModel({ model: ICL_TINY, allowDownload: false, threads: 1 });
    expected = await oneAtATime(model, ICL_PROMPTS, OPTIONS);
  });
  after(async () => model?.dispose());

  test('the model answers by copying (what makes its drafts worth checking)', () => {
    // Greedy decoding is deterministic: three are the matching demonstration's answer, the others come from other
    // demonstrations' words (icl-tiny does not always pick the matching one; its SOURCE.md).
    assert.deepEqual(expected.map((generation) => generation.text), [' ink hot', ' tar dad', ' tar dad', ' pad saw ring', ' pad saw ring', ' new pit']);
    assert.ok(expected.every((generation) => generation.finishReason === 'stop-sequence'));
  });

  test('its own answers as drafts: the same generations from the prompt pass alone, no decoding step', async () => {
    const drafts = expected.map((generation) => `${generation.text}\n`);
    const { value, calls } = await recordingCalls(model, () => model.generateBatch!(ICL_PROMPTS, { ...OPTIONS, drafts }));
    assert.deepEqual(value, expected);
    // The prompt pass only, in two chunks (the prompts' columns, then the drafts' from the prompts' last token on).
    assert.deepEqual(calls.map((call) => call.pastLength > 0), [false, true]);
    assert.equal(steps(calls), 0);
    const plain = await recordingCalls(model, () => model.generateBatch!(ICL_PROMPTS, OPTIONS));
    assert.deepEqual(plain.value, expected);
    assert.equal(steps(plain.calls), Math.max(...expected.map((generation) => generation.tokenIds.length)) - 1);
  });

  test('wrong, half-right, right then going on, empty and missing drafts: the same generations', async () => {
    const drafts = [' ink cold\n', ' ten oar sad', ' tar dad\n and a tail that goes on past the limit of twelve tokens', '', undefined, ' new pat\n'];
    const { value, calls } = await recordingCalls(model, () => model.generateBatch!(ICL_PROMPTS, { ...OPTIONS, drafts }));
    assert.deepEqual(value, expected);
    // How far each draft holds, on its tokens as the runner gets them (the joint tokens after the prompt's): each
    // row then decodes one step per token after its held tokens and the token after them.
    const holds = ICL_PROMPTS.map((prompt, row) => {
      const promptIds = model.tokenizer.encode(prompt.text);
      const draftIds = drafts[row] ? model.tokenizer.encode(prompt.text + drafts[row]).slice(promptIds.length) : [];
      let held = 0;
      while (held < draftIds.length && draftIds[held] === expected[row]!.tokenIds[held]) held++;
      return held;
    });
    assert.deepEqual(holds, [2, 1, 5, 0, 0, 3]); // the third holds to its end of answer, where generation stops
    const after = expected.map((generation, row) => generation.tokenIds.length - Math.min(generation.tokenIds.length, holds[row]! + 1));
    assert.equal(rowSteps(calls), after.reduce((sum, n) => sum + n, 0));
  });

  test('a draft longer than the token limit ends at the limit, as generation does', async () => {
    const options = { maxNewTokens: 2, stopSequences: ['\n'] };
    const limited = await oneAtATime(model, ICL_PROMPTS, options);
    const drafts = expected.map((generation) => `${generation.text}\n`);
    const { value, calls } = await recordingCalls(model, () => model.generateBatch!(ICL_PROMPTS, { ...options, drafts }));
    assert.deepEqual(value, limited);
    assert.ok(value.every((generation) => generation.tokenIds.length === 2 && generation.finishReason === 'max-new-tokens'));
    assert.equal(calls.length, 2); // the prompt pass's two chunks, no decoding step
  });

  test('the draft is scored from the pass that checked it: no forward pass, the score `score` gives', async () => {
    const drafts = expected.map((generation) => `${generation.text}\n`);
    await model.generateBatch!(ICL_PROMPTS, { ...OPTIONS, drafts });
    const pairs = ICL_PROMPTS.map((prompt, i) => ({ prompt, continuation: drafts[i]! }));
    const { value, calls } = await recordingCalls(model, () => model.scoreBatch!(pairs));
    assert.equal(calls.length, 0);
    for (const [i, pair] of pairs.entries()) {
      const alone = await model.score(pair.prompt, pair.continuation);
      assertTokenLogProbsClose(value[i]!.tokenLogProbs, alone.tokenLogProbs, `pair ${i}`);
    }
    // Another continuation of the same prompts is scored after the kept prompt pass, as before drafts.
    const others = ICL_PROMPTS.map((prompt) => ({ prompt, continuation: ' yes dam\n' }));
    const other = await recordingCalls(model, () => model.scoreBatch!(others));
    assert.equal(other.calls.length, 1);
    const alone = await model.score(others[0]!.prompt, others[0]!.continuation);
    assertTokenLogProbsClose(other.value[0]!.tokenLogProbs, alone.tokenLogProbs, 'another continuation');
  });
});

/**
 * Drafts given to the decoding loop as tokens (what the runner makes of a draft's text: random weights emit byte
 * tokens that need not come back from their text): each row's own greedy answer held for a chosen number of
 * tokens, then a token it would not choose. The same tokens must come out as without drafts, and each row decodes
 * one step per token after its draft's last good one and the token after it.
 */
async function checkHeldDrafts(model: LanguageModel, shared: string, tails: readonly string[], holds: readonly number[], usePrefix: boolean): Promise<void> {
  const limit = 10;
  await (model as unknown as { loadWeights(): Promise<void> }).loadWeights();
  const decoder = (model as unknown as { decoder: DecoderSession }).decoder;
  const prefix = usePrefix ? ((await model.prefill!({ text: shared, addSpecialTokens: true })) as TransformersPrefix) : undefined;
  try {
    const rows = tails.map((tail) => model.tokenizer.encode(shared + tail));
    const width = Math.max(...rows.map((ids) => ids.length - (prefix?.tokenCount ?? 0)));
    const decode = (drafts?: number[][]): Promise<number[][]> =>
      decodePadded(decoder, { rows, width, prefix, drafts, ended: (_, ids) => ids.length >= limit, keepPromptPass: () => undefined });
    const plain = await recordingCalls(model, () => decode());
    const expected = plain.value;
    assert.ok(expected.every((ids) => ids.length === limit));
    const drafts = expected.map((ids, row) => [...ids.slice(0, holds[row]), (ids[holds[row]!] ?? 0) === 7 ? 8 : 7].slice(0, limit));
    const drafted = await recordingCalls(model, () => decode(drafts));
    assert.deepEqual(drafted.value, expected);
    const after = holds.map((held) => limit - Math.min(limit, held + 1));
    assert.deepEqual([rowSteps(drafted.calls), rowSteps(plain.calls)], [after.reduce((sum, n) => sum + n, 0), tails.length * (limit - 1)]);
    // generateBatch (no drafts) agrees: the loop above is the one it runs.
    const prompts = tails.map((tail) => ({ text: shared + tail, addSpecialTokens: true }));
    assert.deepEqual((await model.generateBatch!(prompts, { maxNewTokens: limit, ...(prefix ? { prefix } : {}) })).map((generation) => generation.tokenIds), expected);
  } finally {
    prefix?.dispose();
  }
}

describe('drafts held for 0 to all of the answer on built random Llamas (accepted counts differ by row)', () => {
  const folder = temporaryFolder('pof-drafts-');
  const shared = 'Some shared instruction text that every prompt begins with.\n';
  const tails = ['alpha', 'beta gamma delta', 'epsilon', 'zeta eta theta iota kappa', 'lambda mu'];
  const holds = [10, 3, 1, 0, 6];
  const models: LanguageModel[] = [];
  after(async () => {
    for (const model of models) await model.dispose();
    folder.remove();
  });

  test('after a shared prefix', async () => {
    models.push(await loadBuiltModel(folder.path, 11));
    await checkHeldDrafts(models.at(-1)!, shared, tails, holds, true);
  });

  test('a graph with num_logits_to_keep: the pass returns the logits of the prompt\'s last token and the drafts\' only', async () => {
    const modelFolder = join(folder.path, 'keep-logits');
    await buildTinyLlama(modelFolder, { seed: 12 });
    addLogitsToKeep(modelFolder);
    models.push(await loadLanguageModel({ model: modelFolder, allowDownload: false }));
    await checkHeldDrafts(models.at(-1)!, shared, tails, holds, true);
  });

  test('a vocabulary of 65,536: the pass runs in chunks, the drafts\' one from the prompt\'s last token', async () => {
    const modelFolder = join(folder.path, 'large-vocabulary');
    await buildTinyLlama(modelFolder, { seed: 13, shape: { ...TINY_SHAPE, vocabularySize: 65_536 } });
    models.push(await loadLanguageModel({ model: modelFolder, allowDownload: false }));
    // 5 rows × 65,536 × 4 bytes of logits: chunks of 51 columns. The longest prompt has 47 tokens and the drafts
    // 10: regular chunks would begin the second at column 51, after the prompt's last token; the drafts' begins at it.
    const long = (n: number): string => Array.from({ length: n }, (_, i) => `w${i % 7}`).join(' ');
    const tailsOf = [long(20), long(23), long(21), long(18), long(22)];
    assert.deepEqual(tailsOf.map((text) => models.at(-1)!.tokenizer.encode(text).length), [41, 47, 43, 37, 45]);
    await checkHeldDrafts(models.at(-1)!, '', tailsOf, holds, false);
  });
});
