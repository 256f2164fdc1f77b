/**
 * Loading a model for the in-process runner: the lazy import of @huggingface/transformers, where the model
 * comes from (a folder or a Hub id, cached or downloaded), the folder's checks and fingerprint, the tokenizer,
 * and the ONNX session, opened lazily on first use. Loads run one at a time, since transformers' `env` is
 * process-wide. What it produces (ModelParts) is what TransformersLanguageModel is built from.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

import { fingerprintModelFolder, onnxFileForDtype } from '../fingerprint';
import { batchCoupledOps, readOnnxSummary } from '../onnxSummary';
import { ModelLoadError, type LanguageModel, type LoadProgress, type ModelLoadOptions } from '../languageModel';
import {
  checkLocalModel,
  type CheckedModelFolder,
  checkModelFolder,
  checkTokenizerMatchesModel,
  configuredDtype,
  LAYOUT_HINT,
  missingModelFiles,
  modelVocabulary,
  readGenerationConfig,
  readJsonFile,
  readModelConfig,
} from '../modelFolder';
import { checkCausalLanguageModel, explainLoadError, explainRunErrors, messageOf } from './errors';
import {
  type TfModel,
  type TfModelOptions,
  type TfPretrainedOptions,
  type TfProgressEvent,
  type TfTokenizer,
  type TransformersApi,
} from './tfTypes';

let transformersPromise: Promise<TransformersApi> | undefined;

/** Imports @huggingface/transformers once, on first use. */
export function loadTransformers(): Promise<TransformersApi> {
  transformersPromise ??= import('@huggingface/transformers').then(
    (module) => {
      const api = module as unknown as TransformersApi;
      // A failed run otherwise prints every input tensor (kilobytes) and onnxruntime's own error line to the
      // console; the error itself still reaches the caller, explained in one line (see explainRunErrors).
      api.env.logLevel = api.LogLevel.NONE;
      return api;
    },
    (error: unknown) => {
      transformersPromise = undefined;
      throw new ModelLoadError(
        `Could not load the @huggingface/transformers runtime (${messageOf(error)}). Reinstall the extension; ` +
          'its onnxruntime-node native module may be missing for this platform.',
      );
    },
  );
  return transformersPromise;
}

/** A Hub repository id: `name` or `org/name` (the Hub's own rules, minus revisions). */
const HUB_ID = /^(?:[A-Za-z0-9][\w.-]{0,95}\/)?[A-Za-z0-9][\w.-]{0,95}$/;

export type ModelSource = { kind: 'folder'; folder: string } | { kind: 'hub'; id: string };

export function resolveSource(model: string): ModelSource {
  const trimmed = model.trim();
  if (trimmed === '') {
    throw new ModelLoadError(
      `No model is set. Point the model setting at a local folder in ${LAYOUT_HINT}, or at a Hugging Face Hub id.`,
    );
  }
  const expanded = trimmed === '~' || trimmed.startsWith('~/') ? path.join(homeDir(), trimmed.slice(1)) : trimmed;
  const resolved = path.resolve(expanded);
  if (fs.existsSync(resolved)) return { kind: 'folder', folder: resolved };
  const looksLikePath =
    path.isAbsolute(expanded) ||
    expanded !== trimmed ||
    /^\.\.?([/\\]|$)/.test(trimmed) ||
    trimmed.includes('\\') ||
    trimmed.endsWith('/');
  if (looksLikePath || !HUB_ID.test(trimmed) || trimmed.includes('..') || trimmed.includes('--')) {
    // Not a Hub id: report it as the folder it was meant to be.
    checkModelFolder(resolved, 'fp32');
  }
  return { kind: 'hub', id: trimmed };
}

function homeDir(): string {
  return process.env.HOME ?? process.env.USERPROFILE ?? '/';
}

/** One load at a time: transformers' `env` is process-wide and a load adjusts it. */
let loadChain: Promise<unknown> = Promise.resolve();

/** Loads a model's parts, one load at a time, and builds the model from them with `make`. */
export async function loadModel(options: ModelLoadOptions, make: (parts: ModelParts) => LanguageModel): Promise<LanguageModel> {
  options.signal?.throwIfAborted();
  const source = resolveSource(options.model);
  const run = loadChain.then(() => loadSerialized(options, source, make));
  loadChain = run.catch(() => undefined);
  return run;
}

/** Where the files come from: a folder on disk (possibly a complete Hub download in the cache), or the Hub. */
export type LoadPlan =
  | { kind: 'folder'; folder: string; hubId?: string }
  | { kind: 'download'; id: string; cacheDir: string };

export type LoadStage = 'tokenizer' | 'model';

