/**
 * Checks a model folder before transformers.js sees it, so that every problem is one message that names
 * the file and says what to do: missing files (listing all of them), unreadable or damaged JSON,
 * Git LFS pointers, and a tokenizer that does not belong to the weights.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parse as parseJsonc, printParseErrorCode, type ParseError } from 'jsonc-parser';

import { DTYPE_SUFFIX, onnxFileForDtype } from './fingerprint';
import { ModelLoadError } from './languageModel';
import { externalDataProblems, isLfsPointer, OnnxFormatError, readOnnxSummary } from './onnxSummary';

export const DTYPE_FILES_HINT =
  'fp32 → onnx/model.onnx, fp16 → onnx/model_fp16.onnx, q8 → onnx/model_quantized.onnx, q4 → onnx/model_q4.onnx';

export const LAYOUT_HINT = 'transformers.js layout (config.json, tokenizer.json, tokenizer_config.json, onnx/model.onnx)';

export const REQUIRED_FILES = ['config.json', 'tokenizer.json', 'tokenizer_config.json'] as const;

function dtypeOfSuffix(fileName: string): string | undefined {
  const match = /^model(.*)\.onnx$/.exec(fileName);
  if (!match) return undefined;
  return Object.keys(DTYPE_SUFFIX).find((dtype) => DTYPE_SUFFIX[dtype] === match[1]);
}

/** Reads the dtype named in config.json's `transformers.js_config`, when there is one. */
export function configuredDtype(config: Record<string, unknown> | undefined): string | undefined {
  const jsConfig = config?.['transformers.js_config'];
  if (!isRecord(jsConfig)) return undefined;
  const dtype = jsConfig.dtype;
  if (typeof dtype === 'string' && dtype in DTYPE_SUFFIX) return dtype;
  if (isRecord(dtype) && typeof dtype.model === 'string' && dtype.model in DTYPE_SUFFIX) return dtype.model;
  return undefined;
}

/** What to do about a damaged model file. */
function replaceHint(file: string): string {
  return `replace it with the model's original ${path.basename(file)}`;
}

/**
 * A model folder's JSON file as an object, or a ModelLoadError that names the file and says what is wrong
 * with it: missing, empty, a Git LFS pointer, binary, not valid JSON (with line and column), not an object.
 * Never echoes the file's bytes.
 */
