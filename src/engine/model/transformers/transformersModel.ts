/**
 * The real LanguageModel: @huggingface/transformers (4.x) on onnxruntime-node. This file holds the model
 * class, which queues the work on one session and ties the folder's parts together: loading (load.ts), its
 * errors (errors.ts), batched greedy decoding (generation.ts), scoring (scoring.ts), the forward pass
 * (forward.ts), the left-padded layout (padding.ts), the batch bounds (batchSizing.ts), the reused key/value
 * caches (prefixCache.ts), reading logits (logits.ts) and the narrow typings of transformers.js (tfTypes.ts).
 *
 * The ML stack is heavy, so `@huggingface/transformers` is imported lazily, on the first
 * `loadLanguageModel` call; the extension activates without it. The bundle (esbuild, CommonJS) keeps
 * the package external and leaves `import()` alone, so Node resolves the package's ESM build.
 *
 * How text becomes tokens, everywhere in this runner:
 * - `PromptInput.addSpecialTokens` goes straight to the tokenizer's `add_special_tokens` (BOS for Llama
 *   tokenizers). Special tokens written in the text (a rendered chat template) are always recognised.
 * - Generated text is decoded with special tokens skipped and *in context*: it is the exact string that
 *   follows `prompt.text`, so a leading space the model produced is kept (`" Paris"`, not `"Paris"`).
 * - Scoring tokenizes `prompt.text + continuation` together, as the model would see it.
 * - `Generation.tokenIds` holds every generated token, the EOS token included when one ended the
 *   output; `Generation.text` never shows special tokens.
 * - Generation is pure greedy: the model's generation_config.json may name its EOS tokens (they are
 *   honoured, together with config.json's and the tokenizer's) but not sampling or penalties.
 *
 * Models: a path that exists is a local folder (relative paths resolve against the process's working
 * directory, so pass absolute ones); anything else shaped like `org/name` is a Hub id, kept in
 * `cacheDir` (default: transformers' own cache inside node_modules — pass one). A Hub model that is
 * completely in the cache loads from there without any network request, even offline.
 *
 * Loading checks the folder without loading the weights (modelFolder.ts: files, JSON files, the ONNX file's
 * declared graph, the tokenizer against the embeddings), reads the tokenizer, and fingerprints the files
 * (fingerprint.ts). The ONNX session opens on the first generate, score or prefill: a run served entirely
 * from the output cache never loads the weights. (A Hub download fetches and opens them at load.)
 *
 * Batches: `generateBatch` left-pads several prompts (pad token, attention mask 0 there) and decodes them
 * greedily in its own loop of forward passes (`generatePadded`, generation.ts): position ids count each row's own tokens,
 * so each row computes what it would alone and its result equals `generate`'s (transformers' own greedy
 * `generate`; tested token for token). The logits agree up to float rounding from the different kernel
 * shapes (stories260K: bit-identical; random Llamas: |Δ| ≤ 2.3e-5), which could only change a greedy choice
 * on a near-tie of the top two logits. What the loop adds over transformers' `generate`:
 * - a shared prefix (`prefill`, `options.prefix`): its key/value cache is copied into every row that starts
 *   with it, and only the rest of each prompt is computed;
 * - rows leave the batch when they end, instead of running to the longest;
 * - logits only where needed: the graphs at hand (stories260K, the tests' models, transformers.js' Llama
 *   exports without it) have no `num_logits_to_keep` input and return logits at every position, so the
 *   prompt pass runs in column chunks bounded by MAX_PREFILL_LOGIT_BYTES and only the last position's are
 *   kept (copied out, the tensor dropped); where the input exists, it is set to 1;
 * - the prompt pass's cache is kept until the next batch (without a shared prefix's columns, which the prefix
 *   holds once), and `scoreBatch` scores continuations of those very prompts after it: a reference costs its
 *   own tokens, not its prompt's again;
 * - `prefill` may extend an earlier prefix (a fixed prompt's k shots begin its 2k): only the new tokens run.
 * - drafts (`options.drafts`, the expected answers): run after the prompts in the prompt pass and kept while each
 *   token is the greedy choice (generation.ts), so an answer the model gives anyway costs no decoding step, and a
 *   continuation that is exactly the draft is scored from that pass (`draftScore`);
 * - encodings are remembered (encodeMemo.ts): a run encodes each prompt for several purposes.
 *
 * `scoreBatch` pads pairs the same way for one forward pass per sub-batch; see its comment for the bounds.
 *
 * One model runs one thing at a time: generate, generateBatch, score, scoreBatch and prefill calls queue behind each other.
 */
