/**
 * The endpoint model against a vLLM STAND-IN: a small loopback HTTP server written for these tests, since vLLM
 * needs a GPU we do not have here. It follows vLLM's documented OpenAI-compatible API (`/v1/models` with
 * `max_model_len`, `/tokenize` at the root, `/v1/completions` with `echo` + `logprobs` answering
 * `CompletionLogProbs`) and answers echo requests with a recorded exchange (test/fixtures/vllm/echo-exchange.json,
 * values from stories260K in-process). Its /tokenize uses the real stories260K tokenizer.
 * Also: a server with neither prompt log-probabilities nor /tokenize (as Ollama), retries, and the in-flight bound.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { runExperiment } from '../../src/engine/experiment/experiment';
import type { LanguageModel } from '../../src/engine/model/languageModel';
import { connectEndpoint } from '../../src/engine/model/endpoint/endpointModel';
import { EndpointError } from '../../src/engine/model/endpoint/httpClient';
import { loadLanguageModel } from '../../src/engine/model/transformers/transformersModel';
import { renderReportMarkdown } from '../../src/engine/report/markdown';
import { DEFAULT_SETTINGS } from '../../src/engine/settings';
import { FIXTURES, sharedMissing, STORIES_260K, temporaryFolder } from '../support/paths';

interface Exchange { request: { prompt: number[] } & Record<string, unknown>; response: { choices: { logprobs: { token_logprobs: (number | null)[] } }[] } }
const RECORDED = JSON.parse(readFileSync(join(FIXTURES, 'vllm', 'echo-exchange.json'), 'utf8')) as { echo: Exchange[] };
const SERVED = 'stories260K-vllm';

interface StandInOptions {
  /** Answer /tokenize (vLLM does); off: 404, as Ollama. */
  tokenize: boolean;
  /** Answer echo requests with the recorded log-probabilities; off: ignore echo, as llama-server and Ollama do. */
  echo: boolean;
  /** Answer the first requests to /v1/models with these statuses before a good answer. */
  failures?: number[];
  /** Milliseconds before each completion answer, so requests overlap. */
  delay?: number;
  /** A server that breaks the API: log-probabilities above 0, or more generated tokens than max_tokens. */
  lies?: 'positive-log-probabilities' | 'too-many-tokens';
}

/** The vLLM stand-in. `requests` keeps every completion request's body; `maxInFlight` the most open at once. */
class VllmStandIn {
  readonly requests: Record<string, unknown>[] = [];
  readonly authorizations: (string | undefined)[] = [];
  maxInFlight = 0;
  private inFlight = 0;
  private readonly server: Server;
  constructor(private readonly options: StandInOptions, private readonly tokenizer: LanguageModel['tokenizer']) {
    this.server = createServer((request, response) => void this.answer(request, response));
  }

