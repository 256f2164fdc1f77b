/** The worker thread that runs an experiment; see runProtocol.ts. */
import { parentPort, workerData } from 'node:worker_threads';
import { DatasetNotRunnableError, runExperiment, RunCancelledError } from '../engine/experiment/experiment';
import { ModelLoadError, ModelRunError, type LanguageModel } from '../engine/model/languageModel';
import type { HostToWorker, RunRequest, WorkerToHost } from './runProtocol';

const port = parentPort!;
const request = workerData as RunRequest;
const controller = new AbortController();
const post = (message: WorkerToHost): void => port.postMessage(message);

port.on('message', (message: HostToWorker) => {
  if (message.type === 'cancel') controller.abort();
});

/** The model of the request: a serving engine's when an endpoint is set, else the in-process runner. */
async function openModel(): Promise<LanguageModel> {
  const settings = request.model;
  if (settings.endpoint) {
    post({ type: 'loading', message: `Connecting to ${settings.endpoint}…` });
    const { connectEndpoint } = await import('../engine/model/endpoint/endpointModel');
    return connectEndpoint({
      endpoint: settings.endpoint, model: settings.model, apiKey: request.apiKey, concurrency: settings.concurrency,
      cacheDir: settings.cacheDir, allowDownload: settings.allowDownload, signal: controller.signal,
    });
  }
  const { loadLanguageModel } = await import('../engine/model/transformersModel');
  post({ type: 'loading', message: `Loading ${settings.model}…` });
  return loadLanguageModel({
    model: settings.model, dtype: settings.dtype, device: settings.device, threads: settings.threads,
    cacheDir: settings.cacheDir, allowDownload: settings.allowDownload, signal: controller.signal,
    onProgress: (event) => post({ type: 'loading', message: `Downloading ${event.file}${event.percent !== undefined ? ` ${Math.floor(event.percent)}%` : ''}` }),
  });
}

async function main(): Promise<void> {
  const model = await openModel();
  try {
    const embedder = request.model.embeddingModel
      ? await (await import('../engine/model/embeddingModel')).loadEmbedder({ model: request.model.embeddingModel, cacheDir: request.model.cacheDir, allowDownload: request.model.allowDownload })
      : undefined;
    let lastPost = 0;
    const report = await runExperiment({
      file: request.file, settings: request.settings, model, embedder, cacheFolder: request.outputCache, signal: controller.signal,
      onProgress: (progress) => {
        const now = Date.now();
        if (now - lastPost < 100 && progress.done < progress.total) return;
        lastPost = now;
        post({ type: 'progress', progress });
      },
    });
    post({ type: 'done', report });
  } finally {
    await model.dispose();
  }
}

main().catch((error: unknown) => {
  if (error instanceof RunCancelledError) post({ type: 'cancelled', partial: error.partial });
  else if (controller.signal.aborted) post({ type: 'cancelled', partial: null });
  else if (error instanceof ModelLoadError || error instanceof ModelRunError || (error as Error).name === 'EndpointError') post({ type: 'failed', message: (error as Error).message, kind: 'model' });
  else if (error instanceof DatasetNotRunnableError) post({ type: 'failed', message: error.message, kind: 'dataset' });
  else post({ type: 'failed', message: (error as Error).stack ?? String(error), kind: 'unexpected' });
});