import {
  type ContinuationScore,
  type FinishReason,
  type GenerateOptions,
  type Generation,
  type LanguageModel,
  type ModelLoadOptions,
  type PrefixState,
  type PromptInput,
} from '../languageModel';
import { PretrainedTokenizer } from '../pretrainedTokenizer';
import {
  MAX_KEPT_PASS_BYTES,
  MAX_PREFILL_LOGIT_BYTES,
  scoreSubBatches,
  subBatches,
  UNKNOWN_VOCABULARY_SIZE,
} from './batchSizing';
import { type DecoderSession, forwardRows, hasInput, hasKeyValueCacheOnly, idsTensor, onesTensor } from './forward';
import { withEncodeMemo } from './encodeMemo';
import { decodePadded } from './generation';
import { loadModel, type ModelParts } from './load';
import { emptyScore } from './logits';
import { pastFromOutputs, type PromptPass, TransformersPrefix } from './prefixCache';
import { type ScoredRow, scoreAfterPrompts, scoreAlone, scorePadded } from './scoring';
import { type TfModel, type TfTensor, type TfTokenizer, type TransformersApi } from './tfTypes';

/** Loads a model (a local folder or a Hub id; see load.ts) as a LanguageModel that runs in this process. */
export function loadLanguageModel(options: ModelLoadOptions): Promise<LanguageModel> {
  return loadModel(options, (parts) => new TransformersLanguageModel(parts));
}

/**
 * Serializes work on one ONNX session: runs never overlap, so `threads` means what it says. `prepare` runs
 * before each task (it opens the session on the first one).
 */
class WorkQueue {
  private tail: Promise<unknown> = Promise.resolve();

  constructor(private readonly prepare: () => Promise<void>) {}

  run<T>(task: () => Promise<T>): Promise<T> {
    const result = this.tail.then(async () => {
      await this.prepare();
      return task();
    });
    this.tail = result.catch(() => undefined);
    return result;
  }
}

class TransformersLanguageModel implements LanguageModel {
  readonly id: string;
  readonly fingerprint: string;
  readonly contextLength: number;
  readonly vocabularySize: number;
  readonly tokenizer: PretrainedTokenizer;
  /** How long `loadLanguageModel` spent in transformers (tokenizer and session), in milliseconds. */
  readonly loadMilliseconds: number;
  readonly capabilities?: Readonly<Record<string, string>>;

  private readonly tf: TransformersApi;
  private session: TfModel | undefined;
  private readonly openSession: () => Promise<TfModel>;
  private readonly rawTokenizer: TfTokenizer;
  private readonly eosTokenIds: readonly number[];
  private readonly queue = new WorkQueue(() => this.ensureSession());
  private disposed = false;
  /**
   * The prompt passes of the last `generateBatch` (one per sub-batch, at most MAX_KEPT_PASS_BYTES of cache in
   * all), kept for scoring continuations of those prompts (references, labels…; see `scoreAfterPrompts`)
   * until the next batch.
   */
  private lastPromptPasses: PromptPass[] = [];
  /**
   * What a prefix's cache belongs to. An object of its own rather than `this`: a wrapper made with
   * `Object.create(model)` (tests and benchmarks count or record calls so) reaches it through its prototype, so
   * a prefix it computed serves the model it wraps and the other way round.
   */
  private readonly sessionIdentity = {};
  /**
   * True when the graph couples the rows of a batch (dynamic quantization: one activation scale for its whole
   * input; ModelParts.batchCoupledOps): a prompt's result would then depend on the prompts, prefix or draft run
   * beside it, so every prompt and scored pair runs alone, as `generate` and `score` run it, and prefixes hold no cache.
   */
  private readonly rowsAlone: boolean;

  constructor(parts: ModelParts) {
    this.tf = parts.tf;
    this.session = parts.session;
    this.openSession = parts.openSession;
    this.rawTokenizer = withEncodeMemo(parts.tokenizer);
    this.id = parts.id;
    this.fingerprint = parts.fingerprint;
    this.loadMilliseconds = parts.loadMilliseconds;
    this.tokenizer = new PretrainedTokenizer(this.rawTokenizer);
    this.rowsAlone = parts.batchCoupledOps.length > 0;
    if (this.rowsAlone) {
      this.capabilities = {
        batching: `none: the graph quantizes activations with one scale for all of its input (${parts.batchCoupledOps.join(', ')}), so a prompt's output would depend on the prompts beside it; each prompt runs alone`,
      };
    }
    const config = parts.config;
    const textConfig = isRecord(config.text_config) ? config.text_config : {};
    this.contextLength =
      firstPositiveInteger(
        config.max_position_embeddings,
        config.n_positions,
        config.max_sequence_length,
        config.seq_length,
        config.n_ctx,
        textConfig.max_position_embeddings,
      ) ?? 2048;
    this.vocabularySize = firstPositiveInteger(config.vocab_size, textConfig.vocab_size) ?? 0;
    const eos = new Set<number>();
    for (const value of [parts.generationConfig?.eos_token_id, config.eos_token_id, parts.tokenizer.eos_token_id]) {
      for (const id of Array.isArray(value) ? value : [value]) {
        if (typeof id === 'number' && Number.isInteger(id) && id >= 0) eos.add(id);
      }
    }
    this.eosTokenIds = [...eos];
  }