  get endpoint(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/v1`;
  }

  listen(): Promise<void> {
    return new Promise((resolve) => this.server.listen(0, '127.0.0.1', resolve));
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  private async answer(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const send = (status: number, body: unknown): void => {
      response.writeHead(status, { 'content-type': 'application/json' });
      response.end(JSON.stringify(body));
    };
    this.authorizations.push(request.headers.authorization);
    let text = '';
    for await (const chunk of request) text += String(chunk);
    const body = text ? (JSON.parse(text) as Record<string, unknown>) : {};
    if (request.method === 'GET' && request.url === '/v1/models') {
      const failure = this.options.failures?.shift();
      if (failure) return send(failure, { object: 'error', message: 'the stand-in is busy', type: 'ServiceUnavailableError', code: failure });
      return send(200, { object: 'list', data: [{ id: SERVED, object: 'model', created: 1767225600, owned_by: 'vllm', root: 'stories260K', parent: null, max_model_len: 512, permission: [] }] });
    }
    if (request.method === 'POST' && request.url === '/tokenize' && this.options.tokenize) {
      const tokens = this.tokenizer.encode(String(body.prompt), { addSpecialTokens: body.add_special_tokens !== false });
      return send(200, { count: tokens.length, max_model_len: 512, tokens, token_strs: null });
    }
    if (request.method === 'POST' && request.url === '/v1/completions') {
      this.requests.push(body);
      this.inFlight++;
      this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
      await new Promise((resolve) => setTimeout(resolve, this.options.delay ?? 0));
      this.inFlight--;
      if (body.echo === true && this.options.echo) {
        const recorded = RECORDED.echo.find((exchange) => JSON.stringify(exchange.request.prompt) === JSON.stringify(body.prompt));
        if (recorded && this.options.lies === 'positive-log-probabilities') {
          return send(200, { choices: [{ logprobs: { token_logprobs: recorded.response.choices[0]!.logprobs.token_logprobs.map((value) => (value === null ? null : value + 5)) } }] });
        }
        return recorded ? send(200, recorded.response) : send(400, { object: 'error', message: 'the stand-in has no recording for this prompt', type: 'BadRequestError', code: 400 });
      }
      if (this.options.lies === 'too-many-tokens') {
        const ids = Array.from({ length: Number(body.max_tokens) * 3 }, (_, i) => 100 + i);
        return send(200, { choices: [{ index: 0, text: ' Lima'.repeat(ids.length), token_ids: ids, finish_reason: 'length' }] });
      }
      // Every generation answers " Lima": the stand-in has no model; these tests are about scoring and capabilities.
      return send(200, {
        id: 'cmpl-standin', object: 'text_completion', created: 1767225600, model: SERVED,
        choices: [{ index: 0, text: ' Lima', logprobs: null, finish_reason: 'stop', stop_reason: null, prompt_logprobs: null }],
        usage: { prompt_tokens: 5, total_tokens: 7, completion_tokens: 2 },
      });
    }
    send(404, { detail: 'Not Found' });
  }
}

describe('endpoint model on a vLLM stand-in', { skip: sharedMissing }, () => {
  const folder = temporaryFolder('pof-endpoint-echo-');
  let local: LanguageModel;
  const standIns: VllmStandIn[] = [];
  const standIn = async (options: StandInOptions): Promise<VllmStandIn> => {
    const server = new VllmStandIn(options, local.tokenizer);
    await server.listen();
    standIns.push(server);
    return server;
  };

  before(async () => {
    local = await loadLanguageModel({ model: STORIES_260K, allowDownload: false, threads: 1 });
  });

  after(async () => {
    await Promise.all(standIns.map((server) => server.close()));
    await local?.dispose();
    folder.remove();
  });

  test('capabilities: prompt log-probabilities by echo, tokenization, the context from max_model_len', async () => {
    const server = await standIn({ tokenize: true, echo: true });
    const model = await connectEndpoint({ endpoint: server.endpoint, model: SERVED, apiKey: 'sk-test-key' });
    assert.ok(server.authorizations.length >= 4 && server.authorizations.every((header) => header === 'Bearer sk-test-key'));
    assert.equal(model.probe.kind, 'openai');
    assert.equal(model.probe.tokenize, 'vllm');
    assert.equal(model.probe.promptLogProbs, null);
    assert.equal(model.capabilities.referenceScoring, 'echoed prompt log-probabilities, one request per reference');
    assert.equal(model.contextLength, 512);
    assert.deepEqual(model.unavailableMeasurements.map((entry) => entry.measurement), ['vocabulary-size']);
  });

  test("a score is the recorded token_logprobs after the prompt, from lm-evaluation-harness's request", async () => {
    const server = await standIn({ tokenize: true, echo: true });
    const model = await connectEndpoint({ endpoint: server.endpoint, model: SERVED });
    const prompt = { text: 'Once upon a time', addSpecialTokens: true };
    const score = await model.score(prompt, ', there was a little girl');
    const recorded = RECORDED.echo[1]!;
    assert.deepEqual(score.tokenLogProbs, recorded.response.choices[0]!.logprobs.token_logprobs.slice(5, 13));
    // lm_eval/models/openai_completions.py LocalCompletionsAPI._create_payload, loglikelihood branch, key for key.
    const sent = server.requests[server.requests.length - 1]!;
    assert.deepEqual(sent, { model: SERVED, prompt: recorded.request.prompt, temperature: 0, max_tokens: 1, logprobs: 1, seed: 1234, echo: true });
    assert.deepEqual(Object.keys(sent).sort(), ['echo', 'logprobs', 'max_tokens', 'model', 'prompt', 'seed', 'temperature']);
    const inProcess = await local.score(prompt, ', there was a little girl');
    score.tokenLogProbs.forEach((value, index) => assert.ok(Math.abs(value - inProcess.tokenLogProbs[index]!) <= 1e-2));
  });

  test("a local tokenizer.json stands in for a missing /tokenize, and echo scoring works through its ids", async () => {
    const server = await standIn({ tokenize: false, echo: true });
    const model = await connectEndpoint({ endpoint: server.endpoint, model: SERVED, tokenizer: STORIES_260K });
    assert.equal(model.capabilities.tokenization, `local tokenizer.json from ${STORIES_260K}`);
    assert.deepEqual(model.tokenizer.encode('Once upon a time'), [1, 403, 407, 261, 378]);
    assert.equal(model.vocabularySize, 512);
    assert.deepEqual(model.unavailableMeasurements, []);
    // Prompts go as text to a server without /tokenize (Ollama takes no ids), counted with the named tokenizer.
    const generation = await model.generate({ text: 'Once upon a time', addSpecialTokens: true }, { maxNewTokens: 4 });
    assert.equal(server.requests[server.requests.length - 1]!.prompt, 'Once upon a time');
    assert.equal(generation.promptTokenCount, 5);
    const score = await model.score({ text: 'Once upon a time', addSpecialTokens: true }, ', there was a little girl');
    assert.deepEqual(score.tokenLogProbs, RECORDED.echo[1]!.response.choices[0]!.logprobs.token_logprobs.slice(5, 13));
  });

  test('a server with neither prompt log-probabilities nor /tokenize: the run goes on, and the report says what it lacks and why', async () => {
    const server = await standIn({ tokenize: false, echo: false });
    const model = await connectEndpoint({ endpoint: server.endpoint, model: SERVED });
    assert.deepEqual(model.unavailableMeasurements.map((entry) => entry.measurement), ['reference-log-probability', 'token-counts', 'vocabulary-size']);
    const dataset = join(folder.path, 'capitals.jsonl');
    writeFileSync(dataset, readFileSync(join(FIXTURES, 'workspace', 'capitals.jsonl')));
    const report = await runExperiment({ file: dataset, settings: { ...DEFAULT_SETTINGS, shots: [0, 1], heldOut: 4, maxNewTokens: 8 }, model, cacheFolder: null });
    assert.equal(report.complete, true);
    assert.equal(report.items.length, 8);
    assert.deepEqual(report.items.map((row) => [row.output, row.referenceLogProb, row.referenceTokens]), new Array(8).fill(['Lima', null, null]));
    assert.deepEqual(report.curve.map((point) => point.referenceLogProbPerToken), [null, null]);
    // Nothing to measure ε with: no measured-ε column and no per-item "not scored" reasons; unavailableMeasurements says why.
    assert.deepEqual(report.curve.map((point) => point.measuredEpsilon ?? null), [null, null]);
    assert.deepEqual(report.items.map((row) => row.unscoredReason ?? null), new Array(8).fill(null));
    assert.deepEqual((report.warnings ?? []).filter((warning) => warning.includes('measured ε')), []);
    assert.equal(report.estimate.fit.estimated, true);
    assert.deepEqual(report.unavailableMeasurements?.map((entry) => entry.measurement), ['reference-log-probability', 'token-counts', 'vocabulary-size']);
    assert.match(report.unavailableMeasurements![0]!.reason, /gives no log-probabilities for given text \(the prompt cannot be sent as token ids.*: the references' log-probability and perplexity are not measured; the agreement metrics are$/);
    // Without exact ids the prompt goes as text; no echo request was ever part of the run.
    assert.ok(server.requests.slice(2).every((body) => typeof body.prompt === 'string' && body.echo === undefined));
    await assert.rejects(model.score({ text: 'Once', addSpecialTokens: true }, ' upon'), EndpointError);
    const markdown = renderReportMarkdown(report);
    assert.match(markdown, /\n\*\*Not measured:\*\*\n\n- reference-log-probability: .+\n- token-counts: .+\n- vocabulary-size: .+\n/);
    assert.match(markdown, /\n- tokenization: estimated as characters ÷ 4\n/);
  });

  test('a server that breaks the API (a log-probability above 0, more tokens than asked for) fails the request, naming it', async () => {
    const liar = await standIn({ tokenize: true, echo: true, lies: 'positive-log-probabilities' });
    const scoring = await connectEndpoint({ endpoint: liar.endpoint, model: SERVED });
    const prompt = { text: 'Once upon a time', addSpecialTokens: true };
    const first = RECORDED.echo[1]!.response.choices[0]!.logprobs.token_logprobs[5]!;
    await assert.rejects(scoring.score(prompt, ', there was a little girl'), (error: Error) => error instanceof EndpointError &&
      error.message === `${liar.endpoint}/completions gave ${first + 5} as the log-probability of token 5: a log-probability is at most 0`);
    const verbose = await standIn({ tokenize: true, echo: true, lies: 'too-many-tokens' });
    const generating = await connectEndpoint({ endpoint: verbose.endpoint, model: SERVED });
    await assert.rejects(generating.generate(prompt, { maxNewTokens: 4 }), (error: Error) => error instanceof EndpointError &&
      error.message === `${verbose.endpoint}/completions answered 12 tokens where at most 4 were asked for`);
  });

  test('429 and 5xx are retried with backoff; a 4xx is not', async () => {
    const busy = await standIn({ tokenize: true, echo: true, failures: [503, 429] });
    const model = await connectEndpoint({ endpoint: busy.endpoint, model: SERVED, backoffMs: 5 });
    assert.equal(model.probe.servedModel, SERVED);
    const broken = await standIn({ tokenize: true, echo: true, failures: [503, 503, 503] });
    await assert.rejects(connectEndpoint({ endpoint: broken.endpoint, model: SERVED, backoffMs: 5, retries: 2 }), {
      name: 'EndpointError', message: `GET ${broken.endpoint}/models: HTTP 503 the stand-in is busy`,
    });
    await assert.rejects(connectEndpoint({ endpoint: busy.endpoint, model: 'another-model' }), {
      name: 'EndpointError', message: `${busy.endpoint} does not serve "another-model"; it serves ${SERVED}: pass one of those with --model`,
    });
  });

  test('no more requests are in flight than the concurrency allows', async () => {
    const server = await standIn({ tokenize: true, echo: true, delay: 30 });
    const model = await connectEndpoint({ endpoint: server.endpoint, model: SERVED, concurrency: 3 });
    server.maxInFlight = 0;
    const prompts = Array.from({ length: 10 }, (_, index) => ({ text: `Question ${index}:`, addSpecialTokens: true }));
    const generations = await model.generateBatch(prompts, { maxNewTokens: 4 });
    assert.deepEqual(generations.map((generation) => generation.text), new Array(10).fill(' Lima'));
    assert.equal(server.maxInFlight, 3);
  });
});
