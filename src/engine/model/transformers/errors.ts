/**
 * Errors of the in-process runner in one line each: what transformers, onnxruntime or the network threw at
 * load or run time becomes a ModelLoadError or ModelRunError that says which model failed and what to do.
 */
import * as path from 'node:path';

import { onnxFileForDtype } from '../fingerprint';
import { ModelLoadError, ModelRunError } from '../languageModel';
import { DTYPE_FILES_HINT, LAYOUT_HINT, missingModelFiles, readJsonFile } from '../modelFolder';
import { isLfsPointer } from '../onnxSummary';
import { type LoadContext } from './load';
import { type TfModel } from './tfTypes';

export function checkCausalLanguageModel(model: TfModel, name: string): void {
  const session = model.sessions.model;
  if (!session || !session.outputNames.includes('logits')) {
    throw new ModelLoadError(
      `${name} loaded, but its ONNX graph has no "logits" output: it is not a causal language model ` +
        '(export it with the task text-generation-with-past).',
    );
  }
}

/**
 * onnxruntime's errors name graph nodes and index ranges, and transformers logs every input tensor beside
 * them (silenced in loadTransformers): the model's forward and generate throw one line that names the model.
 * Patched on the instance, so transformers' own calls of `forward` inside `generate` go through it too.
 */
export function explainRunErrors(model: TfModel, name: string): TfModel {
  const forward = model.forward.bind(model);
  const generate = model.generate.bind(model);
  const explain = (error: unknown): never => {
    if (error instanceof ModelRunError || (error as { name?: unknown } | null)?.name === 'AbortError') throw error;
    throw new ModelRunError(
      `The model ${name} failed while running (${firstLine(messageOf(error))}). Its weights, tokenizer and ` +
        "config.json may not belong together: replace them with the model's original files.",
      { cause: error },
    );
  };
  model.forward = (inputs) => forward(inputs).catch(explain);
  model.generate = (request) => generate(request).catch(explain);
  return model;
}