  async generate(prompt: PromptInput, options: GenerateOptions): Promise<Generation> {
    const { signal } = options;
    signal?.throwIfAborted();
    checkMaxNewTokens(options.maxNewTokens);
    return this.queue.run(async () => {
      this.assertUsable();
      signal?.throwIfAborted();
      const promptIds = this.encodePrompt(prompt);
      this.checkPromptLength(promptIds.length);
      return this.generateNow(prompt, promptIds, options);
    });
  }

  /**
   * Several prompts decoded greedily together (`decodeRows`): each row stops on its own (EOS, a stop
   * sequence in its decoded text, or its own token limit) and leaves the batch then; rows are cut, decoded
   * and classified exactly as `generate` does.
   *
   * `options.prefix` (from `prefill`) is used by the prompts it fits (their tokens begin with its tokens): its
   * key/value cache is shared and only their remaining tokens are computed. Others run without it.
   *
   * Falls back to one-at-a-time generation (same results, no speed-up) when the rows cannot be padded
   * faithfully: a graph without a `position_ids` input, or a padded width plus new tokens beyond the context.
   * Prompts are sorted by length and split into sub-batches of at most MAX_BATCH_ROWS rows, MAX_BATCH_TOKENS
   * padded tokens and MAX_BATCH_CACHE_BYTES of key/value cache, where batching pays (measured).
   */
  async generateBatch(prompts: readonly PromptInput[], options: GenerateOptions): Promise<Generation[]> {
    const { signal } = options;
    signal?.throwIfAborted();
    checkMaxNewTokens(options.maxNewTokens);
    if (prompts.length === 0) return [];
    return this.queue.run(async () => {
      this.assertUsable();
      signal?.throwIfAborted();
      const encoded = prompts.map((prompt) => this.encodePrompt(prompt));
      encoded.forEach((ids, index) => this.checkPromptLength(ids.length, prompts.length > 1 ? index : undefined));
      this.lastPromptPasses = [];
      if (this.rowsAlone) return this.eachAlone(encoded, (ids) => this.generateNow(undefined, ids, options), options.onEach, signal);
      const results = new Array<Generation | undefined>(prompts.length);
      const withPrefix: number[] = [];
      const without: number[] = [];
      encoded.forEach((ids, index) => {
        if (this.newTokenLimit(ids.length, options.maxNewTokens) === 0) {
          results[index] = { text: '', tokenIds: [], promptTokenCount: ids.length, finishReason: 'max-new-tokens' };
          options.onEach?.(index, results[index]);
        } else if (this.usablePrefixCache(options.prefix, prompts[index]!, ids)) {
          withPrefix.push(index);
        } else {
          without.push(index);
        }
      });
      const prefix = options.prefix as TransformersPrefix | undefined;
      const drafts = this.draftIds(prompts, encoded, options);
      for (const [pending, shared] of [[withPrefix, prefix], [without, undefined]] as const) {
        // Similar lengths together: less padding per sub-batch. The sort is stable, so ties keep their order.
        const skip = shared?.tokenCount ?? 0;
        pending.sort((a, b) => encoded[a]!.length - encoded[b]!.length);
        const cacheTokens = (index: number): number => encoded[index]!.length + this.newTokenLimit(encoded[index]!.length, options.maxNewTokens);
        for (const chunk of subBatches(pending.map((index) => encoded[index]!.length - skip), pending.map(cacheTokens), this.kvBytesPerToken())) {
          const indices = chunk.map((position) => pending[position]!);
          await this.generatePadded(indices.map((index) => encoded[index]!), indices.map((index) => drafts[index]!), options, shared, (row, generation) => {
            results[indices[row]!] = generation;
            options.onEach?.(indices[row]!, generation);
          });
        }
      }
      return results as Generation[];
    });
  }

  async score(prompt: PromptInput, continuation: string, options?: { signal?: AbortSignal }): Promise<ContinuationScore> {
    const signal = options?.signal;
    signal?.throwIfAborted();
    return this.queue.run(async () => {
      this.assertUsable();
      signal?.throwIfAborted();
      const row = this.scoredRow(prompt, continuation);
      if (!row) return emptyScore();
      const result = await scoreAlone(this.decoder, row);
      signal?.throwIfAborted();
      return result;
    });
  }

