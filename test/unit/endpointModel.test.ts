/**
 * The endpoint model against the real llama.cpp server (../shared/tools/llama-server) serving the same weights as
 * the in-process stories260K: the same prompts, the same greedy outputs, reference log-probabilities by forcing
 * that agree with the in-process scores, cancellation, resume, and a server that dies mid-run.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { runExperiment, RunCancelledError } from '../../src/engine/experiment/experiment';
import type { ExperimentReport } from '../../src/engine/experiment/report';
import { settleTokens, type LanguageModel } from '../../src/engine/model/languageModel';
import { connectEndpoint, type EndpointModel } from '../../src/engine/model/endpoint/endpointModel';
import { EndpointError } from '../../src/engine/model/endpoint/httpClient';
import { forcedRequest } from '../../src/engine/model/endpoint/probe';
import { loadLanguageModel } from '../../src/engine/model/transformers/transformersModel';
import { buildPrompt } from '../../src/engine/prompt/builder';
import { templateFor } from '../../src/engine/prompt/template';
import { DEFAULT_SETTINGS, type CheckSettings } from '../../src/engine/settings';
import { FIXTURES, STORIES_260K, temporaryFolder } from '../support/paths';
import { llamaServerMissing, startLlamaServer, type RunningServer } from '../support/llamaServer';

const DATASET = join(FIXTURES, 'workspace', 'capitals.jsonl');
const settings: CheckSettings = { ...DEFAULT_SETTINGS, shots: [0, 1, 2, 4], heldOut: 6, seed: 3, maxNewTokens: 16 };
/** SOURCE.md: a request alone and inside a concurrent batch can differ by up to 4e-3 in log-probability. */
const BATCH_TOLERANCE = 4e-3;

/**
 * What may differ between a resumed and an uninterrupted run: times, whether a row came from the cache, and the
 * log-probabilities, which a server computing several requests in one batch gives only up to float noise
 * (compared with a tolerance where the tests need them).
 */
function comparable(report: ExperimentReport): unknown {
  const likelihood = /LogProb|Probabilit|Perplexity|measuredEpsilon|conditionalLabelTV/;
  const rest = { ...report, createdAt: null, timing: null, items: report.items.map((row) => ({ ...row, cached: null, milliseconds: null })) };
  return JSON.parse(JSON.stringify(rest, (key, value: unknown) => (likelihood.test(key) ? null : value)));
}

