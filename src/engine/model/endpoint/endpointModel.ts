/**
 * A LanguageModel served by an existing engine (vLLM, SGLang, llama.cpp's llama-server, Ollama, LM Studio…)
 * through its OpenAI-compatible HTTP API: no engine of our own. `connectEndpoint` probes what the server gives
 * (probe.ts) and the model uses that; what it cannot give is listed in `unavailableMeasurements`, which the
 * experiment skips and the report shows.
 *
 * Prompts go to the raw completions route, as the server's own token ids where it has /tokenize (else as text), so
 * the measured prompt is exactly the one Preview Prompt shows and the one the in-process runner would see; the
 * server's chat template and chat route are used only when asked for (`chatTemplate`).
 *
 * Files, one job each: httpClient (timeouts, retries, the in-flight bound, cancellation), probe (capabilities),
 * serverTokenizer / localTokenizer (token counts), chatTemplate, generation, scoring.
 */
import { createHash } from 'node:crypto';
import { DEFAULT_VOCABULARY_SIZE } from '../../bounds/estimate';
import type {
  ContinuationScore, GenerateOptions, Generation, LanguageModel, PromptInput, Tokenizer, UnavailableMeasurement,
} from '../languageModel';
import { EndpointClient, EndpointError } from './httpClient';
import { serverChatTemplate } from './chatTemplate';
import { generateChat, generateNative, generateOpenAi } from './generation';
import { EstimatedTokenizer, loadLocalTokenizer, type LocalTokenizer } from './localTokenizer';
import { probeEndpoint, type ProbeResult } from './probe';
import { scoreByEcho, scoreByForcing, splitPair, type ScoredPair } from './scoring';
import { ServerTokenizer, type ChatRenderer } from './serverTokenizer';

export interface EndpointOptions {
  /** The OpenAI-compatible base URL, e.g. `http://127.0.0.1:8080/v1`. */
  endpoint: string;
  /** The served model's name, as requests name it (`--model`). */
  model: string;
  /** Read by the caller from an environment variable or VS Code's SecretStorage; never from a settings file. */
  apiKey?: string;
  /** Requests in flight at once (default 4). */
  concurrency?: number;
  timeoutMs?: number;
  retries?: number;
  backoffMs?: number;
  /** For a server without /tokenize: the folder or Hub id of the model's `tokenizer.json`. */
  tokenizer?: string;
  /** Where a Hub tokenizer is cached, and whether it may be downloaded. */
  cacheDir?: string;
  allowDownload?: boolean;
  /**
   * Render chat data with the server's chat template and generate through `/v1/chat/completions`. Off by default:
   * the raw completions route with the plain-text templates, so the measured prompt is the one Preview Prompt shows.
   */
  chatTemplate?: boolean;
  /** For a server that does not report its context length (vLLM and llama-server do). Default 2048. */
  contextLength?: number;
  signal?: AbortSignal;
}

/** The context length assumed when the server does not say. */
const ASSUMED_CONTEXT = 2048;

type ScoringRoute = 'echo' | 'forcing' | null;

export async function connectEndpoint(options: EndpointOptions): Promise<EndpointModel> {
  const client = new EndpointClient({
    baseUrl: options.endpoint, apiKey: options.apiKey, concurrency: options.concurrency,
    timeoutMs: options.timeoutMs, retries: options.retries, backoffMs: options.backoffMs,
  });
  let local: LocalTokenizer | undefined;
  const probe = await probeEndpoint(client, options.model, {
    signal: options.signal,
    localTokenizer: async () => {
      if (options.tokenizer) local ??= await loadLocalTokenizer(options.tokenizer, { cacheDir: options.cacheDir, allowDownload: options.allowDownload });
      return local;
    },
  });
  let chat: ChatRenderer | undefined;
  if (options.chatTemplate) {
    const template = await serverChatTemplate(client, probe.kind, probe.tokenize, options.model, probe.bosToken, options.signal);
    if ('reason' in template) throw new EndpointError(`${client.baseUrl}: the chat template was asked for, but ${template.reason}`);
    chat = template.render;
  }
  // A named tokenizer also gives the vocabulary's size, which servers with their own /tokenize rarely report.
  if (options.tokenizer && !local && probe.vocabularySize === undefined) {
    local = await loadLocalTokenizer(options.tokenizer, { cacheDir: options.cacheDir, allowDownload: options.allowDownload });
  }
  return new EndpointModel(client, options, probe, local, chat);
}