  /**
   * `score` for many pairs, in left-padded batches: one forward pass per sub-batch, each row seeing only
   * its own tokens (attention mask 0 on the padding; transformers derives position ids from the mask, as
   * `score`'s lone pass gets them), so each result is `score`'s up to float rounding from the kernel shapes.
   * Every pair is tokenized and checked first, as `score` does: one that `score` would reject rejects the
   * whole call with `score`'s message naming it ("Pair 2 of the batch: ..."), before any forward pass.
   *
   * Pairs are sorted by joint length and split by `scoreSubBatches` (≤ MAX_BATCH_ROWS rows, ≤ MAX_SCORE_BATCH_TOKENS
   * padded tokens, ≤ MAX_SCORE_LOGIT_BYTES of float32 logits); a sub-batch of one runs exactly as `score`.
   * The signal is honoured between sub-batches. Graphs without a `position_ids` input score one pair at a time.
   */
  async scoreBatch(
    pairs: readonly { prompt: PromptInput; continuation: string }[],
    options?: { signal?: AbortSignal; prefix?: PrefixState; onEach?: (index: number, score: ContinuationScore) => void },
  ): Promise<ContinuationScore[]> {
    const signal = options?.signal;
    signal?.throwIfAborted();
    if (pairs.length === 0) return [];
    return this.queue.run(async () => {
      this.assertUsable();
      signal?.throwIfAborted();
      const rows = pairs.map((pair, index) =>
        this.scoredRow(pair.prompt, pair.continuation, pairs.length > 1 ? index : undefined),
      );
      if (this.rowsAlone) return this.eachAlone(rows, async (row) => (row ? scoreAlone(this.decoder, row) : emptyScore()), options?.onEach, signal);
      const results = new Array<ContinuationScore | undefined>(pairs.length);
      const withPrefix: number[] = [];
      const without: number[] = [];
      const prefix = options?.prefix;
      const afterPrompts = new Map<PromptPass, { index: number; passRow: number }[]>();
      rows.forEach((row, index) => {
        const found = row && this.promptPassRow(row);
        const drafted = found && draftScore(found.pass, found.passRow, row!);
        if (!row) results[index] = emptyScore();
        else if (drafted) {
          results[index] = drafted;
          options?.onEach?.(index, drafted);
        } else if (found) afterPrompts.set(found.pass, [...(afterPrompts.get(found.pass) ?? []), { index, passRow: found.passRow }]);
        else if (this.prefixFitsScoring(prefix, pairs[index]!.prompt, row)) withPrefix.push(index);
        else without.push(index);
      });
      for (const [pass, items] of afterPrompts) {
        const scores = await scoreAfterPrompts(this.decoder, pass, items.map(({ index, passRow }) => ({ row: rows[index]!, passRow })), signal);
        items.forEach(({ index }, position) => {
          results[index] = scores[position];
          options?.onEach?.(index, scores[position]!);
        });
      }
      const keepsLogits = hasInput(this.decoder, 'num_logits_to_keep');
      const batches = hasInput(this.decoder, 'position_ids');
      for (const [pending, shared] of [[withPrefix, prefix as TransformersPrefix | undefined], [without, undefined]] as const) {
        const skip = shared?.tokenCount ?? 0;
        // Similar lengths together: less padding. The sort is stable, so ties keep their order.
        pending.sort((a, b) => rows[a]!.jointIds.length - rows[b]!.jointIds.length);
        const chunks = batches
          ? scoreSubBatches(
              pending.map((index) => {
                const { jointIds, start } = rows[index]!;
                return { tokens: jointIds.length - skip, logitColumns: keepsLogits ? jointIds.length - start + 1 : jointIds.length - skip };
              }),
              this.vocabularySize > 0 ? this.vocabularySize : UNKNOWN_VOCABULARY_SIZE,
              pending.map((index) => rows[index]!.jointIds.length),
              this.kvBytesPerToken(),
            )
          : pending.map((_, position) => [position]);
        for (const chunk of chunks) {
          signal?.throwIfAborted();
          const indices = chunk.map((position) => pending[position]!);
          const scores =
            indices.length === 1 && !shared
              ? [await scoreAlone(this.decoder, rows[indices[0]!]!)]
              : await scorePadded(this.decoder, indices.map((index) => rows[index]!), shared);
          indices.forEach((index, row) => {
            results[index] = scores[row];
            options?.onEach?.(index, scores[row]!);
          });
        }
      }
      signal?.throwIfAborted();
      return results as ContinuationScore[];
    });
  }