async function loadSerialized(
  options: ModelLoadOptions,
  source: ModelSource,
  make: (parts: ModelParts) => LanguageModel,
): Promise<LanguageModel> {
  const signal = options.signal;
  signal?.throwIfAborted();
  const device = options.device ?? 'cpu';
  if (device !== 'cpu' && device !== 'cuda') {
    throw new ModelLoadError(`Unknown device "${String(device)}". Use "cpu" or "cuda".`);
  }
  if (options.threads !== undefined && !(Number.isInteger(options.threads) && options.threads > 0)) {
    throw new ModelLoadError(`threads must be a positive whole number; got ${String(options.threads)}.`);
  }
  // A local folder is checked before anything loads; its weights are opened on first use.
  let checked: CheckedModelFolder | undefined;
  if (source.kind === 'folder') checked = checkLocalModel(source.folder, folderDtype(source.folder, options.dtype));

  const tf = await loadTransformers();
  signal?.throwIfAborted();
  const env = tf.env;
  const allowDownload = options.allowDownload !== false;

  let plan: LoadPlan;
  if (source.kind === 'folder') {
    plan = { kind: 'folder', folder: source.folder };
  } else {
    const cacheDir = path.resolve(options.cacheDir ?? env.cacheDir ?? '.cache');
    // transformers.js keeps a Hub file `org/name/<file>` at `<cacheDir>/org/name/<file>`.
    const cached = path.join(cacheDir, ...source.id.split('/'));
    const missing = missingModelFiles(cached, folderDtype(cached, options.dtype));
    if (missing.length === 0) {
      plan = { kind: 'folder', folder: cached, hubId: source.id };
      checked = checkLocalModel(cached, folderDtype(cached, options.dtype));
    } else if (!allowDownload) {
      throw new ModelLoadError(
        `${source.id} is not in the model cache (${cacheDir}: ${missing.join(', ')} missing) and downloads are disabled. ` +
          `Allow downloads, or point the model setting at a local folder in ${LAYOUT_HINT}.`,
      );
    } else {
      plan = { kind: 'download', id: source.id, cacheDir };
    }
  }

  const pretrained: TfPretrainedOptions = { local_files_only: plan.kind === 'folder' };
  let requestedDtype: string | undefined;
  if (plan.kind === 'folder') {
    requestedDtype = folderDtype(plan.folder, options.dtype);
  } else {
    requestedDtype = options.dtype; // undefined: transformers picks config.json's transformers.js_config dtype, else fp32
    pretrained.cache_dir = plan.cacheDir;
    if (options.onProgress) {
      const onProgress = options.onProgress;
      pretrained.progress_callback = (event) => forwardProgress(event, onProgress);
    }
  }
  const modelOptions: TfModelOptions = {
    ...pretrained,
    device,
    session_options: options.threads !== undefined ? { intraOpNumThreads: options.threads } : {},
  };
  if (requestedDtype !== undefined) modelOptions.dtype = requestedDtype;

  const saved = { cacheDir: env.cacheDir, allowRemoteModels: env.allowRemoteModels, fetch: env.fetch };
  const id = plan.kind === 'folder' ? plan.folder : plan.id;
  let stage: LoadStage = 'tokenizer';
  let tokenizer: TfTokenizer | undefined;
  let model: TfModel | undefined;
  const started = performance.now();
  try {
    if (plan.kind === 'download') {
      // transformers checks some files' existence with default options, that is with its global
      // `env`, so the cache folder must be set there as well as through `cache_dir`.
      env.cacheDir = plan.cacheDir;
      env.allowRemoteModels = true;
      if (signal) {
        const baseFetch = saved.fetch;
        env.fetch = (input, init) => baseFetch(input, { ...init, signal });
      }
    }
    tokenizer = await tf.AutoTokenizer.from_pretrained(id, pretrained);
    signal?.throwIfAborted();
    if (plan.kind === 'download') {
      // A download fetches the weights now, with progress; a folder's weights are opened on first use.
      stage = 'model';
      model = await tf.AutoModelForCausalLM.from_pretrained(id, modelOptions);
      signal?.throwIfAborted();
    }
  } catch (error) {
    await model?.dispose().catch(() => undefined);
    if (signal?.aborted) throw signal.reason;
    throw explainLoadError(error, { plan, stage, dtype: requestedDtype ?? 'fp32', device });
  } finally {
    env.cacheDir = saved.cacheDir;
    env.allowRemoteModels = saved.allowRemoteModels;
    env.fetch = saved.fetch;
  }

  const folder = plan.kind === 'folder' ? plan.folder : path.join(plan.cacheDir, ...plan.id.split('/'));
  const dtype = model?.sessions.model?.config?.dtype ?? requestedDtype ?? 'fp32';
  let parts: ModelParts;
  try {
    if (model) checkCausalLanguageModel(model, options.model);
    const config = checked?.config ?? readModelConfig(folder);
    const generationConfig = checked ? checked.generationConfig : readGenerationConfig(folder);
    checkTokenizerMatchesModel(
      folder,
      { ids: tokenIds(tokenizer), specialIds: new Set(tokenizer.all_special_ids ?? []) },
      modelVocabulary(folder, config, checked?.logitsSize, dtype),
    );
    const { fingerprint } = await fingerprintModelFolder(folder, dtype, {
      indexFile: options.cacheDir ? path.join(options.cacheDir, FILE_HASH_INDEX) : undefined,
      signal,
    });
    const context: LoadContext = { plan, stage: 'model', dtype, device };
    parts = {
      batchCoupledOps: graphBatchCoupledOps(path.join(folder, onnxFileForDtype(dtype))),
      tf,
      tokenizer,
      config,
      generationConfig,
      session: model && explainRunErrors(model, options.model),
      openSession: () => openSession(tf, id, modelOptions, context, options.model),
      id: options.model,
      fingerprint,
      loadMilliseconds: performance.now() - started,
    };
  } catch (error) {
    await model?.dispose().catch(() => undefined);
    if (signal?.aborted) throw signal.reason;
    throw error;
  }
  const instance = make(parts);
  options.onProgress?.({ file: options.model, status: 'ready', percent: 100 });
  return instance;
}

