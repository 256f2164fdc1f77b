/**
 * Tokenizers for servers without /tokenize (Ollama, LM Studio, an OpenAI-compatible proxy): the model's own
 * `tokenizer.json`, loaded with transformers.js from a folder or Hub id the user names (no weights needed), or,
 * failing that, an estimate from characters that says it is one.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ModelLoadError, type ChatMessage, type Tokenizer } from '../languageModel';
import { PretrainedTokenizer, type RawTokenizer } from '../pretrainedTokenizer';
import { loadTransformers } from '../transformers/load';

/** The model's own tokenizer; prompts to a server are plain text, so it never renders a chat template. */
class LocalTokenizer extends PretrainedTokenizer {
  override readonly hasChatTemplate = false;
  /** @param vocabularySize from the folder's config.json `vocab_size`, else tokenizer.json's vocabulary. */
  constructor(inner: RawTokenizer, readonly vocabularySize: number | undefined) {
    super(inner);
  }

  override applyChatTemplate(_messages: readonly ChatMessage[], _options: { addGenerationPrompt: boolean }): string {
    throw new Error('Prompts to a serving engine use the plain-text templates (the raw completions route).');
  }
}

/** The model's vocabulary size from the files beside its tokenizer: config.json, else tokenizer.json's ids. */
function vocabularySizeIn(folder: string): number | undefined {
  const read = (name: string): Record<string, unknown> | undefined => {
    try {
      return JSON.parse(fs.readFileSync(path.join(folder, name), 'utf8')) as Record<string, unknown>;
    } catch {
      return undefined;
    }
  };
  const configured = read('config.json')?.vocab_size;
  if (typeof configured === 'number' && Number.isInteger(configured) && configured > 0) return configured;
  const tokenizer = read('tokenizer.json') as { model?: { vocab?: unknown }; added_tokens?: { id?: unknown }[] } | undefined;
  const vocab = tokenizer?.model?.vocab;
  const ids = Array.isArray(vocab) ? vocab.map((_, index) => index) : vocab && typeof vocab === 'object' ? Object.values(vocab as Record<string, unknown>).filter((id): id is number => typeof id === 'number') : [];
  for (const added of tokenizer?.added_tokens ?? []) if (typeof added.id === 'number') ids.push(added.id);
  // A reduce, not Math.max(...ids): a 150 000-entry vocabulary would overflow the call's arguments.
  return ids.length ? ids.reduce((largest, id) => Math.max(largest, id), 0) + 1 : undefined;
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
    const inner = await auto.from_pretrained(isFolder ? folder : source, isFolder ? { local_files_only: true } : { cache_dir: options.cacheDir });
    // transformers.js keeps a Hub file `org/name/<file>` at `<cacheDir>/org/name/<file>`.
    const files = isFolder ? folder : path.join(path.resolve(options.cacheDir ?? '.cache'), ...source.split('/'));
    return new LocalTokenizer(inner, vocabularySizeIn(files));
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
