/**
 * A model's tokenizer and config without its weights: what shot estimates, token counts, hovers and prompt
 * previews need. Loading the ONNX session (hundreds of MB) just to count tokens would stall the editor; this
 * reads tokenizer.json, tokenizer_config.json and config.json only, and takes the context length and the
 * vocabulary size from config.json exactly as the full model does (transformersModel.ts), so that an estimate
 * made here equals the one a run makes.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { ModelFacts } from '../datasetCheck';
import { ModelLoadError } from './languageModel';
import { PretrainedTokenizer, type RawTokenizer } from './pretrainedTokenizer';

interface TransformersModule {
  env: { cacheDir: string | null; allowRemoteModels: boolean };
  AutoTokenizer: { from_pretrained(id: string, options: Record<string, unknown>): Promise<RawTokenizer> };
  AutoConfig: { from_pretrained(id: string, options: Record<string, unknown>): Promise<Record<string, unknown>> };
}

export interface TokenizerLoadOptions {
  /** A Hub id (`org/name`) or a local folder in transformers.js layout. */
  model: string;
  /** Where Hub downloads are kept (`<cacheDir>/org/name/…`, as transformers.js keeps them). */
  cacheDir?: string;
  allowDownload?: boolean;
  signal?: AbortSignal;
}

const TOKENIZER_FILES = ['config.json', 'tokenizer.json', 'tokenizer_config.json'] as const;

export { PretrainedTokenizer };

/** Context length as the full model reads it: the first positive integer of config.json's usual keys, else 2048. */
export function contextLengthOf(config: Record<string, unknown>): number {
  const text = isRecord(config.text_config) ? config.text_config : {};
  return firstPositiveInteger(config.max_position_embeddings, config.n_positions, config.max_sequence_length, config.seq_length, config.n_ctx, text.max_position_embeddings) ?? 2048;
}

export function vocabularySizeOf(config: Record<string, unknown>): number {
  const text = isRecord(config.text_config) ? config.text_config : {};
  return firstPositiveInteger(config.vocab_size, text.vocab_size) ?? 0;
}

/** One load at a time: transformers' `env` is process-wide and a Hub download adjusts it. */
let chain: Promise<unknown> = Promise.resolve();

export function loadTokenizerOnly(options: TokenizerLoadOptions): Promise<ModelFacts> {
  const run = chain.then(() => load(options));
  chain = run.catch(() => undefined);
  return run;
}

async function load(options: TokenizerLoadOptions): Promise<ModelFacts> {
  options.signal?.throwIfAborted();
  const name = options.model.trim();
  if (!name) throw new ModelLoadError('No model is set. Point the model setting at a local folder in transformers.js layout, or at a Hugging Face Hub id.');
  const expanded = name === '~' || name.startsWith('~/') ? path.join(process.env.HOME ?? '/', name.slice(1)) : name;
  const folder = path.resolve(expanded);
  const tf = (await import('@huggingface/transformers')) as unknown as TransformersModule;
  options.signal?.throwIfAborted();
  if (fs.existsSync(folder)) return fromFolder(tf, folder, name);
  if (!/^[A-Za-z0-9][\w.-]*\/[A-Za-z0-9][\w.-]*$/.test(name)) {
    throw new ModelLoadError(`The model folder ${folder} does not exist, and "${name}" is not a Hugging Face Hub id (org/name).`);
  }
  const cacheDir = path.resolve(options.cacheDir ?? tf.env.cacheDir ?? '.cache');
  const cached = path.join(cacheDir, ...name.split('/'));
  if (TOKENIZER_FILES.every((file) => fs.existsSync(path.join(cached, file)))) return fromFolder(tf, cached, name);
  if (options.allowDownload === false) {
    throw new ModelLoadError(`${name} is not in the model cache (${cacheDir}) and downloads are disabled. Allow downloads, or point the model setting at a local folder.`);
  }
  const saved = { cacheDir: tf.env.cacheDir, allowRemoteModels: tf.env.allowRemoteModels };
  try {
    tf.env.cacheDir = cacheDir;
    tf.env.allowRemoteModels = true;
    const pretrained = { cache_dir: cacheDir, local_files_only: false };
    const tokenizer = await tf.AutoTokenizer.from_pretrained(name, pretrained);
    const config = await tf.AutoConfig.from_pretrained(name, pretrained);
    return facts(name, tokenizer, config);
  } catch (error) {
    if (options.signal?.aborted) throw options.signal.reason;
    throw new ModelLoadError(`Could not get the tokenizer of ${name} from the Hugging Face Hub (${firstLine(error)}). Offline? Point the model setting at a local folder.`);
  } finally {
    tf.env.cacheDir = saved.cacheDir;
    tf.env.allowRemoteModels = saved.allowRemoteModels;
  }
}

async function fromFolder(tf: TransformersModule, folder: string, id: string): Promise<ModelFacts> {
  const missing = TOKENIZER_FILES.filter((file) => !fs.existsSync(path.join(folder, file)));
  if (missing.length) throw new ModelLoadError(`The model folder ${folder} is missing ${missing.join(', ')} (transformers.js layout: config.json, tokenizer.json, tokenizer_config.json, onnx/model.onnx).`);
  let config: Record<string, unknown>;
  try {
    config = JSON.parse(fs.readFileSync(path.join(folder, 'config.json'), 'utf8')) as Record<string, unknown>;
  } catch (error) {
    throw new ModelLoadError(`${path.join(folder, 'config.json')} is not readable JSON: ${firstLine(error)}`);
  }
  try {
    return facts(id, await tf.AutoTokenizer.from_pretrained(folder, { local_files_only: true }), config);
  } catch (error) {
    throw new ModelLoadError(`Could not read the tokenizer in ${folder}: ${firstLine(error)}`);
  }
}

function facts(id: string, raw: RawTokenizer, config: Record<string, unknown>): ModelFacts {
  return { id, tokenizer: new PretrainedTokenizer(raw), contextLength: contextLengthOf(config), vocabularySize: vocabularySizeOf(config) };
}

function firstPositiveInteger(...values: unknown[]): number | undefined {
  for (const value of values) if (typeof value === 'number' && Number.isInteger(value) && value > 0) return value;
  return undefined;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function firstLine(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).split('\n')[0]!;
}
