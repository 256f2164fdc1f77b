/**
 * The model behind an interface: the experiment, the prompt builder and the faces see only this.
 * The real implementation is transformers/transformersModel.ts (@huggingface/transformers on onnxruntime-node);
 * tests of code where the model does not matter pass their own small implementation.
 */

export interface ChatMessage {
  role: 'system' | 'user' | 'assistant' | 'tool';
  content: string;
}

/** Counts tokens; all that the prompt builder's budget needs. */
export interface TokenCounter {
  countTokens(text: string): number;
}

export interface Tokenizer extends TokenCounter {
  /** Token ids of `text`; special tokens (BOS) are added unless `addSpecialTokens` is false. */
  encode(text: string, options?: { addSpecialTokens?: boolean }): number[];
  decode(ids: readonly number[], options?: { skipSpecialTokens?: boolean }): string;
  /** True when the model ships a chat template (tokenizer_config.json `chat_template`). */
  readonly hasChatTemplate: boolean;
  /** True when counts are an estimate from characters, not a tokenizer's (a server without /tokenize). */
  readonly estimated?: boolean;
  /** Renders messages with the model's chat template. Throws when `hasChatTemplate` is false. */
  applyChatTemplate(messages: readonly ChatMessage[], options: { addGenerationPrompt: boolean }): string;
  /**
   * Tokenizers that ask a server (endpoint/serverTokenizer.ts) know only the encodings they fetched: they run
   * `compute` (synchronous, a pure function of the tokenizer's answers), fetch every encoding it asked for and did
   * not have, and run it again until nothing was missing. Outside `settle` such a tokenizer throws on a miss.
   * Absent on in-process tokenizers, which answer at once; call `settleTokens` rather than this.
   */
  settle?<T>(compute: () => T, signal?: AbortSignal): Promise<T>;
}

/** `compute()` with every encoding it needs known: through `tokenizer.settle` where the tokenizer has one. */
export async function settleTokens<T>(tokenizer: Tokenizer | undefined, compute: () => T, signal?: AbortSignal): Promise<T> {
  return tokenizer?.settle ? tokenizer.settle(compute, signal) : compute();
}

/** A measurement a model cannot give, and why, so a report says so instead of showing a made-up number. */
export interface UnavailableMeasurement {
  /** `reference-log-probability` (and perplexity), `token-counts` (exact ones), `vocabulary-size`. */
  measurement: 'reference-log-probability' | 'token-counts' | 'vocabulary-size';
  reason: string;
}

/** How a prompt string is to be encoded. */
export interface PromptInput {
  text: string;
  /**
   * False when `text` already holds the special tokens (a rendered chat template does);
   * true adds them (BOS) as the tokenizer would by default.
   */
  addSpecialTokens: boolean;
}

export interface GenerateOptions {
  maxNewTokens: number;
  /** Generation ends when the decoded output contains any of these; the output is cut before it. */
  stopSequences?: readonly string[];
  signal?: AbortSignal;
  /** A prefix computed once by `prefill`, when `prompt.text` starts with `prefix.text`. */
  prefix?: PrefixState;
  /**
   * Per prompt (in `generateBatch`, by index), text expected to follow it, such as the reference answer. It only
   * saves time, never changes a result: each of its tokens is checked against the model's own greedy choice and
   * kept only where they agree, so the output is what greedy decoding gives (a model that answers like the
   * draft costs a part of the prompt pass instead of a forward pass per token). Runners that cannot check a draft ignore it.
   */
  drafts?: readonly (string | undefined)[];
  /**
   * `generateBatch` calls this as each prompt's generation is done (its index in the prompts), before the batch
   * returns, so the caller keeps it even if another prompt of the batch then fails (a server that goes away).
   */
  onEach?: (index: number, generation: Generation) => void;
}

export type FinishReason = 'stop-sequence' | 'end-of-sequence' | 'max-new-tokens';

export interface Generation {
  /** The decoded output, cut before a stop sequence. */
  text: string;
  /** Ids of the generated tokens (the stop sequence's tokens included when one was hit). */
  tokenIds: number[];
  promptTokenCount: number;
  finishReason: FinishReason;
}

export interface ContinuationScore {
  /** Sum of the continuation tokens' natural-log probabilities. */
  logProb: number;
  tokenCount: number;
  /** One natural-log probability per continuation token. */
  tokenLogProbs: number[];
}