export class EndpointModel implements LanguageModel {
  readonly id: string;
  readonly fingerprint: string;
  readonly contextLength: number;
  readonly vocabularySize: number;
  readonly tokenizer: Tokenizer;
  readonly unavailableMeasurements: readonly UnavailableMeasurement[];
  readonly capabilities: Readonly<Record<string, string>>;
  private readonly scoring: ScoringRoute;
  /** True when the tokenizer's ids are the server's own or the model's tokenizer.json's (exact counts). */
  private readonly exactIds: boolean;
  /** True when the ids are the server's own: prompts then go as ids, exactly the tokens counted. */
  private readonly promptsAsIds: boolean;

  constructor(
    private readonly client: EndpointClient, private readonly options: EndpointOptions, readonly probe: ProbeResult,
    local: LocalTokenizer | undefined, chat?: ChatRenderer,
  ) {
    const server = probe.kind === 'llama.cpp' ? 'llama-server' : client.baseUrl;
    this.id = options.model;
    const tokenization = probe.tokenize ? 'server' : local ? 'local' : 'estimate';
    this.tokenizer = probe.tokenize ? new ServerTokenizer(client, probe.tokenize, options.model, chat) : local ?? new EstimatedTokenizer();
    this.exactIds = tokenization !== 'estimate';
    // A local tokenizer.json counts as the model does, but a server without /tokenize (Ollama) may take text only.
    this.promptsAsIds = tokenization === 'server';
    this.scoring = probe.promptLogProbs === null ? 'echo' : probe.forcedScoring === null ? 'forcing' : null;
    this.contextLength = probe.contextLength ?? options.contextLength ?? ASSUMED_CONTEXT;
    const vocabulary = probe.vocabularySize ?? local?.vocabularySize;
    this.vocabularySize = vocabulary ?? DEFAULT_VOCABULARY_SIZE;
    this.fingerprint = createHash('sha256').update(JSON.stringify({
      runner: 'endpoint', endpoint: client.baseUrl, model: options.model, served: probe.identity, tokenization, chat: chat !== undefined,
      tokenizer: tokenization === 'local' ? options.tokenizer : undefined,
    })).digest('hex');

    const unavailable: UnavailableMeasurement[] = [];
    if (!this.scoring) {
      unavailable.push({
        measurement: 'reference-log-probability',
        reason: `${server} gives no log-probabilities for given text (${probe.promptLogProbs}; forcing: ${probe.forcedScoring}): the references' log-probability and perplexity are not measured; the agreement metrics are`,
      });
    }
    if (tokenization === 'estimate') {
      unavailable.push({
        measurement: 'token-counts',
        reason: `${server} has no /tokenize and no tokenizer was named (--tokenizer on the command line, Endpoint Tokenizer in VS Code): token counts, k_fit and the prompt budget are estimated as characters ÷ 4`,
      });
    }
    if (vocabulary === undefined) {
      unavailable.push({ measurement: 'vocabulary-size', reason: `${server} does not report its vocabulary size: the bounds use ${DEFAULT_VOCABULARY_SIZE.toLocaleString('en-US')}` });
    }
    this.unavailableMeasurements = unavailable;
    this.capabilities = {
      server: `${probe.kind === 'llama.cpp' ? 'llama.cpp llama-server' : 'OpenAI-compatible server'} at ${client.baseUrl}, serving ${probe.servedModel}`,
      generation: probe.kind === 'llama.cpp' ? 'greedy, /completion with the prompt as token ids' : `greedy, /v1/completions with the prompt as ${this.promptsAsIds ? 'token ids' : 'text'}`,
      promptLogProbabilities: probe.promptLogProbs === null ? 'yes (echo + logprobs)' : `no: ${probe.promptLogProbs}`,
      referenceScoring: this.scoring === 'echo' ? 'echoed prompt log-probabilities, one request per reference'
        : this.scoring === 'forcing' ? "forced: one /completion per reference token, the token forced by logit_bias, its log-probability from the model's full distribution"
          : 'none',
      tokenization: tokenization === 'server' ? 'the server\'s /tokenize' : tokenization === 'local' ? `local tokenizer.json from ${options.tokenizer}` : 'estimated as characters ÷ 4',
      contextLength: probe.contextLength ? `${probe.contextLength} (${probe.contextSource})` : `${this.contextLength} (assumed: the server does not report it)`,
      chatTemplate: chat
        ? "the server's: chat data rendered by it (as Preview Prompt shows) and generated through /v1/chat/completions"
        : 'not used: prompts are the plain-text templates on the raw completions route, exactly as Preview Prompt shows them',
      concurrency: `${client.concurrency} requests in flight`,
    };
  }