describe('endpoint model on llama-server', { skip: llamaServerMissing }, () => {
  const folder = temporaryFolder('pof-endpoint-');
  let server: RunningServer;
  let local: LanguageModel;
  let remote: EndpointModel;

  before(async () => {
    server = await startLlamaServer();
    local = await loadLanguageModel({ model: STORIES_260K, allowDownload: false, threads: 1 });
    remote = await connectEndpoint({ endpoint: server.endpoint, model: 'stories260K' });
  });

  after(async () => {
    await local?.dispose();
    await server?.stop();
    folder.remove();
  });

  test('capabilities are probed and said: generation, tokenization, forcing; no prompt log-probabilities', () => {
    assert.equal(remote.probe.kind, 'llama.cpp');
    assert.equal(remote.probe.tokenize, 'llama.cpp');
    assert.equal(remote.probe.promptLogProbs, 'the server answers an echo request without token_logprobs (it ignores echo)');
    assert.equal(remote.probe.forcedScoring, null);
    assert.equal(remote.probe.eosTokenId, 2);
    assert.equal(remote.contextLength, 512);
    assert.equal(remote.vocabularySize, 512);
    assert.deepEqual(remote.unavailableMeasurements, []);
    assert.match(remote.capabilities.referenceScoring!, /^forced: one \/completion per reference token/);
    assert.equal(remote.capabilities.tokenization, "the server's /tokenize");
  });

  test("the server's tokenizer gives transformers.js's ids, inside settleTokens only", async () => {
    const texts = ['Once upon a time', 'Capital of Peru?\nAnswer: Lima', ' leading space', 'naïve café 東京'];
    const ids = await settleTokens(remote.tokenizer, () => texts.map((text) => remote.tokenizer.encode(text)));
    assert.deepEqual(ids, texts.map((text) => local.tokenizer.encode(text)));
    assert.deepEqual(remote.tokenizer.encode('Once upon a time'), [1, 403, 407, 261, 378]);
    assert.throws(() => remote.tokenizer.countTokens('never fetched'), /were not fetched: count tokens inside settleTokens/);
  });

  test("the budget's bisection settles on the server's counts to the prompt the in-process tokenizer builds", async () => {
    const examples = Array.from({ length: 12 }, (_, index) => ({ line: index + 2, input: `What is the capital of country number ${index}?`, context: '', reference: `City ${index}` }));
    const query = { line: 1, input: 'What is the capital of Peru?', context: '', reference: 'Lima' };
    const promptSettings = { schema: 'input-output' as const, template: templateFor('input-output', undefined), chatTemplate: 'auto' as const, reservedOutputTokens: 8, labels: [] };
    // Budgets that keep all, some (found by bisection over several /tokenize rounds) and none of the examples.
    for (const contextLength of [4096, 160, 90, 20]) {
      const served = await settleTokens(remote.tokenizer, () => buildPrompt(query, examples, remote.tokenizer, { ...promptSettings, contextLength }));
      assert.deepEqual(served, buildPrompt(query, examples, local.tokenizer, { ...promptSettings, contextLength }), `context ${contextLength}`);
    }
  });

  test('the same experiment gives the same prompts and, but for near-ties, the same greedy outputs as in-process', async () => {
    const inProcess = await runExperiment({ file: DATASET, settings, model: local, cacheFolder: null });
    const served = await runExperiment({ file: DATASET, settings, model: remote, cacheFolder: null });
    assert.deepEqual(served.estimate, inProcess.estimate);
    assert.deepEqual(served.shots, inProcess.shots);
    assert.equal(served.items.length, 24);
    assert.deepEqual(served.items.map((row) => [row.k, row.line, row.prompt, row.promptTokens, row.exampleLines]), inProcess.items.map((row) => [row.k, row.line, row.prompt, row.promptTokens, row.exampleLines]));
    const differing = served.items.filter((row, index) => row.output !== inProcess.items[index]!.output);
    // Where greedy decoding parts, the two top tokens were tied within float noise: the server's own log-probabilities
    // of its choice and of the in-process choice at the first differing position differ by less than the batch tolerance.
    assert.ok(differing.length <= 2, `${differing.length} of 24 outputs differ`);
    for (const row of differing) {
      const prompt = { text: row.prompt, addSpecialTokens: true };
      const [mine, theirs] = [await local.generate(prompt, { maxNewTokens: 16 }), await remote.generate(prompt, { maxNewTokens: 16 })];
      // Alone, the server may give the in-process output: the flip came from computing inside a concurrent batch.
      if (mine.text === theirs.text) continue;
      const at = mine.tokenIds.findIndex((id, index) => id !== theirs.tokenIds[index]);
      assert.ok(at >= 0 && at < theirs.tokenIds.length, `line ${row.line}, k ${row.k}: one output is a prefix of the other`);
      const prefix = [...(await settleTokens(remote.tokenizer, () => remote.tokenizer.encode(row.prompt))), ...mine.tokenIds.slice(0, at)];
      const logProb = async (token: number): Promise<number> => {
        const response = await fetch(`http://127.0.0.1:${server.port}/completion`, { method: 'POST', body: JSON.stringify(forcedRequest(prefix, token)) });
        return ((await response.json()) as { completion_probabilities: { logprob: number }[] }).completion_probabilities[0]!.logprob;
      };
      const gap = (await logProb(theirs.tokenIds[at]!)) - (await logProb(mine.tokenIds[at]!));
      assert.ok(gap >= 0 && gap < BATCH_TOLERANCE, `line ${row.line}, k ${row.k}: token ${at} differs with a gap of ${gap}`);
    }
    assert.equal(served.unavailableMeasurements, undefined);
    assert.equal(served.model.capabilities?.tokenization, "the server's /tokenize");
    // Reference log-probabilities by forcing, per item, against the in-process teacher-forced ones.
    for (const [index, row] of served.items.entries()) {
      const expected = inProcess.items[index]!;
      assert.equal(row.referenceTokens, expected.referenceTokens);
      assert.ok(Math.abs(row.referenceLogProb! - expected.referenceLogProb!) <= 1e-2 * row.referenceTokens!, `line ${row.line}, k ${row.k}`);
    }
  });

  test('forced reference log-probabilities agree with the in-process score within 1e-2 per token', async () => {
    const pairs = [
      { prompt: { text: 'Once upon a time', addSpecialTokens: true }, continuation: ', there was a little girl named Lily.' },
      { prompt: { text: 'Q: What is the capital of France?\nA:', addSpecialTokens: true }, continuation: ' Paris' },
      { prompt: { text: 'The cat sat on the ', addSpecialTokens: true }, continuation: 'mat and purred.' },
      // Characters the vocabulary spells in bytes: a byte token cannot be forced alone, so its position is listed.
      { prompt: { text: 'Capital: Paris ', addSpecialTokens: true }, continuation: 'Ž end, Reykjavík, 東京' },
    ];
    const served = await remote.scoreBatch(pairs);
    for (const [index, pair] of pairs.entries()) {
      const expected = await local.score(pair.prompt, pair.continuation);
      assert.equal(served[index]!.tokenCount, expected.tokenCount);
      served[index]!.tokenLogProbs.forEach((value, position) => assert.ok(Math.abs(value - expected.tokenLogProbs[position]!) <= 1e-2, `pair ${index}, token ${position}: ${value} vs ${expected.tokenLogProbs[position]}`));
    }
    assert.deepEqual(await remote.score(pairs[0]!.prompt, ''), { logProb: 0, tokenCount: 0, tokenLogProbs: [] });
  });

  test("with the server's chat template asked for, the measured prompt is what its chat route runs", async () => {
    const chat = await connectEndpoint({ endpoint: server.endpoint, model: 'stories260K', chatTemplate: true });
    assert.notEqual(chat.fingerprint, remote.fingerprint);
    assert.match(chat.capabilities.chatTemplate!, /^the server's: chat data rendered by it/);
    const report = await runExperiment({ file: DATASET, settings: { ...settings, shots: [0, 1], heldOut: 4 }, model: chat, cacheFolder: null });
    assert.equal(report.settings.chatTemplate, true);
    assert.equal(report.items.length, 8);
    for (const row of report.items) {
      // llama-server's ChatML fallback (stories260K has no template of its own), with the BOS its chat route adds.
      assert.ok(row.prompt.startsWith('<s><|im_start|>user\n') && row.prompt.endsWith('<|im_end|>\n<|im_start|>assistant\n'), row.prompt);
      const ids = await (chat.tokenizer as unknown as { encodeAsync(text: string, special: boolean): Promise<number[]> }).encodeAsync(row.prompt, false);
      assert.equal(row.promptTokens, ids.length);
      const raw = await fetch(`http://127.0.0.1:${server.port}/completion`, { method: 'POST', body: JSON.stringify({ prompt: ids, n_predict: 16, temperature: 0 }) });
      assert.equal(((await raw.json()) as { content: string }).content, row.output, `line ${row.line}, k ${row.k}`);
    }
  });

  test('cancelling aborts the request in flight', async () => {
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 20);
    // 450 tokens take the server far longer than 20 ms: only an aborted request rejects.
    await assert.rejects(remote.generate({ text: 'Once upon a time', addSpecialTokens: true }, { maxNewTokens: 450, signal: controller.signal }), { name: 'AbortError' });
  });

  test('a run cancelled halfway resumes to the same report', async () => {
    const uninterrupted = await runExperiment({ file: DATASET, settings, model: remote, cacheFolder: join(folder.path, 'fresh') });
    const cacheFolder = join(folder.path, 'resumed');
    const controller = new AbortController();
    let partial: ExperimentReport | null = null;
    await assert.rejects(
      runExperiment({ file: DATASET, settings, model: remote, cacheFolder, signal: controller.signal, onProgress: ({ done }) => { if (done === 12) controller.abort(); } }),
      (error: unknown) => {
        assert.ok(error instanceof RunCancelledError);
        partial = error.partial;
        return true;
      },
    );
    assert.equal(partial!.items.length, 12);
    const resumed = await runExperiment({ file: DATASET, settings, model: remote, cacheFolder });
    assert.equal(resumed.timing.cachedCalls, 24);
    assert.equal(resumed.timing.modelCalls, 24);
    assert.deepEqual(comparable(resumed), comparable(uninterrupted));
    resumed.items.forEach((row, index) => assert.ok(Math.abs(row.referenceLogProb! - uninterrupted.items[index]!.referenceLogProb!) <= BATCH_TOLERANCE * row.referenceTokens!));
  });

  test('a server killed mid-run gives a clear error, and the cache resumes the run on a new server', async () => {
    const dying = await startLlamaServer();
    const cacheFolder = join(folder.path, 'killed');
    try {
      const model = await connectEndpoint({ endpoint: dying.endpoint, model: 'stories260K', retries: 1, backoffMs: 20 });
      await assert.rejects(
        runExperiment({ file: DATASET, settings, model, cacheFolder, onProgress: ({ done }) => { if (done === 6) void dying.stop('SIGKILL'); } }),
        (error: unknown) => {
          assert.ok(error instanceof EndpointError, String(error));
          assert.match(error.message, new RegExp(`^POST http://127\\.0\\.0\\.1:${dying.port}/(tokenize|completion): cannot reach the server \\(connection refused: is the server running\\?\\)$`));
          return true;
        },
      );
    } finally {
      await dying.stop();
    }
    const revived = await startLlamaServer(dying.port);
    try {
      const model = await connectEndpoint({ endpoint: revived.endpoint, model: 'stories260K' });
      const resumed = await runExperiment({ file: DATASET, settings, model, cacheFolder });
      assert.equal(resumed.complete, true);
      assert.equal(resumed.items.length, 24);
      // The 6 items at k = 0 were done before the kill: a generation and a score each, from the cache.
      assert.ok(resumed.timing.cachedCalls >= 12, String(resumed.timing.cachedCalls));
      assert.deepEqual(resumed.items.filter((row) => row.k === 0).map((row) => row.cached), [true, true, true, true, true, true]);
    } finally {
      await revived.stop();
    }
  });
});