/** The key/value cache of a prompt prefix, reusable across prompts that share it. */
export interface PrefixState {
  readonly text: string;
  readonly tokenCount: number;
  dispose(): void;
}

export interface LanguageModel {
  /** What the user named: a Hub id or a folder. */
  readonly id: string;
  /** Identifies the weights and tokenizer (a hash of the model files), for cache keys. */
  readonly fingerprint: string;
  readonly contextLength: number;
  readonly vocabularySize: number;
  readonly tokenizer: Tokenizer;
  /** Greedy decoding. */
  generate(prompt: PromptInput, options: GenerateOptions): Promise<Generation>;
  /**
   * Greedy decoding of several prompts at once (left-padded); each result is what `generate` would give.
   * Optional. Results are in the order of `prompts`; `[]` for an empty list. Every prompt gets the same
   * options; `options.prefix` is used by the prompts it fits (it only saves time, never changes a result).
   */
  generateBatch?(prompts: readonly PromptInput[], options: GenerateOptions): Promise<Generation[]>;
  /**
   * Teacher-forced log-probability of `continuation` after `prompt`, from one forward pass over both,
   * tokenized together (tokenizing the continuation alone would add a wrong leading token).
   */
  score(prompt: PromptInput, continuation: string, options?: { signal?: AbortSignal }): Promise<ContinuationScore>;
  /**
   * `score` for several (prompt, continuation) pairs in left-padded batches; each result equals what `score` gives.
   * Optional. Results are in the order of `pairs`; `[]` for an empty list. A pair `score` would reject (too long
   * for the context, or nothing to condition on) rejects the whole call, before anything is computed, with
   * `score`'s message naming the pair ("Pair 3 of the batch: ..."): skip such pairs before calling.
   * `options.prefix`, as for `generateBatch`: used by the pairs it fits, saves time, changes no result.
   */
  scoreBatch?(
    pairs: readonly { prompt: PromptInput; continuation: string }[],
    options?: { signal?: AbortSignal; prefix?: PrefixState; onEach?: (index: number, score: ContinuationScore) => void },
  ): Promise<ContinuationScore[]>;
  /**
   * What this model cannot measure (a serving engine without prompt log-probabilities, a tokenizer that is an
   * estimate). The experiment skips what is listed here and the report carries the list. Absent: everything.
   */
  readonly unavailableMeasurements?: readonly UnavailableMeasurement[];
  /** How each capability is provided, in words for the report (e.g. `{ tokenization: "server /tokenize" }`). */
  readonly capabilities?: Readonly<Record<string, string>>;
  /**
   * Computes the key/value cache of a shared prompt prefix once. Optional: not every runner has it.
   * `options.extending`: an earlier prefix this one begins with (its text, and its tokens as this text's first
   * tokens); only the tokens after it are computed. Where it does not fit, the whole prefix is computed: it
   * saves time only, never changes a result.
   */
  prefill?(prefix: PromptInput, options?: { extending?: PrefixState }): Promise<PrefixState>;
  dispose(): Promise<void>;
}

export type ModelDtype = 'fp32' | 'fp16' | 'q8' | 'q4';
export type ModelDevice = 'cpu' | 'cuda';

export interface LoadProgress {
  file: string;
  /** 0–100 where known. */
  percent?: number;
  status: 'initiate' | 'download' | 'progress' | 'done' | 'ready';
}

export interface ModelLoadOptions {
  /** A Hugging Face Hub id (`org/name`) or a local folder in transformers.js layout. */
  model: string;
  dtype?: ModelDtype;
  device?: ModelDevice;
  /** Intra-op threads for onnxruntime; default: the runtime's choice. */
  threads?: number;
  /** Where Hub downloads are kept. */
  cacheDir?: string;
  /** False forbids any download: only local folders and the cache are used. */
  allowDownload?: boolean;
  onProgress?: (progress: LoadProgress) => void;
  signal?: AbortSignal;
}

/** A failure the user can act on: the message says what is missing and what to do. */
export class ModelLoadError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ModelLoadError';
  }
}

/**
 * The model failed while running (onnxruntime refused an input or ran out of memory): one line naming the
 * model and what failed; the original error is the `cause`.
 */
export class ModelRunError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ModelRunError';
  }
}