  async generate(prompt: PromptInput, options: GenerateOptions): Promise<Generation> {
    options.signal?.throwIfAborted();
    const ids = this.promptsAsIds ? await this.encode(prompt.text, prompt.addSpecialTokens, options.signal) : undefined;
    const promptTokenCount = ids?.length ?? this.tokenizer.encode(prompt.text, { addSpecialTokens: prompt.addSpecialTokens }).length;
    if (ids && ids.length === 0) {
      throw prompt.text.length > 0
        ? new EndpointError(`${this.client.rootUrl}/tokenize turned a prompt of ${prompt.text.length} characters into no token`)
        : new Error('The prompt is empty and adds no BOS token: there is nothing to condition on.');
    }
    const maxNewTokens = Math.min(options.maxNewTokens, this.contextLength - promptTokenCount);
    if (maxNewTokens <= 0) return { text: '', tokenIds: [], promptTokenCount, finishReason: 'max-new-tokens' };
    const request = {
      prompt: ids ?? prompt.text, promptTokenCount, maxNewTokens,
      stopSequences: (options.stopSequences ?? []).filter((stop) => stop.length > 0), signal: options.signal,
    };
    const messages = this.tokenizer instanceof ServerTokenizer ? this.tokenizer.messagesOf(prompt.text) : undefined;
    if (messages) return generateChat(this.client, this.options.model, messages, request, (text) => this.encode(text, false, options.signal));
    return this.probe.kind === 'llama.cpp' && ids
      ? generateNative(this.client, request, this.probe.eosTokenId)
      : generateOpenAi(this.client, this.options.model, request, this.exactIds ? (text) => this.encode(text, false, options.signal) : undefined);
  }

  /** Prompts in parallel, at most `concurrency` in flight; each result is what `generate` gives. */
  generateBatch(prompts: readonly PromptInput[], options: GenerateOptions): Promise<Generation[]> {
    return Promise.all(prompts.map(async (prompt, index) => {
      const generation = await this.generate(prompt, options);
      options.onEach?.(index, generation);
      return generation;
    }));
  }

  async score(prompt: PromptInput, continuation: string, options?: { signal?: AbortSignal }): Promise<ContinuationScore> {
    const signal = options?.signal;
    signal?.throwIfAborted();
    if (!this.scoring) throw new EndpointError(this.unavailableMeasurements.find((entry) => entry.measurement === 'reference-log-probability')!.reason);
    const pair = await this.split(prompt, continuation, signal);
    if (pair.start >= pair.jointIds.length) return { logProb: 0, tokenCount: 0, tokenLogProbs: [] };
    if (pair.start === 0) throw new Error('Cannot score the first token of a sequence: the prompt is empty and adds no BOS token. Give a prompt, or addSpecialTokens: true.');
    if (pair.jointIds.length > this.contextLength) throw new Error(`Prompt and continuation have ${pair.jointIds.length} tokens; the model's context is ${this.contextLength}.`);
    return this.scoring === 'echo' ? scoreByEcho(this.client, this.options.model, pair, signal) : scoreByForcing(this.client, pair, { vocabularySize: this.vocabularySize, plainTokenId: this.probe.plainTokenId! }, signal);
  }

  /** Pairs in parallel, at most `concurrency` requests in flight. */
  scoreBatch(
    pairs: readonly { prompt: PromptInput; continuation: string }[],
    options?: { signal?: AbortSignal; onEach?: (index: number, score: ContinuationScore) => void },
  ): Promise<ContinuationScore[]> {
    return Promise.all(pairs.map(async (pair, index) => {
      const score = await this.score(pair.prompt, pair.continuation, options);
      options?.onEach?.(index, score);
      return score;
    }));
  }

  async dispose(): Promise<void> {
    // Nothing held: the server keeps running, and fetch's connections close on their own.
  }

  private async split(prompt: PromptInput, continuation: string, signal?: AbortSignal): Promise<ScoredPair> {
    const [promptIds, jointIds] = await Promise.all([
      this.encode(prompt.text, prompt.addSpecialTokens, signal),
      this.encode(prompt.text + continuation, prompt.addSpecialTokens, signal),
    ]);
    return splitPair(promptIds, jointIds, continuation);
  }

  private encode(text: string, addSpecialTokens: boolean, signal?: AbortSignal): Promise<number[]> {
    if (this.tokenizer instanceof ServerTokenizer) return this.tokenizer.encodeAsync(text, addSpecialTokens, signal);
    return Promise.resolve(this.tokenizer.encode(text, { addSpecialTokens }));
  }
}