/** The file in the cache folder that remembers model files' hashes (see fingerprint.ts). */
const FILE_HASH_INDEX = 'model-file-hashes.json';

/**
 * Creates the ONNX session of a folder's weights: on the model's first generate, score or prefill, so that
 * a run the output cache serves entirely, and the extension's token counting, never load the weights.
 * Queued with loads, since transformers' `env` is process-wide.
 */
async function openSession(
  tf: TransformersApi,
  id: string,
  modelOptions: TfModelOptions,
  context: LoadContext,
  name: string,
): Promise<TfModel> {
  const run = loadChain.then(async () => {
    let model: TfModel;
    try {
      model = await tf.AutoModelForCausalLM.from_pretrained(id, modelOptions);
    } catch (error) {
      throw explainLoadError(error, context);
    }
    try {
      checkCausalLanguageModel(model, name);
    } catch (error) {
      await model.dispose().catch(() => undefined);
      throw error;
    }
    return explainRunErrors(model, name);
  });
  loadChain = run.catch(() => undefined);
  return run;
}

/** The ids of the tokenizer's tokens; get_vocab() also lists the unused ids below an added token's, as `undefined`. */
function* tokenIds(tokenizer: TfTokenizer): Generator<number> {
  for (const [token, id] of tokenizer.get_vocab()) if (typeof token === 'string') yield id;
}

/** The dtype a folder will be loaded with: the one asked for, else config.json's, else fp32. */
function folderDtype(folder: string, requested: string | undefined): string {
  if (requested !== undefined) return requested;
  const configFile = path.join(folder, 'config.json');
  if (!fs.existsSync(configFile)) return 'fp32';
  return configuredDtype(readJsonFile(configFile)) ?? 'fp32';
}

function forwardProgress(event: TfProgressEvent, onProgress: (progress: LoadProgress) => void): void {
  const status = event.status;
  if (status !== 'initiate' && status !== 'download' && status !== 'progress' && status !== 'done' && status !== 'ready') {
    return; // e.g. 'progress_total', an aggregate over files
  }
  const progress: LoadProgress = { file: event.file ?? event.name ?? '', status };
  if (typeof event.progress === 'number' && Number.isFinite(event.progress)) {
    progress.percent = Math.max(0, Math.min(100, event.progress));
  } else if (status === 'done') {
    progress.percent = 100;
  }
  try {
    onProgress(progress);
  } catch {
    // a failing progress listener must not fail the download
  }
}

export interface LoadContext {
  plan: LoadPlan;
  stage: LoadStage;
  dtype: string;
  device: string;
}

export interface ModelParts {
  tf: TransformersApi;
  tokenizer: TfTokenizer;
  /** config.json and generation_config.json (null when absent), as read and checked at load. */
  config: Record<string, unknown>;
  generationConfig: Record<string, unknown> | null;
  /** The ONNX session when the load already made it (a download); else `openSession` makes it on first use. */
  session: TfModel | undefined;
  openSession: () => Promise<TfModel>;
  id: string;
  fingerprint: string;
  loadMilliseconds: number;
  /**
   * Operators of the graph that couple the rows of a batch (onnxSummary.ts, batchCoupledOps: dynamic
   * quantization's one activation scale per input); [] when each row computes alone.
   */
  batchCoupledOps: string[];
}

/** The ONNX file's batch-coupled operators; [] when the file cannot be read here (opening it will say why). */
function graphBatchCoupledOps(file: string): string[] {
  try {
    return batchCoupledOps(readOnnxSummary(file));
  } catch {
    return [];
  }
}