/** Turns whatever transformers or onnxruntime threw into a message the user can act on. */
export function explainLoadError(error: unknown, context: LoadContext): ModelLoadError {
  if (error instanceof ModelLoadError) return error;
  const message = messageOf(error);
  const { plan, dtype, device, stage } = context;
  const onnxFile = onnxFileForDtype(dtype);

  if (device !== 'cpu' && /cuda|providers_shared|Unsupported device|execution provider/i.test(message)) {
    return new ModelLoadError(
      `The "${device}" device is not available here (${firstLine(message)}). onnxruntime-node offers CUDA only on ` +
        'Linux x64 with CUDA 12 and cuDNN 9 installed, and this extension ships without its CUDA libraries. ' +
        'Set the device to "cpu".',
    );
  }

  if (plan.kind === 'folder') {
    const where = plan.hubId ? `${plan.hubId} (cached at ${plan.folder})` : plan.folder;
    const unsupported = /Unsupported model type: (\S+)/.exec(message)?.[1];
    if (unsupported) {
      return new ModelLoadError(
        `${path.join(plan.folder, 'config.json')} names the model type "${unsupported}", which transformers.js cannot run as a ` +
          'causal language model. Pick a model of an architecture it supports (Llama, Qwen2, Phi, Gemma, GPT-2, SmolLM…).',
      );
    }
    const missing = /not found locally at "([^"]+)"/.exec(message)?.[1];
    if (missing) {
      return new ModelLoadError(
        `The model folder ${where} is missing ${path.relative(plan.folder, missing) || missing}. ` +
          `A model folder in ${LAYOUT_HINT} needs it.`,
      );
    }
    if (/protobuf parsing failed|load model from .* failed|invalid model|failed to load model|ONNXRuntimeError|no graph was found/i.test(message)) {
      const file = path.join(plan.folder, onnxFile);
      return new ModelLoadError(
        isLfsPointer(file)
          ? `${file} is a Git LFS pointer, not the model weights. Fetch the real file (git lfs pull) or download the folder again.`
          : `${file} is not a valid ONNX model (${firstLine(message)}). The file may be truncated or corrupt ` +
              '(an interrupted download or copy): replace it with a fresh copy of the model.',
      );
    }
    if (stage === 'tokenizer') {
      // A damaged tokenizer file: say which one and what is wrong with it.
      for (const file of ['tokenizer.json', 'tokenizer_config.json']) {
        try {
          readJsonFile(path.join(plan.folder, file));
        } catch (fileError) {
          if (fileError instanceof ModelLoadError) return fileError;
        }
      }
    }
    return new ModelLoadError(
      stage === 'tokenizer'
        ? `Could not read the tokenizer of ${where} (tokenizer.json, tokenizer_config.json): ${firstLine(message)}. ` +
            'The files may be damaged or in a format transformers.js does not know; replace them with the model\'s originals.'
        : `Could not load the model in ${where}: ${firstLine(message)}`,
    );
  }

  // Downloading from the Hub
  const name = plan.id;
  const status = (error as { status?: unknown } | null)?.status;
  if (isNetworkError(error)) {
    return new ModelLoadError(
      `Could not download ${name} from the Hugging Face Hub (offline?). Point the model setting at a local folder ` +
        'in transformers.js layout (config.json, tokenizer.json, onnx/model.onnx).',
    );
  }
  if (status === 401 || status === 403 || /unauthorized|forbidden/i.test(message)) {
    return new ModelLoadError(
      `The Hugging Face Hub refused access to ${name} (a gated or private model). Accept its terms on huggingface.co ` +
        'and set the HF_TOKEN environment variable, or point the model setting at a local folder.',
    );
  }
  if (status === 404 || /could not locate file/i.test(message)) {
    const url = /"(https?:[^"]+)"/.exec(message)?.[1];
    const file = url ? decodeURIComponent(url.replace(/^.*?\/resolve\/[^/]+\//, '')) : undefined;
    return new ModelLoadError(
      `${name} on the Hugging Face Hub has no ${file ?? 'such file'} (for dtype "${dtype}" transformers.js loads ` +
        `${onnxFile}; ${DTYPE_FILES_HINT}). Check the id and the dtype: the repository must hold ONNX weights ` +
        '(as onnx-community/* and HuggingFaceTB/* repositories do).',
    );
  }
  if (/protobuf parsing failed|load model from .* failed|invalid model|ONNXRuntimeError/i.test(message)) {
    return new ModelLoadError(
      `The downloaded ${onnxFile} of ${name} is not a valid ONNX model (${firstLine(message)}). Delete ` +
        `${path.join(plan.cacheDir, ...name.split('/'))} and load again.`,
    );
  }
  const cached = path.join(plan.cacheDir, ...name.split('/'));
  const missing = missingModelFiles(cached, dtype);
  if (missing.length > 0 && error instanceof TypeError) {
    return new ModelLoadError(
      `${name} is not on the Hugging Face Hub, or not in ${LAYOUT_HINT}: ${missing.join(', ')} could not be fetched. ` +
        'Check the id, pick a repository with ONNX weights and a tokenizer.json, or point the model setting at a local folder.',
    );
  }
  return new ModelLoadError(`Could not load ${name} from the Hugging Face Hub: ${firstLine(message)}`);
}

function isNetworkError(error: unknown): boolean {
  const seen = new Set<unknown>();
  let current: unknown = error;
  while (current !== undefined && current !== null && !seen.has(current)) {
    seen.add(current);
    const message = messageOf(current);
    const code = (current as { code?: unknown }).code;
    if (
      /fetch failed|network|ENOTFOUND|EAI_AGAIN|ECONNREFUSED|ECONNRESET|ETIMEDOUT|EHOSTUNREACH|ENETUNREACH|socket|getaddrinfo|certificate/i.test(
        `${message} ${typeof code === 'string' ? code : ''}`,
      )
    ) {
      return true;
    }
    current = (current as { cause?: unknown }).cause;
  }
  return false;
}

export function messageOf(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
}

export function firstLine(message: string): string {
  const line = message.split('\n').find((part) => part.trim() !== '') ?? message;
  return line.length > 300 ? `${line.slice(0, 300)}…` : line;
}