  /**
   * The prefix's key/value cache, computed in chunks of `chunkTokens` tokens (default: as many as keep the
   * graph's all-position logits under MAX_PREFILL_LOGIT_BYTES), each after the cache of the ones before, so
   * a long prefix never holds its whole length × vocabulary of logits at once.
   */
  async prefill(prefix: PromptInput, options?: { chunkTokens?: number; extending?: PrefixState }): Promise<PrefixState> {
    return this.queue.run(async () => {
      this.assertUsable();
      const ids = this.encodePrompt(prefix);
      if (ids.length >= this.contextLength) {
        throw new Error(`The prefix has ${ids.length} tokens; the model's context is ${this.contextLength}.`);
      }
      // A prefix computed apart would change what the prompts after it compute where rows are coupled.
      if (this.rowsAlone) return new TransformersPrefix(this.sessionIdentity, prefix.text, ids, undefined);
      const vocabulary = this.vocabularySize > 0 ? this.vocabularySize : UNKNOWN_VOCABULARY_SIZE;
      const positioned = hasInput(this.decoder, 'position_ids');
      const chunk = positioned ? Math.max(1, options?.chunkTokens ?? Math.floor(MAX_PREFILL_LOGIT_BYTES / (vocabulary * 4))) : ids.length;
      // An earlier prefix this one extends (the k-shot prompt's beginning inside the 2k-shot one): its cache
      // holds exactly these first tokens, so only the rest is computed.
      const earlier = positioned ? this.usablePrefixCache(options?.extending, prefix, ids) : undefined;
      let past: Record<string, TfTensor> | undefined = earlier;
      const from = earlier ? (options!.extending as TransformersPrefix).tokenCount : 0;
      for (let begin = from; begin < ids.length; begin += chunk) {
        const end = Math.min(ids.length, begin + chunk);
        const outputs = await forwardRows(this.decoder,
          idsTensor(this.tf, ids.slice(begin, end)),
          onesTensor(this.tf, end),
          new this.tf.Tensor('int64', BigInt64Array.from({ length: end - begin }, (_, i) => BigInt(begin + i)), [1, end - begin]),
          past,
        );
        past = pastFromOutputs(outputs);
      }
      return new TransformersPrefix(this.sessionIdentity, prefix.text, ids, past);
    });
  }

  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    this.lastPromptPasses = [];
    await this.queue.run(async () => {
      await this.session?.dispose();
    });
  }

  /** Whether the ONNX weights are loaded: not until the first generate, score or prefill. */
  get weightsLoaded(): boolean {
    return this.session !== undefined;
  }

  /** Opens the ONNX session now rather than on first use (benchmarks time it apart; tests reach into it). */
  async loadWeights(): Promise<void> {
    await this.queue.run(async () => this.assertUsable());
  }

  // ------------------------------------------------------------------------------------------

  /** Runs in the queue before each task: opens the session once; after dispose, lets the task fail. */
  private async ensureSession(): Promise<void> {
    if (this.session || this.disposed) return;
    this.session = await this.openSession();
  }

  /** The ONNX session; only used inside queued tasks, which `ensureSession` precedes. */
  private get inner(): TfModel {
    if (!this.session) throw new Error(`The model ${this.id} has been disposed.`);
    return this.session;
  }

  private assertUsable(): void {
    if (this.disposed) throw new Error(`The model ${this.id} has been disposed.`);
  }

  private checkPromptLength(length: number, index?: number): void {
    if (length < this.contextLength) return;
    const which = index === undefined ? 'The prompt' : `Prompt ${index + 1} of the batch`;
    throw new Error(
      `${which} has ${length} tokens; the model's context is ${this.contextLength}. Shorten the prompt (fewer examples).`,
    );
  }

  /** How many tokens a prompt of `promptLength` tokens may generate: `maxNewTokens`, within the context. */
  private newTokenLimit(promptLength: number, maxNewTokens: number): number {
    return Math.max(0, Math.min(Math.floor(maxNewTokens), this.contextLength - promptLength));
  }

  /** The request options that make transformers' `generate` pure greedy, whatever generation_config.json says. */
  private greedyRequest(): Record<string, unknown> {
    return {
      do_sample: false,
      num_beams: 1,
      repetition_penalty: 1.0,
      no_repeat_ngram_size: 0,
      min_length: 0,
      min_new_tokens: null,
      eos_token_id: this.eosTokenIds.length > 0 ? [...this.eosTokenIds] : null,
    };
  }

  /** Cuts a row's generated ids where its generation ended and says why, as `generate` reports it. */
  private finish(promptIds: readonly number[], tokenIds: number[], stopSequences: readonly string[]): Generation {
    let text = this.decodeContinuation(promptIds, tokenIds);
    let finishReason: FinishReason;
    const stop = findStop(text, stopSequences);
    if (stop !== undefined) {
      text = text.slice(0, stop);
      finishReason = 'stop-sequence';
    } else if (tokenIds.length > 0 && this.eosTokenIds.includes(tokenIds[tokenIds.length - 1]!)) {
      finishReason = 'end-of-sequence';
    } else {
      finishReason = 'max-new-tokens';
    }
    return { text, tokenIds, promptTokenCount: promptIds.length, finishReason };
  }

  /**
   * One prompt, already encoded and checked against the context; runs inside the queue. `prompt` is
   * only needed to match `options.prefix`; without it the prefix is not used.
   */
  private async generateNow(
    prompt: PromptInput | undefined,
    promptIds: number[],
    options: GenerateOptions,
  ): Promise<Generation> {
    const { signal } = options;
    const maxNewTokens = this.newTokenLimit(promptIds.length, options.maxNewTokens);
    if (maxNewTokens === 0) {
      return { text: '', tokenIds: [], promptTokenCount: promptIds.length, finishReason: 'max-new-tokens' };
    }

    const stopSequences = nonEmptyStops(options.stopSequences);
    const decodeNew = (ids: readonly number[]): string => this.decodeContinuation(promptIds, ids);
    const promptLength = promptIds.length;
    class StopOnTextOrAbort extends this.tf.StoppingCriteria {
      override _call(inputIds: readonly (readonly (number | bigint)[])[]): boolean[] {
        return inputIds.map((row) => {
          if (signal?.aborted) return true;
          if (stopSequences.length === 0) return false;
          const text = decodeNew(row.slice(promptLength).map(Number));
          return findStop(text, stopSequences) !== undefined;
        });
      }
    }

    const request: Record<string, unknown> = {
      ...this.greedyRequest(),
      input_ids: idsTensor(this.tf, promptIds),
      attention_mask: onesTensor(this.tf, promptIds.length),
      max_new_tokens: maxNewTokens,
      stopping_criteria: [new StopOnTextOrAbort()],
    };
    const cache = prompt && this.usablePrefixCache(options.prefix, prompt, promptIds);
    if (cache) request.past_key_values = new this.tf.DynamicCache(cache);

    const output = await this.inner.generate(request);
    signal?.throwIfAborted();
    const sequences = 'sequences' in output ? output.sequences : output;
    const all = Array.from(sequences.data as ArrayLike<bigint | number>, Number);
    return this.finish(promptIds, all.slice(promptLength), stopSequences);
  }

  /**
   * Rows already encoded, checked and each allowed at least one new token; runs inside the queue. With a
   * `prefix` every row begins with its tokens: its key/value cache is copied to each row and only the rest
   * is computed. The rows' remaining tokens are left-padded to the longest after the prefix (pad token,
   * attention mask 0 there), each row's position ids count its own tokens only (prefix first), so a row
   * computes what it would alone. Then greedy steps of one token per row: the next token is the first
   * maximum of the last position's logits (as transformers' greedy sampler picks it), and a row leaves the
   * batch as soon as it has ended, taking its cache with it.
   */
  private async generatePadded(
    rows: readonly number[][], drafts: readonly (readonly number[])[], options: GenerateOptions, prefix: TransformersPrefix | undefined,
    done: (row: number, generation: Generation) => void,
  ): Promise<void> {
    const { signal } = options;
    const stopSequences = nonEmptyStops(options.stopSequences);
    const limits = rows.map((ids) => this.newTokenLimit(ids.length, options.maxNewTokens));
    const skip = prefix?.tokenCount ?? 0;
    const width = Math.max(...rows.map((ids) => ids.length - skip));
    const steps = Math.max(...limits);
    const faithful = hasInput(this.decoder, 'position_ids') && skip + width + steps <= this.contextLength;
    if (!faithful) {
      // One at a time, each handed over as it ends (so a failure later loses none of them).
      for (const [row, ids] of rows.entries()) {
        signal?.throwIfAborted();
        done(row, await this.generateNow(undefined, ids, options));
      }
      return;
    }

    const generated = await decodePadded(this.decoder, {
      rows,
      width,
      prefix,
      drafts,
      signal,
      ended: (row, ids) =>
        ids.length >= limits[row]! ||
        this.eosTokenIds.includes(ids[ids.length - 1]!) ||
        (stopSequences.length > 0 && findStop(this.decodeContinuation(rows[row]!, ids), stopSequences) !== undefined),
      keepPromptPass: (pass) => {
        const kept = this.lastPromptPasses.reduce((sum, held) => sum + held.bytes, 0);
        if (kept + pass.bytes <= MAX_KEPT_PASS_BYTES) this.lastPromptPasses.push(pass);
      },
    });
    signal?.throwIfAborted();
    rows.forEach((ids, row) => done(row, this.finish(ids, generated[row]!, stopSequences)));
  }

  /** `run` for each item in turn, inside the queue, each result handed to `onEach` as it ends. */
  private async eachAlone<I, R>(items: readonly I[], run: (item: I) => Promise<R>, onEach: ((index: number, result: R) => void) | undefined, signal?: AbortSignal): Promise<R[]> {
    const results: R[] = [];
    for (const [index, item] of items.entries()) {
      signal?.throwIfAborted();
      results.push(await run(item));
      onEach?.(index, results[index]!);
    }
    signal?.throwIfAborted();
    return results;
  }

  /**
   * Each prompt's draft (`options.drafts`) as the tokens that follow its prompt's own: the joint tokenization of
   * prompt and draft after the prompt's tokens, as scoring splits a continuation, cut to the prompt's token limit
   * (generation stops there). [] where there is none, where the joint tokens do not begin with the prompt's (the
   * boundary merged), or where the graph's cache cannot be taken back to the accepted tokens (a recurrent state).
   */
  private draftIds(prompts: readonly PromptInput[], encoded: readonly number[][], options: GenerateOptions): number[][] {
    const usable = options.drafts !== undefined && hasKeyValueCacheOnly(this.decoder);
    return prompts.map((prompt, index) => {
      const draft = usable ? options.drafts![index] : undefined;
      if (!draft) return [];
      // Split as scoring splits a continuation, so a draft that is the scored answer is found by `draftScore`.
      const { jointIds, start } = this.splitContinuation(prompt, draft);
      const promptLength = encoded[index]!.length;
      if (start !== promptLength) return [];
      return jointIds.slice(start, start + this.newTokenLimit(promptLength, options.maxNewTokens));
    });
  }

  /**
   * Bytes of key/value cache one token takes in one row (every layer's key and value), from config.json;
   * 0 when config.json does not say (the cache then bounds nothing).
   */
  private kvBytesPerToken(): number {
    const config = this.inner.config;
    const layers = firstPositiveInteger(config.num_hidden_layers, config.n_layer);
    const heads = firstPositiveInteger(config.num_attention_heads, config.n_head);
    const kvHeads = firstPositiveInteger(config.num_key_value_heads) ?? heads;
    const hidden = firstPositiveInteger(config.hidden_size, config.n_embd);
    const headDim = firstPositiveInteger(config.head_dim) ?? (hidden && heads ? hidden / heads : undefined);
    if (!layers || !kvHeads || !headDim) return 0;
    const dtype = this.inner.sessions.model?.config?.dtype ?? 'fp32';
    return layers * 2 * kvHeads * headDim * (dtype.includes('f16') ? 2 : 4);
  }

  /** The open session as the decoding and scoring functions use it; only inside queued tasks. */
  private get decoder(): DecoderSession {
    const vocabulary = this.vocabularySize > 0 ? this.vocabularySize : UNKNOWN_VOCABULARY_SIZE;
    return { tf: this.tf, model: this.inner, padTokenId: this.padTokenId(), vocabulary };
  }

  /** The id that fills left padding (never attended to): the tokenizer's pad token, else EOS, else 0. */
  private padTokenId(): number {
    const pad = this.rawTokenizer.pad_token_id;
    if (typeof pad === 'number' && Number.isInteger(pad) && pad >= 0) return pad;
    return this.eosTokenIds[0] ?? 0;
  }

  /**
   * Tokenizes a pair for scoring and checks it as `score` does: undefined for an empty continuation (its
   * score is 0 over no tokens); an error when there is nothing to condition on or the pair exceeds the
   * context. `index` names the pair in a batch's messages.
   */
  private scoredRow(prompt: PromptInput, continuation: string, index?: number): ScoredRow | undefined {
    const { jointIds, start } = this.splitContinuation(prompt, continuation);
    if (start >= jointIds.length) return undefined;
    const which = index === undefined ? '' : `Pair ${index + 1} of the batch: `;
    if (start === 0) {
      throw new Error(
        `${which}Cannot score the first token of a sequence: the prompt is empty and adds no BOS token. Give a prompt, or addSpecialTokens: true.`,
      );
    }
    if (jointIds.length > this.contextLength) {
      throw new Error(
        `${which}Prompt and continuation have ${jointIds.length} tokens; the model's context is ${this.contextLength}.`,
      );
    }
    return { jointIds, start };
  }



  /** The kept prompt pass and row whose prompt is exactly the pair's tokens before its continuation, if any. */
  private promptPassRow(row: ScoredRow): { pass: PromptPass; passRow: number } | undefined {
    for (const pass of this.lastPromptPasses) {
      if (pass.prefix && !pass.prefix.cacheEntries()) continue; // its prefix was disposed
      const found = pass.prompts.findIndex((ids) => ids.length === row.start && ids.every((id, i) => row.jointIds[i] === id));
      if (found !== -1) return { pass, passRow: found };
    }
    return undefined;
  }


  /**
   * True when `prefix` holds exactly the first tokens of a scored pair and every scored token comes after
   * it (the first one's logits come from the position before it, which must be computed here).
   */
  private prefixFitsScoring(prefix: PrefixState | undefined, prompt: PromptInput, row: ScoredRow): boolean {
    if (!(prefix instanceof TransformersPrefix) || prefix.owner !== this.sessionIdentity || !prefix.cacheEntries()) return false;
    if (!prompt.text.startsWith(prefix.text) || row.start <= prefix.tokenCount) return false;
    return prefix.tokenIds.every((id, i) => row.jointIds[i] === id);
  }


  private encodePrompt(prompt: PromptInput): number[] {
    const ids = this.rawTokenizer.encode(prompt.text, { add_special_tokens: prompt.addSpecialTokens });
    if (ids.length === 0) {
      throw new Error('The prompt is empty and adds no BOS token: there is nothing to condition on.');
    }
    return ids;
  }

  /**
   * Tokenizes prompt and continuation together and finds where the continuation's tokens begin: after
   * the prompt's own tokens when those are a prefix of the joint tokens (the usual case), otherwise at
   * the first position where they differ (the boundary merged into one token, e.g. a prompt ending in
   * a space before a word; that token, which covers the end of the prompt too, is counted as continuation).
   */
  private splitContinuation(prompt: PromptInput, continuation: string): { jointIds: number[]; start: number } {
    const promptIds = this.rawTokenizer.encode(prompt.text, { add_special_tokens: prompt.addSpecialTokens });
    const jointIds = this.rawTokenizer.encode(prompt.text + continuation, { add_special_tokens: prompt.addSpecialTokens });
    let start = 0;
    while (start < promptIds.length && start < jointIds.length && promptIds[start] === jointIds[start]) start++;
    if (continuation.length === 0) start = jointIds.length;
    return { jointIds, start };
  }

  /** The text `newIds` add after `promptIds`, decoded in context so leading spaces survive. */
  private decodeContinuation(promptIds: readonly number[], newIds: readonly number[]): string {
    if (newIds.length === 0) return '';
    const options = { skip_special_tokens: true };
    const context = promptIds.slice(-8);
    const before = this.rawTokenizer.decode(context, options);
    const joint = this.rawTokenizer.decode([...context, ...newIds], options);
    return joint.startsWith(before) ? joint.slice(before.length) : this.rawTokenizer.decode([...newIds], options);
  }

  private usablePrefixCache(
    prefix: PrefixState | undefined,
    prompt: PromptInput,
    promptIds: readonly number[],
  ): Record<string, TfTensor> | undefined {
    if (!(prefix instanceof TransformersPrefix) || prefix.owner !== this.sessionIdentity) return undefined;
    if (!prompt.text.startsWith(prefix.text)) return undefined;
    const prefixIds = prefix.tokenIds;
    // The cache must hold exactly the prompt's first tokens, and leave at least one token to run.
    if (prefixIds.length >= promptIds.length) return undefined;
    for (let i = 0; i < prefixIds.length; i++) if (prefixIds[i] !== promptIds[i]) return undefined;
    return prefix.cacheEntries();
  }



}