export function readJsonFile(file: string): Record<string, unknown> {
  let bytes: Buffer;
  try {
    bytes = fs.readFileSync(file);
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    throw new ModelLoadError(
      code === 'ENOENT' ? `${file} is missing.` : `Could not read ${file}: ${firstLine(messageOf(error))}.`,
    );
  }
  const text = bytes.toString('utf8');
  if (text.trim() === '') throw new ModelLoadError(`${file} is empty: ${replaceHint(file)}.`);
  if (text.startsWith('version https://git-lfs')) {
    throw new ModelLoadError(
      `${file} is a Git LFS pointer, not the file itself. Fetch the real file (git lfs pull) or download the folder again.`,
    );
  }
  if (bytes.includes(0) || text.includes('\uFFFD')) {
    throw new ModelLoadError(`${file} is binary data, not JSON: ${replaceHint(file)}.`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new ModelLoadError(`${file} is not valid JSON (${jsonProblem(text, error)}); ${replaceHint(file)}.`);
  }
  if (!isRecord(value)) {
    const kind = Array.isArray(value) ? 'a JSON array' : value === null ? 'null' : `a JSON ${typeof value}`;
    throw new ModelLoadError(`${file} holds ${kind}, not a JSON object: ${replaceHint(file)}.`);
  }
  return value;
}

const JSON_PROBLEMS: Readonly<Record<string, string>> = {
  InvalidSymbol: 'an unexpected character',
  InvalidNumberFormat: 'a malformed number',
  PropertyNameExpected: 'a property name is missing',
  ValueExpected: 'a value is missing',
  ColonExpected: 'a colon is missing',
  CommaExpected: 'a comma is missing',
  CloseBraceExpected: 'a } is missing',
  CloseBracketExpected: 'a ] is missing',
  EndOfFileExpected: 'text after the end of the JSON value',
  InvalidCommentToken: 'a comment, which JSON does not allow',
  UnexpectedEndOfComment: 'an unclosed comment',
  UnexpectedEndOfString: 'a string that is never closed',
  UnexpectedEndOfNumber: 'a number cut short',
  InvalidUnicode: 'a bad \\u escape',
  InvalidEscapeCharacter: 'a bad escape character',
  InvalidCharacter: 'a control character inside a string',
};

/** Where and what the first JSON error is ("line 3, column 7: a comma is missing"), from jsonc-parser's scanner. */
function jsonProblem(text: string, error: unknown): string {
  const errors: ParseError[] = [];
  parseJsonc(text, errors, { disallowComments: true, allowTrailingComma: false, allowEmptyContent: false });
  const first = errors[0];
  if (!first) return firstLine(messageOf(error)).replace(/[^\x20-\x7e]/g, '?').slice(0, 120);
  const before = text.slice(0, first.offset);
  const line = before.split('\n').length;
  const column = first.offset - before.lastIndexOf('\n');
  const where = first.offset >= text.trimEnd().length ? `it ends early, at line ${line}` : `line ${line}, column ${column}`;
  const what = JSON_PROBLEMS[printParseErrorCode(first.error)] ?? printParseErrorCode(first.error);
  const character = text[first.offset];
  const shown =
    printParseErrorCode(first.error) === 'InvalidSymbol' && character !== undefined
      ? /[\x21-\x7e]/.test(character) ? ` "${character}"` : ` (U+${character.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')})`
      : '';
  return `${where}: ${what}${shown}`;
}

/** config.json's numbers the runner relies on: each, when present, must be a positive whole number. */
const CONFIG_COUNTS = ['vocab_size', 'max_position_embeddings', 'n_positions', 'hidden_size', 'num_hidden_layers'] as const;

/** Reads and checks config.json: a JSON object with a `model_type` and sane counts. */
export function readModelConfig(folder: string): Record<string, unknown> {
  const file = path.join(folder, 'config.json');
  const config = readJsonFile(file);
  const textConfig = isRecord(config.text_config) ? config.text_config : undefined;
  if (typeof config.model_type !== 'string' || config.model_type === '') {
    throw new ModelLoadError(
      `${file} has no "model_type", which transformers.js needs to pick the architecture (e.g. "llama"): ${replaceHint(file)}.`,
    );
  }
  for (const [where, object] of [['', config], ['text_config.', textConfig]] as const) {
    for (const key of CONFIG_COUNTS) {
      const value = object?.[key];
      if (value === undefined || value === null) continue;
      if (!(typeof value === 'number' && Number.isInteger(value) && value > 0)) {
        throw new ModelLoadError(
          `${file}: "${where}${key}" is ${JSON.stringify(value)}, not a positive whole number: ${replaceHint(file)}.`,
        );
      }
    }
  }
  return config;
}

/** generation_config.json when the folder has one (it is optional), checked as readJsonFile does. */
export function readGenerationConfig(folder: string): Record<string, unknown> | null {
  const file = path.join(folder, 'generation_config.json');
  return fs.existsSync(file) ? readJsonFile(file) : null;
}

/**
 * Checks that a local folder exists and has every file a model of this dtype needs, naming all missing
 * files at once; an ONNX file that is a Git LFS pointer is named as one (it cannot hold weights).
 */
export function checkModelFolder(folder: string, dtype: string): void {
  let stat: fs.Stats;
  try {
    stat = fs.statSync(folder);
  } catch {
    throw new ModelLoadError(
      `Model folder not found: ${folder}. Point the model setting at a folder in ${LAYOUT_HINT}, ` +
        'or at a Hugging Face Hub id such as HuggingFaceTB/SmolLM2-135M.',
    );
  }
  if (!stat.isDirectory()) {
    throw new ModelLoadError(
      `${folder} is a file, not a model folder. Point the model setting at the folder that holds config.json, ` +
        'tokenizer.json, tokenizer_config.json and onnx/.',
    );
  }
  const onnxFile = onnxFileForDtype(dtype);
  const missing = missingModelFiles(folder, dtype);
  if (missing.length === 0) {
    const weights = path.join(folder, onnxFile);
    if (isLfsPointer(weights)) {
      throw new ModelLoadError(
        `${weights} is a Git LFS pointer, not the model weights. Fetch the real file (git lfs pull) or download the folder again.`,
      );
    }
    return;
  }

  let message = `The model folder ${folder} is missing ${missing.join(', ')}.`;
  if (missing.includes(onnxFile)) {
    const available = listOnnxModels(folder);
    message += ` For dtype "${dtype}" transformers.js loads ${onnxFile} (${DTYPE_FILES_HINT}).`;
    if (available.length > 0) {
      const usable = available
        .map((file) => ({ file, dtype: dtypeOfSuffix(file) }))
        .filter((entry): entry is { file: string; dtype: string } => entry.dtype !== undefined);
      message += ` The folder has ${available.map((file) => `onnx/${file}`).join(', ')}`;
      message += usable.length > 0 ? `: set the dtype to ${usable.map((u) => `"${u.dtype}"`).join(' or ')}.` : '.';
    } else {
      message += ' Export the model to ONNX (for example with optimum: `optimum-cli export onnx --task text-generation-with-past`).';
    }
  }
  if (missing.some((file) => (REQUIRED_FILES as readonly string[]).includes(file))) {
    message += ` A model folder in ${LAYOUT_HINT} needs all of them.`;
  }
  throw new ModelLoadError(message);
}

export function missingModelFiles(folder: string, dtype: string): string[] {
  return [...REQUIRED_FILES, onnxFileForDtype(dtype)].filter((file) => !fs.existsSync(path.join(folder, file)));
}

function listOnnxModels(folder: string): string[] {
  try {
    return fs
      .readdirSync(path.join(folder, 'onnx'))
      .filter((file) => /^model.*\.onnx$/.test(file))
      .sort();
  } catch {
    return [];
  }
}

/** How many tokens the model has embeddings for, and where that number comes from (a phrase naming the file). */
export interface ModelVocabulary {
  size: number;
  source: string;
}

/** The number of token embeddings config.json gives the model (vocab_size, or its text model's). */
export function configVocabularySize(config: Record<string, unknown>): number | undefined {
  const textConfig = isRecord(config.text_config) ? config.text_config : {};
  for (const value of [config.vocab_size, textConfig.vocab_size]) {
    if (typeof value === 'number' && Number.isInteger(value) && value > 0) return value;
  }
  return undefined;
}

/** The model's vocabulary: config.json's vocab_size, else the size of the ONNX graph's logits. */
export function modelVocabulary(folder: string, config: Record<string, unknown>, logitsSize: number | undefined, dtype: string): ModelVocabulary | undefined {
  const configured = configVocabularySize(config);
  if (configured !== undefined) {
    return { size: configured, source: `${path.join(folder, 'config.json')} gives the model ${configured} token embeddings (vocab_size)` };
  }
  if (logitsSize !== undefined) {
    return { size: logitsSize, source: `${path.join(folder, onnxFileForDtype(dtype))} predicts ${logitsSize} tokens (its logits)` };
  }
  return undefined;
}

/**
 * Checks the ONNX file without loading it (see onnxSummary.ts): a whole ONNX model, its external data present
 * and long enough, a "logits" output, and logits as wide as config.json's vocab_size. Returns the logits' size
 * when the graph fixes it.
 */
export function checkOnnxModel(folder: string, dtype: string, config: Record<string, unknown>): number | undefined {
  const file = path.join(folder, onnxFileForDtype(dtype));
  let summary;
  try {
    summary = readOnnxSummary(file);
  } catch (error) {
    if (!(error instanceof OnnxFormatError)) throw new ModelLoadError(`Could not read ${file}: ${firstLine(messageOf(error))}.`);
    throw new ModelLoadError(
      `${file} is not a valid ONNX model (${error.message}). The file may be truncated or corrupt ` +
        '(an interrupted download or copy): replace it with a fresh copy of the model.',
    );
  }
  const missing = externalDataProblems(file, summary);
  if (missing.length > 0) {
    throw new ModelLoadError(`${file} cannot be loaded: ${missing.join('; ')}. Download the model folder again.`);
  }
  const logits = summary.outputs.find((output) => output.name === 'logits');
  if (!logits) {
    throw new ModelLoadError(
      `${file} has no "logits" output: it is not a causal language model (export it with the task text-generation-with-past).`,
    );
  }
  const width = logits.dims.at(-1);
  const logitsSize = typeof width === 'number' && width > 0 ? width : undefined;
  const configured = configVocabularySize(config);
  if (logitsSize !== undefined && configured !== undefined && logitsSize !== configured) {
    throw new ModelLoadError(
      `config.json does not match the weights: ${path.join(folder, 'config.json')} says vocab_size ${configured}, but ${file} ` +
        `predicts ${logitsSize} tokens (its logits). Use the config.json that came with these weights.`,
    );
  }
  return logitsSize;
}

/** A local model folder checked as far as it can be without loading anything: files, JSON files, the ONNX file. */
export interface CheckedModelFolder {
  config: Record<string, unknown>;
  generationConfig: Record<string, unknown> | null;
  logitsSize: number | undefined;
}

export function checkLocalModel(folder: string, dtype: string): CheckedModelFolder {
  checkModelFolder(folder, dtype);
  const config = readModelConfig(folder);
  const generationConfig = readGenerationConfig(folder);
  return { config, generationConfig, logitsSize: checkOnnxModel(folder, dtype, config) };
}

/** The token ids a tokenizer can produce (its vocabulary, added tokens included) and which of them are special. */
export interface TokenizerIds {
  ids: Iterable<number>;
  specialIds: ReadonlySet<number>;
}

/**
 * Checks that the tokenizer belongs to a model with `embeddingRows` token embeddings (config.json's
 * vocab_size): every ordinary token id must have a row (an id beyond them makes onnxruntime fail), and the
 * tokenizer must cover at least half the rows (embeddings are often padded by a few percent, never by half;
 * a tokenizer that small writes empty text for most of what the model predicts). Special tokens beyond the
 * rows are let through: they only occur where a text spells them out.
 */
export function checkTokenizerMatchesModel(folder: string, tokenizer: TokenizerIds, model: ModelVocabulary | undefined): void {
  if (model === undefined) return;
  const embeddingRows = model.size;
  let count = 0;
  let highest = -1;
  let highestOrdinary = -1;
  for (const id of tokenizer.ids) {
    count++;
    highest = Math.max(highest, id);
    if (!tokenizer.specialIds.has(id)) highestOrdinary = Math.max(highestOrdinary, id);
  }
  const tokenizerFile = path.join(folder, 'tokenizer.json');
  const problem =
    highestOrdinary >= embeddingRows
      ? `${tokenizerFile} has token ids up to ${highestOrdinary} (${count} tokens), but ${model.source}, so ids from ${embeddingRows} on cannot be run`
      : highest + 1 < embeddingRows / 2
        ? `${tokenizerFile} has ${count} tokens (ids up to ${highest}), but ${model.source}, so most tokens the model predicts could not be written out`
        : undefined;
  if (problem) {
    throw new ModelLoadError(
      `The tokenizer does not match the model: ${problem}. Use the tokenizer.json and tokenizer_config.json that came with these weights.`,
    );
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function firstLine(message: string): string {
  const line = message.split('\n').find((part) => part.trim() !== '') ?? message;
  return line.length > 300 ? `${line.slice(0, 300)}…` : line;
}
