/**
 * The small part of the transformers.js API the in-process runner uses, typed narrowly. The package's own
 * typings are loose (many `any`s); these keep strict mode meaningful and the dependency visible.
 */
import { type ChatMessage } from '../languageModel';

export type TensorData = ArrayLike<number> | ArrayLike<bigint>;

export interface TfTensor {
  readonly type: string;
  readonly dims: number[];
  readonly data: TensorData;
  readonly location?: string;
  to(type: string): TfTensor;
  dispose(): void;
}

export interface TfTensorConstructor {
  new (type: string, data: TensorData | readonly unknown[], dims: number[]): TfTensor;
}

/** A `DynamicCache`: past key/value tensors by input name (`past_key_values.0.key`, ...). */
export type TfCache = Record<string, TfTensor>;

export interface TfTokenizer {
  encode(text: string, options?: { add_special_tokens?: boolean }): number[];
  /** Every token (added ones included) → its id. */
  get_vocab(): Map<string | undefined, number>;
  readonly all_special_ids?: readonly number[];
  decode(ids: number[], options?: { skip_special_tokens?: boolean }): string;
  apply_chat_template(
    messages: ChatMessage[],
    options: { tokenize: false; add_generation_prompt: boolean },
  ): string;
  readonly chat_template: unknown;
  readonly eos_token_id?: number | null;
  readonly bos_token_id?: number | null;
  /** transformers.js: the id of tokenizer_config.json's `pad_token`, else of the EOS token; undefined if unknown. */
  readonly pad_token_id?: number | null;
}

export interface TfSession {
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  /** Set by transformers: the dtype and device it chose. */
  readonly config?: { dtype?: string; device?: string };
}

export interface TfModel {
  readonly config: Record<string, unknown>;
  readonly generation_config: Record<string, unknown> | null;
  readonly sessions: Record<string, TfSession>;
  forward(inputs: Record<string, unknown>): Promise<Record<string, TfTensor>>;
  generate(options: Record<string, unknown>): Promise<TfTensor | { sequences: TfTensor }>;
  dispose(): Promise<unknown>;
}

export interface TfProgressEvent {
  status?: string;
  name?: string;
  file?: string;
  progress?: number;
  loaded?: number;
  total?: number;
}

export interface TfPretrainedOptions {
  local_files_only: boolean;
  cache_dir?: string;
  progress_callback?: (event: TfProgressEvent) => void;
}

export interface TfModelOptions extends TfPretrainedOptions {
  dtype?: string;
  device: string;
  session_options: { intraOpNumThreads?: number };
}

export type FetchLike = (input: unknown, init?: Record<string, unknown>) => Promise<unknown>;

export interface TfEnv {
  cacheDir: string | null;
  allowRemoteModels: boolean;
  allowLocalModels: boolean;
  fetch: FetchLike;
  /** transformers' LogLevel; NONE also sets onnxruntime's own log severity to fatal. */
  logLevel: number;
}

export interface StoppingCriteriaInstance {
  _call(inputIds: readonly (readonly (number | bigint)[])[], scores?: unknown): boolean[];
}

export interface TransformersApi {
  env: TfEnv;
  LogLevel: { NONE: number };
  Tensor: TfTensorConstructor;
  DynamicCache: new (entries?: Record<string, TfTensor>) => TfCache;
  StoppingCriteria: new () => StoppingCriteriaInstance;
  AutoTokenizer: { from_pretrained(id: string, options: TfPretrainedOptions): Promise<TfTokenizer> };
  AutoModelForCausalLM: { from_pretrained(id: string, options: TfModelOptions): Promise<TfModel> };
}