/**
 * The score of a continuation that is exactly the draft a kept prompt pass ran after its prompt: its tokens'
 * log-probabilities from that very pass (teacher-forced, as `score` computes them). Undefined otherwise.
 */
function draftScore(pass: PromptPass, passRow: number, row: ScoredRow): ContinuationScore | undefined {
  const draft = pass.drafts?.[passRow];
  const logProbs = pass.draftLogProbs?.[passRow];
  if (!draft || !logProbs || draft.length === 0 || draft.length !== row.jointIds.length - row.start) return undefined;
  if (draft.some((id, i) => row.jointIds[row.start + i] !== id)) return undefined;
  const tokenLogProbs = [...logProbs];
  return { logProb: tokenLogProbs.reduce((sum, value) => sum + value, 0), tokenCount: tokenLogProbs.length, tokenLogProbs };
}

function checkMaxNewTokens(maxNewTokens: number): void {
  if (!Number.isFinite(maxNewTokens) || maxNewTokens < 0) {
    throw new RangeError(`maxNewTokens must be a number ≥ 0; got ${maxNewTokens}.`);
  }
}

function nonEmptyStops(stops: readonly string[] | undefined): string[] {
  return (stops ?? []).filter((stop) => stop.length > 0);
}

function findStop(text: string, stops: readonly string[]): number | undefined {
  let best: number | undefined;
  for (const stop of stops) {
    const index = text.indexOf(stop);
    if (index >= 0 && (best === undefined || index < best)) best = index;
  }
  return best;
}

function firstPositiveInteger(...values: unknown[]): number | undefined {
  for (const value of values) {
    if (typeof value === 'number' && Number.isInteger(value) && value > 0) return value;
  }
  return undefined;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}