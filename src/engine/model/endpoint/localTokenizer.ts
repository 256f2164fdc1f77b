/**
 * Tokenizers for servers without /tokenize (Ollama, LM Studio, an OpenAI-compatible proxy): the model's own
 * `tokenizer.json`, loaded with transformers.js from a folder or Hub id the user names (no weights needed), or,
 * failing that, an estimate from characters that says it is one.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ModelLoadError, type ChatMessage, type Tokenizer } from '../languageModel';
import { loadTransformers } from '../transformersModel';

interface RawTokenizer {
  encode(text: string, options?: { add_special_tokens?: boolean }): number[];
  decode(ids: number[], options?: { skip_special_tokens?: boolean }): string;
  model?: { vocab?: unknown; tokens_to_ids?: Map<string, number> };
}

class LocalTokenizer implements Tokenizer {
  readonly hasChatTemplate = false;
  constructor(private readonly inner: RawTokenizer) {}

  encode(text: string, options?: { addSpecialTokens?: boolean }): number[] {
    return this.inner.encode(text, { add_special_tokens: options?.addSpecialTokens ?? true });
  }

  decode(ids: readonly number[], options?: { skipSpecialTokens?: boolean }): string {
    return ids.length ? this.inner.decode([...ids], { skip_special_tokens: options?.skipSpecialTokens ?? false }) : '';
  }

  countTokens(text: string): number {
    return this.encode(text, { addSpecialTokens: false }).length;
  }

  applyChatTemplate(_messages: readonly ChatMessage[], _options: { addGenerationPrompt: boolean }): string {
    throw new Error('Prompts to a serving engine use the plain-text templates (the raw completions route).');
  }

  /** The vocabulary's size where the tokenizer knows it. */
  get vocabularySize(): number | undefined {
    const size = this.inner.model?.tokens_to_ids?.size;
    return typeof size === 'number' && size > 0 ? size : undefined;
  }
}

/** Loads `tokenizer.json` (and `tokenizer_config.json` when present) from a folder or a Hub id. */
export async function loadLocalTokenizer(source: string, options: { cacheDir?: string; allowDownload?: boolean } = {}): Promise<LocalTokenizer> {
  const folder = path.resolve(source);
  const isFolder = fs.existsSync(folder);
  if (isFolder && !fs.existsSync(path.join(folder, 'tokenizer.json'))) {
    throw new ModelLoadError(`${folder} has no tokenizer.json: name the folder (or Hub id) of the served model's tokenizer.`);
  }
  const tf = await loadTransformers();
  const env = tf.env as unknown as { allowRemoteModels: boolean };
  const saved = env.allowRemoteModels;
  try {
    env.allowRemoteModels = !isFolder && options.allowDownload !== false;
    const auto = tf.AutoTokenizer as unknown as { from_pretrained(id: string, options: Record<string, unknown>): Promise<RawTokenizer> };
    return new LocalTokenizer(await auto.from_pretrained(isFolder ? folder : source, isFolder ? { local_files_only: true } : { cache_dir: options.cacheDir }));
  } catch (error) {
    throw new ModelLoadError(`Could not load the tokenizer ${source}: ${(error as Error).message.split('\n')[0]}`);
  } finally {
    env.allowRemoteModels = saved;
  }
}

/** Characters per token for the estimate: a common rule of thumb for English BPE vocabularies. */
export const CHARACTERS_PER_TOKEN = 4;

/**
 * Counts tokens as characters ÷ 4, for a server that has no /tokenize when no tokenizer was named. Its ids are
 * placeholders (−1), never sent to a server: prompts then go as text, and the report lists exact token counts
 * as unavailable.
 */
export class EstimatedTokenizer implements Tokenizer {
  readonly hasChatTemplate = false;
  readonly estimated = true;

  encode(text: string, options?: { addSpecialTokens?: boolean }): number[] {
    const count = Math.ceil(text.length / CHARACTERS_PER_TOKEN) + (options?.addSpecialTokens ?? true ? 1 : 0);
    return new Array<number>(count).fill(-1);
  }

  decode(): string {
    throw new Error('An estimated tokenizer has no vocabulary to decode with.');
  }

  countTokens(text: string): number {
    return Math.ceil(text.length / CHARACTERS_PER_TOKEN);
  }

  applyChatTemplate(): string {
    throw new Error('Prompts to a serving engine use the plain-text templates (the raw completions route).');
  }
}

export type { LocalTokenizer };
